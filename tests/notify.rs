//! Webhook notifications, end to end: the real binary runs a quick local fleet and POSTs to a
//! receiver inside the test, on loopback. The receiver records each request; it can answer 200,
//! answer 500, or accept and never answer, to show that a webhook never delays a kill, never
//! changes the verdict, and never leaks a URL taken from the environment.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::fleet::QuickFleet;
use common::*;
use firedrill::journal::Entry;
use serde_json::Value;

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Ok,
    ServerError,
    /// Accepts, reads the request, and says nothing for 30 s.
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Value,
}

/// A loopback HTTP receiver on its own thread; stops and joins when dropped.
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (got, stop) = (Arc::clone(&got), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (got, stop) = (Arc::clone(&got), Arc::clone(&stop));
                            std::thread::spawn(move || serve(stream, answer, &got, &stop));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Receiver {
            addr,
            got,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request (head and Content-Length body), records it, and answers.
fn serve(mut stream: TcpStream, answer: Answer, got: &Mutex<Vec<Request>>, stop: &AtomicBool) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let request = Request {
        method: first.next().unwrap_or_default().to_string(),
        path: first.next().unwrap_or_default().to_string(),
        content_type: header("content-type"),
        body: serde_json::from_slice(&data[head_end..head_end + length]).unwrap_or(Value::Null),
    };
    got.lock().unwrap().push(request);
    let status = match answer {
        Answer::Ok => "200 OK",
        Answer::ServerError => "500 Internal Server Error",
        Answer::Hang => {
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
}

fn events(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.body["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The planned offsets, in milliseconds, of the decisions `firedrill run --dry-run` lists, in
/// order (its rows read `SEQ  OFFSETs  TARGET ...`).
fn dry_run_offsets_ms(stdout: &str) -> Vec<f64> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.next()?.parse::<u32>().ok()?;
            let offset = words.next()?.strip_suffix('s')?.parse::<f64>().ok()?;
            Some(offset * 1000.0)
        })
        .collect()
}

fn kills(entries: &[Entry]) -> Vec<firedrill::journal::KillEntry> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Kill(k) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

/// Checks the fields every notification shares.
fn assert_common_fields(body: &Value, scenario: &str, seed: u64, dir: &Path) {
    assert_eq!(body["version"], 1, "{body}");
    assert_eq!(body["scenario"], scenario, "{body}");
    assert_eq!(body["seed"], seed, "{body}");
    let run = dir.file_name().unwrap().to_string_lossy();
    assert_eq!(body["run"], *run, "{body}");
    let at = body["at"].as_str().unwrap();
    assert!(at.ends_with('Z'), "not UTC: {at}");
    rfc3339_micros(at);
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("firedrill {scenario}: ")) && !text.contains('\n'),
        "{text}"
    );
}

#[test]
fn a_passing_run_sends_start_each_kill_and_end_in_order_with_the_documented_body() {
    let receiver = Receiver::start(Answer::Ok);
    let tmp = tempfile::tempdir().unwrap();
    let scenario = QuickFleet::new("notify-pass", 3, "100ms..200ms")
        .with("schedule: { max_kills: 3, every: 700ms, start_after: 300ms }")
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 10s, settle: 100ms }")
        .with("slos: [ \"unrecovered == 0\" ]")
        .with(&format!(
            "notify:\n  webhooks:\n    - url: {}",
            receiver.url()
        ))
        .write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        out.path(),
        &["--seed", "4242"],
        Duration::from_secs(60),
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = run_dir(out.path());
    let requests = receiver.requests();
    assert_eq!(events(&requests), ["start", "kill", "kill", "kill", "end"]);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/hook");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_common_fields(&r.body, "notify-pass", 4242, &dir);
    }
    let start = &requests[0].body;
    assert_eq!(start["start"]["platform"], "local");
    assert_eq!(start["start"]["desired"]["web"], 3);
    let journalled = kills(&journal(&dir));
    assert_eq!(journalled.len(), 3);
    for (k, r) in journalled.iter().zip(&requests[1..4]) {
        let kill = &r.body["kill"];
        assert_eq!(kill["kill_id"], k.kill_id);
        assert_eq!(kill["target"], "web");
        assert_eq!(kill["victim"], k.victim);
        assert_eq!(kill["name"], k.name);
        assert_eq!(kill["action"], k.action);
        assert_eq!(
            r.body["text"],
            format!(
                "firedrill notify-pass: kill #{} took {} (target web)",
                k.kill_id, k.name
            )
        );
    }
    let end = &requests[4].body["end"];
    assert_eq!(end["status"], "completed");
    assert_eq!(end["verdict"], "pass");
    assert_eq!(end["kills"], 3);
    assert_eq!(end["unrecovered"], 0);
    assert_eq!(end["report_dir"], dir.display().to_string());
    assert!(!journal(&dir)
        .iter()
        .any(|e| matches!(e, Entry::Warning { .. })));
}

#[test]
fn an_aborted_run_sends_start_kill_unrecovered_abort_and_end_in_order() {
    let receiver = Receiver::start(Answer::Ok);
    let tmp = tempfile::tempdir().unwrap();
    // The replacement comes after 3 s and the recovery may take 1 s, so the kill is unrecovered
    // and `unrecovered > 0` aborts the run before the next decision (at 3.3 s).
    let scenario = QuickFleet::new("notify-abort", 3, "3s")
        .with("schedule: { max_kills: 3, every: 3s, start_after: 300ms }")
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 1s, settle: 100ms }")
        .with("abort_when: [ \"unrecovered > 0\" ]")
        .with(&format!(
            "notify:\n  webhooks:\n    - url: {}",
            receiver.url()
        ))
        .write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        out.path(),
        &["--seed", "7"],
        Duration::from_secs(60),
    );
    assert_eq!(
        output.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = run_dir(out.path());
    let requests = receiver.requests();
    assert_eq!(
        events(&requests),
        ["start", "kill", "unrecovered", "abort", "end"]
    );
    for r in &requests {
        assert_common_fields(&r.body, "notify-abort", 7, &dir);
    }
    assert_eq!(requests[1].body["kill"]["kill_id"], 1);
    assert_eq!(requests[2].body["unrecovered"]["kill_id"], 1);
    assert!(requests[2].body["unrecovered"]["stalled_in"].is_string());
    let abort = &requests[3].body["abort"];
    assert_eq!(abort["condition"], "unrecovered > 0");
    assert!(abort["measured"].is_string(), "{abort}");
    let end = &requests[4].body["end"];
    assert_eq!(end["status"], "aborted");
    assert_eq!(end["verdict"], "aborted");
    assert_eq!(end["kills"], 1);
    assert_eq!(end["unrecovered"], 1);
}

#[test]
fn a_webhook_that_never_answers_delays_no_kill_and_the_exit_only_boundedly() {
    let receiver = Receiver::start(Answer::Hang);
    let tmp = tempfile::tempdir().unwrap();
    let scenario = QuickFleet::new("notify-hang", 3, "50ms..100ms")
        .with("schedule: { max_kills: 4, every: 500ms, start_after: 300ms }")
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 10s, settle: 50ms }")
        .with("slos: [ \"unrecovered == 0\" ]")
        .with(&format!(
            "notify:\n  webhooks:\n    - {{ url: {}, timeout: 300ms, retries: 1 }}",
            receiver.url()
        ))
        .write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = run(
        &scenario,
        out.path(),
        &["--seed", "99"],
        Duration::from_secs(60),
    );
    let elapsed = started.elapsed();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The run itself is about 2 s; six messages of at most 0.85 s each (two 300 ms attempts
    // and a 250 ms backoff) bound the rest.
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    let entries = journal(&run_dir(out.path()));
    let Some(Entry::RunStarted(first)) = entries.first() else {
        panic!("no run_started line");
    };
    let mut decisions = 0;
    let mut worst: f64 = 0.0;
    for entry in &entries {
        if let Entry::Decision(d) = entry {
            decisions += 1;
            let actual_ms = (d.at - first.at) as f64 / 1000.0;
            let drift = actual_ms - d.offset_ms as f64;
            worst = worst.max(drift.abs());
            assert!(
                drift.abs() <= 50.0,
                "decision {} planned at {} ms came at {actual_ms:.1} ms",
                d.seq,
                d.offset_ms
            );
        }
    }
    eprintln!("run took {elapsed:?}; decisions came at most {worst:.1} ms off their plan");
    assert_eq!(decisions, 4);
    assert_eq!(kills(&entries).len(), 4);

    // The kills themselves, against the plan `--dry-run` prints for the same seed.
    let dry = firedrill()
        .args(["run", "--dry-run", "--seed", "99"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0));
    let planned = dry_run_offsets_ms(&String::from_utf8_lossy(&dry.stdout));
    assert_eq!(planned.len(), 4, "{}", String::from_utf8_lossy(&dry.stdout));
    let mut worst_kill: f64 = 0.0;
    for kill in kills(&entries) {
        let plan = planned[(kill.seq - 1) as usize];
        let actual_ms = (kill.at - first.at) as f64 / 1000.0;
        worst_kill = worst_kill.max((actual_ms - plan).abs());
        assert!(
            (actual_ms - plan).abs() <= 50.0,
            "kill #{} planned by --dry-run at {plan} ms came at {actual_ms:.1} ms",
            kill.kill_id
        );
    }
    eprintln!("kills came at most {worst_kill:.1} ms off the --dry-run plan");
    assert!(
        !receiver.requests().is_empty(),
        "the receiver saw no request at all"
    );
    let warnings: Vec<&String> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Warning { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert!(!warnings.is_empty());
    assert!(
        warnings.iter().all(|m| !m.contains(&receiver.url())),
        "{warnings:?}"
    );
}

#[test]
fn a_failing_webhook_leaves_a_warning_keeps_the_verdict_and_never_shows_its_url() {
    let receiver = Receiver::start(Answer::ServerError);
    let tmp = tempfile::tempdir().unwrap();
    let scenario = QuickFleet::new("notify-500", 3, "50ms..100ms")
        .with("schedule: { max_kills: 2, every: 500ms, start_after: 300ms }")
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 10s, settle: 50ms }")
        .with("slos: [ \"unrecovered == 0\" ]")
        .with(
            "notify:\n  webhooks:\n    - { url_env: FIREDRILL_TEST_HOOK, on: [start, end], \
             timeout: 1s, retries: 1 }",
        )
        .write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    // A path that could only come from the variable, so any echo of it is found.
    let secret_url = format!("{}/T0SECRET/B0SECRET", receiver.url());
    let mut child = firedrill()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(out.path())
        .args(["-vv"])
        .env("FIREDRILL_TEST_HOOK", &secret_url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_with_deadline(&mut child, Duration::from_secs(60));
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let dir = run_dir(out.path());
    assert_eq!(report(&dir).verdict, firedrill::report::Verdict::Pass);
    // Two attempts for each of the two events.
    assert_eq!(
        events(&receiver.requests()),
        ["start", "start", "end", "end"]
    );
    let journal_text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let warnings: Vec<Value> = journal_text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "warning")
        .collect();
    assert_eq!(warnings.len(), 2, "{journal_text}");
    for w in &warnings {
        assert_eq!(w["source"], "notify.webhooks[0] (env FIREDRILL_TEST_HOOK)");
        let message = w["message"].as_str().unwrap();
        assert!(message.contains("answered HTTP 500"), "{message}");
    }
    assert!(
        stderr.contains("not delivered"),
        "no tracing warning:\n{stderr}"
    );
    // Warning lines after run_ended do not stop the journal from being reported again.
    let rebuilt = firedrill().arg("report").arg(&dir).output().unwrap();
    assert_eq!(
        rebuilt.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    // The URL appears nowhere: not in any file of the run folder, nor on stdout or stderr.
    let address = receiver.addr.to_string();
    for needle in [secret_url.as_str(), "T0SECRET", address.as_str()] {
        assert!(!stdout.contains(needle), "stdout shows {needle}:\n{stdout}");
        assert!(!stderr.contains(needle), "stderr shows {needle}:\n{stderr}");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(needle),
                "{} contains {needle}",
                path.display()
            );
        }
    }
}

#[test]
fn an_unset_url_variable_stops_the_run_before_anything_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = QuickFleet::new("notify-unset", 3, "50ms")
        .with("schedule: { max_kills: 1, every: 500ms }")
        .with("notify:\n  webhooks:\n    - url_env: FIREDRILL_TEST_HOOK_NEVER_SET")
        .write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let output = firedrill()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(out.path())
        .env_remove("FIREDRILL_TEST_HOOK_NEVER_SET")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("notify.webhooks[0].url_env")
            && stderr.contains("FIREDRILL_TEST_HOOK_NEVER_SET is not set"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn an_interrupted_run_still_ends_with_an_end_notification() {
    let receiver = Receiver::start(Answer::Ok);
    let tmp = tempfile::tempdir().unwrap();
    let scenario = QuickFleet::new("notify-sigint", 3, "50ms..100ms")
        .with("schedule: { max_kills: 100, every: 500ms, start_after: 300ms }")
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 10s, settle: 50ms }")
        .with(&format!(
            "notify:\n  webhooks:\n    - {{ url: {}, on: [start, end] }}",
            receiver.url()
        ))
        .write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let mut child = spawn_run(&scenario, out.path(), &[]);
    wait_for_kills(out.path(), 2, Duration::from_secs(30));
    signal(&child, libc::SIGINT);
    wait_with_deadline(&mut child, Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let requests = receiver.requests();
    assert_eq!(events(&requests), ["start", "end"]);
    let end = &requests[1].body["end"];
    assert_eq!(end["status"], "interrupted");
    assert!(end["kills"].as_u64().unwrap() >= 2, "{end}");
}
