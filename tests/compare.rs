//! `firedrill compare` on runs recorded from real local runs: a run against itself exits 0; the
//! local demo against the breach scenario exits 1 and names the regressed spans.

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
fn the_breach_run_against_the_demo_exits_1_naming_the_regressed_spans() {
    let work = tempfile::tempdir().unwrap();
    let demo = common::fixture_run_dir(work.path(), "recorded-local-demo-full");
    let breach = common::fixture_run_dir(work.path(), "recorded-local-breach");
    let (out, stdout) = compare(&demo, &breach, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["verdict"], "regressed");
    // The breach scenario's rebuild takes 1.5–2 s against the demo's 300–800 ms, and its boot
    // delay is 500 ms against 150 ms: with 10 kills against 4, the medians of total, reschedule
    // and warm_up regress (every breach sample is slower than every demo one); the tails are
    // not judged on so few kills, and detect and boot did not move.
    let result = |span: &str| {
        json["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["span"] == span)
            .unwrap_or_else(|| panic!("no span {span}"))
            .clone()
    };
    for span in ["total", "reschedule", "warm_up"] {
        let s = result(span);
        assert_eq!(s["result"], "regressed", "{span}: {s}");
        assert!(s["test"]["p_value"].as_f64().unwrap() < 0.05, "{s}");
        assert_eq!(s["stats"][0]["result"], "regressed", "{s}");
        assert_eq!(s["stats"][1]["judged"], false, "p90 on 4 kills: {s}");
    }
    for span in ["detect", "boot", "restore"] {
        assert_eq!(result(span)["result"], "unchanged", "{span}");
    }

    // The table names them on its verdict line; markdown marks them.
    let (out, text) = compare(&demo, &breach, &[]);
    assert_eq!(out.status.code(), Some(1));
    let verdict = text.lines().find(|l| l.starts_with("verdict:")).unwrap();
    for name in ["total.p50", "reschedule.p50", "warm_up.p50"] {
        assert!(verdict.contains(name), "{verdict}");
    }
    assert!(
        !verdict.contains("detect") && !verdict.contains(".max"),
        "{verdict}"
    );
    let (out, md) = compare(&demo, &breach, &["--output", "markdown"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(md.contains("❌ regressed"), "{md}");
    // The two scenarios set different SLOs: each shows as added or removed.
    assert!(
        md.contains("| added |") && md.contains("| removed |"),
        "{md}"
    );

    // In reverse, the demo is faster: improved, no regression.
    let (out, text) = compare(&breach, &demo, &[]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verdict: no regression"), "{text}");
    assert!(text.contains("→ improved"), "{text}");

    // A stricter significance level than the data can reach (p = 0.006 here) leaves the
    // medians' change inconclusive: exit 0.
    let (out, text) = compare(&demo, &breach, &["--alpha", "0.001"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("→ inconclusive"), "{text}");
}

#[test]
fn a_significance_level_outside_0_to_1_is_a_usage_error() {
    let work = tempfile::tempdir().unwrap();
    let demo = common::fixture_run_dir(work.path(), "recorded-local-demo-full");
    let out = firedrill()
        .arg("compare")
        .arg(&demo)
        .arg(&demo)
        .args(["--alpha", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--alpha") && stderr.contains("between 0 and 1"),
        "{stderr}"
    );
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
