//! Managed mode: firedrill spawns the fleet and replaces what dies.

use std::process::{Command, Stdio};
use std::time::Duration;

use firedrill::platform::local::LocalPlatform;
use firedrill::platform::{EventKind, Instance, Platform, PlatformEvent};
use firedrill::scenario::Action;
use firedrill::vocabulary::signal::Signal;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::common::alive;
use crate::common::local::{scenario, shutdown_leaves_nothing, started, web_fleet, Events, BIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_of_three_comes_up_healthy_and_shutdown_leaves_no_child() {
    let (platform, mut events) = started(&web_fleet(3, "100ms")).await;
    let fleet = platform.instances("web").await.unwrap();
    let slots: Vec<&str> = fleet.iter().map(|i| i.slot.as_str()).collect();
    assert_eq!(slots, ["web/0", "web/1", "web/2"]);
    assert!(fleet.iter().all(|i| i.healthy), "{fleet:#?}");
    assert!(fleet.iter().all(|i| i.started_at.is_some()));
    for i in &fleet {
        assert!(
            alive(i.id.parse::<u32>().unwrap()),
            "{} is not running",
            i.id
        );
    }
    assert_eq!(platform.desired_capacity("web").await.unwrap(), Some(3));
    assert!(platform.instances("nope").await.is_err());

    shutdown_leaves_nothing(&platform, &mut events).await;
    assert!(events.pids().len() >= 3);
    // No replacement after shutdown.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(platform.instances("web").await.unwrap().is_empty());
    let before = events.seen.len();
    events.pids();
    let late: Vec<_> = events.seen[before..]
        .iter()
        .filter(|e| e.kind == EventKind::Created)
        .collect();
    assert!(late.is_empty(), "replaced after shutdown: {late:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_instance_is_replaced_in_its_slot_after_the_replace_delay() {
    let (platform, mut events) = started(&web_fleet(3, "300ms..500ms")).await;
    let victim = platform.instances("web").await.unwrap()[1].clone();
    let receipt = platform
        .kill(
            &victim,
            &Action::Kill {
                signal: Signal::KILL,
            },
        )
        .await
        .unwrap();
    let died = events
        .wait_for("Died", |e| {
            e.kind == EventKind::Died && e.instance == victim.id
        })
        .await;
    let old = victim.id.as_str();
    let in_slot =
        |kind| move |e: &PlatformEvent| e.kind == kind && e.slot == "web/1" && e.instance != old;
    let created = events
        .wait_for("Created", in_slot(EventKind::Created))
        .await;
    let started = events
        .wait_for("Started", in_slot(EventKind::Started))
        .await;
    let healthy = events
        .wait_for("Healthy", in_slot(EventKind::Healthy))
        .await;

    assert!(
        died.detail.as_deref().unwrap_or("").contains("SIGKILL"),
        "{died:?}"
    );
    assert_eq!(created.instance, started.instance);
    assert_eq!(started.instance, healthy.instance);
    let times = [receipt.at, died.at, created.at, started.at, healthy.at];
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {times:?}"
    );
    assert!(
        started.at - died.at >= 300_000,
        "replaced {}us after death",
        started.at - died.at
    );

    let fleet = platform.instances("web").await.unwrap();
    assert_eq!(fleet.len(), 3);
    assert!(fleet
        .iter()
        .any(|i| i.id == healthy.instance && i.slot == "web/1"));
    shutdown_leaves_nothing(&platform, &mut events).await;
}

// On the single-threaded runtime, so spawning and reaping work without spare workers.
#[tokio::test]
async fn instance_that_exits_by_itself_is_replaced_too() {
    let s = scenario(
        r#"
  - name: batch
    select:
      managed:
        command: [sleep, "0.3"]
        replicas: 1
        replace_delay: 100ms
"#,
    );
    let (platform, mut events) = started(&s).await;
    let first = platform.instances("batch").await.unwrap()[0].clone();
    assert!(first.healthy, "no health check: running is healthy");
    let died = events
        .wait_for("Died", |e| {
            e.kind == EventKind::Died && e.instance == first.id
        })
        .await;
    assert_eq!(died.detail.as_deref(), Some("exit status: 0"));
    let next = events
        .wait_for("Started", |e| {
            e.kind == EventKind::Started && e.instance != first.id
        })
        .await;
    assert_eq!(next.slot, "batch/0");
    assert!(next.at - died.at >= 100_000);
    events
        .wait_for("Healthy", |e| {
            e.kind == EventKind::Healthy && e.instance == next.instance
        })
        .await;
    shutdown_leaves_nothing(&platform, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sends_sigterm_and_sigkill_only_after_the_grace() {
    // A server that ends cleanly on SIGTERM exits 0 well within its grace.
    let (platform, mut events) = started(&web_fleet(1, "100ms")).await;
    let victim = platform.instances("web").await.unwrap()[0].clone();
    let stop = |grace: &str| Action::Stop {
        grace: grace.parse().unwrap(),
    };
    let receipt = platform.kill(&victim, &stop("5s")).await.unwrap();
    assert!(receipt.detail.contains("SIGTERM"), "{}", receipt.detail);
    let died = events
        .wait_for("Died", |e| {
            e.kind == EventKind::Died && e.instance == victim.id
        })
        .await;
    assert_eq!(died.detail.as_deref(), Some("exit status: 0"));
    assert!(died.at - receipt.at < 5_000_000);
    shutdown_leaves_nothing(&platform, &mut events).await;

    // A process that ignores SIGTERM is killed once the grace is over.
    let stubborn = scenario(
        r#"
  - name: stubborn
    select:
      managed:
        command: [sh, -c, 'trap "" TERM; exec sleep 30']
        replicas: 1
        replace_delay: 100ms
"#,
    );
    let (platform, mut events) = started(&stubborn).await;
    let victim = platform.instances("stubborn").await.unwrap()[0].clone();
    // Running is not enough here: the shell must have set its trap and become `sleep`.
    for _ in 0..100 {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", victim.id)).unwrap();
        if comm.trim() == "sleep" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let receipt = platform.kill(&victim, &stop("500ms")).await.unwrap();
    let died = events
        .wait_for("Died", |e| {
            e.kind == EventKind::Died && e.instance == victim.id
        })
        .await;
    assert!(
        died.detail.as_deref().unwrap_or("").contains("SIGKILL"),
        "{died:?}"
    );
    assert!(
        died.at - receipt.at >= 500_000,
        "killed {}us after SIGTERM",
        died.at - receipt.at
    );
    shutdown_leaves_nothing(&platform, &mut events).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_fails_naming_the_slot_that_never_gets_healthy_and_leaves_nothing() {
    let s = scenario(&format!(
        r#"
  - name: slow
    select:
      managed:
        command: ["{BIN}", target, --port, "{{port}}", --boot-delay, 60s]
        replicas: 2
    health:
      http: {{}}
      every: 50ms
"#
    ));
    let platform = LocalPlatform::new(&s, 1)
        .unwrap()
        .with_start_timeout(Duration::from_secs(1));
    let (tx, rx) = mpsc::unbounded_channel();
    let error = platform
        .start(tx, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("slot slow/0"), "{error}");
    assert!(error.contains("503"), "{error}");
    let mut events = Events {
        rx,
        seen: Vec::new(),
    };
    let pids = events.pids();
    assert_eq!(pids.len(), 2, "{:?}", events.seen);
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "a failed start left {pids:?}"
    );

    let missing = scenario(
        r#"
  - name: ghost
    select:
      managed:
        command: [/nonexistent/firedrill-test-binary]
        replicas: 1
"#,
    );
    let platform = LocalPlatform::new(&missing, 1).unwrap();
    let (tx, _rx) = mpsc::unbounded_channel();
    let error = platform
        .start(tx, CancellationToken::new())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("ghost/0"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_of_a_pid_outside_the_fleet_is_refused() {
    let (platform, mut events) = started(&web_fleet(1, "100ms")).await;
    let mut outsider = Command::new("sleep").arg("30").spawn().unwrap();
    let member = platform.instances("web").await.unwrap()[0].clone();
    for id in [
        outsider.id().to_string(),
        std::process::id().to_string(),
        "1".to_string(),
    ] {
        let fake = Instance {
            id: id.clone(),
            ..member.clone()
        };
        let result = platform.kill(&fake, &Action::Crash {}).await;
        assert!(result.is_err(), "kill of PID {id} was not refused");
    }
    let unsupported = platform.kill(&member, &Action::Remove {}).await;
    assert!(unsupported.is_err());
    assert!(
        outsider.try_wait().unwrap().is_none(),
        "the outsider was killed"
    );
    outsider.kill().unwrap();
    outsider.wait().unwrap();
    shutdown_leaves_nothing(&platform, &mut events).await;
}

/// Set in the re-executed test binary that plays firedrill in the test below.
const PARENT_ROLE: &str = "FIREDRILL_TEST_PLAY_PARENT";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_dies_with_firedrill_even_on_sigkill() {
    if std::env::var_os(PARENT_ROLE).is_some() {
        // The parent's part: start a fleet, report its PIDs, and wait to be killed.
        let (platform, _events) = started(&web_fleet(2, "100ms")).await;
        let pids: Vec<String> = platform
            .instances("web")
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        println!("PIDS {}", pids.join(" "));
        tokio::time::sleep(Duration::from_secs(60)).await;
        return;
    }
    // Orphans come to this process rather than to PID 1, whose own policy (some inits kill
    // orphans) must not make this test pass.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );
    let mut parent = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "managed::fleet_dies_with_firedrill_even_on_sigkill",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PARENT_ROLE, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pids = Vec::new();
    let reader = std::io::BufReader::new(parent.stdout.take().unwrap());
    for line in std::io::BufRead::lines(reader) {
        let line = line.unwrap();
        // The harness may have written "test NAME ... " on the same line.
        if let Some((_, list)) = line.split_once("PIDS ") {
            pids = list.split(' ').map(|p| p.parse::<u32>().unwrap()).collect();
            break;
        }
    }
    assert_eq!(pids.len(), 2, "the parent reported no fleet");
    assert!(pids.iter().all(|p| alive(*p)));
    parent.kill().unwrap();
    parent.wait().unwrap();
    let ended = |pid: u32| {
        // A child of the subreaper that died stays a zombie until reaped here.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let dead = state.is_empty()
            || state
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z');
        if dead {
            unsafe {
                libc::waitpid(
                    i32::try_from(pid).unwrap(),
                    std::ptr::null_mut(),
                    libc::WNOHANG,
                )
            };
        }
        dead
    };
    for _ in 0..100 {
        if pids.iter().all(|p| ended(*p)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for pid in &pids {
        unsafe { libc::kill(i32::try_from(*pid).unwrap(), libc::SIGKILL) };
        ended(*pid);
    }
    panic!("fleet PIDs {pids:?} outlived their SIGKILLed parent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_outlives_the_thread_that_started_it() {
    // The kernel's parent-death signal follows the forking thread, so a fleet forked from a
    // short-lived thread would die with that thread.
    let platform = std::sync::Arc::new(LocalPlatform::new(&web_fleet(2, "100ms"), 3).unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let runtime = tokio::runtime::Handle::current();
    let starter = std::sync::Arc::clone(&platform);
    std::thread::spawn(move || runtime.block_on(starter.start(tx, CancellationToken::new())))
        .join()
        .unwrap()
        .unwrap();
    let mut events = Events {
        rx,
        seen: Vec::new(),
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    events.pids();
    let died: Vec<_> = events
        .seen
        .iter()
        .filter(|e| e.kind == EventKind::Died)
        .collect();
    assert!(
        died.is_empty(),
        "the fleet died with its starting thread: {died:?}"
    );
    assert_eq!(platform.instances("web").await.unwrap().len(), 2);
    shutdown_leaves_nothing(&platform, &mut events).await;
}
