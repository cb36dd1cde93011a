//! A due decision, carried out: for each target, the run's view of its instances goes to the
//! one decision function ([`crate::engine::decide`]); the decision is journalled, and each
//! victim's action is dispatched to the platform as a task of its own. Its recovery opens at
//! once, so the victim's events are paired as they come; the platform's receipt confirms the
//! kill (and starts the trigger), a failure cancels it. The loop never waits for a daemon's
//! answer: the schedule, the recovery clocks and the triggers go on meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tracing::{info, warn};

use super::drift;
use super::Run;
use crate::engine::decide::{decide, Guard, Situation};
use crate::engine::trigger;
use crate::journal::{Decision, Entry, EvidenceRole, KillEntry, Victim};
use crate::platform::{Evidence, Instance, KillReceipt, PlatformError};
use crate::vocabulary::identity;
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
            // A node target's capacity is its watched tasks, which only the events count.
            let healthy = if instances.iter().any(|i| i.holds.is_some()) {
                self.capacity.healthy(&target.name)
            } else {
                instances.iter().filter(|i| i.healthy).count() as u32
            };
            let situation = Situation {
                target,
                policy: &scenario.policy,
                healthy,
                instances,
                desired: self.capacity.desired(&target.name),
                in_flight: recoveries.in_flight(),
                kills_left: scenario
                    .schedule
                    .max_kills
                    .map(|m| m.saturating_sub(self.kills_made_or_on_their_way())),
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
                decided.refused_by = vec![(Guard::NoFacts, decided.assessment.wanted)];
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
                refused_kills: decided
                    .refused_by
                    .iter()
                    .map(|(guard, n)| (guard.as_str().to_string(), *n))
                    .collect(),
            };
            if let Some(reason) = &decided.refused {
                info!("decision #{} on {}: {reason}", self.ledger.seq, target.name);
            }
            self.ledger.record(Entry::Decision(decision));
            for victim in decided.victims {
                self.dispatch(victim);
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
        // A node's health is the manager's (ready and active); the capacity counts its
        // watched tasks, not the node.
        for inst in instances.iter_mut().filter(|i| i.holds.is_none()) {
            inst.healthy = inst.healthy && self.capacity.is_healthy(target, &inst.id);
        }
        Ok(instances)
    }

    /// Kills carried out, and those whose action is on its way; `max_kills` counts both.
    pub(super) fn kills_made_or_on_their_way(&self) -> u32 {
        self.ledger.kills + u32::try_from(self.acting.len()).unwrap_or(u32::MAX)
    }

    /// Opens the victim's recovery and sends its action on its way, without waiting for it.
    fn dispatch(&mut self, victim: Instance) {
        let provisional = self.recoveries.dispatch(&victim);
        let platform = self.platform;
        let action = &self.scenario.action;
        let seq = self.ledger.seq;
        let evidence_first = self.scenario.recovery.drift && drift::before_action(action);
        self.on_the_way
            .insert(provisional, (seq, victim.id.clone()));
        self.acting.push(Box::pin(async move {
            let before = if evidence_first {
                Some(drift::capture(platform, &victim.id, drift::BEFORE_REMOVE).await)
            } else {
                None
            };
            let result = platform.kill(&victim, action).await;
            Acted {
                provisional,
                seq,
                victim,
                before,
                result,
            }
        }));
    }

    /// The platform answered one action: a receipt confirms the kill, journals it and starts
    /// its trigger; an error cancels the recovery opened for it.
    pub(super) fn on_acted(&mut self, acted: Acted) {
        let Acted {
            provisional,
            seq,
            victim,
            before,
            result,
        } = acted;
        self.on_the_way.remove(&provisional);
        let action = &self.scenario.action;
        match result {
            Ok(receipt) => {
                self.ledger.kills += 1;
                let kill_id = self.ledger.kills;
                info!(
                    "kill #{kill_id}: {} with {}",
                    identity::short(self.platform.kind(), &victim.id, &victim.slot),
                    action.describe()
                );
                self.ledger.record(Entry::Kill(KillEntry {
                    kill_id,
                    seq,
                    at: receipt.at,
                    target: victim.target.clone(),
                    victim: victim.id.clone(),
                    slot: victim.slot.clone(),
                    name: victim.name.clone(),
                    action: action.describe(),
                    detail: receipt.detail,
                }));
                let found = self.recoveries.confirm(provisional, kill_id, receipt.at);
                match before {
                    Some(evidence) => self.record_evidence(kill_id, EvidenceRole::Victim, evidence),
                    None if self.scenario.recovery.drift => {
                        self.capture(kill_id, EvidenceRole::Victim, victim.id.clone());
                    }
                    None => {}
                }
                self.record_findings(found);
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
                self.recoveries.cancel(provisional);
                warn!(
                    "kill of {} failed: {e}",
                    identity::short(self.platform.kind(), &victim.id, &victim.slot)
                );
                self.ledger.record(Entry::KillFailed {
                    seq,
                    victim: victim.id.clone(),
                    at: self.clock.now(),
                    error: e.to_string(),
                });
            }
        }
    }
}

/// An action on its way to the platform.
pub(super) type Acting<'a> = Pin<Box<dyn Future<Output = Acted> + Send + 'a>>;

/// What the platform answered to one dispatched action.
pub(super) struct Acted {
    /// The recovery opened for it.
    provisional: u32,
    /// The decision that chose the victim.
    seq: u32,
    victim: Instance,
    /// The victim's drift evidence, when it had to be taken before the action.
    before: Option<Evidence>,
    result: Result<KillReceipt, PlatformError>,
}
