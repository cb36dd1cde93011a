use super::*;
use crate::report::build::fixtures;

fn html(name: &str) -> (RunReport, String) {
    let report = fixtures::report(name);
    let page = String::from_utf8(render(&report)).unwrap();
    (report, page)
}

/// The text of the `<svg>` with this id.
fn chart<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} in the page"));
    let end = start + page[start..].find("</svg>").unwrap();
    &page[start..end]
}

#[test]
fn every_chart_is_on_the_page_with_one_marker_per_kill() {
    let (report, page) = html("shop-nightly");
    assert!(!report.kills.is_empty());
    for id in [
        "chart-capacity",
        "chart-histogram",
        "chart-phases",
        "chart-timeline",
    ] {
        chart(&page, id);
    }
    let markers = |id| chart(&page, id).matches("class=\"kill-marker\"").count();
    assert_eq!(markers("chart-capacity"), report.kills.len());
    assert_eq!(markers("chart-timeline"), report.kills.len());
    assert_eq!(markers("chart-histogram"), 0);
}

#[test]
fn the_page_fetches_nothing_and_runs_no_script() {
    let (_, page) = html("shop-nightly");
    assert!(!page.contains("<script"));
    assert!(!page.contains("<link"));
    let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
}

#[test]
fn breached_slos_and_unrecovered_kills_are_named() {
    let (report, page) = html("shop-nightly");
    for slo in report.slos.iter().filter(|s| !s.passed) {
        assert!(page.contains(&escape(&slo.slo)), "{}", slo.slo);
    }
    let unrecovered = report.unrecovered().count();
    assert_eq!(
        page.matches("<li class=\"unrecovered\">").count(),
        unrecovered
    );
    assert_eq!(
        page.matches("<tr class=\"refused\">").count(),
        report.refused.len()
    );
}

#[test]
fn text_from_the_journal_is_escaped() {
    let mut report = fixtures::report("shop-nightly");
    report.scenario.name = "<script>alert(1)</script>".into();
    report.refused[0].reason = "a < b & \"c\"".into();
    let page = String::from_utf8(render(&report)).unwrap();
    assert!(!page.contains("<script>"));
    assert!(page.contains("a &lt; b &amp; &quot;c&quot;"));
}

#[test]
fn the_floor_is_drawn_only_when_the_scenario_has_one() {
    let mut report = fixtures::report("shop-nightly");
    report.capacity.min_healthy_floor = None;
    let page = String::from_utf8(render(&report)).unwrap();
    assert!(!chart(&page, "chart-capacity").contains("class=\"floor\""));
    report.capacity.min_healthy_floor = Some(2);
    let page = String::from_utf8(render(&report)).unwrap();
    assert!(chart(&page, "chart-capacity").contains("class=\"floor\""));
}

#[test]
fn a_run_without_kills_still_draws_every_chart() {
    let (report, page) = html("local-interrupted");
    for id in [
        "chart-capacity",
        "chart-histogram",
        "chart-phases",
        "chart-timeline",
    ] {
        assert_eq!(
            chart(&page, id).matches("kill-marker").count(),
            if id == "chart-histogram" || id == "chart-phases" {
                0
            } else {
                report.kills.len()
            }
        );
    }
}
