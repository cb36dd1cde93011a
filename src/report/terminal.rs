//! The terminal rendering of a [`RunReport`](super::RunReport): the summary printed at the end
//! of every run. Plain text with no colour codes, so it reads the same in a CI log, a pipe and
//! a terminal.

use crate::report::node_kill::{cells, node_kills};
use crate::report::{identity, ReportStatus, RunReport, Verdict};
use crate::vocabulary::slo::{format_value, Unit};
use crate::vocabulary::units::format_micros;

/// Renders the report as plain text for the terminal.
pub fn render(report: &RunReport) -> Vec<u8> {
    let mut lines: Vec<String> = Vec::new();
    headline(&mut lines, report);
    lines.push(String::new());
    span_table(&mut lines, report);
    lines.push(String::new());
    slo_lines(&mut lines, report);
    lines.push(String::new());
    if !report.probes.is_empty() {
        probe_lines(&mut lines, report);
        lines.push(String::new());
    }
    if node_kills(report).next().is_some() {
        node_kill_lines(&mut lines, report);
        lines.push(String::new());
    }
    outcome_lines(&mut lines, report);
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

fn headline(lines: &mut Vec<String>, report: &RunReport) {
    let verdict = match report.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Aborted => "ABORTED",
    };
    let partial = match report.status {
        ReportStatus::Completed => None,
        ReportStatus::Interrupted => Some("stopped before its schedule ended"),
        ReportStatus::Failed => Some("the platform failed during the run"),
        ReportStatus::Crashed => Some("the journal has no end line, firedrill itself died"),
        ReportStatus::Aborted => Some("a stop condition (abort_when) ended the run"),
        ReportStatus::Stopped => Some("--max-runtime ran out before the schedule did"),
    };
    let ran_us = (report.ended_at - report.started_at)
        .num_microseconds()
        .and_then(|us| u64::try_from(us).ok())
        .unwrap_or(0);
    lines.push(format!("firedrill {}: {verdict}", report.scenario.name));
    lines.push(format!(
        "  {} after {}, seed {}, platform {}",
        status_word(report.status),
        format_micros(ran_us),
        report.seed,
        report.platform
    ));
    if let Some(why) = partial {
        lines.push(format!("  partial report: {why}"));
    }
    let unrecovered = report.unrecovered().count();
    let flaps: usize = report.kills.iter().map(|k| k.flaps.len()).sum();
    lines.push(format!(
        "  kills {}  unrecovered {unrecovered}  refused {}  flaps {flaps}",
        report.kills.len(),
        report.refused.len()
    ));
}

fn status_word(status: ReportStatus) -> &'static str {
    match status {
        ReportStatus::Completed => "completed",
        ReportStatus::Interrupted => "interrupted",
        ReportStatus::Failed => "failed",
        ReportStatus::Crashed => "crashed",
        ReportStatus::Aborted => "aborted",
        ReportStatus::Stopped => "stopped",
    }
}

fn span_table(lines: &mut Vec<String>, report: &RunReport) {
    let mut rows: Vec<[String; 6]> = vec![[
        "span".into(),
        "count".into(),
        "p50".into(),
        "p90".into(),
        "p99".into(),
        "max".into(),
    ]];
    for span in report.shown_spans() {
        let row = match report.histograms.get(&span).filter(|h| h.count > 0) {
            Some(h) => [
                span.to_string(),
                h.count.to_string(),
                format_micros(h.p50_us),
                format_micros(h.p90_us),
                format_micros(h.p99_us),
                format_micros(h.max_us),
            ],
            None => [
                span.to_string(),
                "0".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        };
        rows.push(row);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        // The span name reads left to right; the figures line up on their right edge.
        let mut line = format!("  {:<w$}", row[0], w = widths[0]);
        for (value, w) in row.iter().zip(&widths).skip(1) {
            line.push_str(&format!("  {value:>w$}"));
        }
        lines.push(line);
    }
    if let Some(note) = report.zero_spans_note() {
        lines.push(format!("  {note}"));
    }
}

fn slo_lines(lines: &mut Vec<String>, report: &RunReport) {
    if report.slos.is_empty() {
        lines.push("  no SLOs set".into());
        return;
    }
    lines.push("  SLOs".into());
    let width = report
        .slos
        .iter()
        .map(|s| s.slo.chars().count())
        .max()
        .unwrap_or(0);
    for slo in &report.slos {
        let mark = if slo.passed { "pass" } else { "FAIL" };
        lines.push(format!(
            "  {mark}  {:<width$}  measured {}",
            slo.slo, slo.measured_display
        ));
    }
}

fn probe_lines(lines: &mut Vec<String>, report: &RunReport) {
    lines.push("  probes".into());
    for p in &report.probes {
        let availability = p
            .availability_percent
            .map_or_else(|| "no data".to_string(), |a| format_value(a, Unit::Percent));
        let latency = p.latency.as_ref().map_or_else(String::new, |h| {
            format!(
                ", latency p50 {} p99 {} max {}",
                format_micros(h.p50_us),
                format_micros(h.p99_us),
                format_micros(h.max_us)
            )
        });
        lines.push(format!(
            "  {} ({} {}): {} of {} failed, availability {availability}{latency}; {} failed \
             outside kill windows",
            p.name, p.kind, p.endpoint, p.failures, p.requests, p.failures_outside_kills
        ));
        for k in p.kills.iter().filter(|k| k.failures > 0) {
            let span = match (k.first_failure, k.last_failure) {
                (Some(first), Some(last)) => format_micros(
                    (last - first)
                        .num_microseconds()
                        .and_then(|us| u64::try_from(us).ok())
                        .unwrap_or(0),
                ),
                _ => "-".to_string(),
            };
            lines.push(format!(
                "    kill {}: {} of {} failed over {span}, worst latency {}",
                k.kill_id,
                k.failures,
                k.requests,
                k.worst_latency_us
                    .map_or_else(|| "-".to_string(), format_micros)
            ));
        }
    }
}

/// One line per node kill: what it took down, where that went, and when the node was down,
/// the services restored and the node back, each since the kill.
fn node_kill_lines(lines: &mut Vec<String>, report: &RunReport) {
    lines.push("  node kills".into());
    for (k, node) in node_kills(report) {
        let [lost, moved, down, restored, back] = cells(k, node);
        lines.push(format!(
            "  kill {}: node {}, {}: tasks lost {lost}; moved {moved}; down {down}, restored \
             {restored}, node back {back}",
            k.kill_id, node.hostname, k.action
        ));
    }
}

fn outcome_lines(lines: &mut Vec<String>, report: &RunReport) {
    if let Some(a) = &report.abort {
        lines.push(format!(
            "  aborted: stop condition `{}` fired (measured {})",
            a.condition, a.measured
        ));
    }
    let c = &report.capacity;
    lines.push(format!(
        "  capacity: desired {}, min {} ({}), below desired for {}",
        c.desired,
        c.min,
        format_value(c.min_percent, Unit::Percent),
        format_micros((c.degraded_seconds * 1e6).round() as u64)
    ));
    for k in &report.kills {
        if let Some(u) = &k.unrecovered {
            lines.push(format!(
                "  unrecovered: kill {} on {}: {}, stalled in {}",
                k.kill_id,
                k.target,
                identity::victim(report, k).short,
                u.stalled_in
            ));
        }
    }
    for k in &report.kills {
        if let Some(why) = &k.invalid {
            lines.push(format!(
                "  invalid: kill {} on {}: {}: {why}",
                k.kill_id,
                k.target,
                identity::victim(report, k).short
            ));
        }
    }
    if let Some(d) = &report.drift {
        lines.push(format!(
            "  drift: {} modified victims, {} carried over, {} image changed, {} config changed, {} unknown",
            d.modified_victims, d.carried_over, d.image_changed, d.config_changed, d.unknown
        ));
        for k in &report.kills {
            for finding in k.drift.iter().flat_map(|d| d.findings()) {
                lines.push(format!(
                    "    kill {} {}: {finding}",
                    k.kill_id,
                    identity::victim(report, k).short
                ));
            }
        }
    }
    for o in &report.outages {
        let [lost, _, lost_for] = o.describe();
        lines.push(format!(
            "  events lost: at {lost} for {lost_for} ({}), {} uncertain marks after",
            o.reason, o.uncertain_marks
        ));
    }
    for r in &report.refused {
        lines.push(format!(
            "  refused: decision {} on {} killed {} of {}: {}",
            r.seq, r.target, r.killed, r.wanted, r.reason
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::build::fixtures;

    fn text(name: &str) -> String {
        String::from_utf8(render(&fixtures::report(name))).unwrap()
    }

    #[test]
    fn summary_of_a_failed_nightly_run() {
        insta::assert_snapshot!(text("shop-nightly"));
    }

    #[test]
    fn summary_of_an_interrupted_run_without_kills() {
        insta::assert_snapshot!(text("local-interrupted"));
    }

    #[test]
    fn a_crashed_run_is_called_partial() {
        let summary = text("local-crashed");
        assert!(summary.contains("crashed after"), "{summary}");
        assert!(summary.contains("partial report: the journal has no end line"));
        assert!(
            summary.contains("unrecovered: kill 2 on web: PID 4101 (web-1), stalled in running"),
            "{summary}"
        );
    }

    #[test]
    fn probes_and_their_kill_impact_are_summarised() {
        insta::assert_snapshot!(text("recorded-local-probes"));
    }

    #[test]
    fn node_kills_are_summarised() {
        insta::assert_snapshot!(text("recorded-swarm-node-loss"));
    }

    #[test]
    fn a_run_of_task_kills_has_no_node_kill_lines() {
        for name in ["shop-nightly", "recorded-local-probes"] {
            assert!(!text(name).contains("node kills"), "{name}");
        }
    }

    #[test]
    fn the_summary_has_no_colour_codes() {
        for name in ["shop-nightly", "local-crashed", "local-interrupted"] {
            assert!(!text(name).contains('\u{1b}'), "{name}");
        }
    }
}
