//! Platform faults in the report: event-stream outages, and recoveries whose marks contradict
//! their kill.

use crate::journal::Entry;
use crate::report::{utc, Verdict};
use crate::vocabulary::phase::{Phase, Span};

use super::super::from_journal;
use super::{ended, journal, phase, recovered, started, t, web_run};

fn lost(ms: i64, reason: &str) -> Entry {
    Entry::EventsLost {
        at: t(ms),
        reason: reason.into(),
    }
}

fn back(ms: i64, lost_ms: i64) -> Entry {
    Entry::EventsBack {
        at: t(ms),
        lost_since: t(lost_ms),
    }
}

fn uncertain(kill_id: u32, p: Phase, ms: i64) -> Entry {
    match phase(kill_id, p, ms) {
        Entry::Phase {
            kill_id,
            phase,
            at,
            instance,
            ..
        } => Entry::Phase {
            kill_id,
            phase,
            at,
            instance,
            uncertain: true,
        },
        other => other,
    }
}

#[test]
fn an_outage_spans_lost_to_back_and_counts_the_uncertain_marks_after_it() {
    let report = web_run(
        vec![
            recovered(1, [1_000, 1_100, 1_500, 2_000, 2_500, 2_600]),
            vec![
                lost(3_000, "connection reset"),
                uncertain(1, Phase::Healthy, 2_550),
                back(11_000, 3_000),
                lost(20_000, "engine gone"),
            ],
        ],
        25_000,
    );
    assert_eq!(report.outages.len(), 2);
    let first = &report.outages[0];
    assert_eq!(first.lost_at, utc(t(3_000)));
    assert_eq!(first.back_at, Some(utc(t(11_000))));
    assert_eq!(first.seconds, 8.0);
    assert_eq!(first.reason, "connection reset");
    assert_eq!(first.uncertain_marks, 1);
    // Never back: it runs to the end of the run.
    let second = &report.outages[1];
    assert_eq!(second.back_at, None);
    assert_eq!(second.seconds, 5.0);
    assert_eq!(second.uncertain_marks, 0);
}

#[test]
fn a_run_without_outages_serialises_no_outages_field() {
    let entries = journal(vec![vec![started(&[("web", 3)], &[]), ended(1_000)]]);
    let report = from_journal(&entries).unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("outages"), "{json}");
}

#[test]
fn a_mark_well_before_its_kill_makes_the_recovery_invalid_and_fails_the_run() {
    // Kill #1 is honest. Kill #2's `down` mark comes 1.56 s before its kill: the engine was
    // restarting the victim on its own, so these times say nothing about the kill.
    let report = web_run(
        vec![
            recovered(1, [1_000, 1_100, 1_500, 2_000, 2_500, 2_600]),
            recovered(2, [10_000, 8_440, 9_680, 10_500, 11_000, 11_200]),
        ],
        20_000,
    );
    assert_eq!(report.kills[0].invalid, None);
    let why = report.kills[1]
        .invalid
        .as_deref()
        .expect("kill 2 is invalid");
    assert!(why.contains("down 1.6s before the kill"), "{why}");
    assert!(why.contains("replaced 320ms before the kill"), "{why}");
    assert_eq!(report.verdict, Verdict::Fail);
    // Only the honest kill is in the histograms.
    assert_eq!(report.histograms[&Span::Total].count, 1);
    assert_eq!(report.histograms[&Span::Detect].count, 1);
}

#[test]
fn a_mark_a_little_before_its_kill_is_rounding_not_invalid() {
    let report = web_run(
        vec![recovered(1, [1_000, 950, 1_500, 2_000, 2_500, 2_600])],
        10_000,
    );
    assert_eq!(report.kills[0].invalid, None);
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn every_renderer_shows_outages_and_invalid_recoveries() {
    let report = web_run(
        vec![
            recovered(1, [10_000, 8_440, 9_680, 10_500, 11_000, 11_200]),
            vec![lost(3_000, "connection reset"), back(11_000, 3_000)],
        ],
        20_000,
    );
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();

    let md = text(crate::report::markdown::render(&report));
    assert!(md.contains("## Platform outages"), "{md}");
    assert!(md.contains("| 8s | 0 | connection reset |"), "{md}");
    assert!(md.contains("**Kill 1 is invalid**"), "{md}");

    let html = text(crate::report::html::render(&report));
    assert!(html.contains("<section id=\"outages\">"));
    assert!(html.contains("<section id=\"invalid\">"));
    assert!(
        html.contains("<rect class=\"outage\""),
        "the capacity chart shades the outage"
    );

    let term = text(crate::report::terminal::render(&report));
    assert!(
        term.contains("events lost: at 2026-11-20 02:00:03 UTC for 8s (connection reset)"),
        "{term}"
    );
    assert!(
        term.contains("invalid: kill 1 on web: victim-1 (web.1): marks precede the kill"),
        "{term}"
    );

    let junit = text(crate::report::junit::render(&report));
    assert!(junit.contains("type=\"invalid\""), "{junit}");
}
