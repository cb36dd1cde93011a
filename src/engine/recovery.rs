//! Where a kill is timed. One [`Recovery`] per kill follows the platform's events through the
//! marks kill → down → replaced → running → healthy → restored, taking every time from the
//! event itself (the platform's clock), never from when firedrill happened to see it.
//!
//! Pairing a replacement with its victim: a new instance created in the victim's slot is its
//! replacement (the oldest open recovery of that slot wins, so attach-mode processes that share
//! one slot pair first-in first-out); a victim that starts again under its own id (a Docker
//! restart policy) is its own replacement.
//!
//! A recovery opens when its action is dispatched, before the platform has answered, so the
//! victim's events that arrive while the call is on its way are paired at once, in the order
//! they came. What it finds is held back until the platform's receipt confirms the kill (it
//! then gets its kill number, and its lines follow the `kill` line) or until a failed action
//! cancels it (and nothing of it is written).

use std::time::Duration;

use tokio::time::Instant;

use crate::engine::capacity::Capacity;
use crate::journal::Entry;
use crate::platform::{EventKind, Instance, PlatformEvent};
use crate::vocabulary::phase::Phase;
use crate::vocabulary::time::Micros;

/// One kill being followed.
#[derive(Debug)]
struct Recovery {
    kill_id: u32,
    target: String,
    victim: String,
    slot: String,
    replacement: Option<String>,
    marks: [Option<Micros>; 6],
    issued: Instant,
    /// Set once restored: flaps are watched until then.
    settle_until: Option<Instant>,
    /// False while the action is on its way: what is found is held, and no timeout runs.
    confirmed: bool,
    /// Findings held until the kill is confirmed.
    held: Vec<Entry>,
    /// A node kill is followed, once restored, until its node is back (or the timeout), so
    /// the run does not end before the "node back" mark.
    awaits_back: bool,
}

impl Recovery {
    fn mark(&self, phase: Phase) -> Option<Micros> {
        self.marks[phase as usize]
    }

    fn set(&mut self, phase: Phase, at: Micros, instance: &str, uncertain: bool) -> Entry {
        self.marks[phase as usize] = Some(at);
        Entry::Phase {
            kill_id: self.kill_id,
            phase,
            at,
            instance: instance.to_string(),
            uncertain,
        }
    }

    fn restored(&self) -> bool {
        self.mark(Phase::Restored).is_some()
    }

    fn first_missing(&self) -> Phase {
        Phase::ALL
            .into_iter()
            .find(|p| self.mark(*p).is_none())
            .unwrap_or(Phase::Restored)
    }
}

/// Kill numbers from here up are provisional: they name a dispatched action until the
/// platform's receipt gives it its real number, and never reach the journal.
const PROVISIONAL: u32 = 1 << 31;

/// Every kill still being followed.
#[derive(Debug)]
pub struct Recoveries {
    active: Vec<Recovery>,
    timeout: Duration,
    settle: Duration,
    next_provisional: u32,
}

impl Recoveries {
    /// Follows kills with the scenario's `recovery.timeout` and settle window.
    pub fn new(timeout: Duration, settle: Duration) -> Recoveries {
        Recoveries {
            active: Vec::new(),
            timeout,
            settle,
            next_provisional: PROVISIONAL,
        }
    }

    /// Starts following a kill already carried out at `at` (dispatched and confirmed at once);
    /// returns its kill mark.
    pub fn open(&mut self, kill_id: u32, victim: &Instance, at: Micros) -> Entry {
        let pending = self.dispatch(victim);
        let mut found = self.confirm(pending, kill_id, at);
        found.remove(0)
    }

    /// Starts following a kill whose action is being dispatched now; returns the provisional
    /// number that [`Self::confirm`] or [`Self::cancel`] settles once the platform answers.
    ///
    /// A restored recovery still settling whose replacement is this victim stops watching
    /// now: the victim's next events (its death, and its restart when a restart policy brings
    /// it back under the same id) belong to the new kill. Left open, the old recovery would
    /// take the restart's `Started`, and the new kill would stall unrecovered.
    pub fn dispatch(&mut self, victim: &Instance) -> u32 {
        self.active.retain(|r| {
            !(r.confirmed
                && r.restored()
                && (r.replacement.as_deref() == Some(victim.id.as_str()) || r.victim == victim.id))
        });
        let provisional = self.next_provisional;
        self.next_provisional = self.next_provisional.wrapping_add(1).max(PROVISIONAL);
        self.active.push(Recovery {
            kill_id: provisional,
            target: victim.target.clone(),
            victim: victim.id.clone(),
            slot: victim.slot.clone(),
            replacement: None,
            marks: [None; 6],
            issued: Instant::now(),
            settle_until: None,
            confirmed: false,
            held: Vec::new(),
            awaits_back: victim.holds.is_some(),
        });
        provisional
    }

    /// The platform carried the action out at `at` (its receipt): the kill is `kill_id` from
    /// now on. Returns its kill mark, then what was found while the call was on its way (a
    /// platform `kill` event among them refines the mark, as the last line wins).
    pub fn confirm(&mut self, provisional: u32, kill_id: u32, at: Micros) -> Vec<Entry> {
        let Some(r) = self.active.iter_mut().find(|r| r.kill_id == provisional) else {
            return Vec::new();
        };
        r.kill_id = kill_id;
        r.confirmed = true;
        let victim = r.victim.clone();
        let mut found = vec![Entry::Phase {
            kill_id,
            phase: Phase::Kill,
            at,
            instance: victim,
            uncertain: false,
        }];
        if r.mark(Phase::Kill).is_none() {
            r.marks[Phase::Kill as usize] = Some(at);
        }
        for mut entry in std::mem::take(&mut r.held) {
            if let Entry::Phase { kill_id: k, .. }
            | Entry::Flap { kill_id: k, .. }
            | Entry::Unrecovered { kill_id: k, .. } = &mut entry
            {
                *k = kill_id;
            }
            found.push(entry);
        }
        found
    }

    /// The action failed: nothing was killed, and nothing of this recovery is written.
    pub fn cancel(&mut self, provisional: u32) {
        self.active.retain(|r| r.kill_id != provisional);
    }

    /// Keeps back what belongs to kills not yet confirmed; returns the rest.
    fn route(&mut self, found: Vec<Entry>) -> Vec<Entry> {
        let mut out = Vec::with_capacity(found.len());
        for entry in found {
            let kill_id = match &entry {
                Entry::Phase { kill_id, .. }
                | Entry::Flap { kill_id, .. }
                | Entry::Unrecovered { kill_id, .. } => *kill_id,
                _ => 0,
            };
            match self
                .active
                .iter_mut()
                .find(|r| !r.confirmed && r.kill_id == kill_id)
            {
                Some(r) => r.held.push(entry),
                None => out.push(entry),
            }
        }
        out
    }

    /// Recoveries not yet restored nor given up, counting those whose action is on its way.
    pub fn in_flight(&self) -> u32 {
        self.active
            .iter()
            .filter(|r| !r.restored() || !r.confirmed)
            .count() as u32
    }

    /// Whether `instance` is a victim or a replacement of a recovery not yet restored, or of
    /// one whose action the platform has not answered yet.
    pub fn involves(&self, instance: &str) -> bool {
        self.active.iter().any(|r| {
            (!r.restored() || !r.confirmed)
                && (r.victim == instance || r.replacement.as_deref() == Some(instance))
        })
    }

    /// Whether nothing is being followed any more, settle windows included.
    pub fn is_idle(&self) -> bool {
        self.active.is_empty()
    }

    /// Feeds one platform event. `capacity` must already include it.
    pub fn on_event(&mut self, ev: &PlatformEvent, capacity: &Capacity) -> Vec<Entry> {
        let mut found = Vec::new();
        self.pair_marks(ev, &mut found);
        self.watch_flaps(ev, &mut found);
        if capacity.restored(&ev.target) {
            for r in self.active.iter_mut().filter(|r| r.target == ev.target) {
                if !r.restored() && r.mark(Phase::Healthy).is_some() {
                    let instance = r.replacement.clone().unwrap_or_default();
                    found.push(r.set(Phase::Restored, ev.at, &instance, ev.uncertain));
                    r.settle_until = Some(Instant::now() + self.settle);
                }
            }
        }
        self.route(found)
    }

    fn pair_marks(&mut self, ev: &PlatformEvent, found: &mut Vec<Entry>) {
        let id = ev.instance.as_str();
        let u = ev.uncertain;
        match ev.kind {
            EventKind::Killed => {
                for r in self.active.iter_mut().filter(|r| r.victim == id) {
                    if r.mark(Phase::Down).is_none() {
                        found.push(r.set(Phase::Kill, ev.at, id, u));
                    }
                }
            }
            EventKind::Died | EventKind::Removed => {
                for r in self.active.iter_mut().filter(|r| r.victim == id) {
                    if r.mark(Phase::Down).is_none() {
                        found.push(r.set(Phase::Down, ev.at, id, u));
                    }
                }
            }
            // A node kill's `replaced` mark: every lost task has a replacement. The node
            // stands for them, so it is the recovery's replacement from here on.
            EventKind::Created if ev.node_kill.is_some() => {
                for r in self.active.iter_mut().filter(|r| r.victim == id) {
                    if r.replacement.is_none() {
                        r.replacement = Some(id.to_string());
                        found.push(r.set(Phase::Replaced, ev.at, id, u));
                    }
                }
            }
            EventKind::Created => {
                let waiting = self.active.iter_mut().find(|r| {
                    r.replacement.is_none()
                        && r.target == ev.target
                        && r.slot == ev.slot
                        && r.victim != id
                });
                if let Some(r) = waiting {
                    r.replacement = Some(id.to_string());
                    found.push(r.set(Phase::Replaced, ev.at, id, u));
                }
            }
            EventKind::Started => {
                if let Some(r) = self
                    .active
                    .iter_mut()
                    .find(|r| r.replacement.as_deref() == Some(id))
                {
                    if r.mark(Phase::Running).is_none() {
                        found.push(r.set(Phase::Running, ev.at, id, u));
                    }
                } else if let Some(r) = self.active.iter_mut().find(|r| {
                    r.victim == id && r.replacement.is_none() && r.mark(Phase::Down).is_some()
                }) {
                    // Restarted in place: the same instance is its own replacement.
                    r.replacement = Some(id.to_string());
                    found.push(r.set(Phase::Replaced, ev.at, id, u));
                    found.push(r.set(Phase::Running, ev.at, id, u));
                }
            }
            EventKind::Healthy => {
                for r in self
                    .active
                    .iter_mut()
                    .filter(|r| r.replacement.as_deref() == Some(id))
                {
                    if r.mark(Phase::Healthy).is_none() {
                        found.push(r.set(Phase::Healthy, ev.at, id, u));
                    }
                }
            }
            EventKind::Back => {
                for r in self.active.iter_mut().filter(|r| r.victim == id) {
                    r.awaits_back = false;
                }
            }
            EventKind::Unhealthy => {}
        }
    }

    fn watch_flaps(&mut self, ev: &PlatformEvent, found: &mut Vec<Entry>) {
        if !matches!(
            ev.kind,
            EventKind::Unhealthy | EventKind::Died | EventKind::Removed
        ) {
            return;
        }
        // A replacement that firedrill itself killed again is a new kill's victim, not a flap.
        if self.active.iter().any(|r| r.victim == ev.instance) {
            return;
        }
        let settle_us = self.settle.as_micros() as i64;
        for r in &self.active {
            let Some(healthy_at) = r.mark(Phase::Healthy) else {
                continue;
            };
            if r.replacement.as_deref() == Some(ev.instance.as_str())
                && ev.at - healthy_at <= settle_us
            {
                found.push(Entry::Flap {
                    kill_id: r.kill_id,
                    at: ev.at,
                    instance: ev.instance.clone(),
                });
            }
        }
    }

    /// Gives up on kills past `recovery.timeout`, and stops watching restored ones whose settle
    /// window has passed. `now_us` stamps the give-up.
    pub fn tick(&mut self, now: Instant, now_us: Micros) -> Vec<Entry> {
        let mut found = Vec::new();
        let timeout = self.timeout;
        self.active.retain(|r| {
            // Kept, with what it found, until the platform answers; the timeout counts from
            // the dispatch, but only a kill that was carried out can be unrecovered.
            if !r.confirmed {
                return true;
            }
            let timed_out = now.duration_since(r.issued) >= timeout;
            if r.restored() {
                let settling = r.settle_until.is_some_and(|t| now < t);
                return settling || (r.awaits_back && !timed_out);
            }
            if timed_out {
                found.push(Entry::Unrecovered {
                    kill_id: r.kill_id,
                    at: now_us,
                    stalled_in: r.first_missing(),
                });
                return false;
            }
            true
        });
        found
    }

    /// Gives up on every kill still in flight (the run is stopping), and drops settle watches.
    pub fn abandon(&mut self, now_us: Micros) -> Vec<Entry> {
        let found = self
            .active
            .iter()
            .filter(|r| r.confirmed && !r.restored())
            .map(|r| Entry::Unrecovered {
                kill_id: r.kill_id,
                at: now_us,
                stalled_in: r.first_missing(),
            })
            .collect();
        self.active.clear();
        found
    }
}

#[cfg(test)]
mod tests;
