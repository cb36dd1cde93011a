//! The node-kill acceptance tests: drain, loss by command with undo, Ctrl-C mid-drain, and the
//! guards (a decoy service and an exempt node untouched; a drain below min_healthy refused).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::nodes::{
    check_replacements, journal, lost_slots, node_mark, placement, run_folder, ManagerNodeEvents,
    NodeLabels, NodeStatePoll,
};
use crate::common::lab::Lab;
use crate::common::rfc3339_micros;

/// The watched service: 6 tasks, 2 on each node, health checked every second.
fn web(lab: &Lab) -> String {
    let web = lab.create_service(
        "web",
        6,
        &[
            "--replicas-max-per-node",
            "4",
            "--health-interval",
            "1s",
            "--restart-delay",
            "1s",
        ],
    );
    // Swarm spreads 6 tasks 2 per node; a drain or a loss must have something to move.
    let per_node = placement(lab, &web).values().fold(
        std::collections::BTreeMap::<String, u32>::new(),
        |mut m, n| {
            *m.entry(n.clone()).or_default() += 1;
            m
        },
    );
    assert!(per_node.values().all(|n| *n == 2), "{per_node:?}");
    web
}

/// A scenario of one node kill of the lab's workers, watching `web`.
fn scenario(lab: &Lab, name: &str, web: &str, action: &str, policy: &str, extra: &str) -> String {
    format!(
        r#"version: 1
name: {name}
seed: 1
{platform}
targets:
  - name: workers
    select: {{ nodes: {{ role: worker }} }}
    watch: [{web}]
schedule: {{ max_kills: 1, every: 1s, start_after: 500ms{extra} }}
policy: {policy}
action: {action}
recovery: {{ timeout: 120s, settle: 500ms }}
slos: [ "unrecovered == 0" ]
report: {{ formats: [json, markdown, html] }}
"#,
        platform = lab.platform_yaml()
    )
}

fn mark(kill: &Value, phase: &str) -> i64 {
    rfc3339_micros(kill["phases"][phase]["at"].as_str().expect("a mark"))
}

#[test]
fn a_drained_worker_moves_its_tasks_and_is_active_again_while_the_exempt_node_and_a_decoy_are_untouched(
) {
    let Some(lab) = Lab::get("drain") else { return };
    let events = lab.record_events();
    let nodes_seen = ManagerNodeEvents::start(&lab);
    let web = web(&lab);
    // The decoy shares the lab but not the workers, so nothing but firedrill could move it.
    let decoy = lab.create_service("decoy", 2, &["--constraint", "node.role==manager"]);
    let decoy_before = placement(&lab, &decoy);
    let (n2, n3) = (lab.node(2).clone(), lab.node(3).clone());
    let mut labels = NodeLabels::new(&lab);
    labels.add(&n3, "firedrill.exempt=true");
    let before = placement(&lab, &web);
    let on_n2: BTreeSet<String> = before
        .iter()
        .filter(|(_, n)| **n == n2.node_id)
        .map(|(t, _)| t.clone())
        .collect();

    let path = lab.write(
        "drain.yaml",
        &scenario(
            &lab,
            "lab-drain",
            &web,
            "{ kind: drain, for: 8s }",
            "{ pick: 1, max_in_flight: 1, min_healthy: 4 }",
            "",
        ),
    );
    let started = Instant::now();
    let report = lab.run_passing(&path);
    eprintln!("drain run took {:?}", started.elapsed());
    let kills = report["kills"].as_array().expect("kills");
    assert_eq!(kills.len(), 1, "{report:#}");
    let kill = &kills[0];
    assert_eq!(
        kill["victim"],
        n2.node_id.as_str(),
        "the exempt n3 is never picked"
    );
    let folder = run_folder(&lab.reports_dir());
    let journal = journal(&folder);

    // kill and down: the manager's own drain event; the lost tasks: those n2 held.
    let drained = nodes_seen.time_of(&n2.node_id, |c| c.availability.as_deref() == Some("drain"));
    assert_eq!(
        mark(kill, "kill"),
        drained,
        "kill = the manager's drain event"
    );
    assert_eq!(
        mark(kill, "down"),
        drained,
        "down = the manager marks it drained"
    );
    let down = node_mark(&journal, &n2.node_id, "died");
    let lost: BTreeSet<String> = down["node_kill"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(lost, on_n2, "the tasks lost are those n2 held");
    let created = node_mark(&journal, &n2.node_id, "created");
    let went = check_replacements(&lab, &events, kill, created, &n2.node_id);
    assert_eq!(
        went.keys().cloned().collect::<BTreeSet<_>>(),
        lost_slots(down),
        "every lost slot has a replacement"
    );
    // Node back: the manager's event that made n2 active again, after the drain's 8 s.
    let active = nodes_seen.time_of(&n2.node_id, |c| {
        c.availability.as_deref() == Some("active") && c.at > drained
    });
    let back = node_mark(&journal, &n2.node_id, "back");
    assert_eq!(
        back["at"].as_i64(),
        Some(active),
        "node back = the manager's event"
    );
    assert!(active - drained >= 8_000_000, "active again after `for`");
    let availability = lab.manager_docker_ok(&[
        "node",
        "inspect",
        "--format",
        "{{.Spec.Availability}}",
        &n2.node_id,
    ]);
    assert_eq!(availability, "active", "n2 is active at the end of the run");

    // Safety: n3 was never drained, and the decoy kept its tasks where they were.
    assert!(
        !nodes_seen
            .all()
            .iter()
            .any(|c| c.node == n3.node_id && c.availability.as_deref() == Some("drain")),
        "the exempt node was drained: {:?}",
        nodes_seen.all()
    );
    let decoy_after = placement(&lab, &decoy);
    assert_eq!(decoy_after, decoy_before, "the decoy's tasks changed");
    let decoy_died = (1..=3).any(|i| {
        events.of_node(i).iter().any(|e| {
            e.action == "die" && e.attributes["com.docker.swarm.service.name"] == decoy.as_str()
        })
    });
    assert!(!decoy_died, "a decoy container died");
    let summary = std::fs::read_to_string(folder.join("summary.md")).expect("summary.md");
    assert!(summary.contains(&n2.hostname), "{summary}");
    eprintln!(
        "drain of {}: down +{} µs, restored +{} µs, back +{} µs, tasks {} → {:?}",
        n2.hostname,
        mark(kill, "down") - mark(kill, "kill"),
        mark(kill, "restored") - mark(kill, "kill"),
        active - mark(kill, "kill"),
        lost.len(),
        went
    );
}

#[test]
fn a_worker_cut_off_by_a_command_is_down_in_the_managers_view_and_back_after_its_undo() {
    let Some(lab) = Lab::get("node-loss") else {
        return;
    };
    let events = lab.record_events();
    let nodes_seen = ManagerNodeEvents::start(&lab);
    let web = web(&lab);
    let n3 = lab.node(3).clone();
    // Only n3 may go: n2 is exempt for this run.
    let mut labels = NodeLabels::new(&lab);
    labels.add(lab.node(2), "firedrill.exempt=true");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lab/swarm-lab");
    let dir = lab.state_dir().display().to_string();
    let action = format!(
        "{{ kind: command, run: [env, \"FIREDRILL_LAB_DIR={dir}\", \"{s}\", cut, \"{{hostname}}\"], \
         undo: [env, \"FIREDRILL_LAB_DIR={dir}\", \"{s}\", heal, \"{{hostname}}\"], undo_after: 25s }}",
        s = script.display()
    );
    let path = lab.write(
        "loss.yaml",
        &scenario(
            &lab,
            "lab-loss",
            &web,
            &action,
            "{ pick: 1, max_in_flight: 1, min_healthy: 4 }",
            "",
        ),
    );
    let poll = NodeStatePoll::start(lab.manager());
    lab.may_be_cut(3);
    let report = lab.run_passing(&path);
    let kill = &report["kills"][0];
    assert_eq!(kill["victim"], n3.node_id.as_str());
    let folder = run_folder(&lab.reports_dir());
    let journal = journal(&folder);

    // down: the manager's node event that marked n3 down, which its node list then shows.
    let down_at = nodes_seen.time_of(&n3.node_id, |c| c.state.as_deref() == Some("down"));
    assert_eq!(
        mark(kill, "down"),
        down_at,
        "down = the manager's node event"
    );
    let (last_ready, first_down) = poll.first_seen(&n3.node_id, "down");
    assert!(
        last_ready - 1_000_000 <= down_at && down_at <= first_down,
        "the manager's node list saw n3 down at {first_down}, ready at {last_ready}; mark {down_at}"
    );
    assert!(mark(kill, "kill") < down_at);
    let down = node_mark(&journal, &n3.node_id, "died");
    assert_eq!(lost_slots(down).len(), 2, "n3 held 2 tasks of web");
    // The manager's view is the capacity's: its 2 tasks are lost when n3 is marked down.
    let at_down: Vec<i64> = journal
        .iter()
        .filter(|l| l["type"] == "capacity" && l["at"].as_i64() == Some(down_at))
        .filter_map(|l| l["healthy"].as_i64())
        .collect();
    assert_eq!(
        at_down.iter().min(),
        Some(&4),
        "capacity at the down mark: {at_down:?}"
    );
    let created = node_mark(&journal, &n3.node_id, "created");
    check_replacements(&lab, &events, kill, created, &n3.node_id);
    // The undo healed it: node back is the manager's event making it ready again.
    let ready = nodes_seen.time_of(&n3.node_id, |c| {
        c.state.as_deref() == Some("ready") && c.at > down_at
    });
    let back = node_mark(&journal, &n3.node_id, "back");
    assert_eq!(
        back["at"].as_i64(),
        Some(ready),
        "node back = the manager's ready event"
    );
    assert!(
        ready - mark(kill, "kill") >= 25_000_000,
        "healed after undo_after"
    );
    assert_eq!(lab.node_state(3).as_deref(), Ok("ready"));
    eprintln!(
        "loss of {}: down +{} µs, restored +{} µs, back +{} µs",
        n3.hostname,
        down_at - mark(kill, "kill"),
        mark(kill, "restored") - mark(kill, "kill"),
        ready - mark(kill, "kill")
    );
}

#[test]
fn ctrl_c_in_the_middle_of_a_drain_sets_the_node_active_again() {
    let Some(lab) = Lab::get("drain-ctrl-c") else {
        return;
    };
    let web = web(&lab);
    let n2 = lab.node(2).clone();
    let mut labels = NodeLabels::new(&lab);
    labels.add(lab.node(3), "firedrill.exempt=true");
    let path = lab.write(
        "drain-long.yaml",
        &scenario(
            &lab,
            "lab-drain-ctrl-c",
            &web,
            "{ kind: drain, for: 300s }",
            "{ pick: 1, max_in_flight: 1, min_healthy: 4 }",
            "",
        ),
    );
    let mut child = lab
        .firedrill()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(lab.reports_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn firedrill");
    let availability = || {
        lab.manager_docker(&[
            "node",
            "inspect",
            "--format",
            "{{.Spec.Availability}}",
            &n2.node_id,
        ])
        .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while availability() != "drain" {
        assert!(Instant::now() < deadline, "n2 was never drained");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: kill(2) on the PID of the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    crate::common::wait_with_deadline(&mut child, Duration::from_secs(90));
    let status = child.wait().expect("status");
    assert_eq!(status.code(), Some(130), "an interrupted run exits 130");
    assert_eq!(
        availability(),
        "active",
        "Ctrl-C mid-drain leaves n2 active"
    );
}

#[test]
fn a_drain_that_would_break_min_healthy_is_refused_with_its_reason() {
    let Some(lab) = Lab::get("drain-refused") else {
        return;
    };
    let nodes_seen = ManagerNodeEvents::start(&lab);
    let web = web(&lab);
    // 6 healthy, floor 5: every worker holds 2, so taking either down leaves 4.
    let path = lab.write(
        "drain-refused.yaml",
        &scenario(
            &lab,
            "lab-drain-refused",
            &web,
            "{ kind: drain, for: 5s }",
            "{ pick: 1, max_in_flight: 1, min_healthy: 5 }",
            ", duration: 4s",
        ),
    );
    let (output, report) = lab.run_for_report(&path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        report["kills"].as_array().map(Vec::len),
        Some(0),
        "{report:#}"
    );
    let journal = journal(&run_folder(&lab.reports_dir()));
    let refusals: Vec<&str> = journal
        .iter()
        .filter(|l| l["type"] == "decision")
        .filter_map(|l| l["refused"].as_str())
        .collect();
    assert!(!refusals.is_empty(), "no decision was made");
    for why in &refusals {
        assert!(
            why.starts_with("refused: min_healthy 5: 6 healthy, floor 5 of 6 desired")
                && why.contains("holds 2"),
            "{why}"
        );
    }
    assert!(
        !nodes_seen
            .all()
            .iter()
            .any(|c| c.availability.as_deref() == Some("drain")),
        "a node was drained: {:?}",
        nodes_seen.all()
    );
    eprintln!("{} decisions refused: {}", refusals.len(), refusals[0]);
}
