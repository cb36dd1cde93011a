//! Recovery findings (marks, flaps, timeouts) turned into journal lines and log lines.

use tracing::{info, warn};

use super::Run;
use crate::engine::phase::Phase;
use crate::engine::recovery::Finding;
use crate::journal::Entry;

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
                    if phase == Phase::Restored {
                        info!("kill #{kill_id}: restored by {instance}");
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
