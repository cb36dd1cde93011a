//! The sections a run has only when something undermined its measurements: recoveries whose
//! marks contradict their kill, and spans the platform's event stream was lost.

use std::fmt::Write as _;

use crate::report::RunReport;

use super::svg::escape;

/// Invalid recoveries, then platform outages; nothing at all for a run that had neither, so
/// such a page is unchanged.
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
                escape(&k.victim_name),
                escape(&k.target),
                escape(why)
            );
        }
        page.push_str("</ul></section>\n");
    }
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
