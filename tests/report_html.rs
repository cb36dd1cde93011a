//! report.html in a real browser: headless Chromium (Debian's `chromium` package) opens pages
//! rendered from journals recorded from real runs (a local demo, a single-node Swarm run with a
//! probe, and a node drain on the 3-node lab), takes screenshots, and a test-only probe checks
//! that nothing went to the console, every chart was laid out with the expected kill markers,
//! the histograms have count axes and their percentile labels do not overlap, and the Swarm,
//! probe and node-kill sections are there.
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
    /// Each `<section>`'s id and how many table rows it holds.
    sections: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Deserialize)]
struct ChartBox {
    width: f64,
    height: f64,
    markers: usize,
    visible_markers: usize,
    shapes: usize,
    /// Elements drawn with a size, by class, for the classes [`PROBE`] counts.
    drawn: std::collections::BTreeMap<String, usize>,
    /// Labels (`text` of a class [`PROBE`] checks) whose boxes intersect another's in the same
    /// chart, as "label a / label b".
    overlaps: Vec<String>,
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
    var drawn = {};
    ['count-label', 'pct-label', 'kill-window', 'probe-fail', 'probe-failure', 'availability',
     'latency-mean', 'tick'].forEach(function (c) {
      drawn[c] = Array.prototype.filter.call(svg.querySelectorAll('.' + c), function (e) {
        var b = e.getBBox(); return b.width > 0 && b.height > 0; }).length;
    });
    var overlaps = [];
    ['pct-label', 'tick', 'kill-label'].forEach(function (c) {
      var labels = Array.prototype.map.call(svg.querySelectorAll('text.' + c), function (e) {
        return { text: e.textContent, b: e.getBBox() }; });
      for (var i = 0; i < labels.length; i++) for (var j = i + 1; j < labels.length; j++) {
        var a = labels[i].b, b = labels[j].b;
        if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
          overlaps.push(labels[i].text + ' / ' + labels[j].text);
      }
    });
    charts[svg.id] = { width: r.width, height: r.height, markers: markers.length,
      visible_markers: visible.length, shapes: svg.querySelectorAll('rect,line,polyline').length,
      drawn: drawn, overlaps: overlaps };
  });
  var sections = {};
  document.querySelectorAll('section').forEach(function (s) {
    sections[s.id] = s.querySelectorAll('tbody tr, dl dt').length;
  });
  var out = document.createElement('pre');
  out.id = 'firedrill-probe';
  out.textContent = JSON.stringify({ errors: window.__errors, charts: charts, sections: sections });
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

/// Renders report.html and report.json from a recorded journal with the real binary, as
/// `firedrill report` would after a run.
fn report_of(work: &Path, journal: &str) -> (RunReport, PathBuf) {
    let dir = work.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/journals")
            .join(journal),
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
    let (report, page) = report_of(work.path(), "recorded-local-demo-full.jsonl");
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
        assert_eq!(chart.overlaps, Vec::<String>::new(), "{id}: labels overlap");
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

/// The page of a real single-node Swarm run with a probe (tests/fixtures/recording/ says how it
/// was recorded): the Swarm sections summary.md has, count axes on the histograms with
/// percentile labels apart, and the probe-over-time chart with every kill's window.
#[test]
fn a_swarm_run_page_shows_the_swarm_sections_count_axes_and_probes_over_time() {
    let Some(browser) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    let (report, page) = report_of(work.path(), "recorded-swarm-probes.jsonl");
    assert_eq!(report.platform, "swarm");
    assert!(report.kills.len() >= 6, "{}", report.kills.len());
    let html = std::fs::read_to_string(&page).unwrap();
    let (found, stderr) = probe(&browser, &html, work.path());
    assert_eq!(found.errors, Vec::<String>::new(), "console errors");
    assert_eq!(console_lines(&stderr), Vec::<&str>::new(), "console output");
    eprintln!("sections: {:?}", found.sections);

    // The Swarm sections: one row per service in each breakdown, both services, the clocks.
    let services: usize = report.breakdowns.get("service").map_or(0, Vec::len);
    let nodes: usize = report.breakdowns.get("node").map_or(0, Vec::len);
    assert_eq!((services, nodes), (2, 1), "{:?}", report.breakdowns);
    assert_eq!(found.sections.get("breakdowns"), Some(&(services + nodes)));
    assert_eq!(found.sections.get("services"), Some(&2));
    assert_eq!(found.sections.get("clocks"), Some(&6), "a clock per mark");
    assert_eq!(found.sections.get("kills"), Some(&report.kills.len()));
    for id in ["slos", "spans", "probes", "refused"] {
        assert!(found.sections.contains_key(id), "no section {id}");
    }
    // Victims and replacements: 12 characters of the task id and the slot, the full id on hover.
    let k = &report.kills[0];
    let short = &k.victim[..12];
    assert!(
        html.contains(&format!("title=\"{}, slot {}", k.victim, k.slot))
            && html.contains(&format!(">{short} ({})</span>", k.slot)),
        "victim {} not shown as {short} ({})",
        k.victim,
        k.slot
    );
    let replacement = k.replacement.as_deref().unwrap();
    assert!(html.contains(&format!(">{} ({})</span>", &replacement[..12], k.slot)));
    assert!(
        !html.contains(&format!(">{replacement}<")),
        "a full task id in a cell"
    );
    // restore was 0 in every kill: hidden, and said so.
    assert!(html.contains("id=\"hidden-spans\""));
    assert!(!html.contains("<th class=\"num\">restore</th>"));

    let hist = &found.charts["chart-histogram"];
    let rows = report.shown_spans().len();
    assert_eq!(
        hist.drawn["count-label"],
        2 * rows,
        "0 and a top count per row: {hist:?}"
    );
    assert_eq!(hist.drawn["pct-label"], 2 * rows, "{hist:?}");
    assert_eq!(hist.overlaps, Vec::<String>::new(), "labels overlap");

    let probes = &found.charts["chart-probes"];
    assert!(probes.width > 100.0 && probes.height > 100.0, "{probes:?}");
    assert_eq!(
        probes.drawn["kill-window"],
        report.kills.len(),
        "{probes:?}"
    );
    let failing_buckets = report.probes[0]
        .over_time
        .buckets
        .iter()
        .filter(|b| b.failures > 0)
        .count();
    assert!(failing_buckets > 0);
    assert_eq!(probes.drawn["probe-fail"], failing_buckets, "{probes:?}");
    assert!(probes.drawn["availability"] > 0 && probes.drawn["latency-mean"] > 0);
    assert_eq!(probes.overlaps, Vec::<String>::new(), "labels overlap");
    let capacity = &found.charts["chart-capacity"];
    assert_eq!(
        capacity.drawn["probe-failure"], failing_buckets,
        "{capacity:?}"
    );
    assert_eq!(capacity.overlaps, Vec::<String>::new(), "labels overlap");
    assert_eq!(
        found.charts["chart-timeline"].overlaps,
        Vec::<String>::new()
    );

    let shot = work.path().join("swarm.png");
    let (_, stderr) = run_chromium(
        &browser,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,4000",
            "--hide-scrollbars",
        ],
        work.path(),
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {stderr}"));
    assert!(
        png.len() > 40_000,
        "screenshot looks blank: {} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("FIREDRILL_KEEP_SWARM_SCREENSHOT") {
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
<svg id="chart-histogram" width="200" height="50"><text class="pct-label" x="50" y="20">p50 1s</text><text class="pct-label" x="60" y="22">p99 2s</text><text class="tick" x="150" y="20">3s</text></svg>
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
    let hist = &found.charts["chart-histogram"];
    assert_eq!(hist.overlaps, ["p50 1s / p99 2s"], "{hist:?}");
    assert_eq!(hist.drawn["pct-label"], 2);
    assert_eq!((chart.markers, chart.visible_markers), (1, 0));
}

/// The page of a node drain recorded on the 3-node lab: the node-kill table has its row, the
/// clocks name the node back mark too, and nothing goes to the console.
#[test]
fn a_node_kill_page_shows_the_node_kill_table() {
    let Some(browser) = chromium() else { return };
    let work = tempfile::tempdir().unwrap();
    let (report, page) = report_of(work.path(), "recorded-swarm-node-drain.jsonl");
    assert!(report.kills[0].node.is_some());
    let html = std::fs::read_to_string(&page).unwrap();
    let (found, stderr) = probe(&browser, &html, work.path());
    assert_eq!(found.errors, Vec::<String>::new(), "console errors");
    assert_eq!(console_lines(&stderr), Vec::<&str>::new(), "console output");
    assert_eq!(
        found.sections.get("node-kills"),
        Some(&1),
        "{:?}",
        found.sections
    );
    assert_eq!(
        found.sections.get("clocks"),
        Some(&7),
        "a clock per mark and node back"
    );
    assert_eq!(found.sections.get("breakdowns"), Some(&1), "one node");
}
