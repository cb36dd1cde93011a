//! Each kill's `evidence` lines, victim and replacement, judged side by side once the kills
//! are known.

use std::collections::BTreeMap;

use crate::journal::EvidenceRole;
use crate::platform::Evidence;
use crate::report::{DriftReport, KillDrift, KillReport};

/// The evidence lines seen so far, by kill.
#[derive(Debug, Default)]
pub(super) struct Drift {
    by_kill: BTreeMap<u32, (Option<Evidence>, Option<Evidence>)>,
}

impl Drift {
    /// Takes one `evidence` line; a later line for the same kill and role replaces the first.
    pub fn push(&mut self, kill_id: u32, role: EvidenceRole, evidence: Evidence) {
        let slot = self.by_kill.entry(kill_id).or_default();
        match role {
            EvidenceRole::Victim => slot.0 = Some(evidence),
            EvidenceRole::Replacement => slot.1 = Some(evidence),
        }
    }

    /// Gives each kill its drift, and returns the run's counts; `None` when the run captured
    /// none (`recovery.drift` off and no evidence line).
    pub fn finish(mut self, captured: bool, kills: &mut [KillReport]) -> Option<DriftReport> {
        if !captured && self.by_kill.is_empty() {
            return None;
        }
        for kill in kills.iter_mut() {
            let (victim, replacement) = self.by_kill.remove(&kill.kill_id).unwrap_or_default();
            let same_instance = kill.replacement.as_ref().map(|r| *r == kill.victim);
            let ran = kill
                .phases
                .contains_key(&crate::vocabulary::phase::Phase::Running);
            kill.drift = Some(KillDrift::judge(victim, replacement, same_instance, ran));
        }
        Some(DriftReport::of(
            kills.iter().filter_map(|k| k.drift.as_ref()),
        ))
    }
}
