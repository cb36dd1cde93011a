//! The report's view of steady-state probes: what clients saw over the run, and during each
//! kill's window (from the kill to its restored mark).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::HistogramSummary;

/// One probe over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The probe's name.
    pub name: String,
    /// `http` or `tcp`.
    pub kind: String,
    /// The URL or address it reached.
    pub endpoint: String,
    /// Requests made.
    pub requests: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Share of requests that succeeded, in percent; absent when none was made.
    pub availability_percent: Option<f64>,
    /// Latency of the successful requests; absent when none succeeded.
    pub latency: Option<HistogramSummary>,
    /// Requests before the first kill: the steady state the kills are measured against.
    pub baseline: ProbeCounts,
    /// Failures that fell in no kill window.
    pub failures_outside_kills: u64,
    /// What each kill cost this probe's clients.
    pub kills: Vec<ProbeKillImpact>,
    /// Requests, failures and latency over the run, in fixed-width buckets; absent in reports
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "ProbeSeries::is_empty")]
    pub over_time: ProbeSeries,
}

/// A probe's requests over the run, folded into buckets of one width so that a report of a
/// long run stays small: at most [`ProbeSeries::MAX_BUCKETS`] of them, each at least a second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeSeries {
    /// Width of every bucket, in milliseconds.
    pub bucket_ms: u64,
    /// The buckets that saw a request, in time order; a gap is a bucket without one.
    pub buckets: Vec<ProbeBucket>,
}

impl ProbeSeries {
    /// The most buckets a series holds: a ten-minute run keeps per-second detail, a longer one
    /// gets wider buckets.
    pub const MAX_BUCKETS: u64 = 600;

    /// True when no request was made.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The bucket width for a run of `run_ms`: a round number of seconds (1, 2, 5, 10, 15, 30,
    /// then minutes) giving at most [`ProbeSeries::MAX_BUCKETS`] buckets.
    pub fn bucket_ms_for(run_ms: u64) -> u64 {
        const WIDTHS_S: [u64; 12] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1_800, 3_600];
        WIDTHS_S
            .into_iter()
            .map(|s| s * 1_000)
            .find(|w| run_ms.div_ceil(*w) <= Self::MAX_BUCKETS)
            .unwrap_or_else(|| run_ms.div_ceil(Self::MAX_BUCKETS).max(1))
    }
}

/// One bucket of a probe's requests, by when each request's outcome was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeBucket {
    /// Start of the bucket, milliseconds since the run started.
    pub offset_ms: u64,
    /// Requests whose outcome was seen in the bucket.
    pub requests: u64,
    /// Of those, how many failed.
    pub failures: u64,
    /// Mean latency of the successful ones, in microseconds; absent when none succeeded.
    pub latency_mean_us: Option<u64>,
    /// Slowest successful one, in microseconds; absent when none succeeded.
    pub latency_max_us: Option<u64>,
}

impl ProbeBucket {
    /// Share of the bucket's requests that succeeded, in percent.
    pub fn availability_percent(&self) -> f64 {
        if self.requests == 0 {
            return 100.0;
        }
        100.0 * (self.requests - self.failures) as f64 / self.requests as f64
    }
}

/// Requests and failures over a stretch of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeCounts {
    /// Requests made.
    pub requests: u64,
    /// Requests that failed.
    pub failures: u64,
}

/// The user-visible impact of one kill on one probe: the requests in flight at any moment
/// between the kill and its restored mark (or its timeout, or the run's end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeKillImpact {
    /// Which kill.
    pub kill_id: u32,
    /// Requests in the window.
    pub requests: u64,
    /// Failed requests in the window.
    pub failures: u64,
    /// When the first failure was seen.
    pub first_failure: Option<DateTime<Utc>>,
    /// When the last failure was seen.
    pub last_failure: Option<DateTime<Utc>>,
    /// The slowest request in the window, failed ones included, in microseconds.
    pub worst_latency_us: Option<u64>,
}

impl ProbeKillImpact {
    /// First failure, last failure (UTC time of day, to the millisecond) and worst latency, as
    /// every renderer shows them; `–` where there is none.
    pub fn cells(&self) -> [String; 3] {
        let at = |t: Option<DateTime<Utc>>| t.map_or_else(|| "–".to_string(), super::format_clock);
        [
            at(self.first_failure),
            at(self.last_failure),
            self.worst_latency_us
                .map_or_else(|| "–".to_string(), crate::vocabulary::units::format_micros),
        ]
    }
}

/// The stop condition that ended a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbortReport {
    /// When it fired.
    pub at: DateTime<Utc>,
    /// The condition as written.
    pub condition: String,
    /// What it measured.
    pub measured: String,
}

impl AbortReport {
    /// The abort in one sentence, the same in every format: `code` marks up the condition and
    /// `text` makes the measured value safe for the format.
    pub fn sentence(&self, code: impl Fn(&str) -> String, text: impl Fn(&str) -> String) -> String {
        format!(
            "The stop condition {} fired at {} (measured {}). No kill followed; recoveries in \
             flight had a bounded time to end.",
            code(&self.condition),
            super::format_utc(self.at),
            text(&self.measured)
        )
    }
}
