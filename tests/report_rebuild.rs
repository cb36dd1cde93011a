//! Every report format rebuilt from the journal alone: after a real local run, deleting the
//! reports and running `firedrill report` gives back the same bytes; junit.xml is well-formed
//! XML (xmllint) whose failures are exactly the breached SLOs; `run` appends summary.md to
//! `GITHUB_STEP_SUMMARY`; and the recorded node kills rebuild to the fold of their journal.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::fleet::QuickFleet;
use common::*;
use firedrill::report::{self, RunReport, Verdict};

/// A short real fleet: 3 processes, 4 kills, a floor of 2.
fn quick() -> QuickFleet {
    QuickFleet::new("rebuild", 3, "100ms..200ms")
        .with("schedule: { max_kills: 4, every: 1s, jitter: 200ms, start_after: 500ms }")
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 10s, settle: 100ms }")
        .with("slos: [ \"unrecovered == 0\", \"recovery.p99 < 10s\" ]")
}

const FILES: [&str; 5] = [
    "report.json",
    "summary.md",
    "report.html",
    "junit.xml",
    "metrics.prom",
];

/// `xmllint --noout FILE`, or `None` (after saying why) when xmllint may be missing.
fn xmllint(file: &Path) -> Option<()> {
    match Command::new("xmllint").arg("--noout").arg(file).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "xmllint rejects {}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            Some(())
        }
        Err(e) => {
            if std::env::var("FIREDRILL_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("FIREDRILL_REQUIRE_BROWSER=1 but xmllint cannot run ({e}); install libxml2-utils");
            }
            eprintln!("skipping the xmllint check: {e}");
            None
        }
    }
}

/// The names of the testcases that carry a `<failure>`.
fn failing_testcases(xml: &str) -> Vec<String> {
    let case = regex::Regex::new(r#"(?s)<testcase name="([^"]*)"[^>]*>(.*?)</testcase>"#).unwrap();
    case.captures_iter(xml)
        .filter(|c| c[2].contains("<failure"))
        .map(|c| {
            c[1].replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn reports_deleted_after_a_real_run_are_rebuilt_byte_identical_from_the_journal() {
    let work = tempfile::tempdir().unwrap();
    let scenario = quick().write(work.path());
    let out = work.path().join("out");
    let step_summary = work.path().join("step-summary.md");
    std::fs::write(&step_summary, "earlier step\n").unwrap();

    let mut child = firedrill()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_with_deadline(&mut child, Duration::from_secs(90));
    let run = child.wait_with_output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dir = run_dir(&out);

    // Every format is written beside the journal by default.
    let written: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();
    let first: RunReport = serde_json::from_slice(&written[0]).unwrap();
    assert!(first.kills.len() >= 3, "{} kills", first.kills.len());
    assert_eq!(first.capacity.min_healthy_floor, Some(2));
    if let Err(e) = schema::validate_report_file(&dir.join("report.json")) {
        panic!("the floor is in the committed schema: {e}");
    }

    // The summary went to the job summary too, after what was there.
    let summary = std::fs::read_to_string(&step_summary).unwrap();
    assert!(summary.starts_with("earlier step\n"), "{summary}");
    assert!(
        summary.contains(std::str::from_utf8(&written[1]).unwrap()),
        "{summary}"
    );

    xmllint(&dir.join("junit.xml"));

    for f in FILES {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let rebuilt = firedrill().arg("report").arg(&dir).output().unwrap();
    assert_eq!(
        rebuilt.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    for (f, before) in FILES.iter().zip(&written) {
        let after = std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(after == *before, "{f} differs after the rebuild");
    }
    let second: RunReport =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(second.kills, first.kills);
    assert_eq!(second.histograms, first.histograms);
    assert_eq!(second.verdict, first.verdict);

    // One format from the journal path alone leaves the others untouched.
    std::fs::remove_file(dir.join("report.html")).unwrap();
    std::fs::remove_file(dir.join("junit.xml")).unwrap();
    let html_only = firedrill()
        .arg("report")
        .arg(dir.join("journal.jsonl"))
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert!(html_only.status.success());
    assert_eq!(std::fs::read(dir.join("report.html")).unwrap(), written[2]);
    assert!(!dir.join("junit.xml").exists());
}

/// Copies a committed journal into a fresh run folder and renders every format from it.
fn rebuild_fixture(work: &Path, name: &str) -> (PathBuf, std::process::Output) {
    let dir = common::fixture_run_dir(work, name);
    let out = firedrill().arg("report").arg(&dir).output().unwrap();
    (dir, out)
}

/// The node kills recorded on the 3-node lab (a drain, and a node cut off the network):
/// `firedrill report` writes exactly what the library folds from the same journal, report.json
/// holds each kill's node section and matches the schema, and a second rebuild gives the same
/// bytes.
#[test]
fn node_kill_reports_rebuilt_from_recorded_lab_journals_are_the_fold_of_the_journal() {
    for name in ["recorded-swarm-node-drain", "recorded-swarm-node-loss"] {
        let work = tempfile::tempdir().unwrap();
        let (dir, out) = rebuild_fixture(work.path(), name);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let written: Vec<Vec<u8>> = FILES.iter().map(|f| read(f)).collect();
        if let Err(e) = schema::validate_report_file(&dir.join("report.json")) {
            panic!("{name}: {e}");
        }

        let from_json: RunReport = serde_json::from_slice(&written[0]).unwrap();
        let mut folded = report::from_journal_file(&dir.join("journal.jsonl")).unwrap();
        assert_eq!(report::markdown::render(&folded), written[1], "{name}");
        assert_eq!(report::html::render(&folded), written[2], "{name}");
        // report.json leaves the metrics to metrics.prom.
        folded.metrics = Default::default();
        assert_eq!(from_json, folded, "{name}");
        let node = from_json.kills[0].node.as_ref().expect("a node section");
        assert_eq!(node.tasks_lost.len(), 2, "{name}");
        assert_eq!(node.moved_to.len(), 2, "{name}");
        assert!(node.back.is_some(), "{name}");

        for f in FILES {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
        let again = firedrill().arg("report").arg(&dir).output().unwrap();
        assert_eq!(again.status.code(), Some(0), "{name}");
        for (f, before) in FILES.iter().zip(&written) {
            assert!(
                read(f) == *before,
                "{name}: {f} differs after a second rebuild"
            );
        }
    }
}

#[test]
fn junit_failures_are_exactly_the_breached_slos_of_local_breach() {
    let work = tempfile::tempdir().unwrap();
    // Recorded from `firedrill run scenarios/local-breach.yaml`.
    let (dir, out) = rebuild_fixture(work.path(), "recorded-local-breach");
    assert_eq!(out.status.code(), Some(1), "a breach exits 1");
    let report: RunReport =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report.verdict, Verdict::Fail);
    xmllint(&dir.join("junit.xml"));

    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(
        xml.matches("<testsuite ").count(),
        1,
        "one suite per scenario"
    );
    assert_eq!(
        xml.matches("<testcase ").count(),
        report.slos.len(),
        "one testcase per SLO (no kill went unrecovered)"
    );
    let mut failing = failing_testcases(&xml);
    failing.sort();
    let mut breached: Vec<String> = report
        .slos
        .iter()
        .filter(|s| !s.passed)
        .map(|s| format!("SLO {}", s.slo))
        .collect();
    breached.sort();
    assert_eq!(failing, breached);
    // Every SLO's case, passing or not, carries its measured value, as report.json has it.
    for slo in &report.slos {
        let out = format!(
            "<system-out>{}: measured {}, threshold {} {} ({})</system-out>",
            slo.metric,
            slo.measured_display,
            slo.op.to_string().replace('<', "&lt;").replace('>', "&gt;"),
            slo.threshold_display,
            if slo.passed { "met" } else { "breached" }
        );
        assert!(xml.contains(&out), "no {out} in\n{xml}");
    }
    // The scenario is written so that every recovery SLO and the capacity SLO break, and only
    // the unrecovered one holds.
    assert_eq!(
        breached,
        [
            "SLO capacity.min >= 100%",
            "SLO recovery.p99 < 500ms",
            "SLO recovery.warm_up.p90 < 100ms"
        ]
    );
    for slo in report.slos.iter().filter(|s| !s.passed) {
        assert!(
            xml.contains(&format!(
                "measured {}, threshold {} {}",
                slo.measured_display,
                slo.op.replace('<', "&lt;").replace('>', "&gt;"),
                slo.threshold_display
            )),
            "{xml}"
        );
    }
}

#[test]
fn a_crashed_run_is_still_reported_in_every_format() {
    let work = tempfile::tempdir().unwrap();
    let (dir, out) = rebuild_fixture(work.path(), "recorded-local-demo-kill9");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in FILES {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("Partial report"),
        "the page says it is partial"
    );
    xmllint(&dir.join("junit.xml"));
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let report: RunReport =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let unrecovered = report.unrecovered().count();
    assert_eq!(
        failing_testcases(&xml)
            .iter()
            .filter(|n| n.starts_with("kill #"))
            .count(),
        unrecovered
    );
}
