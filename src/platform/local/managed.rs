//! The managed fleet's supervisor: firedrill spawns each slot's process and, when it dies,
//! waits the replace delay and spawns its replacement in the same slot. Standing in for a
//! rebuild-and-boot pipeline, it makes the local platform a complete phoenix system.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Child;
use tokio::task::JoinHandle;

use super::prober::{watch, HealthSpec};
use super::registry::{Origin, Shared, Tracked};
use crate::platform::{now_micros, Instance, PlatformError};
use crate::scenario::{ManagedFleet, Target};
use crate::vocabulary::units::DurationRange;

/// After a failed spawn, the next attempt waits at least this long, so a missing binary does
/// not spin.
const RESPAWN_BACKOFF: Duration = Duration::from_secs(1);

/// One managed target, as the scenario describes it.
#[derive(Debug, Clone)]
pub(super) struct FleetSpec {
    /// Target name.
    pub target: String,
    /// Program and arguments with `{port}`, `{slot}` and `{self}` still in place.
    pub command: Vec<String>,
    /// How many slots.
    pub replicas: u32,
    /// Death-to-replacement delay.
    pub replace_delay: DurationRange,
    /// First port, when fixed.
    pub port_base: Option<u16>,
    /// Health check.
    pub health: HealthSpec,
}

impl FleetSpec {
    /// Reads a managed target.
    pub fn of(target: &Target, fleet: &ManagedFleet) -> Result<FleetSpec, PlatformError> {
        if fleet.command.is_empty() {
            return Err(PlatformError::Failed(format!(
                "target {}: select.managed.command is empty",
                target.name
            )));
        }
        Ok(FleetSpec {
            target: target.name.clone(),
            command: fleet.command.clone(),
            replicas: fleet.replicas,
            replace_delay: fleet.replace_delay,
            port_base: fleet.port_base,
            health: HealthSpec::of(target, false)?,
        })
    }
}

/// One slot: a position in the fleet with a fixed port and command line.
#[derive(Debug, Clone)]
struct Slot {
    index: u32,
    name: String,
    port: u16,
    argv: Vec<String>,
    display: String,
}

/// Picks each slot's port and fills in its command line.
fn plan_slots(spec: &FleetSpec) -> Result<Vec<Slot>, PlatformError> {
    let own_exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .map_err(|e| PlatformError::Failed(format!("cannot find firedrill's own binary: {e}")))?;
    let mut slots = Vec::new();
    for index in 0..spec.replicas {
        let port = match spec.port_base {
            Some(base) => u16::try_from(u32::from(base) + index).map_err(|_| {
                PlatformError::Failed(format!(
                    "target {}: port_base {base} + slot {index} is past 65535",
                    spec.target
                ))
            })?,
            None => free_port()?,
        };
        let argv = spec
            .command
            .iter()
            .map(|arg| {
                arg.replace("{port}", &port.to_string())
                    .replace("{slot}", &index.to_string())
                    .replace("{self}", &own_exe)
            })
            .collect::<Vec<String>>();
        // Named after the program that runs, so `{self}` reads as `firedrill`.
        let program = argv
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
            .unwrap_or_default();
        slots.push(Slot {
            index,
            name: format!("{}/{index}", spec.target),
            port,
            argv,
            display: format!("{program}:{port}"),
        });
    }
    Ok(slots)
}

/// The instances a fleet would start with, for `--dry-run` and `targets`: one per slot, named
/// by slot since no process exists yet, and assumed healthy.
pub(super) fn preview(spec: &FleetSpec) -> Vec<Instance> {
    (0..spec.replicas)
        .map(|index| {
            let slot = format!("{}/{index}", spec.target);
            Instance {
                id: slot.clone(),
                target: spec.target.clone(),
                slot: slot.clone(),
                name: slot.clone(),
                started_at: None,
                healthy: true,
                labels: Default::default(),
                holds: None,
            }
        })
        .collect()
}

/// A port free now, kept by its slot for the whole run.
fn free_port() -> Result<u16, PlatformError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| PlatformError::Failed(format!("cannot find a free port: {e}")))
}

/// Spawns every slot of `spec` and the task that keeps each slot filled, adding each task to
/// `tasks` at once, so a shutdown after a failed start still reaps what did start.
pub(super) fn launch(
    shared: &Arc<Shared>,
    spec: &FleetSpec,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(), PlatformError> {
    let spec = Arc::new(spec.clone());
    for slot in plan_slots(&spec)? {
        let child = spawn_into(shared, &spec, &slot)
            .map_err(|e| PlatformError::Failed(format!("cannot start {}: {e}", slot.name)))?
            .ok_or_else(|| PlatformError::Failed("stopped while starting".to_string()))?;
        let (shared, spec) = (Arc::clone(shared), Arc::clone(&spec));
        tasks.push(tokio::spawn(keep_filled(shared, spec, slot, child)));
    }
    Ok(())
}

/// Spawns the slot's process and registers it, under the registry lock so that a shutdown
/// either sees it or prevents it. `Ok(None)` when shutdown has begun.
fn spawn_into(
    shared: &Arc<Shared>,
    spec: &FleetSpec,
    slot: &Slot,
) -> std::io::Result<Option<Child>> {
    let mut registry = shared.registry();
    if shared.stop.is_cancelled() {
        return Ok(None);
    }
    let created = now_micros();
    let spawner = shared
        .spawner
        .get()
        .ok_or_else(|| std::io::Error::other("the platform was not started"))?;
    let child = spawner.spawn(&slot.argv)?;
    let started = now_micros();
    let Some(pid) = child.id() else {
        return Err(std::io::Error::other(
            "the process ended before it got a PID",
        ));
    };
    let token = shared.stop.child_token();
    let tracked = Tracked {
        instance: Instance {
            id: pid.to_string(),
            target: spec.target.clone(),
            slot: slot.name.clone(),
            name: slot.display.clone(),
            started_at: Some(started),
            healthy: false,
            labels: BTreeMap::new(),
            holds: None,
        },
        slot_index: slot.index,
        origin: Origin::Managed,
        watch: token.clone(),
        checked: false,
        last_failure: None,
    };
    // Before the events go out, so that whoever reacts to `Created` finds the capture under
    // way; the child is not reaped before its slot task says so, so its PID is its own.
    shared.captures.start(pid, None);
    registry.insert(pid, tracked, created, started, "spawned by firedrill");
    watch(
        shared,
        &mut registry,
        pid,
        &spec.health,
        Some(slot.port),
        started,
        token,
    );
    Ok(Some(child))
}

/// Waits for the slot's process to end, reaps it, and replaces it after the replace delay,
/// until shutdown.
async fn keep_filled(shared: Arc<Shared>, spec: Arc<FleetSpec>, slot: Slot, mut child: Child) {
    loop {
        let pid = child.id();
        let status = child.wait().await;
        let at = now_micros();
        let detail = match status {
            Ok(s) => s.to_string(),
            Err(e) => format!("cannot read the exit status: {e}"),
        };
        if let Some(pid) = pid {
            shared.registry().remove(pid, at, detail);
        }
        child = loop {
            let delay = shared.draw_delay(spec.replace_delay);
            tokio::select! {
                _ = shared.stop.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            match spawn_into(&shared, &spec, &slot) {
                Ok(Some(child)) => break child,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("cannot start a replacement in {}: {e}", slot.name);
                    tokio::select! {
                        _ = shared.stop.cancelled() => return,
                        _ = tokio::time::sleep(RESPAWN_BACKOFF) => {}
                    }
                }
            }
        };
    }
}

/// The first slot of `spec` that has no healthy instance now, if any, with what is known of
/// why.
pub(super) fn unhealthy_slot(shared: &Shared, spec: &FleetSpec) -> Option<(String, String)> {
    let registry = shared.registry();
    (0..spec.replicas).find_map(|i| {
        let slot = format!("{}/{i}", spec.target);
        let occupant = registry
            .by_pid
            .values()
            .find(|t| t.instance.target == spec.target && t.instance.slot == slot);
        match occupant {
            Some(t) if t.instance.healthy => None,
            Some(t) => {
                let why = t.last_failure.as_deref().unwrap_or("no probe answer yet");
                Some((slot, format!("PID {}: {why}", t.instance.id)))
            }
            None => Some((slot, "its process keeps exiting".to_string())),
        }
    })
}

/// Stops the fleet: SIGTERM, up to `grace` for a clean exit, then SIGKILL, and every child
/// reaped by its slot task.
pub(super) async fn stop_all(shared: &Shared, mut tasks: Vec<JoinHandle<()>>, grace: Duration) {
    let managed_pids = || {
        let registry = shared.registry();
        registry
            .by_pid
            .iter()
            .filter(|(_, t)| t.origin == Origin::Managed)
            .map(|(pid, _)| *pid)
            .collect::<Vec<u32>>()
    };
    {
        // Under the lock, so no replacement is registered after this point.
        let _registry = shared.registry();
        shared.stop.cancel();
    }
    for pid in managed_pids() {
        // A child that already exited is fine: its task reaps it.
        let _ = super::process::send_signal(pid, libc::SIGTERM);
    }
    if tokio::time::timeout(grace, all_reaped(&mut tasks))
        .await
        .is_err()
    {
        for pid in managed_pids() {
            let _ = super::process::send_signal(pid, libc::SIGKILL);
        }
        // A JoinHandle must not be polled again once it has returned.
        tasks.retain(|t| !t.is_finished());
        if tokio::time::timeout(grace, all_reaped(&mut tasks))
            .await
            .is_err()
        {
            tracing::warn!("some fleet processes did not end after SIGKILL; dropping them");
            // Aborting drops each Child, and kill_on_drop sends SIGKILL once more.
            for task in &tasks {
                task.abort();
            }
        }
    }
}

/// Waits for every slot task; each ends once its child is reaped.
async fn all_reaped(tasks: &mut [JoinHandle<()>]) {
    for task in tasks.iter_mut() {
        // A panicked slot task has dropped its child, which kill_on_drop has killed.
        let _ = task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(command: &[&str], port_base: Option<u16>) -> FleetSpec {
        let target = Target {
            name: "web".into(),
            select: Default::default(),
            require_label: None,
            capacity: None,
            health: Default::default(),
            watch: Vec::new(),
        };
        FleetSpec {
            target: "web".into(),
            command: command.iter().map(|s| s.to_string()).collect(),
            replicas: 3,
            replace_delay: DurationRange::default(),
            port_base,
            health: HealthSpec::of(&target, false).unwrap(),
        }
    }

    #[test]
    fn placeholders_become_port_slot_and_own_binary() {
        let slots = plan_slots(&fleet(
            &["{self}", "--port", "{port}", "--id={slot}"],
            Some(7000),
        ))
        .unwrap();
        let me = std::env::current_exe().unwrap().display().to_string();
        let argv: Vec<Vec<String>> = slots.iter().map(|s| s.argv.clone()).collect();
        assert_eq!(argv[2], [me.as_str(), "--port", "7002", "--id=2"]);
        let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["web/0", "web/1", "web/2"]);
        let exe = std::env::current_exe().unwrap();
        let program = exe.file_name().unwrap().to_string_lossy();
        assert_eq!(slots[1].display, format!("{program}:7001"));
    }

    #[test]
    fn free_ports_differ_per_slot_and_port_base_overflow_is_an_error() {
        let slots = plan_slots(&fleet(&["x", "{port}"], None)).unwrap();
        let mut ports: Vec<u16> = slots.iter().map(|s| s.port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|p| *p != 0));
        assert!(plan_slots(&fleet(&["x"], Some(65534))).is_err());
    }
}
