//! Node kills: each kill of a Swarm node gets the tasks it took down, where they went and when
//! the node was back, from the platform's `node_kill` event lines; task kills get none.

use super::*;
use crate::platform::{EventKind, NodeKillMark, PlatformEvent, PlatformFacts, TaskPlace};
use crate::report::build::fixtures;

/// The node's id in the synthetic journals.
const NODE: &str = "n2id";

fn task(slot: &str, task: &str, node: &str) -> TaskPlace {
    TaskPlace {
        service: "web".into(),
        slot: slot.into(),
        task: task.into(),
        node: node.into(),
    }
}

/// A `node_kill` event line about the node.
fn node_event(kind: EventKind, ms: i64, tasks: Vec<TaskPlace>) -> Entry {
    Entry::Event(PlatformEvent {
        at: t(ms),
        kind,
        instance: NODE.into(),
        target: "web".into(),
        slot: "n2".into(),
        uncertain: false,
        detail: None,
        node_kill: Some(NodeKillMark { tasks }),
    })
}

fn node_kill(kill_id: u32, ms: i64) -> Entry {
    Entry::Kill(KillEntry {
        kill_id,
        seq: kill_id,
        at: t(ms),
        target: "web".into(),
        victim: NODE.into(),
        slot: "n2".into(),
        name: "n2".into(),
        action: "drain for 15s".into(),
        detail: "drained node n2".into(),
    })
}

fn node_phase(kill_id: u32, phase: Phase, ms: i64) -> Entry {
    Entry::Phase {
        kill_id,
        phase,
        at: t(ms),
        instance: NODE.into(),
        uncertain: false,
    }
}

/// The `node_kill` object of the fixture's event line of `kind`.
fn recorded_mark(name: &str, kind: &str) -> Vec<TaskPlace> {
    let text = std::fs::read_to_string(fixtures::path(name)).unwrap();
    let lines: Vec<PlatformEvent> = text
        .lines()
        .filter_map(|l| match serde_json::from_str(l).unwrap() {
            Entry::Event(e) if e.node_kill.is_some() && serde_name(e.kind) == kind => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 1, "{name}: one {kind} node mark");
    lines[0].node_kill.clone().unwrap().tasks
}

fn serde_name(kind: EventKind) -> String {
    serde_json::to_value(kind)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn slots_and_nodes(tasks: &[TaskPlace]) -> Vec<(&str, &str)> {
    tasks
        .iter()
        .map(|t| (t.slot.as_str(), t.node.as_str()))
        .collect()
}

#[test]
fn a_recorded_drain_and_a_recorded_node_loss_say_what_the_node_took_down_and_where_it_went() {
    let cases = [
        (
            "recorded-swarm-node-drain",
            [("web.1", "fdlab-n2"), ("web.4", "fdlab-n2")],
            [("web.1", "fdlab-n1"), ("web.4", "fdlab-n3")],
        ),
        (
            "recorded-swarm-node-loss",
            [("web.1", "fdlab-n2"), ("web.2", "fdlab-n2")],
            [("web.1", "fdlab-n3"), ("web.2", "fdlab-n1")],
        ),
    ];
    for (name, lost, moved) in cases {
        let report = fixtures::report(name);
        assert_eq!(report.kills.len(), 1, "{name}");
        let kill = &report.kills[0];
        let node = kill
            .node
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no node"));
        assert_eq!(node.hostname, "fdlab-n2", "{name}");
        assert_eq!(node.tasks_lost.len(), 2, "{name}");
        assert_eq!(slots_and_nodes(&node.tasks_lost), lost, "{name}");
        assert_eq!(slots_and_nodes(&node.moved_to), moved, "{name}");
        // The same tasks as the journal's lines, put in slot order.
        let mut created = recorded_mark(name, "created");
        created.sort_by(|a, b| a.slot.cmp(&b.slot));
        assert_eq!(node.moved_to, created, "{name}");
        let mut died = recorded_mark(name, "died");
        died.sort_by(|a, b| a.slot.cmp(&b.slot));
        assert_eq!(node.tasks_lost, died, "{name}");

        // The node came back after the watched services were whole again on other nodes.
        let back = node
            .back
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no back"));
        let restored = &kill.phases[&Phase::Restored];
        assert!(
            back.since_kill_us > restored.since_kill_us,
            "{name}: back {back:?} restored {restored:?}"
        );
        let kill_at = kill.phases[&Phase::Kill].at;
        assert_eq!(
            (back.at - kill_at).num_microseconds(),
            Some(back.since_kill_us),
            "{name}"
        );
        assert!(!back.uncertain);

        // Grouped by the node's hostname, and under no service.
        let by_node = &report.breakdowns["node"];
        assert_eq!(by_node.len(), 1, "{name}: {by_node:?}");
        assert_eq!(
            (by_node[0].name.as_str(), by_node[0].kills),
            ("fdlab-n2", 1)
        );
        assert!(!report.breakdowns.contains_key("service"), "{name}");
    }
    // The back marks as recorded: 15 s of drain, and a cut node healed after about 32 s.
    let back = |name| {
        fixtures::report(name).kills[0]
            .node
            .clone()
            .unwrap()
            .back
            .unwrap()
    };
    assert_eq!(back("recorded-swarm-node-drain").since_kill_us, 15_016_061);
    assert_eq!(back("recorded-swarm-node-loss").since_kill_us, 31_975_577);
}

#[test]
fn a_node_killed_twice_gives_each_kill_its_own_marks() {
    let lost_1 = vec![task("web.2", "t2", "n2"), task("web.1", "t1", "n2")];
    let moved_1 = vec![task("web.1", "t1b", "n1"), task("web.2", "t2b", "n3")];
    let lost_2 = vec![task("web.3", "t3", "n2")];
    let moved_2 = vec![task("web.3", "t3b", "n1")];
    let report = web_run(
        vec![
            vec![
                node_kill(1, 1_000),
                node_phase(1, Phase::Kill, 1_000),
                node_event(EventKind::Died, 1_000, lost_1.clone()),
                node_phase(1, Phase::Down, 1_000),
                node_event(EventKind::Created, 1_002, moved_1.clone()),
                node_phase(1, Phase::Replaced, 1_002),
                node_phase(1, Phase::Restored, 3_000),
                node_event(EventKind::Back, 16_000, Vec::new()),
            ],
            // The second drain's marks reach the journal before its kill line, as they may
            // while the action is still on its way, and the manager's clock is a little behind
            // firedrill's: its down mark is stamped before the kill mark, after the first
            // kill's. The engine's phase lines pair it with the second.
            vec![
                node_event(EventKind::Died, 20_000, lost_2.clone()),
                node_event(EventKind::Created, 20_001, moved_2.clone()),
                node_kill(2, 20_010),
                node_phase(2, Phase::Kill, 20_010),
                node_phase(2, Phase::Down, 20_000),
                node_phase(2, Phase::Replaced, 20_001),
                node_phase(2, Phase::Restored, 22_000),
            ],
        ],
        40_000,
    );
    let [one, two] = [&report.kills[0], &report.kills[1]].map(|k| k.node.clone().unwrap());
    // In slot order, whatever order the platform listed them in.
    assert_eq!(
        one.tasks_lost,
        vec![task("web.1", "t1", "n2"), task("web.2", "t2", "n2")]
    );
    assert_eq!(one.moved_to, moved_1);
    assert_eq!(one.back.as_ref().map(|b| b.since_kill_us), Some(15_000_000));
    assert_eq!(
        one.hostname, "n2",
        "the victim's name without platform facts"
    );
    assert_eq!(two.tasks_lost, lost_2);
    assert_eq!(two.moved_to, moved_2);
    assert_eq!(two.back, None, "the run ended before the node was back");
}

#[test]
fn a_mark_a_little_before_its_only_kill_is_still_its_own() {
    // The kill mark on firedrill's clock, the manager's a few milliseconds behind it.
    let report = web_run(
        vec![vec![
            node_kill(1, 1_000),
            node_event(EventKind::Died, 995, vec![task("web.1", "t1", "n2")]),
            node_event(EventKind::Back, 900, Vec::new()),
        ]],
        5_000,
    );
    let node = report.kills[0].node.as_ref().unwrap();
    assert_eq!(node.tasks_lost.len(), 1);
    assert_eq!(node.back.as_ref().map(|b| b.since_kill_us), Some(-100_000));
    // Further off than the tolerance, a mark is no kill's.
    let report = web_run(
        vec![vec![
            node_kill(1, 1_000),
            node_event(EventKind::Back, 800, Vec::new()),
        ]],
        5_000,
    );
    assert!(report.kills[0].node.is_none());
}

#[test]
fn a_node_the_facts_name_gets_a_section_even_if_it_never_went_down() {
    let facts: PlatformFacts = serde_json::from_value(serde_json::json!({
        "nodes": {NODE: {"hostname": "fdlab-n2", "role": "worker", "availability": "drain",
                          "state": "ready", "engine": null, "manager_of_firedrill": false}},
        "placement": {},
    }))
    .unwrap();
    let report = web_run(
        vec![vec![
            node_kill(1, 1_000),
            Entry::PlatformFacts {
                at: t(2_000),
                facts: Box::new(facts),
            },
        ]],
        5_000,
    );
    let node = report.kills[0].node.as_ref().unwrap();
    assert_eq!(node.hostname, "fdlab-n2");
    assert!(node.tasks_lost.is_empty() && node.moved_to.is_empty() && node.back.is_none());
    // The placement does not name the node, yet the kill landed on it.
    let by_node = &report.breakdowns["node"];
    assert_eq!(
        (by_node[0].name.as_str(), by_node[0].kills),
        ("fdlab-n2", 1)
    );
}

#[test]
fn task_kills_have_no_node_section() {
    for name in [
        "recorded-swarm-probes",
        "recorded-swarm-global",
        "shop-nightly",
        "recorded-local-demo",
    ] {
        let report = fixtures::report(name);
        assert!(!report.kills.is_empty(), "{name}");
        assert!(report.kills.iter().all(|k| k.node.is_none()), "{name}");
        let json: serde_json::Value =
            serde_json::from_slice(&crate::report::json::render(&report)).unwrap();
        for k in json["kills"].as_array().unwrap() {
            assert!(k.get("node").is_none(), "{name}: {k}");
        }
    }
}
