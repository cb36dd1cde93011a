//! Where a kill is decided: *when* (a fixed interval with jitter, or an exponential draw around
//! a mean), *whom* (a uniform pick without replacement among eligible instances), and whether
//! the guards allow it (`max_in_flight`, `min_healthy`, `min_age`, opt-in and exempt labels).
//! Everything random comes from the seeded generator, so one seed replays the same decisions
//! against the same fleet.

use std::time::Duration;

use crate::platform::Instance;
use crate::scenario::{Policy, Schedule, Target, EXEMPT_LABEL};
use crate::vocabulary::rng::{SeededRng, Stream};
use crate::vocabulary::time::Micros;

/// Decides when the next decision happens.
#[derive(Debug)]
pub struct Clock {
    rng: SeededRng,
    every: Option<Duration>,
    mean: Option<Duration>,
    jitter: Duration,
    min_gap: Duration,
    duration: Option<Duration>,
    next: Duration,
}

impl Clock {
    /// The decision clock for a schedule. `duration` overrides `schedule.duration`.
    pub fn new(schedule: &Schedule, duration: Option<Duration>, seed: u64) -> Clock {
        let every = schedule.every.map(|d| d.get());
        let mean = schedule.mean_time_between_kills.map(|d| d.get());
        let mut clock = Clock {
            rng: SeededRng::new(seed, Stream::Timing),
            every,
            mean,
            jitter: schedule.jitter.map(|d| d.get()).unwrap_or_default(),
            min_gap: schedule.min_gap.map(|d| d.get()).unwrap_or_default(),
            duration: duration.or(schedule.duration.map(|d| d.get())),
            next: Duration::ZERO,
        };
        clock.next = match schedule.start_after {
            Some(d) => d.get(),
            None => clock.interval(),
        };
        clock
    }

    /// The gap to the next decision, never shorter than `min_gap`. The draw is made either way,
    /// so `min_gap` lengthens short gaps without shifting any later draw.
    fn interval(&mut self) -> Duration {
        self.draw().max(self.min_gap)
    }

    fn draw(&mut self) -> Duration {
        if let Some(mean) = self.mean {
            let us = self.rng.exponential(mean.as_micros() as f64);
            return Duration::from_micros(us.round() as u64);
        }
        let base = self.every.unwrap_or(Duration::from_secs(30)).as_micros() as i64;
        let j = self.jitter.as_micros() as i64;
        let offset = if j > 0 {
            self.rng.between(0, 2 * j as u64) as i64 - j
        } else {
            0
        };
        Duration::from_micros((base + offset).max(0) as u64)
    }

    /// The planned offset of the next decision from the run start, advancing the clock, or
    /// `None` once it would fall after the run's duration.
    pub fn next_decision(&mut self) -> Option<Duration> {
        let at = self.next;
        if self.duration.is_some_and(|d| at > d) {
            return None;
        }
        let step = self.interval();
        self.next = at + step;
        Some(at)
    }

    /// The run's duration, if it has one.
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }
}

/// Why an instance may not be picked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    fn as_str(self) -> &'static str {
        match self {
            Ineligible::Exempt => "exempt",
            Ineligible::NotOptedIn => "not opted in",
            Ineligible::TooYoung => "younger than min_age",
            Ineligible::Unhealthy => "unhealthy",
            Ineligible::InRecovery => "already being recovered",
        }
    }
}

/// Whether `instance` may be picked now, and if not, why.
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
    if let Some(req) = &target.require_label {
        let (k, v) = req.split_once('=').unwrap_or((req.as_str(), ""));
        if instance.labels.get(k).map(String::as_str) != Some(v) {
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

/// The state the guards look at, taken just before a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardState {
    /// Healthy instances of the target.
    pub healthy: u32,
    /// Desired healthy capacity of the target.
    pub desired: u32,
    /// Recoveries in progress, across all targets.
    pub in_flight: u32,
}

/// What a decision came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// How many victims the policy asked for.
    pub wanted: u32,
    /// Indexes into the eligible list, in the order drawn.
    pub victims: Vec<usize>,
    /// Why fewer than `wanted` were chosen.
    pub refused: Option<String>,
}

/// Picks victims among `eligible` instances (ordered by slot) under the policy's guards.
/// `ineligible` lists why the others were left out, for the refusal reason.
pub fn decide(
    policy: &Policy,
    eligible: usize,
    ineligible: &[Ineligible],
    guards: GuardState,
    rng: &mut SeededRng,
) -> Choice {
    let wanted = policy.pick.resolve_floor_min1(guards.desired);
    let mut allowed = wanted;
    let mut reasons = Vec::new();

    let room = policy.max_in_flight.saturating_sub(guards.in_flight);
    if room < allowed {
        allowed = room;
        reasons.push(format!(
            "max_in_flight {}: {} recover{} in flight",
            policy.max_in_flight,
            guards.in_flight,
            if guards.in_flight == 1 { "y" } else { "ies" }
        ));
    }
    if let Some(min) = policy.min_healthy {
        let floor = min.resolve_ceil(guards.desired);
        let spare = guards.healthy.saturating_sub(floor);
        if spare < allowed {
            allowed = spare;
            reasons.push(format!(
                "min_healthy {min}: {} healthy, floor {floor} of {} desired",
                guards.healthy, guards.desired
            ));
        }
    }
    if (eligible as u32) < allowed {
        allowed = eligible as u32;
        reasons.push(describe_ineligible(eligible, ineligible));
    }

    let victims = if allowed > 0 {
        rng.choose(eligible, allowed as usize)
    } else {
        Vec::new()
    };
    let refused = (allowed < wanted).then(|| {
        let verdict = if allowed == 0 {
            "refused".to_string()
        } else {
            format!("trimmed to {allowed} of {wanted}")
        };
        format!("{verdict}: {}", reasons.join("; "))
    });
    Choice {
        wanted,
        victims,
        refused,
    }
}

fn describe_ineligible(eligible: usize, ineligible: &[Ineligible]) -> String {
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
    use crate::vocabulary::units::{CountOrPercent, HumanDuration, Percent};
    use std::collections::BTreeMap;

    fn policy(pick: u32, max_in_flight: u32, min_healthy: Option<CountOrPercent>) -> Policy {
        Policy {
            pick: CountOrPercent::Count(pick),
            max_in_flight,
            min_healthy,
            min_age: None,
        }
    }

    fn guards(healthy: u32, desired: u32, in_flight: u32) -> GuardState {
        GuardState {
            healthy,
            desired,
            in_flight,
        }
    }

    #[test]
    fn min_healthy_refuses_a_kill_that_would_breach_the_floor() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        let p = policy(1, 1, Some(CountOrPercent::Percent(Percent(100.0))));
        let c = decide(&p, 2, &[], guards(2, 2, 0), &mut rng);
        assert!(c.victims.is_empty());
        let reason = c.refused.unwrap();
        assert!(reason.starts_with("refused: min_healthy 100%"), "{reason}");
    }

    #[test]
    fn max_in_flight_refuses_while_a_recovery_runs() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        let c = decide(&policy(1, 1, None), 3, &[], guards(2, 3, 1), &mut rng);
        assert!(c.victims.is_empty());
        assert!(c
            .refused
            .unwrap()
            .contains("max_in_flight 1: 1 recovery in flight"));
    }

    #[test]
    fn guards_trim_a_larger_pick() {
        let mut rng = SeededRng::new(1, Stream::Selection);
        let p = policy(3, 3, Some(CountOrPercent::Count(3)));
        let c = decide(&p, 5, &[], guards(5, 5, 0), &mut rng);
        assert_eq!(c.victims.len(), 2);
        assert!(c.refused.unwrap().starts_with("trimmed to 2 of 3"));
    }

    #[test]
    fn the_same_seed_picks_the_same_victims() {
        let p = policy(2, 2, None);
        let run = |seed| {
            let mut rng = SeededRng::new(seed, Stream::Selection);
            (0..10)
                .map(|_| decide(&p, 6, &[], guards(6, 6, 0), &mut rng).victims)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }

    #[test]
    fn fixed_interval_stays_within_jitter_and_ends_at_duration() {
        let schedule = Schedule {
            duration: Some(HumanDuration(Duration::from_secs(60))),
            every: Some(HumanDuration(Duration::from_secs(10))),
            jitter: Some(HumanDuration(Duration::from_secs(2))),
            ..Schedule::default()
        };
        let mut clock = Clock::new(&schedule, None, 5);
        let mut offsets = Vec::new();
        while let Some(at) = clock.next_decision() {
            offsets.push(at);
        }
        assert!(offsets.len() >= 4 && offsets.len() <= 7, "{offsets:?}");
        for pair in offsets.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_secs(8) && gap <= Duration::from_secs(12));
        }
        assert!(offsets.iter().all(|o| *o <= Duration::from_secs(60)));
    }

    #[test]
    fn min_gap_lengthens_short_random_gaps_without_shifting_later_draws() {
        let mean = Duration::from_secs(10);
        let min_gap = Duration::from_secs(5);
        let schedule = |min_gap| Schedule {
            max_kills: Some(1),
            mean_time_between_kills: Some(HumanDuration(mean)),
            start_after: Some(HumanDuration(Duration::ZERO)),
            min_gap,
            ..Schedule::default()
        };
        let gaps = |min_gap| {
            let mut clock = Clock::new(&schedule(min_gap), None, 8);
            let offsets: Vec<Duration> = (0..10_001).map_while(|_| clock.next_decision()).collect();
            offsets.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        };
        let free = gaps(None);
        let floored = gaps(Some(HumanDuration(min_gap)));
        assert_eq!(free.len(), 10_000);
        // The same draws, each lifted to the floor: the gap is max(draw, min_gap).
        for (f, g) in free.iter().zip(&floored) {
            assert_eq!(*g, (*f).max(min_gap));
        }
        // E[max(X, m)] = m + μ·e^(−m/μ) for X exponential with mean μ; Var(max(X, m)) ≤ μ², so
        // the mean of 10,000 gaps has a standard error of at most μ/100; 5 of them is 0.05 μ.
        let (mu, m) = (mean.as_secs_f64(), min_gap.as_secs_f64());
        let expected = m + mu * (-m / mu).exp();
        let measured = floored.iter().map(Duration::as_secs_f64).sum::<f64>() / 10_000.0;
        assert!(
            (measured - expected).abs() < 0.05 * mu,
            "{measured} vs {expected}"
        );
    }

    #[test]
    fn exempt_wins_over_opt_in() {
        let target: Target = serde_json::from_value(serde_json::json!({
            "name": "web",
            "select": {"labels": {"app": "web"}},
            "require_label": "firedrill.enabled=true"
        }))
        .unwrap();
        let mut labels = BTreeMap::new();
        labels.insert("firedrill.enabled".to_string(), "true".to_string());
        let mut inst = Instance {
            id: "a".into(),
            target: "web".into(),
            slot: "a".into(),
            name: "a".into(),
            started_at: Some(0),
            healthy: true,
            labels,
        };
        let none = |_: &str| false;
        assert_eq!(
            eligibility(&inst, &target, &Policy::default(), 0, &none),
            Ok(())
        );
        inst.labels
            .insert(EXEMPT_LABEL.to_string(), "true".to_string());
        assert_eq!(
            eligibility(&inst, &target, &Policy::default(), 0, &none),
            Err(Ineligible::Exempt)
        );
        inst.labels.clear();
        assert_eq!(
            eligibility(&inst, &target, &Policy::default(), 0, &none),
            Err(Ineligible::NotOptedIn)
        );
    }
}
