//! One action on one task's container, through the engine of the task's node: kill (a signal
//! through the API), crash (SIGKILL to the host PID, only when firedrill runs on that node),
//! stop with grace, forced remove, and pause for a while, which always ends in an unpause.
//! Swarm counts any non-zero exit as a failed task and reschedules the slot under the
//! service's restart policy.

use std::sync::Arc;

use bollard::container::{KillContainerOptions, RemoveContainerOptions, StopContainerOptions};
use tokio_util::sync::CancellationToken;

use super::nodes::NodeEngine;
use super::{short_id, Shared};
use crate::platform::{now_micros, KillReceipt, PlatformError};
use crate::scenario::signal::{known_signals, signal_name, signal_number};
use crate::scenario::Action;

/// Carries out `action` on `container` (of task `name`) on `node`'s engine. The receipt's
/// time is this machine's clock just before the request; the engine's own `kill` event
/// replaces it where there is one.
pub async fn carry_out(
    shared: &Arc<Shared>,
    engine: &NodeEngine,
    node: &str,
    container: &str,
    name: &str,
    action: &Action,
) -> Result<KillReceipt, PlatformError> {
    let short = short_id(container);
    let failed = |what: &str, e: bollard::errors::Error| {
        PlatformError::Failed(format!(
            "{what} container {short} of task {name} on {} failed: {e}",
            engine.endpoint
        ))
    };
    let docker = &engine.docker;
    match action {
        Action::Kill { signal } => {
            let number = signal_number(signal).ok_or_else(|| {
                PlatformError::Failed(format!(
                    "unknown signal {signal:?}; known: {}",
                    known_signals()
                ))
            })?;
            let sig = signal_name(number).unwrap_or("SIGKILL");
            shared.expect_kill_event(container);
            let at = now_micros();
            if let Err(e) = docker
                .kill_container(container, Some(KillContainerOptions { signal: sig }))
                .await
            {
                shared.take_kill_expectation(container);
                return Err(failed("killing", e));
            }
            Ok(KillReceipt {
                at,
                detail: format!("docker kill --signal {sig} {short} (task {name})"),
            })
        }
        Action::Crash {} => crash(docker, container, name).await,
        Action::Stop { grace } => {
            let grace_secs = grace.get().as_millis().div_ceil(1000) as i64;
            shared.expect_kill_event(container);
            let at = now_micros();
            // A stop returns only once the container exits; the phases come from events.
            let (docker, owned) = (docker.clone(), container.to_string());
            tokio::spawn(async move {
                let stop = StopContainerOptions { t: grace_secs };
                if let Err(e) = docker.stop_container(&owned, Some(stop)).await {
                    tracing::warn!(container = %owned, "docker stop failed: {e}");
                }
            });
            Ok(KillReceipt {
                at,
                detail: format!("docker stop --time {grace_secs} {short} (task {name})"),
            })
        }
        Action::Remove {} => {
            shared.expect_kill_event(container);
            let at = now_micros();
            let options = RemoveContainerOptions {
                force: true,
                ..RemoveContainerOptions::default()
            };
            if let Err(e) = docker.remove_container(container, Some(options)).await {
                shared.take_kill_expectation(container);
                return Err(failed("removing", e));
            }
            Ok(KillReceipt {
                at,
                detail: format!("docker rm --force {short} (task {name})"),
            })
        }
        Action::Pause { duration } => {
            let at = now_micros();
            docker
                .pause_container(container)
                .await
                .map_err(|e| failed("pausing", e))?;
            let thaw = CancellationToken::new();
            shared.note_paused(container, node, thaw.clone());
            let (shared, docker, owned) = (shared.clone(), docker.clone(), container.to_string());
            let duration = duration.get();
            tokio::spawn(async move {
                tokio::select! {
                    _ = thaw.cancelled() => {}
                    _ = tokio::time::sleep(duration) => {
                        if shared.take_paused(&owned).is_some() {
                            if let Err(e) = docker.unpause_container(&owned).await {
                                tracing::error!(container = %owned, "unpause failed: {e}");
                            }
                        }
                    }
                }
            });
            Ok(KillReceipt {
                at,
                detail: format!(
                    "docker pause {short} (task {name}) for {}",
                    humantime::format_duration(duration)
                ),
            })
        }
    }
}

/// Unpauses every container firedrill paused and has not yet unpaused; the error lists those
/// that failed.
pub async fn unpause_all(shared: &Shared) -> Result<(), PlatformError> {
    let mut failures = Vec::new();
    for (container, node, thaw) in shared.drain_paused() {
        thaw.cancel();
        let result = match shared.engines.engine_for(&node) {
            Ok(e) => e
                .docker
                .unpause_container(&container)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            failures.push(format!("{}: {e}", short_id(&container)));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(PlatformError::Failed(format!(
            "could not unpause {}; run `docker unpause` on them by hand",
            failures.join(", ")
        )))
    }
}

/// SIGKILL to the container's main process by host PID. Only possible when firedrill runs on
/// the task's node in the host PID namespace; the PID's cgroup must name the container.
async fn crash(
    docker: &bollard::Docker,
    container: &str,
    name: &str,
) -> Result<KillReceipt, PlatformError> {
    let short = short_id(container);
    let refuse = |why: String| {
        PlatformError::Failed(format!(
            "cannot crash task {name} (container {short}): {why}. The crash action signals \
             the main process directly, so firedrill must run on the task's node; use \
             `kill`, which Swarm treats as a failed task just the same"
        ))
    };
    let inspect = docker
        .inspect_container(container, None)
        .await
        .map_err(|e| refuse(format!("inspect failed: {e}")))?;
    let pid = inspect.state.and_then(|s| s.pid).unwrap_or(0);
    if pid <= 0 {
        return Err(refuse("the engine reports no main process".into()));
    }
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| refuse(format!("host PID {pid} is not visible here ({e})")))?;
    if !cgroup.contains(container) {
        return Err(refuse(format!(
            "host PID {pid} here is not in the container's cgroup"
        )));
    }
    let pid = libc::pid_t::try_from(pid).map_err(|_| refuse(format!("PID {pid} is too large")))?;
    let at = now_micros();
    // SAFETY: kill(2) has no memory-safety preconditions; the PID was checked above.
    if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
        let err = std::io::Error::last_os_error();
        return Err(refuse(format!("kill({pid}, SIGKILL) failed: {err}")));
    }
    Ok(KillReceipt {
        at,
        detail: format!("SIGKILL to host PID {pid} (task {name}, container {short})"),
    })
}
