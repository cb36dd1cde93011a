//! `dashboards/firedrill.json` references only metrics firedrill exports: a renamed metric
//! would otherwise leave a panel silently empty. (tests/metrics_prometheus.rs also runs every
//! panel's query against a real Prometheus holding a real run.)

mod common;

use std::collections::BTreeSet;

use common::scrape::dashboard_queries;
use firedrill::metrics::catalogue;

/// The `firedrill_...` names in a query.
fn names(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("firedrill_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        found.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    found
}

#[test]
fn every_metric_the_dashboard_queries_is_one_firedrill_exports() {
    let exported: BTreeSet<String> = catalogue::ALL
        .iter()
        .flat_map(|f| f.series_names())
        .collect();
    let queries = dashboard_queries();
    assert!(queries.len() >= 10, "only {} queries", queries.len());
    let mut used = BTreeSet::new();
    for expr in &queries {
        let named = names(expr);
        assert!(!named.is_empty(), "{expr} names no firedrill metric");
        for name in named {
            assert!(
                exported.contains(&name),
                "{expr}: {name} is not exported; exported are {exported:?}"
            );
            used.insert(name);
        }
    }
    // The families the issue asks a dashboard to show: capacity, recovery percentiles per
    // span, kills, probe availability.
    for needed in [
        "firedrill_capacity_healthy",
        "firedrill_recovery_seconds_bucket",
        "firedrill_kills_total",
        "firedrill_probe_failures_total",
        "firedrill_probe_requests_total",
    ] {
        assert!(used.contains(needed), "the dashboard never shows {needed}");
    }
}

#[test]
fn a_misspelt_metric_is_caught() {
    let exported: BTreeSet<String> = catalogue::ALL
        .iter()
        .flat_map(|f| f.series_names())
        .collect();
    let named = names("sum(rate(firedrill_kill_total[1m])) / firedrill_capacity_healthy");
    assert_eq!(
        named,
        ["firedrill_kill_total", "firedrill_capacity_healthy"]
    );
    assert!(!exported.contains(&named[0]));
    assert!(exported.contains(&named[1]));
}
