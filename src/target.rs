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

/// Reads one request head, answers it, and closes the connection.
async fn answer(mut stream: TcpStream, window: HealthWindow, pid: u32, port: u16) {
    let request_line = match tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(line)) => line,
        _ => return,
    };
    let (status, body) = respond(&request_line, window.healthy_now(), pid, port);
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The client may have gone already; there is nobody to tell.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads up to the blank line that ends the head and returns the request line.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_REQUEST_HEAD {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    text.lines().next().map(str::to_string)
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
