//! `--dry-run`: the plan a run would follow, computed with the same clock, the same seeded
//! selection and the same guards as a real run, against the fleet as it is now, assuming every
//! recovery ends before the next decision. With schedule windows, each decision also gets the
//! wall-clock time it would fall on if the run started now, since the clock stands still while
//! every window is closed. Nothing is touched.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::scheduler::{decide, eligibility, Clock, GuardState};
use crate::platform::{Instance, Platform, PlatformError};
use crate::scenario::Scenario;
use crate::vocabulary::rng::{SeededRng, Stream};
use crate::vocabulary::time::now_micros;
use crate::vocabulary::window::Windows;

/// A plan stops here even if the schedule has no duration and every decision is refused.
const MAX_PLANNED_DECISIONS: usize = 10_000;

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

/// Computes the plan for `scenario` with `seed` against the platform's current fleet.
pub async fn plan(
    scenario: &Scenario,
    seed: u64,
    duration: Option<Duration>,
    windows: Option<&Windows>,
    platform: &dyn Platform,
) -> Result<Vec<PlannedDecision>, PlatformError> {
    let started = Utc::now();
    let mut fleets: Vec<(Vec<Instance>, u32)> = Vec::new();
    for target in &scenario.targets {
        let mut instances = platform.preview(&target.name).await?;
        instances.sort_by(|a, b| (&a.slot, &a.id).cmp(&(&b.slot, &b.id)));
        let healthy = instances.iter().filter(|i| i.healthy).count() as u32;
        let known = platform.desired_capacity(&target.name).await?;
        let desired = target.capacity.or(known).unwrap_or(healthy);
        fleets.push((instances, desired));
    }
    let mut clock = Clock::new(&scenario.schedule, duration, seed);
    let mut rng = SeededRng::new(seed, Stream::Selection);
    let mut planned = Vec::new();
    let mut kills = 0u32;
    let mut seq = 0u32;
    let now = now_micros();
    let never_busy = |_: &str| false;
    'ticks: while let Some(offset) = clock.next_decision() {
        for (target, (instances, desired)) in scenario.targets.iter().zip(&fleets) {
            if scenario.schedule.max_kills.is_some_and(|m| kills >= m)
                || planned.len() >= MAX_PLANNED_DECISIONS
            {
                break 'ticks;
            }
            seq += 1;
            let mut eligible = Vec::new();
            let mut ineligible = Vec::new();
            for inst in instances {
                // Recoveries are assumed complete by the next decision, so instances will
                // be as old as the planned offset.
                let aged = now + offset.as_micros() as i64;
                match eligibility(inst, target, &scenario.policy, aged, &never_busy) {
                    Ok(()) => eligible.push(inst),
                    Err(why) => ineligible.push(why),
                }
            }
            let guards = GuardState {
                healthy: instances.iter().filter(|i| i.healthy).count() as u32,
                desired: *desired,
                in_flight: 0,
            };
            let choice = decide(
                &scenario.policy,
                eligible.len(),
                &ineligible,
                guards,
                &mut rng,
            );
            let mut victims: Vec<&Instance> = choice.victims.iter().map(|&i| eligible[i]).collect();
            let mut refused = choice.refused;
            if let Some(max) = scenario.schedule.max_kills {
                let left = max.saturating_sub(kills) as usize;
                if victims.len() > left {
                    victims.truncate(left);
                    refused.get_or_insert_with(|| {
                        format!("trimmed to {left}: max_kills {max} reached")
                    });
                }
            }
            kills += victims.len() as u32;
            planned.push(PlannedDecision {
                seq,
                offset_ms: offset.as_millis() as u64,
                target: target.name.clone(),
                eligible: eligible.len() as u32,
                slots: victims.iter().map(|v| v.slot.clone()).collect(),
                names: victims.iter().map(|v| v.name.clone()).collect(),
                refused,
                at: match windows {
                    Some(w) => w.advance(started, offset),
                    None => chrono::Duration::from_std(offset).ok().map(|d| started + d),
                },
            });
        }
    }
    Ok(planned)
}
