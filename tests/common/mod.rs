//! The one test helper every test binary includes (`mod common;`): running the real binary
//! and reading what it wrote (here), a quick managed fleet's scenario ([`fleet`]), the local
//! platform driven through its trait ([`local`]), the report schema ([`schema`]), the Docker
//! and Swarm harnesses ([`docker`], [`swarm`]), a private dockerd ([`engine`]) and a real
//! multi-node Swarm lab ([`lab`]). Each binary uses only a part of it.

#![allow(dead_code)]

pub mod docker;
pub mod engine;
pub mod fleet;
pub mod lab;
pub mod local;
pub mod schema;
pub mod scrape;
pub mod swarm;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use firedrill::journal::{self, Entry};

/// The firedrill binary under test.
pub fn firedrill() -> Command {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
}

/// Writes a scenario whose managed command runs this build's `firedrill target`.
pub fn scenario(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let text = yaml.replace("{bin}", env!("CARGO_BIN_EXE_firedrill"));
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// Runs `firedrill run SCENARIO --out OUT ARGS...` to completion, with a deadline.
pub fn run(scenario: &Path, out: &Path, args: &[&str], deadline: Duration) -> Output {
    let mut child = spawn_run(scenario, out, args);
    wait_with_deadline(&mut child, deadline);
    child.wait_with_output().expect("collect output")
}

/// Starts `firedrill run SCENARIO --out OUT ARGS...` with no input and its output piped, for a
/// test that acts while it runs.
pub fn spawn_run(scenario: &Path, out: &Path, args: &[&str]) -> Child {
    firedrill()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firedrill")
}

/// A run folder under `work` holding only the committed journal `tests/fixtures/journals/
/// NAME.jsonl`, as a run that died before writing its reports would leave it.
pub fn fixture_run_dir(work: &Path, name: &str) -> PathBuf {
    let dir = work.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/journals")
            .join(format!("{name}.jsonl")),
        dir.join("journal.jsonl"),
    )
    .unwrap();
    dir
}

/// Runs `PROGRAM ARGS` with no input; `Ok(stdout)`, trimmed, on success, else the command and
/// its stderr.
pub fn command_output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// True when FIREDRILL_REQUIRE_DOCKER=1: a test that cannot reach what it needs fails instead
/// of skipping.
pub fn docker_required() -> bool {
    std::env::var("FIREDRILL_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// Runs `firedrill run SCENARIO --out OUT` with no input to its end, and returns its output
/// and the `report.json` it wrote.
pub fn run_for_report(scenario: &Path, out: &Path) -> (Output, serde_json::Value) {
    let output = firedrill()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .output()
        .expect("run firedrill");
    let report = report_json(out, &output);
    (output, report)
}

/// [`run_for_report`] for a run that must pass (exit 0); prints how long it took.
pub fn run_passing(scenario: &Path, out: &Path) -> serde_json::Value {
    let started = Instant::now();
    let (output, report) = run_for_report(scenario, out);
    eprintln!("{} ran for {:?}", scenario.display(), started.elapsed());
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

/// The `report.json` of the one run under `out`; without one, panics showing firedrill's
/// stderr, which says why.
pub fn report_json(out: &Path, output: &Output) -> serde_json::Value {
    let folder = run_dir(out);
    let text = std::fs::read_to_string(folder.join("report.json")).unwrap_or_else(|e| {
        panic!(
            "no report.json ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(&text).expect("report.json parses")
}

/// An RFC 3339 time as microseconds since the epoch.
pub fn rfc3339_micros(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .timestamp_micros()
}

/// Waits for `child` to exit; kills it (only it, by PID) and panics past the deadline.
pub fn wait_with_deadline(child: &mut Child, deadline: Duration) {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("firedrill did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The single run folder firedrill made under `out`.
pub fn run_dir(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("read out dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one run folder in {}: {dirs:?}",
        out.display()
    );
    dirs[0].clone()
}

/// The journal of a run folder.
pub fn journal(dir: &Path) -> Vec<Entry> {
    journal::read(&dir.join(journal::JOURNAL_FILE)).expect("journal parses")
}

/// The report.json of a run folder.
pub fn report(dir: &Path) -> firedrill::report::RunReport {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json exists");
    serde_json::from_str(&text).expect("report.json parses as a RunReport")
}

/// Every PID the local platform reported for managed instances (ids are PIDs).
pub fn instance_pids(entries: &[Entry]) -> Vec<i32> {
    let mut pids: Vec<i32> = Vec::new();
    for e in entries {
        match e {
            Entry::RunStarted(s) => {
                pids.extend(s.initial.iter().filter_map(|i| i.id.parse::<i32>().ok()))
            }
            Entry::Event(ev) => pids.extend(ev.instance.parse::<i32>().ok()),
            _ => {}
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Whether a process with this PID exists and is not a zombie.
pub fn alive(pid: impl Into<i64>) -> bool {
    let pid = pid.into();
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits until none of `pids` is alive, up to `deadline`; returns those still alive.
pub fn wait_gone(pids: &[i32], deadline: Duration) -> Vec<i32> {
    let start = Instant::now();
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || start.elapsed() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the journal in the only run folder under `out` holds `n` kill lines.
pub fn wait_for_kills(out: &Path, n: usize, deadline: Duration) -> PathBuf {
    let start = Instant::now();
    loop {
        if let Ok(mut rd) = std::fs::read_dir(out) {
            if let Some(Ok(entry)) = rd.next() {
                let path = entry.path().join(journal::JOURNAL_FILE);
                if let Ok(text) = std::fs::read_to_string(&path) {
                    if text.matches("\"type\":\"kill\"").count() >= n {
                        return entry.path();
                    }
                }
            }
        }
        assert!(
            start.elapsed() < deadline,
            "no {n} kills within {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` to a child this test started.
pub fn signal(child: &Child, signal: i32) {
    let rc = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(rc, 0, "kill({}, {signal})", child.id());
}
