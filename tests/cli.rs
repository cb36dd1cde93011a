//! The command line's consistency: `--format` on every subcommand with an output format and
//! `--output` as its alias, `targets` as a table with headers that does not call unstarted
//! slots healthy, and `probe`'s exit codes (0 healthy with a line saying what answered, 1
//! unhealthy with the cause, 2 for a URL it cannot probe). Needs no Docker.

mod common;

use std::net::TcpListener;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::fleet::QuickFleet;

fn firedrill(args: &[&str]) -> Output {
    common::firedrill()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run firedrill")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn targets_shows_a_header_and_calls_unspawned_managed_slots_not_started() {
    let work = tempfile::tempdir().expect("temp dir");
    let path = QuickFleet::new("targets-table", 3, "50ms")
        .with("schedule: { every: 1s, max_kills: 1 }")
        .with("policy: { min_healthy: 66% }")
        .write(work.path());
    let path = path.to_str().expect("utf-8 path");
    let out = firedrill(&["targets", path]);
    let stdout = text(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("target web: 3 slots a run would spawn (not started yet)"),
        "{stdout}"
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        ["SLOT", "ID", "STATE", "AGE", "ELIGIBLE"],
        "{stdout}"
    );
    for (k, line) in lines[2..].iter().enumerate() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                &format!("web/{k}")[..],
                "-",
                "not",
                "started",
                "-",
                "eligible"
            ],
            "{stdout}"
        );
    }
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(
        lines[1..].iter().all(|l| !l.contains("healthy")),
        "an unstarted slot called healthy: {stdout}"
    );

    // --format json, and --output json as its alias, give the same document.
    let json = firedrill(&["targets", path, "--format", "json"]);
    let alias = firedrill(&["targets", path, "--output", "json"]);
    assert!(json.status.success() && alias.status.success());
    assert_eq!(json.stdout, alias.stdout);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("targets JSON");
    assert_eq!(doc[0]["not_started"], true);
    for row in doc[0]["instances"].as_array().expect("instances") {
        assert_eq!(row["state"], "not_started", "{row}");
        assert_eq!(row["healthy"], false, "{row}");
    }
}

#[test]
fn compare_takes_format_and_output_alike() {
    let work = tempfile::tempdir().expect("temp dir");
    let a = common::fixture_run_dir(work.path(), "recorded-local-demo");
    let b = a.clone();
    let (a, b) = (a.to_str().expect("utf-8"), b.to_str().expect("utf-8"));
    let format = firedrill(&["compare", a, b, "--format", "json"]);
    let output = firedrill(&["compare", a, b, "--output", "json"]);
    assert_eq!(format.status.code(), output.status.code());
    assert_eq!(format.stdout, output.stdout);
    serde_json::from_slice::<serde_json::Value>(&format.stdout).expect("compare JSON");
    let help = text(&firedrill(&["compare", "-h"]).stdout);
    assert!(
        help.contains("--format <FORMAT>") && help.contains("alias: --output"),
        "{help}"
    );
}

#[test]
fn probe_exits_0_with_what_answered_1_with_the_cause_and_2_for_a_bad_url() {
    // A listener that accepts: tcp is healthy, and the line names it and the latency.
    let open = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = open.local_addr().expect("addr");
    let ok = firedrill(&["probe", &format!("tcp://{addr}")]);
    let line = text(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        line.starts_with(&format!("healthy: tcp {addr} accepted a connection in ")),
        "{line}"
    );

    // The demo service answers /health: the line gives the status.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut target = common::firedrill()
        .args(["target", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn target");
    let url = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(10);
    let answered = loop {
        let out = firedrill(&["probe", &url]);
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = target.kill();
    let _ = target.wait();
    let line = text(&answered.stdout);
    assert!(
        line.starts_with(&format!("healthy: {url} answered 200 in ")),
        "{line}{}",
        text(&answered.stderr)
    );

    // Nothing listens: exit 1, and the cause, for tcp and http alike.
    drop(open);
    let down = firedrill(&["probe", &format!("tcp://{addr}")]);
    assert_eq!(down.status.code(), Some(1));
    assert_eq!(
        text(&down.stderr).trim(),
        format!("unhealthy: could not connect to {addr} (connection refused)")
    );
    let down = firedrill(&["probe", &format!("http://{addr}/health")]);
    assert_eq!(down.status.code(), Some(1));
    assert_eq!(
        text(&down.stderr).trim(),
        "unhealthy: could not connect (connection refused)"
    );

    // A URL that cannot be probed is a usage error.
    for bad in ["ftp://127.0.0.1:21", "tcp://127.0.0.1", "127.0.0.1:80"] {
        let out = firedrill(&["probe", bad]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("invalid probe URL"), "{bad}: {stderr}");
    }
}
