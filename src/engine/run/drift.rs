//! Drift evidence, captured beside the recovery and never in its way: the victim once the
//! platform has answered its action (the dead container is still there to inspect), or, for
//! `remove`, just before the action within [`BEFORE_REMOVE`]; the replacement once it runs.
//! Each capture is a task of its own that the run loop collects; it writes an `evidence` line.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::Run;
use crate::journal::{Entry, EvidenceRole};
use crate::platform::{Evidence, Platform};
use crate::scenario::Action;
use crate::vocabulary::phase::Phase;
use crate::vocabulary::units::HumanDuration;

/// The longest a `remove` waits for its victim's evidence: the one capture that delays a kill.
pub(super) const BEFORE_REMOVE: Duration = Duration::from_secs(2);

/// The longest any other capture may take before it is written down as unknown.
const CAPTURE_BOUND: Duration = Duration::from_secs(10);

/// A capture on its way.
pub(super) type Capturing<'a> = Pin<Box<dyn Future<Output = Captured> + Send + 'a>>;

/// A finished capture.
pub(super) struct Captured {
    kill_id: u32,
    role: EvidenceRole,
    evidence: Evidence,
}

/// Captures `instance`'s evidence within `bound`; past it, the evidence says so.
pub(super) async fn capture(platform: &dyn Platform, instance: &str, bound: Duration) -> Evidence {
    match tokio::time::timeout(bound, platform.evidence(instance)).await {
        Ok(evidence) => evidence,
        Err(_) => Evidence {
            instance: instance.to_string(),
            capture_us: u64::try_from(bound.as_micros()).unwrap_or(u64::MAX),
            unknown: vec![format!(
                "the capture took longer than {}",
                HumanDuration(bound)
            )],
            ..Evidence::default()
        },
    }
}

/// Whether the victim's evidence must be taken before the action: `remove` leaves nothing to
/// inspect afterwards.
pub(super) fn before_action(action: &Action) -> bool {
    matches!(action, Action::Remove { .. })
}

impl<'a> Run<'a> {
    /// Starts capturing one instance's evidence for `kill_id`.
    pub(super) fn capture(&mut self, kill_id: u32, role: EvidenceRole, instance: String) {
        let platform = self.platform;
        self.capturing.push(Box::pin(async move {
            let evidence = capture(platform, &instance, CAPTURE_BOUND).await;
            Captured {
                kill_id,
                role,
                evidence,
            }
        }));
    }

    /// Journals a finished capture.
    pub(super) fn on_captured(&mut self, captured: Captured) {
        self.record_evidence(captured.kill_id, captured.role, captured.evidence);
    }

    /// Writes one `evidence` line.
    pub(super) fn record_evidence(&mut self, kill_id: u32, role: EvidenceRole, evidence: Evidence) {
        self.ledger.record(Entry::Evidence {
            kill_id,
            role,
            at: self.clock.now(),
            evidence: Box::new(evidence),
        });
    }

    /// Journals what recoveries found, and starts capturing each replacement as it runs.
    pub(super) fn record_findings(&mut self, found: Vec<Entry>) {
        if self.scenario.recovery.drift {
            for entry in &found {
                if let Entry::Phase {
                    kill_id,
                    phase: Phase::Running,
                    instance,
                    ..
                } = entry
                {
                    self.capture(*kill_id, EvidenceRole::Replacement, instance.clone());
                }
            }
        }
        self.ledger.record_findings(found);
    }
}
