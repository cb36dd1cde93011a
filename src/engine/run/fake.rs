//! A scripted platform for the run-loop tests: a fleet of instances in memory, and a fixed
//! reaction to every kill, played out as events on the virtual clock. It also checks, at
//! every kill, the promise the guards make, so a test fails the moment a kill would take the
//! fleet below the floor it was given.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::clock::{Clock, VirtualClock};
use crate::platform::{
    EventKind, EventsHealth, EventsLost, Evidence, Instance, KillReceipt, Platform, PlatformError,
    PlatformEvent,
};
use crate::scenario::Action;

/// What the platform does after a kill, each step a delay after the previous one.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reaction {
    /// The victim dies after `down`; a new instance is created in its slot after `replaced`
    /// and passes its health check after `healthy`.
    Replace {
        down: Duration,
        replaced: Duration,
        healthy: Duration,
    },
    /// As `Replace`, then the replacement fails its check `flap_after` its first pass and
    /// passes again right after.
    Flap {
        healthy: Duration,
        flap_after: Duration,
    },
    /// The victim dies after `down` and nothing ever replaces it.
    Never { down: Duration },
}

/// What the platform saw, for the tests to check.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The victims killed, in order.
    pub kills: Vec<String>,
    /// The healthy count of the victim's target just before each kill.
    pub healthy_before_kill: Vec<u32>,
    /// Whether `shutdown` was called.
    pub shut_down: bool,
    /// When `undo` was called, on the virtual clock.
    pub undone_at: Vec<i64>,
}

#[derive(Debug, Default)]
struct State {
    /// Every live instance by id, with its current health.
    instances: BTreeMap<String, Instance>,
    events: Option<mpsc::UnboundedSender<PlatformEvent>>,
    /// Events that happened while the stream was lost, for the resync to deliver.
    missed: Vec<PlatformEvent>,
    next_id: u32,
    seen: Seen,
}

/// The scripted platform.
pub(super) struct FakePlatform {
    clock: VirtualClock,
    reaction: Reaction,
    state: Arc<Mutex<State>>,
    events_health: EventsHealth,
    /// How long a kill call takes to answer, as a daemon's does; its events start at once.
    answer_after: Duration,
    /// Kill calls fail (after `answer_after`) and touch nothing.
    refuse_kills: bool,
    /// How long a drift evidence capture takes.
    capture_after: Duration,
}

impl FakePlatform {
    /// `replicas` healthy instances of target `web`, in slots `web-1`…, started an hour before
    /// `clock` reads now.
    pub fn new(clock: VirtualClock, replicas: u32, reaction: Reaction) -> FakePlatform {
        let mut state = State::default();
        for n in 1..=replicas {
            let inst = instance(
                &format!("web-{n}"),
                &format!("i{n}"),
                clock.now() - 3_600_000_000,
            );
            state.instances.insert(inst.id.clone(), inst);
        }
        state.next_id = replicas + 1;
        FakePlatform {
            clock,
            reaction,
            state: Arc::new(Mutex::new(state)),
            events_health: EventsHealth::default(),
            answer_after: Duration::ZERO,
            refuse_kills: false,
            capture_after: Duration::ZERO,
        }
    }

    /// Drift evidence captures take `after` each.
    pub fn capturing_in(self, after: Duration) -> FakePlatform {
        FakePlatform {
            capture_after: after,
            ..self
        }
    }

    /// Every kill call fails, as a daemon that refuses it would.
    pub fn failing_kills(self) -> FakePlatform {
        FakePlatform {
            refuse_kills: true,
            ..self
        }
    }

    /// Kill calls answer `after` they were made, while the victim's events already flow.
    pub fn answering_after(self, after: Duration) -> FakePlatform {
        FakePlatform {
            answer_after: after,
            ..self
        }
    }

    /// The event stream drops now; events are no longer sent until [`Self::events_back`].
    pub fn lose_events(&self) {
        self.events_health
            .lost(self.clock.now(), "scripted stream cut");
    }

    /// The event stream is live again: the resync delivers what was missed, flagged
    /// uncertain, and only then is the stream live.
    pub fn events_back(&self) {
        let mut state = self.state.lock().unwrap();
        let missed = std::mem::take(&mut state.missed);
        if let Some(tx) = &state.events {
            for ev in missed {
                let _ = tx.send(PlatformEvent {
                    uncertain: true,
                    ..ev
                });
            }
        }
        self.events_health.live();
    }

    /// What an engine restart does behind the stream's back: every instance fails its check
    /// and no event says so, so only a fresh look can tell.
    pub fn silently_unhealthy(&self) {
        let mut state = self.state.lock().unwrap();
        for inst in state.instances.values_mut() {
            inst.healthy = false;
        }
    }

    /// Takes the victim out of the healthy count and plays the reaction out as events.
    fn play_kill(&self, victim: &Instance) -> Result<(), PlatformError> {
        let mut state = self.state.lock().unwrap();
        if !state.instances.contains_key(&victim.id) {
            return Err(PlatformError::Failed(format!("no instance {}", victim.id)));
        }
        let healthy = state.instances.values().filter(|i| i.healthy).count() as u32;
        state.seen.kills.push(victim.id.clone());
        state.seen.healthy_before_kill.push(healthy);
        if let Some(inst) = state.instances.get_mut(&victim.id) {
            inst.healthy = false;
        }
        let replacement = format!("i{}", state.next_id);
        state.next_id += 1;
        let script = Script {
            clock: self.clock,
            state: Arc::clone(&self.state),
            events_health: self.events_health.clone(),
        };
        tokio::spawn(script.play(
            self.reaction,
            victim.id.clone(),
            victim.slot.clone(),
            replacement,
        ));
        Ok(())
    }

    /// What the platform saw so far.
    pub fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.state.lock().unwrap().seen)
    }
}

fn instance(slot: &str, id: &str, started_at: i64) -> Instance {
    Instance {
        id: id.to_string(),
        target: "web".to_string(),
        slot: slot.to_string(),
        name: format!("web-{id}"),
        started_at: Some(started_at),
        healthy: true,
        labels: BTreeMap::new(),
        holds: None,
    }
}

/// Plays a reaction out as events: each step sleeps on tokio's (paused) clock, then applies
/// the step to the fleet and sends its event stamped with the virtual clock.
struct Script {
    clock: VirtualClock,
    state: Arc<Mutex<State>>,
    events_health: EventsHealth,
}

impl Script {
    async fn step(&self, after: Duration, kind: EventKind, id: &str, slot: &str) {
        tokio::time::sleep(after).await;
        let mut state = self.state.lock().unwrap();
        match kind {
            EventKind::Died => {
                state.instances.remove(id);
            }
            EventKind::Created => {
                let inst = Instance {
                    healthy: false,
                    ..instance(slot, id, self.clock.now())
                };
                state.instances.insert(id.to_string(), inst);
            }
            EventKind::Healthy | EventKind::Unhealthy => {
                if let Some(inst) = state.instances.get_mut(id) {
                    inst.healthy = kind == EventKind::Healthy;
                }
            }
            _ => {}
        }
        let event = PlatformEvent {
            at: self.clock.now(),
            kind,
            instance: id.to_string(),
            target: "web".to_string(),
            slot: slot.to_string(),
            uncertain: false,
            detail: None,
            node_kill: None,
        };
        if self.events_health.current().is_some() {
            state.missed.push(event);
        } else if let Some(tx) = &state.events {
            let _ = tx.send(event);
        }
    }

    async fn play(self, reaction: Reaction, victim: String, slot: String, replacement: String) {
        let (down, replaced, healthy, flap_after) = match reaction {
            Reaction::Replace {
                down,
                replaced,
                healthy,
            } => (down, Some(replaced), healthy, None),
            Reaction::Flap {
                healthy,
                flap_after,
            } => (
                Duration::from_millis(50),
                Some(Duration::from_millis(50)),
                healthy,
                Some(flap_after),
            ),
            Reaction::Never { down } => (down, None, Duration::ZERO, None),
        };
        self.step(down, EventKind::Died, &victim, &slot).await;
        let Some(replaced) = replaced else {
            return;
        };
        self.step(replaced, EventKind::Created, &replacement, &slot)
            .await;
        self.step(Duration::ZERO, EventKind::Started, &replacement, &slot)
            .await;
        self.step(healthy, EventKind::Healthy, &replacement, &slot)
            .await;
        if let Some(after) = flap_after {
            self.step(after, EventKind::Unhealthy, &replacement, &slot)
                .await;
            self.step(
                Duration::from_millis(10),
                EventKind::Healthy,
                &replacement,
                &slot,
            )
            .await;
        }
    }
}

#[async_trait]
impl Platform for FakePlatform {
    fn kind(&self) -> &'static str {
        "fake"
    }

    async fn start(
        &self,
        events: mpsc::UnboundedSender<PlatformEvent>,
        _cancel: CancellationToken,
    ) -> Result<(), PlatformError> {
        self.state.lock().unwrap().events = Some(events);
        Ok(())
    }

    async fn instances(&self, target: &str) -> Result<Vec<Instance>, PlatformError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .instances
            .values()
            .filter(|i| i.target == target)
            .cloned()
            .collect())
    }

    async fn desired_capacity(&self, _target: &str) -> Result<Option<u32>, PlatformError> {
        Ok(None)
    }

    async fn kill(
        &self,
        victim: &Instance,
        _action: &Action,
    ) -> Result<KillReceipt, PlatformError> {
        let issued = self.clock.now();
        if self.refuse_kills {
            tokio::time::sleep(self.answer_after).await;
            return Err(PlatformError::Failed("scripted refusal".to_string()));
        }
        self.play_kill(victim)?;
        tokio::time::sleep(self.answer_after).await;
        Ok(KillReceipt {
            at: issued,
            detail: "scripted".to_string(),
        })
    }

    async fn evidence(&self, instance: &str) -> Evidence {
        tokio::time::sleep(self.capture_after).await;
        Evidence {
            instance: instance.to_string(),
            image_id: Some("sha256:fake".to_string()),
            capture_us: self.capture_after.as_micros() as u64,
            engine_calls: 1,
            ..Evidence::default()
        }
    }

    async fn undo(&self) -> Result<(), PlatformError> {
        let now = self.clock.now();
        self.state.lock().unwrap().seen.undone_at.push(now);
        Ok(())
    }

    fn events_lost(&self) -> Option<EventsLost> {
        self.events_health.current()
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        self.state.lock().unwrap().seen.shut_down = true;
        Ok(())
    }
}
