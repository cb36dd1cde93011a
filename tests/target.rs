//! `firedrill target` and `firedrill probe`, driven through the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_firedrill");

/// A running `firedrill target`, ended by PID when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    spawned: Instant,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let spawned = Instant::now();
        let mut child = Command::new(BIN)
            .args(["target", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server {
            child,
            addr,
            spawned,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status code and body of `GET path`.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Polls /health until it answers `want`, returning when (since spawn) it first did.
fn first_time_health_is(server: &Server, want: u16, limit: Duration) -> Duration {
    loop {
        let (status, _) = get(server.addr, "/health");
        let elapsed = server.spawned.elapsed();
        if status == want {
            return elapsed;
        }
        assert!(
            elapsed < limit,
            "/health never answered {want} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn health_is_503_during_boot_delay_then_200() {
    let server = Server::start(&["--boot-delay", "1500ms"]);
    assert_eq!(
        get(server.addr, "/health").0,
        503,
        "healthy before boot delay"
    );
    let healthy_after = first_time_health_is(&server, 200, Duration::from_secs(20));
    assert!(
        healthy_after >= Duration::from_millis(1500),
        "healthy after {healthy_after:?}, before the 1.5s boot delay"
    );
}

#[test]
fn health_turns_503_at_fail_after_and_stays_there() {
    let server = Server::start(&["--fail-after", "1500ms"]);
    assert_eq!(
        get(server.addr, "/health").0,
        200,
        "unhealthy from the start"
    );
    let failed_after = first_time_health_is(&server, 503, Duration::from_secs(20));
    assert!(
        failed_after >= Duration::from_millis(1500),
        "failing after {failed_after:?}, before fail-after 1.5s"
    );
    for _ in 0..3 {
        assert_eq!(
            get(server.addr, "/health").0,
            503,
            "recovered after failing"
        );
    }
}

#[test]
fn root_names_pid_and_port_and_other_paths_are_404() {
    let server = Server::start(&[]);
    let (status, body) = get(server.addr, "/");
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("pid {}", server.child.id())),
        "{body}"
    );
    assert!(
        body.contains(&format!("port {}", server.addr.port())),
        "{body}"
    );
    assert_eq!(get(server.addr, "/nope").0, 404);
}

#[test]
fn sigterm_ends_the_server_with_exit_0() {
    let mut server = Server::start(&[]);
    let pid = i32::try_from(server.child.id()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
}

fn probe(url: &str) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["probe", url, "--timeout", "2s"])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn probe_exits_0_when_healthy_1_with_the_reason_when_not_and_2_for_a_bad_url() {
    let server = Server::start(&["--fail-after", "60s"]);
    let a = server.addr;
    assert_eq!(probe(&format!("http://{a}/health")).0, Some(0));
    assert_eq!(probe(&format!("tcp://{a}")).0, Some(0));
    let (code, stderr) = probe(&format!("http://{a}/nope"));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("404"), "{stderr}");

    let booting = Server::start(&["--boot-delay", "60s"]);
    let (code, stderr) = probe(&format!("http://{}/health", booting.addr));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("503"), "{stderr}");

    // A port that was free a moment ago: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(probe(&format!("tcp://{closed}")).0, Some(1));
    assert_eq!(probe(&format!("http://{closed}/health")).0, Some(1));
    // A URL that cannot be probed is a usage error, not an unhealthy endpoint.
    assert_eq!(probe("ftp://127.0.0.1:21").0, Some(2));
}

#[test]
fn probe_gives_up_at_its_timeout_when_nothing_answers() {
    // Connections complete in the kernel's backlog, but no one ever answers them.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let began = Instant::now();
    let out = Command::new(BIN)
        .args([
            "probe",
            &format!("http://{addr}/health"),
            "--timeout",
            "300ms",
        ])
        .output()
        .unwrap();
    let took = began.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no answer within 300ms"), "{stderr}");
    assert!(took >= Duration::from_millis(300), "gave up after {took:?}");
}
