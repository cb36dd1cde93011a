//! Comparison of two runs, for the nightly trend: per span, the sample count and the
//! p50/p90/p99/max deltas, each judged against a largest allowed regression; and every SLO whose
//! outcome changed. A span with too few samples in either run is *inconclusive*, not a verdict.

mod render;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::report::{HistogramSummary, RunReport, Verdict};
use crate::vocabulary::phase::Span;
use crate::vocabulary::slo::Stat;

pub use render::{json, markdown, text};

/// The percentiles compared, in order.
pub const STATS: [Stat; 4] = [Stat::P50, Stat::P90, Stat::P99, Stat::Max];

/// Default fewest samples a span needs in each run to be judged: below three, a "p99" is one
/// or two anecdotes.
pub const DEFAULT_MIN_SAMPLES: u64 = 3;

/// Changes smaller than this are scheduling jitter on a loaded host (a local kill is confirmed
/// in about a millisecond, give or take a few), so they never count as a regression however
/// large in percent.
pub const NOISE_FLOOR_US: u64 = 5_000;

/// What to judge a comparison by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Largest allowed increase of a percentile, in percent of the baseline.
    pub max_regression_percent: f64,
    /// Fewest samples a span needs in each run to be judged.
    pub min_samples: u64,
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
    /// One entry per span, total first.
    pub spans: Vec<SpanComparison>,
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
    /// No judged percentile regressed beyond the threshold.
    NoRegression,
    /// At least one judged percentile regressed beyond the threshold.
    Regressed,
    /// No span had enough samples in both runs to judge anything.
    Inconclusive,
}

/// One span in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanComparison {
    /// Which span.
    pub span: Span,
    /// Samples in the baseline.
    pub baseline_count: u64,
    /// Samples in the current run.
    pub current_count: u64,
    /// Whether the span was judged.
    pub judged: bool,
    /// Why not, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive: Option<String>,
    /// Each compared percentile; empty when a run has no samples at all.
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
    /// Regressed beyond the threshold (only ever true in a judged span).
    pub regressed: bool,
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
    /// Every regressed percentile, as `span.stat` names (`total.p99`).
    pub fn regressions(&self) -> Vec<String> {
        self.spans
            .iter()
            .flat_map(|s| {
                s.stats
                    .iter()
                    .filter(|d| d.regressed)
                    .map(move |d| format!("{}.{}", s.span, d.stat.as_str()))
            })
            .collect()
    }
}

/// Compares `current` against `baseline`.
pub fn compare(baseline: &RunReport, current: &RunReport, thresholds: Thresholds) -> Comparison {
    let spans: Vec<SpanComparison> = Span::ALL
        .iter()
        .map(|span| {
            compare_span(
                *span,
                baseline.histograms.get(span),
                current.histograms.get(span),
                thresholds,
            )
        })
        .collect();
    let verdict = if spans.iter().any(|s| s.stats.iter().any(|d| d.regressed)) {
        CompareVerdict::Regressed
    } else if spans.iter().any(|s| s.judged) {
        CompareVerdict::NoRegression
    } else {
        CompareVerdict::Inconclusive
    };
    Comparison {
        baseline: run_ref(baseline),
        current: run_ref(current),
        thresholds,
        spans,
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

fn compare_span(
    span: Span,
    baseline: Option<&HistogramSummary>,
    current: Option<&HistogramSummary>,
    thresholds: Thresholds,
) -> SpanComparison {
    let baseline_count = baseline.map_or(0, |h| h.count);
    let current_count = current.map_or(0, |h| h.count);
    let fewest = baseline_count.min(current_count);
    let judged = fewest >= thresholds.min_samples.max(1);
    let inconclusive = (!judged).then(|| {
        format!(
            "too few samples: {baseline_count} in the baseline, {current_count} now; \
             at least {} in each are needed",
            thresholds.min_samples.max(1)
        )
    });
    let stats = match (baseline, current) {
        (Some(b), Some(c)) if b.count > 0 && c.count > 0 => STATS
            .iter()
            .map(|stat| {
                let value = |h: &HistogramSummary| h.stat(*stat).unwrap_or(0.0).round() as u64;
                let (b_us, c_us) = (value(b), value(c));
                let delta_us = c_us as i64 - b_us as i64;
                let change_percent = (b_us > 0).then(|| 100.0 * delta_us as f64 / b_us as f64);
                let beyond = match change_percent {
                    Some(p) => p > thresholds.max_regression_percent,
                    None => c_us > 0,
                };
                StatDelta {
                    stat: *stat,
                    baseline_us: b_us,
                    current_us: c_us,
                    delta_us,
                    change_percent,
                    regressed: judged && beyond && delta_us >= NOISE_FLOOR_US as i64,
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    SpanComparison {
        span,
        baseline_count,
        current_count,
        judged,
        inconclusive,
        stats,
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
