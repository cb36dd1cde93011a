//! Losing the event stream: firedrill reaches the engine through a unix-socket proxy that the
//! test cuts and refuses for a while. What happened meanwhile must arrive after the reconnect,
//! with the daemon's exact times. Skips without an engine unless FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::docker::{docker_ok, EventLog, TestRun};
use firedrill::platform::docker::connect::{Endpoint, DEFAULT_SOCKET};
use firedrill::platform::docker::select::{OwnContainer, TargetSpec};
use firedrill::platform::docker::DockerPlatform;
use firedrill::platform::{EventKind, Platform, PlatformEvent};
use firedrill::scenario::Scenario;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A unix-socket proxy to the engine that can drop every connection and refuse new ones.
struct Proxy {
    path: PathBuf,
    refusing: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    fn start(dir: &Path) -> Proxy {
        let path = dir.join("engine.sock");
        let upstream = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
            .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
        let listener = UnixListener::bind(&path).expect("bind proxy socket");
        let refusing = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (r, c) = (refusing.clone(), cut.clone());
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut down, _)) = accepted else { break };
                        if r.load(Ordering::SeqCst) {
                            drop(down);
                            continue;
                        }
                        let upstream = upstream.clone();
                        conns.spawn(async move {
                            if let Ok(mut up) = UnixStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                            }
                        });
                    }
                    _ = c.notified() => conns.abort_all(),
                }
            }
        });
        Proxy {
            path,
            refusing,
            cut,
            task,
        }
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::Unix(self.path.clone())
    }

    /// Drops every open connection and refuses new ones until [`Proxy::reopen`].
    fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        self.cut.notify_one();
    }

    fn reopen(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next_of(
    rx: &mut mpsc::UnboundedReceiver<PlatformEvent>,
    id: &str,
    kind: EventKind,
) -> PlatformEvent {
    let (ev, passed) = common::docker::next_event(rx, id, kind, Duration::from_secs(30)).await;
    for seen in passed.iter().chain([&ev]) {
        assert!(
            !seen.uncertain,
            "nothing should need a resync here: {seen:?}"
        );
    }
    ev
}

#[tokio::test]
async fn events_during_a_lost_stream_arrive_after_reconnect_with_the_daemons_times() {
    let Some(run) = TestRun::start("stream-loss") else {
        return;
    };
    let log = EventLog::start(&run);
    let id = run.run_container("s", &[]);
    run.wait_healthy(&id, Duration::from_secs(20));
    let scenario: Scenario = firedrill::scenario::parse_str(
        std::path::Path::new("t.yaml"),
        &format!(
            "version: 1\nname: t\nplatform: {{ kind: docker }}\ntargets:\n  - name: web\n    \
         select: {{ labels: {{ firedrill.test: \"{}\" }} }}\nschedule: {{ every: 1s, max_kills: 1 }}\n",
            run.id
        ),
    )
    .unwrap();
    let proxy = Proxy::start(run.dir.path());
    let endpoint = proxy.endpoint();
    let docker = endpoint.open().await.expect("engine through the proxy");
    let targets = scenario
        .targets
        .iter()
        .map(|t| TargetSpec::compile(t).unwrap())
        .collect();
    let platform = DockerPlatform::from_parts(docker, endpoint, targets, OwnContainer::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    platform.start(tx, cancel.clone()).await.expect("start");

    proxy.cut();
    // While firedrill cannot see the engine, the container restarts.
    docker_ok(&["restart", "--time", "0", &id]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    proxy.reopen();

    let died = next_of(&mut rx, &id, EventKind::Died).await;
    let started = next_of(&mut rx, &id, EventKind::Started).await;
    let daemon_after = |action: &str, after: i64| log.time_of(&id, action, after);
    assert_eq!(died.at, daemon_after("die", 0));
    assert_eq!(started.at, daemon_after("start", died.at));
    // And the stream is live again afterwards.
    docker_ok(&["kill", &id]);
    let died_again = next_of(&mut rx, &id, EventKind::Died).await;
    assert_eq!(died_again.at, daemon_after("die", started.at));
    cancel.cancel();
}
