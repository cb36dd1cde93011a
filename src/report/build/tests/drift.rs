//! Drift evidence lines folded into each kill and into the run's counts.

use super::*;
use crate::journal::EvidenceRole;
use crate::platform::{ChangeKind, Evidence, FsChanges};
use crate::vocabulary::slo::DriftCheck;

fn evidence_line(kill_id: u32, role: EvidenceRole, changed: &[&str]) -> Entry {
    Entry::Evidence {
        kill_id,
        role,
        at: t(0),
        evidence: Box::new(Evidence {
            instance: format!("victim-{kill_id}"),
            changes: Some(FsChanges {
                added: changed.len() as u32,
                paths: changed
                    .iter()
                    .map(|p| (ChangeKind::Added, p.to_string()))
                    .collect(),
                ..FsChanges::default()
            }),
            ..Evidence::default()
        }),
    }
}

/// A mark of kill `kill_id` on its victim itself, as a restart in place gives.
fn in_place(kill_id: u32, phase: Phase, ms: i64) -> Entry {
    Entry::Phase {
        kill_id,
        phase,
        at: t(ms),
        instance: format!("victim-{kill_id}"),
        uncertain: false,
    }
}

#[test]
fn evidence_lines_give_each_kill_its_drift_and_the_slo_its_count() {
    let Entry::RunStarted(mut start) = started(&[("web", 3)], &["drift.carried_over == 0"]) else {
        unreachable!()
    };
    start.drift = true;
    let entries = journal(vec![
        vec![Entry::RunStarted(start)],
        vec![
            kill(1, 0),
            in_place(1, Phase::Down, 10),
            in_place(1, Phase::Replaced, 20),
            in_place(1, Phase::Running, 20),
            evidence_line(1, EvidenceRole::Victim, &["/etc/patched"]),
            evidence_line(1, EvidenceRole::Replacement, &["/etc/patched"]),
            kill(2, 1_000),
        ],
        vec![ended(5_000)],
    ]);
    let report = from_journal(&entries).unwrap();
    let drift = report.drift.as_ref().expect("a drift section");
    assert_eq!(drift.count(DriftCheck::CarriedOver), 1);
    assert_eq!(
        report.kills[0].drift.as_ref().unwrap().carried_over,
        Some(vec!["/etc/patched".to_string()])
    );
    // Kill 2 has no evidence at all: unknown, not clean.
    assert_eq!(drift.count(DriftCheck::Unknown), 1);
    assert!(report.kills[1]
        .drift
        .as_ref()
        .unwrap()
        .modified_victim
        .is_none());
    assert!(!report.slos[0].passed);
    assert_eq!(report.slos[0].measured, Some(1.0));
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn a_run_without_drift_evidence_has_no_drift_section() {
    let report = web_run(vec![recovered(1, [0, 10, 20, 30, 40, 50])], 1_000);
    assert!(report.drift.is_none());
    assert!(report.kills[0].drift.is_none());
}

#[test]
fn a_run_whose_replacements_all_match_says_so_in_words() {
    let Entry::RunStarted(mut start) = started(&[("web", 3)], &[]) else {
        unreachable!()
    };
    start.drift = true;
    let entries = journal(vec![
        vec![Entry::RunStarted(start)],
        vec![
            kill(1, 0),
            in_place(1, Phase::Replaced, 20),
            evidence_line(1, EvidenceRole::Victim, &[]),
            evidence_line(1, EvidenceRole::Replacement, &[]),
        ],
        vec![ended(5_000)],
    ]);
    let report = from_journal(&entries).unwrap();
    let summary = String::from_utf8(crate::report::markdown::render(&report)).unwrap();
    assert!(
        summary.contains(
            "Every replacement matched its victim: nothing changed in place, nothing carried \
             over, the same image and configuration."
        ),
        "{summary}"
    );
}
