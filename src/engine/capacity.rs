//! The pool's healthy count, kept per target from the platform's events. Every change is a
//! step of the capacity timeline; the report derives `capacity.min` and the degraded seconds
//! from those steps.

use std::collections::{BTreeMap, BTreeSet};

use crate::platform::{EventKind, Instance, PlatformEvent};

/// Healthy instances of every target.
#[derive(Debug, Default)]
pub struct Capacity {
    healthy: BTreeMap<String, BTreeSet<String>>,
    desired: BTreeMap<String, u32>,
}

impl Capacity {
    /// Starts from the instances listed at the start of the run.
    pub fn new(desired: BTreeMap<String, u32>, initial: &[Instance]) -> Capacity {
        let mut healthy: BTreeMap<String, BTreeSet<String>> = desired
            .keys()
            .map(|t| (t.clone(), BTreeSet::new()))
            .collect();
        // Nodes are listed beside their target's members; only the members count.
        for inst in initial.iter().filter(|i| i.healthy && i.holds.is_none()) {
            if let Some(set) = healthy.get_mut(&inst.target) {
                set.insert(inst.id.clone());
            }
        }
        Capacity { healthy, desired }
    }

    /// Applies an event; returns the target's new healthy count when it changed.
    pub fn apply(&mut self, event: &PlatformEvent) -> Option<u32> {
        // A node kill's own marks stand for many tasks, whose own events count instead.
        if event.node_kill.is_some() {
            return None;
        }
        let set = self.healthy.get_mut(&event.target)?;
        let changed = match event.kind {
            EventKind::Healthy => set.insert(event.instance.clone()),
            EventKind::Unhealthy | EventKind::Died | EventKind::Removed => {
                set.remove(&event.instance)
            }
            EventKind::Killed | EventKind::Created | EventKind::Started | EventKind::Back => false,
        };
        changed.then_some(set.len() as u32)
    }

    /// Healthy instances of `target` now.
    pub fn healthy(&self, target: &str) -> u32 {
        self.healthy.get(target).map_or(0, |s| s.len() as u32)
    }

    /// Whether `instance` of `target` is healthy now.
    pub fn is_healthy(&self, target: &str, instance: &str) -> bool {
        self.healthy
            .get(target)
            .is_some_and(|s| s.contains(instance))
    }

    /// Desired healthy count of `target`.
    pub fn desired(&self, target: &str) -> u32 {
        self.desired.get(target).copied().unwrap_or(0)
    }

    /// Whether `target` is back at its desired capacity.
    pub fn restored(&self, target: &str) -> bool {
        self.healthy(target) >= self.desired(target)
    }

    /// Healthy and desired counts summed over all targets.
    pub fn totals(&self) -> (u32, u32) {
        let healthy = self.healthy.values().map(|s| s.len() as u32).sum();
        let desired = self.desired.values().sum();
        (healthy, desired)
    }
}
