//! Attach mode: processes firedrill did not start, replaced by their own supervisor.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use firedrill::platform::{EventKind, Instance, Platform};
use firedrill::scenario::{Action, Scenario};

use crate::common::alive;
use crate::common::local::{scenario, started, BIN};

/// A shell loop that restarts `firedrill target` on `port`, in its own process group so the
/// test ends exactly it and its children.
struct Supervisor {
    child: Child,
}

impl Supervisor {
    fn start(port: u16, env: &[(&str, &str)]) -> Supervisor {
        let child = Command::new("sh")
            .args([
                "-c",
                r#"while :; do "$BIN" target --port "$PORT"; sleep 0.2; done"#,
            ])
            .env("BIN", BIN)
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let supervisor = Supervisor { child };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return supervisor;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the supervised target on port {port} never listened");
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let group = i32::try_from(self.child.id()).unwrap();
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn attach_scenario(ports: &[u16], health_port: u16, optin: &str) -> Scenario {
    let alternatives: Vec<String> = ports.iter().map(u16::to_string).collect();
    scenario(&format!(
        r#"
  - name: svc
    select:
      process:
        cmdline: 'target --port ({})$'
    require_label: FIREDRILL_TEST_OPTIN={optin}
    health:
      http: {{port: {health_port}}}
      every: 50ms
"#,
        alternatives.join("|")
    ))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_process_killed_is_replaced_by_its_supervisor_and_detected() {
    let port = free_port();
    let optin = unique("attach");
    let supervisor = Supervisor::start(port, &[("FIREDRILL_TEST_OPTIN", &optin)]);
    let (platform, mut events) = started(&attach_scenario(&[port], port, &optin)).await;

    let found = platform.instances("svc").await.unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    let victim = found[0].clone();
    assert_ne!(
        victim.id,
        supervisor.child.id().to_string(),
        "selected the shell loop"
    );
    assert!(victim.healthy);
    assert_eq!(victim.slot, "svc");
    assert_eq!(victim.labels.get("FIREDRILL_TEST_OPTIN"), Some(&optin));
    assert_eq!(platform.desired_capacity("svc").await.unwrap(), None);

    let receipt = platform.kill(&victim, &Action::Crash {}).await.unwrap();
    let died = events
        .wait_for("Died", |e| {
            e.kind == EventKind::Died && e.instance == victim.id
        })
        .await;
    let started = events
        .wait_for("Started", |e| {
            e.kind == EventKind::Started && e.instance != victim.id
        })
        .await;
    assert_eq!(started.detail.as_deref(), Some("detected by polling"));
    let healthy = events
        .wait_for("Healthy", |e| {
            e.kind == EventKind::Healthy && e.instance == started.instance
        })
        .await;
    assert!(receipt.at <= died.at && died.at <= started.at && started.at <= healthy.at);
    // The loop sleeps 0.2s before restarting; Started is the kernel's start time, to a tick.
    let gap = started.at - died.at;
    assert!(
        gap >= 180_000,
        "replacement started {gap}us after the death"
    );
    let listed = platform.instances("svc").await.unwrap();
    assert_eq!(listed[0].started_at, Some(started.at));
    let now = platform.instances("svc").await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].id, started.instance);
    platform.shutdown().await.unwrap();
    assert!(
        alive(supervisor.child.id()),
        "shutdown must not stop attached processes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_processes_without_opt_in_or_exempt_are_listed_but_never_killed() {
    let (bare_port, exempt_port) = (free_port(), free_port());
    let optin = unique("exempt");
    let _bare = Supervisor::start(bare_port, &[]);
    let _exempt = Supervisor::start(
        exempt_port,
        &[
            ("FIREDRILL_TEST_OPTIN", &optin),
            ("FIREDRILL_EXEMPT", "true"),
        ],
    );
    let s = attach_scenario(&[bare_port, exempt_port], bare_port, &optin);
    let (platform, mut events) = started(&s).await;

    let found = platform.instances("svc").await.unwrap();
    assert_eq!(found.len(), 2, "{found:#?}");
    let bare = found
        .iter()
        .find(|i| i.labels.is_empty())
        .expect("no instance without labels");
    let exempt = found
        .iter()
        .find(|i| i.labels.get("firedrill.exempt").map(String::as_str) == Some("true"))
        .expect("no exempt instance");
    assert_eq!(exempt.labels.get("FIREDRILL_TEST_OPTIN"), Some(&optin));
    for victim in [bare, exempt] {
        let result = platform.kill(victim, &Action::Crash {}).await;
        assert!(result.is_err(), "{} was killed", victim.name);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids = |v: &[Instance]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    let after = platform.instances("svc").await.unwrap();
    assert_eq!(
        ids(&after),
        ids(&found),
        "a refused kill still changed the processes"
    );
    assert!(!events.pids().is_empty());
    assert!(
        events.seen.iter().all(|e| e.kind != EventKind::Died),
        "{:#?}",
        events.seen
    );
    platform.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exited_process_not_yet_reaped_is_not_selected() {
    let mut running = Command::new("sleep").arg("30").spawn().unwrap();
    let mut zombie = Command::new("sleep").arg("30").spawn().unwrap();
    let zombie_pid = zombie.id();
    unsafe { libc::kill(i32::try_from(zombie_pid).unwrap(), libc::SIGKILL) };
    // Not reaped yet: it stays in /proc, in state Z, until `wait`.
    while !std::fs::read_to_string(format!("/proc/{zombie_pid}/stat"))
        .unwrap()
        .contains(") Z ")
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Listing ignores the opt-in, which only eligibility checks.
    let s = scenario(
        "  - name: sleepers\n    select: {process: {name: sleep}}\n    require_label: FIREDRILL_TARGET=none\n",
    );
    let (platform, _events) = started(&s).await;
    let ids: Vec<String> = platform
        .instances("sleepers")
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    platform.shutdown().await.unwrap();
    assert!(ids.contains(&running.id().to_string()), "{ids:?}");
    assert!(
        !ids.contains(&zombie_pid.to_string()),
        "selected a zombie: {ids:?}"
    );
    running.kill().unwrap();
    running.wait().unwrap();
    zombie.wait().unwrap();
}
