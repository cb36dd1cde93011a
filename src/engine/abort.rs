//! Stop conditions measured during a run: the run's state at one moment ([`Observed`]) and
//! every probe result so far ([`ProbeTally`]), against the conditions the scenario compiled.
//! When one holds, the run stops scheduling kills and ends as aborted (exit 4).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::journal::ProbeEntry;
use crate::vocabulary::slo::{format_value, Stat, Unit};
use crate::vocabulary::stop::{AbortMetric, StopCondition};
use crate::vocabulary::time::Micros;

/// The measured value of `condition` in its unit, or `None` when there is nothing to measure
/// yet (no probe request in the window): a condition without data never fires.
pub fn measure(condition: &StopCondition, now: &Observed<'_>) -> Option<f64> {
    match &condition.metric {
        AbortMetric::CapacityCurrent if condition.unit == Unit::Percent => {
            (now.desired > 0).then(|| 100.0 * f64::from(now.healthy) / f64::from(now.desired))
        }
        AbortMetric::CapacityCurrent => Some(f64::from(now.healthy)),
        AbortMetric::Unrecovered => Some(f64::from(now.unrecovered)),
        AbortMetric::InFlight => Some(f64::from(now.in_flight)),
        AbortMetric::ProbeAvailability { probe, window } => {
            let (total, failed, _) = now.probes.recent(probe, *window, now.at)?;
            (total > 0).then(|| 100.0 * (total - failed) as f64 / total as f64)
        }
        AbortMetric::ProbeErrors { probe, window } => {
            let (_, failed, _) = now.probes.recent(probe, *window, now.at)?;
            Some(failed as f64)
        }
        AbortMetric::ProbeLatency {
            probe,
            stat,
            window,
        } => {
            let (_, _, mut latencies) = now.probes.recent(probe, *window, now.at)?;
            latency_stat(&mut latencies, *stat)
        }
    }
}

/// Whether `condition` holds now, and what it measured, for the report.
pub fn check(condition: &StopCondition, now: &Observed<'_>) -> Option<String> {
    let measured = measure(condition, now)?;
    condition
        .holds(measured)
        .then(|| format_value(measured, condition.unit))
}

fn latency_stat(samples: &mut [u64], stat: Stat) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let v = match stat {
        Stat::Max => samples[samples.len() - 1] as f64,
        Stat::Min => samples[0] as f64,
        Stat::Mean => samples.iter().sum::<u64>() as f64 / samples.len() as f64,
        other => {
            let q = other.quantile().unwrap_or(1.0);
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1] as f64
        }
    };
    Some(v)
}

/// Every probe result so far, kept for windowed stop conditions.
#[derive(Debug, Default)]
pub struct ProbeTally {
    results: BTreeMap<String, Vec<(Micros, bool, u64)>>,
}

impl ProbeTally {
    /// Adds one result.
    pub fn add(&mut self, entry: &ProbeEntry) {
        self.results.entry(entry.probe.clone()).or_default().push((
            entry.observed_at(),
            entry.ok,
            entry.latency_us,
        ));
    }

    /// Requests, failures and successful latencies of `probe` over the last `window` before
    /// `now` (the whole run when `None`); `None` for a probe with no result yet.
    fn recent(
        &self,
        probe: &str,
        window: Option<Duration>,
        now: Micros,
    ) -> Option<(u64, u64, Vec<u64>)> {
        let all = self.results.get(probe)?;
        let since = window.map_or(Micros::MIN, |w| {
            now.saturating_sub(i64::try_from(w.as_micros()).unwrap_or(i64::MAX))
        });
        let (mut total, mut failed, mut latencies) = (0, 0, Vec::new());
        for &(_, ok, latency) in all.iter().rev().take_while(|(at, ..)| *at >= since) {
            total += 1;
            if ok {
                latencies.push(latency);
            } else {
                failed += 1;
            }
        }
        Some((total, failed, latencies))
    }
}

/// The run's state that stop conditions look at, at one moment.
#[derive(Debug)]
pub struct Observed<'a> {
    /// Now, on the run's clock.
    pub at: Micros,
    /// Healthy instances over all targets.
    pub healthy: u32,
    /// Desired instances over all targets.
    pub desired: u32,
    /// Unrecovered kills so far.
    pub unrecovered: u32,
    /// Recoveries in progress.
    pub in_flight: u32,
    /// Probe results so far.
    pub probes: &'a ProbeTally,
}

/// The first condition that holds, with what it measured.
pub fn first_tripped<'c>(
    conditions: &'c [StopCondition],
    now: &Observed<'_>,
) -> Option<(&'c StopCondition, String)> {
    conditions
        .iter()
        .find_map(|c| check(c, now).map(|measured| (c, measured)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(healthy: u32, probes: &ProbeTally) -> Observed<'_> {
        Observed {
            at: 100_000_000,
            healthy,
            desired: 4,
            unrecovered: 0,
            in_flight: 0,
            probes,
        }
    }

    fn result(at: Micros, ok: bool) -> ProbeEntry {
        ProbeEntry {
            probe: "edge".into(),
            at,
            latency_us: 1000,
            ok,
            status: None,
            error: None,
        }
    }

    #[test]
    fn capacity_below_half_fires_only_below_half() {
        let c = StopCondition::parse("capacity.current < 50%").unwrap();
        let none = ProbeTally::default();
        assert_eq!(check(&c, &observed(2, &none)), None);
        assert_eq!(check(&c, &observed(1, &none)).as_deref(), Some("25%"));
        let count = StopCondition::parse("capacity.current <= 1").unwrap();
        assert!(check(&count, &observed(1, &none)).is_some());
        assert!(check(&count, &observed(2, &none)).is_none());
    }

    #[test]
    fn a_windowed_availability_forgets_old_failures() {
        let c = StopCondition::parse("probe.edge.availability[30s] < 90%").unwrap();
        let mut tally = ProbeTally::default();
        // Ten failures 60 s ago, then ten successes in the last 30 s.
        for i in 0..10 {
            tally.add(&result(40_000_000 + i, false));
            tally.add(&result(90_000_000 + i, true));
        }
        assert_eq!(check(&c, &observed(4, &tally)), None);
        let whole_run = StopCondition::parse("probe.edge.availability < 90%").unwrap();
        assert_eq!(
            check(&whole_run, &observed(4, &tally)).as_deref(),
            Some("50%")
        );
        // No data in the window never fires.
        let other = StopCondition::parse("probe.other.availability < 90%").unwrap();
        assert_eq!(check(&other, &observed(4, &tally)), None);
    }
}
