//! Unattended-run features against real local fleets of `firedrill target` processes:
//! steady-state probes attributed to kill windows, stop conditions (exit 4), and schedule
//! windows that hold the scheduler back.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use chrono::{Datelike, Utc};
use common::fleet::QuickFleet;
use common::*;
use firedrill::journal::{Entry, RunStatus};
use firedrill::report::{ReportStatus, Verdict};
use firedrill::vocabulary::phase::Phase;

/// A base port with `n` free ports after it, so the scenario can name a managed instance's port.
fn free_port_base(n: u16) -> u16 {
    let start = 20_000 + (std::process::id() % 20_000) as u16;
    (0..200)
        .map(|i| start.wrapping_add(i * 7) % 40_000 + 20_000)
        .find(|base| {
            let held: Vec<_> = (0..n)
                .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
                .collect();
            held.len() == n as usize
        })
        .expect("no free port range")
}

fn probed(base: u16) -> QuickFleet {
    QuickFleet::new("probed", 2, "300ms..400ms")
        .port_base(base)
        .with("schedule: { max_kills: 4, every: 1200ms, start_after: 1s }")
        .with("policy: { pick: 1, max_in_flight: 1 }")
        .with("recovery: { timeout: 10s, settle: 100ms }")
        .with(&format!(
            "probes:\n  - {{ name: slot0, http: {{ url: \"http://127.0.0.1:{base}/health\", body: \"^ok$\", \
             every: 20ms, timeout: 500ms }} }}\n  - {{ name: slot0tcp, tcp: {{ address: \
             \"127.0.0.1:{base}\", every: 50ms, timeout: 500ms }} }}"
        ))
        .with(
            "slos:\n  - unrecovered == 0\n  - probe.slot0.availability >= 50%\n  \
             - probe.slot0.latency.p99 < 1s",
        )
}

#[test]
fn probe_failures_fall_only_inside_the_kill_windows_of_the_probed_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let base = free_port_base(2);
    let scenario = probed(base).write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        out.path(),
        &["--seed", "11"],
        Duration::from_secs(90),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = run_dir(out.path());
    let report = report(&dir);
    let entries = journal(&dir);
    assert_eq!(report.kills.len(), 4);
    let probed_slot = report
        .kills
        .iter()
        .find(|k| k.slot.ends_with('0'))
        .map(|k| k.slot.clone())
        .expect("seed 11 kills slot 0 at least once; pick another seed if the plan changed");

    // Each kill's window, read from the journal itself: from the kill (the earlier of the
    // kill line and a refined kill mark) to its restored mark. A request belongs to it when it
    // was in flight at any moment of it.
    let window = |kill_id: u32| {
        let from = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Kill(k) if k.kill_id == kill_id => Some(k.at),
                Entry::Phase {
                    kill_id: id,
                    phase: Phase::Kill,
                    at,
                    ..
                } if *id == kill_id => Some(*at),
                _ => None,
            })
            .min()
            .unwrap();
        let to = entries
            .iter()
            .find_map(|e| match e {
                Entry::Phase {
                    kill_id: id,
                    phase: Phase::Restored,
                    at,
                    ..
                } if *id == kill_id => Some(*at),
                _ => None,
            })
            .unwrap();
        (from, to)
    };
    for probe in &report.probes {
        // Each failed request as (started, seen failing).
        let failed: Vec<(i64, i64)> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Probe(p) if p.probe == probe.name && !p.ok => Some((p.at, p.observed_at())),
                _ => None,
            })
            .collect();
        assert!(
            !failed.is_empty(),
            "{}: killing its instance made no request fail",
            probe.name
        );
        assert_eq!(probe.failures as usize, failed.len());
        assert_eq!(probe.failures_outside_kills, 0, "{}", probe.name);
        assert!(
            probe.baseline.requests > 0,
            "{}: no baseline before the first kill",
            probe.name
        );
        assert_eq!(probe.baseline.failures, 0, "{}", probe.name);
        let mut attributed = 0;
        for impact in &probe.kills {
            let kill = report
                .kills
                .iter()
                .find(|k| k.kill_id == impact.kill_id)
                .unwrap();
            let (from, to) = window(impact.kill_id);
            // In flight at some moment of the window. With one kill at a time, windows never
            // overlap, so no request can belong to two.
            let in_window = failed
                .iter()
                .filter(|(start, seen)| *start <= to && from <= *seen)
                .count();
            assert_eq!(
                impact.failures as usize, in_window,
                "{} kill {}",
                probe.name, impact.kill_id
            );
            if kill.slot == probed_slot {
                assert!(
                    impact.failures > 0,
                    "{}: kill {} of the probed slot cost nothing",
                    probe.name,
                    kill.kill_id
                );
                assert!(impact.first_failure <= impact.last_failure);
                assert!(impact.worst_latency_us.is_some());
            } else {
                assert_eq!(
                    impact.failures, 0,
                    "{}: kill {} of another slot",
                    probe.name, kill.kill_id
                );
            }
            attributed += impact.failures;
        }
        assert_eq!(attributed, probe.failures, "{}", probe.name);
    }
    // The summaries show the probes, and the report matches its schema.
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("## Probes") && summary.contains("`slot0tcp`"),
        "{summary}"
    );
    assert!(stdout.contains("slot0 (http"), "{stdout}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"probes\""));
    if let Err(e) = schema::validate_report_file(&dir.join("report.json")) {
        panic!("{e}");
    }
    // `firedrill report` rebuilds the same probe sections from the journal alone.
    let rebuilt = firedrill().arg("report").arg(&dir).output().unwrap();
    assert_eq!(rebuilt.status.code(), Some(0));
    assert_eq!(common::report(&dir).probes, report.probes);
}

fn no_replacement() -> QuickFleet {
    QuickFleet::new("no-replacement", 4, "120s")
        .with("schedule: { max_kills: 10, every: 500ms, start_after: 500ms }")
        .with("policy: { pick: 1, max_in_flight: 4 }")
        .with("recovery: { timeout: 2s }")
        .with("abort_when: [ \"unrecovered > 5\", \"capacity.current < 50%\" ]")
        .with("slos: [ \"kills >= 1\" ]")
}

#[test]
fn a_stop_condition_aborts_with_exit_4_after_the_kills_needed_to_trip_it() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = no_replacement().write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let output = run(&scenario, out.path(), &[], Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(4),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = run_dir(out.path());
    let report = report(&dir);
    // 4 → 3 → 2 healthy is 50%, not below it; the third kill trips the condition.
    assert_eq!(report.kills.len(), 3);
    assert_eq!(report.verdict, Verdict::Aborted);
    assert_eq!(report.status, ReportStatus::Aborted);
    let abort = report
        .abort
        .as_ref()
        .expect("the report names the condition");
    assert_eq!(abort.condition, "capacity.current < 50%");
    assert_eq!(abort.measured, "25%");
    assert!(stdout.contains("capacity.current < 50%"), "{stdout}");
    let entries = journal(&dir);
    match entries.last() {
        Some(Entry::RunEnded {
            status: RunStatus::Aborted,
            reason: Some(r),
            ..
        }) => {
            assert!(r.contains("capacity.current < 50%"), "{r}")
        }
        other => panic!("last line: {other:?}"),
    }
    // No decision follows the abort.
    let aborted_at = abort.at.timestamp_micros();
    assert!(!entries
        .iter()
        .any(|e| matches!(e, Entry::Decision(d) if d.at > aborted_at)));
    // Nothing is left behind: the fleet firedrill spawned is gone.
    let pids = instance_pids(&entries);
    assert_eq!(wait_gone(&pids, Duration::from_secs(3)), Vec::<i32>::new());
    if let Err(e) = schema::validate_report_file(&dir.join("report.json")) {
        panic!("{e}");
    }
    // CI sees the abort as a failed test case naming the condition.
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("type=\"aborted\"") && junit.contains("capacity.current &lt; 50%"),
        "{junit}"
    );
}

/// A window on a weekday three days away, so it is closed now.
fn closed_window() -> String {
    let day = (Utc::now() + chrono::Duration::days(3)).weekday();
    format!("{day} 00:00-24:00 UTC")
}

fn windowed(window: &str) -> QuickFleet {
    QuickFleet::new("windowed", 2, "100ms..200ms")
        .with(&format!(
            "schedule: {{ max_kills: 2, every: 500ms, start_after: 300ms, windows: [\"{window}\"] }}"
        ))
        .with("policy: { pick: 1, max_in_flight: 1 }")
        .with("recovery: { timeout: 5s }")
}

#[test]
fn outside_its_windows_the_scheduler_waits_until_max_runtime_and_ignore_windows_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = windowed(&closed_window()).write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        out.path(),
        &["--max-runtime", "2s"],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("outside the schedule windows"), "{stderr}");
    let waited = report(&run_dir(out.path()));
    assert_eq!(waited.status, ReportStatus::Stopped);
    assert!(waited.decisions.is_empty() && waited.kills.is_empty());

    let out = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        out.path(),
        &["--ignore-windows"],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(0));
    let by_hand = report(&run_dir(out.path()));
    assert_eq!(by_hand.status, ReportStatus::Completed);
    assert_eq!(by_hand.kills.len(), 2);
}

#[test]
fn dry_run_places_each_decision_inside_the_next_window() {
    let tmp = tempfile::tempdir().unwrap();
    let opens = (Utc::now() + chrono::Duration::days(3)).date_naive();
    let scenario = windowed(&closed_window()).write(tmp.path());
    let dry = firedrill()
        .args(["run", "--dry-run", "--seed", "5"])
        .arg(&scenario)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(dry.status.code(), Some(0), "{text}");
    assert!(text.contains("outside the schedule windows"), "{text}");
    // Offsets 0.3 s and 0.8 s of open time both fall in the first second of the window.
    let expected = format!("@ {} 00:00:00 UTC", opens.format("%a %Y-%m-%d"));
    let rows: Vec<&str> = text.lines().filter(|l| l.contains(" web ")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows.iter().all(|r| r.ends_with(&expected)), "{text}");
    let by_hand = firedrill()
        .args(["run", "--dry-run", "--seed", "5", "--ignore-windows"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&by_hand.stdout).contains('@'));
}
