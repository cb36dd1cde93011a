//! What recoveries reached (marks, flaps, timeouts): logged for people, then journalled.

use tracing::{info, warn};

use super::Run;
use crate::journal::Entry;
use crate::vocabulary::phase::Phase;
use crate::vocabulary::units::format_micros;

impl Run<'_> {
    pub(super) fn record_findings(&mut self, found: Vec<Entry>) {
        for entry in found {
            match &entry {
                Entry::Phase {
                    kill_id,
                    phase: Phase::Kill,
                    at,
                    ..
                } => {
                    self.kill_marks.insert(*kill_id, *at);
                }
                Entry::Phase {
                    kill_id,
                    phase: Phase::Restored,
                    at,
                    instance,
                    ..
                } => {
                    let took = self
                        .kill_marks
                        .get(kill_id)
                        .map(|k| format_micros(at.saturating_sub(*k).max(0) as u64))
                        .unwrap_or_else(|| "?".to_string());
                    info!("kill #{kill_id}: restored in {took} (replacement {instance})");
                }
                Entry::Flap {
                    kill_id, instance, ..
                } => {
                    warn!("kill #{kill_id}: replacement {instance} flapped (unhealthy within the settle window)");
                }
                Entry::Unrecovered {
                    kill_id,
                    stalled_in,
                    ..
                } => {
                    warn!("kill #{kill_id}: unrecovered, stalled in {stalled_in}");
                    self.unrecovered += 1;
                }
                _ => {}
            }
            self.record(entry);
        }
    }
}
