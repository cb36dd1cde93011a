//! How one set of samples (a span's per-kill times, a probe's latencies) or one probe's
//! availability is judged: a significance test, then a minimum effect, then a named result.

use serde::{Deserialize, Serialize};

use super::stats::{mann_whitney, two_proportions, RankTest, Samples};
use super::{Judgement, Thresholds, NOISE_FLOOR_US};
use crate::vocabulary::slo::Stat;
use crate::vocabulary::units::format_micros;

/// A tail percentile is judged only when each run has, on average, this many samples beyond
/// it: 20 for p90, 200 for p99. Below that the "percentile" is the largest sample or next to it,
/// and one slow kill would move it.
pub const TAIL_SAMPLES_BEYOND: f64 = 2.0;

/// Fewest requests a probe needs in each run for its availability to be judged.
pub const MIN_PROBE_REQUESTS: u64 = 20;

/// Smallest change of a probe's failure rate that counts, in percentage points.
pub const AVAILABILITY_FLOOR_POINTS: f64 = 0.1;

/// Where the minimum effect that applied came from: the largest of the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectSource {
    /// The absolute noise floor ([`NOISE_FLOOR_US`]).
    NoiseFloor,
    /// `--max-regression` of the baseline's value.
    Relative,
    /// `--min-share` of the baseline's median total recovery.
    ShareOfTotal,
}

impl EffectSource {
    /// The name shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            EffectSource::NoiseFloor => "noise floor",
            EffectSource::Relative => "max regression",
            EffectSource::ShareOfTotal => "share of total",
        }
    }
}

/// Two sample sets judged: the rank test over all samples, and each percentile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleComparison {
    /// Samples in the baseline.
    pub baseline_count: u64,
    /// Samples in the current run.
    pub current_count: u64,
    /// The named result (the worst of the judged percentiles).
    pub result: Judgement,
    /// The reason for the result, with its numbers.
    pub why: String,
    /// Mann-Whitney U over all samples; absent when a side has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<RankTest>,
    /// Each percentile (p50, p90, p99, max); empty when a side has no samples.
    pub stats: Vec<StatDelta>,
}

/// One percentile in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatDelta {
    /// Which percentile (`p50`, `p90`, `p99`, `max`).
    pub stat: Stat,
    /// Baseline value, microseconds.
    pub baseline_us: u64,
    /// Current value, microseconds.
    pub current_us: u64,
    /// current − baseline, microseconds.
    pub delta_us: i64,
    /// The change in percent of the baseline; absent when the baseline is zero.
    pub change_percent: Option<f64>,
    /// Its result; `inconclusive` when it was not judged (see `note`).
    pub result: Judgement,
    /// Whether it was judged at all (enough samples for this percentile).
    pub judged: bool,
    /// The p-value of its test: Mann-Whitney for p50, samples beyond the baseline's
    /// percentile (two proportions) for p90 and p99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The smallest change that counts for it, microseconds.
    pub min_effect_us: u64,
    /// Which rule set that minimum.
    pub min_effect_from: EffectSource,
    /// Why it was not judged, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The quantile a compared percentile stands for; `None` for max.
fn quantile_of(stat: Stat) -> Option<f64> {
    match stat {
        Stat::P50 => Some(0.5),
        Stat::P90 => Some(0.9),
        Stat::P99 => Some(0.99),
        _ => None,
    }
}

/// Samples each run needs for `stat` to be judged; `None` for max, never judged.
pub fn samples_needed(stat: Stat, min_samples: u64) -> Option<u64> {
    match stat {
        Stat::P50 => Some(min_samples.max(1)),
        Stat::Max => None,
        other => quantile_of(other)
            .map(|q| ((TAIL_SAMPLES_BEYOND / (1.0 - q)).round() as u64).max(min_samples)),
    }
}

/// The minimum effect for a baseline value: the largest of the noise floor, the relative
/// threshold and the share-of-total floor.
fn min_effect(baseline_us: u64, t: &Thresholds, share_floor_us: u64) -> (u64, EffectSource) {
    let relative = (baseline_us as f64 * t.max_regression_percent / 100.0).round() as u64;
    [
        (NOISE_FLOOR_US, EffectSource::NoiseFloor),
        (relative, EffectSource::Relative),
        (share_floor_us, EffectSource::ShareOfTotal),
    ]
    .into_iter()
    .fold((0, EffectSource::NoiseFloor), |best, next| {
        if next.0 > best.0 {
            next
        } else {
            best
        }
    })
}

/// Names a result from a significance test and an effect: a change must be both significant
/// and at least the minimum effect to count; a large change without significance is
/// inconclusive; anything else is unchanged.
fn classify(p: f64, delta_us: i64, larger: bool, effect_us: u64, alpha: f64) -> Judgement {
    let big = delta_us.unsigned_abs() >= effect_us;
    match (p < alpha, big) {
        (true, true) if larger && delta_us > 0 => Judgement::Regressed,
        (true, true) if !larger && delta_us < 0 => Judgement::Improved,
        (false, true) => Judgement::Inconclusive,
        _ => Judgement::Unchanged,
    }
}

/// Judges `current` against `baseline`. `share_floor_us` is the share-of-total minimum effect
/// (0 where it does not apply).
pub fn compare_samples(
    baseline: &Samples,
    current: &Samples,
    t: &Thresholds,
    share_floor_us: u64,
) -> SampleComparison {
    let (nb, nc) = (baseline.count(), current.count());
    let test = mann_whitney(baseline, current);
    let Some(rank) = test else {
        return SampleComparison {
            baseline_count: nb,
            current_count: nc,
            result: Judgement::Inconclusive,
            why: format!("no samples: {nb} in the baseline, {nc} now"),
            test: None,
            stats: Vec::new(),
        };
    };
    let stats: Vec<StatDelta> = super::STATS
        .iter()
        .map(|&stat| {
            let value = |s: &Samples| match quantile_of(stat) {
                Some(q) => s.quantile(q).unwrap_or(0),
                None => s.max().unwrap_or(0),
            };
            let (b, c) = (value(baseline), value(current));
            let delta_us = c as i64 - b as i64;
            let (min_effect_us, min_effect_from) = min_effect(b, t, share_floor_us);
            let needed = samples_needed(stat, t.min_samples);
            let note = match needed {
                None => {
                    Some("not judged: the largest sample is one kill, whatever the count".into())
                }
                Some(n) if nb.min(nc) < n => Some(format!(
                    "not judged: needs {n} samples in each run, has {nb} and {nc}"
                )),
                Some(_) => None,
            };
            // The median is judged by the rank test over all samples; a tail by whether the
            // current run puts more samples beyond the baseline's percentile than the
            // baseline does (max has a note, so it never gets here).
            let median = stat == Stat::P50;
            let p_value = match note {
                Some(_) => None,
                None if median => Some(rank.p_value),
                None => {
                    two_proportions(baseline.above(b), nb, current.above(b), nc).map(|(_, p)| p)
                }
            };
            let larger = if median {
                rank.prob_current_larger > 0.5
            } else {
                current.above(b) as f64 / nc as f64 > baseline.above(b) as f64 / nb as f64
            };
            let result = match p_value {
                Some(p) => classify(p, delta_us, larger, min_effect_us, t.alpha),
                None => Judgement::Inconclusive,
            };
            StatDelta {
                stat,
                baseline_us: b,
                current_us: c,
                delta_us,
                change_percent: (b > 0).then(|| 100.0 * delta_us as f64 / b as f64),
                result,
                judged: p_value.is_some(),
                p_value,
                min_effect_us,
                min_effect_from,
                note,
            }
        })
        .collect();
    let (result, why) = summarise(&stats, t);
    SampleComparison {
        baseline_count: nb,
        current_count: nc,
        result,
        why,
        test: Some(rank),
        stats,
    }
}

/// The result of a set of percentiles: regressed when any judged one regressed; otherwise the
/// median's result; inconclusive when the median was not judged.
fn summarise(stats: &[StatDelta], t: &Thresholds) -> (Judgement, String) {
    let describe = |d: &StatDelta| {
        let p = d
            .p_value
            .map_or(String::new(), |p| format!("p = {}", format_p(p)));
        let delta = signed_micros(d.delta_us);
        let effect = format!(
            "minimum effect {} ({})",
            format_micros(d.min_effect_us),
            d.min_effect_from.as_str()
        );
        match d.result {
            Judgement::Regressed => format!(
                "{} grew by {}, {p} < {}, beyond the {effect}",
                d.stat.as_str(),
                format_micros(d.delta_us.unsigned_abs()),
                t.alpha
            ),
            Judgement::Improved => format!(
                "{} fell by {}, {p} < {}, beyond the {effect}",
                d.stat.as_str(),
                format_micros(d.delta_us.unsigned_abs()),
                t.alpha
            ),
            Judgement::Inconclusive => match &d.note {
                Some(note) => format!("{} {note}", d.stat.as_str()),
                None => format!(
                    "{} moved {delta}, beyond the {effect}, but {p} ≥ {}: too little evidence",
                    d.stat.as_str(),
                    t.alpha
                ),
            },
            Judgement::Unchanged if d.p_value.is_some_and(|p| p < t.alpha) => format!(
                "{} moved {delta} ({p}), within the {effect}",
                d.stat.as_str()
            ),
            Judgement::Unchanged => format!(
                "{} moved {delta}, {p} ≥ {}: no evidence of a change",
                d.stat.as_str(),
                t.alpha
            ),
        }
    };
    if let Some(d) = stats.iter().find(|d| d.result == Judgement::Regressed) {
        return (Judgement::Regressed, describe(d));
    }
    match stats.iter().find(|d| d.stat == Stat::P50) {
        Some(d) => (d.result, describe(d)),
        None => (Judgement::Inconclusive, "no median".into()),
    }
}

/// A p-value for people: three significant digits, small ones in scientific notation.
pub fn format_p(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// A signed duration: `+12ms`, `-3.1ms`.
pub fn signed_micros(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "+" };
    format!("{sign}{}", format_micros(us.unsigned_abs()))
}

/// One probe's availability in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityComparison {
    /// Requests in the baseline.
    pub baseline_requests: u64,
    /// Failed requests in the baseline.
    pub baseline_failures: u64,
    /// Requests in the current run.
    pub current_requests: u64,
    /// Failed requests in the current run.
    pub current_failures: u64,
    /// The failure rate's change, in percentage points (positive: more failures now).
    pub failure_rate_change_points: f64,
    /// The two-proportion z-test's p-value; absent when a side made no requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The smallest change of the failure rate that counts, in percentage points.
    pub min_effect_points: f64,
    /// The named result.
    pub result: Judgement,
    /// The reason, with its numbers.
    pub why: String,
}

/// Judges a probe's failures: a two-proportion z-test on failures over requests, and a change
/// of the failure rate of at least the larger of [`AVAILABILITY_FLOOR_POINTS`] and
/// `--max-regression` of the baseline's failure rate.
pub fn compare_availability(
    (b_requests, b_failures): (u64, u64),
    (c_requests, c_failures): (u64, u64),
    t: &Thresholds,
) -> AvailabilityComparison {
    let rate = |f: u64, r: u64| {
        if r == 0 {
            0.0
        } else {
            100.0 * f as f64 / r as f64
        }
    };
    let (b_rate, c_rate) = (rate(b_failures, b_requests), rate(c_failures, c_requests));
    let change = c_rate - b_rate;
    let min_effect_points =
        AVAILABILITY_FLOOR_POINTS.max(b_rate * t.max_regression_percent / 100.0);
    let p_value = two_proportions(b_failures, b_requests, c_failures, c_requests).map(|(_, p)| p);
    let fewest = b_requests.min(c_requests);
    let (result, why) = match p_value {
        _ if fewest < MIN_PROBE_REQUESTS => (
            Judgement::Inconclusive,
            format!(
                "not judged: needs {MIN_PROBE_REQUESTS} requests in each run, has {b_requests} \
                 and {c_requests}"
            ),
        ),
        None => (Judgement::Inconclusive, "no requests".into()),
        Some(p) => {
            let result = if p < t.alpha && change.abs() >= min_effect_points {
                if change > 0.0 {
                    Judgement::Regressed
                } else {
                    Judgement::Improved
                }
            } else if p >= t.alpha && change.abs() >= min_effect_points {
                Judgement::Inconclusive
            } else {
                Judgement::Unchanged
            };
            (
                result,
                format!(
                    "failure rate {b_rate:.2}% → {c_rate:.2}% ({change:+.2} points), p = {}, \
                     minimum effect {min_effect_points:.2} points",
                    format_p(p)
                ),
            )
        }
    };
    AvailabilityComparison {
        baseline_requests: b_requests,
        baseline_failures: b_failures,
        current_requests: c_requests,
        current_failures: c_failures,
        failure_rate_change_points: change,
        p_value,
        min_effect_points,
        result,
        why,
    }
}
