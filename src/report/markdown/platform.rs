//! The platform's part of `summary.md`: kills grouped by where they landed (per service, per
//! node), and what the platform said about itself (a Swarm service's restart policy and
//! update config, and which clock each mark comes from), so a reader sees why a phase took
//! as long as it did.

use serde_json::Value;

use super::{cell, Doc};
use crate::report::RunReport;
use crate::vocabulary::units::format_micros;

/// Writes the breakdowns and platform facts, when the report has any.
pub(super) fn render(doc: &mut Doc, report: &RunReport) {
    breakdowns(doc, report);
    if let Some(facts) = &report.platform_facts {
        services(doc, facts);
        clocks(doc, facts);
    }
}

fn breakdowns(doc: &mut Doc, report: &RunReport) {
    if report.breakdowns.is_empty() {
        return;
    }
    doc.heading("Where the kills landed");
    let time = |us: Option<u64>| us.map_or_else(|| "–".to_string(), format_micros);
    for (i, (dimension, rows)) in report.breakdowns.iter().enumerate() {
        if i > 0 {
            doc.line("");
        }
        doc.line(format!(
            "| {} | Kills | Restored | Mean recovery | Max recovery | Mean reschedule | Mean boot |",
            cell(dimension)
        ));
        doc.line("|---|---:|---:|---:|---:|---:|---:|");
        for r in rows {
            doc.line(format!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&r.name),
                r.kills,
                r.recovered,
                time(r.recovery_mean_us),
                time(r.recovery_max_us),
                time(r.reschedule_mean_us),
                time(r.boot_mean_us),
            ));
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => cell(s),
        Value::Null => "–".to_string(),
        other => cell(&other.to_string()),
    }
}

fn services(doc: &mut Doc, facts: &Value) {
    let Some(services) = facts.get("services").and_then(Value::as_object) else {
        return;
    };
    if services.is_empty() {
        return;
    }
    doc.heading("Services");
    doc.line("| Service | Mode | Desired | Restart on | Restart delay | Max attempts | Update |");
    doc.line("|---|---|---:|---|---:|---:|---|");
    for (name, s) in services {
        let r = &s["restart_policy"];
        let u = &s["update_config"];
        doc.line(format!(
            "| {} | {} | {} | {} | {} | {} | parallelism {}, delay {}, {}, on failure {} |",
            cell(name),
            text(&s["mode"]),
            text(&s["desired_tasks"]),
            text(&r["condition"]),
            text(&r["delay"]),
            text(&r["max_attempts"]),
            text(&u["parallelism"]),
            text(&u["delay"]),
            text(&u["order"]),
            text(&u["failure_action"]),
        ));
    }
    if let Some(note) = facts.get("note").and_then(Value::as_str) {
        doc.line("");
        doc.line(note);
    }
}

fn clocks(doc: &mut Doc, facts: &Value) {
    let Some(clocks) = facts.get("clocks").and_then(Value::as_object) else {
        return;
    };
    doc.heading("Clocks");
    for phase in ["kill", "down", "replaced", "running", "healthy", "restored"] {
        if let Some(source) = clocks.get(phase).and_then(Value::as_str) {
            doc.line(format!("- **{phase}:** {source}"));
        }
    }
}
