//! Steady-state probes in the scenario file: what a client of the service would do (an HTTP
//! request or a TCP connect), run at its own pace from before the first kill until the last
//! recovery ends, so the report can say what users saw during each replacement.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::vocabulary::units::HumanDuration;

/// Default time between two probe requests.
pub const DEFAULT_PROBE_EVERY: Duration = Duration::from_millis(100);
/// Default time one probe request may take before it counts as failed.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One steady-state probe. Exactly one of `http` and `tcp` is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Name used in SLOs (`probe.NAME.availability`), stop conditions and reports.
    pub name: String,
    /// An HTTP request, as a client of the service would send it.
    #[serde(default)]
    pub http: Option<HttpProbe>,
    /// A TCP connect, for services that do not speak HTTP.
    #[serde(default)]
    pub tcp: Option<TcpProbe>,
}

/// An HTTP (or HTTPS, through rustls) GET.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    /// Full URL, `http://host:port/path` or `https://...`.
    pub url: String,
    /// Expected status code; default 200.
    #[serde(default = "default_expect")]
    pub expect: u16,
    /// A regular expression the response body must match.
    #[serde(default)]
    pub body: Option<String>,
    /// Time between requests; default 100ms.
    #[serde(default)]
    pub every: Option<HumanDuration>,
    /// Time one request may take, body included; default 1s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Keep connections open between requests. Off by default, so each request opens a fresh
    /// connection as a new client would, and a dead instance cannot hide behind a kept socket.
    #[serde(default)]
    pub reuse_connections: bool,
}

fn default_expect() -> u16 {
    200
}

/// A TCP connect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    /// `host:port` to connect to.
    pub address: String,
    /// Time between connects; default 100ms.
    #[serde(default)]
    pub every: Option<HumanDuration>,
    /// Time one connect may take; default 1s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

impl ProbeConfig {
    /// Time between two requests.
    pub fn every(&self) -> Duration {
        let every = match (&self.http, &self.tcp) {
            (Some(h), _) => h.every,
            (None, Some(t)) => t.every,
            (None, None) => None,
        };
        every.map_or(DEFAULT_PROBE_EVERY, HumanDuration::get)
    }

    /// Time one request may take.
    pub fn timeout(&self) -> Duration {
        let timeout = match (&self.http, &self.tcp) {
            (Some(h), _) => h.timeout,
            (None, Some(t)) => t.timeout,
            (None, None) => None,
        };
        timeout.map_or(DEFAULT_PROBE_TIMEOUT, HumanDuration::get)
    }

    /// `http` or `tcp`.
    pub fn kind(&self) -> &'static str {
        if self.http.is_some() {
            "http"
        } else {
            "tcp"
        }
    }

    /// What the probe reaches: the URL or the address.
    pub fn endpoint(&self) -> String {
        match (&self.http, &self.tcp) {
            (Some(h), _) => h.url.clone(),
            (None, Some(t)) => t.address.clone(),
            (None, None) => String::new(),
        }
    }
}
