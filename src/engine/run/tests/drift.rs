//! Drift evidence beside the recovery: captures that take long hold neither the schedule nor
//! the marks, and only `remove` waits, within its bound, for its victim's evidence.

use super::*;
use crate::journal::EvidenceRole;

fn evidence_lines(out: &Ran) -> Vec<(u32, EvidenceRole, &crate::platform::Evidence)> {
    out.entries
        .iter()
        .filter_map(|e| match e {
            Entry::Evidence {
                kill_id,
                role,
                evidence,
                ..
            } => Some((*kill_id, *role, evidence.as_ref())),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn slow_captures_hold_neither_the_schedule_nor_the_kill_marks() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 4, FAST).capturing_in(Duration::from_secs(3));
    let s = scenario(
        "schedule: {every: 1s, max_kills: 3}\n\
         policy: {max_in_flight: 4, min_healthy: 1}\n\
         recovery: {timeout: 30s, drift: true}\n",
    );
    let out = drive(&s, &platform, &clock, &[]).await;

    let taken: Vec<Micros> = decisions(&out).iter().map(|d| d.at).collect();
    assert_eq!(taken.len(), 3);
    let kill_at: Vec<Micros> = out
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Kill(k) => Some(k.at),
            _ => None,
        })
        .collect();
    // Each kill went out the moment it was decided, captures or not.
    assert_eq!(kill_at, taken);
    let lines = evidence_lines(&out);
    for kill_id in 1..=3 {
        for role in [EvidenceRole::Victim, EvidenceRole::Replacement] {
            assert!(
                lines.iter().any(|(k, r, _)| *k == kill_id && *r == role),
                "no {role:?} evidence for kill {kill_id}: {lines:?}"
            );
        }
    }
    assert!(lines.iter().all(|(_, _, e)| e.unknown.is_empty()));
    assert_eq!(ended(&out), RunStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_remove_waits_for_its_victims_evidence_only_within_its_bound() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 4, FAST).capturing_in(Duration::from_secs(5));
    let s = scenario(
        "schedule: {every: 1s, max_kills: 1}\n\
         action: {kind: remove}\n\
         recovery: {timeout: 30s, drift: true}\n",
    );
    let out = drive(&s, &platform, &clock, &[]).await;

    let decided = decisions(&out)[0].at;
    let killed = out
        .entries
        .iter()
        .find_map(|e| match e {
            Entry::Kill(k) => Some(k.at),
            _ => None,
        })
        .expect("one kill");
    assert_eq!(
        killed - decided,
        2_000_000,
        "the remove waited its 2 s bound"
    );
    let lines = evidence_lines(&out);
    let (_, _, victim) = lines
        .iter()
        .find(|(k, r, _)| *k == 1 && *r == EvidenceRole::Victim)
        .expect("victim evidence");
    assert_eq!(
        victim.unknown,
        vec!["the capture took longer than 2s".to_string()]
    );
}
