//! A due decision, carried out: for each target, the run's view of its instances goes to the
//! one decision function ([`crate::engine::decide`]); the decision is journalled, and each
//! victim is handed to the platform, whose receipt opens the kill's recovery.

use std::time::Duration;

use tracing::{info, warn};

use super::Run;
use crate::engine::decide::{decide, Situation};
use crate::engine::trigger;
use crate::journal::{Decision, Entry, KillEntry, Victim};
use crate::platform::Instance;

impl Run<'_> {
    /// Takes the decision planned at `offset` for every target, in scenario order.
    pub(super) async fn decide_all(&mut self, offset: Duration) {
        let scenario = self.scenario;
        for target in &scenario.targets {
            self.ledger.seq += 1;
            let now = self.clock.now();
            let mut instances = match self.platform.instances(&target.name).await {
                Ok(list) => list,
                Err(e) => {
                    warn!(
                        "decision #{}: cannot list {}: {e}",
                        self.ledger.seq, target.name
                    );
                    Vec::new()
                }
            };
            // The event-derived view is the one the guards and the timeline use.
            for inst in &mut instances {
                inst.healthy = self.capacity.is_healthy(&target.name, &inst.id);
            }
            let recoveries = &self.recoveries;
            let in_recovery = |id: &str| recoveries.involves(id);
            let situation = Situation {
                target,
                policy: &scenario.policy,
                instances,
                healthy: self.capacity.healthy(&target.name),
                desired: self.capacity.desired(&target.name),
                in_flight: recoveries.in_flight(),
                kills_left: scenario
                    .schedule
                    .max_kills
                    .map(|m| m.saturating_sub(self.ledger.kills)),
                max_kills: scenario.schedule.max_kills,
                now,
                in_recovery: &in_recovery,
            };
            let decided = decide(&situation, &mut self.selection);
            let decision = Decision {
                seq: self.ledger.seq,
                offset_ms: offset.as_millis() as u64,
                at: now,
                target: target.name.clone(),
                eligible: decided.assessment.eligible_count(),
                healthy: situation.healthy,
                desired: situation.desired,
                in_flight: situation.in_flight,
                wanted: decided.assessment.wanted,
                victims: decided
                    .victims
                    .iter()
                    .map(|v| Victim {
                        id: v.id.clone(),
                        slot: v.slot.clone(),
                        name: v.name.clone(),
                    })
                    .collect(),
                refused: decided.refused.clone(),
            };
            if let Some(reason) = &decided.refused {
                info!("decision #{} on {}: {reason}", self.ledger.seq, target.name);
            }
            self.ledger.record(Entry::Decision(decision));
            for victim in decided.victims {
                self.kill(victim).await;
            }
        }
    }

    /// Hands one victim to the platform; a receipt opens its recovery and starts the trigger.
    async fn kill(&mut self, victim: Instance) {
        let action = &self.scenario.action;
        match self.platform.kill(&victim, action).await {
            Ok(receipt) => {
                self.ledger.kills += 1;
                let kill_id = self.ledger.kills;
                info!(
                    "kill #{kill_id}: {} ({}) with {}",
                    victim.name,
                    victim.slot,
                    action.describe()
                );
                self.ledger.record(Entry::Kill(KillEntry {
                    kill_id,
                    seq: self.ledger.seq,
                    at: receipt.at,
                    target: victim.target.clone(),
                    victim: victim.id.clone(),
                    slot: victim.slot.clone(),
                    name: victim.name.clone(),
                    action: action.describe(),
                    detail: receipt.detail,
                }));
                let mark = self.recoveries.open(kill_id, &victim, receipt.at);
                self.ledger.record_findings(vec![mark]);
                if let Some(t) = &self.scenario.recovery.trigger {
                    let command = t.command.clone();
                    let timeout = t
                        .timeout
                        .map(|d| d.get())
                        .unwrap_or(trigger::DEFAULT_TIMEOUT);
                    self.triggers.spawn(async move {
                        trigger::run(kill_id, &command, &victim, timeout).await
                    });
                }
            }
            Err(e) => {
                warn!("kill of {} ({}) failed: {e}", victim.name, victim.slot);
                self.ledger.record(Entry::KillFailed {
                    seq: self.ledger.seq,
                    victim: victim.id.clone(),
                    at: self.clock.now(),
                    error: e.to_string(),
                });
            }
        }
    }
}
