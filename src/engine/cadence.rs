//! When decisions happen: a fixed interval with jitter, or an exponential draw around a mean
//! (a Poisson process), never closer than `min_gap`, until the run's duration. Every draw comes
//! from the seeded timing stream, so one seed replays the same offsets.

use std::time::Duration;

use crate::scenario::{Pace, Schedule};
use crate::vocabulary::rng::{SeededRng, Stream};

/// The planned offsets of a run's decisions from its start (open time only, with windows).
#[derive(Debug)]
pub struct Cadence {
    rng: SeededRng,
    pace: Pace,
    min_gap: Duration,
    duration: Option<Duration>,
    next: Duration,
}

impl Cadence {
    /// The cadence of a schedule. `duration` overrides `schedule.duration`.
    pub fn new(schedule: &Schedule, duration: Option<Duration>, seed: u64) -> Cadence {
        let mut cadence = Cadence {
            rng: SeededRng::new(seed, Stream::Timing),
            pace: schedule.pace,
            min_gap: schedule.min_gap,
            duration: duration.or(schedule.duration),
            next: Duration::ZERO,
        };
        cadence.next = match schedule.start_after {
            Some(d) => d,
            None => cadence.interval(),
        };
        cadence
    }

    /// The gap to the next decision, never shorter than `min_gap`. The draw is made either way,
    /// so `min_gap` lengthens short gaps without shifting any later draw.
    fn interval(&mut self) -> Duration {
        self.draw().max(self.min_gap)
    }

    fn draw(&mut self) -> Duration {
        match self.pace {
            Pace::Mean(mean) => {
                let us = self.rng.exponential(mean.as_micros() as f64);
                Duration::from_micros(us.round() as u64)
            }
            Pace::Every { every, jitter } => {
                let base = every.as_micros() as i64;
                let j = jitter.as_micros() as i64;
                let offset = if j > 0 {
                    self.rng.between(0, 2 * j as u64) as i64 - j
                } else {
                    0
                };
                Duration::from_micros((base + offset).max(0) as u64)
            }
        }
    }

    /// The planned offset of the next decision from the run start, advancing the cadence, or
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(pace: Pace) -> Schedule {
        Schedule {
            duration: None,
            max_kills: None,
            pace,
            start_after: None,
            min_gap: Duration::ZERO,
            windows: None,
        }
    }

    #[test]
    fn fixed_interval_stays_within_jitter_and_ends_at_duration() {
        let schedule = Schedule {
            duration: Some(Duration::from_secs(60)),
            ..schedule(Pace::Every {
                every: Duration::from_secs(10),
                jitter: Duration::from_secs(2),
            })
        };
        let mut clock = Cadence::new(&schedule, None, 5);
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
        let with_gap = |min_gap| Schedule {
            max_kills: Some(1),
            start_after: Some(Duration::ZERO),
            min_gap,
            ..schedule(Pace::Mean(mean))
        };
        let gaps = |min_gap| {
            let mut clock = Cadence::new(&with_gap(min_gap), None, 8);
            let offsets: Vec<Duration> = (0..10_001).map_while(|_| clock.next_decision()).collect();
            offsets.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        };
        let free = gaps(Duration::ZERO);
        let floored = gaps(min_gap);
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
}
