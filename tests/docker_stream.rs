//! Losing the event stream: firedrill reaches the engine through a unix-socket proxy that the
//! test cuts and refuses for a while. What happened meanwhile must arrive after the reconnect,
//! with the daemon's exact times; and when the engine no longer holds those events (the proxy
//! makes the replay start after them), the resync must still report them, flagged uncertain.
//! The proxy also lists the requests that pass, to show that decisions, which read the book
//! the stream keeps, cost the engine nothing, and that a kill inspects only its victim.
//! Skips without an engine unless FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::docker::{docker_ok, EventLog, TestRun};
use firedrill::platform::docker::connect::{Endpoint, DEFAULT_SOCKET};
use firedrill::platform::docker::select::{OwnContainer, TargetSpec};
use firedrill::platform::docker::DockerPlatform;
use firedrill::platform::{EventKind, Platform, PlatformEvent};
use firedrill::scenario::{Action, Scenario};
use firedrill::vocabulary::signal::Signal;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A unix-socket proxy to the engine that can drop every connection and refuse new ones, and
/// can make the engine seem to have forgotten its buffered events.
struct Proxy {
    path: PathBuf,
    refusing: Arc<AtomicBool>,
    forgetting: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
    requests: Arc<Mutex<Vec<String>>>,
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
        let forgetting = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(tokio::sync::Notify::new());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, f, c) = (refusing.clone(), forgetting.clone(), cut.clone());
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((down, _)) = accepted else { break };
                        if r.load(Ordering::SeqCst) {
                            drop(down);
                            continue;
                        }
                        let upstream = upstream.clone();
                        let forgetting = f.clone();
                        let seen = seen.clone();
                        conns.spawn(async move {
                            if let Ok(up) = UnixStream::connect(&upstream).await {
                                relay(down, up, forgetting, seen).await;
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
            forgetting,
            cut,
            requests,
            task,
        }
    }

    /// Every request passed on so far, as `METHOD /path` without the API version or query.
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
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

    /// From now on every `since=` the client asks the engine for becomes the present moment,
    /// as if the engine's event buffer had dropped everything older.
    fn forget_buffered_events(&self) {
        self.forgetting.store(true, Ordering::SeqCst);
    }
}

/// Copies both ways; client-to-engine bytes have their `since=` rewritten while `forgetting`,
/// and their request lines noted in `seen`. A request line is one small write by the client,
/// so it is not split across reads here.
async fn relay(
    down: UnixStream,
    up: UnixStream,
    forgetting: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let since = regex::bytes::Regex::new(r"since=[0-9]+(\.[0-9]+)?").unwrap();
    let request_line = regex::bytes::Regex::new(
        r"(?m)^(GET|POST|PUT|DELETE|HEAD) (?:/v[0-9.]+)?(/[^ ?]*)\S* HTTP/1\.[01]\r$",
    )
    .unwrap();
    let (mut down_r, mut down_w) = down.into_split();
    let (mut up_r, mut up_w) = up.into_split();
    let to_client = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut up_r, &mut down_w).await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match down_r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for line in request_line.captures_iter(&buf[..n]) {
            let request = format!(
                "{} {}",
                String::from_utf8_lossy(&line[1]),
                String::from_utf8_lossy(&line[2])
            );
            seen.lock().unwrap().push(request);
        }
        let bytes = if forgetting.load(Ordering::SeqCst) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            let to = format!("since={}.{:09}", now.as_secs(), now.subsec_nanos());
            since.replace_all(&buf[..n], to.as_bytes()).into_owned()
        } else {
            buf[..n].to_vec()
        };
        if up_w.write_all(&bytes).await.is_err() {
            break;
        }
    }
    to_client.abort();
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

/// The platform over `run`'s containers, reaching the engine through a fresh [`Proxy`], with
/// its event stream started.
async fn through_proxy(
    run: &TestRun,
) -> (
    Proxy,
    DockerPlatform,
    mpsc::UnboundedReceiver<PlatformEvent>,
    CancellationToken,
) {
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
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    platform.start(tx, cancel.clone()).await.expect("start");

    (proxy, platform, rx, cancel)
}

#[tokio::test]
async fn events_during_a_lost_stream_arrive_after_reconnect_with_the_daemons_times() {
    let Some(run) = TestRun::start("stream-loss") else {
        return;
    };
    let log = EventLog::start(&run);
    let id = run.run_container("s", &[]);
    run.wait_healthy(&id, Duration::from_secs(20));
    let (proxy, _platform, mut rx, cancel) = through_proxy(&run).await;

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

#[tokio::test]
async fn a_restart_the_engine_no_longer_buffers_is_found_by_the_resync_and_flagged_uncertain() {
    let Some(run) = TestRun::start("stream-forgotten") else {
        return;
    };
    let id = run.run_container("f", &[]);
    run.wait_healthy(&id, Duration::from_secs(20));
    let (proxy, platform, mut rx, cancel) = through_proxy(&run).await;
    // The platform has seen the container before the cut.
    let listed = platform.instances("web").await.expect("list");
    assert!(listed.iter().any(|i| i.id == id && i.healthy), "{listed:?}");

    proxy.cut();
    proxy.forget_buffered_events();
    // Let the proxy drop its connections before the restart: `docker_ok` blocks this runtime's
    // only thread, and the relays would otherwise pass the restart's events on first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    docker_ok(&["restart", "--time", "0", &id]);
    // Let the restart's events fall before the moment the replay will be asked to start at.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.reopen();

    // The replay starts after the restart, so only the resync can tell of it.
    let (started, passed) =
        common::docker::next_event(&mut rx, &id, EventKind::Started, Duration::from_secs(30)).await;
    assert!(started.uncertain, "{started:?}");
    let died = passed
        .iter()
        .find(|e| e.instance == id && e.kind == EventKind::Died)
        .unwrap_or_else(|| panic!("no died event before the start: {passed:?}"));
    assert!(died.uncertain, "{died:?}");
    // The restarted container's real start time, from the engine, bounds the resync's guess.
    let state = run.inspect(&id);
    let started_at = common::rfc3339_micros(state["State"]["StartedAt"].as_str().unwrap());
    assert!(
        (started.at - started_at).abs() < 1_000_000,
        "resync start {} vs engine {started_at}",
        started.at
    );
    cancel.cancel();
}

#[tokio::test]
async fn decisions_read_the_book_and_a_kill_inspects_only_its_victim() {
    let Some(run) = TestRun::start("engine-calls") else {
        return;
    };
    // No restart policy: the victim stays down, so no later start has the watcher inspect it
    // while the kill's own calls are counted.
    let ids: Vec<String> = (0..5)
        .map(|n| run.run_container(&format!("c{n}"), &[]))
        .collect();
    for id in &ids {
        run.wait_healthy(id, Duration::from_secs(20));
    }
    let (proxy, platform, _rx, cancel) = through_proxy(&run).await;
    // The watcher subscribes in a task of its own, just after the start returned.
    for _ in 0..100 {
        if proxy.requests().iter().any(|c| c == "GET /events") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let at_start = proxy.requests();
    let lists = |calls: &[String]| {
        calls
            .iter()
            .filter(|c| c.as_str() == "GET /containers/json")
            .count()
    };
    assert_eq!(lists(&at_start), 1, "start lists once: {at_start:?}");

    // Twenty decisions' worth of looks at the fleet, as the run takes before each decision.
    let mut listed = Vec::new();
    for _ in 0..20 {
        listed = platform.instances("web").await.expect("instances");
        assert_eq!(listed.len(), 5, "{listed:?}");
        assert!(listed.iter().all(|i| i.healthy), "{listed:?}");
    }
    let after_looks = proxy.requests();
    assert_eq!(
        after_looks.len(),
        at_start.len(),
        "looking at the fleet called the engine: {:?}",
        &after_looks[at_start.len()..]
    );

    let victim = &listed[0];
    let action = Action::Kill {
        signal: Signal::KILL,
    };
    platform.kill(victim, &action).await.expect("kill");
    let after_kill = proxy.requests();
    assert_eq!(
        after_kill[after_looks.len()..],
        [
            format!("GET /containers/{}/json", victim.id),
            format!("POST /containers/{}/kill", victim.id),
        ],
        "a kill confirms its victim with one inspect, then acts"
    );
    cancel.cancel();
}
