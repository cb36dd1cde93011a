//! Where a decision is taken and carried out: the eligible instances of each target, the
//! guards, the seeded pick, and the kill itself, each journalled as it happens.

use std::time::Duration;

use tracing::{info, warn};

use super::Run;
use crate::engine::scheduler::{decide, eligibility, GuardState};
use crate::engine::trigger;
use crate::journal::{Decision, Entry, KillEntry, Victim};
use crate::platform::Instance;
use crate::vocabulary::time::now_micros;

impl Run<'_> {
    pub(super) async fn decide_all(&mut self, offset: Duration) {
        let scenario = &self.loaded.scenario;
        for target in &scenario.targets {
            self.seq += 1;
            let now = now_micros();
            let mut instances = match self.platform.instances(&target.name).await {
                Ok(list) => list,
                Err(e) => {
                    warn!("decision #{}: cannot list {}: {e}", self.seq, target.name);
                    Vec::new()
                }
            };
            instances.sort_by(|a, b| (&a.slot, &a.id).cmp(&(&b.slot, &b.id)));
            let mut eligible: Vec<Instance> = Vec::new();
            let mut ineligible = Vec::new();
            for mut inst in instances {
                // The event-derived view is the one the guards and the timeline use.
                inst.healthy = self.capacity.is_healthy(&target.name, &inst.id);
                let busy = |id: &str| self.recoveries.involves(id);
                match eligibility(&inst, target, &scenario.policy, now, &busy) {
                    Ok(()) => eligible.push(inst),
                    Err(why) => ineligible.push(why),
                }
            }
            let guards = GuardState {
                healthy: self.capacity.healthy(&target.name),
                desired: self.capacity.desired(&target.name),
                in_flight: self.recoveries.in_flight(),
            };
            let choice = decide(
                &scenario.policy,
                eligible.len(),
                &ineligible,
                guards,
                &mut self.selection,
            );
            let mut victims: Vec<Instance> = choice
                .victims
                .iter()
                .map(|&i| eligible[i].clone())
                .collect();
            let mut refused = choice.refused;
            if let Some(max) = scenario.schedule.max_kills {
                let left = max.saturating_sub(self.kills) as usize;
                if victims.len() > left {
                    victims.truncate(left);
                    refused.get_or_insert_with(|| {
                        format!("trimmed to {left}: max_kills {max} reached")
                    });
                }
            }
            let decision = Decision {
                seq: self.seq,
                offset_ms: offset.as_millis() as u64,
                at: now,
                target: target.name.clone(),
                eligible: eligible.len() as u32,
                healthy: guards.healthy,
                desired: guards.desired,
                in_flight: guards.in_flight,
                wanted: choice.wanted,
                victims: victims
                    .iter()
                    .map(|v| Victim {
                        id: v.id.clone(),
                        slot: v.slot.clone(),
                        name: v.name.clone(),
                    })
                    .collect(),
                refused: refused.clone(),
            };
            if let Some(reason) = &refused {
                info!("decision #{} on {}: {reason}", self.seq, target.name);
            }
            self.record(Entry::Decision(decision));
            for victim in victims {
                self.kill(victim).await;
            }
        }
    }

    async fn kill(&mut self, victim: Instance) {
        let action = &self.loaded.scenario.action;
        match self.platform.kill(&victim, action).await {
            Ok(receipt) => {
                self.kills += 1;
                let kill_id = self.kills;
                info!(
                    "kill #{kill_id}: {} ({}) with {}",
                    victim.name,
                    victim.slot,
                    action.describe()
                );
                self.record(Entry::Kill(KillEntry {
                    kill_id,
                    seq: self.seq,
                    at: receipt.at,
                    target: victim.target.clone(),
                    victim: victim.id.clone(),
                    slot: victim.slot.clone(),
                    name: victim.name.clone(),
                    action: action.describe(),
                    detail: receipt.detail,
                }));
                let mark = self.recoveries.open(kill_id, &victim, receipt.at);
                self.record_findings(vec![mark]);
                if let Some(t) = &self.loaded.scenario.recovery.trigger {
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
                self.record(Entry::KillFailed {
                    seq: self.seq,
                    victim: victim.id.clone(),
                    at: now_micros(),
                    error: e.to_string(),
                });
            }
        }
    }
}
