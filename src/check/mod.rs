//! Every check firedrill makes against an endpoint, with one HTTP client: an HTTP(S) GET judged
//! by its status (and optionally its body), or a TCP connect. The platforms' health checks,
//! the steady-state probes and `firedrill probe` (the test image's HEALTHCHECK) all use it.

pub mod address;
pub mod http;

use std::time::Duration;

use tokio::net::TcpStream;

use crate::vocabulary::units::HumanDuration;

pub use self::http::{HttpCheck, HttpClient};

/// What one check came to: the HTTP status when an answer came, and why it failed, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status code, when a response arrived.
    pub status: Option<u16>,
    /// Why the check counts as failed.
    pub error: Option<String>,
}

impl Outcome {
    /// A failed check.
    pub fn failed(status: Option<u16>, error: String) -> Outcome {
        Outcome {
            status,
            error: Some(error),
        }
    }

    /// Whether the check passed.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// A prepared check.
#[derive(Debug, Clone)]
pub enum Check {
    /// An HTTP(S) GET.
    Http(Box<HttpCheck>),
    /// A TCP connect to `host:port`.
    Tcp {
        /// Where to connect.
        address: String,
    },
}

impl Check {
    /// Runs the check once, giving up after `timeout`; the message names that whole budget.
    pub async fn once(&self, timeout: Duration) -> Outcome {
        let work = async {
            match self {
                Check::Http(h) => h.request().await,
                Check::Tcp { address } => tcp_connect(address).await,
            }
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or_else(|_| {
                Outcome::failed(None, format!("no answer within {}", HumanDuration(timeout)))
            })
    }
}

/// Opens and closes one TCP connection to `address`.
pub async fn tcp_connect(address: &str) -> Outcome {
    match TcpStream::connect(address).await {
        Ok(_) => Outcome {
            status: None,
            error: None,
        },
        Err(e) => Outcome::failed(
            None,
            format!("could not connect to {address} ({})", http::io_cause(&e)),
        ),
    }
}

/// The check a `firedrill probe` URL names: `http://HOST:PORT/PATH` or `https://...` (healthy
/// on 200) or `tcp://HOST:PORT`. Host names other than `localhost` are resolved now; literal
/// addresses and `localhost` never touch a resolver, so a static binary in an empty container
/// can probe itself.
pub async fn from_url(url: &str) -> Result<Check, String> {
    let hint = "expected http://HOST:PORT/PATH, https://HOST:PORT/PATH or tcp://HOST:PORT";
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("invalid probe URL {url:?}: {hint}"))?;
    match scheme {
        "http" | "https" => {
            let https = scheme == "https";
            let (authority, path) = match rest.find(['/', '?']) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let default_port = if https { 443 } else { 80 };
            // https must keep the host name: the server's certificate is checked against it.
            let host = if https {
                authority.to_string()
            } else {
                address::resolve(authority, default_port)
                    .await
                    .map_err(|e| format!("invalid probe URL {url:?}: {e}"))?
                    .to_string()
            };
            let path = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
            let uri = http::parse_url(&format!("{scheme}://{host}{path}"))
                .map_err(|e| format!("invalid probe URL {url:?}: {e}"))?;
            let client = HttpClient::new(https, false)?;
            Ok(Check::Http(Box::new(HttpCheck::new(
                client, uri, 200, None,
            ))))
        }
        "tcp" => {
            let authority = rest.trim_end_matches('/');
            if !authority
                .rsplit(']')
                .next()
                .is_some_and(|tail| tail.contains(':'))
            {
                return Err(format!(
                    "invalid probe URL {url:?}: tcp needs a port; {hint}"
                ));
            }
            let addr = address::resolve(authority, 0)
                .await
                .map_err(|e| format!("invalid probe URL {url:?}: {e}"))?;
            Ok(Check::Tcp {
                address: addr.to_string(),
            })
        }
        other => Err(format!(
            "invalid probe URL {url:?}: unknown scheme {other:?}; {hint}"
        )),
    }
}

/// Why `firedrill probe` did not report healthy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The URL cannot be probed at all (exit code 2): a bad scheme, no port, a bad address.
    #[error("{0}")]
    Usage(String),
    /// The endpoint was probed and is not healthy (exit code 1).
    #[error("unhealthy: {0}")]
    Unhealthy(String),
}

/// What answered a healthy `firedrill probe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// The endpoint probed, as the check addressed it (`http://127.0.0.1:8080/health`,
    /// `tcp 127.0.0.1:5432`).
    pub endpoint: String,
    /// The HTTP status, for an HTTP check.
    pub status: Option<u16>,
    /// How long the check took, resolving excluded.
    pub latency: Duration,
}

impl std::fmt::Display for ProbeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let took = HumanDuration(self.latency);
        match self.status {
            Some(status) => write!(f, "healthy: {} answered {status} in {took}", self.endpoint),
            None => write!(
                f,
                "healthy: {} accepted a connection in {took}",
                self.endpoint
            ),
        }
    }
}

/// Checks `url` once within `timeout` (resolving included), as `firedrill probe` does.
pub async fn probe_url(url: &str, timeout: Duration) -> Result<ProbeAnswer, ProbeError> {
    // One budget for resolving and probing, as a HEALTHCHECK's own timeout would see it.
    let work = async {
        let check = from_url(url).await.map_err(ProbeError::Usage)?;
        let endpoint = match &check {
            Check::Http(h) => h.uri().to_string(),
            Check::Tcp { address } => format!("tcp {address}"),
        };
        let began = std::time::Instant::now();
        let outcome = check.once(Duration::MAX).await;
        let latency = began.elapsed();
        match outcome.error {
            None => Ok(ProbeAnswer {
                endpoint,
                status: outcome.status,
                latency,
            }),
            Some(why) => Err(ProbeError::Unhealthy(why)),
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::Unhealthy(format!(
            "no answer within {} from {url}",
            HumanDuration(timeout)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http_uri(check: &Check) -> String {
        match check {
            Check::Http(h) => h.uri().to_string(),
            Check::Tcp { address } => format!("tcp {address}"),
        }
    }

    #[tokio::test]
    async fn probe_urls_become_checks() {
        let c = from_url("http://127.0.0.1:8080/health").await.unwrap();
        assert_eq!(http_uri(&c), "http://127.0.0.1:8080/health");
        let c = from_url("http://localhost:81").await.unwrap();
        assert_eq!(http_uri(&c), "http://127.0.0.1:81/");
        let c = from_url("https://example.test:8443/ready").await.unwrap();
        assert_eq!(http_uri(&c), "https://example.test:8443/ready");
        let c = from_url("tcp://localhost:5432").await.unwrap();
        assert_eq!(http_uri(&c), "tcp 127.0.0.1:5432");
        let c = from_url("http://[::1]:81").await.unwrap();
        assert_eq!(http_uri(&c), "http://[::1]:81/");
        assert!(from_url("tcp://127.0.0.1").await.is_err());
        assert!(from_url("ftp://127.0.0.1:21").await.is_err());
        assert!(from_url("127.0.0.1:80").await.is_err());
    }

    #[tokio::test]
    async fn a_closed_port_fails_with_the_cause() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let out = tcp_connect(&closed.to_string()).await;
        let why = out.error.unwrap();
        assert!(
            why.contains(&closed.to_string()) && why.contains("refused"),
            "{why}"
        );
        let c = from_url(&format!("http://{closed}/health")).await.unwrap();
        let why = c.once(Duration::from_secs(2)).await.error.unwrap();
        assert_eq!(why, "could not connect (connection refused)");
    }

    #[tokio::test]
    async fn a_probe_names_a_bad_url_as_usage_and_a_closed_port_as_unhealthy() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let bad = probe_url("ftp://127.0.0.1:21", Duration::from_secs(1)).await;
        assert!(matches!(bad, Err(ProbeError::Usage(_))), "{bad:?}");
        let bad = probe_url("tcp://127.0.0.1", Duration::from_secs(1)).await;
        assert!(matches!(bad, Err(ProbeError::Usage(_))), "{bad:?}");
        let down = probe_url(&format!("tcp://{closed}"), Duration::from_secs(1)).await;
        assert_eq!(
            down,
            Err(ProbeError::Unhealthy(format!(
                "could not connect to {closed} (connection refused)"
            )))
        );
    }
}
