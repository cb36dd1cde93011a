//! `report.html`: one self-contained page for a game-day room or a nightly review. Inline CSS
//! and inline SVG, no scripts and nothing fetched, so it opens offline and prints.
//!
//! The charts are hand-written SVG ([`svg`]) rather than a plotting crate: each element needs a
//! stable id or class (`chart-*`, `kill-marker`) for tests and print styles, the recovery axis is
//! log-scaled by decade, and the page must be byte-identical when rebuilt from the journal.

mod capacity;
mod histogram;
mod outages;
mod probes;
mod style;
mod svg;
mod timeline;

use crate::report::format_utc;
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
    charts(&mut page, report);
    probes::section(&mut page, report);
    unrecovered(&mut page, report);
    outages::sections(&mut page, report);
    refused(&mut page, report);
    kills(&mut page, report);
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

fn legend(page: &mut String) {
    page.push_str("<p class=\"legend\">");
    for span in Span::ALL.into_iter().filter(|s| *s != Span::Total) {
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
         (kill→restored) and each phase, on one log-scaled axis. Ticks mark p50 and p99.</p>\n"
    );
    legend(page);
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
    legend(page);
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
            "<li class=\"unrecovered\"><strong>Kill #{} of {}</strong> ({}, slot {}): stalled \
             in <em>{}</em>; given up at {}{waited}.</li>",
            k.kill_id,
            escape(&k.victim_name),
            escape(&k.target),
            escape(&k.slot),
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

fn kills(page: &mut String, report: &RunReport) {
    if !section(
        page,
        ("kills", "Kills"),
        report.kills.is_empty(),
        "No kills.",
    ) {
        return;
    }
    page.push_str("<table><thead><tr><th class=\"num\">#</th><th>Target</th><th>Victim</th><th>Slot</th><th>Action</th>");
    for span in Span::ALL.into_iter().filter(|s| *s != Span::Total) {
        let _ = write!(page, "<th class=\"num\">{span}</th>");
    }
    page.push_str("<th class=\"num\">Recovery</th></tr></thead><tbody>\n");
    for k in &report.kills {
        let _ = write!(
            page,
            "<tr class=\"kill\"><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            k.kill_id,
            escape(&k.target),
            escape(&k.victim_name),
            escape(&k.slot),
            escape(&k.action)
        );
        for span in Span::ALL.into_iter().filter(|s| *s != Span::Total) {
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
        let outcome = match (&k.unrecovered, k.recovery_us) {
            _ if k.invalid.is_some() => "<strong class=\"fail\">invalid</strong>".to_string(),
            (Some(u), _) => format!(
                "<strong class=\"fail\">unrecovered</strong> ({})",
                u.stalled_in
            ),
            (None, Some(us)) => format_micros(us),
            (None, None) => "–".to_string(),
        };
        let _ = writeln!(page, "<td class=\"num\">{outcome}</td></tr>");
    }
    page.push_str("</tbody></table>\n");
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
