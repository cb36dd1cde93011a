//! `firedrill run --push URL`: the run's final numbers, PUT to a Pushgateway, so a nightly run
//! lands in Prometheus after its process is gone. PUT replaces the whole group, so series of a
//! target the scenario no longer has do not linger from last night.

use std::time::Duration;

use base64::Engine as _;
use hyper::body::Bytes;
use hyper::Uri;

use super::encode::{self, PROMETHEUS_TEXT_CONTENT_TYPE};
use super::RunMetrics;
use crate::check::http::{parse_url, Uploader};

/// How long a push may take before it is given up.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a push failed; it never names more of the URL than the user gave.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The URL is not an http(s) URL.
    #[error("--push: {0}")]
    BadUrl(String),
    /// No answer, or no connection.
    #[error("the Pushgateway did not answer: {0}")]
    Unreachable(String),
    /// It answered with an error status.
    #[error("the Pushgateway answered {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
}

/// Checks a `--push` URL before the run, so a typo costs nothing.
pub fn check_url(url: &str) -> Result<Uri, PushError> {
    parse_url(url).map_err(PushError::BadUrl)
}

/// The grouping URL for a run of `scenario`: `job="firedrill"` and the scenario's name, added
/// to the URL given unless it already names a group (`.../metrics/job/...`). A name with
/// characters a URL path cannot carry is sent base64-encoded, as the Pushgateway allows.
pub fn group_url(base: &str, scenario: &str) -> String {
    if base.contains("/metrics/job/") {
        return base.to_string();
    }
    let base = base.trim_end_matches('/');
    let plain = !scenario.is_empty()
        && scenario
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        format!("{base}/metrics/job/firedrill/scenario/{scenario}")
    } else {
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(scenario);
        format!("{base}/metrics/job/firedrill/scenario@base64/{encoded}")
    }
}

/// PUTs `metrics` to the Pushgateway at `base`; returns the URL pushed to.
pub async fn push(base: &str, metrics: &RunMetrics) -> Result<String, PushError> {
    let scenario = metrics
        .run
        .as_ref()
        .map(|r| r.scenario.as_str())
        .unwrap_or("unknown");
    let url = group_url(base, scenario);
    let uri = check_url(&url)?;
    let uploader =
        Uploader::new(uri.scheme_str() == Some("https")).map_err(PushError::Unreachable)?;
    let body = Bytes::from(encode::prometheus_text(metrics));
    let sent = tokio::time::timeout(
        PUSH_TIMEOUT,
        uploader.put(&uri, PROMETHEUS_TEXT_CONTENT_TYPE, body),
    )
    .await;
    match sent {
        Ok(Ok((status, _))) if (200..300).contains(&status) => Ok(url),
        Ok(Ok((status, answer))) => Err(PushError::Refused {
            status,
            body: String::from_utf8_lossy(&answer)
                .trim()
                .chars()
                .take(300)
                .collect(),
        }),
        Ok(Err(kind)) => Err(PushError::Unreachable(kind)),
        Err(_) => Err(PushError::Unreachable(format!(
            "no answer within {}s",
            PUSH_TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_scenario_name_is_a_path_segment_and_any_other_is_base64() {
        assert_eq!(
            group_url("http://pgw:9091/", "shop-nightly"),
            "http://pgw:9091/metrics/job/firedrill/scenario/shop-nightly"
        );
        assert_eq!(
            group_url("http://pgw:9091", "shop nightly/eu"),
            "http://pgw:9091/metrics/job/firedrill/scenario@base64/c2hvcCBuaWdodGx5L2V1"
        );
        assert_eq!(
            group_url("http://pgw:9091/metrics/job/nightly", "x"),
            "http://pgw:9091/metrics/job/nightly"
        );
    }
}
