//! The page's "Node kills" section, as in summary.md: for each kill of a Swarm node, the
//! watched tasks it took down, where they went, and when it was down, restored and back itself.

use std::fmt::Write as _;

use crate::report::node_kill::{cells, node_kills, notes};
use crate::report::{identity, RunReport};

use super::svg::escape;

/// The section, when the run killed a node; a run of task kills has none.
pub(super) fn section(page: &mut String, report: &RunReport) {
    if node_kills(report).next().is_none() {
        return;
    }
    page.push_str(
        "<section id=\"node-kills\"><h2>Node kills</h2>\n<table class=\"node-kills\"><thead><tr>\
         <th class=\"num\">#</th><th>Node</th><th>Action</th><th>Tasks lost</th>\
         <th>Where they went</th><th class=\"num\">Down</th><th class=\"num\">Restored</th>\
         <th class=\"num\">Node back</th></tr></thead><tbody>\n",
    );
    for (k, node) in node_kills(report) {
        let [lost, moved, down, restored, back] = cells(k, node);
        let _ = writeln!(
            page,
            "<tr class=\"node-kill\"><td class=\"num\">{}</td><td class=\"node\" title=\"{}\">{}</td>\
             <td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            k.kill_id,
            escape(&identity::victim(report, k).full),
            escape(&node.hostname),
            escape(&k.action),
            escape(&lost),
            escape(&moved),
            escape(&down),
            escape(&restored),
            escape(&back),
        );
    }
    page.push_str("</tbody></table>\n");
    for note in notes(report) {
        let _ = writeln!(page, "<p class=\"muted\">{}</p>", escape(&note));
    }
    page.push_str("</section>\n");
}
