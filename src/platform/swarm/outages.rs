//! Which of the swarm watcher's sources are down (a node's event stream, the manager's task
//! list, the manager's node events): the platform's events count as lost from the first
//! loss until every source is back, so no decision is made blind.

use std::collections::BTreeMap;

use crate::platform::{EventsHealth, EventsLost, Micros};

/// Every source that is down now (a node's event stream, the manager's task list), with
/// when and why. The platform's events count as lost while any is.
#[derive(Default)]
pub struct Outages(BTreeMap<String, (Micros, String)>);

impl Outages {
    /// Notes `source` down since `at`; the platform's events are lost from the first such
    /// moment.
    pub fn lost(&mut self, health: &EventsHealth, source: &str, at: Micros, reason: String) {
        health.lost(at, reason.clone());
        self.0.entry(source.to_string()).or_insert((at, reason));
    }

    /// Notes `source` live again; the platform's events are live once no source is down.
    pub fn back(&mut self, health: &EventsHealth, source: &str) {
        if self.0.remove(source).is_none() {
            return;
        }
        // Another source still down keeps the outage, from its own start.
        let still = self.0.values().min_by_key(|(at, _)| *at);
        health.set(still.map(|(since, reason)| EventsLost {
            since: *since,
            reason: reason.clone(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANAGER: &str = "the manager's task list";

    #[test]
    fn events_stay_lost_until_every_source_is_back() {
        let health = EventsHealth::default();
        let mut outages = Outages::default();
        outages.back(&health, MANAGER);
        assert_eq!(
            health.current(),
            None,
            "a source never lost changes nothing"
        );
        outages.lost(&health, "node-a", 10, "node a lost".into());
        outages.lost(&health, MANAGER, 20, "manager lost".into());
        assert_eq!(health.current().map(|l| l.since), Some(10));
        outages.back(&health, "node-a");
        let still = health.current().expect("the manager is still down");
        assert_eq!((still.since, still.reason.as_str()), (20, "manager lost"));
        outages.back(&health, MANAGER);
        assert_eq!(health.current(), None);
    }
}
