//! The `docker` platform: containers on one Docker engine, through bollard. Victims are picked
//! by selector (labels, name regex, image, Compose project+service) under the opt-in and exempt
//! labels, and never the container firedrill runs in. Every phase is timed from the daemon's
//! own event `timeNano`.
//!
//! - [`connect`]: which engine (`DOCKER_HOST`, TLS), and the ping that makes an absent engine
//!   exit 3;
//! - [`select`]: which containers a target covers and which may be touched;
//! - [`book`]: what is known of each covered container, which decisions read;
//! - [`action`]: kill, crash, stop, remove, pause (always unpaused);
//! - [`events`]: the event subscription, reconnect and resync;
//! - [`evidence`]: what a container is (image, configuration, changes in place), for drift;
//! - [`fleet`]: what an inspect says, and what changed unseen;
//! - [`nearby`]: what is near a selector that matches nothing;
//! - [`probe`]: http/tcp health probes against containers;
//! - [`tls`]: TLS that trusts exactly `ca.pem`.

pub mod action;
pub mod book;
pub mod connect;
pub mod events;
pub mod evidence;
pub mod fleet;
pub mod nearby;
pub mod probe;
pub mod select;
pub mod tls;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
use bollard::Docker;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::book::Book;
use self::connect::Endpoint;
use self::events::{health_mode, Watcher};
use self::fleet::{HealthMode, Observed};
use self::select::{listed_name, slot_of, ContainerFacts, OwnContainer, TargetSpec};
use super::{
    EventsHealth, EventsLost, Evidence, Instance, KillReceipt, Platform, PlatformError,
    PlatformEvent,
};
use crate::scenario::{Action, Scenario};

/// Containers on one Docker engine.
pub struct DockerPlatform {
    shared: Arc<Shared>,
    watcher_stop: Mutex<Option<CancellationToken>>,
}

/// State the platform, its event watcher, its probes and its pause timers share.
pub struct Shared {
    /// The engine.
    pub docker: Docker,
    /// Where it is, for messages.
    pub endpoint: Endpoint,
    /// The scenario's targets.
    pub targets: Vec<TargetSpec>,
    /// The container firedrill runs in, if any.
    pub own: OwnContainer,
    /// Which daemon `kill` events are firedrill's own, and what it paused.
    pub book: Arc<action::ActionBook>,
    /// Last probe result per container, for probe-checked targets.
    probe_health: Mutex<HashMap<String, bool>>,
    /// Slots emptied by firedrill's actions and not yet refilled: (target, slot, victim id).
    vacancies: Mutex<Vec<(String, String, String)>>,
    /// Slots given to replacements whose own name does not say which victim they replace.
    slot_overrides: Mutex<HashMap<String, String>>,
    /// Whether the watcher's event stream is live; decisions wait while it is not.
    pub events_health: EventsHealth,
    /// Every covered container as the watcher knows it.
    pub containers: Book,
    /// Set once the watcher has primed the book: from then on decisions read it.
    watching: AtomicBool,
}

/// Locks a mutex; a panic elsewhere while holding it leaves plain data that is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DockerPlatform {
    /// Connects to the engine the scenario names (or `DOCKER_HOST`, or the local socket) and
    /// checks that it answers.
    pub async fn connect(scenario: &Scenario) -> Result<DockerPlatform, PlatformError> {
        let host = match &scenario.platform {
            crate::scenario::PlatformConfig::Docker { host } => host.as_deref(),
            other => {
                return Err(PlatformError::Failed(format!(
                    "the docker platform cannot run a {} scenario",
                    other.kind()
                )))
            }
        };
        let targets = scenario
            .targets
            .iter()
            .map(TargetSpec::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let endpoint = Endpoint::resolve(host, |k| std::env::var(k).ok())?;
        let docker = endpoint.open().await?;
        Ok(DockerPlatform::from_parts(
            docker,
            endpoint,
            targets,
            OwnContainer::detect(),
        ))
    }

    /// A platform over an open client; tests use it to pose as another container.
    pub fn from_parts(
        docker: Docker,
        endpoint: Endpoint,
        targets: Vec<TargetSpec>,
        own: OwnContainer,
    ) -> DockerPlatform {
        DockerPlatform {
            shared: Arc::new(Shared {
                docker,
                endpoint,
                targets,
                own,
                book: Arc::new(action::ActionBook::default()),
                probe_health: Mutex::new(HashMap::new()),
                vacancies: Mutex::new(Vec::new()),
                slot_overrides: Mutex::new(HashMap::new()),
                events_health: EventsHealth::default(),
                containers: Book::default(),
                watching: AtomicBool::new(false),
            }),
            watcher_stop: Mutex::new(None),
        }
    }

    /// The instances of `spec` as the book knows them, ordered by slot.
    fn booked(&self, spec: &TargetSpec) -> Vec<Instance> {
        let mut out: Vec<Instance> = self
            .shared
            .containers
            .present_in(&spec.name)
            .into_iter()
            .map(|(id, k)| Instance {
                healthy: k.running
                    && match k.mode {
                        HealthMode::Probe => self.shared.probe_health(&id),
                        HealthMode::Docker | HealthMode::Running => k.healthy,
                    },
                target: spec.name.clone(),
                slot: k.slot,
                name: k.name,
                started_at: k.started_at,
                labels: k.labels.into_iter().collect::<BTreeMap<_, _>>(),
                id,
                holds: None,
            })
            .collect();
        out.sort_by(|a, b| a.slot.cmp(&b.slot).then_with(|| a.id.cmp(&b.id)));
        out
    }

    fn spec(&self, target: &str) -> Result<&TargetSpec, PlatformError> {
        self.shared
            .targets
            .iter()
            .find(|t| t.name == target)
            .ok_or_else(|| PlatformError::Failed(format!("no target named {target}")))
    }
}

impl Shared {
    /// A failed engine call, in words that name the engine.
    pub fn failed(&self, what: &str, e: impl std::fmt::Display) -> String {
        format!("{what} on the engine at {} failed: {e}", self.endpoint)
    }

    /// One container, inspected now.
    pub async fn inspect(&self, id: &str) -> Result<Observed, String> {
        let c = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.failed("inspecting a container", e))?;
        Ok(Observed::from_inspect(&c))
    }

    /// `key=value` labels that every target requires, so the daemon can filter for all
    /// targets at once.
    pub fn common_label_filters(&self) -> Vec<String> {
        let mut sets = self
            .targets
            .iter()
            .map(|t| t.label_filters().into_iter().collect::<HashSet<_>>());
        let Some(first) = sets.next() else {
            return Vec::new();
        };
        let mut common: Vec<String> = sets
            .fold(first, |acc, s| acc.intersection(&s).cloned().collect())
            .into_iter()
            .collect();
        common.sort();
        common
    }

    /// Every container (in any state) that some target covers, except firedrill's own.
    pub async fn observe_covered(&self) -> Result<Vec<Observed>, String> {
        let mut filters = HashMap::new();
        let labels = self.common_label_filters();
        if !labels.is_empty() {
            filters.insert("label".to_string(), labels);
        }
        let list = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..ListContainersOptions::default()
            }))
            .await
            .map_err(|e| self.failed("listing containers", e))?;
        let mut out = Vec::new();
        for summary in list {
            let name = listed_name(&summary);
            let id = summary.id.unwrap_or_default();
            let labels = summary.labels.unwrap_or_default();
            let image = summary.image.unwrap_or_default();
            let facts = ContainerFacts {
                id: &id,
                name: &name,
                image: &image,
                labels: &labels,
            };
            // The listing shows the image reference as created, or its id once the tag moved
            // on; the inspect below settles the image, so only labels and name filter here.
            let maybe = self
                .targets
                .iter()
                .any(|t| t.covers(&facts) || t.covers(&ContainerFacts { image: "", ..facts }));
            if !maybe || self.own.is(&id) {
                continue;
            }
            match self.inspect(&id).await {
                Ok(o) => out.push(o),
                // Removed between the listing and the inspect: it no longer exists.
                Err(_) => continue,
            }
        }
        Ok(out)
    }

    /// Records a probe result.
    pub fn set_probe_health(&self, id: &str, ok: bool) {
        lock(&self.probe_health).insert(id.to_string(), ok);
    }

    /// Forgets a container's probe result.
    pub fn forget_probe_health(&self, id: &str) {
        lock(&self.probe_health).remove(id);
    }

    fn probe_health(&self, id: &str) -> bool {
        lock(&self.probe_health).get(id).copied().unwrap_or(false)
    }

    /// Notes that firedrill emptied `slot` of `target` by acting on `victim`.
    pub fn vacate(&self, target: &str, slot: &str, victim: &str) {
        lock(&self.vacancies).push((target.to_string(), slot.to_string(), victim.to_string()));
    }

    /// The victim came back by itself (restart policy): its slot is no longer vacant.
    pub fn refill_in_place(&self, victim: &str) {
        lock(&self.vacancies).retain(|(_, _, v)| v != victim);
    }

    /// The slot a container new to firedrill fills. Its own slot (name, or Compose number)
    /// when that is vacant or when nothing is vacant; otherwise the oldest vacancy of its
    /// target, so a replacement with a fresh name (a pipeline's `docker run`, a scaled Compose
    /// service) still pairs with its victim.
    pub fn claim_slot(&self, target: &str, natural: &str, id: &str) -> String {
        if let Some(slot) = lock(&self.slot_overrides).get(id) {
            return slot.clone();
        }
        let mut vacancies = lock(&self.vacancies);
        if let Some(i) = vacancies
            .iter()
            .position(|(t, s, _)| t == target && s == natural)
        {
            vacancies.remove(i);
            return natural.to_string();
        }
        if let Some(i) = vacancies
            .iter()
            .position(|(t, _, v)| t == target && v != id)
        {
            let (_, slot, _) = vacancies.remove(i);
            lock(&self.slot_overrides).insert(id.to_string(), slot.clone());
            return slot;
        }
        natural.to_string()
    }

    /// The slot of a container firedrill already knows.
    pub fn slot_for(&self, id: &str, name: &str, labels: &HashMap<String, String>) -> String {
        lock(&self.slot_overrides)
            .get(id)
            .cloned()
            .unwrap_or_else(|| slot_of(name, labels))
    }
}

#[async_trait]
impl Platform for DockerPlatform {
    fn kind(&self) -> &'static str {
        "docker"
    }

    async fn start(
        &self,
        events: mpsc::UnboundedSender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> Result<(), PlatformError> {
        let stop = cancel.child_token();
        let mut watcher = Watcher::new(self.shared.clone(), events, stop.clone());
        watcher
            .prime()
            .await
            .map_err(|reason| PlatformError::Unreachable {
                endpoint: self.shared.endpoint.to_string(),
                reason,
            })?;
        *lock(&self.watcher_stop) = Some(stop);
        self.shared.watching.store(true, Ordering::Release);
        tokio::spawn(watcher.run());
        Ok(())
    }

    async fn nearby(&self, target: &str) -> Vec<String> {
        match self.spec(target) {
            Ok(spec) => nearby::nearby(&self.shared, spec).await,
            Err(e) => vec![e.to_string()],
        }
    }

    async fn instances(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        let spec = self.spec(target)?;
        // While the watcher keeps the book, decisions read it and make no engine call; the
        // run refuses to decide while the stream is lost, and `targets` and `--dry-run`,
        // which start no watcher, list.
        if self.shared.watching.load(Ordering::Acquire) {
            return Ok(self.booked(spec));
        }
        let observed = self
            .shared
            .observe_covered()
            .await
            .map_err(PlatformError::Failed)?;
        let mut out: Vec<Instance> = observed
            .into_iter()
            .filter(|o| o.running || o.paused)
            .filter(|o| {
                // A container belongs to the first target that covers it, as in the events.
                let facts = ContainerFacts {
                    id: &o.id,
                    name: &o.name,
                    image: &o.image,
                    labels: &o.labels,
                };
                self.shared
                    .targets
                    .iter()
                    .find(|t| t.covers(&facts))
                    .is_some_and(|t| t.name == spec.name)
            })
            .map(|o| {
                let healthy = match health_mode(&spec.health, o.has_healthcheck) {
                    HealthMode::Docker => o.running && o.health_ok,
                    HealthMode::Running => o.running,
                    HealthMode::Probe => o.running && self.shared.probe_health(&o.id),
                };
                Instance {
                    slot: self.shared.slot_for(&o.id, &o.name, &o.labels),
                    target: spec.name.clone(),
                    name: o.name.clone(),
                    started_at: o.started_at,
                    healthy,
                    labels: o.labels.into_iter().collect::<BTreeMap<_, _>>(),
                    id: o.id,
                    holds: None,
                }
            })
            .collect();
        out.sort_by(|a, b| a.slot.cmp(&b.slot).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn desired_capacity(&self, _target: &str) -> Result<Option<u32>, PlatformError> {
        // A plain engine has no notion of replicas; the healthy count at start stands in.
        Ok(None)
    }

    async fn kill(&self, victim: &Instance, action: &Action) -> Result<KillReceipt, PlatformError> {
        let spec = self.spec(&victim.target)?;
        // Defence in depth: whatever the engine decided, check the container as it is now.
        let now = self
            .shared
            .inspect(&victim.id)
            .await
            .map_err(PlatformError::Failed)?;
        let facts = ContainerFacts {
            id: &now.id,
            name: &now.name,
            image: &now.image,
            labels: &now.labels,
        };
        if let Err(refusal) = spec.may_touch(&facts, &self.shared.own) {
            return Err(PlatformError::Failed(format!(
                "refusing to {} container {} ({}): {refusal}",
                action.describe(),
                now.name,
                &now.id[..now.id.len().min(12)]
            )));
        }
        if !now.running {
            return Err(PlatformError::Failed(format!(
                "container {} is not running (paused or exited); nothing to {}",
                now.name,
                action.describe()
            )));
        }
        let target = action::Victim {
            docker: &self.shared.docker,
            id: &now.id,
            label: format!("container {} ({})", now.name, action::short_id(&now.id)),
            pid: Some(now.pid),
            endpoint: self.shared.endpoint.to_string(),
        };
        let receipt = action::carry_out(&self.shared.book, &target, action).await?;
        if !matches!(action, Action::Pause { .. }) {
            self.shared.vacate(&spec.name, &victim.slot, &now.id);
        }
        Ok(receipt)
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        // Unpause first: it is the one thing that must happen even if the rest fails.
        let unpaused = action::unpause_all(&self.shared.book).await;
        if let Some(stop) = lock(&self.watcher_stop).take() {
            stop.cancel();
        }
        unpaused
    }

    async fn undo(&self) -> Result<(), PlatformError> {
        action::unpause_all(&self.shared.book).await
    }

    fn events_lost(&self) -> Option<EventsLost> {
        self.shared.events_health.current()
    }

    async fn evidence(&self, instance: &str) -> Evidence {
        let source = evidence::Source {
            docker: &self.shared.docker,
            endpoint: self.shared.endpoint.to_string(),
            container: instance,
            per_instance_label: evidence::no_per_instance_labels,
        };
        evidence::capture(&source, instance).await
    }
}
