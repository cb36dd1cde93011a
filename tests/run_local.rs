//! End-to-end runs of the real binary against real local fleets: the demo and breach
//! scenarios, seeded replay, Ctrl-C, and `kill -9` of firedrill itself.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::fleet::QuickFleet;
use common::*;
use firedrill::journal::{Entry, RunStatus};
use firedrill::report::{ReportStatus, Verdict};

/// A short fleet: 3 processes, a kill every second, quick replacement.
fn quick(name: &str, max_kills: u32) -> QuickFleet {
    QuickFleet::new(name, 3, "100ms..200ms")
        .with(&format!(
            "schedule: {{ max_kills: {max_kills}, every: 1s, jitter: 200ms, start_after: 500ms }}"
        ))
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 10s, settle: 100ms }")
        .with("slos: [ \"unrecovered == 0\" ]")
}

#[test]
fn demo_scenario_kills_at_least_eight_processes_and_passes() {
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = run(
        std::path::Path::new("scenarios/local-demo.yaml"),
        out.path(),
        &[],
        Duration::from_secs(120),
    );
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(elapsed < Duration::from_secs(90), "took {elapsed:?}");

    let dir = run_dir(out.path());
    let report = report(&dir);
    assert_eq!(report.verdict, Verdict::Pass);
    assert!(report.kills.len() >= 8, "only {} kills", report.kills.len());
    assert!(report.kills.iter().all(|k| k.recovery_us.is_some()));
    // Every victim was a real process, and none of them exists any more.
    let victims: Vec<i32> = report
        .kills
        .iter()
        .map(|k| k.victim.parse().unwrap())
        .collect();
    assert_eq!(
        wait_gone(&victims, Duration::from_secs(2)),
        Vec::<i32>::new()
    );
    // Every fleet process is gone after the run, replacements included.
    let all = instance_pids(&journal(&dir));
    assert!(all.len() >= 4 + 8);
    assert_eq!(wait_gone(&all, Duration::from_secs(3)), Vec::<i32>::new());
    // The summary shows each span's percentiles, and the files exist.
    for span in ["total", "detect", "reschedule", "boot", "warm_up"] {
        assert!(
            stdout.contains(span),
            "terminal summary lacks {span}:\n{stdout}"
        );
    }
    for stat in ["p50", "p90", "p99", "max"] {
        assert!(
            stdout.contains(stat),
            "terminal summary lacks {stat}:\n{stdout}"
        );
    }
    assert!(dir.join("summary.md").is_file());
    assert!(dir.join("journal.jsonl").is_file());
    // Real output matches the committed schema.
    if let Err(e) = schema::validate_report_file(&dir.join("report.json")) {
        panic!("{e}");
    }
}

#[test]
fn breach_scenario_exits_1_and_names_each_breached_slo() {
    let out = tempfile::tempdir().unwrap();
    let output = run(
        std::path::Path::new("scenarios/local-breach.yaml"),
        out.path(),
        &[],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stdout:\n{stdout}");
    let report = report(&run_dir(out.path()));
    assert_eq!(report.verdict, Verdict::Fail);
    let failed: Vec<_> = report.slos.iter().filter(|s| !s.passed).collect();
    assert!(failed.len() >= 3, "{failed:?}");
    for slo in failed {
        assert!(
            stdout.contains(&slo.slo) && stdout.contains(&slo.measured_display),
            "{} (measured {}) not named in:\n{stdout}",
            slo.slo,
            slo.measured_display
        );
    }
}

#[test]
fn the_same_seed_replays_the_same_decisions() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = quick("quick", 5).write(tmp.path());
    let decisions = |out: &std::path::Path| {
        let output = run(&scenario, out, &["--seed", "4242"], Duration::from_secs(60));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = report(&run_dir(out));
        assert_eq!(report.seed, 4242);
        report
            .decisions
            .iter()
            .map(|d| (d.offset_ms, d.slots.clone()))
            .collect::<Vec<_>>()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = decisions(a.path());
    let second = decisions(b.path());
    assert_eq!(first.len(), 5);
    assert_eq!(first, second);
    // A different seed gives a different sequence (with 3 slots and 5 picks, the chance of an
    // identical one is 3^-5 for the slots alone, and the jittered offsets differ too).
    let c = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        c.path(),
        &["--seed", "4243"],
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(0));
    let other: Vec<_> = report(&run_dir(c.path()))
        .decisions
        .iter()
        .map(|d| (d.offset_ms, d.slots.clone()))
        .collect();
    assert_ne!(first, other);
}

/// Starts a 100-kill run of the quick fleet and returns once two kills are journalled: the
/// child, its run folder, and the temporary folders that must outlive the test.
fn long_run_after_two_kills(
    stdio: fn() -> Stdio,
) -> (
    std::process::Child,
    std::path::PathBuf,
    [tempfile::TempDir; 2],
) {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = quick("long", 100).write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let child = firedrill()
        .args(["run"])
        .arg(&scenario)
        .arg("--out")
        .arg(out.path())
        .stdout(stdio())
        .stderr(stdio())
        .spawn()
        .unwrap();
    let dir = wait_for_kills(out.path(), 2, Duration::from_secs(30));
    (child, dir, [tmp, out])
}

#[test]
fn sigint_writes_a_partial_report_and_leaves_no_child_behind() {
    let (mut child, dir, _keep) = long_run_after_two_kills(Stdio::piped);
    signal(&child, libc::SIGINT);
    wait_with_deadline(&mut child, Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let entries = journal(&dir);
    assert!(matches!(entries.first(), Some(Entry::RunStarted(_))));
    assert!(matches!(
        entries.last(),
        Some(Entry::RunEnded {
            status: RunStatus::Interrupted,
            ..
        })
    ));
    let report = report(&dir);
    assert!(report.partial);
    assert_eq!(report.status, ReportStatus::Interrupted);
    assert!(report.kills.len() >= 2);
    let pids = instance_pids(&entries);
    assert!(pids.len() >= 3);
    assert_eq!(wait_gone(&pids, Duration::from_secs(3)), Vec::<i32>::new());
}

#[test]
fn kill_9_of_firedrill_leaves_a_journal_that_parses_to_its_last_line() {
    let (mut child, dir, _keep) = long_run_after_two_kills(Stdio::null);
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();

    let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let entries = journal(&dir);
    // Every complete line parses; at most a torn final line is dropped.
    assert!(
        entries.len() + 1 >= lines.len(),
        "{} of {} lines",
        entries.len(),
        lines.len()
    );
    assert!(entries.iter().any(|e| matches!(e, Entry::Kill(_))));
    assert!(!entries.iter().any(|e| matches!(e, Entry::RunEnded { .. })));
    // The fleet dies with firedrill (parent-death signal), so nothing is left behind.
    let pids = instance_pids(&entries);
    assert_eq!(wait_gone(&pids, Duration::from_secs(3)), Vec::<i32>::new());
    // The journal alone still gives a report, marked as a crash.
    let rebuilt = firedrill().arg("report").arg(&dir).output().unwrap();
    assert!(rebuilt.status.code() == Some(0) || rebuilt.status.code() == Some(1));
    let report = report(&dir);
    assert_eq!(report.status, ReportStatus::Crashed);
    assert!(report.partial);
    if let Err(e) = schema::validate_report_file(&dir.join("report.json")) {
        panic!("{e}");
    }
}

#[test]
fn dry_run_plans_what_the_real_run_then_does() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = quick("quick", 5).write(tmp.path());
    let dry = firedrill()
        .args(["run", "--dry-run", "--seed", "777"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let text = String::from_utf8_lossy(&dry.stdout);
    // Rows read: `   1      0.500s  web          web/2                    allowed`.
    let planned: Vec<(u64, Vec<String>)> = text
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols.first()?.parse::<u32>().ok()?;
            let secs: f64 = cols.get(1)?.strip_suffix('s')?.parse().ok()?;
            let slots = match *cols.get(3)? {
                "-" => Vec::new(),
                list => list.split(',').map(String::from).collect(),
            };
            Some(((secs * 1000.0).round() as u64, slots))
        })
        .collect();
    assert_eq!(planned.len(), 5, "{text}");
    let out = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        out.path(),
        &["--seed", "777"],
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(0));
    let real: Vec<(u64, Vec<String>)> = report(&run_dir(out.path()))
        .decisions
        .iter()
        .map(|d| (d.offset_ms, d.slots.clone()))
        .collect();
    assert_eq!(planned, real);
}
