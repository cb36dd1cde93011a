//! A real multi-node Docker Swarm for tests, built by `lab/swarm-lab`: node 1 is the manager
//! and the others are workers, each its own dockerd in its own network namespace, serving TLS
//! on `tcp://<node ip>:2376` (what firedrill is given) and a unix socket (what this harness
//! uses, so it sees each node independently of firedrill's code).
//!
//! Which lab: with `FIREDRILL_SWARM_LAB=<state folder>` the lab someone brought up there (CI
//! does, with `lab/swarm-lab up 3`) is used as it is and left up. Otherwise the first test that
//! asks, when it runs as root with the tools installed, brings up a private 3-node lab with a
//! name and folder of its own, and an `atexit` hook takes it down when the test binary exits,
//! after its last test, panicked or not. (A binary that is killed cannot: its lab is then
//! taken down with `FIREDRILL_LAB_DIR=<folder> lab/swarm-lab down`; the folder is printed when
//! the lab comes up.) When no lab can be had the test skips with a note, or panics under
//! FIREDRILL_REQUIRE_DOCKER=1.
//!
//! Each test gets a [`Lab`] from [`Lab::get`]: its turn (lab tests of a binary run one at a
//! time), a run id that every service it creates carries as `firedrill.test=<id>` (service and
//! container label), and a scratch folder. Dropping it heals every node the test cut and
//! removes its services, even when the test panics. What a test uses:
//!
//! - the lab: [`Lab::nodes`], [`Lab::node`] (1-based, as the script numbers them),
//!   [`Lab::manager`], [`Lab::workers`], [`Lab::node_by_id`];
//! - docker on a node's unix socket: [`Lab::manager_docker`], [`Lab::node_docker`] (and `_ok`
//!   variants that panic); a node's container events: [`Lab::record_events`];
//! - services: [`Lab::create_service`], [`Lab::running_tasks`], [`Lab::task`],
//!   [`Lab::node_of_task`], [`Lab::wait_healthy`];
//! - the network: [`Lab::cut`], [`Lab::heal`], [`Lab::node_state`], [`Lab::wait_node_state`];
//! - firedrill: [`Lab::platform_yaml`], [`Lab::env_for_firedrill`], [`Lab::firedrill`],
//!   [`Lab::run_for_report`], [`Lab::run_passing`], [`Lab::write`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::docker::IMAGE;

pub mod events;
mod firedrill;
mod services;

/// The script that builds, describes, cuts and takes down a lab.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/swarm-lab");

/// How many nodes a private lab has.
const PRIVATE_NODES: &str = "3";

/// The tools a private lab needs besides root, dockerd, docker and ip.
const TOOLS: [&str; 7] = [
    "containerd",
    "iptables",
    "openssl",
    "nsenter",
    "unshare",
    "setsid",
    "runc",
];

/// Serialises the lab tests of this binary.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The state folder of the private lab this binary brought up, for the exit hook.
static PRIVATE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// One node, as `lab/swarm-lab env --json` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct LabNode {
    /// 1-based; node 1 is the manager.
    pub index: u32,
    /// The node's hostname: `docker info`'s Name, the Swarm node's hostname.
    pub hostname: String,
    /// Its address on the lab's bridge.
    pub ip: String,
    /// Its engine's TLS endpoint, `tcp://<ip>:2376`.
    pub endpoint: String,
    /// Its engine's unix socket.
    pub socket: PathBuf,
    /// `manager` or `worker`.
    pub role: String,
    /// Its Swarm node id.
    pub node_id: String,
}

/// `lab/swarm-lab env --json`.
#[derive(Debug, Deserialize)]
struct LabEnv {
    name: String,
    dir: PathBuf,
    docker_host: String,
    cert_path: PathBuf,
    heartbeat: String,
    nodes: Vec<LabNode>,
}

/// Runs the script on the lab in `dir`; its stdout on success, else everything it said.
fn script(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let out = Command::new(SCRIPT)
        .args(args)
        .env("FIREDRILL_LAB_DIR", dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {SCRIPT}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "lab/swarm-lab {} ({}): {}\n{stdout}{}",
            args.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn read_env(dir: &Path) -> Result<LabEnv, String> {
    let text = script(dir, &["env", "--json"], &[])?;
    serde_json::from_str(&text).map_err(|e| format!("env --json: {e}: {text}"))
}

extern "C" fn take_private_lab_down() {
    let Some(dir) = PRIVATE_DIR.get() else {
        return;
    };
    // At exit nothing is left to report a failure to but stderr.
    match script(dir, &["down"], &[]) {
        Ok(said) => eprint!("{said}"),
        Err(e) => eprintln!("taking down the private Swarm lab failed: {e}"),
    }
}

/// Brings up this binary's private lab, once.
fn private_lab() -> &'static Result<LabEnv, String> {
    static LAB: OnceLock<Result<LabEnv, String>> = OnceLock::new();
    LAB.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Interface names are at most 15 bytes: "fl" + 6 hex digits + "-v3" is 11.
        let name = format!("fl{:06x}", (std::process::id() ^ nanos) & 0xff_ffff);
        let dir = PathBuf::from(format!("/tmp/firedrill-lab-{name}"));
        let _ = PRIVATE_DIR.set(dir.clone());
        // Registered before `up`, so even a half-made lab is taken down (down is idempotent).
        // SAFETY: registering a plain extern "C" function with no captured state.
        unsafe { libc::atexit(take_private_lab_down) };
        let started = Instant::now();
        script(
            &dir,
            &["up", PRIVATE_NODES],
            &[("FIREDRILL_LAB_NAME", name.as_str())],
        )?;
        eprintln!(
            "swarm lab tests: brought up a private {PRIVATE_NODES}-node lab {name} in {} \
             ({:.1?}); it goes down when the tests end",
            dir.display(),
            started.elapsed()
        );
        read_env(&dir)
    })
}

/// The lab FIREDRILL_SWARM_LAB names, once.
fn given_lab(dir: &str) -> &'static Result<LabEnv, String> {
    static LAB: OnceLock<Result<LabEnv, String>> = OnceLock::new();
    LAB.get_or_init(|| read_env(Path::new(dir)))
}

/// One test's use of the lab.
pub struct Lab {
    env: &'static LabEnv,
    /// The run id in `firedrill.test=<id>`.
    pub id: String,
    /// Scratch folder for scenarios and reports, removed on drop.
    pub dir: tempfile::TempDir,
    cut: Mutex<BTreeSet<u32>>,
    _turn: MutexGuard<'static, ()>,
}

impl Lab {
    /// The lab for `test` (see the module docs for which), or `None` after a note on stderr
    /// when none can be had and FIREDRILL_REQUIRE_DOCKER is not 1. Panics when
    /// FIREDRILL_SWARM_LAB names a lab that does not answer.
    pub fn get(test: &str) -> Option<Lab> {
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let env = match std::env::var("FIREDRILL_SWARM_LAB") {
            Ok(dir) => match given_lab(&dir) {
                Ok(env) => env,
                Err(e) => panic!("FIREDRILL_SWARM_LAB={dir} names no usable lab: {e}"),
            },
            Err(_) => {
                super::engine::available(test, &TOOLS)?;
                let ready = super::docker::engine_ready()
                    .map_err(|e| format!("the host engine cannot give the lab {IMAGE}: {e}"));
                match ready.and_then(|()| private_lab().as_ref().map_err(Clone::clone)) {
                    Ok(env) => env,
                    Err(why) if super::docker_required() => {
                        panic!("FIREDRILL_REQUIRE_DOCKER=1 but no Swarm lab: {why}")
                    }
                    Err(why) => {
                        eprintln!(
                            "skipping {test}: no Swarm lab: {why} (set FIREDRILL_REQUIRE_DOCKER=1 \
                             to fail instead)"
                        );
                        return None;
                    }
                }
            }
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let id = format!(
            "{}-{}-{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            nanos
        );
        Some(Lab {
            env,
            id,
            dir: tempfile::tempdir().expect("temp dir"),
            cut: Mutex::new(BTreeSet::new()),
            _turn: turn,
        })
    }

    // ------------------------------------------------------------------------------- nodes

    /// The lab's name (the prefix of its hostnames and interfaces).
    pub fn name(&self) -> &str {
        &self.env.name
    }

    /// The lab's state folder (what FIREDRILL_LAB_DIR names).
    pub fn state_dir(&self) -> &Path {
        &self.env.dir
    }

    /// The Swarm dispatcher heartbeat the lab was made with (`5s` unless
    /// FIREDRILL_LAB_HEARTBEAT said otherwise); the manager marks a node it stops hearing from
    /// Down after about three of them.
    pub fn heartbeat(&self) -> &str {
        &self.env.heartbeat
    }

    /// Every node, manager first.
    pub fn nodes(&self) -> &[LabNode] {
        &self.env.nodes
    }

    /// Node `index` (1-based). Panics when there is none.
    pub fn node(&self, index: u32) -> &LabNode {
        self.env
            .nodes
            .iter()
            .find(|n| n.index == index)
            .unwrap_or_else(|| panic!("lab {} has no node {index}", self.env.name))
    }

    /// The manager (node 1).
    pub fn manager(&self) -> &LabNode {
        self.node(1)
    }

    /// The worker nodes.
    pub fn workers(&self) -> impl Iterator<Item = &LabNode> {
        self.env.nodes.iter().filter(|n| n.role != "manager")
    }

    /// The node with this Swarm node id. Panics when there is none.
    pub fn node_by_id(&self, id: &str) -> &LabNode {
        self.env
            .nodes
            .iter()
            .find(|n| n.node_id == id)
            .unwrap_or_else(|| panic!("no node of lab {} has id {id}", self.env.name))
    }

    // ------------------------------------------------------------------------------ docker

    /// `docker -H unix://<node socket> ARGS`, independent of firedrill's own Docker code.
    pub fn node_docker(&self, index: u32, args: &[&str]) -> Result<String, String> {
        node_docker(self.node(index), args)
    }

    /// Like [`Lab::node_docker`], panicking on failure.
    pub fn node_docker_ok(&self, index: u32, args: &[&str]) -> String {
        self.node_docker(index, args)
            .unwrap_or_else(|e| panic!("node {index}: {e}"))
    }

    /// `docker ARGS` on the manager's unix socket.
    pub fn manager_docker(&self, args: &[&str]) -> Result<String, String> {
        self.node_docker(self.manager().index, args)
    }

    /// Like [`Lab::manager_docker`], panicking on failure.
    pub fn manager_docker_ok(&self, args: &[&str]) -> String {
        self.manager_docker(args)
            .unwrap_or_else(|e| panic!("manager: {e}"))
    }

    // ----------------------------------------------------------------------------- network

    /// Takes node `index` off the network (`lab/swarm-lab cut`); the manager marks it Down
    /// after about three heartbeats. Dropping the [`Lab`] heals it if the test does not.
    pub fn cut(&self, index: u32) {
        // An unknown node panics here, not in Drop's heal.
        self.node(index);
        self.cut.lock().unwrap().insert(index);
        script(&self.env.dir, &["cut", &index.to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Notes that something other than the test (a firedrill `command` action) may cut node
    /// `index`, so that dropping the [`Lab`] heals it even when the run did not.
    pub fn may_be_cut(&self, index: u32) {
        self.node(index);
        self.cut.lock().unwrap().insert(index);
    }

    /// Puts node `index` back on the network (`lab/swarm-lab heal`).
    pub fn heal(&self, index: u32) {
        script(&self.env.dir, &["heal", &index.to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
        self.cut.lock().unwrap().remove(&index);
    }

    /// The manager's view of node `index`: `ready`, `down`, `unknown` or `disconnected`.
    pub fn node_state(&self, index: u32) -> Result<String, String> {
        let id = self.node(index).node_id.clone();
        self.manager_docker(&["node", "inspect", "--format", "{{.Status.State}}", &id])
    }

    /// Waits until the manager says node `index` is in `state`; how long that took. Panics
    /// past `within`.
    pub fn wait_node_state(&self, index: u32, state: &str, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let now = self.node_state(index);
            if now.as_deref() == Ok(state) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "node {index} is not {state} after {within:?}: {now:?}"
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
}

impl LabNode {
    /// `docker -H unix://<socket> ARGS`.
    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        node_docker(self, args)
    }
}

fn node_docker(node: &LabNode, args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .arg("-H")
        .arg(format!("unix://{}", node.socket.display()))
        .args(args)
        // The caller's DOCKER_* would send the CLI elsewhere or try TLS on the socket.
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "docker -H {} {}: {}",
            node.socket.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Nothing here may panic: a panic while a failed test unwinds aborts the binary.
        let cut: Vec<u32> = self
            .cut
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        for index in &cut {
            if let Err(e) = script(&self.env.dir, &["heal", &index.to_string()], &[]) {
                eprintln!("cleanup of run {}: {e}", self.id);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for index in cut {
            while self.node_state(index).as_deref() != Ok("ready") && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let filter = format!("label={}", self.label());
        let services = self
            .manager_docker(&["service", "ls", "--quiet", "--filter", &filter])
            .unwrap_or_default();
        let ids: Vec<&str> = services.lines().collect();
        if !ids.is_empty() {
            let mut args = vec!["service", "rm"];
            args.extend(ids.iter().copied());
            if let Err(e) = self.manager_docker(&args) {
                eprintln!("cleanup of run {}: {e}", self.id);
            }
        }
        // Removing a service stops its containers asynchronously, node by node; wait so the
        // next test starts on a quiet lab.
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &self.env.nodes {
            while node
                .docker(&["ps", "-aq", "--filter", &filter])
                .is_ok_and(|ids| !ids.is_empty())
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}
