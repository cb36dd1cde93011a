//! Health checks that a platform runs itself against its instances: an HTTP GET or a TCP
//! connect, through the one client in [`crate::check`]. Used by the local platform and by
//! docker targets with an http/tcp check.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use crate::check::{self, HttpCheck, HttpClient};

/// What a health check checks on one instance.
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

/// The client every health check shares. Connections are not kept: a health check must not
/// ride on a kept connection that outlived the instance it was meant to check.
fn client() -> Result<HttpClient, String> {
    static CLIENT: OnceLock<Result<HttpClient, String>> = OnceLock::new();
    CLIENT.get_or_init(|| HttpClient::new(false, false)).clone()
}

/// Runs one health check; `Ok(())` when healthy, else why not.
pub async fn check(probe: &Probe, timeout: Duration) -> Result<(), String> {
    let prepared = match probe {
        Probe::Tcp { addr } => check::Check::Tcp {
            address: addr.to_string(),
        },
        Probe::Http { addr, path, expect } => {
            let uri = check::http::parse_url(&format!("http://{addr}{path}"))?;
            check::Check::Http(Box::new(HttpCheck::new(client()?, uri, *expect, None)))
        }
    };
    match prepared.once(timeout).await.error {
        None => Ok(()),
        Some(why) => Err(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server answering `status`.
    async fn answer_once(status: &'static str) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let reply =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(reply.as_bytes()).await;
        });
        addr
    }

    #[tokio::test]
    async fn http_checks_judge_the_status_and_name_what_they_got() {
        let ok = answer_once("200 OK").await;
        let probe = |addr| Probe::Http {
            addr,
            path: "/health".into(),
            expect: 200,
        };
        assert_eq!(check(&probe(ok), Duration::from_secs(2)).await, Ok(()));
        let booting = answer_once("503 Service Unavailable").await;
        let why = check(&probe(booting), Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(
            why.contains("GET /health answered 503, expected 200"),
            "{why}"
        );
    }
}
