//! The pool's healthy count over the run, summed over targets, as a step function.

use std::collections::BTreeMap;

use crate::journal::{Entry, RunStarted};
use crate::report::{CapacityPoint, CapacityReport};
use crate::vocabulary::time::Micros;

/// The `capacity` lines, kept as the journal is read: where each step falls on the timeline
/// depends on when the run ended, known only at the end. A few lines per kill.
#[derive(Debug, Default)]
pub(super) struct Capacity {
    /// Each line's time, target and healthy count, in journal order.
    lines: Vec<(Micros, String, u32)>,
}

impl Capacity {
    pub(super) fn push(&mut self, entry: &Entry) {
        if let Entry::Capacity {
            at,
            target,
            healthy,
            ..
        } = entry
        {
            self.lines.push((*at, target.clone(), *healthy));
        }
    }

    /// Folds the lines into the timeline, its minimum and the time spent degraded.
    ///
    /// A target counts at its desired capacity until its first `capacity` line: the engine
    /// writes one line per target at start, and summing only the targets seen so far would show
    /// a dip that never happened between the first target's line and the last's.
    pub(super) fn finish(&self, start: &RunStarted, ended_at: Micros) -> CapacityReport {
        let desired = start
            .desired
            .values()
            .fold(0u32, |a, d| a.saturating_add(*d));
        let mut latest: BTreeMap<&str, u32> = start
            .desired
            .iter()
            .map(|(target, d)| (target.as_str(), *d))
            .collect();
        let end = ended_at.max(start.at);

        let mut timeline: Vec<CapacityPoint> = Vec::new();
        let mut min: Option<u32> = None;
        let mut degraded_us: i64 = 0;
        // The step in force: since when, and whether it is below desired.
        let mut since = start.at;
        let mut below = false;
        for (at, target, healthy) in &self.lines {
            latest.insert(target.as_str(), *healthy);
            let sum = latest.values().fold(0u32, |a, h| a.saturating_add(*h));
            min = Some(min.map_or(sum, |m| m.min(sum)));

            let t = (*at).clamp(start.at, end);
            if below && t > since {
                degraded_us += t - since;
            }
            since = since.max(t);
            below = sum < desired;

            // A line that leaves the sum unchanged (another target's start line, a repeat) is not
            // a step.
            if !matches!(timeline.last(), Some(p) if p.healthy == sum) {
                timeline.push(CapacityPoint {
                    offset_ms: u64::try_from((t - start.at) / 1_000).unwrap_or(0),
                    healthy: sum,
                });
            }
        }
        if below && end > since {
            degraded_us += end - since;
        }

        // With no capacity line at all nothing was seen below desired.
        let min = min.unwrap_or(desired);
        let min_percent = if desired == 0 {
            100.0
        } else {
            f64::from(min) / f64::from(desired) * 100.0
        };
        CapacityReport {
            desired,
            min,
            min_percent,
            degraded_seconds: degraded_us as f64 / 1e6,
            min_healthy_floor: (!start.min_healthy_floor.is_empty()).then(|| {
                start
                    .min_healthy_floor
                    .values()
                    .fold(0u32, |a, f| a.saturating_add(*f))
            }),
            timeline,
        }
    }
}
