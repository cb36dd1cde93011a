//! The swarm event watcher: one container-event subscription per node engine (narrowed to
//! Swarm task containers, reconnecting with `since` = the last event seen), the manager's node
//! events (node kills' marks, and the tasks of a node marked down), plus a poll of the
//! manager's task list. All feed one loop that keeps a book of tasks, so a task's
//! `Created` (stamped with the manager's `CreatedAt`) always goes out before any event of its
//! container, and nothing is reported twice. While a node's stream or the manager's task
//! list is down the platform reports its events lost, so no decision is made blind.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::InspectContainerOptions;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::model::{is_terminal, slot_of, Task};
use super::node_events::{
    daemon_now_nanos, subscribe, swarm_nodes, task_containers, Feed, SERVICE_LABEL,
};
use super::node_states::{on_node_event, on_task_event, state_change, NODE_EVENTS};
use super::outages::Outages;
use super::Shared;
use crate::platform::docker::fleet::Observed;
use crate::platform::{now_micros, EventKind, Micros, PlatformEvent};

/// How often the manager's task list is read. It only decides when a change is *noticed*;
/// the times reported are the manager's own timestamps.
const POLL: Duration = Duration::from_millis(500);

/// The label Swarm puts on every task container.
const TASK_LABEL: &str = "com.docker.swarm.task.id";

/// The manager's task list, as a source whose loss [`Outages`] tracks.
const MANAGER: &str = "the manager's task list";

/// What the watcher knows about one task.
#[derive(Debug, Clone)]
struct Book {
    target: String,
    slot: String,
    node: String,
    running: bool,
    healthy: bool,
    /// Whether the container has a HEALTHCHECK; `None` until it was inspected.
    has_healthcheck: Option<bool>,
}

/// Keeps the book of tasks and reports their changes.
pub struct Watcher {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<PlatformEvent>,
    cancel: CancellationToken,
    book: HashMap<String, Book>,
    /// Service id → (target, service name) of covered services.
    services: HashMap<String, (String, String)>,
    /// Node id → the engine's clock (ns) when the watcher primed.
    since: HashMap<String, i64>,
    /// Sources down now.
    outages: Outages,
}

impl Watcher {
    /// A watcher reporting into `tx` until `cancel` fires.
    pub fn new(
        shared: Arc<Shared>,
        tx: mpsc::UnboundedSender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> Watcher {
        Watcher {
            shared,
            tx,
            cancel,
            book: HashMap::new(),
            services: HashMap::new(),
            since: HashMap::new(),
            outages: Outages::default(),
        }
    }

    /// Notes each engine's clock, then fills the book from the manager without reporting
    /// anything (the engine lists instances itself at start).
    pub async fn prime(&mut self) -> Result<(), String> {
        for (node, engine) in self.shared.engines.all() {
            self.since.insert(node, daemon_now_nanos(&engine).await);
        }
        let covered = self.shared.covered_services().await?;
        let tasks = self.shared.tasks_of(&covered).await?;
        self.services = covered
            .iter()
            .map(|(t, s)| (s.id.clone(), (t.clone(), s.spec.name.clone())))
            .collect();
        for task in &tasks {
            let Some(mut book) = self.new_book(task) else {
                continue;
            };
            book.running = task.state() == "running";
            if book.running {
                book.healthy = inspect_health(&self.shared, task, self.running_is_healthy(&book))
                    .await
                    .unwrap_or(false);
                self.shared.set_health(&task.id, book.healthy);
            }
            self.book.insert(task.id.clone(), book);
        }
        Ok(())
    }

    /// Runs until cancelled.
    pub async fn run(mut self) {
        let (etx, mut erx) = mpsc::unbounded_channel();
        for (node, engine) in self.shared.engines.all() {
            let since = self.since.get(&node).copied().unwrap_or(0);
            tokio::spawn(subscribe(
                node,
                engine,
                task_containers(),
                since,
                etx.clone(),
                self.cancel.clone(),
            ));
        }
        let manager = &self.shared.engines.manager_node;
        let since = self.since.get(manager).copied().unwrap_or(0);
        tokio::spawn(subscribe(
            NODE_EVENTS.to_string(),
            self.shared.engines.manager_engine(),
            swarm_nodes(),
            since,
            etx.clone(),
            self.cancel.clone(),
        ));
        drop(etx);
        let mut poll = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                Some((node, feed)) = erx.recv() => match feed {
                    Feed::Event(msg) if node == NODE_EVENTS => {
                        self.node_down(&msg);
                        for mark in on_node_event(&self.shared, &msg) {
                            self.send(mark);
                        }
                    }
                    Feed::Event(msg) => self.on_container_event(&node, msg).await,
                    Feed::Lost(why) if node == NODE_EVENTS => {
                        self.source_lost(&node, format!("{NODE_EVENTS} were lost: {why}"));
                    }
                    Feed::Lost(why) => {
                        let host = self.shared.engines.hostname(&node);
                        self.source_lost(
                            &node,
                            format!("the event stream of node {host} was lost: {why}"),
                        );
                    }
                    Feed::Back => self.source_back(&node),
                },
                _ = poll.tick() => match self.poll().await {
                    Ok(()) => self.source_back(MANAGER),
                    Err(why) => {
                        tracing::warn!("reading the manager's task list failed: {why}");
                        self.source_lost(MANAGER, format!("reading {MANAGER} failed: {why}"));
                    }
                }
            }
        }
    }

    /// The tasks of a node the manager marks down are lost in its view at that moment, and it
    /// schedules their replacements; each gets its `Died` then, so the capacity counts what
    /// the services really have. Cut off, the node's engine stream stays open and silent, so
    /// nothing else would say so; the containers' own deaths, replayed when the node returns,
    /// change nothing.
    fn node_down(&mut self, msg: &bollard::models::EventMessage) {
        let Some((node, state)) = state_change(msg) else {
            return;
        };
        let Some(nano) = msg.time_nano.or(msg.time.map(|s| s * 1_000_000_000)) else {
            return;
        };
        if state != "down" {
            return;
        }
        let lost: Vec<String> = self
            .book
            .iter()
            .filter(|(_, b)| b.node == node && b.running)
            .map(|(task, _)| task.clone())
            .collect();
        for task in lost {
            self.update(&task, |b| {
                b.running = false;
                b.healthy = false;
            });
            self.emit(
                &task,
                nano / 1_000,
                EventKind::Died,
                false,
                "node down (manager)",
            );
        }
    }

    fn source_lost(&mut self, source: &str, reason: String) {
        self.outages
            .lost(&self.shared.events_health, source, now_micros(), reason);
    }

    fn source_back(&mut self, source: &str) {
        self.outages.back(&self.shared.events_health, source);
    }

    fn running_is_healthy(&self, book: &Book) -> bool {
        self.shared
            .targets
            .iter()
            .find(|t| t.name == book.target)
            .is_some_and(|t| t.running_is_healthy)
    }

    /// A book entry for a task of a covered service, not yet running.
    fn new_book(&self, task: &Task) -> Option<Book> {
        let (target, service) = self.services.get(&task.service_id)?;
        let node = task.node_id.clone().unwrap_or_default();
        let host = self.shared.engines.hostname(&node);
        let slot = slot_of(service, task.slot, Some(&host));
        self.shared.place(&task.id, service, &host, &slot);
        Some(Book {
            target: target.clone(),
            slot,
            node,
            running: false,
            healthy: false,
            has_healthcheck: None,
        })
    }

    /// Adds a task first seen now and reports its creation at the manager's `CreatedAt`.
    fn adopt(&mut self, task: &Task) -> bool {
        if self.book.contains_key(&task.id) {
            return true;
        }
        let Some(book) = self.new_book(task) else {
            return false;
        };
        let (at, uncertain) = match task.created() {
            Some(at) => (at, false),
            None => (crate::platform::now_micros(), true),
        };
        self.book.insert(task.id.clone(), book);
        self.emit(&task.id, at, EventKind::Created, uncertain, "task created");
        true
    }

    /// Reads the manager's task list: new tasks, and state changes of tasks on nodes
    /// firedrill has no engine for (whose containers it cannot watch).
    async fn poll(&mut self) -> Result<(), String> {
        let covered = self.shared.covered_services().await?;
        for (t, s) in &covered {
            self.services
                .insert(s.id.clone(), (t.clone(), s.spec.name.clone()));
        }
        let mut tasks = self.shared.tasks_of(&covered).await?;
        // Oldest first, so slots pair in the order the manager created the tasks.
        tasks.sort_by_key(|t| t.created());
        if tasks.iter().any(|t| {
            t.node_id
                .as_deref()
                .is_some_and(|n| !n.is_empty() && !self.shared.engines.knows(n))
        }) {
            self.shared.engines.refresh().await;
        }
        for task in &tasks {
            if !self.adopt(task) {
                continue;
            }
            let Some(book) = self.book.get(&task.id).cloned() else {
                continue;
            };
            // A node with an engine reports through container events, with its own clock.
            let watched = self.shared.engines.has_engine(&book.node) && task.container().is_some();
            if watched || book.node.is_empty() {
                continue;
            }
            let at = task
                .state_since()
                .unwrap_or_else(crate::platform::now_micros);
            if task.state() == "running" && !book.running {
                self.update(&task.id, |b| {
                    b.running = true;
                    b.healthy = true;
                });
                self.emit(
                    &task.id,
                    at,
                    EventKind::Started,
                    false,
                    "task running (manager)",
                );
                self.emit(
                    &task.id,
                    at,
                    EventKind::Healthy,
                    false,
                    "task running (manager; no engine to read container health from)",
                );
            } else if is_terminal(task.state()) && book.running {
                self.update(&task.id, |b| {
                    b.running = false;
                    b.healthy = false;
                });
                let detail = format!("task {} (manager)", task.state());
                self.emit(&task.id, at, EventKind::Died, false, &detail);
            }
        }
        Ok(())
    }

    fn update(&mut self, task: &str, f: impl FnOnce(&mut Book)) {
        if let Some(b) = self.book.get_mut(task) {
            f(b);
        }
    }

    async fn on_container_event(&mut self, node: &str, msg: EventMessage) {
        let Some(actor) = msg.actor else { return };
        let Some(container) = actor.id else { return };
        let attrs = actor.attributes.unwrap_or_default();
        let (Some(task_id), Some(service_id)) = (attrs.get(TASK_LABEL), attrs.get(SERVICE_LABEL))
        else {
            return;
        };
        if !self.services.contains_key(service_id) {
            return;
        }
        let action = msg.action.unwrap_or_default();
        let Some(nano) = msg.time_nano.or(msg.time.map(|s| s * 1_000_000_000)) else {
            return;
        };
        let at: Micros = nano / 1_000;
        if !self.book.contains_key(task_id) {
            match self.shared.api.task(task_id).await {
                Ok(task) => {
                    self.adopt(&task);
                }
                Err(why) => {
                    tracing::warn!("task {task_id} of a container event is unknown: {why}");
                    return;
                }
            }
        }
        let Some(book) = self.book.get(task_id).cloned() else {
            return;
        };
        let task_id = task_id.clone();
        match action.as_str() {
            "start" | "unpause" => {
                if book.running {
                    return;
                }
                let engine = self.shared.engines.engine_for(node).ok();
                let observed = match &engine {
                    Some(e) => e
                        .docker
                        .inspect_container(&container, None::<InspectContainerOptions>)
                        .await
                        .ok()
                        .map(|c| Observed::from_inspect(&c)),
                    None => None,
                };
                let has_healthcheck = book
                    .has_healthcheck
                    .or(observed.as_ref().map(|o| o.has_healthcheck))
                    .unwrap_or(false);
                let by_running = self.running_is_healthy(&book) || !has_healthcheck;
                // A thawed container keeps its health status; no event will repeat it.
                let healthy = by_running
                    || (action == "unpause" && observed.as_ref().is_some_and(|o| o.health_ok));
                self.update(&task_id, |b| {
                    b.running = true;
                    b.healthy = healthy;
                    b.has_healthcheck = Some(has_healthcheck);
                });
                self.emit(&task_id, at, EventKind::Started, false, &action);
                if healthy {
                    let why = if by_running {
                        "healthy when running"
                    } else {
                        "unpaused healthy"
                    };
                    self.emit(&task_id, at, EventKind::Healthy, false, why);
                }
            }
            "kill" if self.shared.book.take_kill_expectation(&container) => {
                self.emit(
                    &task_id,
                    at,
                    EventKind::Killed,
                    false,
                    "kill event for firedrill's action",
                );
            }
            "die" | "pause" => {
                if action == "die" {
                    self.shared.book.take_kill_expectation(&container);
                }
                if !book.running {
                    return;
                }
                self.update(&task_id, |b| {
                    b.running = false;
                    b.healthy = false;
                });
                let detail = match attrs.get("exitCode") {
                    Some(code) if action == "die" => format!("die (exit code {code})"),
                    _ => action.clone(),
                };
                self.emit(&task_id, at, EventKind::Died, false, &detail);
            }
            "health_status: healthy" => {
                if !book.running || book.healthy || self.running_is_healthy(&book) {
                    return;
                }
                self.update(&task_id, |b| b.healthy = true);
                self.emit(&task_id, at, EventKind::Healthy, false, &action);
            }
            "health_status: unhealthy" => {
                if !book.healthy || self.running_is_healthy(&book) {
                    return;
                }
                self.update(&task_id, |b| b.healthy = false);
                self.emit(&task_id, at, EventKind::Unhealthy, false, &action);
            }
            _ => {}
        }
    }

    fn emit(&self, task: &str, at: Micros, kind: EventKind, uncertain: bool, detail: &str) {
        let Some(b) = self.book.get(task) else { return };
        match kind {
            EventKind::Healthy => self.shared.set_health(task, true),
            EventKind::Unhealthy | EventKind::Died | EventKind::Removed => {
                self.shared.set_health(task, false)
            }
            _ => {}
        }
        let host = self.shared.engines.hostname(&b.node);
        let event = PlatformEvent {
            at,
            kind,
            instance: task.to_string(),
            target: b.target.clone(),
            slot: b.slot.clone(),
            uncertain,
            detail: Some(format!("{detail} on node {host}")),
            node_kill: None,
        };
        let marks = on_task_event(&self.shared, &event, &host);
        self.send(event);
        for mark in marks {
            self.send(mark);
        }
    }

    fn send(&self, event: PlatformEvent) {
        if self.tx.send(event).is_err() {
            // The engine stopped listening; nothing left to report to.
            self.cancel.cancel();
        }
    }
}

/// Whether a task is healthy now, judged from its container on its node's engine: the
/// HEALTHCHECK status when it has one (and the target does not ask for `running`), else
/// running. A task on a node without an engine is healthy while the manager says running.
pub async fn inspect_health(
    shared: &Shared,
    task: &Task,
    running_is_healthy: bool,
) -> Option<bool> {
    if task.state() != "running" {
        return Some(false);
    }
    let node = task.node_id.as_deref()?;
    let Ok(engine) = shared.engines.engine_for(node) else {
        return Some(true);
    };
    let container = task.container()?;
    let c = engine
        .docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
        .ok()?;
    let o = Observed::from_inspect(&c);
    Some(o.running && (running_is_healthy || !o.has_healthcheck || o.health_ok))
}
