//! The grammar of stop conditions (`abort_when`): `metric op value` lines such as
//! `capacity.current < 50%`, `unrecovered > 0` or `probe.edge.availability[30s] < 90%`. The
//! engine measures them during a run (`engine::abort`); here they are only parsed and compared.

use std::time::Duration;

use super::slo::{parse_threshold, split_comparison, Op, Stat, Unit};
use super::units::HumanDuration;

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

    /// Whether `measured` trips the condition.
    pub fn holds(&self, measured: f64) -> bool {
        self.op.holds(measured, self.threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
