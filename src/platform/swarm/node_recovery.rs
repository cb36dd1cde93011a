//! Where a node kill is timed. A node stands for the watched tasks it held, so its marks are
//! those tasks' marks taken together, reported as events of the node (instance = node id)
//! that the engine's recovery pairs like any other:
//!
//! - `kill`: a drain is refined by the manager's node event (`availability.new=drain`);
//!   a command keeps the moment it was run (firedrill's clock);
//! - `down`: the manager marks the node drained (`availability.new=drain`) or down
//!   (`state.new=down`), from its node event's `timeNano`;
//! - `replaced`: every lost task's slot has a new task on another node: the latest of their
//!   `CreatedAt` (manager clock);
//! - `running`, `healthy`: the latest container `start` and `health_status` of those new
//!   tasks, from the engines of the nodes they went to;
//! - `restored` is the engine's: the watched services' healthy tasks back at desired;
//! - "node back" (`EventKind::Back`): the manager's node event that makes the node ready and
//!   active again.
//!
//! The capacity's side of a node marked down (its tasks' `Died` at that moment) is the
//! watcher's, for any node that goes down, killed by firedrill or not.

use std::collections::BTreeMap;

use crate::platform::{EventKind, Micros, NodeKillMark, PlatformEvent, TaskPlace};

/// How a node was taken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takedown {
    /// Its availability set to drain.
    Drain,
    /// A user's program.
    Command,
}

/// A new task in a lost task's slot.
#[derive(Debug, Clone)]
struct Replacement {
    place: TaskPlace,
    created: Micros,
    running: Option<Micros>,
    healthy: Option<Micros>,
}

/// When one replacement reached a stage, if it has.
type Stage = fn(&Replacement) -> Option<Micros>;

/// One node kill being followed.
#[derive(Debug, Clone)]
struct NodeKill {
    node: String,
    hostname: String,
    target: String,
    how: Takedown,
    lost: Vec<TaskPlace>,
    down: Option<Micros>,
    replacements: BTreeMap<String, Replacement>,
    /// How many of the marks after `kill` went out: down, replaced, running, healthy.
    sent: usize,
    killed_sent: bool,
    ready: bool,
    active: bool,
    back: bool,
}

/// Every node kill being followed, fed the watched tasks' events and the manager's node
/// events; each call returns the node marks (and, for a node marked down, its lost tasks'
/// `Died`) to send on.
#[derive(Debug, Default)]
pub struct NodeKills {
    kills: Vec<NodeKill>,
}

/// The manager's view of a node after one of its node events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeChange<'a> {
    /// `state.new`, when the event has it.
    pub state: Option<&'a str>,
    /// `availability.new`, when the event has it.
    pub availability: Option<&'a str>,
}

impl NodeKills {
    /// Starts following a node about to be taken down by `how`: `lost` are the watched tasks
    /// running on it now.
    pub fn register(
        &mut self,
        node: &str,
        hostname: &str,
        target: &str,
        how: Takedown,
        lost: Vec<TaskPlace>,
    ) {
        self.forget(node);
        self.kills.push(NodeKill {
            node: node.to_string(),
            hostname: hostname.to_string(),
            target: target.to_string(),
            how,
            lost,
            down: None,
            replacements: BTreeMap::new(),
            sent: 0,
            killed_sent: false,
            ready: true,
            active: true,
            back: false,
        });
    }

    /// Stops following the node (its action failed, so nothing was taken down).
    pub fn forget(&mut self, node: &str) {
        self.kills.retain(|k| k.node != node);
    }

    /// A node event from the manager, at `at` on its clock.
    pub fn on_node(
        &mut self,
        node: &str,
        at: Micros,
        change: NodeChange<'_>,
    ) -> Vec<PlatformEvent> {
        let mut out = Vec::new();
        for k in self.kills.iter_mut().filter(|k| k.node == node && !k.back) {
            if let Some(state) = change.state {
                k.ready = state == "ready";
            }
            if let Some(availability) = change.availability {
                k.active = availability == "active";
            }
            let drained = change.availability == Some("drain");
            if k.how == Takedown::Drain && drained && !k.killed_sent {
                k.killed_sent = true;
                out.push(k.mark(EventKind::Killed, at, Vec::new(), "drain (manager)"));
            }
            let marked_down = match k.how {
                Takedown::Drain => drained,
                Takedown::Command => change.state == Some("down"),
            };
            if marked_down && k.down.is_none() {
                k.down = Some(at);
            }
            k.progress(&mut out);
            if k.sent > 0 && k.ready && k.active && !k.back {
                k.back = true;
                out.push(k.mark(
                    EventKind::Back,
                    at,
                    Vec::new(),
                    "ready and active (manager)",
                ));
            }
        }
        self.kills.retain(|k| !(k.back && k.sent == 4));
        out
    }

    /// An event of a watched task, `ev.target` being the node target, that ran on `node`
    /// (hostname).
    pub fn on_task(&mut self, ev: &PlatformEvent, node: &str) -> Vec<PlatformEvent> {
        let mut out = Vec::new();
        for k in self.kills.iter_mut().filter(|k| k.target == ev.target) {
            let lost_here = k.lost.iter().find(|l| l.slot == ev.slot);
            let is_lost_task = k.lost.iter().any(|l| l.task == ev.instance);
            match ev.kind {
                EventKind::Created
                    if lost_here.is_some() && !is_lost_task && node != k.hostname =>
                {
                    let service = lost_here.map(|l| l.service.clone()).unwrap_or_default();
                    k.replacements.insert(
                        ev.slot.clone(),
                        Replacement {
                            place: TaskPlace {
                                service,
                                slot: ev.slot.clone(),
                                task: ev.instance.clone(),
                                node: node.to_string(),
                            },
                            created: ev.at,
                            running: None,
                            healthy: None,
                        },
                    );
                }
                EventKind::Started | EventKind::Healthy => {
                    if let Some(r) = k
                        .replacements
                        .values_mut()
                        .find(|r| r.place.task == ev.instance)
                    {
                        let field = if ev.kind == EventKind::Started {
                            &mut r.running
                        } else {
                            &mut r.healthy
                        };
                        field.get_or_insert(ev.at);
                    }
                }
                _ => {}
            }
            k.progress(&mut out);
        }
        out
    }
}

impl NodeKill {
    fn mark(
        &self,
        kind: EventKind,
        at: Micros,
        tasks: Vec<TaskPlace>,
        detail: &str,
    ) -> PlatformEvent {
        PlatformEvent {
            at,
            kind,
            instance: self.node.clone(),
            target: self.target.clone(),
            slot: self.hostname.clone(),
            uncertain: false,
            detail: Some(format!("node {}: {detail}", self.hostname)),
            node_kill: Some(NodeKillMark { tasks }),
        }
    }

    /// The latest time of one stage over every lost slot's replacement, once every slot has
    /// reached it.
    fn all(&self, stage: impl Fn(&Replacement) -> Option<Micros>) -> Option<Option<Micros>> {
        let mut latest = None;
        for lost in &self.lost {
            let at = stage(self.replacements.get(&lost.slot)?)?;
            latest = latest.max(Some(at));
        }
        Some(latest)
    }

    /// Sends every mark now due, in order; a stage with no lost task takes the `down` time.
    fn progress(&mut self, out: &mut Vec<PlatformEvent>) {
        let Some(down) = self.down else { return };
        if self.sent == 0 {
            let how = match self.how {
                Takedown::Drain => "drained (manager)",
                Takedown::Command => "down (manager)",
            };
            out.push(self.mark(EventKind::Died, down, self.lost.clone(), how));
            self.sent = 1;
        }
        let stages: [(EventKind, Stage, &str); 3] = [
            (
                EventKind::Created,
                |r| Some(r.created),
                "every lost task has a replacement",
            ),
            (EventKind::Started, |r| r.running, "every replacement runs"),
            (
                EventKind::Healthy,
                |r| r.healthy,
                "every replacement is healthy",
            ),
        ];
        while let Some((kind, stage, detail)) = stages.get(self.sent - 1) {
            let Some(latest) = self.all(stage) else {
                return;
            };
            let at = latest.unwrap_or(down);
            let tasks = if *kind == EventKind::Created {
                self.replacements
                    .values()
                    .map(|r| r.place.clone())
                    .collect()
            } else {
                Vec::new()
            };
            out.push(self.mark(*kind, at, tasks, detail));
            self.sent += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(slot: &str, task: &str, node: &str) -> TaskPlace {
        TaskPlace {
            service: "web".into(),
            slot: slot.into(),
            task: task.into(),
            node: node.into(),
        }
    }

    fn task_event(kind: EventKind, task: &str, slot: &str, at: Micros) -> PlatformEvent {
        PlatformEvent {
            at,
            kind,
            instance: task.into(),
            target: "workers".into(),
            slot: slot.into(),
            uncertain: false,
            detail: None,
            node_kill: None,
        }
    }

    fn kinds(events: &[PlatformEvent]) -> Vec<(EventKind, &str, Micros)> {
        events
            .iter()
            .map(|e| (e.kind, e.instance.as_str(), e.at))
            .collect()
    }

    #[test]
    fn a_drain_is_marked_from_the_manager_and_its_replacements_latest_stages() {
        let mut kills = NodeKills::default();
        let lost = vec![place("web.1", "t1", "n2"), place("web.4", "t4", "n2")];
        kills.register("N2", "n2", "workers", Takedown::Drain, lost);
        let drained = NodeChange {
            state: None,
            availability: Some("drain"),
        };
        let out = kills.on_node("N2", 100, drained);
        assert_eq!(
            kinds(&out),
            vec![(EventKind::Killed, "N2", 100), (EventKind::Died, "N2", 100)]
        );
        assert_eq!(out[1].node_kill.as_ref().unwrap().tasks.len(), 2);
        // A task of the drained node itself is no replacement; nor is one on the same node.
        let on = |kills: &mut NodeKills, kind, task: &str, slot: &str, at, node: &str| {
            kills.on_task(&task_event(kind, task, slot, at), node)
        };
        assert!(on(&mut kills, EventKind::Created, "t9", "web.1", 110, "n2").is_empty());
        assert!(on(&mut kills, EventKind::Created, "r1", "web.1", 120, "n1").is_empty());
        let out = on(&mut kills, EventKind::Created, "r4", "web.4", 130, "n3");
        assert_eq!(kinds(&out), vec![(EventKind::Created, "N2", 130)]);
        let went: Vec<(&str, &str)> = out[0]
            .node_kill
            .as_ref()
            .unwrap()
            .tasks
            .iter()
            .map(|t| (t.slot.as_str(), t.node.as_str()))
            .collect();
        assert_eq!(went, vec![("web.1", "n1"), ("web.4", "n3")]);
        assert!(on(&mut kills, EventKind::Started, "r4", "web.4", 140, "n3").is_empty());
        let out = on(&mut kills, EventKind::Started, "r1", "web.1", 150, "n1");
        assert_eq!(kinds(&out), vec![(EventKind::Started, "N2", 150)]);
        assert!(on(&mut kills, EventKind::Healthy, "r1", "web.1", 160, "n1").is_empty());
        let out = on(&mut kills, EventKind::Healthy, "r4", "web.4", 170, "n3");
        assert_eq!(kinds(&out), vec![(EventKind::Healthy, "N2", 170)]);
        let active = NodeChange {
            state: None,
            availability: Some("active"),
        };
        let out = kills.on_node("N2", 300, active);
        assert_eq!(kinds(&out), vec![(EventKind::Back, "N2", 300)]);
        assert!(kills.kills.is_empty(), "a node back and healthy is done");
    }

    #[test]
    fn a_node_lost_by_command_is_down_when_the_manager_says_so() {
        let mut kills = NodeKills::default();
        kills.register(
            "N2",
            "n2",
            "workers",
            Takedown::Command,
            vec![place("web.2", "t2", "n2")],
        );
        let change = |state| NodeChange {
            state: Some(state),
            availability: None,
        };
        assert!(kills.on_node("N2", 50, change("unknown")).is_empty());
        let out = kills.on_node("N2", 200, change("down"));
        assert_eq!(kinds(&out), vec![(EventKind::Died, "N2", 200)]);
        let lost = &out[0].node_kill.as_ref().expect("a node mark").tasks;
        assert_eq!(lost[0].task, "t2", "the down mark names the task lost");
        // Back before the replacement is healthy: the mark goes out, following continues.
        let out = kills.on_node("N2", 260, change("ready"));
        assert_eq!(kinds(&out), vec![(EventKind::Back, "N2", 260)]);
        for (kind, at) in [(EventKind::Created, 210), (EventKind::Started, 220)] {
            let out = kills.on_task(&task_event(kind, "r2", "web.2", at), "n3");
            assert_eq!(kinds(&out), vec![(kind, "N2", at)]);
        }
        let out = kills.on_task(&task_event(EventKind::Healthy, "r2", "web.2", 230), "n3");
        assert_eq!(kinds(&out), vec![(EventKind::Healthy, "N2", 230)]);
    }

    #[test]
    fn a_node_with_no_watched_task_is_whole_again_when_it_is_down() {
        let mut kills = NodeKills::default();
        kills.register("N3", "n3", "workers", Takedown::Drain, Vec::new());
        let out = kills.on_node(
            "N3",
            70,
            NodeChange {
                state: None,
                availability: Some("drain"),
            },
        );
        let marks: Vec<EventKind> = out.iter().map(|e| e.kind).collect();
        assert_eq!(
            marks,
            vec![
                EventKind::Killed,
                EventKind::Died,
                EventKind::Created,
                EventKind::Started,
                EventKind::Healthy
            ]
        );
        assert!(out.iter().all(|e| e.at == 70));
    }
}
