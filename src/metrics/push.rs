//! `firedrill run --push URL`: the run's final numbers, PUT to a Pushgateway, so a nightly run
//! lands in Prometheus after its process is gone. PUT replaces the whole group, so series of a
//! target the scenario no longer has do not linger from last night.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::encode::{self, PROMETHEUS_TEXT_CONTENT_TYPE};
use super::RunMetrics;
use crate::check::http::{connector, parse_url};

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
    let https = uri.scheme_str() == Some("https");
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .build(connector(https).map_err(PushError::Unreachable)?);
    let request = Request::builder()
        .method(Method::PUT)
        .uri(uri)
        .header(CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE)
        .body(Full::new(Bytes::from(encode::prometheus_text(metrics))))
        .map_err(|e| PushError::BadUrl(e.to_string()))?;
    let answered = tokio::time::timeout(PUSH_TIMEOUT, async {
        let response = client
            .request(request)
            .await
            .map_err(|e| PushError::Unreachable(describe(&e)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            let body = String::from_utf8_lossy(&body);
            Err(PushError::Refused {
                status: status.as_u16(),
                body: body.trim().chars().take(300).collect(),
            })
        }
    })
    .await;
    match answered {
        Ok(Ok(())) => Ok(url),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(PushError::Unreachable(format!(
            "no answer within {}s",
            PUSH_TIMEOUT.as_secs()
        ))),
    }
}

/// A client error with its cause (hyper's own text is only "client error (Connect)").
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
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
