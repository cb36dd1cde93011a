//! The metrics fold against the report fold, over every journal in `tests/fixtures/journals/`:
//! both read the same lines, so every number they share must agree.

use std::collections::BTreeMap;

use crate::report::build::fixtures;
use crate::report::Verdict;
use crate::vocabulary::phase::Span;

/// Every committed fixture journal, so a new one is covered without a list to keep.
fn journals() -> Vec<String> {
    let dir = fixtures::path("x").parent().unwrap().to_path_buf();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".jsonl").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    names
}

#[test]
fn every_fixture_journal_gives_the_same_numbers_as_its_report() {
    for name in journals() {
        let name = name.as_str();
        let report = fixtures::report(name);
        let m = &report.metrics;
        let kills: u64 = m.targets.values().map(|t| t.kills).sum();
        assert_eq!(kills, report.kills.len() as u64, "{name}: kills");

        let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
        for t in m.targets.values() {
            for (o, n) in &t.recoveries {
                *outcomes.entry(o).or_default() += n;
            }
        }
        let invalid = report.kills.iter().filter(|k| k.invalid.is_some()).count() as u64;
        let unrecovered = report
            .kills
            .iter()
            .filter(|k| k.invalid.is_none() && k.unrecovered.is_some())
            .count() as u64;
        assert_eq!(outcomes["invalid"], invalid, "{name}: invalid");
        assert_eq!(outcomes["unrecovered"], unrecovered, "{name}: unrecovered");
        assert_eq!(
            outcomes["restored"],
            report.kills.len() as u64 - invalid - unrecovered,
            "{name}: restored"
        );

        for span in Span::ALL {
            let count: u64 = m.targets.values().map(|t| t.spans[&span].count()).sum();
            let expected = report.histograms.get(&span).map_or(0, |h| h.count);
            assert_eq!(count, expected, "{name}: {span} count");
            if count > 0 {
                let sum: f64 = m.targets.values().map(|t| t.spans[&span].sum()).sum();
                let mean_us = sum * 1e6 / count as f64;
                let report_mean = report.histograms[&span].mean_us;
                assert!(
                    (mean_us - report_mean).abs() < 1.0,
                    "{name}: {span} mean {mean_us} vs {report_mean}"
                );
            }
        }

        assert_eq!(
            m.capacity_min.unwrap_or(report.capacity.desired),
            report.capacity.min,
            "{name}: capacity min"
        );
        let flaps: u64 = m.targets.values().map(|t| t.flaps).sum();
        let report_flaps: usize = report.kills.iter().map(|k| k.flaps.len()).sum();
        assert_eq!(flaps, report_flaps as u64, "{name}: flaps");
        let refused: u64 = m.targets.values().flat_map(|t| t.refused.values()).sum();
        let report_refused: u32 = report.refused.iter().map(|r| r.wanted - r.killed).sum();
        // Journals written before decisions named their guards carry no counts.
        assert!(
            refused == u64::from(report_refused) || refused == 0,
            "{name}: refused {refused} vs {report_refused}"
        );

        for p in &report.probes {
            let mp = &m.probes[&p.name];
            assert_eq!(mp.requests, p.requests, "{name}: {} requests", p.name);
            assert_eq!(mp.failures, p.failures, "{name}: {} failures", p.name);
            assert_eq!(
                mp.latency.count(),
                p.latency.as_ref().map_or(0, |l| l.count),
                "{name}: {} latency count",
                p.name
            );
        }
        assert_eq!(m.verdict.as_deref(), Some(report.verdict.as_str()));
        assert_eq!(
            m.crashed,
            report.status == crate::report::ReportStatus::Crashed,
            "{name}: crashed"
        );
    }
}

#[test]
fn the_text_files_name_every_family_of_the_catalogue_and_nothing_else() {
    let report = fixtures::report("recorded-local-probes");
    assert_eq!(report.verdict, Verdict::Pass, "fixture changed");
    let mut metrics = report.metrics.clone();
    // This run's guards never refused; a refusal shows how its family is written.
    for t in metrics.targets.values_mut() {
        t.refused.insert("min_healthy".to_string(), 1);
    }
    let text = crate::metrics::encode::prometheus_text(&metrics);
    let open = crate::metrics::encode::openmetrics(&metrics);
    assert!(open.ends_with("# EOF\n"), "{open}");
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let expected: Vec<String> = crate::metrics::catalogue::ALL
        .iter()
        .map(|f| f.name())
        .collect();
    assert_eq!(families, expected);
    for family in crate::metrics::catalogue::ALL {
        for series in family.series_names() {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{series}{{"))),
                "{series} has no sample in\n{text}"
            );
        }
    }
}

#[test]
fn kill_counts_and_spans_follow_the_journal_line_by_line() {
    use crate::journal::entries;
    let path = fixtures::path("recorded-local-demo");
    let mut live = crate::metrics::RunMetrics::default();
    let mut seen_kills = 0u64;
    for entry in entries(&path).unwrap() {
        let entry = entry.unwrap();
        if matches!(entry, crate::journal::Entry::Kill(_)) {
            seen_kills += 1;
        }
        live.observe(&entry);
        let kills: u64 = live.targets.values().map(|t| t.kills).sum();
        assert_eq!(kills, seen_kills);
        let in_flight: u64 = live.targets.keys().map(|t| live.in_flight(t)).sum();
        let ended: u64 = live
            .targets
            .values()
            .flat_map(|t| t.recoveries.values())
            .sum();
        assert_eq!(in_flight + ended, kills, "every kill is in flight or ended");
    }
    let mut report = fixtures::report("recorded-local-demo");
    // The live fold has no verdict until the command gives it one.
    report.metrics.verdict = None;
    assert_eq!(live, report.metrics);
}

/// Lines in an order the engine does not write today still give the report's counts: marks
/// before their `kill` line, a restored recovery whose `kill` line comes last (it used to count
/// as unrecovered), and a late mark after a recovery ended (ignored here; the report's last
/// line wins, so only the counts, not the sums, agree for it).
#[test]
fn marks_out_of_order_give_the_same_counts_as_the_report() {
    use super::{kill, phase, recovered, web_run};
    use crate::vocabulary::phase::Phase;

    let early_marks = vec![
        phase(2, Phase::Down, 30_010),
        phase(2, Phase::Replaced, 30_200),
        kill(2, 30_000),
        phase(2, Phase::Running, 30_400),
        phase(2, Phase::Healthy, 30_600),
        phase(2, Phase::Restored, 30_600),
    ];
    let restored_before_kill = vec![
        phase(3, Phase::Down, 60_010),
        phase(3, Phase::Restored, 60_900),
        kill(3, 60_000),
    ];
    // Kill 1's restored line, then a stray mark for it.
    let mut late = recovered(1, [0, 5, 100, 200, 300, 300]);
    late.push(phase(1, Phase::Down, 400));
    let report = web_run(vec![late, early_marks, restored_before_kill], 90_000);
    let m = &report.metrics;
    let web = &m.targets["web"];
    assert_eq!(web.kills, 3);
    assert_eq!(web.recoveries["restored"], 3, "{:?}", web.recoveries);
    assert_eq!(m.in_flight("web"), 0);
    for span in Span::ALL {
        let expected = report.histograms.get(&span).map_or(0, |h| h.count);
        assert_eq!(web.spans[&span].count(), expected, "{span}");
    }
    assert_eq!(web.spans[&Span::Total].count(), 3);
}
