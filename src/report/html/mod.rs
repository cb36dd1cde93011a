//! `report.html`: one self-contained page for a game-day room or a nightly review. Inline CSS
//! and inline SVG, no scripts and nothing fetched, so it opens offline and prints.
//!
//! The charts are hand-written SVG ([`svg`]) rather than a plotting crate: each element needs a
//! stable id or class (`chart-*`, `kill-marker`) for tests and print styles, the recovery axis is
//! log-scaled by decade, and the page must be byte-identical when rebuilt from the journal.

mod axis;
mod capacity;
mod histogram;
mod node_kills;
mod outages;
mod platform;
mod probe_chart;
mod probes;
mod style;
mod svg;
mod timeline;

use crate::report::{format_clock, format_utc, identity};
use std::fmt::Write as _;

use crate::report::{KillReport, RunReport, Verdict};
use crate::vocabulary::phase::{Phase, Span};
use crate::vocabulary::slo::{format_value, Unit};
use crate::vocabulary::units::format_micros;

use svg::escape;

/// Renders the report as one HTML page.
pub fn render(report: &RunReport) -> Vec<u8> {
    let mut page = String::new();
    let title = format!(
        "firedrill: {} ({})",
        report.scenario.name,
        verdict_word(report)
    );
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&title),
        style::CSS
    );
    header(&mut page, report);
    probes::abort(&mut page, report);
    slos(&mut page, report);
    spans(&mut page, report);
    charts(&mut page, report);
    probes::section(&mut page, report);
    unrecovered(&mut page, report);
    outages::sections(&mut page, report);
    kills(&mut page, report);
    node_kills::section(&mut page, report);
    platform::sections(&mut page, report);
    refused(&mut page, report);
    let _ = write!(
        page,
        "<footer>Written by firedrill {} from the run's journal.</footer>\n</body>\n</html>\n",
        escape(&report.tool_version)
    );
    page.into_bytes()
}

/// Opens `<section id>` with its heading. When `empty`, the section holds only `when_empty`,
/// is closed, and false tells the caller to write nothing more.
fn section(page: &mut String, (id, title): (&str, &str), empty: bool, when_empty: &str) -> bool {
    let _ = writeln!(page, "<section id=\"{id}\"><h2>{title}</h2>");
    if empty {
        let _ = writeln!(page, "<p>{when_empty}</p></section>");
    }
    !empty
}

fn verdict_word(report: &RunReport) -> &'static str {
    match (report.verdict, report.partial) {
        (Verdict::Pass, false) => "pass",
        (Verdict::Fail, false) => "fail",
        (Verdict::Pass, true) => "pass, partial",
        (Verdict::Fail, true) => "fail, partial",
        (Verdict::Aborted, _) => "aborted",
    }
}

fn header(page: &mut String, report: &RunReport) {
    let verdict_class = match report.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail | Verdict::Aborted => "fail",
    };
    let _ = writeln!(
        page,
        "<header><h1>firedrill: {}</h1><span id=\"verdict\" class=\"verdict {verdict_class}\">{}</span></header>",
        escape(&report.scenario.name),
        escape(&verdict_word(report).to_uppercase())
    );
    let ran_us = (report.ended_at - report.started_at)
        .num_microseconds()
        .and_then(|us| u64::try_from(us).ok())
        .unwrap_or(0);
    let s = &report.scenario;
    let sha = s.sha256.get(..12).unwrap_or(&s.sha256);
    let rows = [
        (
            "Scenario",
            format!(
                "{} <span class=\"muted\">({}, sha256 {})</span>",
                escape(&s.name),
                escape(&s.path),
                escape(sha)
            ),
        ),
        ("Seed", report.seed.to_string()),
        ("Platform", escape(&report.platform)),
        ("Started", format_utc(report.started_at)),
        (
            "Ended",
            format!(
                "{} (after {})",
                format_utc(report.ended_at),
                format_micros(ran_us)
            ),
        ),
        ("Status", report.status.describe().to_string()),
        ("Verdict", escape(verdict_word(report))),
        ("firedrill", escape(&report.tool_version)),
    ];
    page.push_str("<dl class=\"meta\">");
    for (k, v) in rows {
        let _ = write!(page, "<dt>{k}</dt><dd>{v}</dd>");
    }
    page.push_str("</dl>\n");
    if report.partial {
        let _ = writeln!(
            page,
            "<p class=\"warning\">Partial report: the run did not finish its schedule ({}). \
             Kills still in flight at the end count as unrecovered.</p>",
            report.status.describe()
        );
    }
}

fn slos(page: &mut String, report: &RunReport) {
    page.push_str("<section id=\"slos\"><h2>SLOs</h2>\n");
    if report.slos.is_empty() {
        page.push_str("<p>The scenario sets no SLOs.</p></section>\n");
        return;
    }
    page.push_str(
        "<table><thead><tr><th>Result</th><th>SLO</th><th class=\"num\">Measured</th>\
         <th>Threshold</th></tr></thead><tbody>\n",
    );
    for slo in &report.slos {
        let (class, word) = if slo.passed {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            page,
            "<tr class=\"slo {class}\"><td><span class=\"badge {class}\">{word}</span></td>\
             <td><code>{}</code></td><td class=\"num\">{}</td><td>{} {}</td></tr>",
            escape(&slo.slo),
            escape(&slo.measured_display),
            escape(&slo.op),
            escape(&slo.threshold_display)
        );
    }
    page.push_str("</tbody></table></section>\n");
}

/// The phase spans shown: every span but `total` and the identically zero.
fn phase_spans(report: &RunReport) -> Vec<Span> {
    report
        .shown_spans()
        .into_iter()
        .filter(|s| *s != Span::Total)
        .collect()
}

/// The span table summary.md opens with: count and percentiles of every span shown.
fn spans(page: &mut String, report: &RunReport) {
    let unrecovered = report.unrecovered().count();
    let flaps: usize = report.kills.iter().map(|k| k.flaps.len()).sum();
    let _ = writeln!(
        page,
        "<section id=\"spans\"><h2>Recovery times</h2>\n<p>{} kills, {unrecovered} \
         unrecovered, {} refused decisions, {flaps} flaps.</p>",
        report.kills.len(),
        report.refused.len()
    );
    page.push_str(
        "<table><thead><tr><th>Span</th><th class=\"num\">Count</th><th class=\"num\">p50</th>\
         <th class=\"num\">p90</th><th class=\"num\">p99</th><th class=\"num\">Max</th>\
         <th class=\"num\">Mean</th></tr></thead><tbody>\n",
    );
    for span in report.shown_spans() {
        let (from, to) = span.bounds();
        let _ = write!(
            page,
            "<tr class=\"span\"><td><strong>{span}</strong> <span class=\"muted\">({from} → \
             {to})</span></td>"
        );
        match report.histograms.get(&span).filter(|h| h.count > 0) {
            Some(h) => {
                let _ = writeln!(
                    page,
                    "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    h.count,
                    format_micros(h.p50_us),
                    format_micros(h.p90_us),
                    format_micros(h.p99_us),
                    format_micros(h.max_us),
                    format_micros(h.mean_us.round() as u64)
                );
            }
            None => page.push_str(
                "<td class=\"num\">0</td><td class=\"num\">–</td><td class=\"num\">–</td>\
                 <td class=\"num\">–</td><td class=\"num\">–</td><td class=\"num\">–</td></tr>\n",
            ),
        }
    }
    page.push_str("</tbody></table>\n");
    if let Some(note) = report.zero_spans_note() {
        let _ = writeln!(
            page,
            "<p class=\"muted\" id=\"hidden-spans\">{}</p>",
            escape(&note)
        );
    }
    page.push_str("</section>\n");
}

fn legend(page: &mut String, report: &RunReport) {
    page.push_str("<p class=\"legend\">");
    for span in phase_spans(report) {
        let (from, to) = span.bounds();
        let _ = write!(
            page,
            "<span><i class=\"swatch span-{span}\"></i>{span} ({from}→{to})</span>"
        );
    }
    page.push_str("<span><i class=\"swatch stalled\"></i>stalled</span></p>\n");
}

fn charts(page: &mut String, report: &RunReport) {
    let c = &report.capacity;
    let _ = write!(
        page,
        "<section id=\"capacity\"><h2>Capacity over time</h2>\n<p>Desired {} healthy; lowest {} \
         ({} of desired); below desired for {}.{} Shaded: below desired. Each vertical line is \
         a kill.</p>\n<figure>{}</figure></section>\n",
        c.desired,
        c.min,
        format_value(c.min_percent, Unit::Percent),
        format_micros((c.degraded_seconds * 1e6).round() as u64),
        match c.min_healthy_floor {
            Some(f) => format!(" The min_healthy floor is {f}."),
            None => " The scenario sets no min_healthy floor.".to_string(),
        },
        capacity::chart(report)
    );
    let _ = write!(
        page,
        "<section id=\"histogram\"><h2>Recovery-time histogram</h2>\n<p>Total recovery \
         (kill→restored) and each phase, on one log-scaled axis; each row's count axis is its own. \
         Dashed ticks mark p50 and p99.</p>\n"
    );
    legend(page, report);
    let _ = writeln!(
        page,
        "<figure>{}</figure></section>",
        histogram::recovery_histogram(report)
    );
    let _ = write!(
        page,
        "<section id=\"phases\"><h2>Phase breakdown</h2>\n<p>Top: the mean recovery split by \
         phase. Below: each phase's p50 to p99 range, and its max.</p>\n<figure>{}</figure>\
         </section>\n",
        histogram::phase_breakdown(report)
    );
    page.push_str("<section id=\"timeline\"><h2>Per-kill timeline</h2>\n");
    legend(page, report);
    let _ = writeln!(
        page,
        "<figure>{}</figure></section>",
        timeline::chart(report)
    );
}

fn unrecovered(page: &mut String, report: &RunReport) {
    let stalled: Vec<&KillReport> = report.unrecovered().collect();
    let none = "None: every kill recovered.";
    if !section(
        page,
        ("unrecovered", "Unrecovered kills"),
        stalled.is_empty(),
        none,
    ) {
        return;
    }
    page.push_str("<ul class=\"reasons\">\n");
    for k in stalled {
        let Some(u) = &k.unrecovered else { continue };
        let waited = k
            .phases
            .get(&Phase::Kill)
            .and_then(|m| (u.at - m.at).num_microseconds())
            .and_then(|us| u64::try_from(us).ok())
            .map_or_else(String::new, |us| format!(" after {}", format_micros(us)));
        let _ = writeln!(
            page,
            "<li class=\"unrecovered\"><strong>Kill #{} of {}</strong> ({}): stalled \
             in <em>{}</em>; given up at {}{waited}.</li>",
            k.kill_id,
            instance(&identity::victim(report, k)),
            escape(&k.target),
            u.stalled_in,
            format_utc(u.at)
        );
    }
    page.push_str("</ul></section>\n");
}

fn refused(page: &mut String, report: &RunReport) {
    let empty = report.refused.is_empty();
    let none = "None: every decision went ahead as planned.";
    if !section(page, ("refused", "Refused decisions"), empty, none) {
        return;
    }
    page.push_str(
        "<table><thead><tr><th class=\"num\">Decision</th><th class=\"num\">At</th>\
         <th>Target</th><th>Killed</th><th>Reason</th></tr></thead><tbody>\n",
    );
    for r in &report.refused {
        let _ = writeln!(
            page,
            "<tr class=\"refused\"><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td>{} of {}</td><td>{}</td></tr>",
            r.seq,
            format_micros(r.offset_ms.saturating_mul(1_000)),
            escape(&r.target),
            r.killed,
            r.wanted,
            escape(&r.reason)
        );
    }
    page.push_str("</tbody></table></section>\n");
}

/// An instance's short name, with its full id and name on hover.
fn instance(id: &identity::Identity) -> String {
    format!(
        "<span class=\"instance\" title=\"{}\">{}</span>",
        escape(&id.full),
        escape(&id.short)
    )
}

/// What took the victim's place (for a node kill, a new task per slot it held), or `–`.
fn replacements(report: &RunReport, k: &KillReport) -> String {
    let all: Vec<String> = identity::replacements(report, k)
        .iter()
        .map(instance)
        .collect();
    if all.is_empty() {
        "–".to_string()
    } else {
        all.join(", ")
    }
}

fn kills(page: &mut String, report: &RunReport) {
    if !section(
        page,
        ("kills", "Kills"),
        report.kills.is_empty(),
        "No kills.",
    ) {
        return;
    }
    let spans = phase_spans(report);
    // A column that would repeat one value on every row is said once above the table.
    let one_action = report
        .kills
        .first()
        .map(|k| &k.action)
        .filter(|a| report.kills.iter().all(|k| &k.action == *a));
    let triggers = report.kills.iter().any(|k| k.trigger.is_some());
    if let Some(action) = one_action {
        let _ = writeln!(page, "<p>Every kill: <code>{}</code>.</p>", escape(action));
    }
    page.push_str(
        "<div class=\"wide\"><table class=\"kills\"><thead><tr><th class=\"num\">#</th>\
         <th>At (UTC)</th><th>Target</th><th>Victim</th><th>Replacement</th>",
    );
    if one_action.is_none() {
        page.push_str("<th>Action</th>");
    }
    for span in &spans {
        let _ = write!(page, "<th class=\"num\">{span}</th>");
    }
    page.push_str("<th class=\"num\">Recovery</th>");
    if triggers {
        page.push_str("<th>Trigger</th>");
    }
    page.push_str("</tr></thead><tbody>\n");
    for k in &report.kills {
        let _ = write!(
            page,
            "<tr class=\"kill\"><td class=\"num\">{}</td><td class=\"at\" title=\"{}\">{}</td>\
             <td>{}</td><td class=\"victim\">{}</td><td class=\"replacement\">{}</td>",
            k.kill_id,
            k.killed_at().map_or_else(String::new, format_utc),
            k.killed_at().map_or_else(|| "–".to_string(), format_clock),
            escape(&k.target),
            instance(&identity::victim(report, k)),
            replacements(report, k),
        );
        if one_action.is_none() {
            let _ = write!(page, "<td>{}</td>", escape(&k.action));
        }
        for span in &spans {
            let (from, to) = span.bounds();
            let cell = match (k.phases.get(&from), k.phases.get(&to)) {
                (Some(a), Some(b)) => {
                    let mark = if a.uncertain || b.uncertain {
                        "†"
                    } else {
                        ""
                    };
                    format!(
                        "{}{mark}",
                        format_micros((b.since_kill_us - a.since_kill_us).max(0) as u64)
                    )
                }
                _ => "–".to_string(),
            };
            let _ = write!(page, "<td class=\"num\">{cell}</td>");
        }
        let mut outcome = match (&k.unrecovered, k.recovery_us) {
            _ if k.invalid.is_some() => "<strong class=\"fail\">invalid</strong>".to_string(),
            (Some(u), _) => format!(
                "<strong class=\"fail\">unrecovered</strong> ({})",
                u.stalled_in
            ),
            (None, Some(us)) => format_micros(us),
            (None, None) => "–".to_string(),
        };
        if !k.flaps.is_empty() {
            let n = k.flaps.len();
            let _ = write!(outcome, ", {n} {}", if n == 1 { "flap" } else { "flaps" });
        }
        let trigger = match &k.trigger {
            None => "–".to_string(),
            Some(t) if t.timed_out => format!("timed out after {}", format_micros(t.duration_us)),
            Some(t) => t
                .exit_code
                .map_or_else(|| "no exit code".to_string(), |c| format!("exit {c}")),
        };
        let _ = write!(page, "<td class=\"num\">{outcome}</td>");
        if triggers {
            let _ = write!(page, "<td>{trigger}</td>");
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody></table></div>\n");
    if report
        .kills
        .iter()
        .any(|k| k.phases.values().any(|m| m.uncertain))
    {
        page.push_str(
            "<p class=\"muted\">† timed from firedrill's own observation, not the platform's \
             record of the moment.</p>\n",
        );
    }
    page.push_str("</section>\n");
}

#[cfg(test)]
mod tests;
