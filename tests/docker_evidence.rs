//! Drift evidence on the real engine, through `DockerPlatform`: a fresh container has no
//! changes, a file copied into a running container shows as added and is still there after a
//! kill and a restart, one env value apart differs only in `env` and never shows, another
//! image has another id, and a removed container is unknown, not clean. Every capture prints
//! what it cost. Skips without an engine unless FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::time::{Duration, Instant};

use common::docker::{docker, docker_ok, TestRun, IMAGE};
use firedrill::platform::docker::DockerPlatform;
use firedrill::platform::{ChangeKind, Evidence, Instance, Platform};
use firedrill::scenario::{Action, Scenario};
use firedrill::vocabulary::signal::Signal;

/// The platform over every container of `run`, as target `web`.
async fn platform(run: &TestRun) -> DockerPlatform {
    let yaml = format!(
        "version: 1\nname: t\nplatform: {{ kind: docker }}\ntargets:\n  - name: web\n    \
         select: {{ labels: {{ firedrill.test: \"{}\" }} }}\nschedule: {{ every: 1s, max_kills: 1 }}\n",
        run.id
    );
    let scenario: Scenario = firedrill::scenario::parse_str(std::path::Path::new("t.yaml"), &yaml)
        .unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    DockerPlatform::connect(&scenario).await.expect("connect")
}

/// Captures `id`, printing what the capture cost.
async fn capture(p: &DockerPlatform, what: &str, id: &str) -> Evidence {
    let evidence = p.evidence(id).await;
    eprintln!(
        "capture of {what}: {} µs, {} engine calls{}",
        evidence.capture_us,
        evidence.engine_calls,
        if evidence.unknown.is_empty() {
            String::new()
        } else {
            format!(", unknown: {:?}", evidence.unknown)
        }
    );
    evidence
}

fn listed(list: &[Instance], id: &str) -> Instance {
    list.iter()
        .find(|i| i.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not listed: {list:#?}"))
}

/// Waits until the engine says the container runs (`true`) or does not.
fn wait_running(run: &TestRun, id: &str, running: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while run.inspect(id)["State"]["Running"] != running {
        assert!(
            Instant::now() < deadline,
            "{id} never reached running={running}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The path as added, and nothing else about it.
fn added(evidence: &Evidence, path: &str) -> bool {
    evidence
        .changes
        .as_ref()
        .is_some_and(|c| c.paths.contains(&(ChangeKind::Added, path.to_string())))
}

#[tokio::test]
async fn a_fresh_container_is_captured_whole_with_no_changes_in_three_calls() {
    let Some(run) = TestRun::start("evidence-fresh") else {
        return;
    };
    let id = run.run_container("fresh", &[]);
    run.wait_healthy(&id, Duration::from_secs(20));
    let p = platform(&run).await;
    let e = capture(&p, "a fresh, healthy container", &id).await;

    assert!(e.unknown.is_empty(), "{:?}", e.unknown);
    assert_eq!(e.instance, id);
    assert_eq!(e.engine_calls, 3);
    let inspect = run.inspect(&id);
    assert_eq!(e.image_id.as_deref(), inspect["Image"].as_str());
    // The test image is built here and never pushed, so it has no digest; none is invented.
    let digests = docker_ok(&[
        "image",
        "inspect",
        IMAGE,
        "--format",
        "{{json .RepoDigests}}",
    ]);
    let first: Vec<String> = serde_json::from_str(&digests).unwrap_or_default();
    assert_eq!(e.repo_digest, first.into_iter().next());
    let created = common::rfc3339_micros(inspect["Created"].as_str().unwrap());
    assert_eq!(e.created_at, Some(created));
    // The image is FROM scratch and its server writes nothing to disk; the engine's own
    // /etc/hosts, /etc/resolv.conf and /etc/hostname are mounts, not changes. So: none at all,
    // even after its health checks have run.
    let changes = e.changes.expect("changes captured");
    assert!(changes.is_empty(), "{changes:?}");
    assert!(e.config.is_some());
}

#[tokio::test]
async fn a_file_copied_into_a_container_is_still_there_after_a_kill_and_a_restart() {
    let Some(run) = TestRun::start("evidence-carried") else {
        return;
    };
    let id = run.run_container("hand-edited", &[]);
    wait_running(&run, &id, true);
    let note = run.write("hotfix.conf", "max_connections = 9000\n");
    docker_ok(&["cp", note.to_str().unwrap(), &format!("{id}:/hotfix.conf")]);
    let p = platform(&run).await;
    let before = capture(&p, "the edited container, running", &id).await;
    assert!(added(&before, "/hotfix.conf"), "{:?}", before.changes);
    assert_eq!(before.changes.as_ref().map(|c| c.added), Some(1));

    // Killed (a manual stop: no restart policy fires), the engine keeps the dead container and
    // its changes: that is when the victim is captured.
    let victim = listed(&p.instances("web").await.unwrap(), &id);
    let kill = Action::Kill {
        signal: Signal::KILL,
    };
    p.kill(&victim, &kill).await.expect("kill");
    wait_running(&run, &id, false);
    let dead = capture(&p, "the killed container", &id).await;
    assert!(dead.unknown.is_empty(), "{:?}", dead.unknown);
    assert_eq!(dead.engine_calls, 3);
    assert!(added(&dead, "/hotfix.conf"), "{:?}", dead.changes);

    docker_ok(&["start", &id]);
    wait_running(&run, &id, true);
    let restarted = capture(&p, "the same container, restarted", &id).await;
    assert!(added(&restarted, "/hotfix.conf"), "{:?}", restarted.changes);
    let carried = dead
        .changes
        .as_ref()
        .unwrap()
        .carried_over(restarted.changes.as_ref().unwrap());
    assert_eq!(carried, ["/hotfix.conf"]);
    // The same instance restarted: same creation, image and configuration.
    assert_eq!(restarted.created_at, dead.created_at);
    assert_eq!(restarted.image_id, dead.image_id);
    assert_eq!(restarted.config, dead.config);
}

#[tokio::test]
async fn a_crash_restarted_by_policy_carries_the_victims_changes_over() {
    let Some(run) = TestRun::start("evidence-crash") else {
        return;
    };
    let id = run.run_container("crashy", &["--restart", "always"]);
    wait_running(&run, &id, true);
    let note = run.write("patched.txt", "patched by hand\n");
    docker_ok(&["cp", note.to_str().unwrap(), &format!("{id}:/patched.txt")]);
    let p = platform(&run).await;
    let victim = listed(&p.instances("web").await.unwrap(), &id);
    p.kill(&victim, &Action::Crash {}).await.expect("crash");
    // Captured at once after the crash, as the run does; the policy may already have
    // restarted it, and either way the engine still holds the changes.
    let after_kill = capture(&p, "the crashed container", &id).await;
    assert!(
        added(&after_kill, "/patched.txt"),
        "{:?}",
        after_kill.changes
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    while run.inspect(&id)["RestartCount"].as_u64().unwrap_or(0) < 1 {
        assert!(Instant::now() < deadline, "the restart policy never fired");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_running(&run, &id, true);
    let replacement = capture(&p, "the container the policy restarted", &id).await;
    let carried = after_kill
        .changes
        .as_ref()
        .unwrap()
        .carried_over(replacement.changes.as_ref().unwrap());
    assert_eq!(carried, ["/patched.txt"]);
}

#[tokio::test]
async fn one_env_value_apart_differs_only_in_env_and_the_value_never_shows() {
    let Some(run) = TestRun::start("evidence-env") else {
        return;
    };
    let (secret_a, secret_b) = ("s3cret-alpha-7Qx", "s3cret-bravo-9Kz");
    let a = run.run_container("env-a", &["--env", &format!("DB_PASSWORD={secret_a}")]);
    let b = run.run_container("env-b", &["--env", &format!("DB_PASSWORD={secret_b}")]);
    let p = platform(&run).await;
    let ea = capture(&p, "a container with one secret", &a).await;
    let eb = capture(&p, "a container with another", &b).await;
    let (fa, fb) = (ea.config.clone().unwrap(), eb.config.clone().unwrap());
    assert_eq!(fa.differs(&fb), ["env"]);
    assert_ne!(fa.sha256, fb.sha256);
    assert_eq!(ea.image_id, eb.image_id);
    for e in [&ea, &eb] {
        let json = serde_json::to_string(e).unwrap();
        for secret in [secret_a, secret_b] {
            assert!(!json.contains(secret), "{json}");
        }
        assert!(!json.contains("DB_PASSWORD"), "{json}");
    }
}

/// An image this test made, removed with the containers that run it, even when the test
/// panics.
struct ImageGuard {
    tag: String,
    label: String,
}

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let users = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("ancestor={}", self.tag),
            "--filter",
            &format!("label={}", self.label),
        ])
        .unwrap_or_default();
        for id in users.lines() {
            let _ = docker(&["rm", "-f", "-v", id]);
        }
        if let Err(e) = docker(&["rmi", &self.tag]) {
            eprintln!("cleanup of image {}: {e}", self.tag);
        }
    }
}

#[tokio::test]
async fn a_container_of_another_image_has_another_image_id_and_no_changes_of_its_own() {
    let Some(run) = TestRun::start("evidence-image") else {
        return;
    };
    let base = run.run_container("base", &[]);
    let note = run.write("baked.txt", "baked into the image\n");
    docker_ok(&["cp", note.to_str().unwrap(), &format!("{base}:/baked.txt")]);
    // The committed image carries the container's labels, the run's among them.
    let image = ImageGuard {
        tag: format!("firedrill-drift-test:{}", run.id),
        label: run.label(),
    };
    docker_ok(&["commit", &base, &image.tag]);
    let labels = docker_ok(&[
        "image",
        "inspect",
        &image.tag,
        "--format",
        "{{json .Config.Labels}}",
    ]);
    assert!(labels.contains(&run.id), "{labels}");
    let rebuilt = docker_ok(&[
        "run",
        "-d",
        "--name",
        &run.name("rebuilt"),
        "--label",
        &run.label(),
        &image.tag,
    ]);
    let plain = run.run_container("plain", &[]);
    let p = platform(&run).await;
    let e_rebuilt = capture(&p, "a container of the committed image", &rebuilt).await;
    let e_plain = capture(&p, "a container of the test image", &plain).await;
    assert!(e_rebuilt.unknown.is_empty(), "{:?}", e_rebuilt.unknown);
    assert_ne!(e_rebuilt.image_id, e_plain.image_id);
    // The file is in the image now, not a change of the container: a phoenix of a new image.
    assert!(e_rebuilt.changes.as_ref().is_some_and(|c| c.is_empty()));
}

#[tokio::test]
async fn a_removed_container_is_unknown_in_every_part_never_clean() {
    let Some(run) = TestRun::start("evidence-removed") else {
        return;
    };
    let id = run.run_container("gone", &[]);
    docker_ok(&["rm", "-f", &id]);
    let p = platform(&run).await;
    let e = capture(&p, "a removed container", &id).await;
    assert_eq!(
        e.engine_calls, 1,
        "nothing is asked after the inspect fails"
    );
    assert!(e.image_id.is_none() && e.config.is_none() && e.changes.is_none());
    assert!(e.created_at.is_none() && e.repo_digest.is_none());
    let parts: Vec<&str> = e
        .unknown
        .iter()
        .filter_map(|u| u.split(':').next())
        .collect();
    assert_eq!(
        parts,
        ["image_id", "repo_digest", "config", "created_at", "changes"]
    );
    assert!(
        e.unknown[0].contains("No such container"),
        "{:?}",
        e.unknown
    );
}
