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

/// The client every health check shares. It keeps its connections, so checking a fleet every
/// few milliseconds does not open and close a socket per check. A kept connection cannot
/// outlive the instance it checks: when the process dies the kernel closes its end, the client
/// sees the connection closed and opens a new one, which is refused, so the check fails as a
/// fresh one would; a frozen instance does not answer on either. Client-facing probes
/// (`probes:`) keep their fresh-connection default, as a new client would connect.
fn client() -> Result<HttpClient, String> {
    static CLIENT: OnceLock<Result<HttpClient, String>> = OnceLock::new();
    CLIENT.get_or_init(|| HttpClient::new(false, true)).clone()
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

    /// A keep-alive HTTP server answering 200 to every request; counts the connections it
    /// accepted. Aborting the task closes every connection, as a process's death would.
    async fn keep_alive_server() -> (
        SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
        tokio::task::JoinHandle<()>,
    ) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                conns.spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if s.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (addr, accepted, task)
    }

    #[tokio::test]
    async fn checks_keep_their_connection_and_fail_once_the_instance_is_gone() {
        let (addr, accepted, server) = keep_alive_server().await;
        let probe = Probe::Http {
            addr,
            path: "/health".into(),
            expect: 200,
        };
        for _ in 0..20 {
            assert_eq!(check(&probe, Duration::from_secs(2)).await, Ok(()));
        }
        assert_eq!(
            accepted.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "twenty checks, one connection"
        );
        // The instance dies: its listener and its end of the kept connection close.
        server.abort();
        let _ = server.await;
        let why = check(&probe, Duration::from_secs(2)).await.unwrap_err();
        assert!(!why.is_empty());
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
