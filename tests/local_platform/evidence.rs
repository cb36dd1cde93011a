//! Drift evidence of managed processes: captured at spawn, kept after the kill, and matched
//! by the replacement that runs the same executable, argv and environment.

use firedrill::platform::evidence::sha256_hex;
use firedrill::platform::{EventKind, Evidence, Platform};
use firedrill::scenario::Action;
use firedrill::vocabulary::signal::Signal;

use crate::common::local::{shutdown_leaves_nothing, started, web_fleet, BIN};

fn print_cost(what: &str, e: &Evidence) {
    eprintln!(
        "capture of {what}: {} µs, {} /proc reads{}",
        e.capture_us,
        e.engine_calls,
        if e.unknown.is_empty() {
            String::new()
        } else {
            format!(", unknown: {:?}", e.unknown)
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_keeps_its_spawn_time_evidence_and_its_replacement_matches_it() {
    let mut scenario = web_fleet(2, "100ms");
    scenario.recovery.drift = true;
    let (platform, mut events) = started(&scenario).await;
    let victim = platform.instances("web").await.unwrap()[0].clone();
    let before = platform.evidence(&victim.id).await;
    print_cost("a managed process", &before);
    assert!(before.unknown.is_empty(), "{:?}", before.unknown);
    assert_eq!(before.instance, victim.id);
    let exe = std::fs::read(BIN).expect("the firedrill binary");
    assert_eq!(before.exe_sha256, Some(sha256_hex(&exe)));
    let argv = before.argv.clone().expect("argv");
    assert_eq!(argv[0], BIN);
    assert!(argv.iter().any(|a| a == "target"), "{argv:?}");
    assert_eq!(before.engine_calls, 6);
    assert!(before.config.is_some() && before.created_at.is_some());
    // A process has no image and no layer: not applicable, so not listed as unknown either.
    assert!(before.image_id.is_none() && before.repo_digest.is_none());
    assert!(before.changes.is_none() && before.spec_version.is_none());

    platform
        .kill(
            &victim,
            &Action::Kill {
                signal: Signal::KILL,
            },
        )
        .await
        .unwrap();
    events
        .wait_for("Died", |e| {
            e.kind == EventKind::Died && e.instance == victim.id
        })
        .await;
    // Its /proc entry is gone; what was captured at its spawn is not.
    assert_eq!(platform.evidence(&victim.id).await, before);

    let old = victim.id.clone();
    let created = events
        .wait_for("Created", |e| {
            e.kind == EventKind::Created && e.slot == victim.slot && e.instance != old
        })
        .await;
    let after = platform.evidence(&created.instance).await;
    print_cost("its replacement", &after);
    assert!(after.unknown.is_empty(), "{:?}", after.unknown);
    assert_eq!(after.exe_sha256, before.exe_sha256);
    assert_eq!(after.argv, before.argv);
    let (fb, fa) = (before.config.unwrap(), after.config.unwrap());
    assert!(fb.differs(&fa).is_empty(), "{:?}", fb.differs(&fa));
    assert!(after.created_at >= before.created_at);

    let never = platform.evidence("4194999").await;
    assert!(never.exe_sha256.is_none() && !never.unknown.is_empty());
    shutdown_leaves_nothing(&platform, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_recovery_drift_nothing_is_captured() {
    let (platform, mut events) = started(&web_fleet(1, "100ms")).await;
    let instance = platform.instances("web").await.unwrap()[0].clone();
    let evidence = platform.evidence(&instance.id).await;
    assert!(evidence.exe_sha256.is_none() && evidence.argv.is_none());
    assert_eq!(evidence.engine_calls, 0);
    assert!(
        evidence
            .unknown
            .iter()
            .all(|u| u.contains("recovery.drift is off")),
        "{:?}",
        evidence.unknown
    );
    shutdown_leaves_nothing(&platform, &mut events).await;
}
