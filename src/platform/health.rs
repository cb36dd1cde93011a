//! Health probes that firedrill runs itself: HTTP GET and TCP connect. Used by the local
//! platform, by docker targets with an http/tcp check, and by `firedrill probe`, which the test
//! image's HEALTHCHECK runs.

use std::net::SocketAddr;
use std::time::Duration;

/// What a probe checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// HTTP/1.1 GET `path`, healthy when the status equals `expect`.
    Http {
        /// Where to connect.
        addr: SocketAddr,
        /// Request path.
        path: String,
        /// Expected status code.
        expect: u16,
    },
    /// TCP connect, healthy when the connection opens.
    Tcp {
        /// Where to connect.
        addr: SocketAddr,
    },
}

/// Runs one probe; `Ok(())` when healthy, else why not.
pub async fn check(_probe: &Probe, _timeout: Duration) -> Result<(), String> {
    todo!("local helper")
}

/// `firedrill probe URL`: one probe of `http://HOST:PORT/PATH` or `tcp://HOST:PORT`.
pub async fn probe_url(_url: &str, _timeout: Duration) -> Result<(), String> {
    todo!("local helper")
}
