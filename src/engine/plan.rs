//! `--dry-run` and `firedrill targets`: the fleet as it is now ([`survey`]), and the plan a run
//! would follow on it ([`plan`]), computed with the same cadence, the same seeded selection and
//! the same decision function as a real run, assuming every recovery ends before the next
//! decision. With schedule windows, each decision also gets the wall-clock time it would fall on
//! if the run started now, since the clock stands still while every window is closed. Nothing is
//! touched.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::warn;

use crate::engine::cadence::Cadence;
use crate::engine::decide::{decide, Situation};
use crate::platform::{Instance, Platform, PlatformError};
use crate::scenario::{Scenario, Target};
use crate::vocabulary::rng::{SeededRng, Stream};
use crate::vocabulary::time::{now_micros, Micros};
use crate::vocabulary::window::Windows;

/// A plan stops here even if the schedule has no duration and every decision is refused.
const MAX_PLANNED_DECISIONS: usize = 10_000;

/// One target's instances as the platform shows them now, with the capacity the guards count
/// against.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The instances, in slot order.
    pub instances: Vec<Instance>,
    /// Instances passing their health check now.
    pub healthy: u32,
    /// Desired capacity: the scenario's, else the platform's, else what is healthy now.
    pub desired: u32,
    /// The instances are slots a run would spawn, not started yet; they count as healthy, as
    /// they will be once the run has started them.
    pub not_started: bool,
}

impl Fleet {
    /// The situation one decision about `target` would face on this fleet at `now`, with
    /// nothing in flight and `kills_left` kills left before `max_kills`.
    pub fn situation<'a>(
        &self,
        scenario: &'a Scenario,
        target: &'a Target,
        now: Micros,
        kills_left: Option<u32>,
    ) -> Situation<'a> {
        Situation {
            target,
            policy: &scenario.policy,
            instances: self.instances.clone(),
            healthy: self.healthy,
            desired: self.desired,
            in_flight: 0,
            kills_left,
            max_kills: scenario.schedule.max_kills,
            now,
            in_recovery: &|_| false,
        }
    }
}

/// Every target's fleet now, in scenario order. Lists only; nothing is touched.
pub async fn survey(
    scenario: &Scenario,
    platform: &dyn Platform,
) -> Result<Vec<Fleet>, PlatformError> {
    let mut fleets = Vec::with_capacity(scenario.targets.len());
    for target in &scenario.targets {
        let mut instances = platform.preview(&target.name).await?;
        require_instances(target, &instances, platform).await?;
        instances.sort_by(|a, b| (&a.slot, &a.id).cmp(&(&b.slot, &b.id)));
        let members = capacity_members(platform, &target.name, &instances).await?;
        let healthy = members.iter().filter(|i| i.healthy).count() as u32;
        let known = platform.desired_capacity(&target.name).await?;
        let desired = target.capacity.or(known).unwrap_or(healthy);
        fleets.push(Fleet {
            instances,
            healthy,
            desired,
            not_started: platform.spawns(&target.name),
        });
    }
    Ok(fleets)
}

/// What a run starts from: every target's instances (a node target's nodes, then its
/// members), and each target's desired healthy count, with a warning for a target that starts
/// below it. The first journal line records both.
pub async fn baseline(
    scenario: &Scenario,
    platform: &dyn Platform,
) -> Result<(Vec<Instance>, BTreeMap<String, u32>), PlatformError> {
    let mut initial = Vec::new();
    let mut desired = BTreeMap::new();
    for target in &scenario.targets {
        let instances = platform.instances(&target.name).await?;
        // Before the first journal line: a target with nothing in it is no run at all.
        require_instances(target, &instances, platform).await?;
        let known = platform.desired_capacity(&target.name).await?;
        let members = capacity_members(platform, &target.name, &instances).await?;
        let healthy = members.iter().filter(|i| i.healthy).count() as u32;
        let want = target.capacity.or(known).unwrap_or(healthy);
        if healthy < want {
            warn!(
                "target {}: only {healthy} of {want} instances are healthy at the start",
                target.name
            );
        }
        desired.insert(target.name.clone(), want);
        // A node target's nodes are journalled beside its members, its watched tasks.
        initial.extend(instances.into_iter().filter(|i| i.holds.is_some()));
        initial.extend(members);
    }
    Ok((initial, desired))
}

/// The instances whose health is the target's capacity: `instances` themselves, but for
/// nodes, the tasks of the services their target watches.
pub async fn capacity_members(
    platform: &dyn Platform,
    target: &str,
    instances: &[Instance],
) -> Result<Vec<Instance>, PlatformError> {
    if instances.iter().any(|i| i.holds.is_some()) {
        platform.capacity_members(target).await
    } else {
        Ok(instances.to_vec())
    }
}

/// Fails with [`PlatformError::NoMatch`] when `target`'s selector matched no instance, naming
/// the selector and what the platform has near it. A run, `--dry-run` and `targets` all stop
/// here: a target with nothing in it would otherwise read as "0 healthy of 0 desired", and end
/// as an SLO breach rather than as the mistake it is.
pub async fn require_instances(
    target: &Target,
    instances: &[Instance],
    platform: &dyn Platform,
) -> Result<(), PlatformError> {
    if !instances.is_empty() {
        return Ok(());
    }
    Err(PlatformError::NoMatch {
        target: target.name.clone(),
        selector: target.select.to_string(),
        platform: platform.kind(),
        nearby: platform.nearby(&target.name).await,
    })
}

/// One planned decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedDecision {
    /// Decision sequence number, as the real run will number it.
    pub seq: u32,
    /// Planned offset from the run start, in milliseconds.
    pub offset_ms: u64,
    /// Target name.
    pub target: String,
    /// Eligible instances.
    pub eligible: u32,
    /// Slots of the victims.
    pub slots: Vec<String>,
    /// Names of the victims.
    pub names: Vec<String>,
    /// What the guards said, when they refused or trimmed.
    pub refused: Option<String>,
    /// With schedule windows: when the decision would happen if the run started now; `None`
    /// when no window opens within a week of the way there.
    pub at: Option<DateTime<Utc>>,
}

/// Computes the plan for `scenario` with `seed` on `fleets` (from [`survey`]).
pub fn plan(
    scenario: &Scenario,
    seed: u64,
    duration: Option<Duration>,
    windows: Option<&Windows>,
    fleets: &[Fleet],
) -> Vec<PlannedDecision> {
    let started = Utc::now();
    let mut cadence = Cadence::new(&scenario.schedule, duration, seed);
    let mut rng = SeededRng::new(seed, Stream::Selection);
    let mut planned = Vec::new();
    let mut kills = 0u32;
    let mut seq = 0u32;
    let now = now_micros();
    'ticks: while let Some(offset) = cadence.next_decision() {
        for (target, fleet) in scenario.targets.iter().zip(fleets) {
            if scenario.schedule.max_kills.is_some_and(|m| kills >= m)
                || planned.len() >= MAX_PLANNED_DECISIONS
            {
                break 'ticks;
            }
            seq += 1;
            // Recoveries are assumed complete by the next decision, so instances will be as
            // old as the planned offset.
            let aged = now + offset.as_micros() as i64;
            let kills_left = scenario.schedule.max_kills.map(|m| m.saturating_sub(kills));
            let decided = decide(
                &fleet.situation(scenario, target, aged, kills_left),
                &mut rng,
            );
            kills += decided.victims.len() as u32;
            planned.push(PlannedDecision {
                seq,
                offset_ms: offset.as_millis() as u64,
                target: target.name.clone(),
                eligible: decided.assessment.eligible_count(),
                slots: decided.victims.iter().map(|v| v.slot.clone()).collect(),
                names: decided.victims.iter().map(|v| v.name.clone()).collect(),
                refused: decided.refused,
                at: match windows {
                    Some(w) => w.advance(started, offset),
                    None => chrono::Duration::from_std(offset).ok().map(|d| started + d),
                },
            });
        }
    }
    planned
}
