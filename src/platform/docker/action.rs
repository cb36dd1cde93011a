//! Carrying out one action on one container, for the docker platform and for Swarm tasks
//! alike (a task is acted on through its container, on its node's engine): kill (a signal
//! through the API), crash (SIGKILL to the main process's host PID, as a real crash), stop with
//! grace, forced remove, and pause for a while, which always ends in an unpause: after the
//! time, or in `shutdown`, which the engine calls on Ctrl-C, on error and on abort.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, RemoveContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use tokio_util::sync::CancellationToken;

use crate::platform::{now_micros, KillReceipt, PlatformError};
use crate::scenario::Action;
use crate::vocabulary::units::HumanDuration;

/// What firedrill's actions leave to remember: which daemon `kill` events are its own, and
/// which containers it paused and must unpause, with the engine each one lives on.
#[derive(Default)]
pub struct ActionBook {
    kill_expected: Mutex<HashSet<String>>,
    paused: Mutex<HashMap<String, (Docker, CancellationToken)>>,
}

/// Locks a mutex; a panic elsewhere while holding it leaves plain data that is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ActionBook {
    /// Marks that firedrill is about to act on a container, so the daemon's next `kill` event
    /// for it is recognised as firedrill's own.
    pub fn expect_kill_event(&self, id: &str) {
        lock(&self.kill_expected).insert(id.to_string());
    }

    /// Consumes the mark; true when the `kill` event just seen was firedrill's.
    pub fn take_kill_expectation(&self, id: &str) -> bool {
        lock(&self.kill_expected).remove(id)
    }

    fn note_paused(&self, id: &str, docker: Docker, thaw: CancellationToken) {
        lock(&self.paused).insert(id.to_string(), (docker, thaw));
    }

    /// Whoever takes the entry out of the book unpauses, so a shutdown racing a pause timer
    /// never unpauses twice.
    fn take_paused(&self, id: &str) -> Option<(Docker, CancellationToken)> {
        lock(&self.paused).remove(id)
    }

    fn drain_paused(&self) -> Vec<(String, Docker, CancellationToken)> {
        lock(&self.paused)
            .drain()
            .map(|(id, (docker, thaw))| (id, docker, thaw))
            .collect()
    }
}

/// The container an action is for, and how to speak of it.
pub struct Victim<'a> {
    /// The engine the container lives on.
    pub docker: &'a Docker,
    /// Container id.
    pub id: &'a str,
    /// How messages name it, e.g. `container web-1 (3f2a…)` or `task web.2 (container 3f2a…)`.
    pub label: String,
    /// Its main process's host PID, when an inspect just said so; otherwise crash inspects.
    pub pid: Option<i64>,
    /// Where the engine is, for the crash action's explanation.
    pub endpoint: String,
}

/// The first 12 characters of an id, as Docker shows them.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Carries out `action` on `victim`, which the caller has already checked may be touched.
///
/// `KillReceipt.at` is this machine's clock just before the request or signal leaves. For
/// kill, stop and remove the daemon's own `kill` event follows and replaces it. For crash no
/// daemon event marks the signal, so the receipt's time, taken immediately before
/// `kill(2)`, is the kill mark (the first daemon time is the `die` event).
pub async fn carry_out(
    book: &Arc<ActionBook>,
    victim: &Victim<'_>,
    action: &Action,
) -> Result<KillReceipt, PlatformError> {
    let (docker, id, label) = (victim.docker, victim.id, victim.label.as_str());
    let short = short_id(id);
    let failed = |what: &str, e: bollard::errors::Error| {
        PlatformError::Failed(format!("{what} {label} failed: {e}"))
    };
    match action {
        Action::Drain { .. } | Action::Command(_) => Err(PlatformError::Unsupported {
            platform: "docker",
            action: format!(
                "{} on a container (it is a Swarm node action)",
                action.describe()
            ),
        }),
        Action::Kill { signal } => {
            let name = signal.name();
            book.expect_kill_event(id);
            let at = now_micros();
            let sent = docker
                .kill_container(
                    id,
                    Some(KillContainerOptions {
                        signal: name.to_string(),
                    }),
                )
                .await;
            if let Err(e) = sent {
                book.take_kill_expectation(id);
                return Err(failed("killing", e));
            }
            Ok(KillReceipt {
                at,
                detail: format!("docker kill --signal {name} {short}"),
            })
        }
        Action::Crash {} => crash(victim).await,
        Action::Stop { grace } => {
            // Docker's stop timeout is whole seconds; round up so the grace is never shorter.
            let grace_secs = grace.get().as_millis().div_ceil(1000) as i32;
            book.expect_kill_event(id);
            let at = now_micros();
            // A stop returns only after the container exits, up to the grace period; the
            // engine must not wait for it, because the phases are timed from events anyway.
            let (docker, owned_id, label) = (docker.clone(), id.to_string(), label.to_string());
            tokio::spawn(async move {
                let stop = StopContainerOptions {
                    t: Some(grace_secs),
                    signal: None,
                };
                if let Err(e) = docker.stop_container(&owned_id, Some(stop)).await {
                    tracing::warn!("docker stop of {label} failed: {e}");
                }
            });
            Ok(KillReceipt {
                at,
                detail: format!("docker stop --time {grace_secs} {short}"),
            })
        }
        Action::Remove {} => {
            book.expect_kill_event(id);
            let at = now_micros();
            let options = RemoveContainerOptions {
                force: true,
                ..RemoveContainerOptions::default()
            };
            if let Err(e) = docker.remove_container(id, Some(options)).await {
                book.take_kill_expectation(id);
                return Err(failed("removing", e));
            }
            Ok(KillReceipt {
                at,
                detail: format!("docker rm --force {short}"),
            })
        }
        Action::Pause { duration } => {
            let at = now_micros();
            docker
                .pause_container(id)
                .await
                .map_err(|e| failed("pausing", e))?;
            let thaw = CancellationToken::new();
            book.note_paused(id, docker.clone(), thaw.clone());
            let (book, owned_id, label) = (book.clone(), id.to_string(), label.to_string());
            let duration = duration.get();
            tokio::spawn(async move {
                tokio::select! {
                    _ = thaw.cancelled() => {}
                    _ = tokio::time::sleep(duration) => {
                        if let Some((docker, _)) = book.take_paused(&owned_id) {
                            if let Err(e) = docker.unpause_container(&owned_id).await {
                                tracing::error!("unpause of {label} failed: {e}");
                            }
                        }
                    }
                }
            });
            Ok(KillReceipt {
                at,
                detail: format!("docker pause {short} for {}", HumanDuration(duration)),
            })
        }
    }
}

/// Unpauses every container firedrill paused and has not yet unpaused. Every one is tried;
/// the error lists those that failed.
pub async fn unpause_all(book: &ActionBook) -> Result<(), PlatformError> {
    let mut failures = Vec::new();
    for (id, docker, thaw) in book.drain_paused() {
        thaw.cancel();
        if let Err(e) = docker.unpause_container(&id).await {
            failures.push(format!("{}: {e}", short_id(&id)));
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
/// unexpected exit and the restart policy (or Swarm's task failure) fires. The PID must be
/// this machine's: the process's cgroup must name the container, which also guards against a
/// PID reused since the inspect, a remote engine, or firedrill running in another PID namespace.
async fn crash(victim: &Victim<'_>) -> Result<KillReceipt, PlatformError> {
    let id = victim.id;
    let unreachable = |why: String| {
        PlatformError::Failed(format!(
            "cannot crash {}: {why}. The crash action signals the container's main process \
             directly, so firedrill must run on the engine's host in its PID namespace \
             (engine: {}); use `kill` otherwise",
            victim.label, victim.endpoint
        ))
    };
    let pid = match victim.pid {
        Some(pid) => pid,
        None => victim
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| unreachable(format!("inspect failed: {e}")))?
            .state
            .and_then(|s| s.pid)
            .unwrap_or(0),
    };
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
        detail: format!(
            "SIGKILL to host PID {pid} (main process of {})",
            short_id(id)
        ),
    })
}
