//! What a node kill did besides its marks ([`NodeKillReport`]), and the words every renderer
//! uses for it, so the "Node kills" table reads the same in summary.md, report.html and the
//! terminal.

use serde::{Deserialize, Serialize};

use crate::platform::TaskPlace;
use crate::report::{KillReport, PhaseMark, RunReport};
use crate::vocabulary::phase::Phase;
use crate::vocabulary::units::format_micros;

/// What a node kill did besides its marks. The marks stand for the watched tasks the node held
/// (`replaced`, `running` and `healthy` are when the last of their replacements got there), so
/// this says which tasks those were and where they went; the node's own return is a mark of
/// its own, which may come after `restored`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeKillReport {
    /// The node's hostname.
    pub hostname: String,
    /// The watched tasks the node held when it went down, as its `down` mark listed them;
    /// empty when that mark was never seen.
    #[serde(default)]
    pub tasks_lost: Vec<TaskPlace>,
    /// Their replacements, each with the node it went to, as the `replaced` mark listed them;
    /// empty when that mark was never seen.
    #[serde(default)]
    pub moved_to: Vec<TaskPlace>,
    /// When the node was ready and active again, on the manager's clock; `None` when the run
    /// ended first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back: Option<PhaseMark>,
}

/// The kills whose victim is a node, in kill order.
pub fn node_kills(report: &RunReport) -> impl Iterator<Item = (&KillReport, &NodeKillReport)> {
    report
        .kills
        .iter()
        .filter_map(|k| Some((k, k.node.as_ref()?)))
}

/// One node kill's cells after its number, hostname and action, as plain text: tasks lost,
/// where they went, down, restored and node back.
pub fn cells(kill: &KillReport, node: &NodeKillReport) -> [String; 5] {
    let lost = match node.tasks_lost.len() {
        // Down and holding no watched task is 0; never down is unknown.
        0 if kill.phases.contains_key(&Phase::Down) => "0".to_string(),
        0 => "–".to_string(),
        n => format!("{n}: {}", slots(&node.tasks_lost)),
    };
    let moved = if node.moved_to.is_empty() {
        "–".to_string()
    } else {
        node.moved_to
            .iter()
            .map(|t| format!("{} → {}", t.slot, t.node))
            .collect::<Vec<_>>()
            .join(", ")
    };
    [
        lost,
        moved,
        since_kill(kill.phases.get(&Phase::Down), "–"),
        since_kill(kill.phases.get(&Phase::Restored), "–"),
        since_kill(node.back.as_ref(), "not seen"),
    ]
}

/// The slots of `tasks`, in their order: `web.1, web.4`.
pub fn slots(tasks: &[TaskPlace]) -> String {
    tasks
        .iter()
        .map(|t| t.slot.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A mark as time since the kill, `+2.4ms`, marked † when its time is not the platform's own
/// record; `missing` when it was not reached.
pub fn since_kill(mark: Option<&PhaseMark>, missing: &str) -> String {
    let Some(m) = mark else {
        return missing.to_string();
    };
    let sign = if m.since_kill_us < 0 { "-" } else { "+" };
    let dagger = if m.uncertain { "†" } else { "" };
    format!(
        "{sign}{}{dagger}",
        format_micros(m.since_kill_us.unsigned_abs())
    )
}

/// True when a time the table shows is marked †.
fn any_uncertain(report: &RunReport) -> bool {
    node_kills(report).any(|(k, n)| {
        [Phase::Down, Phase::Restored]
            .iter()
            .filter_map(|p| k.phases.get(p))
            .chain(n.back.as_ref())
            .any(|m| m.uncertain)
    })
}

/// What the table's times mean and which clock each comes from, from the platform's facts:
/// one sentence per line.
pub fn notes(report: &RunReport) -> Vec<String> {
    let mut notes = vec![
        "Times are since the kill mark. Restored is when the watched services were whole \
         again on the other nodes; the node itself may be back later."
            .to_string(),
    ];
    let clocks = report.platform_facts.as_ref().map(|f| &f.clocks);
    let sources: Vec<String> = [
        ("down", "down"),
        ("where they went", "replaced"),
        ("restored", "restored"),
        ("node back", "back"),
    ]
    .into_iter()
    .filter_map(|(column, mark)| {
        let source = clocks?.get(mark)?;
        Some(format!("{column} — {source}"))
    })
    .collect();
    if !sources.is_empty() {
        notes.push(format!("Clocks: {}.", sources.join("; ")));
    }
    if any_uncertain(report) {
        notes.push(
            "† timed from firedrill's own observation, not the platform's record of the moment."
                .to_string(),
        );
    }
    notes
}
