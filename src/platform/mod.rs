//! Where instances live. One trait, [`Platform`], and one module per implementation. The engine
//! only ever talks to this trait: it lists instances, kills one, consumes the lifecycle events
//! the platform streams, each stamped with the platform's own clock, and asks what an instance
//! is ([`evidence`]), to tell a rebuilt replacement from a drifted one.

pub mod docker;
pub mod evidence;
pub mod facts;
pub mod health;
pub mod local;
pub mod swarm;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use self::evidence::{ChangeKind, ConfigFingerprint, Evidence, FsChanges};
pub use self::facts::PlatformFacts;
use crate::scenario::{Action, PlatformConfig, Scenario};

// Every platform stamps its events in the shared time vocabulary.
pub use crate::vocabulary::time::{now_micros, Micros};

/// One killable instance: a process, a container, or a Swarm task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Stable id on the platform: a PID, a container id, a task id.
    pub id: String,
    /// Name of the scenario target this instance belongs to.
    pub target: String,
    /// The position a replacement takes over: a managed slot, a Swarm task slot, a restarted
    /// container's own id. Victims are picked in slot order, so seeded runs replay.
    pub slot: String,
    /// Human-readable name (container name, process name with port).
    pub name: String,
    /// When the instance started, if the platform knows.
    pub started_at: Option<Micros>,
    /// Whether it passes its health check now.
    pub healthy: bool,
    /// Labels (docker) or opt-in environment (attach mode), used by the opt-in and exempt rules.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// For a Swarm node: how many healthy tasks of the services its target watches run on it.
    /// Taking the node down takes them all at once, so the `min_healthy` guard counts them
    /// rather than one instance. `None` for every other kind of instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds: Option<u32>,
}

/// What happened to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The platform saw the kill action land (docker `kill`/`stop` events).
    Killed,
    /// The instance's process ended.
    Died,
    /// A new instance was created in `slot`.
    Created,
    /// The instance's process started (a restarted instance keeps its id).
    Started,
    /// The instance passed its health check.
    Healthy,
    /// The instance failed its health check.
    Unhealthy,
    /// The instance was removed and will not come back under this id.
    Removed,
    /// A node taken down by a node action is ready and active again: the "node back" mark,
    /// kept apart from the recovery's phases, which end when the watched services are whole.
    Back,
}

/// One lifecycle event, stamped by the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformEvent {
    /// When it happened, on the platform's clock.
    pub at: Micros,
    /// What happened.
    pub kind: EventKind,
    /// The instance it happened to.
    pub instance: String,
    /// The instance's target.
    pub target: String,
    /// The instance's slot.
    pub slot: String,
    /// True when the time is not the platform's own record of the moment (for example after
    /// an event stream was lost and state was resynced by listing).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
    /// Free-form detail for the journal (exit code, health output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Set on the marks of a node kill as a whole (instance = the node): its tasks that were
    /// lost, or where their replacements went. Such an event stands for many tasks and is no
    /// instance's own change, so it never counts toward capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_kill: Option<NodeKillMark>,
}

/// What a mark of a node kill concerns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeKillMark {
    /// On `down`: the watched tasks that ran on the node. On `replaced`: their replacements,
    /// each with the node it went to. Empty on the other marks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskPlace>,
}

/// One task of a node kill, and where it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPlace {
    /// Its service.
    pub service: String,
    /// Its slot (`web.3`), which a replacement takes over.
    pub slot: String,
    /// The task id.
    pub task: String,
    /// The hostname of the node it ran on.
    pub node: String,
}

/// What a kill call did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillReceipt {
    /// When the action was issued, on the platform's clock as best known. A later `Killed`
    /// event from the platform replaces it.
    pub at: Micros,
    /// What was done, for the journal (signal sent, PID).
    pub detail: String,
}

/// The platform's event stream is down, or back but still resyncing: firedrill cannot know the
/// fleet's state, so no decision goes ahead until it is live again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsLost {
    /// When the stream was lost, on firedrill's clock.
    pub since: Micros,
    /// Why, as the platform saw it.
    pub reason: String,
}

/// A cell a platform's event watcher writes and the run reads: `None` while the stream is
/// live, `Some` from the moment it is lost until the resync after it has finished.
#[derive(Debug, Clone, Default)]
pub struct EventsHealth(std::sync::Arc<std::sync::Mutex<Option<EventsLost>>>);

impl EventsHealth {
    /// Notes the stream lost at `since`, unless it already was (the first loss is kept).
    pub fn lost(&self, since: Micros, reason: impl Into<String>) {
        let mut cell = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cell.is_none() {
            *cell = Some(EventsLost {
                since,
                reason: reason.into(),
            });
        }
    }

    /// Notes the stream live again, its resync done.
    pub fn live(&self) {
        self.set(None);
    }

    /// Replaces the state in one step, so a reader never sees the stream live while a watcher
    /// moves an outage from one of its sources to another.
    pub fn set(&self, state: Option<EventsLost>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// The outage now, if any.
    pub fn current(&self) -> Option<EventsLost> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Errors from a platform.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The platform could not be reached at all (exit code 3).
    #[error("cannot reach {endpoint}: {reason}")]
    Unreachable {
        /// What was tried, e.g. `unix:///var/run/docker.sock`.
        endpoint: String,
        /// Why it failed.
        reason: String,
    },
    /// The action is not supported by this platform.
    #[error("the {platform} platform does not support {action}")]
    Unsupported {
        /// Platform name.
        platform: &'static str,
        /// What was asked.
        action: String,
    },
    /// A target's selector matches no instance: there is nothing to test, so the run stops
    /// before anything is touched (exit code 2: the scenario names nothing on this platform).
    #[error("target {target}: select {selector} matches no instance on {platform}; nothing was touched{}", nearby_lines(nearby))]
    NoMatch {
        /// The target's name.
        target: String,
        /// The selector as the scenario wrote it.
        selector: String,
        /// The platform's name.
        platform: &'static str,
        /// What the platform has near the selector ([`Platform::nearby`]), one line each.
        nearby: Vec<String>,
    },
    /// Anything else the platform reported.
    #[error("{0}")]
    Failed(String),
}

/// The lines under a [`PlatformError::NoMatch`], each on its own indented line.
fn nearby_lines(nearby: &[String]) -> String {
    nearby.iter().map(|l| format!("\n  {l}")).collect()
}

/// A place where instances run and are replaced.
#[async_trait]
pub trait Platform: Send + Sync {
    /// The platform's name, as in the scenario file.
    fn kind(&self) -> &'static str;

    /// Prepares the platform (connects, spawns a managed fleet and waits for it to be healthy)
    /// and starts streaming events into `events` until `cancel` fires.
    async fn start(
        &self,
        events: mpsc::UnboundedSender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> Result<(), PlatformError>;

    /// The instances of `target` that exist now, eligible or not, ordered by slot.
    async fn instances(&self, target: &str) -> Result<Vec<Instance>, PlatformError>;

    /// The instances of `target` a run would start from, without changing anything: for a
    /// managed fleet, the instances firedrill would spawn. `--dry-run` and `targets` use it.
    async fn preview(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        self.instances(target).await
    }

    /// The instances whose health is `target`'s capacity. For most targets these are its own
    /// instances; a node target's capacity is the healthy tasks of the services it watches.
    async fn capacity_members(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        self.instances(target).await
    }

    /// Whether a run spawns `target`'s instances itself when it starts (a managed fleet), so
    /// that [`Platform::preview`] shows slots that have not started yet.
    fn spawns(&self, _target: &str) -> bool {
        false
    }

    /// The desired healthy count of `target` when the platform knows it (managed replicas,
    /// Swarm replicas). The scenario's `capacity` overrides it.
    async fn desired_capacity(&self, target: &str) -> Result<Option<u32>, PlatformError>;

    /// Carries out `action` on `victim`.
    async fn kill(&self, victim: &Instance, action: &Action) -> Result<KillReceipt, PlatformError>;

    /// Undoes anything left half-done (unpauses), and stops what firedrill itself spawned.
    async fn shutdown(&self) -> Result<(), PlatformError>;

    /// Undoes at once what a kill left half-done (unpauses paused instances), without stopping
    /// anything; an interrupted run calls it before it waits for recoveries.
    async fn undo(&self) -> Result<(), PlatformError> {
        Ok(())
    }

    /// Whether the event stream is lost or resyncing now. Platforms whose events cannot be lost
    /// (the local one makes its own) keep the default.
    fn events_lost(&self) -> Option<EventsLost> {
        None
    }

    /// What `instance` is now, for drift evidence. Never fails: what cannot be captured is
    /// listed in `unknown`.
    async fn evidence(&self, instance: &str) -> Evidence {
        Evidence {
            instance: instance.to_string(),
            unknown: vec![format!(
                "the {} platform captures no drift evidence",
                self.kind()
            )],
            ..Evidence::default()
        }
    }

    /// What exists near `target`'s selector, for the error when it matches no instance: a
    /// few short lines naming the instances or services it almost matched, or what there is.
    /// Lists only; never fails (a listing that fails says so in its line).
    async fn nearby(&self, _target: &str) -> Vec<String> {
        Vec::new()
    }

    /// Facts about the platform a report reader needs (a Swarm service's restart policy and
    /// update config, its nodes, where each task ran, which clock each mark comes from);
    /// `None` when there are none. Journalled at the start and the end of a run; the report
    /// keeps the last.
    async fn facts(&self) -> Option<PlatformFacts> {
        None
    }
}

/// Builds the platform a scenario names. `seed` feeds any randomness the platform itself
/// needs (a managed fleet's replace delay) from a stream separate from the scheduler's.
pub async fn connect(scenario: &Scenario, seed: u64) -> Result<Box<dyn Platform>, PlatformError> {
    match &scenario.platform {
        PlatformConfig::Local {} => Ok(Box::new(local::LocalPlatform::new(scenario, seed)?)),
        PlatformConfig::Docker { .. } => {
            Ok(Box::new(docker::DockerPlatform::connect(scenario).await?))
        }
        PlatformConfig::Swarm { .. } => {
            Ok(Box::new(swarm::SwarmPlatform::connect(scenario).await?))
        }
    }
}
