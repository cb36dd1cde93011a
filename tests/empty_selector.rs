//! A target whose selector matches no instance is an error (exit 2) from `run`, `run
//! --dry-run` and `targets`, before anything is touched: it names the target and the selector
//! as written, and what the platform has near it. And the run folder is named on stdout only
//! when it is kept. Local attach mode needs nothing; the Docker test needs an engine (it skips
//! without one unless FIREDRILL_REQUIRE_DOCKER=1). The Swarm case is in tests/swarm_platform.rs,
//! where every Swarm test runs.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::docker::{docker_ok, TestRun};
use common::fleet::QuickFleet;

/// `firedrill ARGS`, with no input.
fn firedrill(args: &[&str], path: &Path, out: &Path) -> Output {
    common::firedrill()
        .args(args)
        .arg(path)
        .args(if args == ["run"] {
            vec!["--out".into(), out.as_os_str().to_owned()]
        } else {
            Vec::new()
        })
        .stdin(Stdio::null())
        .output()
        .expect("run firedrill")
}

/// Runs `run`, `run --dry-run` and `targets` on the scenario and checks each fails with exit
/// 2, naming the target and `selector`, and saying every line of `nearby`; returns the
/// stderr of the real run. No run folder may be left in `out`, nor named on stdout.
fn assert_empty_everywhere(path: &Path, out: &Path, selector: &str, nearby: &[&str]) -> String {
    let mut run_stderr = String::new();
    for args in [&["run"][..], &["run", "--dry-run"], &["targets"]] {
        let output = firedrill(args, path, out);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!(
            "firedrill {args:?}: exit {:?}\n{stdout}{stderr}",
            output.status.code()
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}:\n{stdout}{stderr}");
        assert!(
            stderr.contains("target web: select ") && stderr.contains(selector),
            "{args:?} names neither the target nor {selector}:\n{stderr}"
        );
        assert!(
            stderr.contains("matches no instance") && stderr.contains("nothing was touched"),
            "{args:?}:\n{stderr}"
        );
        for line in nearby {
            assert!(stderr.contains(line), "{args:?} lacks {line:?}:\n{stderr}");
        }
        assert!(!stdout.contains("report folder"), "{args:?}:\n{stdout}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        if args == ["run"] {
            run_stderr = stderr.into_owned();
        }
    }
    let left: Vec<_> = std::fs::read_dir(out)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a run that matched nothing left {left:?}");
    run_stderr
}

#[test]
fn an_attach_selector_that_matches_no_process_exits_2_and_names_the_near_misses() {
    let work = tempfile::tempdir().expect("temp dir");
    // A process with the wanted name whose command line does not match: a near miss.
    let marker = format!("firedrill-empty-{}", std::process::id());
    let mut sleeper = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .expect("spawn sleep");
    let pid = sleeper.id();
    let path = common::scenario(
        work.path(),
        "attach-empty",
        &format!(
            r#"version: 1
name: attach-empty
platform: {{ kind: local }}
targets:
  - name: web
    select: {{ process: {{ name: sleep, cmdline: "{marker}" }} }}
    require_label: FIREDRILL_TARGET=yes
    health: {{ from: running }}
schedule: {{ duration: 2s, every: 500ms }}
slos: [unrecovered == 0]
"#
        ),
    );
    let out = work.path().join("reports");
    let stderr = assert_empty_everywhere(
        &path,
        &out,
        &format!(r#"{{ process: {{ name: "sleep", cmdline: "{marker}" }} }}"#),
        &["matches no instance on local"],
    );
    // The sleeper is listed among the near misses unless five closer ones came first.
    let near = format!("pid {pid} \"sleep\" has the name, but its command line does not match");
    let lines = stderr.lines().filter(|l| l.starts_with("  pid ")).count();
    assert!(
        stderr.contains(&near) || lines >= 5,
        "lacks {near:?}:\n{stderr}"
    );
    assert!(
        sleeper.try_wait().expect("poll sleep").is_none(),
        "the near miss was touched"
    );
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

#[test]
fn a_run_names_its_report_folder_once_it_writes_there_and_the_folder_is_kept() {
    let work = tempfile::tempdir().expect("temp dir");
    let path = QuickFleet::new("banner", 2, "50ms")
        .with("schedule: { duration: 1s, every: 300ms, max_kills: 1 }")
        .with("policy: { min_healthy: 50% }")
        .with("report: { formats: [json] }")
        .write(work.path());
    let out = work.path().join("reports");
    let output = common::run(&path, &out, &[], Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let named: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("report folder: "))
        .collect();
    assert_eq!(named.len(), 1, "stdout:\n{stdout}");
    let dir = Path::new(named[0]);
    assert!(
        dir.join("journal.jsonl").is_file(),
        "{} has no journal",
        dir.display()
    );
    assert!(
        dir.join("report.json").is_file(),
        "{} has no report",
        dir.display()
    );
    assert_eq!(dir, common::run_dir(&out));
}

#[test]
fn a_docker_selector_that_matches_no_running_container_exits_2_and_names_the_near_misses() {
    let Some(run) = TestRun::start("docker-empty-selector") else {
        return;
    };
    // One container with the run's labels, stopped: it matches the selector but does not run.
    let id = run.run_container("stopped", &["--label", "role=web"]);
    docker_ok(&["stop", "-t", "0", &id]);
    let stopped = run.name("stopped");
    let base = run.web_scenario("docker-empty", 7, "");
    let rest = "    health: { from: running }\nschedule: { duration: 2s, every: 500ms }\n\
                slos: [unrecovered == 0]\n";
    let path = run.write("docker-empty.yaml", &format!("{base}{rest}"));
    let out = run.dir.path().join("reports");
    let selector = format!(
        r#"{{ labels: {{ firedrill.test: {}, role: web }} }}"#,
        run.id
    );
    assert_empty_everywhere(
        &path,
        &out,
        &selector,
        &[&format!("container {stopped} (exited) has firedrill.test={}, role=web (matches, but is not running)", run.id)],
    );
    // A selector one label off: the running container is named with what it lacks.
    docker_ok(&["start", &id]);
    let off = run
        .web_scenario("docker-off", 7, "")
        .replace("role: web", "role: api");
    let path = run.write("docker-off.yaml", &format!("{off}{rest}"));
    assert_empty_everywhere(
        &path,
        &out,
        &format!(
            r#"{{ labels: {{ firedrill.test: {}, role: api }} }}"#,
            run.id
        ),
        &[&format!(
            "container {stopped} (running) has firedrill.test={}; lacks role=api (it has role=web)",
            run.id
        )],
    );
    let state = run.inspect(&id)["State"]["Running"].as_bool();
    assert_eq!(state, Some(true), "the near miss was touched");
}
