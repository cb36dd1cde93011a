//! The markdown rendering of a [`RunReport`](super::RunReport): `summary.md`, written to fit a
//! pull-request comment or a CI job summary.

mod node_kills;
mod platform;
mod probes;

use crate::report::{format_clock, format_utc, identity};

use crate::report::drift::{kills_showing_drift, NO_DRIFT};
use crate::report::{KillReport, ReportStatus, RunReport, Verdict};
use crate::vocabulary::slo::{format_value, Unit};
use crate::vocabulary::units::format_micros;

/// Renders the report as markdown.
pub fn render(report: &RunReport) -> Vec<u8> {
    let mut doc = Doc::default();
    title(&mut doc, report);
    metadata(&mut doc, report);
    probes::abort(&mut doc, report);
    slos(&mut doc, report);
    spans(&mut doc, report);
    capacity(&mut doc, report);
    outages(&mut doc, report);
    drift(&mut doc, report);
    probes::section(&mut doc, report);
    kills(&mut doc, report);
    node_kills::section(&mut doc, report);
    platform::render(&mut doc, report);
    refused(&mut doc, report);
    doc.0.into_bytes()
}

/// The text being written, one line at a time.
#[derive(Default)]
struct Doc(String);

impl Doc {
    fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }

    fn heading(&mut self, text: &str) {
        self.line("");
        self.line(format!("## {text}"));
        self.line("");
    }

    /// A `##` section that holds only `when_empty` when `empty`; false then, so the caller
    /// writes nothing more.
    fn section(&mut self, text: &str, empty: bool, when_empty: &str) -> bool {
        self.heading(text);
        if empty {
            self.line(when_empty);
        }
        !empty
    }
}

fn title(doc: &mut Doc, report: &RunReport) {
    let verdict = match report.verdict {
        Verdict::Pass => "✅ PASS",
        Verdict::Fail => "❌ FAIL",
        Verdict::Aborted => "🛑 ABORTED",
    };
    let partial = if report.partial { " (partial)" } else { "" };
    doc.line(format!(
        "# firedrill: {} {verdict}{partial}",
        report.scenario.name
    ));
    doc.line("");
}

fn metadata(doc: &mut Doc, report: &RunReport) {
    let ran_us = (report.ended_at - report.started_at)
        .num_microseconds()
        .and_then(|us| u64::try_from(us).ok())
        .unwrap_or(0);
    let scenario = &report.scenario;
    let sha = scenario.sha256.get(..12).unwrap_or(&scenario.sha256);
    doc.line(format!(
        "- **Scenario:** `{}` (`{}`, sha256 `{sha}`)",
        scenario.name, scenario.path
    ));
    doc.line(format!("- **Seed:** `{}`", report.seed));
    doc.line(format!("- **Platform:** {}", report.platform));
    doc.line(format!("- **Started:** {}", format_utc(report.started_at)));
    doc.line(format!(
        "- **Ended:** {} (after {})",
        format_utc(report.ended_at),
        format_micros(ran_us)
    ));
    doc.line(format!("- **Status:** {}", report.status.describe()));
    doc.line(format!("- **firedrill:** {}", report.tool_version));
    let why = match report.status {
        ReportStatus::Completed => return,
        ReportStatus::Interrupted => "the run was stopped before its schedule ended",
        ReportStatus::Failed => "the platform failed during the run",
        ReportStatus::Crashed => "the journal stops without an end line: firedrill itself died",
        ReportStatus::Aborted => "a stop condition (abort_when) ended the run",
        ReportStatus::Stopped => "--max-runtime ran out before the schedule did",
    };
    doc.line("");
    doc.line(format!(
        "> **Partial report:** {why}. Kills still in flight at the end count as unrecovered."
    ));
}

fn slos(doc: &mut Doc, report: &RunReport) {
    if !doc.section("SLOs", report.slos.is_empty(), "The scenario sets no SLOs.") {
        return;
    }
    doc.line("| Result | Metric | Measured | Threshold |");
    doc.line("|---|---|---:|---|");
    for slo in &report.slos {
        let mark = if slo.passed { "✅ pass" } else { "❌ fail" };
        doc.line(format!(
            "| {mark} | `{}` | {} | {} {} |",
            slo.metric,
            cell(&slo.measured_display),
            cell(&slo.op),
            cell(&slo.threshold_display)
        ));
    }
}

fn spans(doc: &mut Doc, report: &RunReport) {
    doc.heading("Recovery times");
    let unrecovered = report.unrecovered().count();
    let flaps: usize = report.kills.iter().map(|k| k.flaps.len()).sum();
    doc.line(format!(
        "{}, **{unrecovered}** unrecovered, {}, {}.",
        bold_count(report.kills.len(), "kill", "kills"),
        bold_count(
            report.refused.len(),
            "refused decision",
            "refused decisions"
        ),
        bold_count(flaps, "flap", "flaps"),
    ));
    doc.line("");
    doc.line("| Span | Count | p50 | p90 | p99 | Max | Mean |");
    doc.line("|---|---:|---:|---:|---:|---:|---:|");
    for span in report.shown_spans() {
        let (from, to) = span.bounds();
        let label = format!("**{span}** ({from} → {to})");
        let Some(h) = report.histograms.get(&span).filter(|h| h.count > 0) else {
            doc.line(format!("| {label} | 0 | – | – | – | – | – |"));
            continue;
        };
        doc.line(format!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            h.count,
            format_micros(h.p50_us),
            format_micros(h.p90_us),
            format_micros(h.p99_us),
            format_micros(h.max_us),
            format_micros(h.mean_us.round() as u64),
        ));
    }
    if let Some(note) = report.zero_spans_note() {
        doc.line("");
        doc.line(note);
    }
}

fn capacity(doc: &mut Doc, report: &RunReport) {
    let c = &report.capacity;
    doc.heading("Capacity");
    doc.line(format!("- **Desired:** {} healthy", c.desired));
    doc.line(format!(
        "- **Lowest:** {} ({} of desired)",
        c.min,
        format_value(c.min_percent, Unit::Percent)
    ));
    doc.line(format!(
        "- **Below desired for:** {}",
        format_micros((c.degraded_seconds * 1e6).round() as u64)
    ));
}

/// The spans the platform's events were lost; a run without one has no such section.
fn outages(doc: &mut Doc, report: &RunReport) {
    if report.outages.is_empty() {
        return;
    }
    doc.heading("Platform outages");
    doc.line(
        "The platform's event stream was lost; no decision went ahead until it was back and \
         resynced.",
    );
    doc.line("");
    doc.line("| Lost at | Back at | Lost for | Uncertain marks | Reason |");
    doc.line("|---|---|---:|---:|---|");
    for o in &report.outages {
        let [lost, back, lost_for] = o.describe();
        doc.line(format!(
            "| {lost} | {back} | {lost_for} | {} | {} |",
            o.uncertain_marks,
            cell(&o.reason)
        ));
    }
}

/// `## Drift`, when the run captured drift evidence: the counts, then each kill that shows
/// anything.
fn drift(doc: &mut Doc, report: &RunReport) {
    let Some(d) = &report.drift else { return };
    doc.heading("Drift");
    doc.line(d.sentence());
    let shown = kills_showing_drift(report);
    doc.line("");
    if shown.is_empty() {
        doc.line(NO_DRIFT);
        return;
    }
    doc.line("| Kill | Victim | Replacement | Findings |");
    doc.line("|---:|---|---|---|");
    for (k, findings) in shown {
        doc.line(format!(
            "| {} | {} | {} | {} |",
            k.kill_id,
            cell(&identity::victim(report, k).short),
            identity::replacement(report, k).map_or_else(|| "—".to_string(), |r| cell(&r.short)),
            cell(&findings.join("; "))
        ));
    }
}

fn kills(doc: &mut Doc, report: &RunReport) {
    if !doc.section("Kills", report.kills.is_empty(), "No kills.") {
        return;
    }
    doc.line("| # | At (UTC) | Target | Victim | Replacement | Recovery | Trigger |");
    doc.line("|---:|---|---|---|---|---|---|");
    for k in &report.kills {
        let replacements: Vec<String> = identity::replacements(report, k)
            .iter()
            .map(|r| format!("`{}`", cell(&r.short)))
            .collect();
        let replacement = if replacements.is_empty() {
            "–".to_string()
        } else {
            replacements.join(", ")
        };
        doc.line(format!(
            "| {} | {} | {} | `{}` | {replacement} | {} | {} |",
            k.kill_id,
            k.killed_at().map_or_else(|| "–".to_string(), format_clock),
            cell(&k.target),
            cell(&identity::victim(report, k).short),
            outcome(k),
            trigger(k),
        ));
    }
    if report
        .kills
        .iter()
        .any(|k| k.phases.values().any(|m| m.uncertain))
    {
        doc.line("");
        doc.line(format!(
            "{UNCERTAIN} Some marks of the kills marked so were timed from firedrill's own \
             observation, not from the platform's record of the moment."
        ));
    }
    for k in &report.kills {
        if let Some(why) = &k.invalid {
            doc.line("");
            doc.line(format!(
                "**Kill {} is invalid** and fails the run: {}.",
                k.kill_id,
                cell(why)
            ));
        }
    }
}

fn refused(doc: &mut Doc, report: &RunReport) {
    if !doc.section(
        "Refused decisions",
        report.refused.is_empty(),
        "None: every decision went ahead as planned.",
    ) {
        return;
    }
    doc.line("| Decision | At | Target | Killed | Reason |");
    doc.line("|---:|---:|---|---|---|");
    for r in &report.refused {
        doc.line(format!(
            "| {} | {} | {} | {} of {} | {} |",
            r.seq,
            format_micros(r.offset_ms.saturating_mul(1_000)),
            cell(&r.target),
            r.killed,
            r.wanted,
            cell(&r.reason)
        ));
    }
}

/// A kill's recovery time, or where it stalled.
fn outcome(k: &KillReport) -> String {
    let mut text = match (&k.unrecovered, k.recovery_us) {
        _ if k.invalid.is_some() => "**invalid**".to_string(),
        (Some(u), _) => format!("**unrecovered** (stalled in {})", u.stalled_in),
        (None, Some(us)) => format_micros(us),
        (None, None) => "–".to_string(),
    };
    if !k.flaps.is_empty() {
        text.push_str(&format!(", {}", plural(k.flaps.len(), "flap", "flaps")));
    }
    if k.phases.values().any(|m| m.uncertain) {
        text.push_str(&format!(" {UNCERTAIN}"));
    }
    text
}

/// Marks a kill whose times are not all the platform's own.
const UNCERTAIN: &str = "†";

/// What the recovery trigger did for a kill.
fn trigger(k: &KillReport) -> String {
    match &k.trigger {
        None => "–".to_string(),
        Some(t) if t.timed_out => format!("timed out after {}", format_micros(t.duration_us)),
        Some(t) => match t.exit_code {
            Some(code) => format!("exit {code}"),
            None => "no exit code".to_string(),
        },
    }
}

fn bold_count(n: usize, one: &str, many: &str) -> String {
    format!("**{n}** {}", if n == 1 { one } else { many })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Text made safe for one table cell: a `|` would end the cell and a newline the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::build::fixtures;

    fn markdown(name: &str) -> String {
        String::from_utf8(render(&fixtures::report(name))).unwrap()
    }

    #[test]
    fn summary_of_a_failed_nightly_run() {
        insta::assert_snapshot!(markdown("shop-nightly"));
    }

    #[test]
    fn summary_of_a_crashed_run_says_it_is_partial() {
        let md = markdown("local-crashed");
        assert!(md.contains("(partial)"));
        insta::assert_snapshot!(md);
    }

    #[test]
    fn a_pipe_in_a_reason_does_not_break_the_table() {
        let mut report = fixtures::report("shop-nightly");
        report.refused[0].reason = "a | b\nc".into();
        let md = String::from_utf8(render(&report)).unwrap();
        assert!(md.contains("| a \\| b c |"), "{md}");
    }
}
