//! Each node kill's own section ([`NodeKillReport`]): the watched tasks the node held, where
//! their replacements went, and when the node itself was back. The platform journals these as
//! `event` lines about the node (instance = the node id) that carry a `node_kill` object: the
//! `died` one is the down mark with the tasks lost, the `created` one the replaced mark with
//! the new tasks, and `back` the node ready and active again.

use crate::journal::Entry;
use crate::platform::facts::NodeFacts;
use crate::platform::{EventKind, PlatformFacts, TaskPlace};
use crate::report::{utc, KillReport, NodeKillReport, PhaseMark};
use crate::vocabulary::phase::{Phase, MARK_BEFORE_KILL_TOLERANCE_US};
use crate::vocabulary::time::Micros;

/// One `node_kill` event line of the kinds the section is made of.
#[derive(Debug)]
struct NodeMark {
    kind: EventKind,
    node: String,
    at: Micros,
    uncertain: bool,
    tasks: Vec<TaskPlace>,
}

/// The node marks read so far. They are kept until the end because a mark is matched to its
/// kill by time, and a drain's marks can be journalled before its `kill` line (the action is
/// still on its way when the manager reports the drain). A run has a handful of them.
#[derive(Debug, Default)]
pub(super) struct NodeMarks {
    marks: Vec<NodeMark>,
}

impl NodeMarks {
    pub(super) fn push(&mut self, entry: &Entry) {
        let Entry::Event(ev) = entry else { return };
        let Some(mark) = &ev.node_kill else { return };
        // `killed`, `started` and `healthy` carry nothing the phase lines do not.
        if !matches!(
            ev.kind,
            EventKind::Died | EventKind::Created | EventKind::Back
        ) {
            return;
        }
        self.marks.push(NodeMark {
            kind: ev.kind,
            node: ev.instance.clone(),
            at: ev.at,
            uncertain: ev.uncertain,
            tasks: mark.tasks.clone(),
        });
    }

    /// Gives each node kill its section: every kill with a node mark, and every kill whose
    /// victim the platform's facts name as a node (a node that never went down still gets one,
    /// with nothing lost and nothing back).
    pub(super) fn finish(self, facts: Option<&PlatformFacts>, kills: &mut [KillReport]) {
        let nodes = facts.and_then(|f| f.nodes.as_ref());
        let owners: Vec<Option<usize>> = self.marks.iter().map(|m| owner(kills, m)).collect();
        for (mark, owner) in self.marks.into_iter().zip(owners) {
            let Some(kill) = owner.map(|i| &mut kills[i]) else {
                continue;
            };
            let kill_at = kill_mark(kill).unwrap_or(mark.at);
            let hostname = hostname(kill, nodes.and_then(|n| n.get(&kill.victim)));
            let section = kill.node.get_or_insert_with(|| empty(hostname));
            // A later line for the same mark wins, as it does for the phase lines.
            match mark.kind {
                EventKind::Died => section.tasks_lost = in_slot_order(mark.tasks),
                EventKind::Created => section.moved_to = in_slot_order(mark.tasks),
                _ => {
                    section.back = Some(PhaseMark {
                        at: utc(mark.at),
                        since_kill_us: mark.at.saturating_sub(kill_at),
                        uncertain: mark.uncertain,
                    });
                }
            }
        }
        let Some(nodes) = nodes else { return };
        for kill in kills.iter_mut().filter(|k| k.node.is_none()) {
            if let Some(node) = nodes.get(&kill.victim) {
                kill.node = Some(empty(hostname(kill, Some(node))));
            }
        }
    }
}

fn empty(hostname: String) -> NodeKillReport {
    NodeKillReport {
        hostname,
        tasks_lost: Vec::new(),
        moved_to: Vec::new(),
        back: None,
    }
}

/// The node's hostname as the platform's facts give it, else the victim's name (a node
/// victim's name is its hostname).
fn hostname(kill: &KillReport, node: Option<&NodeFacts>) -> String {
    node.map_or_else(|| kill.victim_name.clone(), |n| n.hostname.clone())
}

/// The kill mark of a kill, on the platform's clock.
fn kill_mark(kill: &KillReport) -> Option<Micros> {
    Some(kill.phases.get(&Phase::Kill)?.at.timestamp_micros())
}

/// Which kill a node mark belongs to, as an index into `kills`. A node can be killed more than
/// once in a run, so a mark goes to the latest kill of its node at or before it. The engine
/// has already paired the down and replaced marks with their kill, and its phase line for that
/// mark has the same time, which settles those two exactly. A mark a little before every
/// kill of its node (the kill mark on firedrill's clock, the mark on the manager's) goes to
/// the first kill it is within the tolerance of.
fn owner(kills: &[KillReport], mark: &NodeMark) -> Option<usize> {
    let of_node = || {
        kills
            .iter()
            .enumerate()
            .filter(|(_, k)| k.victim == mark.node)
    };
    let paired = match mark.kind {
        EventKind::Died => Some(Phase::Down),
        EventKind::Created => Some(Phase::Replaced),
        _ => None,
    };
    if let Some(phase) = paired {
        let at = utc(mark.at);
        if let Some((i, _)) =
            of_node().find(|(_, k)| k.phases.get(&phase).is_some_and(|m| m.at == at))
        {
            return Some(i);
        }
    }
    let timed = || of_node().filter_map(|(i, k)| Some((i, kill_mark(k)?)));
    timed()
        .filter(|(_, at)| *at <= mark.at)
        .max_by_key(|(_, at)| *at)
        .or_else(|| {
            timed()
                .filter(|(_, at)| at.saturating_sub(mark.at) <= MARK_BEFORE_KILL_TOLERANCE_US)
                .min_by_key(|(_, at)| *at)
        })
        .map(|(i, _)| i)
}

/// Tasks by service, then slot number (`web.2` before `web.10`), as people count them; the
/// platform lists them in no particular order.
fn in_slot_order(mut tasks: Vec<TaskPlace>) -> Vec<TaskPlace> {
    tasks.sort_by(|a, b| slot_key(a).cmp(&slot_key(b)));
    tasks
}

fn slot_key(task: &TaskPlace) -> (&str, Option<u64>, &str) {
    let number = task
        .slot
        .rsplit_once('.')
        .and_then(|(_, n)| n.parse::<u64>().ok());
    (&task.service, number, &task.slot)
}
