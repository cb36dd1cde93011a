//! Which Docker engine to talk to, and how: `DOCKER_HOST` (or the scenario's `host`) as a unix
//! socket, plain tcp, or tcp with TLS (`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), falling back to
//! the local socket. An engine that does not answer a ping is [`PlatformError::Unreachable`],
//! and the message names the endpoint that was tried.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};

use super::tls;
use crate::platform::PlatformError;

/// The socket Docker listens on when nothing else is configured.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Seconds bollard waits for the response headers of one request. The event stream's body is
/// not bound by it, so it only limits single calls such as inspect or kill.
const REQUEST_TIMEOUT_SECS: u64 = 30;

/// How long a ping may take before the engine counts as unreachable. A black-holed tcp address
/// would otherwise hang for the full request timeout.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// A resolved engine endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket on this machine.
    Unix(PathBuf),
    /// Plain HTTP over tcp, `host:port`.
    Tcp(String),
    /// HTTPS over tcp with client certificates from `cert_dir` (`key.pem`, `cert.pem`,
    /// `ca.pem`). The server certificate is verified against `ca.pem` alone, never the
    /// system store (see [`tls`]).
    Tls {
        /// `host:port`.
        addr: String,
        /// Folder holding the certificates.
        cert_dir: PathBuf,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "tcp://{addr}"),
            Endpoint::Tls { addr, cert_dir } => {
                write!(
                    f,
                    "tcp://{addr} (TLS, certificates in {})",
                    cert_dir.display()
                )
            }
        }
    }
}

impl Endpoint {
    /// Resolves the endpoint from the scenario's `host` (which wins) or the environment, as
    /// the docker CLI does. `env` looks up one variable; it is a parameter so tests need not
    /// touch the process environment.
    pub fn resolve(
        host: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Endpoint, PlatformError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let host = host
            .map(str::to_string)
            .or_else(|| set("DOCKER_HOST"))
            .unwrap_or_else(|| format!("unix://{DEFAULT_SOCKET}"));
        let tls_wanted = set("DOCKER_TLS_VERIFY").is_some() || set("DOCKER_TLS").is_some();
        let cert_dir = || {
            set("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".docker")))
                .unwrap_or_else(|| PathBuf::from(".docker"))
        };
        let bad = |reason: &str| PlatformError::Unreachable {
            endpoint: host.clone(),
            reason: reason.to_string(),
        };
        if let Some(path) = host.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(bad("the unix socket path is empty"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let (addr, tls) = if let Some(rest) = host.strip_prefix("tcp://") {
            (rest, tls_wanted)
        } else if let Some(rest) = host.strip_prefix("https://") {
            (rest, true)
        } else if let Some(rest) = host.strip_prefix("http://") {
            (rest, false)
        } else if host.starts_with("ssh://") || host.starts_with("npipe://") {
            return Err(bad(
                "ssh:// and npipe:// endpoints are not supported; use unix://, tcp:// or a \
                 tunnel to one",
            ));
        } else if host.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(&host)));
        } else {
            return Err(bad(
                "expected unix://PATH, tcp://HOST:PORT or https://HOST:PORT",
            ));
        };
        let addr = addr.trim_end_matches('/').to_string();
        if addr.is_empty() {
            return Err(bad("the tcp address is empty"));
        }
        Ok(if tls {
            Endpoint::Tls {
                addr,
                cert_dir: cert_dir(),
            }
        } else {
            Endpoint::Tcp(addr)
        })
    }

    /// Whether container PIDs the engine reports can be on this machine at all.
    pub fn is_local_socket(&self) -> bool {
        matches!(self, Endpoint::Unix(_))
    }

    fn unreachable(&self, reason: impl fmt::Display) -> PlatformError {
        PlatformError::Unreachable {
            endpoint: self.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Builds a client for this endpoint and pings the engine.
    pub async fn open(&self) -> Result<Docker, PlatformError> {
        let docker = match self {
            Endpoint::Unix(path) => Docker::connect_with_unix(
                &path.to_string_lossy(),
                REQUEST_TIMEOUT_SECS,
                API_DEFAULT_VERSION,
            )
            .map_err(|e| self.unreachable(e))?,
            Endpoint::Tcp(addr) => {
                Docker::connect_with_http(addr, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                    .map_err(|e| self.unreachable(e))?
            }
            Endpoint::Tls { addr, cert_dir } => {
                tls::connect(addr, cert_dir, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                    .map_err(|e| self.unreachable(e))?
            }
        };
        ping(&docker)
            .await
            .map_err(|reason| self.unreachable(reason))?;
        // Talk the engine's own API version when it is older than bollard's default, so a
        // Debian-packaged engine works too.
        match tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(negotiated)) => Ok(negotiated),
            Ok(Err(e)) => Err(self.unreachable(format!("version negotiation failed: {e}"))),
            Err(_) => Err(self.unreachable("version negotiation timed out")),
        }
    }
}

/// One ping with a deadline; `Err` says why the engine did not answer.
pub async fn ping(docker: &Docker) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer to a ping within {}",
            crate::vocabulary::units::HumanDuration(PING_TIMEOUT)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn no_host_anywhere_means_the_default_socket() {
        let e = Endpoint::resolve(None, env(&[])).unwrap();
        assert_eq!(e, Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET)));
        assert_eq!(e.to_string(), "unix:///var/run/docker.sock");
    }

    #[test]
    fn scenario_host_wins_over_docker_host() {
        let e = Endpoint::resolve(
            Some("unix:///tmp/x.sock"),
            env(&[("DOCKER_HOST", "tcp://10.0.0.1:2375")]),
        )
        .unwrap();
        assert_eq!(e, Endpoint::Unix(PathBuf::from("/tmp/x.sock")));
    }

    #[test]
    fn tcp_turns_into_tls_when_verify_is_set() {
        let plain = Endpoint::resolve(None, env(&[("DOCKER_HOST", "tcp://h:2375")])).unwrap();
        assert_eq!(plain, Endpoint::Tcp("h:2375".into()));
        let tls = Endpoint::resolve(
            None,
            env(&[
                ("DOCKER_HOST", "tcp://h:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
            ]),
        )
        .unwrap();
        assert_eq!(
            tls,
            Endpoint::Tls {
                addr: "h:2376".into(),
                cert_dir: "/certs".into()
            }
        );
        let home = Endpoint::resolve(
            None,
            env(&[
                ("DOCKER_HOST", "tcp://h:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("HOME", "/home/u"),
            ]),
        )
        .unwrap();
        assert!(
            matches!(home, Endpoint::Tls { cert_dir, .. } if cert_dir == Path::new("/home/u/.docker"))
        );
    }

    #[test]
    fn empty_tls_verify_does_not_turn_tls_on() {
        let e = Endpoint::resolve(
            None,
            env(&[("DOCKER_HOST", "tcp://h:2375"), ("DOCKER_TLS_VERIFY", "")]),
        )
        .unwrap();
        assert_eq!(e, Endpoint::Tcp("h:2375".into()));
    }

    #[test]
    fn unsupported_schemes_name_the_endpoint() {
        let err = Endpoint::resolve(Some("ssh://me@box"), env(&[])).unwrap_err();
        assert!(err.to_string().contains("ssh://me@box"), "{err}");
        let err = Endpoint::resolve(Some("box:2375"), env(&[])).unwrap_err();
        assert!(err.to_string().contains("box:2375"), "{err}");
    }

    #[tokio::test]
    async fn missing_tls_certificates_are_an_error_naming_the_endpoint_not_a_panic() {
        let e = Endpoint::Tls {
            addr: "127.0.0.1:1".into(),
            cert_dir: PathBuf::from("/nonexistent/certs"),
        };
        let err = e.open().await.unwrap_err();
        assert!(matches!(err, PlatformError::Unreachable { .. }));
        let text = err.to_string();
        assert!(
            text.contains("tcp://127.0.0.1:1") && text.contains("/nonexistent/certs"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_closed_tcp_port_is_unreachable() {
        let err = Endpoint::Tcp("127.0.0.1:1".into())
            .open()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("tcp://127.0.0.1:1"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_socket_is_unreachable_and_named() {
        let e = Endpoint::Unix(PathBuf::from("/nonexistent/firedrill.sock"));
        let err = e.open().await.unwrap_err();
        assert!(matches!(err, PlatformError::Unreachable { .. }));
        assert!(
            err.to_string()
                .contains("unix:///nonexistent/firedrill.sock"),
            "{err}"
        );
    }
}
