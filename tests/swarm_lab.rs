//! firedrill against a real 3-node Swarm (lab/swarm-lab; see tests/common/lab.rs for which lab
//! and how it is cleaned up): firedrill reaches the manager over TLS and each worker's engine
//! through `platform.nodes`, kills tasks on every node, and times each kill to the microsecond
//! with the engine of the node the task ran on, which the test checks against that engine's
//! own events read on the node's unix socket. Every lab test is in this one binary and they
//! run one at a time.

mod common;
#[path = "swarm_lab/node_kills.rs"]
mod node_kills;
#[path = "swarm_lab/nodes.rs"]
mod nodes;

use std::collections::{BTreeMap, BTreeSet};

use common::lab::Lab;
use firedrill::vocabulary::rng::{SeededRng, Stream};
use serde_json::Value;

/// The seed and the number of kills: see the test for why together they reach every node.
const SEED: u64 = 7;
const KILLS: usize = 6;
/// Two tasks on each of the 3 nodes.
const REPLICAS: usize = 6;

fn mark(kill: &Value, phase: &str) -> i64 {
    common::rfc3339_micros(
        kill["phases"][phase]["at"]
            .as_str()
            .unwrap_or_else(|| panic!("no {phase} mark in {kill:#}")),
    )
}

#[test]
fn task_kills_on_every_node_are_timed_by_the_engine_of_the_node_the_task_ran_on() {
    let Some(lab) = Lab::get("task_kills_on_every_node") else {
        return;
    };
    assert_eq!(lab.nodes().len(), 3, "this test wants a 3-node lab");

    // Why the kills reach every node whatever the placement: `min_healthy: 5` allows a kill
    // only when all 6 tasks are healthy, so each decision draws 1 of the same 6 tasks in slot
    // order, and the first 6 draws of this seed are 6 different slots. Each node holds 2.
    let mut rng = SeededRng::new(SEED, Stream::Selection);
    let drawn: BTreeSet<usize> = (0..KILLS).map(|_| rng.choose(REPLICAS, 1)[0]).collect();
    assert_eq!(
        drawn.len(),
        REPLICAS,
        "seed {SEED} no longer draws every slot"
    );

    let events = lab.record_events();
    let web = lab.create_service(
        "web",
        REPLICAS as u32,
        &[
            "--replicas-max-per-node",
            "2",
            "--restart-delay",
            "1s",
            "--health-interval",
            "1s",
        ],
    );
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for t in lab.running_tasks(&web) {
        *per_node
            .entry(lab.node_of_task(&lab.task(&t)).hostname.clone())
            .or_default() += 1;
    }
    let everywhere: BTreeMap<String, usize> = lab
        .nodes()
        .iter()
        .map(|n| (n.hostname.clone(), 2))
        .collect();
    assert_eq!(per_node, everywhere, "two tasks on each node");

    let path = lab.write(
        "every-node.yaml",
        &format!(
            r#"version: 1
name: lab-every-node
seed: {SEED}
{platform}
targets:
  - name: web
    select: {{ service: {web} }}
    health: {{ from: docker }}
schedule: {{ duration: 300s, max_kills: {KILLS}, every: 1s, start_after: 500ms }}
policy: {{ pick: 1, max_in_flight: 1, min_healthy: 5 }}
recovery: {{ timeout: 60s, settle: 200ms }}
slos: [ "unrecovered == 0", "kills >= {KILLS}" ]
report: {{ formats: [json, markdown, html] }}
"#,
            platform = lab.platform_yaml()
        ),
    );
    let report = lab.run_passing(&path);
    assert_eq!(report["platform"], "swarm");
    let kills = report["kills"].as_array().expect("kills");
    assert_eq!(kills.len(), KILLS, "{report:#}");

    let mut kills_on: BTreeMap<String, u32> = BTreeMap::new();
    let mut slots: BTreeSet<u64> = BTreeSet::new();
    for kill in kills {
        assert!(kill["unrecovered"].is_null(), "{kill:#}");
        let recovery = kill["recovery_us"].as_i64().expect("recovered");
        let victim = lab.task(kill["victim"].as_str().expect("victim"));
        let replacement = lab.task(kill["replacement"].as_str().expect("a replacement"));
        assert_eq!(replacement["Slot"], victim["Slot"], "{kill:#}");
        slots.insert(victim["Slot"].as_u64().expect("slot"));
        let node = lab.node_of_task(&victim);
        let new_node = lab.node_of_task(&replacement);
        *kills_on.entry(node.hostname.clone()).or_default() += 1;

        // Ground truth: the container events of the node each container ran on, and the
        // manager's CreatedAt of the replacement task. A container is killed and started once.
        let victim_container = Lab::container_of(&victim);
        let replacement_container = Lab::container_of(&replacement);
        let kill_truth = events.time_of(node.index, &victim_container, "kill", 0);
        let die_truth = events.time_of(node.index, &victim_container, "die", kill_truth);
        let created_truth =
            common::rfc3339_micros(replacement["CreatedAt"].as_str().expect("CreatedAt"));
        let start_truth = events.time_of(new_node.index, &replacement_container, "start", 0);
        let healthy_truth = events.time_of(
            new_node.index,
            &replacement_container,
            "health_status: healthy",
            start_truth,
        );
        let signal = events
            .of_node(node.index)
            .into_iter()
            .find(|e| e.id == victim_container && e.action == "kill")
            .map(|e| e.attributes["signal"].clone());
        assert_eq!(
            signal,
            Some(Value::from("9")),
            "firedrill's kill is a SIGKILL"
        );
        let on = |what: &str| format!("{what} of {} on {}: {kill:#}", kill["slot"], node.hostname);
        assert_eq!(mark(kill, "kill"), kill_truth, "{}", on("kill"));
        assert_eq!(mark(kill, "down"), die_truth, "{}", on("die"));
        assert_eq!(mark(kill, "replaced"), created_truth, "{}", on("CreatedAt"));
        assert_eq!(mark(kill, "running"), start_truth, "{}", on("start"));
        assert_eq!(
            mark(kill, "healthy"),
            healthy_truth,
            "{}",
            on("health_status")
        );
        eprintln!(
            "{} on {}: down +{} µs, running +{} µs, healthy +{} µs, recovery {} µs",
            kill["slot"],
            node.hostname,
            die_truth - kill_truth,
            start_truth - kill_truth,
            healthy_truth - kill_truth,
            recovery
        );
    }
    assert_eq!(
        slots,
        (1..=REPLICAS as u64).collect(),
        "seed {SEED} kills every slot"
    );
    let hostnames: BTreeSet<String> = lab.nodes().iter().map(|n| n.hostname.clone()).collect();
    assert_eq!(
        kills_on.keys().cloned().collect::<BTreeSet<_>>(),
        hostnames,
        "every node had a kill"
    );

    // firedrill reached every node by an engine of its own.
    let facts = &report["platform_facts"]["nodes"];
    for node in lab.nodes() {
        let fact = &facts[&node.node_id];
        assert_eq!(fact["hostname"], node.hostname.as_str(), "{facts:#}");
        assert!(
            fact["engine"].is_string(),
            "no engine for {}: {facts:#}",
            node.hostname
        );
    }

    // The per-node breakdown, in report.json, summary.md and report.html, names the 3 nodes
    // with the kills each had.
    let by_node: BTreeMap<String, (u64, u64)> = report["breakdowns"]["node"]
        .as_array()
        .expect("per-node breakdown")
        .iter()
        .map(|row| {
            (
                row["name"].as_str().expect("name").to_string(),
                (
                    row["kills"].as_u64().expect("kills"),
                    row["recovered"].as_u64().expect("recovered"),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (u64, u64)> = kills_on
        .iter()
        .map(|(host, n)| (host.clone(), (u64::from(*n), u64::from(*n))))
        .collect();
    assert_eq!(by_node, expected, "{:#}", report["breakdowns"]);

    let folder = common::run_dir(&lab.reports_dir());
    common::schema::validate_report_file(&folder.join("report.json"))
        .unwrap_or_else(|e| panic!("report.json breaks the schema: {e}"));
    let summary = std::fs::read_to_string(folder.join("summary.md")).expect("summary.md");
    let html = std::fs::read_to_string(folder.join("report.html")).expect("report.html");
    let node_table = html
        .split("data-dimension=\"node\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("report.html has a per-node table");
    for (host, n) in &kills_on {
        let row = format!("| {host} | {n} | {n} |");
        assert!(
            summary.lines().any(|l| l.starts_with(&row)),
            "summary.md lacks {row:?}:\n{summary}"
        );
        let cell =
            format!("<tr><td>{host}</td><td class=\"num\">{n}</td><td class=\"num\">{n}</td>");
        assert!(
            node_table.contains(&cell),
            "report.html lacks {cell:?}:\n{node_table}"
        );
    }
    eprintln!("kills per node: {kills_on:?}");
}
