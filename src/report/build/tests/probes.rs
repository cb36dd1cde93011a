//! Tests of probe attribution: each failure to the kill window it falls in, the most recent kill
//! where windows overlap; probe SLOs; and the aborted verdict.

use super::{ended, from_journal, kill, phase, started, t};
use crate::journal::{Entry, ProbeEntry, ProbeInfo, RunStatus};
use crate::report::{ReportStatus, Verdict};
use crate::vocabulary::phase::Phase;

fn with_probe(slos: &[&str]) -> Entry {
    let Entry::RunStarted(mut s) = started(&[("web", 3)], slos) else {
        unreachable!()
    };
    s.probes = vec![ProbeInfo {
        name: "edge".into(),
        kind: "http".into(),
        endpoint: "http://127.0.0.1:8080/".into(),
        every_us: 100_000,
    }];
    Entry::RunStarted(s)
}

/// A request that started at `ms` and took `latency_ms`.
fn probe(ms: i64, latency_ms: u64, ok: bool) -> Entry {
    Entry::Probe(ProbeEntry {
        probe: "edge".into(),
        at: t(ms),
        latency_us: latency_ms * 1000,
        ok,
        status: ok.then_some(200),
        error: (!ok).then(|| "connection refused".into()),
    })
}

#[test]
fn failures_go_to_the_window_they_were_in_flight_in_and_the_latest_kill_where_windows_overlap() {
    let entries = vec![
        with_probe(&["probe.edge.errors <= 4", "probe.edge.availability >= 60%"]),
        probe(0, 5, true),
        probe(100, 5, false), // before any kill: outside
        kill(1, 1_000),
        probe(990, 20, false), // started before kill 1, seen after it: kill 1
        probe(1_200, 5, false),
        kill(2, 1_500),
        probe(1_600, 40, false), // both windows open: the later kill, 2
        phase(1, Phase::Restored, 1_700),
        probe(1_890, 30, false), // started before kill 2 was restored, seen after: kill 2
        phase(2, Phase::Restored, 1_900),
        probe(2_000, 5, true),
        probe(2_100, 5, true),
        ended(3_000),
    ];
    let report = from_journal(&entries).unwrap();
    let p = &report.probes[0];
    assert_eq!((p.requests, p.failures), (8, 5));
    assert_eq!((p.baseline.requests, p.baseline.failures), (2, 1));
    assert_eq!(p.failures_outside_kills, 1);
    let per_kill: Vec<(u32, u64, u64)> = p
        .kills
        .iter()
        .map(|k| (k.kill_id, k.requests, k.failures))
        .collect();
    assert_eq!(per_kill, vec![(1, 2, 2), (2, 2, 2)]);
    assert_eq!(p.kills[0].first_failure, Some(crate::report::utc(t(1_010))));
    assert_eq!(p.kills[0].last_failure, Some(crate::report::utc(t(1_205))));
    assert_eq!(p.kills[1].worst_latency_us, Some(40_000));
    assert_eq!(p.kills[1].last_failure, Some(crate::report::utc(t(1_920))));
    // Latency counts successful requests only: 5 ms each.
    assert_eq!(p.latency.as_ref().unwrap().max_us, 5_000);
    // 3 of 8 succeeded: the availability SLO breaks, the error budget of 4 does not hold 5.
    let measured: Vec<Option<f64>> = report.slos.iter().map(|s| s.measured).collect();
    assert_eq!(measured[0], Some(5.0));
    assert!((measured[1].unwrap() - 300.0 / 8.0).abs() < 1e-9);
    assert!(report.slos.iter().all(|s| !s.passed));
}

#[test]
fn an_aborted_run_names_its_condition_and_its_verdict_is_aborted() {
    let entries = vec![
        with_probe(&[]),
        kill(1, 1_000),
        Entry::AbortTriggered {
            at: t(1_500),
            condition: "capacity.current < 50%".into(),
            measured: "33.33%".into(),
        },
        Entry::RunEnded {
            at: t(2_000),
            status: RunStatus::Aborted,
            reason: Some("abort_when `capacity.current < 50%` fired".into()),
        },
    ];
    let report = from_journal(&entries).unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert_eq!(report.status, ReportStatus::Aborted);
    assert!(report.partial);
    let abort = report.abort.unwrap();
    assert_eq!(abort.condition, "capacity.current < 50%");
    assert_eq!(abort.measured, "33.33%");
    // A kill without a restored mark keeps its window open to the run's end.
    assert_eq!(report.probes[0].kills.len(), 1);
}

#[test]
fn requests_fold_into_one_second_buckets_by_when_their_outcome_was_seen() {
    let entries = vec![
        with_probe(&[]),
        probe(100, 5, true),
        probe(900, 200, true), // seen at 1.1 s: the second bucket
        probe(1_200, 10, false),
        probe(1_300, 7, true),
        probe(2_500, 3, true),
        ended(3_000),
    ];
    let report = from_journal(&entries).unwrap();
    let series = &report.probes[0].over_time;
    assert_eq!(series.bucket_ms, 1_000);
    // offset, requests, failures, mean and slowest latency.
    type Row = (u64, u64, u64, Option<u64>, Option<u64>);
    let rows: Vec<Row> = series
        .buckets
        .iter()
        .map(|b| {
            (
                b.offset_ms,
                b.requests,
                b.failures,
                b.latency_mean_us,
                b.latency_max_us,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (0, 1, 0, Some(5_000), Some(5_000)),
            // The failure's latency is not in the mean: (200 + 7) / 2 ms.
            (1_000, 3, 1, Some(103_500), Some(200_000)),
            (2_000, 1, 0, Some(3_000), Some(3_000)),
        ]
    );
    assert!((series.buckets[1].availability_percent() - 200.0 / 3.0).abs() < 1e-9);
}

#[test]
fn a_long_run_gets_wider_buckets_and_never_more_than_the_cap() {
    // Two hours with a request every 5 s: per-second buckets would be 7 200.
    let mut entries = vec![with_probe(&[])];
    entries.extend((0..1_440).map(|i| probe(i * 5_000, 2, i % 100 != 0)));
    entries.push(ended(7_200_000));
    let report = from_journal(&entries).unwrap();
    let series = &report.probes[0].over_time;
    assert_eq!(
        series.bucket_ms, 15_000,
        "7200 s / 600 = 12 s, rounded up to 15 s"
    );
    assert!(series.buckets.len() as u64 <= crate::report::ProbeSeries::MAX_BUCKETS);
    assert_eq!(
        series.buckets.iter().map(|b| b.requests).sum::<u64>(),
        1_440
    );
    assert_eq!(series.buckets.iter().map(|b| b.failures).sum::<u64>(), 15);
}
