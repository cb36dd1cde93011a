//! Stop conditions (`abort_when`): `metric op value` lines checked continuously during a run,
//! such as `capacity.current < 50%`, `unrecovered > 0` or `probe.edge.availability[30s] < 90%`.
//! When one holds, the run stops scheduling kills and ends as aborted (exit 4).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::journal::ProbeEntry;
use crate::platform::Micros;
use crate::slo::{format_value, parse_threshold, split_comparison, Op, Stat, Unit};
use crate::units::HumanDuration;

/// What a stop condition watches.
#[derive(Debug, Clone, PartialEq)]
pub enum AbortMetric {
    /// Healthy instances now, over all targets: a count, or a percentage of desired capacity.
    CapacityCurrent,
    /// Kills that missed `recovery.timeout` so far.
    Unrecovered,
    /// Recoveries in progress now.
    InFlight,
    /// Share of a probe's requests that succeeded, over the last `window` (or the whole run).
    ProbeAvailability {
        /// The probe's name.
        probe: String,
        /// How far back to look; the whole run when absent.
        window: Option<Duration>,
    },
    /// A probe's failed requests over the last `window` (or the whole run).
    ProbeErrors {
        /// The probe's name.
        probe: String,
        /// How far back to look.
        window: Option<Duration>,
    },
    /// A statistic of a probe's successful requests' latency over the last `window`.
    ProbeLatency {
        /// The probe's name.
        probe: String,
        /// Which statistic.
        stat: Stat,
        /// How far back to look.
        window: Option<Duration>,
    },
}

/// The metric names a stop condition may use, for error messages.
pub const KNOWN_ABORT_METRICS: &str = "capacity.current, unrecovered, in_flight, \
     probe.NAME.availability[WINDOW], probe.NAME.errors[WINDOW], \
     probe.NAME.latency.{p50,p90,p95,p99,p999,max,min,mean}[WINDOW] (the [WINDOW], such as \
     [30s], is optional)";

/// One parsed stop condition.
#[derive(Debug, Clone, PartialEq)]
pub struct StopCondition {
    /// The line as written.
    pub text: String,
    /// What it watches.
    pub metric: AbortMetric,
    /// How it compares.
    pub op: Op,
    /// The threshold, in `unit`.
    pub threshold: f64,
    /// The threshold's unit.
    pub unit: Unit,
}

fn parse_metric(name: &str) -> Result<AbortMetric, String> {
    let unknown = || format!("unknown metric {name:?}; stop conditions know {KNOWN_ABORT_METRICS}");
    let (base, window) = match name.strip_suffix(']').and_then(|n| n.split_once('[')) {
        Some((base, window)) => {
            let d: HumanDuration = window.trim().parse().map_err(|e| {
                format!("window [{window}] of {name:?} is not a duration such as 30s ({e})")
            })?;
            if d.get().is_zero() {
                return Err(format!(
                    "window [{window}] of {name:?} must be longer than 0"
                ));
            }
            (base.trim(), Some(d.get()))
        }
        None => (name, None),
    };
    let simple = match base {
        "capacity.current" => Some(AbortMetric::CapacityCurrent),
        "unrecovered" => Some(AbortMetric::Unrecovered),
        "in_flight" => Some(AbortMetric::InFlight),
        _ => None,
    };
    if let Some(m) = simple {
        if window.is_some() {
            return Err(format!(
                "{base} is a value at each moment; a [window] applies only to probe metrics"
            ));
        }
        return Ok(m);
    }
    let rest = base.strip_prefix("probe.").ok_or_else(unknown)?;
    let (probe, what) = rest.split_once('.').ok_or_else(unknown)?;
    if probe.is_empty() {
        return Err(unknown());
    }
    let probe = probe.to_string();
    match what {
        "availability" => Ok(AbortMetric::ProbeAvailability { probe, window }),
        "errors" => Ok(AbortMetric::ProbeErrors { probe, window }),
        _ => {
            let stat = what
                .strip_prefix("latency.")
                .and_then(|s| Stat::ALL.into_iter().find(|x| x.as_str() == s))
                .ok_or_else(unknown)?;
            Ok(AbortMetric::ProbeLatency {
                probe,
                stat,
                window,
            })
        }
    }
}

impl StopCondition {
    /// Parses `metric op value`.
    pub fn parse(text: &str) -> Result<StopCondition, String> {
        let (name, op, value) = split_comparison(text, "stop condition", "capacity.current < 50%")?;
        let metric = parse_metric(name)?;
        let (threshold, unit) = parse_threshold(&format!("stop condition {text:?}"), value)?;
        let (ok, want) = match metric {
            AbortMetric::CapacityCurrent => (
                unit != Unit::Micros,
                "a count such as 2 or a percentage such as 50%",
            ),
            AbortMetric::ProbeAvailability { .. } => {
                (unit == Unit::Percent, "a percentage such as 90%")
            }
            AbortMetric::ProbeLatency { .. } => (unit == Unit::Micros, "a duration such as 500ms"),
            _ => (unit == Unit::Number, "a plain number"),
        };
        if !ok {
            return Err(format!(
                "stop condition {text:?}: {name} is compared against {want}, not {value:?}"
            ));
        }
        Ok(StopCondition {
            text: text.trim().to_string(),
            metric,
            op,
            threshold,
            unit,
        })
    }

    /// The probe the condition watches, if any.
    pub fn probe(&self) -> Option<&str> {
        match &self.metric {
            AbortMetric::ProbeAvailability { probe, .. }
            | AbortMetric::ProbeErrors { probe, .. }
            | AbortMetric::ProbeLatency { probe, .. } => Some(probe),
            _ => None,
        }
    }

    /// The measured value in the condition's unit, or `None` when there is nothing to measure
    /// yet (no probe request in the window): a condition without data never fires.
    pub fn measure(&self, now: &Observed<'_>) -> Option<f64> {
        match &self.metric {
            AbortMetric::CapacityCurrent if self.unit == Unit::Percent => {
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

    /// Whether the condition holds now, and what it measured, for the report.
    pub fn check(&self, now: &Observed<'_>) -> Option<String> {
        let measured = self.measure(now)?;
        self.op
            .holds(measured, self.threshold)
            .then(|| format_value(measured, self.unit))
    }
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
        .find_map(|c| c.check(now).map(|measured| (c, measured)))
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
        assert_eq!(c.check(&observed(2, &none)), None);
        assert_eq!(c.check(&observed(1, &none)).as_deref(), Some("25%"));
        let count = StopCondition::parse("capacity.current <= 1").unwrap();
        assert!(count.check(&observed(1, &none)).is_some());
        assert!(count.check(&observed(2, &none)).is_none());
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
        assert_eq!(c.check(&observed(4, &tally)), None);
        let whole_run = StopCondition::parse("probe.edge.availability < 90%").unwrap();
        assert_eq!(
            whole_run.check(&observed(4, &tally)).as_deref(),
            Some("50%")
        );
        // No data in the window never fires.
        let other = StopCondition::parse("probe.other.availability < 90%").unwrap();
        assert_eq!(other.check(&observed(4, &tally)), None);
    }

    #[test]
    fn bad_conditions_say_what_would_be_right() {
        let e = StopCondition::parse("capacity.now < 50%").unwrap_err();
        assert!(e.contains("capacity.current"), "{e}");
        let e = StopCondition::parse("unrecovered[30s] > 0").unwrap_err();
        assert!(e.contains("only to probe metrics"), "{e}");
        let e = StopCondition::parse("probe.edge.availability < 0.9").unwrap_err();
        assert!(e.contains("a percentage"), "{e}");
        assert!(StopCondition::parse("unrecovered").is_err());
        assert!(StopCondition::parse("probe.edge.latency.p99[30s] > 500ms").is_ok());
    }
}
