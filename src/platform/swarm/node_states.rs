//! What the swarm watcher hands to the node kills it follows ([`super::node_recovery`]): the
//! manager's node events (a node drained, down, ready or active again, stamped with the
//! manager's `timeNano`), and every event of a task a node target watches. The watcher also
//! reads the same node events for the tasks of a node marked down.

use bollard::models::EventMessage;

use super::node_recovery::NodeChange;
use super::{lock, Shared};
use crate::platform::{Micros, PlatformEvent};

/// The source name of the manager's node events, beside the node ids of the container event
/// streams.
pub const NODE_EVENTS: &str = "the manager's node events";

/// Whether any target selects nodes.
pub fn any_node_target(shared: &Shared) -> bool {
    shared.targets.iter().any(|t| t.nodes.is_some())
}

/// The node and its new state (`down`, `ready`, ...) when a manager node event changes it.
pub fn state_change(msg: &EventMessage) -> Option<(String, String)> {
    let actor = msg.actor.as_ref()?;
    let state = actor.attributes.as_ref()?.get("state.new")?;
    Some((actor.id.clone()?, state.clone()))
}

/// The node marks a manager node event brings, if any.
pub fn on_node_event(shared: &Shared, msg: &EventMessage) -> Vec<PlatformEvent> {
    let Some(actor) = &msg.actor else {
        return Vec::new();
    };
    let (Some(node), Some(attrs)) = (&actor.id, &actor.attributes) else {
        return Vec::new();
    };
    let Some(nano) = msg.time_nano.or(msg.time.map(|s| s * 1_000_000_000)) else {
        return Vec::new();
    };
    let at: Micros = nano / 1_000;
    let change = NodeChange {
        state: attrs.get("state.new").map(String::as_str),
        availability: attrs.get("availability.new").map(String::as_str),
    };
    tracing::debug!(node, ?change, "swarm node event");
    lock(&shared.node_kills).on_node(node, at, change)
}

/// The node marks an event of a watched task brings, `node` being the hostname it runs on.
/// Only a node target's tasks can bring any.
pub fn on_task_event(shared: &Shared, ev: &PlatformEvent, node: &str) -> Vec<PlatformEvent> {
    let watched = shared
        .targets
        .iter()
        .any(|t| t.name == ev.target && t.nodes.is_some());
    if !watched || ev.node_kill.is_some() {
        return Vec::new();
    }
    lock(&shared.node_kills).on_task(ev, node)
}
