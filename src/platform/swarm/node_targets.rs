//! Node targets: the Swarm nodes a target selects, as instances (id = node id, slot and name
//! = hostname), each holding the healthy watched tasks that run on it; and a node kill,
//! checked once more against the node as the manager sees it now, its watched tasks noted
//! for [`super::node_recovery`], then carried out by [`super::node_action`].
//!
//! The node of the manager firedrill talks to is never a node target's instance: taking it
//! down would blind the run that is timing the recovery.

use std::sync::Arc;

use super::model::{slot_of, Node};
use super::node_action;
use super::node_recovery::Takedown;
use super::select::TargetSpec;
use super::{lock, Shared};
use crate::platform::{Instance, KillReceipt, PlatformError, TaskPlace};
use crate::scenario::Action;

/// The nodes `spec` selects, each holding the healthy ones of `members` (the watched tasks)
/// that run on it.
pub async fn nodes_of(
    shared: &Shared,
    spec: &TargetSpec,
    members: &[Instance],
) -> Result<Vec<Instance>, PlatformError> {
    let Some(select) = &spec.nodes else {
        return Ok(Vec::new());
    };
    let nodes = shared.api.nodes().await.map_err(PlatformError::Failed)?;
    let mut out = Vec::new();
    for node in nodes.iter().filter(|n| select.covers(n)) {
        if node.id == shared.engines.manager_node {
            continue;
        }
        let host = node.hostname();
        let holds = members
            .iter()
            .filter(|m| m.healthy && shared.node_of(&m.id).as_deref() == Some(host.as_str()))
            .count();
        out.push(Instance {
            id: node.id.clone(),
            target: spec.name.clone(),
            slot: host.clone(),
            name: host,
            started_at: node.joined(),
            healthy: is_up(node),
            labels: node.labels(),
            holds: Some(u32::try_from(holds).unwrap_or(u32::MAX)),
        });
    }
    out.sort_by(|a, b| a.slot.cmp(&b.slot).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Whether the manager has the node ready and active.
fn is_up(node: &Node) -> bool {
    node.state().as_deref() == Some("ready") && node.availability().as_deref() == Some("active")
}

/// Every node of the Swarm with its role, state, availability and labels, for the error when
/// a node selector matches none.
pub async fn nearby_nodes(shared: &Shared) -> Vec<String> {
    match shared.api.nodes().await {
        Ok(nodes) => nodes
            .iter()
            .map(|n| {
                let labels: Vec<String> =
                    n.labels().iter().map(|(k, v)| format!("{k}={v}")).collect();
                let manager = if n.id == shared.engines.manager_node {
                    ", the manager firedrill talks to (never a node target)"
                } else {
                    ""
                };
                format!(
                    "node {} ({}, {}, {}{}{manager})",
                    n.hostname(),
                    n.role().unwrap_or_default(),
                    n.state().unwrap_or_default(),
                    n.availability().unwrap_or_default(),
                    if labels.is_empty() {
                        String::new()
                    } else {
                        format!(", labels {}", labels.join(" "))
                    }
                )
            })
            .collect(),
        Err(e) => vec![format!("the nodes could not be listed: {e}")],
    }
}

/// Takes `victim` (a node of `spec`) down with `action`, after checking the node as it is now:
/// still covered, not exempt, not the manager firedrill talks to, ready and active.
pub async fn take_down(
    shared: &Arc<Shared>,
    spec: &TargetSpec,
    victim: &Instance,
    action: &Action,
) -> Result<KillReceipt, PlatformError> {
    let refuse = |why: String| {
        PlatformError::Failed(format!(
            "refusing to {} node {}: {why}",
            action.describe(),
            victim.name
        ))
    };
    let nodes = shared.api.nodes().await.map_err(PlatformError::Failed)?;
    let node = nodes
        .iter()
        .find(|n| n.id == victim.id)
        .ok_or_else(|| refuse("it is no longer in the Swarm".to_string()))?;
    if node.id == shared.engines.manager_node {
        return Err(refuse("it is the manager firedrill talks to".to_string()));
    }
    if !spec.nodes.as_ref().is_some_and(|s| s.covers(node)) {
        return Err(refuse(format!("target {} does not select it", spec.name)));
    }
    if let Some(why) = spec.refusal(&node.labels()) {
        return Err(refuse(why));
    }
    if !is_up(node) {
        return Err(refuse(format!(
            "it is {} and {}, not ready and active",
            node.state().unwrap_or_default(),
            node.availability().unwrap_or_default()
        )));
    }
    let how = match action {
        Action::Drain { .. } => Takedown::Drain,
        Action::Command(_) => Takedown::Command,
        other => {
            return Err(PlatformError::Unsupported {
                platform: "swarm",
                action: format!("{} on a node (use drain or command)", other.describe()),
            })
        }
    };
    let lost = watched_tasks_on(shared, spec, node).await?;
    lock(&shared.node_kills).register(&node.id, &node.hostname(), &spec.name, how, lost);
    let done = match action {
        Action::Drain { duration } => node_action::drain(shared, node, *duration).await,
        Action::Command(command) => node_action::command(shared, node, command).await,
        _ => unreachable!("checked above"),
    };
    if done.is_err() {
        lock(&shared.node_kills).forget(&node.id);
    }
    done
}

/// The watched tasks running on `node` now.
async fn watched_tasks_on(
    shared: &Shared,
    spec: &TargetSpec,
    node: &Node,
) -> Result<Vec<TaskPlace>, PlatformError> {
    let (services, tasks) = shared.services_and_tasks(&spec.name).await?;
    let host = node.hostname();
    Ok(tasks
        .iter()
        .filter(|t| {
            t.node_id.as_deref() == Some(node.id.as_str())
                && t.state() == "running"
                && t.desired_state.as_deref() == Some("running")
        })
        .filter_map(|t| {
            let (_, service) = services.iter().find(|(_, s)| s.id == t.service_id)?;
            Some(TaskPlace {
                service: service.spec.name.clone(),
                slot: slot_of(&service.spec.name, t.slot, Some(&host)),
                task: t.id.clone(),
                node: host.clone(),
            })
        })
        .collect())
}
