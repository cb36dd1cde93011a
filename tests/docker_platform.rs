//! The docker platform against the real engine: selection with decoys, each action, health and
//! event timestamps, and an unreachable endpoint. Skips without an engine unless
//! FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::time::Duration;

use common::docker::{docker_ok, EventLog, TestRun};
use firedrill::platform::docker::connect::Endpoint;
use firedrill::platform::docker::select::{OwnContainer, TargetSpec};
use firedrill::platform::docker::DockerPlatform;
use firedrill::platform::{EventKind, Instance, Platform, PlatformError, PlatformEvent};
use firedrill::scenario::{Action, Scenario};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn scenario(run: &TestRun, select: &str, extra: &str) -> Scenario {
    let yaml = format!(
        "version: 1\nname: t\nplatform: {{ kind: docker }}\n\
         targets:\n  - name: web\n    select: {select}\n{extra}\
         schedule: {{ every: 1s, max_kills: 1 }}\n",
    );
    let _ = run;
    firedrill::scenario::parse_str(std::path::Path::new("t.yaml"), &yaml)
        .unwrap_or_else(|e| panic!("{e:?}\n{yaml}"))
}

/// The platform over every container of `run` (target `web`, with `extra` target lines), its
/// event stream started.
async fn watch_run(
    run: &TestRun,
    extra: &str,
) -> (
    DockerPlatform,
    mpsc::UnboundedReceiver<PlatformEvent>,
    CancellationToken,
) {
    let select = format!("{{ labels: {{ firedrill.test: \"{}\" }} }}", run.id);
    let p = platform(&scenario(run, &select, extra)).await;
    let (rx, cancel) = events(&p).await;
    (p, rx, cancel)
}

async fn platform(s: &Scenario) -> DockerPlatform {
    DockerPlatform::connect(s).await.expect("connect")
}

/// A platform that believes it runs inside container `own`.
async fn platform_inside(s: &Scenario, own: &str) -> DockerPlatform {
    let endpoint = Endpoint::resolve(None, |k| std::env::var(k).ok()).unwrap();
    let docker = endpoint.open().await.unwrap();
    let targets = s
        .targets
        .iter()
        .map(|t| TargetSpec::compile(t).unwrap())
        .collect();
    DockerPlatform::from_parts(
        docker,
        endpoint,
        targets,
        OwnContainer::from_ids(vec![own.to_string()], None),
    )
}

fn instance_of(list: &[Instance], id: &str) -> Instance {
    list.iter()
        .find(|i| i.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not listed: {list:#?}"))
}

async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<PlatformEvent>,
    id: &str,
    kind: EventKind,
) -> PlatformEvent {
    common::docker::next_event(rx, id, kind, Duration::from_secs(20))
        .await
        .0
}

fn daemon_micros_after(log: &EventLog, id: &str, action: &str, after: i64) -> i64 {
    log.time_of(id, action, after)
}

fn daemon_micros(log: &EventLog, id: &str, action: &str) -> i64 {
    daemon_micros_after(log, id, action, 0)
}

#[tokio::test]
async fn selection_covers_the_compose_service_only_and_never_touches_decoys() {
    let Some(run) = TestRun::start("selection") else {
        return;
    };
    let project = format!("p{}", run.id.replace('-', ""));
    let compose = |p: &str| {
        vec![
            format!("com.docker.compose.project={p}"),
            "com.docker.compose.service=web".to_string(),
        ]
    };
    let with_labels = |short: &str, labels: Vec<String>| {
        let mut args: Vec<String> = Vec::new();
        for l in &labels {
            args.push("--label".into());
            args.push(l.clone());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run.run_container(short, &refs)
    };
    let web1 = with_labels("web1", compose(&project));
    let web2 = with_labels("web2", compose(&project));
    let mut exempt_labels = compose(&project);
    exempt_labels.push("firedrill.exempt=true".into());
    let exempt = with_labels("exempt", exempt_labels);
    let other_project = with_labels("other", compose(&format!("{project}x")));
    let unlabelled = with_labels("plain", vec![]);

    let s = scenario(
        &run,
        &format!("{{ labels: {{ firedrill.test: \"{}\" }}, compose: {{ project: {project}, service: web }} }}", run.id),
        "",
    );
    let p = platform(&s).await;
    let listed = p.instances("web").await.unwrap();
    let mut ids: Vec<&str> = listed.iter().map(|i| i.id.as_str()).collect();
    ids.sort();
    let mut want = vec![web1.as_str(), web2.as_str(), exempt.as_str()];
    want.sort();
    assert_eq!(ids, want, "only the project's web containers are covered");
    let ex = instance_of(&listed, &exempt);
    assert_eq!(
        ex.labels.get("firedrill.exempt").map(String::as_str),
        Some("true")
    );
    assert_eq!(instance_of(&listed, &web1).slot, run.name("web1"));

    // Defence in depth: kill refuses the exempt one and anything outside the selector even when
    // asked directly.
    let action = Action::Kill {
        signal: firedrill::vocabulary::signal::Signal::KILL,
    };
    let err = p.kill(&ex, &action).await.unwrap_err();
    assert!(err.to_string().contains("firedrill.exempt"), "{err}");
    for decoy in [&other_project, &unlabelled] {
        let forged = Instance {
            id: decoy.clone(),
            ..ex.clone()
        };
        let err = p.kill(&forged, &action).await.unwrap_err();
        assert!(err.to_string().contains("selector"), "{err}");
    }
    for id in [&exempt, &other_project, &unlabelled] {
        assert_eq!(
            run.inspect(id)["State"]["Running"],
            true,
            "{id} was touched"
        );
    }

    // Never its own container.
    let inside = platform_inside(&s, &web1).await;
    let listed = inside.instances("web").await.unwrap();
    assert!(listed.iter().all(|i| i.id != web1), "own container listed");
    let own = Instance {
        id: web1.clone(),
        ..ex.clone()
    };
    let err = inside.kill(&own, &action).await.unwrap_err();
    assert!(err.to_string().contains("firedrill itself"), "{err}");
    assert_eq!(run.inspect(&web1)["State"]["Running"], true);
}

#[tokio::test]
async fn opt_in_label_is_reported_for_the_engine_and_enforced_by_kill() {
    let Some(run) = TestRun::start("opt-in") else {
        return;
    };
    let opted = run.run_container("opted", &["--label", "firedrill.enabled=true"]);
    let not = run.run_container("not", &[]);
    let s = scenario(
        &run,
        &format!("{{ labels: {{ firedrill.test: \"{}\" }} }}", run.id),
        "    require_label: firedrill.enabled=true\n",
    );
    let p = platform(&s).await;
    let listed = p.instances("web").await.unwrap();
    assert_eq!(listed.len(), 2);
    let err = p
        .kill(
            &instance_of(&listed, &not),
            &Action::Kill {
                signal: firedrill::vocabulary::signal::Signal::KILL,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("opt-in"), "{err}");
    assert_eq!(run.inspect(&not)["State"]["Running"], true);
    assert_eq!(
        instance_of(&listed, &opted).labels["firedrill.enabled"],
        "true"
    );
}

/// Starts the platform's event stream.
async fn events(p: &DockerPlatform) -> (mpsc::UnboundedReceiver<PlatformEvent>, CancellationToken) {
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    p.start(tx, cancel.clone()).await.expect("start");
    (rx, cancel)
}

#[tokio::test]
async fn kill_is_a_manual_stop_and_every_event_carries_the_daemons_time() {
    let Some(run) = TestRun::start("kill") else {
        return;
    };
    let log = EventLog::start(&run);
    let id = run.run_container("k", &["--restart", "always"]);
    run.wait_healthy(&id, Duration::from_secs(20));
    let (p, mut rx, cancel) = watch_run(&run, "").await;
    let victim = instance_of(&p.instances("web").await.unwrap(), &id);
    assert!(victim.healthy, "HEALTHCHECK status is used: {victim:?}");
    let receipt = p
        .kill(
            &victim,
            &Action::Kill {
                signal: firedrill::vocabulary::signal::Signal::KILL,
            },
        )
        .await
        .unwrap();
    let killed = next_event(&mut rx, &id, EventKind::Killed).await;
    let died = next_event(&mut rx, &id, EventKind::Died).await;
    assert!(!killed.uncertain && !died.uncertain);
    assert_eq!(killed.at, daemon_micros(&log, &id, "kill"));
    assert_eq!(died.at, daemon_micros(&log, &id, "die"));
    assert!(killed.at <= died.at);
    // Same machine, so the receipt's local time and the daemon's agree to well under a second.
    assert!(
        (killed.at - receipt.at).abs() < 1_000_000,
        "{receipt:?} vs {killed:?}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let state = run.inspect(&id);
    assert_eq!(
        state["State"]["Running"], false,
        "restart policy must not fire after kill"
    );
    assert_eq!(state["RestartCount"], 0);
    cancel.cancel();
}

#[tokio::test]
async fn crash_fires_the_restart_policy_and_the_same_container_comes_back_healthy() {
    let Some(run) = TestRun::start("crash") else {
        return;
    };
    let log = EventLog::start(&run);
    let id = run.run_container("c", &["--restart", "always"]);
    run.wait_healthy(&id, Duration::from_secs(20));
    let (p, mut rx, cancel) = watch_run(&run, "").await;
    let victim = instance_of(&p.instances("web").await.unwrap(), &id);
    let receipt = p.kill(&victim, &Action::Crash {}).await.unwrap();
    assert!(receipt.detail.contains("host PID"), "{receipt:?}");
    let died = next_event(&mut rx, &id, EventKind::Died).await;
    let started = next_event(&mut rx, &id, EventKind::Started).await;
    let healthy = next_event(&mut rx, &id, EventKind::Healthy).await;
    assert!(receipt.at <= died.at && died.at < started.at && started.at <= healthy.at);
    assert_eq!(died.at, daemon_micros(&log, &id, "die"));
    let after = died.at;
    assert_eq!(started.at, daemon_micros_after(&log, &id, "start", after));
    assert_eq!(
        healthy.at,
        daemon_micros_after(&log, &id, "health_status: healthy", after)
    );
    assert_eq!(run.inspect(&id)["RestartCount"], 1);
    cancel.cancel();
}

#[tokio::test]
async fn stop_sends_sigterm_with_grace_and_remove_forces_the_container_away() {
    let Some(run) = TestRun::start("stop-remove") else {
        return;
    };
    let stopped = run.run_container("s", &[]);
    let removed = run.run_container("r", &[]);
    let (p, mut rx, cancel) = watch_run(&run, "").await;
    let listed = p.instances("web").await.unwrap();

    let grace = Action::Stop {
        grace: firedrill::vocabulary::units::HumanDuration(Duration::from_secs(3)),
    };
    let receipt = p
        .kill(&instance_of(&listed, &stopped), &grace)
        .await
        .unwrap();
    assert!(receipt.detail.contains("--time 3"), "{receipt:?}");
    next_event(&mut rx, &stopped, EventKind::Killed).await;
    let died = next_event(&mut rx, &stopped, EventKind::Died).await;
    // firedrill target exits on SIGTERM, well before the grace runs out.
    assert!(died.at - receipt.at < 2_500_000, "{receipt:?} {died:?}");
    let state = run.inspect(&stopped);
    assert_eq!(state["State"]["Running"], false);
    assert_eq!(
        state["State"]["ExitCode"], 0,
        "a graceful exit, not SIGKILL"
    );

    p.kill(&instance_of(&listed, &removed), &Action::Remove {})
        .await
        .unwrap();
    next_event(&mut rx, &removed, EventKind::Removed).await;
    assert!(
        common::docker::docker(&["inspect", &removed]).is_err(),
        "container still exists"
    );
    cancel.cancel();
}

#[tokio::test]
async fn pause_is_undone_by_its_timer_and_by_shutdown() {
    let Some(run) = TestRun::start("pause") else {
        return;
    };
    let short = run.run_container("short", &[]);
    let long = run.run_container("long", &[]);
    run.wait_healthy(&short, Duration::from_secs(20));
    let (p, mut rx, cancel) = watch_run(&run, "").await;
    let listed = p.instances("web").await.unwrap();
    let pause = |d: u64| Action::Pause {
        duration: firedrill::vocabulary::units::HumanDuration(Duration::from_millis(d)),
    };

    p.kill(&instance_of(&listed, &short), &pause(500))
        .await
        .unwrap();
    p.kill(&instance_of(&listed, &long), &pause(600_000))
        .await
        .unwrap();
    assert_eq!(run.inspect(&long)["State"]["Paused"], true);
    let down = next_event(&mut rx, &short, EventKind::Died).await;
    let up = next_event(&mut rx, &short, EventKind::Started).await;
    assert!(up.at - down.at >= 500_000, "{down:?} {up:?}");
    assert_eq!(run.inspect(&short)["State"]["Paused"], false);
    assert_eq!(
        run.inspect(&long)["State"]["Paused"],
        true,
        "10 minutes have not passed"
    );

    p.shutdown().await.unwrap();
    assert_eq!(
        run.inspect(&long)["State"]["Paused"],
        false,
        "shutdown must unpause"
    );
    assert_eq!(run.inspect(&long)["State"]["Running"], true);
    cancel.cancel();
}

#[tokio::test]
async fn an_engine_that_does_not_answer_is_unreachable_and_named() {
    let s: Scenario = firedrill::scenario::parse_str(
        std::path::Path::new("t.yaml"),
        "version: 1\nname: t\nplatform: { kind: docker, host: \"unix:///nonexistent.sock\" }\n\
         targets:\n  - name: web\n    select: { labels: { app: web } }\n\
         schedule: { every: 1s, max_kills: 1 }\n",
    )
    .unwrap();
    let err = match DockerPlatform::connect(&s).await {
        Err(e) => e,
        Ok(_) => panic!("connected to a socket that does not exist"),
    };
    assert!(matches!(err, PlatformError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("unix:///nonexistent.sock"),
        "{err}"
    );
    let _ = docker_ok;
}

#[tokio::test]
async fn an_http_probe_against_the_containers_address_decides_health() {
    let Some(run) = TestRun::start("probe") else {
        return;
    };
    let id = run.run_container("p", &["--restart", "always"]);
    let (p, mut rx, cancel) = watch_run(
        &run,
        "    health: { http: { port: 8080, path: /health }, every: 100ms }\n",
    )
    .await;
    let first = next_event(&mut rx, &id, EventKind::Healthy).await;
    assert_eq!(first.detail.as_deref(), Some("probe passed"));
    let victim = instance_of(&p.instances("web").await.unwrap(), &id);
    assert!(victim.healthy, "{victim:?}");
    p.kill(&victim, &Action::Crash {}).await.unwrap();
    let died = next_event(&mut rx, &id, EventKind::Died).await;
    let started = next_event(&mut rx, &id, EventKind::Started).await;
    let healthy = next_event(&mut rx, &id, EventKind::Healthy).await;
    assert!(died.at < started.at && started.at <= healthy.at);
    assert_eq!(healthy.detail.as_deref(), Some("probe passed"));
    cancel.cancel();
}

#[test]
fn firedrill_inside_a_container_never_lists_itself() {
    let Some(run) = TestRun::start("inside") else {
        return;
    };
    let socket = match std::env::var("DOCKER_HOST") {
        Ok(h) if !h.starts_with("unix://") => {
            eprintln!("skipping: DOCKER_HOST {h} is not a unix socket to mount");
            return;
        }
        Ok(h) => h.trim_start_matches("unix://").to_string(),
        Err(_) => "/var/run/docker.sock".to_string(),
    };
    let fleet: Vec<String> = (0..2)
        .map(|i| run.run_container(&format!("web{i}"), &["--label", "role=web"]))
        .collect();
    run.write(
        "inside.yaml",
        &format!(
            "version: 1\nname: inside\nplatform: {{ kind: docker }}\ntargets:\n  - name: web\n    \
             select: {{ labels: {{ firedrill.test: \"{}\", role: web }} }}\n\
             schedule: {{ every: 1s, max_kills: 1 }}\n",
            run.id
        ),
    );
    let name = run.name("self");
    let label = run.label();
    let socket_mount = format!("{socket}:/var/run/docker.sock");
    let dir_mount = format!("{}:/s:ro", run.dir.path().display());
    // Attached, so stdout is the command's output; the container is labelled like the fleet.
    let out = docker_ok(&[
        "run",
        "--name",
        &name,
        "--label",
        &label,
        "--label",
        "role=web",
        "-v",
        &socket_mount,
        "-v",
        &dir_mount,
        "--entrypoint",
        "/firedrill",
        common::docker::IMAGE,
        "targets",
        "/s/inside.yaml",
        "--output",
        "json",
    ]);
    let own = common::docker::docker_ok(&["inspect", "--format", "{{.Id}}", &name]);
    let listed: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let ids: Vec<&str> = listed[0]["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(
        !ids.contains(&own.as_str()),
        "firedrill listed its own container: {out}"
    );
    for f in &fleet {
        assert!(ids.contains(&f.as_str()), "{f} missing: {out}");
    }
}
