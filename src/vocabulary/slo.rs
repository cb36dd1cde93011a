//! Service-level objectives: `metric op value` lines in the manner of k6 thresholds, such as
//! `recovery.p99 < 30s` or `capacity.min >= 66%`. Parsing happens at validation time, so a typo
//! fails before anything is killed; evaluation happens against the finished report.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use self::drift::DriftCheck;
use crate::vocabulary::phase::Span;
use crate::vocabulary::units::{format_micros, HumanDuration, Percent};

/// A statistic over a recovery-time histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest value.
    Max,
    /// Smallest value.
    Min,
    /// Arithmetic mean.
    Mean,
}

impl Stat {
    /// Every statistic.
    pub const ALL: [Stat; 8] = [
        Stat::P50,
        Stat::P90,
        Stat::P95,
        Stat::P99,
        Stat::P999,
        Stat::Max,
        Stat::Min,
        Stat::Mean,
    ];

    /// The name used in SLOs.
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::P999 => "p999",
            Stat::Max => "max",
            Stat::Min => "min",
            Stat::Mean => "mean",
        }
    }

    /// The quantile for a percentile statistic.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Stat::P50 => Some(0.50),
            Stat::P90 => Some(0.90),
            Stat::P95 => Some(0.95),
            Stat::P99 => Some(0.99),
            Stat::P999 => Some(0.999),
            _ => None,
        }
    }

    fn from_name(name: &str) -> Option<Stat> {
        Stat::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// What an SLO measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum Metric {
    /// A statistic of a recovery span; `recovery.p99` is the total, `recovery.boot.p99` a phase.
    Recovery {
        /// Which span.
        span: Span,
        /// Which statistic.
        stat: Stat,
    },
    /// Kills that did not reach `restored` within `recovery.timeout`.
    Unrecovered,
    /// Kills carried out.
    Kills,
    /// Decisions a guard refused.
    Refused,
    /// Replacements that turned unhealthy again within the settle window.
    Flaps,
    /// Lowest healthy count over the run, as a count or a percentage of desired capacity.
    CapacityMin,
    /// Seconds during which the healthy count was below the desired capacity.
    DegradedSeconds,
    /// Share of a steady-state probe's requests that succeeded, in percent.
    ProbeAvailability {
        /// The probe's name.
        probe: String,
    },
    /// Failed requests of a steady-state probe.
    ProbeErrors {
        /// The probe's name.
        probe: String,
    },
    /// A statistic of a steady-state probe's latency (successful requests).
    ProbeLatency {
        /// The probe's name.
        probe: String,
        /// Which statistic.
        stat: Stat,
    },
    /// Kills whose drift evidence shows what `check` names (see [`DriftCheck`]).
    Drift {
        /// What is counted.
        check: DriftCheck,
    },
}

/// The metric names an SLO may use, for error messages.
pub fn known_metrics() -> String {
    let mut names = vec!["recovery.{p50,p90,p95,p99,p999,max,min,mean}".to_string()];
    let spans: Vec<&str> = Span::ALL
        .iter()
        .filter(|s| **s != Span::Total)
        .map(|s| s.as_str())
        .collect();
    names.push(format!("recovery.{{{}}}.{{p50,...,mean}}", spans.join(",")));
    names.extend(
        [
            "unrecovered",
            "kills",
            "refused",
            "flaps",
            "capacity.min",
            "degraded_seconds",
            "probe.NAME.availability",
            "probe.NAME.errors",
            "probe.NAME.latency.{p50,p90,p95,p99,p999,max,min,mean}",
            "drift.{modified_victims,carried_over,image_changed,config_changed,unknown}",
        ]
        .map(String::from),
    );
    names.join(", ")
}

impl Metric {
    fn parse(name: &str) -> Result<Metric, String> {
        let simple = match name {
            "unrecovered" => Some(Metric::Unrecovered),
            "kills" => Some(Metric::Kills),
            "refused" => Some(Metric::Refused),
            "flaps" => Some(Metric::Flaps),
            "capacity.min" => Some(Metric::CapacityMin),
            "degraded_seconds" => Some(Metric::DegradedSeconds),
            _ => None,
        };
        if let Some(m) = simple {
            return Ok(m);
        }
        if let Some(check) = name.strip_prefix("drift.") {
            return DriftCheck::ALL
                .into_iter()
                .find(|c| c.as_str() == check)
                .map(|check| Metric::Drift { check })
                .ok_or_else(|| {
                    format!(
                        "unknown drift check {check:?}; known: {}",
                        DriftCheck::ALL.map(DriftCheck::as_str).join(", ")
                    )
                });
        }
        if let Some(probe_metric) = name.strip_prefix("probe.") {
            return parse_probe_metric(probe_metric).ok_or_else(|| {
                format!(
                    "unknown metric {name:?}; a probe metric reads probe.NAME.availability, \
                     probe.NAME.errors or probe.NAME.latency.p99 (any of p50, p90, p95, p99, \
                     p999, max, min, mean)"
                )
            });
        }
        let unknown = || {
            format!(
                "unknown metric {name:?}; known metrics: {}",
                known_metrics()
            )
        };
        let rest = name.strip_prefix("recovery.").ok_or_else(unknown)?;
        let (span, stat) = match rest.split_once('.') {
            Some((span, stat)) => (Span::from_name(span).ok_or_else(unknown)?, stat),
            None => (Span::Total, rest),
        };
        let stat = Stat::from_name(stat).ok_or_else(unknown)?;
        Ok(Metric::Recovery { span, stat })
    }

    /// Whether values of this metric are durations.
    pub fn is_duration(&self) -> bool {
        matches!(self, Metric::Recovery { .. } | Metric::ProbeLatency { .. })
    }

    /// The probe a metric is about, if any.
    pub fn probe(&self) -> Option<&str> {
        match self {
            Metric::ProbeAvailability { probe }
            | Metric::ProbeErrors { probe }
            | Metric::ProbeLatency { probe, .. } => Some(probe),
            _ => None,
        }
    }
}

/// `NAME.availability`, `NAME.errors` or `NAME.latency.STAT`, after `probe.`.
fn parse_probe_metric(rest: &str) -> Option<Metric> {
    let (probe, what) = rest.split_once('.')?;
    if probe.is_empty() {
        return None;
    }
    let probe = probe.to_string();
    match what {
        "availability" => Some(Metric::ProbeAvailability { probe }),
        "errors" => Some(Metric::ProbeErrors { probe }),
        _ => {
            let stat = Stat::from_name(what.strip_prefix("latency.")?)?;
            Some(Metric::ProbeLatency { probe, stat })
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Recovery {
                span: Span::Total,
                stat,
            } => write!(f, "recovery.{}", stat.as_str()),
            Metric::Recovery { span, stat } => write!(f, "recovery.{span}.{}", stat.as_str()),
            Metric::Unrecovered => f.write_str("unrecovered"),
            Metric::Kills => f.write_str("kills"),
            Metric::Refused => f.write_str("refused"),
            Metric::Flaps => f.write_str("flaps"),
            Metric::CapacityMin => f.write_str("capacity.min"),
            Metric::DegradedSeconds => f.write_str("degraded_seconds"),
            Metric::Drift { check } => write!(f, "drift.{}", check.as_str()),
            Metric::ProbeAvailability { probe } => write!(f, "probe.{probe}.availability"),
            Metric::ProbeErrors { probe } => write!(f, "probe.{probe}.errors"),
            Metric::ProbeLatency { probe, stat } => {
                write!(f, "probe.{probe}.latency.{}", stat.as_str())
            }
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
        }
    }

    /// Whether `measured op threshold` holds.
    pub fn holds(self, measured: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => measured < threshold,
            Op::Le => measured <= threshold,
            Op::Gt => measured > threshold,
            Op::Ge => measured >= threshold,
            Op::Eq => (measured - threshold).abs() < 1e-9,
        }
    }
}

/// The unit a threshold was written in, and so the unit the measured value is compared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Microseconds (written as `250ms`, `30s`, `1m`).
    Micros,
    /// Percent, 0–100.
    Percent,
    /// A plain number.
    Number,
}

/// Splits `name op value` at its operator; `example` goes into the error message.
pub fn split_comparison<'a>(
    text: &'a str,
    what: &str,
    example: &str,
) -> Result<(&'a str, Op, &'a str), String> {
    let t = text.trim();
    let (op_pos, op, op_len) = ["<=", ">=", "==", "<", ">"]
        .iter()
        .find_map(|o| t.find(o).map(|p| (p, *o, o.len())))
        .ok_or_else(|| {
            format!("{what} {text:?} has no comparison; write `metric op value` with op one of <, <=, >, >=, ==, e.g. `{example}`")
        })?;
    let op = match op {
        "<=" => Op::Le,
        ">=" => Op::Ge,
        "==" => Op::Eq,
        "<" => Op::Lt,
        _ => Op::Gt,
    };
    let name = t[..op_pos].trim();
    let value = t[op_pos + op_len..].trim();
    if name.is_empty() || value.is_empty() {
        return Err(format!(
            "{what} {text:?} must read `metric op value`, e.g. `{example}`"
        ));
    }
    Ok((name, op, value))
}

/// Parses a threshold: a percentage, a plain number, or a duration (in microseconds).
/// `label` starts the error message, e.g. `SLO "recovery.p99 < x"`.
pub fn parse_threshold(label: &str, value: &str) -> Result<(f64, Unit), String> {
    if value.ends_with('%') {
        Ok((value.parse::<Percent>()?.0, Unit::Percent))
    } else if let Ok(n) = value.parse::<f64>() {
        Ok((n, Unit::Number))
    } else {
        let d: HumanDuration = value.parse().map_err(|e| {
            format!(
                "{label}: threshold {value:?} is not a number, a percentage or a duration ({e})"
            )
        })?;
        Ok((d.as_micros() as f64, Unit::Micros))
    }
}

/// One parsed SLO line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// The line as written.
    pub text: String,
    /// What it measures.
    pub metric: Metric,
    /// How it compares.
    pub op: Op,
    /// The threshold, in `unit`.
    pub threshold: f64,
    /// The threshold's unit.
    pub unit: Unit,
}

impl Slo {
    /// Parses `metric op value`.
    pub fn parse(text: &str) -> Result<Slo, String> {
        let t = text.trim();
        let (name, op, value) = split_comparison(text, "SLO", "recovery.p99 < 30s")?;
        let metric = Metric::parse(name)?;
        let (threshold, unit) = parse_threshold(&format!("SLO {text:?}"), value)?;
        let unit_ok = match metric {
            Metric::Recovery { .. } | Metric::ProbeLatency { .. } => unit == Unit::Micros,
            Metric::ProbeAvailability { .. } => unit == Unit::Percent,
            Metric::CapacityMin => unit != Unit::Micros,
            Metric::DegradedSeconds => unit != Unit::Percent,
            _ => unit == Unit::Number,
        };
        if !unit_ok {
            let want = match metric {
                Metric::Recovery { .. } | Metric::ProbeLatency { .. } => {
                    "a duration such as 30s or 250ms"
                }
                Metric::ProbeAvailability { .. } => "a percentage such as 99.5%",
                Metric::CapacityMin => "a count such as 2 or a percentage such as 66%",
                Metric::DegradedSeconds => "seconds, as a number or a duration such as 10s",
                _ => "a plain number",
            };
            return Err(format!(
                "SLO {text:?}: {metric} is compared against {want}, not {value:?}"
            ));
        }
        // degraded_seconds written as a duration is compared in seconds.
        let (threshold, unit) = if metric == Metric::DegradedSeconds && unit == Unit::Micros {
            (threshold / 1e6, Unit::Number)
        } else {
            (threshold, unit)
        };
        Ok(Slo {
            text: t.to_string(),
            metric,
            op,
            threshold,
            unit,
        })
    }

    /// Formats a value of this SLO's unit for people.
    pub fn format_value(&self, v: f64) -> String {
        format_value(v, self.unit)
    }

    /// Compares a measured value; `None` (nothing measured, e.g. no kills) fails the SLO so a
    /// gate cannot pass on an empty run.
    pub fn evaluate(&self, measured: Option<f64>) -> SloResult {
        let passed = measured.is_some_and(|m| self.op.holds(m, self.threshold));
        SloResult {
            slo: self.text.clone(),
            metric: self.metric.to_string(),
            op: self.op.as_str().to_string(),
            threshold: self.threshold,
            threshold_display: self.format_value(self.threshold),
            unit: self.unit,
            measured,
            measured_display: measured
                .map(|m| self.format_value(m))
                .unwrap_or_else(|| "no data".to_string()),
            passed,
        }
    }
}

/// Formats a value in a unit for people: durations in human form, percentages with `%`.
pub fn format_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Micros => format_micros(v.max(0.0).round() as u64),
        Unit::Percent => format!("{}", Percent(v.clamp(0.0, 100.0))),
        Unit::Number => {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        }
    }
}

/// The outcome of one SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    /// The SLO line as written.
    pub slo: String,
    /// The metric's name.
    pub metric: String,
    /// The operator.
    pub op: String,
    /// The threshold in `unit`.
    pub threshold: f64,
    /// The threshold for people.
    pub threshold_display: String,
    /// Unit of `threshold` and `measured`.
    pub unit: Unit,
    /// The measured value in `unit`; absent when there was nothing to measure.
    pub measured: Option<f64>,
    /// The measured value for people.
    pub measured_display: String,
    /// Whether the SLO holds.
    pub passed: bool,
}

mod drift;
#[cfg(test)]
mod tests;
