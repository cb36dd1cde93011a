//! Drift evidence of Swarm tasks, on a private single-node Swarm: a hand-edited task killed
//! by firedrill is captured with its change through its node's engine, its replacement has the
//! same configuration and spec version and none of the change, and a `service update` of one
//! env value gives a newer spec version and a fingerprint that differs only in `env`, while
//! the task of the old spec is no longer given a version.
//!
//! The Swarm is a private dockerd's (tests/common/engine.rs), so the shared engine is never put
//! in Swarm mode. Swarm makes a host bridge for its gateway network, named `docker_gwbridge`
//! unless the network exists first; this test creates it under a name of its own, so that it
//! cannot clash with the shared engine's, and deletes that bridge at the end. Skips without
//! root and dockerd unless FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::time::{Duration, Instant};

use common::docker::{docker_ok, TestRun, IMAGE};
use common::engine::{self, PrivateEngine};
use firedrill::platform::swarm::SwarmPlatform;
use firedrill::platform::{ChangeKind, Evidence, Instance, Platform};
use firedrill::scenario::{Action, Scenario};
use firedrill::vocabulary::signal::Signal;

/// A host network interface this test caused to exist, deleted when dropped.
struct Link(String);

impl Drop for Link {
    fn drop(&mut self) {
        let _ = common::command_output("ip", &["link", "delete", &self.0]);
    }
}

/// A /24 under 10.252.0.0/16 that no interface here uses.
fn free_subnet() -> String {
    let used = common::command_output("ip", &["-4", "-o", "addr"]).expect("ip addr");
    let third = (0..250u32)
        .map(|i| (std::process::id() + i) % 250)
        .find(|n| !used.contains(&format!("10.252.{n}.")))
        .expect("a free 10.252.x.0/24");
    format!("10.252.{third}.0/24")
}

/// Puts the private engine in Swarm mode on loopback ports of its own, with its gateway bridge
/// named `gateway`.
fn init_swarm(engine: &PrivateEngine, gateway: &str) {
    let bridge_name = format!("com.docker.network.bridge.name={gateway}");
    let subnet = free_subnet();
    engine
        .docker(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            &subnet,
            "--opt",
            &bridge_name,
            "--opt",
            "com.docker.network.bridge.enable_icc=false",
            "--opt",
            "com.docker.network.bridge.enable_ip_masquerade=false",
            "docker_gwbridge",
        ])
        .expect("create the gateway network");
    let control = format!("127.0.0.1:{}", engine::free_port());
    let data_port = engine::free_port().to_string();
    engine
        .docker(&[
            "swarm",
            "init",
            "--advertise-addr",
            &control,
            "--listen-addr",
            &control,
            "--data-path-port",
            &data_port,
        ])
        .expect("swarm init on the private engine");
}

async fn platform(engine: &PrivateEngine, service: &str) -> SwarmPlatform {
    let yaml = format!(
        "version: 1\nname: t\nplatform: {{ kind: swarm, host: \"{}\" }}\ntargets:\n  - name: web\n    \
         select: {{ service: {service} }}\nschedule: {{ every: 1s, max_kills: 1 }}\n",
        engine.host()
    );
    let scenario: Scenario = firedrill::scenario::parse_str(std::path::Path::new("t.yaml"), &yaml)
        .unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    SwarmPlatform::connect(&scenario).await.expect("connect")
}

/// The first running task that is none of `seen`, waiting up to a minute for one.
async fn new_task(p: &SwarmPlatform, seen: &[&str]) -> Instance {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = p.instances("web").await.expect("instances");
        if let Some(i) = listed.into_iter().find(|i| !seen.contains(&i.id.as_str())) {
            return i;
        }
        assert!(Instant::now() < deadline, "no new running task within 60s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn capture(p: &SwarmPlatform, what: &str, task: &str) -> Evidence {
    let evidence = p.evidence(task).await;
    eprintln!(
        "capture of {what}: {} µs, {} engine calls, spec version {:?}{}",
        evidence.capture_us,
        evidence.engine_calls,
        evidence.spec_version,
        if evidence.unknown.is_empty() {
            String::new()
        } else {
            format!(", unknown: {:?}", evidence.unknown)
        }
    );
    evidence
}

#[tokio::test]
async fn a_replacement_task_is_a_phoenix_and_a_service_update_shows_as_env_drift() {
    let Some(host) = TestRun::start("swarm-evidence") else {
        return;
    };
    if engine::available("swarm-evidence", &[]).is_none() {
        return;
    }
    // The private engine has no images and no registry: it gets the test image through a file.
    let image_file = host.dir.path().join("image.tar");
    docker_ok(&["save", "-o", &image_file.to_string_lossy(), IMAGE]);
    // Declared before the engine, so it is deleted after the engine has stopped.
    let gateway = Link(format!("fdg{}", std::process::id() % 1_000_000));
    let engine = PrivateEngine::start(&[]);
    engine
        .docker(&["load", "-i", &image_file.to_string_lossy()])
        .expect("load the test image");
    init_swarm(&engine, &gateway.0);
    let (secret, secret2) = ("s3cret-swarm-4Fq", "s3cret-swarm-8Wd");
    engine
        .docker(&[
            "service",
            "create",
            "--detach",
            "--quiet",
            "--no-resolve-image",
            "--name",
            "web",
            "--replicas",
            "1",
            "--restart-delay",
            "0s",
            "--env",
            &format!("DB_PASSWORD={secret}"),
            IMAGE,
        ])
        .expect("create the service");
    let p = platform(&engine, "web").await;

    let victim = new_task(&p, &[]).await;
    let container = engine
        .docker(&[
            "inspect",
            "--type",
            "task",
            "--format",
            "{{.Status.ContainerStatus.ContainerID}}",
            &victim.id,
        ])
        .expect("the task's container");
    let note = host.write("hotfix.conf", "max_connections = 9000\n");
    engine
        .docker(&[
            "cp",
            note.to_str().unwrap(),
            &format!("{container}:/hotfix.conf"),
        ])
        .expect("docker cp into the task's container");
    let kill = Action::Kill {
        signal: Signal::KILL,
    };
    p.kill(&victim, &kill).await.expect("kill the task");
    let before = capture(&p, "the killed task", &victim.id).await;
    assert!(before.unknown.is_empty(), "{:?}", before.unknown);
    assert_eq!(
        before.engine_calls, 5,
        "task, service, and three on the node"
    );
    let hotfix = (ChangeKind::Added, "/hotfix.conf".to_string());
    let changes = before.changes.clone().expect("changes");
    assert!(changes.paths.contains(&hotfix), "{changes:?}");
    assert!(before.spec_version.is_some() && before.config.is_some());

    let replacement = new_task(&p, &[&victim.id]).await;
    let after = capture(&p, "its replacement", &replacement.id).await;
    assert!(after.unknown.is_empty(), "{:?}", after.unknown);
    // A phoenix: a new container of the same image, spec and configuration (the labels that
    // name the task are not configuration), with nothing of the victim's edit.
    assert_eq!(after.spec_version, before.spec_version);
    assert_eq!(after.image_id, before.image_id);
    let (fb, fa) = (
        before.config.clone().unwrap(),
        after.config.clone().unwrap(),
    );
    assert!(fb.differs(&fa).is_empty(), "{:?}", fb.differs(&fa));
    assert!(after.created_at > before.created_at);
    let after_changes = after.changes.clone().expect("changes");
    assert!(after_changes.is_empty(), "{after_changes:?}");
    assert!(changes.carried_over(&after_changes).is_empty());

    engine
        .docker(&[
            "service",
            "update",
            "--detach",
            "--quiet",
            "--no-resolve-image",
            "--env-add",
            &format!("DB_PASSWORD={secret2}"),
            "web",
        ])
        .expect("update the service");
    let updated = new_task(&p, &[&victim.id, &replacement.id]).await;
    let drifted = capture(&p, "a task of the updated service", &updated.id).await;
    assert!(drifted.spec_version > after.spec_version, "{drifted:?}");
    let fd = drifted.config.clone().expect("config");
    assert_eq!(fa.differs(&fd), ["env"]);
    // The replacement, captured again now that the service has moved on, is not given the
    // new version: it runs the old spec, and the manager does not say which version that was.
    let stale = capture(&p, "the replacement, after the update", &replacement.id).await;
    assert!(stale.spec_version.is_none(), "{stale:?}");
    assert!(
        stale.unknown.iter().any(|u| u.starts_with("spec_version:")),
        "{:?}",
        stale.unknown
    );
    assert_eq!(stale.config, after.config);

    for e in [&before, &after, &drifted, &stale] {
        let json = serde_json::to_string(e).unwrap();
        for s in [secret, secret2] {
            assert!(!json.contains(s), "{json}");
        }
    }
    drop(p);
    drop(engine);
}
