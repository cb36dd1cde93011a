//! `firedrill compare` on runs recorded from real local runs: a run against itself exits 0; the
//! local demo against the breach scenario exits 1 and names the regressed percentiles.

mod common;

use std::path::Path;
use std::process::Output;

use common::firedrill;

fn compare(baseline: &Path, current: &Path, args: &[&str]) -> (Output, String) {
    let out = firedrill()
        .arg("compare")
        .arg(baseline)
        .arg(current)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

#[test]
fn a_run_compared_with_itself_exits_0() {
    let work = tempfile::tempdir().unwrap();
    let demo = common::fixture_run_dir(work.path(), "recorded-local-demo-full");
    let (out, stdout) = compare(&demo, &demo, &[]);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("verdict: no regression"), "{stdout}");
    assert!(!stdout.contains("REGRESSED"), "{stdout}");
}

#[test]
fn the_breach_run_against_the_demo_exits_1_naming_the_regressed_percentiles() {
    let work = tempfile::tempdir().unwrap();
    let demo = common::fixture_run_dir(work.path(), "recorded-local-demo-full");
    let breach = common::fixture_run_dir(work.path(), "recorded-local-breach");
    let (out, stdout) = compare(&demo, &breach, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["verdict"], "regressed");
    // The breach scenario's rebuild takes 1.5–2 s against the demo's 300–800 ms: the total and
    // the reschedule phase regress in every percentile.
    let regressed: Vec<String> = json["spans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let span = s["span"].as_str().unwrap().to_string();
            s["stats"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["regressed"] == true)
                .map(move |d| format!("{span}.{}", d["stat"].as_str().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    for name in ["total.p50", "total.p99", "reschedule.p50", "reschedule.max"] {
        assert!(regressed.contains(&name.to_string()), "{regressed:?}");
    }

    // The table names them on its verdict line; markdown marks them.
    let (out, text) = compare(&demo, &breach, &[]);
    assert_eq!(out.status.code(), Some(1));
    let verdict = text.lines().find(|l| l.starts_with("verdict:")).unwrap();
    for name in &regressed {
        assert!(verdict.contains(name.as_str()), "{verdict}");
    }
    let (out, md) = compare(&demo, &breach, &["--output", "markdown"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(md.contains("❌ regressed"), "{md}");
    // The two scenarios set different SLOs: each shows as added or removed.
    assert!(
        md.contains("| added |") && md.contains("| removed |"),
        "{md}"
    );

    // Against itself in reverse, the demo is faster: no regression.
    let (out, text) = compare(&breach, &demo, &[]);
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn too_few_samples_is_inconclusive_and_exits_0() {
    let work = tempfile::tempdir().unwrap();
    let demo = common::fixture_run_dir(work.path(), "recorded-local-demo-full");
    let breach = common::fixture_run_dir(work.path(), "recorded-local-breach");
    let (out, text) = compare(&demo, &breach, &["--min-samples", "5"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verdict: inconclusive"), "{text}");
}

#[test]
fn a_report_json_is_a_baseline_too() {
    let work = tempfile::tempdir().unwrap();
    let demo = common::fixture_run_dir(work.path(), "recorded-local-demo-full");
    let render = firedrill()
        .arg("report")
        .arg(&demo)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(render.status.success());
    let (out, text) = compare(&demo.join("report.json"), &demo.join("journal.jsonl"), &[]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let (out, _) = compare(&work.path().join("nowhere.json"), &demo, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing baseline is bad input"
    );
}
