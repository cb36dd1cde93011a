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
        let at = |t: Option<DateTime<Utc>>| {
            t.map_or_else(|| "–".to_string(), |t| t.format("%H:%M:%S%.3f").to_string())
        };
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
