//! `firedrill run` against a real single-node Swarm: five kills of a 3-replica service, each
//! replaced by a new task in the victim's slot and timed within 5 ms of the ground truth the
//! test takes itself (the engine's container events and the manager's task timestamps); a
//! decoy service outside the selector keeps its tasks; a `min_healthy: 100%` guard refuses
//! every kill and the report says why. Every swarm test is in this one binary and they run
//! one at a time (see tests/common/swarm.rs for Swarm mode's lifecycle).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

use common::docker::{DaemonEvent, EventLog};
use common::swarm::SwarmRun;
use serde_json::Value;

/// Agreement required between firedrill's recovery and the ground truth.
const TOLERANCE_US: i64 = 5_000;

/// Runs the scenario to its end; it must pass.
fn run_firedrill(run: &SwarmRun, scenario: &Path) -> Value {
    common::run_passing(scenario, &run.run.dir.path().join("reports"))
}

fn mark(kill: &Value, phase: &str) -> i64 {
    common::rfc3339_micros(
        kill["phases"][phase]["at"]
            .as_str()
            .unwrap_or_else(|| panic!("no {phase} mark in {kill:#}")),
    )
}

fn container_of(task: &Value) -> String {
    task["Status"]["ContainerStatus"]["ContainerID"]
        .as_str()
        .expect("task has a container")
        .to_string()
}

/// The first time at or after `after` (µs) when `n` containers of `service` are healthy, by
/// replaying the engine's own events for that service's containers.
fn restored_at(
    events: &[DaemonEvent],
    service: &str,
    healthy_at_start: &[String],
    n: usize,
    after: i64,
) -> Option<i64> {
    let mut healthy: BTreeSet<String> = healthy_at_start.iter().cloned().collect();
    let mut ordered: Vec<&DaemonEvent> = events
        .iter()
        .filter(|e| e.attributes["com.docker.swarm.service.name"] == service)
        .collect();
    ordered.sort_by_key(|e| e.time_nano);
    for e in ordered {
        match e.action.as_str() {
            "die" | "health_status: unhealthy" => {
                healthy.remove(&e.id);
            }
            "health_status: healthy" => {
                healthy.insert(e.id.clone());
            }
            _ => {}
        }
        let at = e.time_nano / 1_000;
        if at >= after && healthy.len() >= n {
            return Some(at);
        }
    }
    None
}

fn scenario(run: &SwarmRun, name: &str, service: &str, rest: &str) -> std::path::PathBuf {
    run.run.write(
        &format!("{name}.yaml"),
        &format!(
            r#"version: 1
name: {name}
seed: 7
platform: {{ kind: swarm }}
targets:
  - name: web
    select: {{ service: {service} }}
    health: {{ from: docker }}
{rest}
report: {{ formats: [json, markdown] }}
"#
        ),
    )
}

#[test]
fn five_kills_are_each_replaced_in_the_victims_slot_and_timed_against_ground_truth() {
    let Some(run) = SwarmRun::start("swarm-slots") else {
        return;
    };
    let log = EventLog::start(&run.run);
    let web = run.create_service(
        "web",
        3,
        &["--health-interval", "1s", "--restart-delay", "1s"],
    );
    let decoy = run.create_service("decoy", 2, &["--health-interval", "1s"]);
    let decoy_before = run.running_tasks(&decoy);
    let web_start: Vec<String> = run
        .running_tasks(&web)
        .iter()
        .map(|t| container_of(&run.task(t)))
        .collect();
    let path = scenario(
        &run,
        "swarm-slots",
        &web,
        "schedule: { duration: 120s, max_kills: 5, every: 1s, start_after: 500ms }\n\
         policy: { pick: 1, max_in_flight: 1, min_healthy: 66% }\n\
         recovery: { timeout: 60s, settle: 200ms }\n\
         slos: [ \"unrecovered == 0\", \"kills >= 5\" ]",
    );
    let report = run_firedrill(&run, &path);
    assert_eq!(report["platform"], "swarm");
    let kills = report["kills"].as_array().expect("kills");
    assert_eq!(kills.len(), 5, "{report:#}");

    let mut healthy_start = web_start.clone();
    for kill in kills {
        let victim_id = kill["victim"].as_str().expect("victim");
        let replacement_id = kill["replacement"].as_str().expect("a replacement");
        assert!(kill["unrecovered"].is_null(), "{kill:#}");
        let victim = run.task(victim_id);
        let replacement = run.task(replacement_id);
        // A new task, in the victim's slot of the same service.
        assert_ne!(victim_id, replacement_id);
        assert_eq!(replacement["ServiceID"], victim["ServiceID"]);
        assert_eq!(replacement["Slot"], victim["Slot"], "{kill:#}");
        assert_eq!(
            kill["slot"].as_str(),
            Some(format!("{web}.{}", victim["Slot"]).as_str())
        );
        // Phases in time order.
        let order = ["kill", "down", "replaced", "running", "healthy", "restored"];
        let times: Vec<i64> = order.iter().map(|p| mark(kill, p)).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "phases out of order {times:?}: {kill:#}"
        );
        // Ground truth: the engine's kill and die of the victim's container, the manager's
        // CreatedAt of the replacement task, and the engine's events for when the service
        // was back at 3 healthy containers.
        let victim_container = container_of(&victim);
        let replacement_container = container_of(&replacement);
        let kill_truth = log.time_of(&victim_container, "kill", mark(kill, "kill") - 1_000_000);
        let die_truth = log.time_of(&victim_container, "die", kill_truth);
        let created_truth =
            common::rfc3339_micros(replacement["CreatedAt"].as_str().expect("CreatedAt"));
        let start_truth = log.time_of(&replacement_container, "start", kill_truth);
        let healthy_truth = log.time_of(
            &replacement_container,
            "health_status: healthy",
            start_truth,
        );
        let restored_truth = restored_at(&log.snapshot(), &web, &healthy_start, 3, die_truth)
            .expect("the service got back to 3 healthy containers");
        assert_eq!(
            mark(kill, "kill"),
            kill_truth,
            "kill is the engine's kill event"
        );
        assert_eq!(
            mark(kill, "down"),
            die_truth,
            "down is the engine's die event"
        );
        assert_eq!(
            mark(kill, "replaced"),
            created_truth,
            "replaced is the manager's CreatedAt"
        );
        assert_eq!(
            mark(kill, "running"),
            start_truth,
            "running is the engine's start event"
        );
        assert_eq!(
            mark(kill, "healthy"),
            healthy_truth,
            "healthy is the health_status event"
        );
        let truth = restored_truth - kill_truth;
        let recovery = kill["recovery_us"].as_i64().expect("recovery_us");
        assert!(
            (recovery - truth).abs() <= TOLERANCE_US,
            "firedrill says {recovery} µs, ground truth {truth} µs: {kill:#}"
        );
        healthy_start.retain(|c| *c != victim_container);
        healthy_start.push(replacement_container);
    }

    // The decoy service outside the selector kept every task.
    assert_eq!(
        run.running_tasks(&decoy),
        decoy_before,
        "a decoy task was replaced"
    );

    // What the report says about the service and where the kills landed.
    let facts = &report["platform_facts"]["services"][&web];
    assert_eq!(facts["restart_policy"]["delay"], "1s", "{facts:#}");
    assert_eq!(facts["restart_policy"]["condition"], "any");
    assert_eq!(facts["desired_tasks"], 3);
    assert!(facts["update_config"].is_object());
    assert!(
        report["platform_facts"]["services"].get(&decoy).is_none(),
        "the decoy is not a target"
    );
    let by_service = report["breakdowns"]["service"]
        .as_array()
        .expect("per-service");
    assert_eq!(by_service.len(), 1);
    assert_eq!(by_service[0]["name"], web.as_str());
    assert_eq!(by_service[0]["kills"], 5);
    assert_eq!(by_service[0]["recovered"], 5);
    let by_node = report["breakdowns"]["node"].as_array().expect("per-node");
    let hostname = common::docker::docker_ok(&["info", "--format", "{{.Name}}"]);
    assert_eq!(by_node.len(), 1);
    assert_eq!(by_node[0]["name"], hostname.as_str());
    assert_eq!(by_node[0]["kills"], 5);

    // The real report.json, with its swarm fields, matches the committed schema.
    let out_dir = run.run.dir.path().join("reports");
    common::schema::validate_report_file(&common::run_dir(&out_dir).join("report.json"))
        .unwrap_or_else(|e| panic!("report.json breaks the schema: {e}"));

    // summary.md shows the restart policy that explains the boot span.
    let summary =
        std::fs::read_to_string(common::run_dir(&out_dir).join("summary.md")).expect("summary");
    let row = summary
        .lines()
        .find(|l| l.starts_with(&format!("| {web} | replicated | 3 |")))
        .unwrap_or_else(|| panic!("no service row in:\n{summary}"));
    assert!(row.contains("| any | 1s | unlimited |"), "{row}");
}

#[test]
fn a_service_selector_that_matches_no_running_task_exits_2_and_names_the_services() {
    let Some(run) = SwarmRun::start("swarm-empty-selector") else {
        return;
    };
    let present = run.create_service("present", 1, &["--health-interval", "1s"]);
    let idle = run.create_service("idle", 0, &[]);
    let before = run.running_tasks(&present);
    let absent = run.service_name("absent");
    // A service that does not exist: the error lists the services that do, closest first.
    // A service that exists with no task running: the error says so.
    for (name, service, near) in [
        (
            "empty-absent",
            &absent,
            "no service matches; the services on this Swarm:".to_string(),
        ),
        (
            "empty-idle",
            &idle,
            format!("service {idle} matches, but none of its tasks runs (no tasks)"),
        ),
    ] {
        let path = scenario(
            &run,
            name,
            service,
            "schedule: { duration: 2s, every: 500ms }",
        );
        for args in [&["run"][..], &["run", "--dry-run"], &["targets"]] {
            let mut command = common::firedrill();
            command.args(args).arg(&path);
            if args[0] == "run" {
                command.arg("--out").arg(run.run.dir.path().join("reports"));
            }
            let output = command
                .stdin(Stdio::null())
                .output()
                .expect("run firedrill");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            println!(
                "{name} {args:?}: exit {:?}\n{stdout}{stderr}",
                output.status.code()
            );
            assert_eq!(output.status.code(), Some(2), "{args:?}:\n{stderr}");
            assert!(
                stderr.contains(&format!(
                    "target web: select {{ service: {service} }} matches no instance on swarm"
                )),
                "{stderr}"
            );
            assert!(stderr.contains(&near), "lacks {near:?}:\n{stderr}");
            if service == &absent {
                assert!(
                    stderr.contains(&format!("  service {present} (")),
                    "{stderr}"
                );
            }
            assert!(!stdout.contains("report folder"), "{stdout}");
        }
    }
    assert_eq!(run.running_tasks(&present), before, "a task was touched");
    let reports = run.run.dir.path().join("reports");
    let left: Vec<_> = std::fs::read_dir(&reports)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_node_key_that_names_no_node_fails_before_any_kill_and_names_it() {
    let Some(run) = SwarmRun::start("swarm-node-key") else {
        return;
    };
    let web = run.create_service("keyed", 1, &["--health-interval", "1s"]);
    let before = run.running_tasks(&web);
    let path = run.run.write(
        "node-key.yaml",
        &format!(
            r#"version: 1
name: node-key
platform: {{ kind: swarm, nodes: {{ no-such-node: "tcp://127.0.0.1:1" }} }}
targets:
  - name: web
    select: {{ service: {web} }}
schedule: {{ duration: 3s, every: 1s, start_after: 500ms }}
report: {{ formats: [json] }}
"#
        ),
    );
    let output = common::firedrill()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(run.run.dir.path().join("reports"))
        .stdin(Stdio::null())
        .output()
        .expect("run firedrill");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "stderr:\n{stderr}");
    assert!(
        stderr.contains("platform.nodes.no-such-node") && stderr.contains("no node of this Swarm"),
        "{stderr}"
    );
    assert_eq!(run.running_tasks(&web), before);
}

#[test]
fn min_healthy_at_100_percent_refuses_every_kill_and_says_why() {
    let Some(run) = SwarmRun::start("swarm-guard") else {
        return;
    };
    let web = run.create_service("guarded", 2, &["--health-interval", "1s"]);
    let before = run.running_tasks(&web);
    let path = scenario(
        &run,
        "swarm-guard",
        &web,
        "schedule: { duration: 4s, every: 1s, start_after: 500ms }\n\
         policy: { pick: 1, max_in_flight: 1, min_healthy: 100% }\n\
         slos: [ \"kills == 0\" ]",
    );
    let report = run_firedrill(&run, &path);
    assert_eq!(
        report["kills"].as_array().map(Vec::len),
        Some(0),
        "{report:#}"
    );
    let decisions = report["decisions"].as_array().expect("decisions");
    let refused = report["refused"].as_array().expect("refused");
    assert!(decisions.len() >= 2, "{report:#}");
    assert_eq!(refused.len(), decisions.len(), "every decision is refused");
    for r in refused {
        assert_eq!(r["killed"], 0);
        let reason = r["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("min_healthy"),
            "reason {reason:?} does not name the guard"
        );
    }
    assert_eq!(run.running_tasks(&web), before, "a task was replaced");
}
