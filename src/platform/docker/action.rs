//! Carrying out one action on one container: kill (a signal through the API), crash (SIGKILL
//! to the main process's host PID, as a real crash), stop with grace, forced remove, and pause
//! for a while, which always ends in an unpause: after the time, or in `shutdown`, which the
//! engine calls on Ctrl-C, on error and on abort.

use std::sync::Arc;

use bollard::container::{KillContainerOptions, RemoveContainerOptions, StopContainerOptions};
use tokio_util::sync::CancellationToken;

use super::fleet::Observed;
use super::Shared;
use crate::platform::{now_micros, KillReceipt, PlatformError};
use crate::scenario::signal::{known_signals, signal_name, signal_number};
use crate::scenario::Action;

/// Carries out `action` on `victim`, which the caller has already checked may be touched.
///
/// `KillReceipt.at` is this machine's clock just before the request or signal leaves. For
/// kill, stop and remove the daemon's own `kill` event follows and replaces it. For crash no
/// daemon event marks the signal, so the receipt's time, taken immediately before
/// `kill(2)`, is the kill mark (the first daemon time is the `die` event).
pub async fn carry_out(
    shared: &Arc<Shared>,
    victim: &Observed,
    action: &Action,
) -> Result<KillReceipt, PlatformError> {
    let id = victim.id.as_str();
    let short = &id[..id.len().min(12)];
    let failed = |what: &str, e: bollard::errors::Error| {
        PlatformError::Failed(format!(
            "{what} container {} ({short}) failed: {e}",
            victim.name
        ))
    };
    match action {
        Action::Kill { signal } => {
            let number = signal_number(signal).ok_or_else(|| {
                PlatformError::Failed(format!(
                    "unknown signal {signal:?}; known: {}",
                    known_signals()
                ))
            })?;
            let name = signal_name(number).unwrap_or("SIGKILL");
            shared.expect_kill_event(id);
            let at = now_micros();
            let sent = shared
                .docker
                .kill_container(id, Some(KillContainerOptions { signal: name }))
                .await;
            if let Err(e) = sent {
                shared.take_kill_expectation(id);
                return Err(failed("killing", e));
            }
            Ok(KillReceipt {
                at,
                detail: format!("docker kill --signal {name} {short}"),
            })
        }
        Action::Crash {} => crash(shared, victim),
        Action::Stop { grace } => {
            // Docker's stop timeout is whole seconds; round up so the grace is never shorter.
            let grace_secs = grace.get().as_millis().div_ceil(1000) as i64;
            shared.expect_kill_event(id);
            let at = now_micros();
            // A stop returns only after the container exits, up to the grace period; the
            // engine must not wait for it, because the phases are timed from events anyway.
            let docker = shared.docker.clone();
            let (owned_id, name) = (id.to_string(), victim.name.clone());
            tokio::spawn(async move {
                let stop = StopContainerOptions { t: grace_secs };
                if let Err(e) = docker.stop_container(&owned_id, Some(stop)).await {
                    tracing::warn!(container = %name, "docker stop failed: {e}");
                }
            });
            Ok(KillReceipt {
                at,
                detail: format!("docker stop --time {grace_secs} {short}"),
            })
        }
        Action::Remove {} => {
            shared.expect_kill_event(id);
            let at = now_micros();
            let options = RemoveContainerOptions {
                force: true,
                ..RemoveContainerOptions::default()
            };
            if let Err(e) = shared.docker.remove_container(id, Some(options)).await {
                shared.take_kill_expectation(id);
                return Err(failed("removing", e));
            }
            Ok(KillReceipt {
                at,
                detail: format!("docker rm --force {short}"),
            })
        }
        Action::Pause { duration } => {
            let at = now_micros();
            shared
                .docker
                .pause_container(id)
                .await
                .map_err(|e| failed("pausing", e))?;
            let thaw = CancellationToken::new();
            shared.note_paused(id, thaw.clone());
            let (shared, owned_id, name) = (shared.clone(), id.to_string(), victim.name.clone());
            let duration = duration.get();
            tokio::spawn(async move {
                tokio::select! {
                    _ = thaw.cancelled() => {}
                    _ = tokio::time::sleep(duration) => {
                        // Whoever takes the entry out of the book unpauses, so a shutdown
                        // racing this timer does not unpause twice.
                        if shared.take_paused(&owned_id).is_some() {
                            if let Err(e) = shared.docker.unpause_container(&owned_id).await {
                                tracing::error!(container = %name, "unpause failed: {e}");
                            }
                        }
                    }
                }
            });
            Ok(KillReceipt {
                at,
                detail: format!(
                    "docker pause {short} for {}",
                    humantime::format_duration(duration)
                ),
            })
        }
    }
}

/// Unpauses every container firedrill paused and has not yet unpaused. Every one is tried;
/// the error lists those that failed.
pub async fn unpause_all(shared: &Shared) -> Result<(), PlatformError> {
    let mut failures = Vec::new();
    for (id, thaw) in shared.drain_paused() {
        thaw.cancel();
        if let Err(e) = shared.docker.unpause_container(&id).await {
            failures.push(format!("{}: {e}", &id[..id.len().min(12)]));
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

/// SIGKILL to the container's main process through its host PID, so the engine sees an
/// unexpected exit and the restart policy fires. The PID must be this machine's: the
/// process's cgroup must name the container, which also guards against a PID reused since the
/// inspect, a remote engine, or firedrill running in another PID namespace.
fn crash(shared: &Shared, victim: &Observed) -> Result<KillReceipt, PlatformError> {
    let id = victim.id.as_str();
    let short = &id[..id.len().min(12)];
    let unreachable = |why: String| {
        PlatformError::Failed(format!(
            "cannot crash container {} ({short}): {why}. The crash action signals the \
             container's main process directly, so firedrill must run on the engine's host \
             in its PID namespace (engine: {}); use `kill` otherwise",
            victim.name, shared.endpoint
        ))
    };
    let pid = victim.pid;
    if pid <= 0 {
        return Err(unreachable(
            "the engine reports no main process (PID 0)".into(),
        ));
    }
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| unreachable(format!("host PID {pid} is not visible here ({e})")))?;
    if !cgroup.contains(id) {
        return Err(unreachable(format!(
            "host PID {pid} here is not in the container's cgroup"
        )));
    }
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| unreachable(format!("PID {pid} is out of range")))?;
    let at = now_micros();
    // SAFETY: kill(2) has no memory-safety preconditions; the PID was checked above to be the
    // container's main process.
    let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(unreachable(format!("kill({pid}, SIGKILL) failed: {err}")));
    }
    Ok(KillReceipt {
        at,
        detail: format!("SIGKILL to host PID {pid} (main process of {short})"),
    })
}
