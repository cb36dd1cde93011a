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
    let instances: Vec<(Instance, Result<(), Ineligible>)> = instances
        .into_iter()
        .map(|i| {
            let verdict = eligibility(&i, s.target, s.policy, s.now, s.in_recovery);
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
    let floor = s
        .policy
        .min_healthy
        .map_or(0, |m| m.resolve_ceil(s.desired));
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
        refused_by.push((Guard::Ineligible, allowed - eligible));
        allowed = eligible;
        let why: Vec<Ineligible> = instances.iter().filter_map(|(_, v)| v.err()).collect();
        reasons.push(describe_ineligible(eligible, &why));
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
mod tests {
    use super::*;
    use crate::scenario::{OptIn, Selector};
    use crate::vocabulary::rng::Stream;
    use crate::vocabulary::units::{CountOrPercent, Percent};
    use std::collections::BTreeMap;

    fn policy(pick: u32, max_in_flight: u32, min_healthy: Option<CountOrPercent>) -> Policy {
        Policy {
            pick: CountOrPercent::Count(pick),
            max_in_flight,
            min_healthy,
            min_age: None,
        }
    }

    fn target(require: Option<&str>) -> Target {
        Target {
            name: "web".into(),
            select: Selector::default(),
            require_label: require.and_then(OptIn::parse),
            capacity: None,
            health: Default::default(),
        }
    }

    fn fleet(n: usize) -> Vec<Instance> {
        (0..n)
            .map(|i| Instance {
                id: format!("id{i}"),
                target: "web".into(),
                slot: format!("web/{i}"),
                name: format!("web-{i}"),
                started_at: Some(0),
                healthy: true,
                labels: BTreeMap::new(),
            })
            .collect()
    }

    const NEVER: &dyn Fn(&str) -> bool = &|_| false;

    fn situation<'a>(
        target: &'a Target,
        policy: &'a Policy,
        instances: Vec<Instance>,
        (healthy, desired, in_flight): (u32, u32, u32),
    ) -> Situation<'a> {
        Situation {
            target,
            policy,
            instances,
            healthy,
            desired,
            in_flight,
            kills_left: None,
            max_kills: None,
            now: 0,
            in_recovery: NEVER,
        }
    }

    #[test]
    fn min_healthy_refuses_a_kill_that_would_breach_the_floor() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        let (t, p) = (
            target(None),
            policy(1, 1, Some(CountOrPercent::Percent(Percent(100.0)))),
        );
        let d = decide(&situation(&t, &p, fleet(2), (2, 2, 0)), &mut rng);
        assert!(d.victims.is_empty());
        let reason = d.refused.unwrap();
        assert!(reason.starts_with("refused: min_healthy 100%"), "{reason}");
    }

    #[test]
    fn max_in_flight_refuses_while_a_recovery_runs() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        let (t, p) = (target(None), policy(1, 1, None));
        let d = decide(&situation(&t, &p, fleet(3), (2, 3, 1)), &mut rng);
        assert!(d.victims.is_empty());
        assert!(d
            .refused
            .unwrap()
            .contains("max_in_flight 1: 1 recovery in flight"));
    }

    #[test]
    fn guards_trim_a_larger_pick() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        let (t, p) = (target(None), policy(3, 3, Some(CountOrPercent::Count(3))));
        let d = decide(&situation(&t, &p, fleet(5), (5, 5, 0)), &mut rng);
        assert_eq!(d.victims.len(), 2);
        assert_eq!(d.refused_by, vec![(Guard::MinHealthy, 1)]);
        assert!(d.refused.unwrap().starts_with("trimmed to 2 of 3"));
    }

    /// Metrics count the kills each guard held back; together with the victims they make up
    /// what the policy wanted.
    #[test]
    fn each_guard_is_charged_with_the_kills_it_held_back() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        // pick 4 of 6; one recovery in flight of at most 3 leaves room for 2; min_healthy 5
        // of 6 healthy leaves 1.
        let (t, p) = (target(None), policy(4, 3, Some(CountOrPercent::Count(5))));
        let d = decide(&situation(&t, &p, fleet(6), (6, 6, 1)), &mut rng);
        assert_eq!(d.victims.len(), 1);
        assert_eq!(
            d.refused_by,
            vec![(Guard::MaxInFlight, 2), (Guard::MinHealthy, 1)]
        );
        let held: u32 = d.refused_by.iter().map(|(_, n)| n).sum();
        assert_eq!(held + d.victims.len() as u32, d.assessment.wanted);
    }

    #[test]
    fn max_kills_trims_what_was_drawn_and_says_so() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        let (t, p) = (target(None), policy(2, 2, None));
        let mut s = situation(&t, &p, fleet(4), (4, 4, 0));
        s.kills_left = Some(1);
        s.max_kills = Some(5);
        let d = decide(&s, &mut rng);
        assert_eq!(d.victims.len(), 1);
        assert_eq!(d.refused_by, vec![(Guard::MaxKills, 1)]);
        assert_eq!(
            d.refused.as_deref(),
            Some("trimmed to 1: max_kills 5 reached")
        );
    }

    #[test]
    fn the_same_seed_picks_the_same_victims() {
        let (t, p) = (target(None), policy(2, 2, None));
        let run = |seed| {
            let mut rng = SeededRng::new(seed, Stream::Selection);
            (0..10)
                .map(|_| {
                    let d = decide(&situation(&t, &p, fleet(6), (6, 6, 0)), &mut rng);
                    d.victims.into_iter().map(|v| v.slot).collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }

    #[test]
    fn victims_are_drawn_in_slot_order_whatever_order_the_platform_listed() {
        let (t, p) = (target(None), policy(1, 1, None));
        let mut shuffled = fleet(5);
        shuffled.reverse();
        let pick = |instances| {
            let mut rng = SeededRng::new(3, Stream::Selection);
            decide(&situation(&t, &p, instances, (5, 5, 0)), &mut rng).victims[0]
                .slot
                .clone()
        };
        assert_eq!(pick(fleet(5)), pick(shuffled));
    }

    #[test]
    fn a_refusal_draws_nothing_so_later_picks_do_not_move() {
        let (t, p) = (target(None), policy(1, 1, None));
        let mut with_refusal = SeededRng::new(4, Stream::Selection);
        let refused = decide(&situation(&t, &p, fleet(5), (5, 5, 1)), &mut with_refusal);
        assert!(refused.victims.is_empty());
        let mut fresh = SeededRng::new(4, Stream::Selection);
        let a = decide(&situation(&t, &p, fleet(5), (5, 5, 0)), &mut with_refusal);
        let b = decide(&situation(&t, &p, fleet(5), (5, 5, 0)), &mut fresh);
        assert_eq!(a.victims, b.victims);
    }

    #[test]
    fn exempt_wins_over_opt_in_and_reasons_are_counted() {
        let t = target(Some("firedrill.enabled=true"));
        let p = Policy::default();
        let mut instances = fleet(3);
        for i in &mut instances {
            i.labels
                .insert("firedrill.enabled".to_string(), "true".to_string());
        }
        instances[0]
            .labels
            .insert(EXEMPT_LABEL.to_string(), "true".to_string());
        instances[1].labels.clear();
        instances[2].healthy = false;
        let a = assess(&situation(&t, &p, instances, (2, 3, 0)));
        let verdicts: Vec<_> = a.instances.iter().map(|(_, v)| *v).collect();
        assert_eq!(
            verdicts,
            [
                Err(Ineligible::Exempt),
                Err(Ineligible::NotOptedIn),
                Err(Ineligible::Unhealthy)
            ]
        );
        assert_eq!(a.allowed, 0);
        assert_eq!(
            a.reasons,
            ["0 eligible instance(s) (1 exempt, 1 not opted in, 1 unhealthy)"]
        );
    }
}
