//! Where a kill is decided: *whom* (a uniform pick without replacement among the eligible
//! instances, in slot order) and whether the guards allow it (`max_in_flight`, `min_healthy`,
//! `min_age`, opt-in and exempt labels, `max_kills`). A run, `--dry-run` and `firedrill targets`
//! all call this one function with the same inputs, so the plan is what the run does and every
//! guard's wording lives here once. *When* decisions happen is [`super::cadence`].

use crate::platform::Instance;
use crate::scenario::{Policy, Target, EXEMPT_LABEL};
use crate::vocabulary::rng::SeededRng;
use crate::vocabulary::time::Micros;

/// Why an instance may not be picked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ineligible {
    /// It carries `firedrill.exempt=true`.
    Exempt,
    /// It lacks the opt-in label.
    NotOptedIn,
    /// It is younger than `min_age`.
    TooYoung,
    /// It does not pass its health check; killing it would not test a recovery.
    Unhealthy,
    /// A recovery of it is already in progress.
    InRecovery,
    /// A node whose healthy tasks, taken down at once, would leave the watched services below
    /// the `min_healthy` floor.
    BelowFloor,
}

impl Ineligible {
    /// The reason in words, for refusals and `targets`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ineligible::Exempt => "exempt",
            Ineligible::NotOptedIn => "not opted in",
            Ineligible::TooYoung => "younger than min_age",
            Ineligible::Unhealthy => "unhealthy",
            Ineligible::InRecovery => "already being recovered",
            Ineligible::BelowFloor => "would break min_healthy",
        }
    }
}

/// Whether `instance` may be picked at `now`, and if not, why. `in_recovery` says whether a
/// recovery already involves an instance id.
pub fn eligibility(
    instance: &Instance,
    target: &Target,
    policy: &Policy,
    now: Micros,
    in_recovery: &dyn Fn(&str) -> bool,
) -> Result<(), Ineligible> {
    // The exempt label wins over everything, including an explicit opt-in.
    if instance.labels.get(EXEMPT_LABEL).map(String::as_str) == Some("true") {
        return Err(Ineligible::Exempt);
    }
    if let Some(opt_in) = &target.require_label {
        if !opt_in.is_carried_by(&instance.labels) {
            return Err(Ineligible::NotOptedIn);
        }
    }
    if let (Some(min_age), Some(started)) = (policy.min_age, instance.started_at) {
        if now.saturating_sub(started) < min_age.as_micros() as i64 {
            return Err(Ineligible::TooYoung);
        }
    }
    if in_recovery(&instance.id) {
        return Err(Ineligible::InRecovery);
    }
    if !instance.healthy {
        return Err(Ineligible::Unhealthy);
    }
    Ok(())
}

/// Everything one decision about one target looks at.
pub struct Situation<'a> {
    /// The target.
    pub target: &'a Target,
    /// The scenario's policy.
    pub policy: &'a Policy,
    /// The target's instances now, each with its health as the caller knows it.
    pub instances: Vec<Instance>,
    /// Healthy instances of the target, as the `min_healthy` guard counts them.
    pub healthy: u32,
    /// Desired healthy capacity of the target.
    pub desired: u32,
    /// Recoveries in progress, across all targets.
    pub in_flight: u32,
    /// Kills left before `max_kills`, when it is set.
    pub kills_left: Option<u32>,
    /// `max_kills`, for the refusal text.
    pub max_kills: Option<u32>,
    /// The moment `min_age` is measured at.
    pub now: Micros,
    /// Whether a recovery already involves an instance id.
    pub in_recovery: &'a dyn Fn(&str) -> bool,
}

/// What the guards allow in a situation, before anything random is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Every instance in slot order, with why it may not be picked, if it may not.
    pub instances: Vec<(Instance, Result<(), Ineligible>)>,
    /// How many victims the policy asks for.
    pub wanted: u32,
    /// How many the guards allow.
    pub allowed: u32,
    /// The `min_healthy` floor against the desired capacity (0 without `min_healthy`).
    pub floor: u32,
    /// Why fewer than `wanted` are allowed, each guard in its own words.
    pub reasons: Vec<String>,
    /// How many of the wanted kills each guard took away, in the order they were checked.
    pub refused_by: Vec<(Guard, u32)>,
}

/// A guard that can hold a kill back; its name is a stable label for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Guard {
    /// `policy.max_in_flight`: too many recoveries in progress.
    MaxInFlight,
    /// `policy.min_healthy`: the kill would take the target below its floor.
    MinHealthy,
    /// Too few instances passed the selector, opt-in, exempt, `min_age` and health rules.
    Ineligible,
    /// `schedule.max_kills` was reached.
    MaxKills,
    /// No fresh facts: the platform's events are lost or its instances could not be listed.
    NoFacts,
}

impl Guard {
    /// The guard's label, as metrics and the journal name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Guard::MaxInFlight => "max_in_flight",
            Guard::MinHealthy => "min_healthy",
            Guard::Ineligible => "ineligible",
            Guard::MaxKills => "max_kills",
            Guard::NoFacts => "no_facts",
        }
    }
}

impl Assessment {
    /// The eligible instances, in slot order.
    pub fn eligible(&self) -> impl Iterator<Item = &Instance> {
        self.instances
            .iter()
            .filter(|(_, verdict)| verdict.is_ok())
            .map(|(i, _)| i)
    }

    /// How many instances are eligible.
    pub fn eligible_count(&self) -> u32 {
        self.eligible().count() as u32
    }
}

/// What the guards allow in `s`; nothing random is drawn.
pub fn assess(s: &Situation<'_>) -> Assessment {
    let mut instances = s.instances.clone();
    instances.sort_by(|a, b| (&a.slot, &a.id).cmp(&(&b.slot, &b.id)));
    let floor = s
        .policy
        .min_healthy
        .map_or(0, |m| m.resolve_ceil(s.desired));
    let instances: Vec<(Instance, Result<(), Ineligible>)> = instances
        .into_iter()
        .map(|i| {
            let verdict = eligibility(&i, s.target, s.policy, s.now, s.in_recovery)
                .and_then(|()| within_floor(&i, s, floor));
            (i, verdict)
        })
        .collect();
    let eligible = instances.iter().filter(|(_, v)| v.is_ok()).count() as u32;
    let wanted = s.policy.pick.resolve_floor_min1(s.desired);
    let mut allowed = wanted;
    let mut reasons = Vec::new();
    let mut refused_by = Vec::new();

    let room = s.policy.max_in_flight.saturating_sub(s.in_flight);
    if room < allowed {
        refused_by.push((Guard::MaxInFlight, allowed - room));
        allowed = room;
        reasons.push(format!(
            "max_in_flight {}: {} recover{} in flight",
            s.policy.max_in_flight,
            s.in_flight,
            if s.in_flight == 1 { "y" } else { "ies" }
        ));
    }
    if let Some(min) = s.policy.min_healthy {
        let spare = s.healthy.saturating_sub(floor);
        if spare < allowed {
            refused_by.push((Guard::MinHealthy, allowed - spare));
            allowed = spare;
            reasons.push(format!(
                "min_healthy {min}: {} healthy, floor {floor} of {} desired",
                s.healthy, s.desired
            ));
        }
    }
    if eligible < allowed {
        // Nodes held back because their tasks would break the floor are min_healthy's
        // refusals, named with what each node holds; the rest are plain ineligibility.
        let short = allowed - eligible;
        let over: Vec<&Instance> = instances
            .iter()
            .filter(|(_, v)| *v == Err(Ineligible::BelowFloor))
            .map(|(i, _)| i)
            .collect();
        let by_floor = short.min(over.len() as u32);
        if let (Some(min), true) = (s.policy.min_healthy, by_floor > 0) {
            refused_by.push((Guard::MinHealthy, by_floor));
            let held: Vec<String> = over
                .iter()
                .map(|i| format!("{} holds {}", i.name, i.holds.unwrap_or(0)))
                .collect();
            reasons.push(format!(
                "min_healthy {min}: {} healthy, floor {floor} of {} desired; taking a node \
                 down would go below it ({})",
                s.healthy,
                s.desired,
                held.join(", ")
            ));
        }
        if short > by_floor {
            refused_by.push((Guard::Ineligible, short - by_floor));
            let why: Vec<Ineligible> = instances
                .iter()
                .filter_map(|(_, v)| v.err())
                .filter(|w| *w != Ineligible::BelowFloor)
                .collect();
            reasons.push(describe_ineligible(eligible, &why));
        }
        allowed = eligible;
    }
    Assessment {
        instances,
        wanted,
        allowed,
        floor,
        reasons,
        refused_by,
    }
}

/// Whether taking `instance` down keeps its target at or above `floor`: only a node counts
/// here, by the healthy tasks it holds; any other instance is one of the `healthy`, which the
/// guard above already weighs.
fn within_floor(instance: &Instance, s: &Situation<'_>, floor: u32) -> Result<(), Ineligible> {
    match (instance.holds, s.policy.min_healthy) {
        (Some(holds), Some(_)) if s.healthy.saturating_sub(holds) < floor => {
            Err(Ineligible::BelowFloor)
        }
        _ => Ok(()),
    }
}

/// A decision: who is killed, and why not more.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// What the guards allowed.
    pub assessment: Assessment,
    /// The victims, in the order drawn.
    pub victims: Vec<Instance>,
    /// Why no victim, or fewer than wanted, were chosen.
    pub refused: Option<String>,
    /// How many wanted kills each guard held back; with `max_kills`, what it trimmed too.
    pub refused_by: Vec<(Guard, u32)>,
}

/// Decides a situation: assesses it, then draws the allowed number of victims uniformly
/// without replacement from the eligible instances in slot order. A draw is made only when
/// something is allowed, so a refusal never moves the selection stream.
pub fn decide(s: &Situation<'_>, rng: &mut SeededRng) -> Decided {
    let assessment = assess(s);
    let eligible: Vec<&Instance> = assessment.eligible().collect();
    let mut victims: Vec<Instance> = if assessment.allowed > 0 {
        rng.choose(eligible.len(), assessment.allowed as usize)
            .into_iter()
            .map(|i| eligible[i].clone())
            .collect()
    } else {
        Vec::new()
    };
    let mut refused_by = assessment.refused_by.clone();
    let mut refused = (assessment.allowed < assessment.wanted).then(|| {
        let verdict = if assessment.allowed == 0 {
            "refused".to_string()
        } else {
            format!("trimmed to {} of {}", assessment.allowed, assessment.wanted)
        };
        format!("{verdict}: {}", assessment.reasons.join("; "))
    });
    // max_kills trims what was drawn, so the selection stream advances as it would without
    // it and a seeded plan stays comparable across different max_kills.
    if let (Some(left), Some(max)) = (s.kills_left, s.max_kills) {
        if victims.len() > left as usize {
            refused_by.push((Guard::MaxKills, victims.len() as u32 - left));
            victims.truncate(left as usize);
            refused.get_or_insert_with(|| format!("trimmed to {left}: max_kills {max} reached"));
        }
    }
    Decided {
        assessment,
        victims,
        refused,
        refused_by,
    }
}

fn describe_ineligible(eligible: u32, ineligible: &[Ineligible]) -> String {
    let mut counts: Vec<(Ineligible, usize)> = Vec::new();
    for why in ineligible {
        match counts.iter_mut().find(|(w, _)| w == why) {
            Some((_, n)) => *n += 1,
            None => counts.push((*why, 1)),
        }
    }
    let detail: Vec<String> = counts
        .iter()
        .map(|(w, n)| format!("{n} {}", w.as_str()))
        .collect();
    if detail.is_empty() {
        format!("{eligible} eligible instance(s); none match the selector")
    } else {
        format!("{eligible} eligible instance(s) ({})", detail.join(", "))
    }
}

#[cfg(test)]
mod tests;
