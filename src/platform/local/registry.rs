//! The instances the local platform knows now, and the one place its events are emitted.
//! Every change and its event happen under one lock, so the event stream is in the order the
//! registry changed: no `Healthy` can follow the `Died` of the same instance.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::evidence::Captures;
use super::process::Spawner;
use crate::platform::{EventKind, Instance, Micros, PlatformEvent};
use crate::vocabulary::rng::{SeededRng, Stream};
use crate::vocabulary::units::DurationRange;

/// Where a known process came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Spawned by firedrill; it stays in the registry until reaped, so its PID is never reused
    /// while listed.
    Managed,
    /// Found in `/proc`; its start ticks tell it from a later process with the same PID.
    Attached {
        /// Start time in ticks since boot.
        start_ticks: u64,
    },
}

/// One known process.
#[derive(Debug)]
pub(super) struct Tracked {
    /// What `instances()` returns.
    pub instance: Instance,
    /// Slot number, for slot order (string order would put 10 before 2).
    pub slot_index: u32,
    /// Where it came from.
    pub origin: Origin,
    /// Cancelled when it dies, ending its health prober.
    pub watch: CancellationToken,
    /// Whether a health result has come in yet.
    pub checked: bool,
    /// Why the last probe failed, for the error when a slot never gets healthy.
    pub last_failure: Option<String>,
}

/// The known processes, by PID, and the event sink.
#[derive(Debug, Default)]
pub(super) struct Registry {
    /// Known processes by PID.
    pub by_pid: BTreeMap<u32, Tracked>,
    /// The latest `Died` time of each target.
    last_death: BTreeMap<String, Micros>,
    events: Option<mpsc::UnboundedSender<PlatformEvent>>,
}

impl Registry {
    /// Sends events to `sink` from now on.
    pub fn connect(&mut self, sink: mpsc::UnboundedSender<PlatformEvent>) {
        self.events = Some(sink);
    }

    fn emit(&self, instance: &Instance, kind: EventKind, at: Micros, detail: Option<String>) {
        if let Some(sink) = &self.events {
            // A closed sink means the run stopped listening; nothing is lost that it wanted.
            let _ = sink.send(PlatformEvent {
                at,
                kind,
                instance: instance.id.clone(),
                target: instance.target.clone(),
                slot: instance.slot.clone(),
                uncertain: false,
                detail,
                node_kill: None,
            });
        }
    }

    /// Adds a new process, emitting `Created` at `created` and `Started` at `started`.
    pub fn insert(
        &mut self,
        pid: u32,
        tracked: Tracked,
        created: Micros,
        started: Micros,
        detail: &str,
    ) {
        self.emit(
            &tracked.instance,
            EventKind::Created,
            created,
            Some(detail.to_string()),
        );
        self.emit(
            &tracked.instance,
            EventKind::Started,
            started,
            Some(detail.to_string()),
        );
        self.by_pid.insert(pid, tracked);
    }

    /// Forgets a process that ended, emitting `Died` and stopping its prober.
    pub fn remove(&mut self, pid: u32, at: Micros, detail: String) -> Option<Tracked> {
        let tracked = self.by_pid.remove(&pid)?;
        tracked.watch.cancel();
        let latest = self
            .last_death
            .entry(tracked.instance.target.clone())
            .or_insert(at);
        *latest = (*latest).max(at);
        self.emit(&tracked.instance, EventKind::Died, at, Some(detail));
        Some(tracked)
    }

    /// When `target` last lost an instance, if it has.
    pub fn last_death(&self, target: &str) -> Option<Micros> {
        self.last_death.get(target).copied()
    }

    /// Records a health result: `Healthy` on the first pass and each fail→pass, `Unhealthy`
    /// on each pass→fail, nothing while unchanged. False when the process is gone.
    pub fn record_health(
        &mut self,
        pid: u32,
        pass: bool,
        at: Micros,
        detail: Option<String>,
    ) -> bool {
        let Some(tracked) = self.by_pid.get_mut(&pid) else {
            return false;
        };
        let changed = tracked.instance.healthy != pass;
        tracked.instance.healthy = pass;
        tracked.checked = true;
        tracked.last_failure = if pass { None } else { detail.clone() };
        if changed {
            let kind = if pass {
                EventKind::Healthy
            } else {
                EventKind::Unhealthy
            };
            let instance = tracked.instance.clone();
            self.emit(&instance, kind, at, detail);
        }
        true
    }

    /// The instances of `target`, in slot order, then PID order.
    pub fn instances(&self, target: &str) -> Vec<Instance> {
        let mut found: Vec<(&u32, &Tracked)> = self
            .by_pid
            .iter()
            .filter(|(_, t)| t.instance.target == target)
            .collect();
        found.sort_by_key(|(pid, t)| (t.slot_index, **pid));
        found.into_iter().map(|(_, t)| t.instance.clone()).collect()
    }
}

/// State shared by the platform and its tasks.
#[derive(Debug)]
pub(super) struct Shared {
    registry: Mutex<Registry>,
    /// Spawns managed processes; set by `start`.
    pub spawner: OnceLock<Spawner>,
    /// The platform's own seeded stream, apart from the scheduler's.
    rng: Mutex<SeededRng>,
    /// Fires on shutdown (or when the run's token fires): no replacement, probe or poll after.
    pub stop: CancellationToken,
    /// What each instance was when it was spawned or attached, for drift evidence.
    pub captures: Captures,
}

impl Shared {
    /// Fresh state; `seed` feeds the replace-delay draws, and instances are captured for
    /// drift evidence when `drift` asks for it.
    pub fn new(seed: u64, drift: bool) -> Shared {
        Shared {
            registry: Mutex::new(Registry::default()),
            spawner: OnceLock::new(),
            rng: Mutex::new(SeededRng::new(seed, Stream::Platform)),
            stop: CancellationToken::new(),
            captures: Captures::new(drift),
        }
    }

    /// The registry, locked. A panic elsewhere must not stop shutdown from reaching the
    /// children, so a poisoned lock is used as it is.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A replace delay drawn uniformly from `range`.
    pub fn draw_delay(&self, range: DurationRange) -> std::time::Duration {
        let (lo, hi) = (range.min.as_micros(), range.max.as_micros());
        if hi <= lo {
            return range.min.get();
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        std::time::Duration::from_micros(rng.between(lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_delays_replay_for_a_seed_and_stay_in_range() {
        let range: DurationRange = "300ms..800ms".parse().unwrap();
        let draws = |seed| {
            let shared = Shared::new(seed, false);
            (0..20)
                .map(|_| shared.draw_delay(range))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        assert!(draws(7)
            .iter()
            .all(|d| *d >= range.min.get() && *d <= range.max.get()));
        // Pinned: one seed gives these delays on every version.
        let pinned: Vec<u128> = draws(7).iter().take(3).map(|d| d.as_micros()).collect();
        assert_eq!(pinned, [609_695, 446_654, 595_888]);
        let fixed: DurationRange = "250ms".parse().unwrap();
        assert_eq!(Shared::new(1, false).draw_delay(fixed), fixed.min.get());
    }
}
