//! Health probes that firedrill runs itself: HTTP GET and TCP connect. Used by the local
//! platform, by docker targets with an http/tcp check, and by `firedrill probe`, which the test
//! image's HEALTHCHECK runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::vocabulary::units::HumanDuration;

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

/// The longest status line read before giving up on a response.
const MAX_STATUS_LINE: usize = 1024;

/// Runs one probe; `Ok(())` when healthy, else why not.
pub async fn check(probe: &Probe, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, check_unbounded(probe)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}", HumanDuration(timeout))),
    }
}

async fn check_unbounded(probe: &Probe) -> Result<(), String> {
    match probe {
        Probe::Tcp { addr } => TcpStream::connect(addr)
            .await
            .map(drop)
            .map_err(|e| format!("connect {addr}: {e}")),
        Probe::Http { addr, path, expect } => {
            let status = http_status(*addr, path).await?;
            if status == *expect {
                Ok(())
            } else {
                Err(format!("GET {path} answered {status}, expected {expect}"))
            }
        }
    }
}

/// Sends one GET on a fresh connection and returns the status code of the answer.
async fn http_status(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    // A fresh connection each time, closed by the server: a probe must not ride on a
    // keep-alive connection that outlived the instance it was meant to check.
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: firedrill\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        if buf.len() > MAX_STATUS_LINE {
            return Err(format!("{addr} sent no status line"));
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read from {addr}: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    parse_status_line(&buf).ok_or_else(|| {
        let text = String::from_utf8_lossy(&buf);
        let line = text.lines().next().unwrap_or("");
        format!("{addr} did not answer HTTP (got {line:?})")
    })
}

/// The status code of `HTTP/1.x CODE REASON`.
fn parse_status_line(buf: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(buf).ok()?;
    let line = text.lines().next()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

/// Probes `http://HOST:PORT/PATH` (healthy on 200) or `tcp://HOST:PORT` once, as
/// `firedrill probe` does.
pub async fn probe_url(url: &str, timeout: Duration) -> Result<(), String> {
    // One budget for resolving and probing, as a HEALTHCHECK's own timeout would see it, and
    // the message names that budget rather than whatever was left of it.
    let work = async {
        let probe = parse_url(url).await?;
        check_unbounded(&probe).await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer within {} from {url}",
            HumanDuration(timeout)
        )),
    }
}

/// Turns a probe URL into a [`Probe`], resolving the host.
pub async fn parse_url(url: &str) -> Result<Probe, String> {
    let hint = "expected http://HOST:PORT/PATH or tcp://HOST:PORT";
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("invalid probe URL {url:?}: {hint}"))?;
    match scheme {
        "http" => {
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], rest[i..].to_string()),
                None => (rest, "/".to_string()),
            };
            let addr = resolve(authority, 80)
                .await
                .map_err(|e| format!("invalid probe URL {url:?}: {e}"))?;
            Ok(Probe::Http {
                addr,
                path,
                expect: 200,
            })
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
            let addr = resolve(authority, 0)
                .await
                .map_err(|e| format!("invalid probe URL {url:?}: {e}"))?;
            Ok(Probe::Tcp { addr })
        }
        other => Err(format!(
            "invalid probe URL {url:?}: unknown scheme {other:?}; {hint}"
        )),
    }
}

/// Resolves `HOST[:PORT]`. Literal addresses and `localhost` never touch a resolver, so a
/// static binary in an empty container can probe itself.
async fn resolve(authority: &str, default_port: u16) -> Result<SocketAddr, String> {
    if authority.is_empty() {
        return Err("missing host".to_string());
    }
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port_text) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("unclosed [ in {authority:?}"))?;
            (host, rest.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port_text {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("invalid port {p:?}"))?,
        None => default_port,
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse_and_garbage_does_not() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status_line(b"HTTP/1.0 200\r\n"), Some(200));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 20\r\n"), None);
    }

    #[tokio::test]
    async fn urls_parse_into_probes() {
        let p = parse_url("http://127.0.0.1:8080/health").await.unwrap();
        assert_eq!(
            p,
            Probe::Http {
                addr: "127.0.0.1:8080".parse().unwrap(),
                path: "/health".into(),
                expect: 200
            }
        );
        let p = parse_url("tcp://localhost:5432").await.unwrap();
        assert_eq!(
            p,
            Probe::Tcp {
                addr: "127.0.0.1:5432".parse().unwrap()
            }
        );
        let p = parse_url("http://[::1]:81").await.unwrap();
        assert!(
            matches!(p, Probe::Http { addr, ref path, .. } if addr.port() == 81 && path == "/")
        );
        assert!(parse_url("tcp://127.0.0.1").await.is_err());
        assert!(parse_url("ftp://127.0.0.1:21").await.is_err());
        assert!(parse_url("127.0.0.1:80").await.is_err());
    }
}
