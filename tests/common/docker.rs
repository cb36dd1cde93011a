//! Test harness for the Docker tests. Every container and network a test creates carries
//! `firedrill.test=<run id>` with a run id unique to that test, and a Drop guard removes all
//! of them, even when the test panics. Nothing else on the engine is touched.
//!
//! When no engine answers, tests skip with a note on stderr, unless FIREDRILL_REQUIRE_DOCKER=1,
//! in which case they fail loudly. The harness talks to the engine through the `docker` CLI, so
//! what it observes does not depend on firedrill's own Docker code.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The image every test container runs.
pub const IMAGE: &str = "firedrill-target:test";
/// The label key every test object carries.
pub const TEST_LABEL: &str = "firedrill.test";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `docker ARGS`; `Ok(stdout)` on success, else stderr.
pub fn docker(args: &[&str]) -> Result<String, String> {
    super::command_output("docker", args)
}

/// Like [`docker`], panicking on failure.
pub fn docker_ok(args: &[&str]) -> String {
    docker(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether the shared engine answers and has the test image (building it once if it does
/// not); the reason when not.
pub fn engine_ready() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            docker(&["version", "--format", "{{.Server.Version}}"])
                .map_err(|e| format!("no Docker engine answers: {e}"))?;
            if docker(&["image", "inspect", IMAGE]).is_err() {
                let script = repo_root().join("docker/build-target-image.sh");
                eprintln!("{IMAGE} is missing; building it with {}", script.display());
                let status = Command::new(&script)
                    .stdin(Stdio::null())
                    .status()
                    .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
                if !status.success() {
                    return Err(format!("{} failed: {status}", script.display()));
                }
            }
            Ok(())
        })
        .clone()
}

/// One test's objects on the engine.
pub struct TestRun {
    /// The run id in `firedrill.test=<id>`.
    pub id: String,
    /// Scratch folder for scenarios and reports, removed on drop.
    pub dir: tempfile::TempDir,
}

impl TestRun {
    /// A new run, or `None` (after a note on stderr) when Docker is unavailable and not
    /// required. Panics when FIREDRILL_REQUIRE_DOCKER=1 and Docker is unavailable.
    pub fn start(test: &str) -> Option<TestRun> {
        if let Err(why) = engine_ready() {
            if super::docker_required() {
                panic!("FIREDRILL_REQUIRE_DOCKER=1 but {why}");
            }
            eprintln!("skipping {test}: {why} (set FIREDRILL_REQUIRE_DOCKER=1 to fail instead)");
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let id = format!(
            "{}-{}-{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            nanos
        );
        Some(TestRun {
            id,
            dir: tempfile::tempdir().expect("temp dir"),
        })
    }

    /// `firedrill.test=<id>`.
    pub fn label(&self) -> String {
        format!("{TEST_LABEL}={}", self.id)
    }

    /// A container name unique to this run.
    pub fn name(&self, short: &str) -> String {
        format!("fdt-{}-{short}", self.id)
    }

    /// `docker run -d` of the test image named `short`, labelled with the run id; `args` go
    /// before the image (labels, restart policy, health options). Returns the container id.
    pub fn run_container(&self, short: &str, args: &[&str]) -> String {
        let name = self.name(short);
        let label = self.label();
        let mut all = vec!["run", "-d", "--name", &name, "--label", &label];
        all.extend_from_slice(args);
        all.push(IMAGE);
        docker_ok(&all)
    }

    /// The head of a scenario named `name` over this run's containers labelled `role=web`, as
    /// target `web` on the shared engine; `select_extra` adds to the selector, and the caller
    /// appends the target's other lines and the rest of the scenario.
    pub fn web_scenario(&self, name: &str, seed: u64, select_extra: &str) -> String {
        format!(
            "version: 1\nname: {name}\nseed: {seed}\nplatform: {{ kind: docker }}\ntargets:\n  \
             - name: web\n    select: {{ labels: {{ {TEST_LABEL}: \"{}\", role: web }}{select_extra} }}\n",
            self.id
        )
    }

    /// `docker inspect` of one container as JSON.
    pub fn inspect(&self, id: &str) -> Value {
        let text = docker_ok(&["inspect", id]);
        let v: Value = serde_json::from_str(&text).expect("inspect JSON");
        v[0].clone()
    }

    /// Waits until the container's health status is `healthy`.
    pub fn wait_healthy(&self, id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let v = self.inspect(id);
            if v["State"]["Health"]["Status"] == "healthy" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{id} not healthy within {within:?}: {}",
                v["State"]
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes a file into the scratch folder and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write scratch file");
        path
    }

    /// Ids of every container of this run, in any state.
    pub fn containers(&self) -> Vec<String> {
        docker(&[
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label={}", self.label()),
        ])
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
    }
}

impl Drop for TestRun {
    fn drop(&mut self) {
        let filter = format!("label={}", self.label());
        // Unpause first: some engines refuse to force-remove a frozen container.
        if let Ok(paused) = docker(&["ps", "-q", "--filter", &filter, "--filter", "status=paused"])
        {
            for id in paused.lines() {
                let _ = docker(&["unpause", id]);
            }
        }
        let ids = self.containers();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            if let Err(e) = docker(&args) {
                eprintln!("cleanup of run {}: {e}", self.id);
            }
        }
        if let Ok(nets) = docker(&["network", "ls", "-q", "--filter", &filter]) {
            for net in nets.lines() {
                let _ = docker(&["network", "rm", net]);
            }
        }
    }
}

/// One daemon event as `docker events --format '{{json .}}'` prints it.
#[derive(Debug, Clone)]
pub struct DaemonEvent {
    /// Container id.
    pub id: String,
    /// Action, e.g. `die`, `health_status: healthy`.
    pub action: String,
    /// `timeNano`.
    pub time_nano: i64,
    /// The actor's attributes (labels, name, image, exitCode).
    pub attributes: Value,
}

impl DaemonEvent {
    /// The event in one line of `docker events --format '{{json .}}'`.
    pub fn from_json(v: &Value) -> DaemonEvent {
        DaemonEvent {
            id: v["id"]
                .as_str()
                .or(v["Actor"]["ID"].as_str())
                .unwrap_or_default()
                .to_string(),
            action: v["Action"]
                .as_str()
                .or(v["status"].as_str())
                .unwrap_or_default()
                .to_string(),
            time_nano: v["timeNano"].as_i64().unwrap_or_default(),
            attributes: v["Actor"]["Attributes"].clone(),
        }
    }
}

/// A `docker events` child process recording every container event of a run, independently
/// of firedrill. Killed (by its own PID) on drop.
pub struct EventLog {
    child: Child,
    events: Arc<Mutex<Vec<DaemonEvent>>>,
}

impl EventLog {
    /// Starts recording events of containers labelled with the run's label.
    pub fn start(run: &TestRun) -> EventLog {
        let mut child = Command::new("docker")
            .args([
                "events",
                "--format",
                "{{json .}}",
                "--filter",
                "type=container",
                "--filter",
                &format!("label={}", run.label()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn docker events");
        let stdout = child.stdout.take().expect("events stdout");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                sink.lock().unwrap().push(DaemonEvent::from_json(&v));
            }
        });
        // `docker events` subscribes asynchronously; give it a moment so nothing is missed.
        std::thread::sleep(Duration::from_millis(300));
        EventLog { child, events }
    }

    /// Everything recorded so far.
    pub fn snapshot(&self) -> Vec<DaemonEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for the recorded events.
    pub fn wait_for(&self, within: Duration, what: &str, pred: impl Fn(&[DaemonEvent]) -> bool) {
        let deadline = Instant::now() + within;
        while !pred(&self.snapshot()) {
            assert!(
                Instant::now() < deadline,
                "timed out after {within:?} waiting for {what}; events: {:#?}",
                self.snapshot()
                    .iter()
                    .map(|e| (
                        e.id.get(..12).unwrap_or(&e.id).to_string(),
                        e.action.clone()
                    ))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl EventLog {
    /// The daemon's time (µs) of the first `action` event of container `id` at or after
    /// `after` (µs), waiting up to 10 s for this subscription to deliver it.
    pub fn time_of(&self, id: &str, action: &str, after: i64) -> i64 {
        let find = |events: &[DaemonEvent]| {
            events
                .iter()
                .filter(|e| e.id == id && e.action == action)
                .map(|e| e.time_nano / 1_000)
                .find(|&t| t >= after)
        };
        self.wait_for(Duration::from_secs(10), &format!("{action} of {id}"), |e| {
            find(e).is_some()
        });
        find(&self.snapshot()).unwrap_or_else(|| panic!("no daemon {action} event for {id}"))
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next event of `kind` for instance `id` on a platform's event stream, and every event
/// that went by before it; panics when none comes within `within`.
pub async fn next_event(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<firedrill::platform::PlatformEvent>,
    id: &str,
    kind: firedrill::platform::EventKind,
    within: Duration,
) -> (
    firedrill::platform::PlatformEvent,
    Vec<firedrill::platform::PlatformEvent>,
) {
    let mut passed = Vec::new();
    let wait = async {
        loop {
            let ev = rx.recv().await.expect("event stream open");
            if ev.instance == id && ev.kind == kind {
                return ev;
            }
            passed.push(ev);
        }
    };
    let ev = tokio::time::timeout(within, wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind:?} event for {id} within {within:?}"));
    (ev, passed)
}
