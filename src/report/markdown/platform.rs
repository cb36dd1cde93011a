//! The platform's part of `summary.md`: kills grouped by where they landed (per service, per
//! node), and what the platform said about itself (a Swarm service's restart policy and
//! update config, and which clock each mark comes from), so a reader sees why a phase took
//! as long as it did.

use crate::platform::facts::MaxAttempts;
use crate::platform::PlatformFacts;

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

fn services(doc: &mut Doc, facts: &PlatformFacts) {
    let Some(services) = facts.services.as_ref().filter(|s| !s.is_empty()) else {
        return;
    };
    doc.heading("Services");
    doc.line("| Service | Mode | Desired | Restart on | Restart delay | Max attempts | Update |");
    doc.line("|---|---|---:|---|---:|---:|---|");
    for (name, s) in services {
        let r = &s.restart_policy;
        let u = &s.update_config;
        let attempts = match &r.max_attempts {
            MaxAttempts::Count(n) => n.to_string(),
            MaxAttempts::Text(t) => cell(t),
        };
        doc.line(format!(
            "| {} | {} | {} | {} | {} | {} | parallelism {}, delay {}, {}, on failure {} |",
            cell(name),
            cell(&s.mode),
            s.desired_tasks,
            cell(&r.condition),
            cell(&r.delay),
            attempts,
            u.parallelism,
            cell(&u.delay),
            cell(&u.order),
            cell(&u.failure_action),
        ));
    }
    if let Some(note) = &facts.note {
        doc.line("");
        doc.line(note);
    }
}

fn clocks(doc: &mut Doc, facts: &PlatformFacts) {
    if facts.clocks.is_empty() {
        return;
    }
    doc.heading("Clocks");
    for phase in [
        "kill", "down", "replaced", "running", "healthy", "restored", "back",
    ] {
        if let Some(source) = facts.clocks.get(phase) {
            doc.line(format!("- **{phase}:** {source}"));
        }
    }
}
