//! report.html in a real browser: headless Chromium (Debian's `chromium` package) opens a page
//! rendered from a journal recorded from a real local-demo run, takes a screenshot, and a
//! test-only probe checks that nothing went to the console and every chart was laid out with
//! the expected kill markers.
//!
//! Without Chromium the tests print why and pass, except when `FIREDRILL_REQUIRE_BROWSER=1`
//! (as in .ci), where a missing browser fails them.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{firedrill, wait_with_deadline};
use firedrill::report::RunReport;
use serde::Deserialize;

const CHARTS: [&str; 4] = [
    "chart-capacity",
    "chart-histogram",
    "chart-phases",
    "chart-timeline",
];

/// The browser, or `None` (after saying why) when it may be missing.
fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser"];
    let found = std::env::var_os("FIREDRILL_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .flat_map(|dir| candidates.map(|c| dir.join(c)))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        if std::env::var("FIREDRILL_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "FIREDRILL_REQUIRE_BROWSER=1 but no chromium on PATH; install Debian's \
                 `chromium` package (apt-get install -y chromium)"
            );
        }
        eprintln!("skipping: no chromium on PATH (set FIREDRILL_REQUIRE_BROWSER=1 to fail)");
    }
    found
}

/// Runs headless Chromium on `page` with `args`, stdout into a file; returns (stdout, stderr).
fn run_chromium(browser: &Path, page: &Path, args: &[&str], work: &Path) -> (String, String) {
    let profile = tempfile::tempdir_in(work).unwrap();
    let stdout_path = work.join("chromium.out");
    let stderr_path = work.join("chromium.err");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start chromium");
    wait_with_deadline(&mut child, Duration::from_secs(90));
    (
        std::fs::read_to_string(&stdout_path).unwrap(),
        std::fs::read_to_string(&stderr_path).unwrap(),
    )
}

/// What the probe found on the page.
#[derive(Debug, Deserialize)]
struct Probe {
    errors: Vec<String>,
    charts: std::collections::BTreeMap<String, ChartBox>,
}

#[derive(Debug, Deserialize)]
struct ChartBox {
    width: f64,
    height: f64,
    markers: usize,
    visible_markers: usize,
    shapes: usize,
}

/// A test-only script, put first in `<head>` so it sees every error, that measures each chart
/// after load and writes the findings into the DOM for `--dump-dom`.
const PROBE: &str = r#"<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target && (e.target.src || e.target.href);
  window.__errors.push('error: ' + (e.message || ('failed to load ' + t)));
}, true);
var realError = console.error, realWarn = console.warn;
console.error = function () { window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); realError.apply(console, arguments); };
console.warn = function () { window.__errors.push('console.warn: ' + Array.prototype.join.call(arguments, ' ')); realWarn.apply(console, arguments); };
window.addEventListener('load', function () {
  var charts = {};
  document.querySelectorAll('svg').forEach(function (svg) {
    var r = svg.getBoundingClientRect();
    var markers = svg.querySelectorAll('.kill-marker');
    var visible = Array.prototype.filter.call(markers, function (m) { var b = m.getBBox(); return b.height > 0; });
    charts[svg.id] = { width: r.width, height: r.height, markers: markers.length,
      visible_markers: visible.length, shapes: svg.querySelectorAll('rect,line,polyline').length };
  });
  var out = document.createElement('pre');
  out.id = 'firedrill-probe';
  out.textContent = JSON.stringify({ errors: window.__errors, charts: charts });
  document.body.appendChild(out);
});
</script>"#;

/// Opens `html` with the probe injected and returns its findings.
fn probe(browser: &Path, html: &str, work: &Path) -> (Probe, String) {
    let probed = html.replacen("<head>", &format!("<head>{PROBE}"), 1);
    assert_ne!(probed, html, "the page has no <head>");
    let page = work.join("probed.html");
    std::fs::write(&page, probed).unwrap();
    let (dom, stderr) = run_chromium(
        browser,
        &page,
        &["--dump-dom", "--virtual-time-budget=3000"],
        work,
    );
    let start = dom
        .find("<pre id=\"firedrill-probe\">")
        .unwrap_or_else(|| panic!("the probe did not run; stderr:\n{stderr}\ndom:\n{dom}"));
    let body = &dom[start + "<pre id=\"firedrill-probe\">".len()..];
    let json = &body[..body.find("</pre>").unwrap()];
    let json = json
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}")),
        stderr,
    )
}

/// Console lines Chromium logged for the page (with `--enable-logging=stderr`).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("CONSOLE")).collect()
}

/// Renders report.html and report.json from the recorded local-demo journal with the real
/// binary, as `firedrill report` would after a run.
fn demo_report(work: &Path) -> (RunReport, PathBuf) {
    let dir = work.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/journals/recorded-local-demo-full.jsonl"),
        dir.join("journal.jsonl"),
    )
    .unwrap();
    let out = firedrill()
        .arg("report")
        .arg(&dir)
        .args(["--format", "html,json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: RunReport =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    (report, dir.join("report.html"))
}

#[test]
fn report_html_renders_every_chart_in_chromium_without_console_errors() {
    let Some(browser) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    let (report, page) = demo_report(work.path());
    assert!(report.kills.len() >= 8, "the recorded demo has its kills");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script"),
        "report.html itself runs no script"
    );

    let (found, stderr) = probe(&browser, &html, work.path());
    assert_eq!(
        found.errors,
        Vec::<String>::new(),
        "console errors on the page"
    );
    assert_eq!(console_lines(&stderr), Vec::<&str>::new(), "console output");
    let ids: Vec<&str> = found.charts.keys().map(String::as_str).collect();
    let mut want = CHARTS.to_vec();
    want.sort_unstable();
    assert_eq!(ids, want, "one svg per chart, each with its id");
    for (id, chart) in &found.charts {
        assert!(
            chart.width > 100.0 && chart.height > 50.0,
            "{id} laid out at {chart:?}"
        );
        assert!(chart.shapes > 5, "{id} draws something: {chart:?}");
        let want_markers = match id.as_str() {
            "chart-capacity" | "chart-timeline" => report.kills.len(),
            _ => 0,
        };
        assert_eq!(chart.markers, want_markers, "{id} kill markers");
        assert_eq!(chart.visible_markers, want_markers, "{id} markers drawn");
    }

    // The screenshot of the page as a person sees it, unprobed.
    let shot = work.path().join("screenshot.png");
    let (_, stderr) = run_chromium(
        &browser,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
            "--hide-scrollbars",
        ],
        work.path(),
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {stderr}"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2400));
    // A blank page of that size compresses to a few kilobytes; charts and text do not.
    assert!(
        png.len() > 40_000,
        "screenshot looks blank: {} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("FIREDRILL_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// The probe must be able to fail: a page with a console error, a missing image, a chart
/// without size and a stray marker is caught on every count.
#[test]
fn the_browser_probe_catches_a_broken_page() {
    let Some(browser) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    let broken = r#"<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<img src="missing.png">
<svg id="chart-capacity" class="chart" width="0" height="0"><line class="kill-marker" x1="0" y1="0" x2="0" y2="0"/></svg>
<script>console.error("boom")</script>
</body></html>"#;
    let (found, stderr) = probe(&browser, broken, work.path());
    assert!(
        console_lines(&stderr).iter().any(|l| l.contains("boom")),
        "chromium's own log shows the console error too:\n{stderr}"
    );
    assert!(
        found.errors.iter().any(|e| e.contains("boom")),
        "{:?}",
        found.errors
    );
    assert!(
        found.errors.iter().any(|e| e.contains("missing.png")),
        "{:?}",
        found.errors
    );
    let chart = &found.charts["chart-capacity"];
    assert_eq!((chart.width, chart.height), (0.0, 0.0));
    assert_eq!((chart.markers, chart.visible_markers), (1, 0));
}
