//! The `local` platform: real OS processes on this machine. In managed mode firedrill spawns
//! the fleet and is its replacement pipeline; in attach mode it finds existing processes and
//! their own supervisor replaces them. Each instance is captured for drift evidence as it
//! is spawned or found (in `evidence`), since its `/proc` entry goes when it is killed.

mod attach;
mod evidence;
mod managed;
mod prober;
mod process;
mod procfs;
mod registry;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::attach::AttachSpec;
use self::managed::FleetSpec;
use self::process::{describe_signal, send_signal};
use self::registry::Shared;
use super::{now_micros, Evidence, Instance, KillReceipt, Platform, PlatformError, PlatformEvent};
use crate::scenario::{Action, Scenario};

pub use self::attach::EXEMPT_ENV;

/// How long `start` waits for the managed fleet to be healthy, unless told otherwise.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown gives the fleet to exit on SIGTERM before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Processes on this machine.
pub struct LocalPlatform {
    shared: Arc<Shared>,
    fleets: Vec<FleetSpec>,
    attached: Vec<Arc<AttachSpec>>,
    fleet_tasks: Mutex<Vec<JoinHandle<()>>>,
    poll_tasks: Mutex<Vec<JoinHandle<()>>>,
    started: AtomicBool,
    start_timeout: Duration,
}

impl LocalPlatform {
    /// Prepares the fleets a scenario describes; nothing is spawned until `start`.
    pub fn new(scenario: &Scenario, seed: u64) -> Result<LocalPlatform, PlatformError> {
        let mut fleets = Vec::new();
        let mut attached = Vec::new();
        for target in &scenario.targets {
            match (&target.select.managed, &target.select.process) {
                (Some(fleet), None) => fleets.push(FleetSpec::of(target, fleet)?),
                (None, Some(select)) => attached.push(Arc::new(AttachSpec::of(target, select)?)),
                _ => {
                    return Err(PlatformError::Failed(format!(
                        "target {}: the local platform needs exactly one of select.managed and select.process",
                        target.name
                    )))
                }
            }
        }
        Ok(LocalPlatform {
            shared: Arc::new(Shared::new(seed, scenario.recovery.drift)),
            fleets,
            attached,
            fleet_tasks: Mutex::new(Vec::new()),
            poll_tasks: Mutex::new(Vec::new()),
            started: AtomicBool::new(false),
            start_timeout: START_TIMEOUT,
        })
    }

    /// Changes how long `start` waits for the managed fleet to be healthy (default 30s).
    pub fn with_start_timeout(mut self, timeout: Duration) -> LocalPlatform {
        self.start_timeout = timeout;
        self
    }

    fn knows(&self, target: &str) -> bool {
        self.fleets.iter().any(|f| f.target == target)
            || self.attached.iter().any(|a| a.target == target)
    }

    async fn launch(&self, cancel: &CancellationToken) -> Result<(), PlatformError> {
        if !self.fleets.is_empty() {
            let spawner = process::Spawner::start().map_err(|e| {
                PlatformError::Failed(format!("cannot start the spawning thread: {e}"))
            })?;
            // `start` runs once, so the cell is empty.
            let _ = self.shared.spawner.set(spawner);
        }
        for fleet in &self.fleets {
            managed::launch(&self.shared, fleet, &mut lock(&self.fleet_tasks))?;
        }
        let excluded: Arc<HashSet<u32>> = Arc::new(procfs::self_and_ancestors());
        for spec in &self.attached {
            attach::first_scan(&self.shared, spec, &excluded).await;
            let task = attach::poll(
                Arc::clone(&self.shared),
                Arc::clone(spec),
                Arc::clone(&excluded),
            );
            lock(&self.poll_tasks).push(tokio::spawn(task));
        }
        self.wait_until_ready(cancel).await
    }

    /// Waits until every managed slot is healthy (an error after the start timeout, naming
    /// the slot), and every attached process has had its first health result.
    async fn wait_until_ready(&self, cancel: &CancellationToken) -> Result<(), PlatformError> {
        let began = Instant::now();
        loop {
            let unhealthy = self
                .fleets
                .iter()
                .find_map(|f| managed::unhealthy_slot(&self.shared, f));
            let unchecked = self.shared.registry().by_pid.values().any(|t| !t.checked);
            match unhealthy {
                None if !unchecked => return Ok(()),
                None if began.elapsed() >= self.start_timeout => return Ok(()),
                Some((slot, why)) if began.elapsed() >= self.start_timeout => {
                    return Err(PlatformError::Failed(format!(
                        "slot {slot} did not become healthy within {} ({why})",
                        crate::vocabulary::units::HumanDuration(self.start_timeout)
                    )))
                }
                _ => {}
            }
            tokio::select! {
                _ = cancel.cancelled() => {
                    return Err(PlatformError::Failed("cancelled while starting".to_string()))
                }
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    }
}

/// A lock on a task list; a panicked holder leaves a list that is still right.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Platform for LocalPlatform {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn start(
        &self,
        events: mpsc::UnboundedSender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> Result<(), PlatformError> {
        if self.started.swap(true, Ordering::SeqCst) {
            return Err(PlatformError::Failed(
                "the local platform was already started".into(),
            ));
        }
        self.shared.registry().connect(events);
        // The run's end also ends replacement, probing and polling; the children themselves
        // are stopped by `shutdown`.
        let stop = self.shared.stop.clone();
        let run_cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = run_cancel.cancelled() => stop.cancel(),
                _ = stop.cancelled() => {}
            }
        });
        let result = self.launch(&cancel).await;
        if result.is_err() {
            // A fleet that cannot start must not stay behind.
            let _ = self.shutdown().await;
        }
        result
    }

    async fn instances(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        if !self.knows(target) {
            return Err(PlatformError::Failed(format!(
                "no local target named {target:?}"
            )));
        }
        Ok(self.shared.registry().instances(target))
    }

    async fn preview(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        if let Some(fleet) = self.fleets.iter().find(|f| f.target == target) {
            return Ok(managed::preview(fleet));
        }
        if let Some(spec) = self.attached.iter().find(|a| a.target == target) {
            return Ok(attach::preview(spec));
        }
        Err(PlatformError::Failed(format!(
            "no local target named {target:?}"
        )))
    }

    fn spawns(&self, target: &str) -> bool {
        self.fleets.iter().any(|f| f.target == target)
    }

    async fn nearby(&self, target: &str) -> Vec<String> {
        match self.attached.iter().find(|a| a.target == target) {
            Some(spec) => {
                let spec = Arc::clone(spec);
                // Reading every process's files is blocking I/O; keep it off the async workers.
                tokio::task::spawn_blocking(move || attach::nearby(&spec))
                    .await
                    .unwrap_or_default()
            }
            None => Vec::new(),
        }
    }

    async fn desired_capacity(&self, target: &str) -> Result<Option<u32>, PlatformError> {
        if let Some(fleet) = self.fleets.iter().find(|f| f.target == target) {
            return Ok(Some(fleet.replicas));
        }
        if self.knows(target) {
            return Ok(None);
        }
        Err(PlatformError::Failed(format!(
            "no local target named {target:?}"
        )))
    }

    async fn kill(&self, victim: &Instance, action: &Action) -> Result<KillReceipt, PlatformError> {
        let signal = match action {
            Action::Kill { signal } => signal.number(),
            Action::Crash {} => libc::SIGKILL,
            Action::Stop { .. } => libc::SIGTERM,
            Action::Remove {}
            | Action::Pause { .. }
            | Action::Drain { .. }
            | Action::Command(_) => {
                return Err(PlatformError::Unsupported {
                    platform: "local",
                    action: action.describe(),
                })
            }
        };
        let refuse = |why: String| {
            PlatformError::Failed(format!("refusing to signal PID {}: {why}", victim.id))
        };
        let pid: u32 = victim
            .id
            .parse()
            .map_err(|_| refuse("not a PID".to_string()))?;
        // Held while signalling: a managed child is only reaped and forgotten under this lock,
        // so its PID cannot be handed to another process in between.
        let registry = self.shared.registry();
        let tracked = registry
            .by_pid
            .get(&pid)
            .filter(|t| t.instance.target == victim.target)
            .ok_or_else(|| refuse(format!("it is not an instance of target {}", victim.target)))?;
        if let Some(spec) = self.attached.iter().find(|a| a.target == victim.target) {
            if let Some(why) = spec.refusal(&tracked.instance) {
                return Err(refuse(why));
            }
        }
        let (origin, started_at) = (tracked.origin, tracked.instance.started_at);
        if !attach::still_same(pid, origin) {
            return Err(refuse(
                "the process that was selected has ended".to_string(),
            ));
        }
        let at = now_micros();
        send_signal(pid, signal)?;
        drop(registry);
        let mut detail = format!("{} to PID {pid}", describe_signal(signal));
        if let Action::Stop { grace } = action {
            detail.push_str(&format!(", SIGKILL after {grace} if still running"));
            let shared = Arc::clone(&self.shared);
            let grace = grace.get();
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                let registry = shared.registry();
                // Same PID, origin and start time: the very process that got SIGTERM.
                let alive = registry
                    .by_pid
                    .get(&pid)
                    .is_some_and(|t| t.origin == origin && t.instance.started_at == started_at);
                if alive && attach::still_same(pid, origin) {
                    if let Err(e) = send_signal(pid, libc::SIGKILL) {
                        tracing::warn!("stop grace over: {e}");
                    }
                }
            });
        }
        Ok(KillReceipt { at, detail })
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        let fleet_tasks = std::mem::take(&mut *lock(&self.fleet_tasks));
        managed::stop_all(&self.shared, fleet_tasks, SHUTDOWN_GRACE).await;
        let poll_tasks = std::mem::take(&mut *lock(&self.poll_tasks));
        for task in poll_tasks {
            // They end on the stop token; an unfinished scan is not worth waiting for.
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!("a /proc poller did not stop in time");
            }
        }
        Ok(())
    }

    async fn evidence(&self, instance: &str) -> Evidence {
        self.shared.captures.get(instance).await
    }
}

impl Drop for LocalPlatform {
    fn drop(&mut self) {
        // Without a shutdown, dropping the slot tasks drops their children, and kill_on_drop
        // kills them: nothing spawned outlives the platform.
        self.shared.stop.cancel();
        for task in lock(&self.fleet_tasks).iter() {
            task.abort();
        }
        for task in lock(&self.poll_tasks).iter() {
            task.abort();
        }
    }
}
