//! The sections a run has only when something undermined its measurements or its replacements:
//! recoveries whose marks contradict their kill, drift between victims and replacements, and
//! spans the platform's event stream was lost.

use std::fmt::Write as _;

use crate::report::drift::{kills_showing_drift, NO_DRIFT};
use crate::report::{identity, RunReport};

use super::svg::escape;

/// Invalid recoveries, drift, then platform outages; nothing at all for a run that had none of
/// them, so such a page is unchanged.
pub fn sections(page: &mut String, report: &RunReport) {
    let invalid: Vec<_> = report
        .kills
        .iter()
        .filter_map(|k| Some((k, k.invalid.as_ref()?)))
        .collect();
    if !invalid.is_empty() {
        page.push_str(
            "<section id=\"invalid\"><h2>Invalid recoveries</h2>\n\
             <p>These kills' marks contradict the kill itself, so their times prove nothing \
             and the run fails.</p>\n<ul class=\"reasons\">\n",
        );
        for (k, why) in invalid {
            let _ = writeln!(
                page,
                "<li class=\"invalid\"><strong>Kill #{} of {}</strong> ({}): {}.</li>",
                k.kill_id,
                super::instance(&identity::victim(report, k)),
                escape(&k.target),
                escape(why)
            );
        }
        page.push_str("</ul></section>\n");
    }
    drift(page, report);
    if report.outages.is_empty() {
        return;
    }
    page.push_str(
        "<section id=\"outages\"><h2>Platform outages</h2>\n\
         <p>The platform's event stream was lost; no decision went ahead until it was back and \
         resynced. Marks only the resync saw are flagged †.</p>\n\
         <table><thead><tr><th>Lost at</th><th>Back at</th><th class=\"num\">Lost for</th>\
         <th class=\"num\">Uncertain marks</th><th>Reason</th></tr></thead><tbody>\n",
    );
    for o in &report.outages {
        let [lost, back, lost_for] = o.describe();
        let _ = writeln!(
            page,
            "<tr class=\"outage\"><td>{lost}</td><td>{back}</td><td class=\"num\">{lost_for}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            o.uncertain_marks,
            escape(&o.reason)
        );
    }
    page.push_str("</tbody></table></section>\n");
}

/// The drift section, when the run captured drift evidence: the counts, then each kill that
/// shows anything.
fn drift(page: &mut String, report: &RunReport) {
    let Some(d) = &report.drift else { return };
    let _ = writeln!(
        page,
        "<section id=\"drift\"><h2>Drift</h2>\n<p>{}</p>",
        escape(&d.sentence())
    );
    let shown = kills_showing_drift(report);
    if shown.is_empty() {
        let _ = writeln!(page, "<p>{}</p></section>", escape(NO_DRIFT));
        return;
    }
    page.push_str(
        "<table><thead><tr><th class=\"num\">Kill</th><th>Victim</th><th>Replacement</th>\
         <th>Findings</th></tr></thead><tbody>\n",
    );
    for (k, findings) in shown {
        let items: String = findings
            .iter()
            .map(|f| format!("<li>{}</li>", escape(f)))
            .collect();
        let _ = writeln!(
            page,
            "<tr class=\"drift\"><td class=\"num\">{}</td><td>{}</td><td>{}</td>\
             <td><ul class=\"reasons\">{items}</ul></td></tr>",
            k.kill_id,
            super::instance(&identity::victim(report, k)),
            identity::replacement(report, k)
                .map_or_else(|| "—".to_string(), |r| super::instance(&r))
        );
    }
    page.push_str("</tbody></table></section>\n");
}
