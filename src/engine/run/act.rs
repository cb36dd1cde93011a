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
use crate::vocabulary::time::to_utc;

impl Run<'_> {
    /// Takes the decision planned at `offset` for every target, in scenario order.
    pub(super) async fn decide_all(&mut self, offset: Duration) {
        self.follow_events();
        let scenario = self.scenario;
        for target in &scenario.targets {
            self.ledger.seq += 1;
            let now = self.clock.now();
            let looked = self.look(&target.name).await;
            let recoveries = &self.recoveries;
            let in_recovery = |id: &str| recoveries.involves(id);
            let (instances, blocked) = match looked {
                Ok(instances) => (instances, None),
                Err(why) => (Vec::new(), Some(why)),
            };
            let situation = Situation {
                target,
                policy: &scenario.policy,
                healthy: instances.iter().filter(|i| i.healthy).count() as u32,
                instances,
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
            let mut decided = decide(&situation, &mut self.selection);
            if let Some(why) = blocked {
                // Nothing was drawn: decide() saw no instance, so the selection stream did
                // not move, and the journal gets the true reason, not an empty selector.
                decided.victims.clear();
                decided.refused = Some(format!("refused: {why}"));
            }
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

    /// A fresh look at `target` just before a decision: the platform's listing now, each
    /// instance healthy only when both the listing and the event stream say so, so neither a
    /// stale event view nor a stale listing can let a kill go below the floor. Fails, with the
    /// reason for the journal, while the event stream is lost or the listing fails.
    async fn look(&self, target: &str) -> Result<Vec<Instance>, String> {
        if let Some(lost) = &self.watch.events_lost {
            let since = to_utc(lost.since)
                .map(|t| t.format("%H:%M:%S%.3f UTC").to_string())
                .unwrap_or_default();
            return Err(format!(
                "platform events lost since {since} ({})",
                lost.reason
            ));
        }
        let mut instances = self
            .platform
            .instances(target)
            .await
            .map_err(|e| format!("cannot list the instances of {target}: {e}"))?;
        for inst in &mut instances {
            inst.healthy = inst.healthy && self.capacity.is_healthy(target, &inst.id);
        }
        Ok(instances)
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
