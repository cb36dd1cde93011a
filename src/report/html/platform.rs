//! The platform's part of the page, as in summary.md: where the kills landed (per service, per
//! node), each Swarm service's restart policy and update config, and which clock each mark
//! comes from, so a reader sees why a phase took as long as it did.

use std::fmt::Write as _;

use crate::platform::facts::MaxAttempts;
use crate::platform::PlatformFacts;
use crate::report::RunReport;
use crate::vocabulary::units::format_micros;

use super::svg::escape;

/// The breakdowns, services and clocks, each only when the report has it.
pub(super) fn sections(page: &mut String, report: &RunReport) {
    breakdowns(page, report);
    if let Some(facts) = &report.platform_facts {
        services(page, facts);
        clocks(page, facts);
    }
}

fn breakdowns(page: &mut String, report: &RunReport) {
    if report.breakdowns.is_empty() {
        return;
    }
    page.push_str("<section id=\"breakdowns\"><h2>Where the kills landed</h2>\n");
    let time = |us: Option<u64>| us.map_or_else(|| "–".to_string(), format_micros);
    for (dimension, rows) in &report.breakdowns {
        let _ = writeln!(
            page,
            "<table class=\"breakdown\" data-dimension=\"{d}\"><thead><tr><th>{d}</th>\
             <th class=\"num\">Kills</th><th class=\"num\">Restored</th>\
             <th class=\"num\">Mean recovery</th><th class=\"num\">Max recovery</th>\
             <th class=\"num\">Mean reschedule</th><th class=\"num\">Mean boot</th></tr>\
             </thead><tbody>",
            d = escape(dimension)
        );
        for r in rows {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                escape(&r.name),
                r.kills,
                r.recovered,
                time(r.recovery_mean_us),
                time(r.recovery_max_us),
                time(r.reschedule_mean_us),
                time(r.boot_mean_us),
            );
        }
        page.push_str("</tbody></table>\n");
    }
    page.push_str("</section>\n");
}

fn services(page: &mut String, facts: &PlatformFacts) {
    let Some(services) = facts.services.as_ref().filter(|s| !s.is_empty()) else {
        return;
    };
    page.push_str(
        "<section id=\"services\"><h2>Services</h2>\n<table><thead><tr><th>Service</th>\
         <th>Mode</th><th class=\"num\">Desired</th><th>Restart on</th>\
         <th class=\"num\">Restart delay</th><th class=\"num\">Max attempts</th><th>Update</th>\
         </tr></thead><tbody>\n",
    );
    for (name, s) in services {
        let r = &s.restart_policy;
        let u = &s.update_config;
        let attempts = match &r.max_attempts {
            MaxAttempts::Count(n) => n.to_string(),
            MaxAttempts::Text(t) => escape(t),
        };
        let _ = writeln!(
            page,
            "<tr class=\"service\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>parallelism {}, delay {}, {}, \
             on failure {}</td></tr>",
            escape(name),
            escape(&s.mode),
            s.desired_tasks,
            escape(&r.condition),
            escape(&r.delay),
            attempts,
            u.parallelism,
            escape(&u.delay),
            escape(&u.order),
            escape(&u.failure_action),
        );
    }
    page.push_str("</tbody></table>\n");
    if let Some(note) = &facts.note {
        let _ = writeln!(page, "<p class=\"muted\">{}</p>", escape(note));
    }
    page.push_str("</section>\n");
}

fn clocks(page: &mut String, facts: &PlatformFacts) {
    if facts.clocks.is_empty() {
        return;
    }
    page.push_str("<section id=\"clocks\"><h2>Clocks</h2>\n<dl class=\"meta\">");
    for phase in [
        "kill", "down", "replaced", "running", "healthy", "restored", "back",
    ] {
        if let Some(source) = facts.clocks.get(phase) {
            let _ = write!(page, "<dt>{phase}</dt><dd>{}</dd>", escape(source));
        }
    }
    page.push_str("</dl></section>\n");
}
