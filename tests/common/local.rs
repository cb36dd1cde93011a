//! What the local-platform tests need: scenarios from YAML text, the event stream, and a
//! check that nothing outlives a shutdown.

use std::path::Path;
use std::time::Duration;

use firedrill::platform::local::LocalPlatform;
use firedrill::platform::{Platform, PlatformEvent};
use firedrill::scenario::Scenario;

use super::alive;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const BIN: &str = env!("CARGO_BIN_EXE_firedrill");

pub fn scenario(targets: &str) -> Scenario {
    let text = format!(
        "version: 1\nname: local-test\nplatform: {{kind: local}}\nschedule: {{every: 1s, max_kills: 1}}\ntargets:\n{targets}"
    );
    firedrill::scenario::parse_str(Path::new("local-test.yaml"), &text)
        .unwrap_or_else(|errors| panic!("the test scenario does not compile: {errors:?}"))
}

/// A managed fleet of `firedrill target` servers with an HTTP health check.
pub fn web_fleet(replicas: u32, replace_delay: &str) -> Scenario {
    super::fleet::QuickFleet::new("local-test", replicas, replace_delay)
        .health_every("50ms")
        .with("schedule: { every: 1s, max_kills: 1 }")
        .scenario()
}

/// The event stream, with everything received so far.
pub struct Events {
    pub rx: mpsc::UnboundedReceiver<PlatformEvent>,
    pub seen: Vec<PlatformEvent>,
}

impl Events {
    /// Waits for the first event after those already consumed that `want` accepts.
    pub async fn wait_for(
        &mut self,
        what: &str,
        want: impl Fn(&PlatformEvent) -> bool,
    ) -> PlatformEvent {
        if let Some(e) = self.seen.iter().find(|e| want(e)) {
            return e.clone();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let e = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within 20s; seen {:#?}", self.seen))
                .expect("event stream closed");
            self.seen.push(e.clone());
            if want(&e) {
                return e;
            }
        }
    }

    /// Every PID any event named.
    pub fn pids(&mut self) -> Vec<u32> {
        while let Ok(e) = self.rx.try_recv() {
            self.seen.push(e);
        }
        let mut pids: Vec<u32> = self
            .seen
            .iter()
            .map(|e| e.instance.parse().unwrap())
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }
}

pub async fn started(scenario: &Scenario) -> (LocalPlatform, Events) {
    let platform = LocalPlatform::new(scenario, 7).unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    platform.start(tx, CancellationToken::new()).await.unwrap();
    let events = Events {
        rx,
        seen: Vec::new(),
    };
    (platform, events)
}

/// Shuts the platform down and checks that no process it ever reported is left.
pub async fn shutdown_leaves_nothing(platform: &LocalPlatform, events: &mut Events) {
    platform.shutdown().await.unwrap();
    for pid in events.pids() {
        assert!(!alive(pid), "PID {pid} outlived shutdown");
    }
}
