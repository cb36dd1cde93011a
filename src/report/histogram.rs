//! Recovery-time histograms: HdrHistogram in microseconds, summarised for people and
//! serialised whole so nightly runs can be merged and compared.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::vocabulary::slo::Stat;

/// Lowest value the histograms resolve, in microseconds.
pub const LOWEST_US: u64 = 1;
/// Highest value the histograms track, in microseconds (one hour). Longer samples are clamped.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant figures kept: 3 keeps every value within 0.1%.
pub const SIGNIFICANT_FIGURES: u8 = 3;

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

/// Errors decoding [`HistogramSummary::hdr_base64`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The text is not base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not a serialised HdrHistogram.
    #[error("histogram is not a V2 HdrHistogram: {0}")]
    Hdr(hdrhistogram::serialization::DeserializeError),
}

/// An empty histogram with firedrill's bounds.
pub fn empty_histogram() -> Histogram<u64> {
    // The bounds are constants known to be valid (1 <= low, high >= 2 * low, sigfig <= 5).
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
        .expect("constant histogram bounds are valid")
}

impl HistogramSummary {
    /// Records `samples` (microseconds) into an HdrHistogram and summarises it.
    ///
    /// Samples above one hour are clamped to one hour rather than rejected, so one runaway
    /// recovery still counts. Count, min, max and mean are exact (over the clamped samples);
    /// percentiles come from the histogram, within 0.1%, and are kept between min and max so a
    /// bucket's upper edge never reads higher than the largest sample.
    pub fn from_samples(samples: &[u64]) -> HistogramSummary {
        let mut hist = empty_histogram();
        for &s in samples {
            hist.saturating_record(s);
        }
        let clamped = || samples.iter().map(|&s| s.min(HIGHEST_US));
        let count = samples.len() as u64;
        let min_us = clamped().min().unwrap_or(0);
        let max_us = clamped().max().unwrap_or(0);
        let mean_us = if count == 0 {
            0.0
        } else {
            clamped().map(|s| s as f64).sum::<f64>() / count as f64
        };
        let quantile = |q: f64| {
            if count == 0 {
                0
            } else {
                hist.value_at_quantile(q).clamp(min_us, max_us)
            }
        };
        HistogramSummary {
            count,
            min_us,
            mean_us,
            p50_us: quantile(0.50),
            p90_us: quantile(0.90),
            p95_us: quantile(0.95),
            p99_us: quantile(0.99),
            p999_us: quantile(0.999),
            max_us,
            hdr_base64: encode(&hist),
        }
    }

    /// One statistic in microseconds, or `None` for an empty histogram.
    pub fn stat(&self, stat: Stat) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let v = match stat {
            Stat::P50 => self.p50_us,
            Stat::P90 => self.p90_us,
            Stat::P95 => self.p95_us,
            Stat::P99 => self.p99_us,
            Stat::P999 => self.p999_us,
            Stat::Max => self.max_us,
            Stat::Min => self.min_us,
            Stat::Mean => return Some(self.mean_us),
        };
        Some(v as f64)
    }

    /// Decodes [`hdr_base64`](Self::hdr_base64) back into the histogram, e.g. to merge runs.
    pub fn decode(&self) -> Result<Histogram<u64>, DecodeError> {
        let bytes = BASE64.decode(self.hdr_base64.as_bytes())?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(DecodeError::Hdr)
    }
}

fn encode(hist: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serialising into a Vec cannot hit an I/O error, and a histogram built with
    // `new_with_bounds` always fits the V2 format; an empty string (which `decode` rejects)
    // is the fallback rather than a panic mid-report.
    match V2DeflateSerializer::new().serialize(hist, &mut bytes) {
        Ok(_) => BASE64.encode(bytes),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_matches_the_samples() {
        let samples: Vec<u64> = (1..=1000).map(|i| i * 1_000).collect();
        let s = HistogramSummary::from_samples(&samples);
        assert_eq!(s.count, 1000);
        assert_eq!(s.min_us, 1_000);
        assert_eq!(s.max_us, 1_000_000);
        assert!((s.mean_us - 500_500.0).abs() < 1e-6);
        let within = |got: u64, want: u64| (got as f64 - want as f64).abs() <= want as f64 * 1e-3;
        assert!(within(s.p50_us, 500_000), "p50 {}", s.p50_us);
        assert!(within(s.p90_us, 900_000), "p90 {}", s.p90_us);
        assert!(within(s.p99_us, 990_000), "p99 {}", s.p99_us);
        assert!(s.p999_us <= s.max_us);
        assert_eq!(s.stat(Stat::P90), Some(s.p90_us as f64));
        assert_eq!(s.stat(Stat::Mean), Some(s.mean_us));
    }

    #[test]
    fn a_single_sample_reads_back_exactly_in_every_statistic() {
        let s = HistogramSummary::from_samples(&[1_234_567]);
        for stat in Stat::ALL {
            assert_eq!(s.stat(stat), Some(1_234_567.0), "{}", stat.as_str());
        }
    }

    #[test]
    fn an_empty_histogram_has_no_statistics() {
        let s = HistogramSummary::from_samples(&[]);
        assert_eq!(s.count, 0);
        assert_eq!(s.stat(Stat::P99), None);
        assert_eq!(s.decode().unwrap().len(), 0);
    }

    #[test]
    fn out_of_range_samples_are_clamped_not_rejected() {
        let s = HistogramSummary::from_samples(&[0, 2 * HIGHEST_US]);
        assert_eq!(s.count, 2);
        assert_eq!(s.min_us, 0);
        assert_eq!(s.max_us, HIGHEST_US);
        assert_eq!(s.decode().unwrap().len(), 2);
    }

    #[test]
    fn the_serialised_histogram_round_trips() {
        let samples = [850, 12_400, 1_500_000, 1_500_000, 29_000_000];
        let s = HistogramSummary::from_samples(&samples);
        let back = s.decode().unwrap();
        let mut original = empty_histogram();
        for v in samples {
            original.record(v).unwrap();
        }
        assert_eq!(back, original);
        assert_eq!(back.len(), 5);
        assert_eq!(back.value_at_quantile(0.5), original.value_at_quantile(0.5));
    }

    #[test]
    fn decoding_garbage_is_an_error() {
        let mut s = HistogramSummary::from_samples(&[1]);
        s.hdr_base64 = "not base64!".into();
        assert!(matches!(s.decode(), Err(DecodeError::Base64(_))));
        s.hdr_base64 = BASE64.encode(b"not a histogram");
        assert!(matches!(s.decode(), Err(DecodeError::Hdr(_))));
    }
}
