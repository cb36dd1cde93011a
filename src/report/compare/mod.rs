//! Comparison of two runs, for the nightly trend. Each span's per-kill samples are compared
//! with a Mann-Whitney U test, and a change counts only when it is significant and at least a
//! minimum effect (absolute, relative, and a share of the total recovery); tail percentiles are
//! judged only with enough samples for them. Probes are compared too (availability with a
//! two-proportion test, latency like a span), and every SLO whose outcome changed is listed.
//! Each span and probe gets a named result: regressed, improved, unchanged or inconclusive.

mod judge;
mod render;
pub mod stats;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::report::build::span_samples;
use crate::report::{ProbeReport, RunReport, Verdict};
use crate::vocabulary::phase::Span;
use crate::vocabulary::slo::Stat;

pub use judge::{
    format_p, samples_needed, AvailabilityComparison, EffectSource, SampleComparison, StatDelta,
    AVAILABILITY_FLOOR_POINTS, MIN_PROBE_REQUESTS, TAIL_SAMPLES_BEYOND,
};
pub use render::{json, markdown, text};
use stats::Samples;

/// The percentiles compared, in order.
pub const STATS: [Stat; 4] = [Stat::P50, Stat::P90, Stat::P99, Stat::Max];

/// Default fewest samples a span needs in each run to be judged at all: below three, no test
/// can tell two runs apart.
pub const DEFAULT_MIN_SAMPLES: u64 = 3;

/// Default significance level: a change is significant when its two-sided p-value is below it.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// Default smallest share of the baseline's median total recovery that a span's change must
/// reach to count, in percent.
pub const DEFAULT_MIN_SHARE_PERCENT: f64 = 5.0;

/// Changes smaller than this are scheduling jitter on a loaded host (a local kill is confirmed
/// in about a millisecond, give or take a few), so they never count however large in percent.
pub const NOISE_FLOOR_US: u64 = 5_000;

/// What to judge a comparison by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Smallest change that counts, in percent of the baseline's value (`--max-regression`).
    pub max_regression_percent: f64,
    /// Fewest samples a span needs in each run to be judged.
    pub min_samples: u64,
    /// Significance level of every test.
    pub alpha: f64,
    /// Smallest change of a span that counts, in percent of the baseline's median total
    /// recovery (`--min-share`).
    pub min_share_percent: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_regression_percent: 20.0,
            min_samples: DEFAULT_MIN_SAMPLES,
            alpha: DEFAULT_ALPHA,
            min_share_percent: DEFAULT_MIN_SHARE_PERCENT,
        }
    }
}

/// Two runs compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The older run.
    pub baseline: RunRef,
    /// The newer run.
    pub current: RunRef,
    /// What the comparison was judged by.
    pub thresholds: Thresholds,
    /// `--min-share` of the baseline's median total recovery, microseconds: the least a span
    /// must change to count (0 when the baseline recovered nothing).
    pub share_floor_us: u64,
    /// One entry per span, total first.
    pub spans: Vec<SpanComparison>,
    /// Each probe both runs have.
    #[serde(default)]
    pub probes: Vec<ProbeComparison>,
    /// Every SLO in either run, with its outcome in both.
    pub slos: Vec<SloChange>,
    /// The overall outcome.
    pub verdict: CompareVerdict,
}

/// Which run a side of the comparison is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its own verdict.
    pub verdict: Verdict,
    /// Whether it was cut short.
    pub partial: bool,
}

/// The overall outcome of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareVerdict {
    /// Nothing regressed (exit 0).
    NoRegression,
    /// A span, percentile or probe regressed (exit 1).
    Regressed,
    /// Nothing could be judged: every span and probe is inconclusive (exit 0).
    Inconclusive,
}

/// The named result of one span, percentile or probe metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    /// Significantly worse, by at least the minimum effect: fails the comparison.
    Regressed,
    /// Significantly better, by at least the minimum effect.
    Improved,
    /// No change as large as the minimum effect, or no evidence of one.
    Unchanged,
    /// Not judged (too few samples), or a change beyond the minimum effect that the samples
    /// cannot tell from chance.
    Inconclusive,
}

impl Judgement {
    /// The name shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Judgement::Regressed => "REGRESSED",
            Judgement::Improved => "improved",
            Judgement::Unchanged => "unchanged",
            Judgement::Inconclusive => "inconclusive",
        }
    }
}

/// One span in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanComparison {
    /// Which span.
    pub span: Span,
    /// Its samples judged.
    #[serde(flatten)]
    pub samples: SampleComparison,
}

/// One probe in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeComparison {
    /// The probe's name.
    pub name: String,
    /// Failures over requests.
    pub availability: AvailabilityComparison,
    /// Latency of the successful requests, from each run's histogram; absent when a run has
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<SampleComparison>,
}

/// One SLO's outcome in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloChange {
    /// The SLO line.
    pub slo: String,
    /// Its outcome in the baseline, when the baseline had it.
    pub baseline: Option<SloSide>,
    /// Its outcome in the current run, when the current run had it.
    pub current: Option<SloSide>,
    /// How it changed.
    pub change: SloChangeKind,
}

/// One SLO's outcome in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloSide {
    /// Whether it held.
    pub passed: bool,
    /// The measured value, for people.
    pub measured: String,
}

/// How an SLO's outcome changed between the runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SloChangeKind {
    /// Held in both.
    StillPassing,
    /// Broke in both.
    StillFailing,
    /// Held before, breaks now.
    NewlyFailing,
    /// Broke before, holds now.
    Fixed,
    /// Only in the current run.
    Added,
    /// Only in the baseline.
    Removed,
}

impl SloChangeKind {
    /// The name shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            SloChangeKind::StillPassing => "still passing",
            SloChangeKind::StillFailing => "still failing",
            SloChangeKind::NewlyFailing => "newly failing",
            SloChangeKind::Fixed => "fixed",
            SloChangeKind::Added => "added",
            SloChangeKind::Removed => "removed",
        }
    }
}

impl Comparison {
    /// Everything that regressed, by name: `total.p50`, `probe.edge.availability`,
    /// `probe.edge.latency.p90`.
    pub fn regressions(&self) -> Vec<String> {
        let regressed = |prefix: String, s: &SampleComparison| {
            s.stats
                .iter()
                .filter(|d| d.result == Judgement::Regressed)
                .map(|d| format!("{prefix}.{}", d.stat.as_str()))
                .collect::<Vec<_>>()
        };
        let mut names: Vec<String> = self
            .spans
            .iter()
            .flat_map(|s| regressed(s.span.to_string(), &s.samples))
            .collect();
        for p in &self.probes {
            if p.availability.result == Judgement::Regressed {
                names.push(format!("probe.{}.availability", p.name));
            }
            if let Some(l) = &p.latency {
                names.extend(regressed(format!("probe.{}.latency", p.name), l));
            }
        }
        names
    }
}

/// The samples of the probe's latency histogram; `None` when it has none or it does not
/// decode (a report.json from elsewhere may carry a damaged one).
fn latency_samples(p: &ProbeReport) -> Option<Samples> {
    let h = p.latency.as_ref()?.decode().ok()?;
    Some(Samples::from_counts(h.iter_recorded().map(|v| {
        (
            h.median_equivalent(v.value_iterated_to()),
            v.count_at_value(),
        )
    })))
}

/// Compares `current` against `baseline`.
pub fn compare(baseline: &RunReport, current: &RunReport, thresholds: Thresholds) -> Comparison {
    let samples = |r: &RunReport, span| Samples::from_values(&span_samples(&r.kills, span));
    let total_median = samples(baseline, Span::Total).quantile(0.5).unwrap_or(0);
    let share_floor_us =
        (total_median as f64 * thresholds.min_share_percent / 100.0).round() as u64;
    let spans: Vec<SpanComparison> = Span::ALL
        .iter()
        .map(|&span| SpanComparison {
            span,
            samples: judge::compare_samples(
                &samples(baseline, span),
                &samples(current, span),
                &thresholds,
                share_floor_us,
            ),
        })
        .collect();
    let probes: Vec<ProbeComparison> = current
        .probes
        .iter()
        .filter_map(|c| {
            let b = baseline.probes.iter().find(|b| b.name == c.name)?;
            let latency = match (latency_samples(b), latency_samples(c)) {
                (Some(lb), Some(lc)) => Some(judge::compare_samples(&lb, &lc, &thresholds, 0)),
                _ => None,
            };
            Some(ProbeComparison {
                name: c.name.clone(),
                availability: judge::compare_availability(
                    (b.requests, b.failures),
                    (c.requests, c.failures),
                    &thresholds,
                ),
                latency,
            })
        })
        .collect();
    let results: Vec<Judgement> = spans
        .iter()
        .map(|s| s.samples.result)
        .chain(probes.iter().flat_map(|p| {
            std::iter::once(p.availability.result).chain(p.latency.as_ref().map(|l| l.result))
        }))
        .collect();
    let verdict = if results.contains(&Judgement::Regressed) {
        CompareVerdict::Regressed
    } else if results.iter().any(|r| *r != Judgement::Inconclusive) {
        CompareVerdict::NoRegression
    } else {
        CompareVerdict::Inconclusive
    };
    Comparison {
        baseline: run_ref(baseline),
        current: run_ref(current),
        thresholds,
        share_floor_us,
        spans,
        probes,
        slos: slo_changes(baseline, current),
        verdict,
    }
}

fn run_ref(r: &RunReport) -> RunRef {
    RunRef {
        scenario: r.scenario.name.clone(),
        seed: r.seed,
        started_at: r.started_at,
        verdict: r.verdict,
        partial: r.partial,
    }
}

fn slo_changes(baseline: &RunReport, current: &RunReport) -> Vec<SloChange> {
    let side = |r: &RunReport, text: &str| {
        r.slos.iter().find(|s| s.slo == text).map(|s| SloSide {
            passed: s.passed,
            measured: s.measured_display.clone(),
        })
    };
    let mut texts: Vec<&str> = current.slos.iter().map(|s| s.slo.as_str()).collect();
    for s in &baseline.slos {
        if !texts.contains(&s.slo.as_str()) {
            texts.push(&s.slo);
        }
    }
    texts
        .into_iter()
        .map(|text| {
            let (b, c) = (side(baseline, text), side(current, text));
            let change = match (&b, &c) {
                (Some(b), Some(c)) => match (b.passed, c.passed) {
                    (true, true) => SloChangeKind::StillPassing,
                    (false, false) => SloChangeKind::StillFailing,
                    (true, false) => SloChangeKind::NewlyFailing,
                    (false, true) => SloChangeKind::Fixed,
                },
                (None, _) => SloChangeKind::Added,
                (_, None) => SloChangeKind::Removed,
            };
            SloChange {
                slo: text.to_string(),
                baseline: b,
                current: c,
                change,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
