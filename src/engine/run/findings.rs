//! Recovery findings (marks, flaps, timeouts) turned into journal lines and log lines.

use tracing::{info, warn};

use super::Run;
use crate::engine::phase::Phase;
use crate::engine::recovery::Finding;
use crate::journal::Entry;
use crate::units::format_micros;

impl Run<'_> {
    pub(super) fn record_findings(&mut self, found: Vec<Finding>) {
        for f in found {
            let entry = match f {
                Finding::Mark {
                    kill_id,
                    phase,
                    at,
                    instance,
                    uncertain,
                } => {
                    match phase {
                        Phase::Kill => {
                            self.kill_marks.insert(kill_id, at);
                        }
                        Phase::Restored => {
                            let took = self
                                .kill_marks
                                .get(&kill_id)
                                .map(|k| format_micros(at.saturating_sub(*k).max(0) as u64))
                                .unwrap_or_else(|| "?".to_string());
                            info!("kill #{kill_id}: restored in {took} (replacement {instance})");
                        }
                        _ => {}
                    }
                    Entry::Phase {
                        kill_id,
                        phase,
                        at,
                        instance,
                        uncertain,
                    }
                }
                Finding::Flap {
                    kill_id,
                    at,
                    instance,
                } => {
                    warn!("kill #{kill_id}: replacement {instance} flapped (unhealthy within the settle window)");
                    Entry::Flap {
                        kill_id,
                        at,
                        instance,
                    }
                }
                Finding::Unrecovered {
                    kill_id,
                    at,
                    stalled_in,
                } => {
                    warn!("kill #{kill_id}: unrecovered, stalled in {stalled_in}");
                    self.unrecovered += 1;
                    Entry::Unrecovered {
                        kill_id,
                        at,
                        stalled_in,
                    }
                }
            };
            self.record(entry);
        }
    }
}
