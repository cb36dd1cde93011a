//! A private Docker engine for tests that must start, kill or reconfigure the engine itself
//! (TLS, and later engine faults), which a shared engine must never suffer. It runs its own
//! dockerd with everything of its own: an empty `--config-file` (the host's daemon.json would
//! clash with these flags), data root, exec root, pid file, unix socket and bridge. Dropping it
//! kills the dockerd it started and that dockerd's containerd, by PID, and removes the bridge
//! and the folders, even when the test panics.
//!
//! The bridge is made here and passed as `--bridge`: dockerd's `--bridge none` deletes the
//! host's docker0, so it is never used.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a dockerd may take to answer on its socket after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(90);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Why a private engine cannot run here, or `None` when it can: root, dockerd, docker, ip, and
/// the `tools` a test needs besides.
fn missing_prerequisite(tools: &[&str]) -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("a private dockerd needs root".into());
    }
    for tool in ["dockerd", "docker", "ip"].iter().chain(tools) {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

/// `Some(())` when a private engine can be started and `tools` are installed; `None` after a
/// note on stderr when not and Docker is not required. Panics when FIREDRILL_REQUIRE_DOCKER=1
/// and they are not.
pub fn available(test: &str, tools: &[&str]) -> Option<()> {
    match missing_prerequisite(tools) {
        None => Some(()),
        Some(why) if super::docker_required() => panic!("FIREDRILL_REQUIRE_DOCKER=1 but {why}"),
        Some(why) => {
            eprintln!("skipping {test}: {why} (set FIREDRILL_REQUIRE_DOCKER=1 to fail instead)");
            None
        }
    }
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    super::command_output(program, args)
}

/// A free tcp port on 127.0.0.1 (free when asked; dockerd binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A bridge this engine owns, with an address in a /24 that no interface here uses. `n` tells
/// engines of one test binary apart, so two started at once try different subnets first.
fn make_bridge(name: &str, n: u32) -> Result<(), String> {
    let used = run("ip", &["-4", "-o", "addr"])?;
    let third = (0..50u32)
        .map(|i| 200 + (std::process::id() + n * 7 + i) % 50)
        .find(|n| !used.contains(&format!("10.251.{n}.")))
        .ok_or("no free 10.251.x.0/24 for a test bridge")?;
    run("ip", &["link", "add", name, "type", "bridge"])?;
    let addr = format!("10.251.{third}.1/24");
    run("ip", &["addr", "add", &addr, "dev", name])?;
    run("ip", &["link", "set", name, "up"])?;
    Ok(())
}

/// One private dockerd.
pub struct PrivateEngine {
    /// Holds the config file, data and exec roots, pid file, socket and the daemon's log.
    pub dir: tempfile::TempDir,
    /// The unix socket it listens on.
    pub socket: PathBuf,
    bridge: String,
    extra_args: Vec<String>,
    child: Option<Child>,
}

impl PrivateEngine {
    /// Starts a dockerd with `extra_args` added (e.g. a TLS tcp listener) and waits until it
    /// answers on its socket. Panics, after cleaning up, when it does not come up.
    pub fn start(extra_args: &[String]) -> PrivateEngine {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        // Interface names are at most 15 bytes.
        let bridge = format!("fdb{}x{n}", std::process::id() % 1_000_000);
        let dir = tempfile::Builder::new()
            .prefix("fde")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let socket = dir.path().join("docker.sock");
        std::fs::write(dir.path().join("daemon.json"), "{}\n").expect("write daemon.json");
        let mut engine = PrivateEngine {
            socket,
            bridge: String::new(),
            extra_args: extra_args.to_vec(),
            child: None,
            dir,
        };
        if let Err(e) = make_bridge(&bridge, n) {
            let _ = run("ip", &["link", "delete", &bridge]);
            panic!("cannot make the test bridge {bridge}: {e}");
        }
        engine.bridge = bridge;
        engine.launch();
        engine
    }

    /// `unix://<socket>`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn launch(&mut self) {
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        let mut args = vec![
            format!("--config-file={}", s(self.path("daemon.json"))),
            format!("--data-root={}", s(self.path("data"))),
            format!("--exec-root={}", s(self.path("exec"))),
            format!("--pidfile={}", s(self.path("docker.pid"))),
            format!("--host={}", self.host()),
            format!("--bridge={}", self.bridge),
            "--iptables=false".into(),
            "--ip-forward=false".into(),
            "--ip-masq=false".into(),
            // Works everywhere, including inside a container where overlay may not.
            "--storage-driver=vfs".into(),
        ];
        args.extend(self.extra_args.iter().cloned());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("dockerd.log"))
            .expect("open dockerd.log");
        let child = Command::new("dockerd")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dockerd: {e}"));
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if run("docker", &["-H", &self.host(), "version"]).is_ok() {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() > START_TIMEOUT {
                let log = self.log();
                panic!(
                    "the private dockerd did not come up ({}); its log ends:\n{}",
                    match exited {
                        Some(status) => format!("it exited: {status}"),
                        None => format!("no answer within {START_TIMEOUT:?}"),
                    },
                    log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("dockerd.log")).unwrap_or_default()
    }

    /// `docker -H <socket> ARGS`, independent of firedrill's own Docker code.
    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        let host = self.host();
        let mut full: Vec<&str> = vec!["-H", &host];
        full.extend_from_slice(args);
        run("docker", &full)
    }

    /// Kills the dockerd with SIGKILL, as a crash would, and waits for it and for its
    /// containerd, which dockerd starts to die with it. A restart that found that containerd
    /// still dying would wait on it and fail.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stop_containerd();
    }

    /// Starts the dockerd again on the same roots, socket and flags, after [`kill9`].
    ///
    /// [`kill9`]: PrivateEngine::kill9
    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    fn stop_dockerd(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM first, so dockerd stops its containers and its containerd itself.
        // SAFETY: kill(2) on the PID of a child this value owns and has not reaped.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Ends the containerd this dockerd started, and waits until it is reaped. dockerd starts
    /// it to die with dockerd, but until init reaps it a new dockerd takes the zombie for a
    /// live containerd and waits on it in vain, so its pid file goes too.
    fn stop_containerd(&self) {
        let pidfile = self.path("exec").join("containerd").join("containerd.pid");
        let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<libc::pid_t>().ok())
            .filter(|p| *p > 1)
        else {
            return;
        };
        // (running and ours, zombie): a zombie's command line is empty, so it is judged by
        // state alone, and only a live process whose command line names this engine's
        // folder is killed.
        let look = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let ours =
                String::from_utf8_lossy(&cmdline).contains(&*self.dir.path().to_string_lossy());
            Some((ours && state != 'Z', state == 'Z'))
        };
        if let Some((true, _)) = look() {
            // SAFETY: kill(2) on a PID checked just above to be this engine's containerd.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some((live, zombie)) = look() {
            if !(live || zombie) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(&pidfile);
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        self.stop_dockerd();
        self.stop_containerd();
        if !self.bridge.is_empty() {
            let _ = run("ip", &["link", "delete", &self.bridge]);
        }
        // vfs and containerd leave mounts under the roots; unmount before the folder goes.
        let root = self.dir.path().to_string_lossy().into_owned();
        if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
            let mut ours: Vec<&str> = mounts
                .lines()
                .filter_map(|l| l.split_whitespace().nth(1))
                .filter(|m| m.starts_with(&root))
                .collect();
            ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in ours {
                let _ = run("umount", &["-l", m]);
            }
        }
    }
}
