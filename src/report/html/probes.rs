//! The page's sections on steady-state probes (a table per probe and per-kill impact) and on
//! the stop condition that aborted a run.

use std::fmt::Write as _;

use super::svg::escape;
use crate::report::{identity, RunReport};
use crate::vocabulary::slo::{format_value, Unit};
use crate::vocabulary::units::format_micros;

/// The stop condition that ended the run, when one fired.
pub(super) fn abort(page: &mut String, report: &RunReport) {
    let Some(a) = &report.abort else { return };
    let sentence = a.sentence(|c| format!("<code>{}</code>", escape(c)), escape);
    let _ = writeln!(
        page,
        "<section id=\"abort\"><h2>Aborted</h2><p class=\"warning\">{sentence}</p></section>"
    );
}

/// One table of probe totals, then one table per probe of each kill's impact.
pub(super) fn section(page: &mut String, report: &RunReport) {
    if report.probes.is_empty() {
        return;
    }
    page.push_str("<section id=\"probes\"><h2>Probes</h2>\n");
    if let Some(chart) = super::probe_chart::chart(report) {
        let _ = writeln!(
            page,
            "<p>What the probes' clients saw, in buckets of {}: the share of requests that \
             succeeded (red where some failed) and their latency. Shaded: each kill's window, from \
             the kill to its restored mark.</p>\n<figure>{chart}</figure>",
            report
                .probes
                .iter()
                .find(|p| !p.over_time.is_empty())
                .map_or_else(String::new, |p| format_micros(
                    p.over_time.bucket_ms * 1_000
                ))
        );
    }
    page.push_str(
        "<table><thead><tr><th>Probe</th>\
         <th>Endpoint</th><th class=\"num\">Requests</th><th class=\"num\">Failed</th>\
         <th class=\"num\">Availability</th><th class=\"num\">p50</th><th class=\"num\">p99</th>\
         <th class=\"num\">Max</th><th class=\"num\">Baseline failed</th>\
         <th class=\"num\">Failed outside kills</th></tr></thead><tbody>\n",
    );
    for p in &report.probes {
        let lat = |f: fn(&crate::report::HistogramSummary) -> u64| {
            p.latency
                .as_ref()
                .map_or_else(|| "–".to_string(), |h| format_micros(f(h)))
        };
        let _ = writeln!(
            page,
            "<tr class=\"probe\"><td>{} <span class=\"muted\">{}</span></td><td><code>{}</code></td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{} of {}</td><td class=\"num\">{}</td></tr>",
            escape(&p.name),
            p.kind,
            escape(&p.endpoint),
            p.requests,
            p.failures,
            p.availability_percent
                .map_or_else(|| "no data".to_string(), |a| format_value(a, Unit::Percent)),
            lat(|h| h.p50_us),
            lat(|h| h.p99_us),
            lat(|h| h.max_us),
            p.baseline.failures,
            p.baseline.requests,
            p.failures_outside_kills
        );
    }
    page.push_str("</tbody></table>\n");
    for p in report.probes.iter().filter(|p| !p.kills.is_empty()) {
        let _ = writeln!(
            page,
            "<h3>Impact of each kill on {}</h3>\n<table class=\"probe-impact\"><thead><tr>\
             <th class=\"num\">Kill</th><th>Victim</th><th class=\"num\">Requests</th>\
             <th class=\"num\">Failed</th><th>First failure (UTC)</th><th>Last failure (UTC)</th>\
             <th class=\"num\">Worst latency</th></tr></thead><tbody>",
            escape(&p.name)
        );
        for k in &p.kills {
            let victim = report
                .kills
                .iter()
                .find(|r| r.kill_id == k.kill_id)
                .map_or_else(String::new, |r| {
                    super::instance(&identity::victim(report, r))
                });
            let [first, last, worst] = k.cells();
            let _ = writeln!(
                page,
                "<tr><td class=\"num\">{}</td><td>{victim}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                k.kill_id, k.requests, k.failures, first, last, worst
            );
        }
        page.push_str("</tbody></table>\n");
    }
    page.push_str("</section>\n");
}
