//! `firedrill target`: a tiny HTTP server with `/health`, so demos and tests need nothing else
//! installed. It is also what the Docker test image runs.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};

/// Options of `firedrill target`.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Answer /health with 503 until this long after start, like a service warming up.
    #[arg(long, default_value = "0s")]
    pub boot_delay: crate::vocabulary::units::HumanDuration,
    /// Start failing /health (503) this long after start, like a service going bad.
    #[arg(long)]
    pub fail_after: Option<crate::vocabulary::units::HumanDuration>,
}

/// A slow client gets this long to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A kept connection with no new request for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest request head read.
const MAX_REQUEST_HEAD: usize = 8192;

/// When /health answers 200, measured from the server's start.
#[derive(Debug, Clone, Copy)]
struct HealthWindow {
    started: Instant,
    boot_delay: Duration,
    fail_after: Option<Duration>,
}

impl HealthWindow {
    fn healthy_now(&self) -> bool {
        let age = self.started.elapsed();
        age >= self.boot_delay && !matches!(self.fail_after, Some(f) if age >= f)
    }
}

/// Serves until killed.
pub async fn serve(args: TargetArgs) -> anyhow::Result<()> {
    let window = HealthWindow {
        started: Instant::now(),
        boot_delay: args.boot_delay.get(),
        fail_after: args.fail_after.map(|d| d.get()),
    };
    // Before "listening" is printed: a supervisor may send SIGTERM as soon as it reads it.
    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let ip = bind_address(&args.bind)?;
    let listener = TcpListener::bind(SocketAddr::new(ip, args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {local}").context("cannot write to stdout")?;
    // A supervisor may read this line through a pipe, so it must not sit in a buffer.
    stdout.flush().context("cannot write to stdout")?;

    let pid = std::process::id();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(answer(stream, window, pid, local.port()));
                }
                Err(e) => tracing::warn!("accept failed: {e}"),
            },
            _ = sigterm.recv() => return Ok(()),
            _ = sigint.recv() => return Ok(()),
        }
    }
}

/// Parses `--bind` without a resolver, so the static binary needs no name service.
fn bind_address(text: &str) -> anyhow::Result<IpAddr> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    text.parse().with_context(|| {
        format!("invalid --bind {text:?}: expected an IP address such as 127.0.0.1 or 0.0.0.0")
    })
}

/// Answers requests on one connection, keeping it open between them as HTTP/1.1 does, so a
/// health checker that keeps its connection does not pay a new one per check. It closes when
/// the client asks (`Connection: close`, or HTTP/1.0), goes quiet, or sends a broken head.
async fn answer(mut stream: TcpStream, window: HealthWindow, pid: u32, port: u16) {
    let mut pending = Vec::new();
    let mut wait = REQUEST_TIMEOUT;
    loop {
        let head = match tokio::time::timeout(wait, read_head(&mut stream, &mut pending)).await {
            Ok(Some(head)) => head,
            _ => break,
        };
        wait = IDLE_TIMEOUT;
        let request_line = head.lines().next().unwrap_or_default();
        let keep = keeps_alive(&head);
        let (status, body) = respond(request_line, window.healthy_now(), pid, port);
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            _ => "Service Unavailable",
        };
        let connection = if keep { "keep-alive" } else { "close" };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
            body.len()
        );
        // The client may have gone already; there is nobody to tell.
        if stream.write_all(response.as_bytes()).await.is_err() || !keep {
            break;
        }
    }
    let _ = stream.shutdown().await;
}

/// Whether the client wants the connection kept after this request: HTTP/1.1 unless it says
/// `Connection: close`.
fn keeps_alive(head: &str) -> bool {
    let mut lines = head.lines();
    let http11 = lines
        .next()
        .is_some_and(|line| line.trim_end().ends_with("HTTP/1.1"));
    let close = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("connection")
                && value.trim().eq_ignore_ascii_case("close")
        })
    });
    http11 && !close
}

/// Reads up to the blank line that ends the next head and returns it; what follows it (a
/// pipelined request) stays in `pending` for the next call. `None` at the end of the stream or
/// on a head without its blank line.
async fn read_head(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 512];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 4);
            return Some(head);
        }
        if pending.len() >= MAX_REQUEST_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// The status and body for a request line.
fn respond(request_line: &str, healthy: bool, pid: u32, port: u16) -> (u16, String) {
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/health") if healthy => (200, "ok".to_string()),
        ("GET", "/health") => (503, "unavailable\n".to_string()),
        ("GET", "/") => (200, format!("firedrill target pid {pid} port {port}\n")),
        _ => (404, "not found\n".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_answer_as_documented() {
        assert_eq!(respond("GET /health HTTP/1.1", true, 1, 2).0, 200);
        assert_eq!(respond("GET /health?x=1 HTTP/1.1", false, 1, 2).0, 503);
        let (status, body) = respond("GET / HTTP/1.1", false, 42, 8080);
        assert_eq!(status, 200);
        assert!(body.contains("pid 42") && body.contains("port 8080"));
        assert_eq!(respond("GET /nope HTTP/1.1", true, 1, 2).0, 404);
        assert_eq!(respond("POST /health HTTP/1.1", true, 1, 2).0, 404);
        assert_eq!(respond("", true, 1, 2).0, 404);
    }

    #[test]
    fn a_connection_is_kept_unless_the_client_closes_it_or_speaks_http_1_0() {
        assert!(keeps_alive("GET /health HTTP/1.1\r\nHost: x"));
        assert!(!keeps_alive("GET /health HTTP/1.1\r\nconnection: Close"));
        assert!(!keeps_alive("GET /health HTTP/1.0\r\nHost: x"));
    }

    #[tokio::test]
    async fn one_connection_carries_many_requests_until_the_client_closes_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let window = HealthWindow {
            started: Instant::now(),
            boot_delay: Duration::ZERO,
            fail_after: None,
        };
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            answer(stream, window, 1, addr.port()).await;
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut answers = String::new();
        for last in [false, false, true] {
            let close = if last { "Connection: close\r\n" } else { "" };
            let request = format!("GET /health HTTP/1.1\r\nHost: t\r\n{close}\r\n");
            client.write_all(request.as_bytes()).await.unwrap();
            let mut buf = [0u8; 512];
            let n = client.read(&mut buf).await.unwrap();
            answers.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 3, "{answers}");
        assert_eq!(answers.matches("Connection: keep-alive").count(), 2);
        // After the third answer the server closed its side.
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        server.await.unwrap();
    }

    #[test]
    fn health_window_opens_after_boot_and_closes_at_fail_after() {
        let now = Instant::now();
        let booting = HealthWindow {
            started: now,
            boot_delay: Duration::from_secs(60),
            fail_after: None,
        };
        assert!(!booting.healthy_now());
        let failed = HealthWindow {
            started: now,
            boot_delay: Duration::ZERO,
            fail_after: Some(Duration::ZERO),
        };
        assert!(!failed.healthy_now());
        let fine = HealthWindow {
            started: now,
            boot_delay: Duration::ZERO,
            fail_after: Some(Duration::from_secs(60)),
        };
        assert!(fine.healthy_now());
    }
}
