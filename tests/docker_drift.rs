//! Drift evidence from real runs on the shared engine: a clean restart-policy run; a file
//! changed in place and carried over by the restart; a container rebuilt fresh from its image;
//! one rebuilt from another image; one rebuilt with an environment value changed, whose values
//! appear nowhere in the run folder. Skips without an engine unless FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::docker::{docker, docker_ok, TestRun, IMAGE, TEST_LABEL};
use serde_json::Value;

/// A scenario over this run's containers labelled `role=web`, with drift evidence on.
fn scenario(run: &TestRun, action: &str, kills: u32, extra_recovery: &str, slos: &str) -> String {
    run.web_scenario("drift", 3, "")
        + &format!(
            r#"    health: {{ from: docker }}
schedule: {{ duration: 90s, max_kills: {kills}, every: 2s, start_after: 500ms }}
policy: {{ pick: 1, max_in_flight: 1 }}
action: {action}
recovery:
  timeout: 30s
  settle: 200ms
  drift: true
{extra_recovery}slos: [ "unrecovered == 0", {slos} ]
report: {{ formats: [json, markdown, html, junit] }}
"#
        )
}

/// Runs firedrill on `scenario` with `env` set, to its end.
fn run_firedrill(run: &TestRun, scenario: &Path, env: &[(&str, &str)]) -> (Output, Value) {
    let out = run.dir.path().join("reports");
    let output = common::firedrill()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(&out)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run firedrill");
    let report = common::report_json(&out, &output);
    (output, report)
}

/// A trigger that `docker run`s the victim's replacement under its name, with `args` before
/// the image and `image` as the image.
fn rebuild_trigger(run: &TestRun, args: &[&str], image: &str) -> String {
    let name = run.name("svc");
    let label = run.label();
    let mut argv = vec!["docker", "run", "-d", "--name", &name, "--label", &label];
    argv.extend(["--label", "role=web", "--health-interval", "1s"]);
    argv.extend_from_slice(args);
    argv.push(image);
    let quoted: Vec<String> = argv.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "  trigger: {{ command: [{}], timeout: 20s }}\n",
        quoted.join(", ")
    )
}

/// A healthy `role=web` container named `short` that its restart policy brings back.
fn restarting_container(run: &TestRun, short: &str) -> String {
    let args = [
        "--restart",
        "always",
        "--label",
        "role=web",
        "--health-interval",
        "1s",
    ];
    let id = run.run_container(short, &args);
    run.wait_healthy(&id, Duration::from_secs(30));
    id
}

fn drift_of(report: &Value) -> &Value {
    &report["drift"]
}

#[test]
fn a_clean_restart_policy_run_shows_no_drift() {
    let Some(run) = TestRun::start("drift-clean") else {
        return;
    };
    for n in 0..2 {
        restarting_container(&run, &format!("web{n}"));
    }
    let slos = r#""drift.modified_victims == 0", "drift.carried_over == 0", "drift.unknown == 0""#;
    let file = run.write(
        "clean.yaml",
        &scenario(&run, "{ kind: crash }", 2, "", slos),
    );
    let (output, report) = run_firedrill(&run, &file, &[]);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    let drift = drift_of(&report);
    assert_eq!(drift["kills"], 2, "{drift:#}");
    assert_eq!(drift["modified_victims"], 0);
    assert_eq!(drift["carried_over"], 0);
    assert_eq!(drift["unknown"], 0, "{report:#}");
    assert_eq!(drift["captures"], 4, "victim and replacement of each kill");
    for kill in report["kills"].as_array().unwrap() {
        assert_eq!(kill["drift"]["same_instance"], true, "{kill:#}");
        assert_eq!(kill["drift"]["carried_over"], serde_json::json!([]));
    }
    eprintln!(
        "capture: median {} µs, max {} µs, {} engine calls for {} captures",
        drift["capture_p50_us"], drift["capture_max_us"], drift["engine_calls"], drift["captures"]
    );
}

#[test]
fn a_file_changed_in_place_is_carried_over_by_a_restart_and_fails_the_gate() {
    let Some(run) = TestRun::start("drift-carried") else {
        return;
    };
    let id = restarting_container(&run, "web0");
    let patch = run.write("hotfix.conf", "patched by hand\n");
    docker_ok(&["cp", patch.to_str().unwrap(), &format!("{id}:/hotfix.conf")]);
    let file = run.write(
        "carried.yaml",
        &scenario(
            &run,
            "{ kind: crash }",
            1,
            "",
            r#""drift.carried_over == 0""#,
        ),
    );
    let (output, report) = run_firedrill(&run, &file, &[]);
    assert_eq!(output.status.code(), Some(1), "the gate fails: {report:#}");
    let kill = &report["kills"][0]["drift"];
    assert_eq!(kill["modified_victim"], true, "{kill:#}");
    assert_eq!(kill["same_instance"], true);
    assert_eq!(kill["carried_over"], serde_json::json!(["/hotfix.conf"]));
    assert_eq!(drift_of(&report)["carried_over"], 1);
    let slo = &report["slos"][1];
    assert_eq!(
        (slo["slo"].as_str(), slo["passed"].as_bool()),
        (Some("drift.carried_over == 0"), Some(false))
    );
    let summary = std::fs::read_to_string(
        common::run_dir(&run.dir.path().join("reports")).join("summary.md"),
    )
    .unwrap();
    assert!(
        summary.contains("restarted in place, carrying over 1: /hotfix.conf"),
        "{summary}"
    );
    // Every format has it: report.json within its schema, the page's drift section, and
    // JUnit's property and case output.
    let folder = common::run_dir(&run.dir.path().join("reports"));
    common::schema::validate_report_file(&folder.join("report.json")).unwrap();
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains("<section id=\"drift\">"), "no drift section");
    assert!(html.contains("carrying over 1: /hotfix.conf"));
    let junit = std::fs::read_to_string(folder.join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<property name="drift.carried_over" value="1"/>"#),
        "{junit}"
    );
    assert!(junit.contains("carrying over 1: /hotfix.conf"), "{junit}");
}

#[test]
fn a_container_rebuilt_from_its_image_is_a_fresh_replacement() {
    let Some(run) = TestRun::start("drift-fresh") else {
        return;
    };
    let id = run.run_container("svc", &["--label", "role=web", "--health-interval", "1s"]);
    run.wait_healthy(&id, Duration::from_secs(30));
    let patch = run.write("hotfix.conf", "patched by hand\n");
    docker_ok(&["cp", patch.to_str().unwrap(), &format!("{id}:/hotfix.conf")]);
    let file = run.write(
        "fresh.yaml",
        &scenario(
            &run,
            "{ kind: remove }",
            1,
            &rebuild_trigger(&run, &[], IMAGE),
            r#""drift.carried_over == 0", "drift.image_changed == 0", "drift.config_changed == 0""#,
        ),
    );
    let (output, report) = run_firedrill(&run, &file, &[]);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    let kill = &report["kills"][0]["drift"];
    // The snowflake died with its container; the rebuild started clean from the image.
    assert_eq!(kill["modified_victim"], true, "{kill:#}");
    assert_eq!(kill["same_instance"], false);
    assert_eq!(kill["carried_over"], serde_json::json!([]));
    assert_eq!(kill["image_changed"], false);
    assert_eq!(kill["config_changed"], serde_json::json!([]));
    let replacement_changes = &kill["replacement"]["changes"];
    assert!(
        replacement_changes["paths"]
            .as_array()
            .is_some_and(|p| !p.iter().any(|c| c[1] == "/hotfix.conf")),
        "{replacement_changes:#}"
    );
}

/// An image of the test image with one more label, removed when dropped.
struct DerivedImage(String);

impl DerivedImage {
    fn build(run: &TestRun) -> DerivedImage {
        let name = format!("fdt-{}-derived:latest", run.id);
        let mut build = std::process::Command::new("docker")
            .args(["build", "-q", "-t", &name, "--label"])
            .arg(format!("{TEST_LABEL}={}", run.id))
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("docker build");
        use std::io::Write;
        build
            .stdin
            .take()
            .unwrap()
            .write_all(format!("FROM {IMAGE}\nLABEL firedrill.derived=yes\n").as_bytes())
            .unwrap();
        let done = build.wait_with_output().unwrap();
        assert!(done.status.success(), "docker build failed");
        DerivedImage(name)
    }
}

impl Drop for DerivedImage {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.0]);
    }
}

#[test]
fn a_rebuild_from_another_image_shows_image_changed_with_both_ids() {
    let Some(run) = TestRun::start("drift-image") else {
        return;
    };
    let derived = DerivedImage::build(&run);
    let id = run.run_container("svc", &["--label", "role=web", "--health-interval", "1s"]);
    run.wait_healthy(&id, Duration::from_secs(30));
    let file = run.write(
        "image.yaml",
        &scenario(
            &run,
            "{ kind: remove }",
            1,
            &rebuild_trigger(&run, &[], &derived.0),
            r#""drift.image_changed == 0""#,
        ),
    );
    let (output, report) = run_firedrill(&run, &file, &[]);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    let kill = &report["kills"][0]["drift"];
    assert_eq!(kill["image_changed"], true, "{kill:#}");
    let old = docker_ok(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    let new = docker_ok(&["image", "inspect", "--format", "{{.Id}}", &derived.0]);
    assert_eq!(kill["victim"]["image_id"], old.trim());
    assert_eq!(kill["replacement"]["image_id"], new.trim());
}

#[test]
fn a_rebuild_with_another_environment_value_shows_config_changed_and_never_the_value() {
    let Some(run) = TestRun::start("drift-config") else {
        return;
    };
    const FIRST: &str = "first-secret-4711";
    const SECOND: &str = "second-secret-0815";
    let id = run.run_container(
        "svc",
        &[
            "--label",
            "role=web",
            "--health-interval",
            "1s",
            "-e",
            &format!("FD_TOKEN={FIRST}"),
        ],
    );
    run.wait_healthy(&id, Duration::from_secs(30));
    // The trigger passes the variable by name, so the new value is in no file either.
    let file = run.write(
        "config.yaml",
        &scenario(
            &run,
            "{ kind: remove }",
            1,
            &rebuild_trigger(&run, &["-e", "FD_TOKEN"], IMAGE),
            r#""drift.config_changed == 0""#,
        ),
    );
    let (output, report) = run_firedrill(&run, &file, &[("FD_TOKEN", SECOND)]);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    let kill = &report["kills"][0]["drift"];
    assert_eq!(
        kill["config_changed"],
        serde_json::json!(["env"]),
        "{kill:#}"
    );
    assert_eq!(kill["image_changed"], false);
    let folder = common::run_dir(&run.dir.path().join("reports"));
    common::schema::validate_report_file(&folder.join("report.json")).unwrap();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for value in [FIRST, SECOND] {
            assert!(!text.contains(value), "{value} is in {}", path.display());
        }
    }
}
