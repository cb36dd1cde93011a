//! The book of covered containers: what firedrill last knew about each one, kept current by
//! the event watcher ([`super::events`]) from the daemon's events, primed by the one listing
//! at start and corrected by each resync. Decisions read their instances from it, so a
//! decision costs no engine call however large the fleet; only the victim is inspected, once,
//! just before its action.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::fleet::Known;

/// Every covered container firedrill knows, by id.
#[derive(Debug, Default)]
pub struct Book(Mutex<HashMap<String, Known>>);

impl Book {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Known>> {
        // A panic elsewhere while holding the lock leaves plain data that is still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the book says about `id`.
    pub fn get(&self, id: &str) -> Option<Known> {
        self.lock().get(id).cloned()
    }

    /// Whether the book knows `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Writes what is now known about `id`.
    pub fn insert(&self, id: &str, known: Known) {
        self.lock().insert(id.to_string(), known);
    }

    /// Changes what is known about `id`, if anything is.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Known)) {
        if let Some(k) = self.lock().get_mut(id) {
            change(k);
        }
    }

    /// Forgets `id` (it was destroyed).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Every id the book knows.
    pub fn ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The containers of `target` that run or are paused, with their ids.
    pub fn present_in(&self, target: &str) -> Vec<(String, Known)> {
        self.lock()
            .iter()
            .filter(|(_, k)| k.target == target && (k.running || k.paused))
            .map(|(id, k)| (id.clone(), k.clone()))
            .collect()
    }
}
