//! Tests of the journal → report fold, one rule each.

use std::collections::BTreeMap;

use crate::journal::{Decision, Entry, KillEntry, RunStarted, RunStatus, TriggerEntry, Victim};
use crate::report::{utc, ReportStatus, RunReport, Verdict};
use crate::vocabulary::phase::{Phase, Span};
use crate::vocabulary::slo::Stat;
use crate::vocabulary::time::Micros;

use super::{from_journal, BuildError};

mod capacity;
mod drift;
mod faults;
mod metrics;
mod node_kills;
mod probes;
mod stream;

/// The run's start, 2026-11-20T02:00:00Z.
const T0: Micros = 1_795_140_000_000_000;

/// A time `ms` milliseconds into the run.
fn t(ms: i64) -> Micros {
    T0 + ms * 1_000
}

fn started(desired: &[(&str, u32)], slos: &[&str]) -> Entry {
    Entry::RunStarted(RunStarted {
        at: T0,
        tool_version: "0.1.0".into(),
        scenario: "web-nightly".into(),
        scenario_path: "scenarios/web.yaml".into(),
        scenario_sha256: "ab".repeat(32),
        seed: 42,
        platform: "docker".into(),
        desired: desired.iter().map(|(n, d)| (n.to_string(), *d)).collect(),
        slos: slos.iter().map(|s| s.to_string()).collect(),
        recovery_timeout_us: 60_000_000,
        min_healthy_floor: Default::default(),
        initial: Vec::new(),
        platform_facts: None,
        probes: Vec::new(),
        abort_when: Vec::new(),
        drift: false,
    })
}

fn kill(kill_id: u32, ms: i64) -> Entry {
    Entry::Kill(KillEntry {
        kill_id,
        seq: kill_id,
        at: t(ms),
        target: "web".into(),
        victim: format!("victim-{kill_id}"),
        slot: format!("web.{kill_id}"),
        name: format!("web-{kill_id}"),
        action: "kill SIGKILL".into(),
        detail: "killed".into(),
    })
}

fn phase(kill_id: u32, phase: Phase, ms: i64) -> Entry {
    let instance = match phase {
        Phase::Kill | Phase::Down => format!("victim-{kill_id}"),
        _ => format!("replacement-{kill_id}"),
    };
    Entry::Phase {
        kill_id,
        phase,
        at: t(ms),
        instance,
        uncertain: false,
    }
}

/// The six marks of one kill, at the given offsets (ms), the kill mark included.
fn recovered(kill_id: u32, marks_ms: [i64; 6]) -> Vec<Entry> {
    let mut out = vec![kill(kill_id, marks_ms[0])];
    out.extend(
        Phase::ALL
            .into_iter()
            .zip(marks_ms)
            .map(|(p, ms)| phase(kill_id, p, ms)),
    );
    out
}

fn capacity(ms: i64, target: &str, healthy: u32) -> Entry {
    Entry::Capacity {
        at: t(ms),
        target: target.into(),
        healthy,
        desired: 0,
    }
}

fn decision(seq: u32, slots: &[&str], wanted: u32, refused: Option<&str>) -> Entry {
    Entry::Decision(Decision {
        seq,
        offset_ms: u64::from(seq) * 30_000,
        at: t(i64::from(seq) * 30_000 + 3),
        target: "web".into(),
        eligible: 3,
        healthy: 3,
        desired: 3,
        in_flight: 0,
        wanted,
        victims: slots
            .iter()
            .map(|s| Victim {
                id: format!("id-{s}"),
                slot: s.to_string(),
                name: format!("name-{s}"),
            })
            .collect(),
        refused: refused.map(String::from),
        refused_kills: Default::default(),
    })
}

fn ended(ms: i64) -> Entry {
    Entry::RunEnded {
        at: t(ms),
        status: RunStatus::Completed,
        reason: None,
    }
}

fn journal(parts: Vec<Vec<Entry>>) -> Vec<Entry> {
    parts.into_iter().flatten().collect()
}

/// The report of a run on one target `web` of 3, no SLOs, with `parts` between its start and
/// its end at `ended_ms`.
fn web_run(parts: Vec<Vec<Entry>>, ended_ms: i64) -> RunReport {
    let mut entries = vec![started(&[("web", 3)], &[])];
    entries.extend(parts.into_iter().flatten());
    entries.push(ended(ended_ms));
    from_journal(&entries).unwrap()
}

#[test]
fn marks_are_timed_from_the_kill_and_the_replacement_is_the_replaced_instance() {
    let report = web_run(
        vec![recovered(1, [1_000, 1_250, 2_000, 2_500, 6_000, 6_000])],
        10_000,
    );
    let k = &report.kills[0];
    assert_eq!(k.phases.len(), 6);
    assert_eq!(k.phases[&Phase::Kill].since_kill_us, 0);
    assert_eq!(k.phases[&Phase::Down].since_kill_us, 250_000);
    assert_eq!(k.phases[&Phase::Running].at, utc(t(2_500)));
    assert_eq!(k.replacement.as_deref(), Some("replacement-1"));
    assert_eq!(k.recovery_us, Some(5_000_000));
    assert_eq!(k.unrecovered, None);
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(report.status, ReportStatus::Completed);
    assert!(!report.partial);
}

#[test]
fn the_last_line_for_a_mark_wins() {
    let entries = journal(vec![
        vec![started(&[("web", 3)], &[])],
        recovered(1, [1_000, 1_250, 2_000, 2_500, 6_000, 6_000]),
        // The platform's own kill event arrives later and refines the kill mark.
        vec![phase(1, Phase::Kill, 1_050), ended(10_000)],
    ]);
    let report = from_journal(&entries).unwrap();
    let k = &report.kills[0];
    assert_eq!(k.phases[&Phase::Kill].at, utc(t(1_050)));
    assert_eq!(k.phases[&Phase::Down].since_kill_us, 200_000);
    assert_eq!(k.recovery_us, Some(4_950_000));
    assert_eq!(report.histograms[&Span::Detect].max_us, 200_000);
}

#[test]
fn the_kill_line_is_the_kill_mark_until_a_phase_line_states_one() {
    let entries = journal(vec![
        vec![started(&[("web", 3)], &[]), kill(1, 1_000)],
        vec![phase(1, Phase::Down, 1_400), ended(10_000)],
    ]);
    let k = &from_journal(&entries).unwrap().kills[0];
    assert_eq!(k.phases[&Phase::Kill].at, utc(t(1_000)));
    assert_eq!(k.phases[&Phase::Down].since_kill_us, 400_000);
}

#[test]
fn spans_take_only_kills_that_reached_both_marks() {
    let mut stalled = recovered(2, [20_000, 20_100, 21_000, 22_000, 0, 0]);
    stalled.truncate(5); // kill line + kill, down, replaced, running
    let report = web_run(
        vec![
            recovered(1, [1_000, 1_250, 2_000, 2_500, 6_000, 6_000]),
            stalled,
        ],
        90_000,
    );
    let h = &report.histograms;
    assert_eq!(h.len(), Span::ALL.len());
    assert_eq!(h[&Span::Boot].count, 2);
    assert_eq!(h[&Span::Boot].max_us, 1_000_000);
    assert_eq!(h[&Span::Boot].min_us, 500_000);
    assert_eq!(h[&Span::WarmUp].count, 1);
    assert_eq!(h[&Span::WarmUp].max_us, 3_500_000);
    assert_eq!(h[&Span::Restore].count, 1);
    assert_eq!(h[&Span::Restore].max_us, 0);
    // Total only from the kill that reached `restored`.
    assert_eq!(h[&Span::Total].count, 1);
    assert_eq!(h[&Span::Total].max_us, 5_000_000);
}

#[test]
fn a_negative_span_is_clamped_to_zero_and_still_counted() {
    // The down event predates the refined kill mark by 50 ms.
    let report = web_run(
        vec![recovered(1, [1_300, 1_250, 2_000, 2_500, 6_000, 6_000])],
        10_000,
    );
    let detect = &report.histograms[&Span::Detect];
    assert_eq!(detect.count, 1);
    assert_eq!(detect.max_us, 0);
    assert_eq!(report.kills[0].phases[&Phase::Down].since_kill_us, -50_000);
}

#[test]
fn refused_decisions_and_every_decision_are_listed() {
    let entries = vec![
        started(&[("web", 3)], &[]),
        decision(1, &["web.1"], 1, None),
        decision(2, &["web.2"], 2, Some("min_healthy keeps 2 of 3")),
        decision(3, &[], 1, Some("max_in_flight reached")),
        ended(100_000),
    ];
    let report = from_journal(&entries).unwrap();
    assert_eq!(report.decisions.len(), 3);
    assert_eq!(report.decisions[1].slots, ["web.2"]);
    assert_eq!(report.decisions[2].offset_ms, 90_000);
    assert!(report.decisions[2].slots.is_empty());
    let refused: Vec<(u32, u32, u32)> = report
        .refused
        .iter()
        .map(|r| (r.seq, r.wanted, r.killed))
        .collect();
    assert_eq!(refused, [(2, 2, 1), (3, 1, 0)]);
    assert_eq!(report.refused[1].reason, "max_in_flight reached");
}

#[test]
fn a_journal_without_an_end_is_a_crashed_run_with_kills_in_flight_unrecovered() {
    let mut in_flight = recovered(2, [20_000, 20_100, 21_000, 0, 0, 0]);
    in_flight.truncate(4); // kill line + kill, down, replaced
    let entries = journal(vec![
        vec![started(&[("web", 3)], &[])],
        recovered(1, [1_000, 1_250, 2_000, 2_500, 6_000, 6_000]),
        vec![
            kill(3, 10_000),
            Entry::Unrecovered {
                kill_id: 3,
                at: t(15_000),
                stalled_in: Phase::Down,
            },
        ],
        in_flight,
        vec![capacity(21_500, "web", 1)],
    ]);
    let report = from_journal(&entries).unwrap();
    assert_eq!(report.status, ReportStatus::Crashed);
    assert!(report.partial);
    assert_eq!(report.ended_at, utc(t(21_500)));
    assert_eq!(report.kills[0].unrecovered, None);
    let given_up = report.kills[1].unrecovered.as_ref().unwrap();
    assert_eq!(
        (given_up.stalled_in, given_up.at),
        (Phase::Down, utc(t(15_000)))
    );
    let in_flight = report.kills[2].unrecovered.as_ref().unwrap();
    assert_eq!(in_flight.stalled_in, Phase::Running);
    assert_eq!(in_flight.at, utc(t(21_500)));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn an_interrupted_run_is_partial() {
    let entries = vec![
        started(&[("web", 3)], &[]),
        Entry::RunEnded {
            at: t(5_000),
            status: RunStatus::Interrupted,
            reason: Some("SIGINT".into()),
        },
    ];
    let report = from_journal(&entries).unwrap();
    assert_eq!(report.status, ReportStatus::Interrupted);
    assert!(report.partial);
    assert_eq!(report.ended_at, utc(t(5_000)));
}

#[test]
fn flaps_and_triggers_attach_to_their_kill() {
    let entries = journal(vec![
        vec![started(&[("web", 3)], &[])],
        recovered(1, [1_000, 1_250, 2_000, 2_500, 6_000, 6_000]),
        vec![
            Entry::Flap {
                kill_id: 1,
                at: t(8_000),
                instance: "replacement-1".into(),
            },
            Entry::Trigger(TriggerEntry {
                kill_id: 1,
                started_at: t(1_100),
                duration_us: 900_000,
                exit_code: Some(0),
                timed_out: false,
                output_tail: "ok".into(),
            }),
            ended(10_000),
        ],
    ]);
    let k = &from_journal(&entries).unwrap().kills[0];
    assert_eq!(k.flaps, [utc(t(8_000))]);
    assert_eq!(k.trigger.as_ref().and_then(|t| t.exit_code), Some(0));
}

/// Two kills (recovered in 5 s and 9 s), one unrecovered, one flap, one refused decision,
/// capacity 3 → 2 for 12 s.
fn measured_journal(slos: &[&str]) -> Vec<Entry> {
    let mut stalled = recovered(3, [40_000, 40_200, 41_000, 0, 0, 0]);
    stalled.truncate(4);
    journal(vec![
        vec![started(&[("web", 3)], slos), capacity(0, "web", 3)],
        vec![decision(1, &["web.1"], 1, None)],
        recovered(1, [1_000, 1_250, 2_000, 2_500, 6_000, 6_000]),
        vec![decision(2, &["web.2"], 1, None)],
        recovered(2, [20_000, 20_500, 21_000, 23_000, 29_000, 29_000]),
        vec![
            Entry::Flap {
                kill_id: 2,
                at: t(30_000),
                instance: "replacement-2".into(),
            },
            decision(3, &[], 1, Some("max_in_flight reached")),
            capacity(40_000, "web", 2),
        ],
        stalled,
        vec![
            Entry::Unrecovered {
                kill_id: 3,
                at: t(100_000),
                stalled_in: Phase::Running,
            },
            capacity(52_000, "web", 3),
            ended(120_000),
        ],
    ])
}

#[test]
fn each_slo_measures_its_metric() {
    let slos = [
        "recovery.max < 10s",
        "recovery.boot.p50 <= 1s",
        "recovery.warm_up.max < 5s",
        "unrecovered == 0",
        "kills == 3",
        "refused == 1",
        "flaps < 1",
        "capacity.min >= 66%",
        "capacity.min >= 2",
        "degraded_seconds <= 12",
    ];
    let report = from_journal(&measured_journal(&slos)).unwrap();
    let measured: BTreeMap<&str, (Option<f64>, bool)> = report
        .slos
        .iter()
        .map(|r| (r.slo.as_str(), (r.measured, r.passed)))
        .collect();
    let total = &report.histograms[&Span::Total];
    assert_eq!(total.stat(Stat::Max), Some(9_000_000.0));
    assert_eq!(measured["recovery.max < 10s"], (Some(9e6), true));
    let boot_p50 = report.histograms[&Span::Boot].stat(Stat::P50);
    assert_eq!(measured["recovery.boot.p50 <= 1s"], (boot_p50, true));
    assert_eq!(measured["recovery.warm_up.max < 5s"], (Some(6e6), false));
    assert_eq!(measured["unrecovered == 0"], (Some(1.0), false));
    assert_eq!(measured["kills == 3"], (Some(3.0), true));
    assert_eq!(measured["refused == 1"], (Some(1.0), true));
    assert_eq!(measured["flaps < 1"], (Some(1.0), false));
    let percent = measured["capacity.min >= 66%"];
    assert!((percent.0.unwrap() - 200.0 / 3.0).abs() < 1e-9);
    assert!(percent.1);
    assert_eq!(measured["capacity.min >= 2"], (Some(2.0), true));
    assert_eq!(measured["degraded_seconds <= 12"], (Some(12.0), true));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn the_verdict_fails_on_an_unrecovered_kill_even_with_every_slo_met() {
    let report = from_journal(&measured_journal(&["kills >= 1"])).unwrap();
    assert!(report.slos.iter().all(|s| s.passed));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn the_verdict_passes_when_every_slo_holds_and_every_kill_recovered() {
    let entries = journal(vec![
        vec![started(
            &[("web", 3)],
            &["recovery.p99 < 10s", "unrecovered == 0"],
        )],
        recovered(1, [1_000, 1_250, 2_000, 2_500, 6_000, 6_000]),
        vec![ended(10_000)],
    ]);
    let report = from_journal(&entries).unwrap();
    assert!(report.slos.iter().all(|s| s.passed));
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn a_recovery_slo_with_no_kills_has_no_data_and_fails() {
    let entries = vec![
        started(&[("web", 3)], &["recovery.p99 < 10s"]),
        ended(1_000),
    ];
    let report = from_journal(&entries).unwrap();
    assert_eq!(report.slos[0].measured, None);
    assert!(!report.slos[0].passed);
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn a_journal_must_start_with_run_started() {
    assert!(matches!(from_journal(&[]), Err(BuildError::NoStart)));
    assert!(matches!(
        from_journal(&[ended(0), started(&[], &[])]),
        Err(BuildError::NoStart)
    ));
}

#[test]
fn a_bad_slo_in_the_journal_is_an_error_naming_it() {
    let err = from_journal(&[started(&[], &["recovery.p42 < 1s"])]).unwrap_err();
    assert!(matches!(&err, BuildError::BadSlo { slo, .. } if slo == "recovery.p42 < 1s"));
    assert!(err.to_string().contains("unknown metric"), "{err}");
}
