//! The docker platform's event-stream health on a real engine it may kill: a private dockerd
//! killed with SIGKILL makes the platform report its events lost, with the reason, and the
//! same engine started again makes it live once the watcher has reconnected and resynced.

mod common;

use std::time::{Duration, Instant};

use common::engine::{self, PrivateEngine};
use firedrill::platform::docker::DockerPlatform;
use firedrill::platform::{EventsLost, Platform};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Polls `check` every 100 ms until it gives `Some`, or panics after `within`.
async fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_killed_engine_makes_events_lost_until_it_is_back_and_resynced() {
    if engine::available(
        "a_killed_engine_makes_events_lost_until_it_is_back_and_resynced",
        &[],
    )
    .is_none()
    {
        return;
    }
    let mut engine = PrivateEngine::start(&[]);
    let yaml = format!(
        "version: 1\nname: t\nplatform: {{ kind: docker, host: \"{}\" }}\n\
         targets:\n  - name: web\n    select: {{ labels: {{ firedrill.test: health }} }}\n\
         schedule: {{ every: 1s, max_kills: 1 }}\n",
        engine.host()
    );
    let scenario = firedrill::scenario::parse_str(std::path::Path::new("t.yaml"), &yaml)
        .unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    let platform = DockerPlatform::connect(&scenario).await.expect("connect");
    let (tx, _rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    platform.start(tx, cancel.clone()).await.expect("start");
    assert_eq!(platform.events_lost(), None, "a fresh stream is live");

    let before_kill = firedrill::platform::now_micros();
    engine.kill9();
    let lost: EventsLost = wait_for(
        "events reported lost after the engine was killed",
        Duration::from_secs(10),
        || platform.events_lost(),
    )
    .await;
    assert!(lost.since >= before_kill, "{lost:?}");
    assert!(
        lost.reason.contains(&engine.host()),
        "the reason names the engine: {lost:?}"
    );

    engine.restart();
    wait_for(
        "events live again after the engine came back",
        Duration::from_secs(30),
        || platform.events_lost().is_none().then_some(()),
    )
    .await;
    cancel.cancel();
    platform.shutdown().await.expect("shutdown");
}
