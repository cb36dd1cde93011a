//! The `swarm` platform: the running tasks of Docker Swarm services, selected by service name
//! or service labels, or Swarm nodes themselves (node targets, below). A task is killed by
//! acting on its container through the engine of the node it runs on (the manager's own
//! engine for the manager's node, `platform.nodes` for the others); the orchestrator's
//! replacement is paired with its victim by slot (`<service>.<n>` for replicated services,
//! `<service>@<node>` for global ones).
//!
//! Which clock each mark of a task kill comes from (a node kill's are in [`node_recovery`]):
//! - `kill`, `down`, `running`, `healthy`: the `timeNano` of the container events (`kill`,
//!   `die`, `start`, `health_status`) from the engine of the task's node;
//! - `replaced`: the manager's `CreatedAt` of the new task (manager clock);
//! - for tasks on nodes firedrill has no engine for, `down` and `running` come from the
//!   manager's task status timestamps, and `healthy` equals `running` (the manager does not
//!   know container health);
//! - `restored`: derived by the engine from the marks above.
//!
//! - [`manager`]: the manager's service, task and node calls, each with a deadline;
//! - [`model`]: services, tasks, nodes, slots and desired counts;
//! - [`nearby`]: what is near a selector that matches no running task;
//! - [`nodes`]: the engine of each node;
//! - [`select`]: which services a target covers, and which tasks may be touched;
//! - [`evidence`]: what a task is (service spec version, and its container), for drift;
//! - [`watch`]: every engine's container events, the manager's node events and task list;
//! - [`node_events`]: one engine's event subscription, its replay and reconnect;
//! - [`outages`]: which of the watcher's sources are down;
//! - [`action`]: kill, crash, stop, remove, pause on a task's container.
//!
//! Node targets (a target of Swarm nodes whose capacity is the tasks of the services it
//! watches):
//! - [`node_targets`]: the nodes a target selects, and a node kill checked and carried out;
//! - [`node_action`]: `drain` and `command`, and the undo that always follows;
//! - [`node_recovery`]: where a node kill is timed, and which clock each of its marks uses;
//! - [`node_states`]: what the watcher hands to the node kills it follows.

pub mod evidence;
pub mod manager;
pub mod model;
pub mod nearby;
pub mod node_action;
pub mod node_events;
pub mod node_recovery;
pub mod node_states;
pub mod node_targets;
pub mod nodes;
pub mod outages;
pub mod select;
pub mod watch;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::manager::Manager;
use self::model::{desired_tasks, service_facts, slot_of, Service, Task};
use self::nodes::Engines;
pub use self::select::TargetSpec;
pub use super::docker::action::short_id;
use super::docker::action::{carry_out, unpause_all, ActionBook, Victim};
use super::facts::ServiceFacts;
use super::{
    EventsHealth, EventsLost, Evidence, Instance, KillReceipt, Platform, PlatformError,
    PlatformEvent, PlatformFacts,
};
use crate::scenario::{Action, PlatformConfig, Scenario};

/// State shared by the platform, its watcher and its pause timers.
pub struct Shared {
    /// The manager's Swarm calls.
    pub api: Manager,
    /// Every node's engine firedrill can reach.
    pub engines: Engines,
    /// The scenario's targets.
    pub targets: Vec<TargetSpec>,
    /// Which daemon `kill` events are firedrill's own, and what it paused (on which engine).
    pub book: Arc<ActionBook>,
    /// Health of each task as the watcher last saw it.
    health: Mutex<HashMap<String, bool>>,
    /// Where every task seen during the run ran: task id → (service, node hostname, slot).
    placement: Mutex<BTreeMap<String, (String, String, String)>>,
    /// Whether every node's event stream and the manager's task list are live; decisions
    /// wait while one is not.
    pub events_health: EventsHealth,
    /// The node kills being followed.
    pub node_kills: Mutex<node_recovery::NodeKills>,
    /// What brings each node taken down back, until it has run.
    pub undos: node_action::Undos,
}

/// Locks a mutex; a panic elsewhere leaves plain data that is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Every service some target covers, with the target that owns it (the first that covers
    /// it, as the scenario lists them).
    pub async fn covered_services(&self) -> Result<Vec<(String, Service)>, String> {
        let services = self.api.services().await?;
        Ok(services
            .into_iter()
            .filter_map(|s| {
                let t = self.targets.iter().find(|t| t.covers(&s))?;
                Some((t.name.clone(), s))
            })
            .collect())
    }

    /// Every task (any state the manager still keeps) of these services.
    pub async fn tasks_of(&self, services: &[(String, Service)]) -> Result<Vec<Task>, String> {
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = services.iter().map(|(_, s)| s.id.as_str()).collect();
        self.api.tasks_of(&ids).await
    }

    /// The services `target` covers, and every task of theirs the manager still keeps.
    pub async fn services_and_tasks(
        &self,
        target: &str,
    ) -> Result<(Vec<(String, Service)>, Vec<Task>), PlatformError> {
        let services: Vec<(String, Service)> = self
            .covered_services()
            .await
            .map_err(PlatformError::Failed)?
            .into_iter()
            .filter(|(t, _)| t == target)
            .collect();
        let tasks = self
            .tasks_of(&services)
            .await
            .map_err(PlatformError::Failed)?;
        Ok((services, tasks))
    }

    /// Records a task's health as last seen.
    pub fn set_health(&self, task: &str, healthy: bool) {
        lock(&self.health).insert(task.to_string(), healthy);
    }

    /// A task's health as last seen, if known.
    pub fn health(&self, task: &str) -> Option<bool> {
        lock(&self.health).get(task).copied()
    }

    /// The hostname of the node a task was last seen on.
    pub fn node_of(&self, task: &str) -> Option<String> {
        lock(&self.placement)
            .get(task)
            .map(|(_, node, _)| node.clone())
    }

    /// Notes where a task runs, for the per-service and per-node breakdowns.
    pub fn place(&self, task: &str, service: &str, node: &str, slot: &str) {
        lock(&self.placement).insert(
            task.to_string(),
            (service.to_string(), node.to_string(), slot.to_string()),
        );
    }
}

/// Docker Swarm services through a manager, and their tasks' containers through each node's
/// engine.
pub struct SwarmPlatform {
    shared: Arc<Shared>,
    watcher_stop: Mutex<Option<CancellationToken>>,
    /// The services' facts as last read, for when the manager does not answer at the end.
    last_services: Mutex<BTreeMap<String, ServiceFacts>>,
}

impl SwarmPlatform {
    /// Connects to the manager (the scenario's `host`, `DOCKER_HOST`, or the local socket),
    /// checks that it is a Swarm manager, and connects to every node endpoint the scenario
    /// lists.
    pub async fn connect(scenario: &Scenario) -> Result<SwarmPlatform, PlatformError> {
        let PlatformConfig::Swarm { host, nodes } = &scenario.platform else {
            return Err(PlatformError::Failed(format!(
                "the swarm platform cannot run a {} scenario",
                scenario.platform.kind()
            )));
        };
        let targets = scenario
            .targets
            .iter()
            .map(TargetSpec::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let engines = Engines::connect(host.as_deref(), nodes).await?;
        Ok(SwarmPlatform {
            shared: Arc::new(Shared {
                api: engines.manager_api.clone(),
                engines,
                targets,
                book: Arc::new(ActionBook::default()),
                health: Mutex::new(HashMap::new()),
                placement: Mutex::new(BTreeMap::new()),
                events_health: EventsHealth::default(),
                node_kills: Mutex::new(node_recovery::NodeKills::default()),
                undos: node_action::Undos::default(),
            }),
            watcher_stop: Mutex::new(None),
            last_services: Mutex::new(BTreeMap::new()),
        })
    }

    fn spec(&self, target: &str) -> Result<&TargetSpec, PlatformError> {
        self.shared
            .targets
            .iter()
            .find(|t| t.name == target)
            .ok_or_else(|| PlatformError::Failed(format!("no target named {target}")))
    }

    /// The running tasks of the services `spec` covers (for a node target, those it watches),
    /// as instances, each healthy as last seen or as its container says now.
    async fn tasks(&self, spec: &TargetSpec) -> Result<Vec<Instance>, PlatformError> {
        let (services, tasks) = self.shared.services_and_tasks(&spec.name).await?;
        let mut out = Vec::new();
        for task in &tasks {
            let Some((_, service)) = services.iter().find(|(_, s)| s.id == task.service_id) else {
                continue;
            };
            let healthy = match self.shared.health(&task.id) {
                Some(h) => h,
                None => watch::inspect_health(&self.shared, task, spec.running_is_healthy)
                    .await
                    .unwrap_or(false),
            };
            out.extend(instance_of(
                &self.shared,
                &spec.name,
                service,
                task,
                healthy,
            ));
        }
        out.sort_by(|a, b| a.slot.cmp(&b.slot).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Carries out `action` on a task's container, through the engine of the task's node.
    async fn kill_task(
        &self,
        spec: &TargetSpec,
        victim: &Instance,
        action: &Action,
    ) -> Result<KillReceipt, PlatformError> {
        // Defence in depth: whatever the engine decided, check the task as it is now.
        let task = self
            .shared
            .api
            .task(&victim.id)
            .await
            .map_err(PlatformError::Failed)?;
        let services = self
            .shared
            .covered_services()
            .await
            .map_err(PlatformError::Failed)?;
        let Some((_, service)) = services
            .iter()
            .find(|(t, s)| *t == spec.name && s.id == task.service_id)
        else {
            return Err(PlatformError::Failed(format!(
                "refusing to {} task {}: its service is not covered by target {}",
                action.describe(),
                victim.name,
                spec.name
            )));
        };
        let labels = task.labels_within(service);
        if let Some(why) = spec.refusal(&labels) {
            return Err(PlatformError::Failed(format!(
                "refusing to {} task {}: {why}",
                action.describe(),
                victim.name
            )));
        }
        if task.state() != "running" {
            return Err(PlatformError::Failed(format!(
                "task {} is {}, not running; nothing to {}",
                victim.name,
                task.state(),
                action.describe()
            )));
        }
        let node = task.node_id.clone().unwrap_or_default();
        let engine = self.shared.engines.engine_for(&node)?;
        let container = task.container().ok_or_else(|| {
            PlatformError::Failed(format!("task {} has no container yet", victim.name))
        })?;
        let target = Victim {
            docker: &engine.docker,
            id: container,
            label: format!("task {} (container {})", victim.name, short_id(container)),
            pid: None,
            endpoint: engine.endpoint.to_string(),
        };
        carry_out(&self.shared.book, &target, action).await
    }
}

/// The instance a running task is, or `None` when it is not running.
fn instance_of(
    shared: &Shared,
    target: &str,
    service: &Service,
    task: &Task,
    healthy: bool,
) -> Option<Instance> {
    if task.state() != "running" || task.desired_state.as_deref() != Some("running") {
        return None;
    }
    let node = task
        .node_id
        .as_deref()
        .map(|n| shared.engines.hostname(n))
        .unwrap_or_default();
    let slot = slot_of(&service.spec.name, task.slot, Some(&node));
    let labels = task.labels_within(service);
    shared.place(&task.id, &service.spec.name, &node, &slot);
    Some(Instance {
        id: task.id.clone(),
        target: target.to_string(),
        name: format!("{slot}.{}", short_id(&task.id)),
        slot,
        started_at: task.state_since(),
        healthy,
        labels,
        holds: None,
    })
}

#[async_trait]
impl Platform for SwarmPlatform {
    fn kind(&self) -> &'static str {
        "swarm"
    }

    async fn start(
        &self,
        events: mpsc::UnboundedSender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> Result<(), PlatformError> {
        let stop = cancel.child_token();
        let mut watcher = watch::Watcher::new(self.shared.clone(), events, stop.clone());
        watcher.prime().await.map_err(PlatformError::Failed)?;
        *lock(&self.watcher_stop) = Some(stop);
        tokio::spawn(watcher.run());
        Ok(())
    }

    async fn nearby(&self, target: &str) -> Vec<String> {
        match self.spec(target) {
            Ok(spec) if spec.nodes.is_some() => node_targets::nearby_nodes(&self.shared).await,
            Ok(spec) => nearby::nearby(&self.shared, spec).await,
            Err(e) => vec![e.to_string()],
        }
    }

    async fn instances(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        let spec = self.spec(target)?;
        if spec.nodes.is_none() {
            return self.tasks(spec).await;
        }
        let members = self.tasks(spec).await?;
        node_targets::nodes_of(&self.shared, spec, &members).await
    }

    async fn capacity_members(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        self.tasks(self.spec(target)?).await
    }

    async fn desired_capacity(&self, target: &str) -> Result<Option<u32>, PlatformError> {
        let spec = self.spec(target)?;
        let (services, tasks) = self.shared.services_and_tasks(&spec.name).await?;
        Ok(Some(
            services.iter().map(|(_, s)| desired_tasks(s, &tasks)).sum(),
        ))
    }

    async fn kill(&self, victim: &Instance, action: &Action) -> Result<KillReceipt, PlatformError> {
        let spec = self.spec(&victim.target)?;
        if spec.nodes.is_some() {
            return node_targets::take_down(&self.shared, spec, victim, action).await;
        }
        self.kill_task(spec, victim, action).await
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        // Unpause and bring nodes back first: it is what must happen even if the rest fails.
        let unpaused = unpause_all(&self.shared.book).await;
        let undone = node_action::undo_all(&self.shared).await;
        if let Some(stop) = lock(&self.watcher_stop).take() {
            stop.cancel();
        }
        unpaused.and(undone)
    }

    async fn undo(&self) -> Result<(), PlatformError> {
        let unpaused = unpause_all(&self.shared.book).await;
        unpaused.and(node_action::undo_all(&self.shared).await)
    }

    fn events_lost(&self) -> Option<EventsLost> {
        self.shared.events_health.current()
    }

    async fn evidence(&self, instance: &str) -> Evidence {
        evidence::capture(&self.shared, instance).await
    }

    async fn facts(&self) -> Option<PlatformFacts> {
        if let Ok(covered) = self.shared.covered_services().await {
            let tasks = self.shared.tasks_of(&covered).await.unwrap_or_default();
            let mut last = lock(&self.last_services);
            for (target, s) in &covered {
                let facts = service_facts(s, desired_tasks(s, &tasks), target);
                last.insert(s.spec.name.clone(), facts);
            }
        }
        let mut placement: BTreeMap<String, BTreeMap<String, String>> =
            lock(&self.shared.placement)
                .iter()
                .map(|(task, (service, node, slot))| {
                    let place = [("service", service), ("node", node), ("slot", slot)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect();
                    (task.clone(), place)
                })
                .collect();
        let nodes = self.shared.engines.facts();
        let node_targets = node_states::any_node_target(&self.shared);
        if node_targets {
            // A node kill's victim is the node: its kills group by node like a task's.
            for (id, node) in &nodes {
                placement.insert(
                    id.clone(),
                    BTreeMap::from([("node".to_string(), node.hostname.clone())]),
                );
            }
        }
        let clocks: &[(&str, &str)] = if node_targets {
            &NODE_CLOCKS
        } else {
            &TASK_CLOCKS
        };
        Some(PlatformFacts {
            manager: Some(self.shared.engines.manager_endpoint.to_string()),
            services: Some(lock(&self.last_services).clone()),
            nodes: Some(nodes),
            placement,
            note: Some(
                if node_targets {
                    "A node kill's marks stand for the watched tasks it held: replaced, \
                     running and healthy are when the last of their replacements got there, \
                     and restored when the watched services were whole again. The node's own \
                     return is the separate node back mark."
                } else {
                    "Swarm creates a replacement task as soon as the old one fails and starts \
                     its container only after the service's restart delay, so the delay shows \
                     in the boot span (replaced → running), not in reschedule \
                     (down → replaced)."
                }
                .to_string(),
            ),
            clocks: clocks
                .iter()
                .map(|(mark, source)| (mark.to_string(), source.to_string()))
                .collect(),
            other: serde_json::Map::new(),
        })
    }
}

/// Which clock each mark of a task kill comes from.
const TASK_CLOCKS: [(&str, &str); 6] = [
            ("kill", "engine of the task's node: container kill event timeNano"),
            ("down", "engine of the task's node: container die event timeNano (manager task status timestamp for nodes without an engine)"),
            ("replaced", "manager: the new task's CreatedAt"),
            ("running", "engine of the task's node: container start event timeNano (manager task status timestamp for nodes without an engine)"),
            ("healthy", "engine of the task's node: health_status event timeNano (= running for nodes without an engine)"),
            ("restored", "derived: the healthy mark that brought the target back to its desired tasks"),
];

/// Which clock each mark of a node kill comes from.
const NODE_CLOCKS: [(&str, &str); 7] = [
    ("kill", "firedrill when the command ran; for a drain, the manager's node event (availability drain) timeNano"),
    ("down", "manager: node event timeNano (availability drain, or state down)"),
    ("replaced", "manager: the latest CreatedAt of the replacement tasks"),
    ("running", "engines of the replacements' nodes: the latest container start event timeNano"),
    ("healthy", "engines of the replacements' nodes: the latest health_status event timeNano"),
    ("restored", "derived: the healthy mark that brought the watched services back to their desired tasks"),
    ("back", "manager: node event timeNano that made the node ready and active again"),
];
