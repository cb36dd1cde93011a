//! The markdown sections on steady-state probes (a table per probe and per-kill impact) and on
//! the stop condition that aborted a run.

use super::{cell, Doc};
use crate::report::{identity, ProbeReport, RunReport};
use crate::vocabulary::slo::{format_value, Unit};
use crate::vocabulary::units::format_micros;

/// `## Aborted`, when a stop condition ended the run.
pub(super) fn abort(doc: &mut Doc, report: &RunReport) {
    let Some(a) = &report.abort else { return };
    doc.heading("Aborted");
    doc.line(a.sentence(|c| format!("`{}`", cell(c)), cell));
}

/// `## Probes`: one summary row per probe, then each probe's per-kill impact.
pub(super) fn section(doc: &mut Doc, report: &RunReport) {
    if report.probes.is_empty() {
        return;
    }
    doc.heading("Probes");
    doc.line(
        "| Probe | Kind | Endpoint | Requests | Failed | Availability | p50 | p99 | Max | \
         Baseline failed | Failed outside kills |",
    );
    doc.line("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &report.probes {
        let lat = |f: fn(&crate::report::HistogramSummary) -> u64| {
            p.latency
                .as_ref()
                .map_or_else(|| "–".to_string(), |h| format_micros(f(h)))
        };
        doc.line(format!(
            "| `{}` | {} | `{}` | {} | {} | {} | {} | {} | {} | {} of {} | {} |",
            cell(&p.name),
            p.kind,
            cell(&p.endpoint),
            p.requests,
            p.failures,
            availability(p),
            lat(|h| h.p50_us),
            lat(|h| h.p99_us),
            lat(|h| h.max_us),
            p.baseline.failures,
            p.baseline.requests,
            p.failures_outside_kills,
        ));
    }
    for p in &report.probes {
        if p.kills.is_empty() {
            continue;
        }
        doc.line("");
        doc.line(format!(
            "**Impact of each kill on `{}`** (requests in flight at any moment between the kill \
             and its restored mark)",
            cell(&p.name)
        ));
        doc.line("");
        doc.line(
            "| Kill | Victim | Requests | Failed | First failure (UTC) | Last failure (UTC) | Worst latency |",
        );
        doc.line("|---:|---|---:|---:|---|---|---:|");
        for k in &p.kills {
            let victim = report
                .kills
                .iter()
                .find(|r| r.kill_id == k.kill_id)
                .map_or_else(
                    || "–".to_string(),
                    |r| cell(&identity::victim(report, r).short),
                );
            let [first, last, worst] = k.cells();
            doc.line(format!(
                "| {} | {victim} | {} | {} | {} | {} | {} |",
                k.kill_id, k.requests, k.failures, first, last, worst
            ));
        }
    }
}

fn availability(p: &ProbeReport) -> String {
    p.availability_percent
        .map_or_else(|| "no data".to_string(), |a| format_value(a, Unit::Percent))
}

#[cfg(test)]
mod tests {
    use crate::report::build::fixtures;

    fn markdown(name: &str) -> String {
        String::from_utf8(super::super::render(&fixtures::report(name))).unwrap()
    }

    #[test]
    fn probe_tables_of_a_recorded_run() {
        let text = markdown("recorded-local-probes");
        let probes = &text[text.find("## Probes").unwrap()..text.find("## Kills").unwrap()];
        insta::assert_snapshot!(probes);
    }

    #[test]
    fn a_run_without_probes_has_no_probe_section() {
        assert!(!markdown("recorded-local-demo").contains("## Probes"));
    }
}
