//! Where a node is taken down, and always brought back. `drain` sets the node's availability
//! to drain through the manager; `command` runs the user's program (no shell) with the
//! node's id, hostname and address in its arguments. Each leaves an undo behind (availability
//! back to active, or the `undo` program) that runs once: when its time comes, or at once on
//! Ctrl-C, on abort and at the end of the run, whichever is first.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::models::{NodeSpec, NodeSpecAvailabilityEnum, NodeSpecRoleEnum};

use super::lock;
use super::model::Node;
use super::Shared;
use crate::platform::{now_micros, KillReceipt, PlatformError};
use crate::scenario::NodeCommand;
use crate::vocabulary::units::HumanDuration;

/// What brings one node back.
#[derive(Debug, Clone)]
enum Undo {
    /// Set the node's availability back to active.
    Activate,
    /// Run the `undo` program.
    Run {
        argv: Vec<String>,
        timeout: Duration,
    },
}

/// The undos not yet run, by node id.
#[derive(Debug, Default)]
pub struct Undos(Mutex<BTreeMap<String, Undo>>);

/// The node a placeholder names: `{id}`, `{hostname}`, `{address}`.
pub fn fill(argv: &[String], node: &Node) -> Vec<String> {
    let address = node.address().unwrap_or_default();
    argv.iter()
        .map(|a| {
            a.replace("{id}", &node.id)
                .replace("{hostname}", &node.hostname())
                .replace("{address}", &address)
        })
        .collect()
}

/// Drains `node`; the undo sets it active again after `duration`.
pub async fn drain(
    shared: &Arc<Shared>,
    node: &Node,
    duration: HumanDuration,
) -> Result<KillReceipt, PlatformError> {
    let at = now_micros();
    set_availability(shared, node, NodeSpecAvailabilityEnum::DRAIN).await?;
    schedule(shared, &node.id, Undo::Activate, duration.get());
    Ok(KillReceipt {
        at,
        detail: format!(
            "drained node {} ({}); active again in {duration}",
            node.hostname(),
            node.id
        ),
    })
}

/// Runs the command's `run` against `node`; its `undo`, if any, runs `undo_after` later.
pub async fn command(
    shared: &Arc<Shared>,
    node: &Node,
    spec: &NodeCommand,
) -> Result<KillReceipt, PlatformError> {
    let argv = fill(&spec.run, node);
    let at = now_micros();
    run_program(&argv, spec.timeout.get())
        .await
        .map_err(|why| {
            PlatformError::Failed(format!("command for node {}: {why}", node.hostname()))
        })?;
    if let Some(undo) = &spec.undo {
        let argv = fill(undo, node);
        let timeout = spec.timeout.get();
        schedule(
            shared,
            &node.id,
            Undo::Run { argv, timeout },
            spec.undo_after.get(),
        );
    }
    Ok(KillReceipt {
        at,
        detail: format!("ran {} for node {}", argv.join(" "), node.hostname()),
    })
}

/// Keeps the undo for `node` and runs it after `after`, unless something ran it first.
fn schedule(shared: &Arc<Shared>, node: &str, undo: Undo, after: Duration) {
    lock(&shared.undos.0).insert(node.to_string(), undo);
    let shared = shared.clone();
    let node = node.to_string();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        if let Err(e) = undo_one(&shared, &node).await {
            tracing::warn!("{e}");
        }
    });
}

/// Runs the undo of `node` if it has not run yet.
async fn undo_one(shared: &Arc<Shared>, node: &str) -> Result<(), PlatformError> {
    let Some(undo) = lock(&shared.undos.0).remove(node) else {
        return Ok(());
    };
    let host = shared.engines.hostname(node);
    match undo {
        Undo::Activate => {
            let current = shared
                .api
                .nodes()
                .await
                .map_err(PlatformError::Failed)?
                .into_iter()
                .find(|n| n.id == node)
                .ok_or_else(|| {
                    PlatformError::Failed(format!(
                        "node {host} ({node}) left the Swarm; nothing to set active"
                    ))
                })?;
            set_availability(shared, &current, NodeSpecAvailabilityEnum::ACTIVE)
                .await
                .map_err(|e| {
                    PlatformError::Failed(format!("setting node {host} active again failed: {e}"))
                })?;
            tracing::info!("node {host} is active again");
        }
        Undo::Run { argv, timeout } => {
            run_program(&argv, timeout).await.map_err(|why| {
                PlatformError::Failed(format!("the undo command for node {host} failed: {why}"))
            })?;
            tracing::info!("ran the undo command for node {host}: {}", argv.join(" "));
        }
    }
    Ok(())
}

/// Runs every undo not yet run, all at once; reports the first failure after trying them all.
pub async fn undo_all(shared: &Arc<Shared>) -> Result<(), PlatformError> {
    let nodes: Vec<String> = lock(&shared.undos.0).keys().cloned().collect();
    let results = futures_util::future::join_all(nodes.iter().map(|n| undo_one(shared, n))).await;
    results
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map(|_| ())
}

async fn set_availability(
    shared: &Shared,
    node: &Node,
    availability: NodeSpecAvailabilityEnum,
) -> Result<(), PlatformError> {
    let version = node.version_index().ok_or_else(|| {
        PlatformError::Failed(format!("node {} has no version to update", node.hostname()))
    })?;
    let role = match node.role().as_deref() {
        Some("manager") => NodeSpecRoleEnum::MANAGER,
        _ => NodeSpecRoleEnum::WORKER,
    };
    let spec = NodeSpec {
        name: node
            .spec
            .as_ref()
            .and_then(|s| s["Name"].as_str())
            .map(str::to_string),
        labels: Some(node.labels().into_iter().collect()),
        role: Some(role),
        availability: Some(availability),
    };
    shared
        .api
        .update_node(&node.id, spec, version)
        .await
        .map_err(PlatformError::Failed)
}

/// Runs `argv` with no shell and no stdin; fails on a non-zero exit (with the end of its
/// stderr), on a failure to start, and after `timeout`. The program is not killed when the
/// run ends first: an undo must finish even if firedrill is stopping.
async fn run_program(argv: &[String], timeout: Duration) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            format!(
                "{} did not finish within {}",
                argv.join(" "),
                HumanDuration(timeout)
            )
        })?
        .map_err(|e| format!("waiting for {program} failed: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "{} exited with {}{}",
        argv.join(" "),
        output.status,
        if tail.is_empty() {
            String::new()
        } else {
            format!(": {}", tail.join(" / "))
        }
    ))
}
