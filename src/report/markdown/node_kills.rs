//! The `## Node kills` section of `summary.md`: for each kill of a Swarm node, the watched
//! tasks it took down, where they went, and when it was down, restored and back itself.

use super::{cell, Doc};
use crate::report::node_kill::{cells, node_kills, notes};
use crate::report::RunReport;

/// Writes the section when the run killed a node; a run of task kills has none.
pub(super) fn section(doc: &mut Doc, report: &RunReport) {
    if node_kills(report).next().is_none() {
        return;
    }
    doc.heading("Node kills");
    doc.line("| # | Node | Action | Tasks lost | Where they went | Down | Restored | Node back |");
    doc.line("|---:|---|---|---|---|---:|---:|---:|");
    for (k, node) in node_kills(report) {
        let [lost, moved, down, restored, back] = cells(k, node);
        doc.line(format!(
            "| {} | {} | `{}` | {} | {} | {down} | {restored} | {back} |",
            k.kill_id,
            cell(&node.hostname),
            cell(&k.action),
            cell(&lost),
            cell(&moved),
        ));
    }
    doc.line("");
    doc.line(notes(report).join(" "));
}

#[cfg(test)]
mod tests {
    use crate::report::build::fixtures;

    fn markdown(name: &str) -> String {
        String::from_utf8(super::super::render(&fixtures::report(name))).unwrap()
    }

    #[test]
    fn summary_of_a_recorded_node_drain() {
        insta::assert_snapshot!(markdown("recorded-swarm-node-drain"));
    }

    #[test]
    fn node_kills_of_a_recorded_node_loss() {
        let text = markdown("recorded-swarm-node-loss");
        let section = &text[text.find("## Node kills").unwrap()..text.find("## Where").unwrap()];
        insta::assert_snapshot!(section);
    }

    #[test]
    fn a_node_kill_is_replaced_by_the_tasks_it_moved_not_by_itself() {
        let text = markdown("recorded-swarm-node-loss");
        assert!(
            text.contains(
                "| `za2x4i8agdgm (fdlab-n2)` | `r5nai66azeey (web.1)`, `sw61w2flta7e (web.2)` |"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_run_of_task_kills_has_no_node_kills_section() {
        for name in ["recorded-swarm-probes", "shop-nightly"] {
            assert!(!markdown(name).contains("Node kills"), "{name}");
        }
    }
}
