//! Swarm additions to the Docker test harness ([`super::docker`]). Every service a test creates carries `firedrill.test=<run
//! id>` as a service label and as a container label, and [`SwarmRun`]'s Drop removes those
//! services (before the Docker harness removes any leftover containers), even when the test
//! panics.
//!
//! Swarm mode: when the engine is not in Swarm mode, the first test to need it runs
//! `docker swarm init --advertise-addr 127.0.0.1` (loopback only), and registers an `atexit`
//! hook that runs `docker swarm leave --force` when the test binary exits, after its last
//! test, whichever tests a filter selected. An engine that was already in Swarm mode is left
//! in it. All swarm tests live in one binary (tests/swarm_platform.rs) and take [`SwarmRun`]'s
//! lock, so they run one at a time; cargo runs test binaries one after another, so no other
//! binary sees the Swarm come and go under it.

use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::docker::{docker, docker_ok, TestRun, IMAGE};

/// Serialises the swarm tests of this binary.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

extern "C" fn leave_swarm() {
    // Best effort at exit: nothing is left to report a failure to.
    let _ = Command::new("docker")
        .args(["swarm", "leave", "--force"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Puts the engine in Swarm mode if it is not, once per test binary.
fn ensure_swarm() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])?;
            if state.trim() == "active" {
                let manager = docker(&["info", "--format", "{{.Swarm.ControlAvailable}}"])?;
                if manager.trim() != "true" {
                    return Err("this engine is a Swarm worker, not a manager".into());
                }
                return Ok(());
            }
            docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"])?;
            eprintln!("swarm tests: put the engine in Swarm mode; it leaves when the tests end");
            // SAFETY: registering a plain extern "C" function with no captured state.
            unsafe { libc::atexit(leave_swarm) };
            Ok(())
        })
        .clone()
}

/// One swarm test's services, on top of its Docker test run.
pub struct SwarmRun {
    /// The Docker test run (label, scratch folder, container cleanup).
    pub run: TestRun,
    _turn: MutexGuard<'static, ()>,
}

impl SwarmRun {
    /// A new run, or `None` when Docker is unavailable and not required (see
    /// [`TestRun::start`]). Panics when Swarm mode cannot be had and FIREDRILL_REQUIRE_DOCKER=1.
    pub fn start(test: &str) -> Option<SwarmRun> {
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let run = TestRun::start(test)?;
        if let Err(why) = ensure_swarm() {
            if super::docker_required() {
                panic!("FIREDRILL_REQUIRE_DOCKER=1 but Swarm mode is unavailable: {why}");
            }
            eprintln!("skipping {test}: Swarm mode is unavailable: {why}");
            return None;
        }
        Some(SwarmRun { run, _turn: turn })
    }

    /// The full service name of `short` in this run.
    pub fn service_name(&self, short: &str) -> String {
        self.run.name(short)
    }

    /// `docker service create` of the test image, labelled (service and containers) with the
    /// run id; `args` go before the image. Waits until `replicas` tasks run and are healthy.
    pub fn create_service(&self, short: &str, replicas: u32, args: &[&str]) -> String {
        let name = self.service_name(short);
        let label = self.run.label();
        let replicas_text = replicas.to_string();
        let mut all = vec![
            "service",
            "create",
            "--detach",
            "--quiet",
            "--no-resolve-image",
            "--name",
            &name,
            "--label",
            &label,
            "--container-label",
            &label,
            "--replicas",
            &replicas_text,
        ];
        all.extend_from_slice(args);
        all.push(IMAGE);
        docker_ok(&all);
        self.wait_healthy(&name, replicas, Duration::from_secs(60));
        name
    }

    /// Ids of the service's tasks that the orchestrator wants running.
    pub fn running_tasks(&self, service: &str) -> Vec<String> {
        let mut ids: Vec<String> = docker_ok(&[
            "service",
            "ps",
            "--quiet",
            "--no-trunc",
            "--filter",
            "desired-state=running",
            service,
        ])
        .lines()
        .map(str::to_string)
        .collect();
        ids.sort();
        ids
    }

    /// `docker inspect` of a task.
    pub fn task(&self, id: &str) -> Value {
        let text = docker_ok(&["inspect", "--type", "task", id]);
        let v: Value = serde_json::from_str(&text).expect("task JSON");
        v[0].clone()
    }

    /// Waits until `n` tasks of the service run with healthy containers.
    pub fn wait_healthy(&self, service: &str, n: u32, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let healthy = self
                .running_tasks(service)
                .iter()
                .map(|t| self.task(t))
                .filter(|t| t["Status"]["State"] == "running")
                .filter_map(|t| {
                    t["Status"]["ContainerStatus"]["ContainerID"]
                        .as_str()
                        .map(str::to_string)
                })
                .filter(|c| {
                    docker(&["inspect", "--format", "{{.State.Health.Status}}", c])
                        .is_ok_and(|s| s.trim() == "healthy")
                })
                .count() as u32;
            if healthy >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "service {service}: {healthy} of {n} tasks healthy after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for SwarmRun {
    fn drop(&mut self) {
        let filter = format!("label={}", self.run.label());
        let services =
            docker(&["service", "ls", "--quiet", "--filter", &filter]).unwrap_or_default();
        let ids: Vec<&str> = services.lines().collect();
        if !ids.is_empty() {
            let mut args = vec!["service", "rm"];
            args.extend(ids.iter().copied());
            if let Err(e) = docker(&args) {
                eprintln!("cleanup of run {}: {e}", self.run.id);
            }
        }
        // Removing a service stops its containers asynchronously; wait briefly so the Docker
        // harness's own cleanup, which runs next, finds them stopped or gone.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.run.containers().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
