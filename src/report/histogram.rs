//! Recovery-time histograms: HdrHistogram in microseconds, summarised for people and
//! serialised whole so nightly runs can be merged and compared.

use serde::{Deserialize, Serialize};

use crate::slo::Stat;

/// A histogram's summary plus the histogram itself, serialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramSummary {
    /// Number of samples.
    pub count: u64,
    /// Smallest sample, microseconds.
    pub min_us: u64,
    /// Mean, microseconds.
    pub mean_us: f64,
    /// Median, microseconds.
    pub p50_us: u64,
    /// 90th percentile, microseconds.
    pub p90_us: u64,
    /// 95th percentile, microseconds.
    pub p95_us: u64,
    /// 99th percentile, microseconds.
    pub p99_us: u64,
    /// 99.9th percentile, microseconds.
    pub p999_us: u64,
    /// Largest sample, microseconds.
    pub max_us: u64,
    /// The HdrHistogram in its V2 deflate serialisation, base64.
    pub hdr_base64: String,
}

impl HistogramSummary {
    /// Records `samples` (microseconds) into an HdrHistogram and summarises it.
    pub fn from_samples(_samples: &[u64]) -> HistogramSummary {
        todo!("report helper")
    }

    /// One statistic in microseconds, or `None` for an empty histogram.
    pub fn stat(&self, _stat: Stat) -> Option<f64> {
        todo!("report helper")
    }
}
