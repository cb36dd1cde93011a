//! Drift evidence of local processes. A killed process's `/proc` entry goes with it, so each
//! instance is captured when it is spawned or attached and the capture is kept by PID: the
//! executable's sha256 (through `/proc/PID/exe`, so a binary replaced on disk since still reads
//! as what runs), the argv, and a fingerprint of the environment and user. The capture runs on
//! the blocking pool, so spawning waits for none of it.
//!
//! A process has no image and no layer of its own, so `image_id`, `repo_digest` and `changes`
//! stay `None`, with no `unknown` line: they do not apply.
//!
//! Nothing is captured unless the scenario asks for drift evidence (`recovery.drift`): a run
//! without it neither hashes executables nor keeps a capture per replacement.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::procfs;
use crate::platform::evidence::{hex, ConfigFingerprint, ConfigParts};
use crate::platform::Evidence;

/// Captures kept at most; the oldest go first, so a long run's churn cannot grow without end.
const KEPT: usize = 10_000;

/// How long `evidence` waits for a capture still running (hashing a large executable).
const WAIT: Duration = Duration::from_secs(10);

/// Variables a service manager sets afresh for every start (systemd), which say nothing about
/// the configuration and would make every replacement look changed.
const PER_START_ENV: [&str; 3] = ["INVOCATION_ID", "JOURNAL_STREAM", "LISTEN_PID"];

/// Each instance's capture, by PID, ready or under way.
#[derive(Debug, Default)]
pub(super) struct Captures {
    /// Whether the run asked for drift evidence at all.
    enabled: bool,
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    by_pid: HashMap<u32, watch::Receiver<Option<Evidence>>>,
    order: VecDeque<u32>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Captures {
    /// Captures that are taken only when `enabled` (the scenario's `recovery.drift`).
    pub fn new(enabled: bool) -> Captures {
        Captures {
            enabled,
            kept: Mutex::default(),
        }
    }

    /// Starts capturing `pid` off the caller's thread. `start_ticks` is the start time the
    /// process was found with, when known, so a PID reused meanwhile is not captured in its
    /// place. A later process with the same PID replaces the capture.
    pub fn start(&self, pid: u32, start_ticks: Option<u64>) {
        if !self.enabled {
            return;
        }
        let (done, ready) = watch::channel(None);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || done.send_replace(Some(capture(pid, start_ticks))));
            }
            Err(e) => {
                done.send_replace(Some(unknown(
                    &pid.to_string(),
                    &format!("not captured: {e}"),
                )));
            }
        }
        let mut kept = lock(&self.kept);
        if kept.by_pid.insert(pid, ready).is_none() {
            kept.order.push_back(pid);
        }
        while kept.order.len() > KEPT {
            if let Some(old) = kept.order.pop_front() {
                kept.by_pid.remove(&old);
            }
        }
    }

    /// The capture of `instance`, waiting for it if it is still running.
    pub async fn get(&self, instance: &str) -> Evidence {
        let missing = |why: String| unknown(instance, &why);
        let Ok(pid) = instance.parse::<u32>() else {
            return missing(format!("{instance:?} is not a PID"));
        };
        if !self.enabled {
            return missing("drift evidence was not asked for (recovery.drift is off)".into());
        }
        let Some(mut ready) = lock(&self.kept).by_pid.get(&pid).cloned() else {
            return missing(format!("PID {pid} was never captured as an instance"));
        };
        let waited = tokio::time::timeout(WAIT, ready.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(evidence)) => evidence.clone().unwrap_or_else(|| Evidence::of(instance)),
            Ok(Err(_)) => missing(format!("the capture of PID {pid} ended without a result")),
            Err(_) => missing(format!(
                "the capture of PID {pid} did not finish within {}",
                crate::vocabulary::units::HumanDuration(WAIT)
            )),
        }
    }
}

/// The parts a capture of a process fills.
const PARTS: [&str; 3] = ["exe_sha256", "argv", "config"];

/// Evidence of `instance` with every part unknown for `why`.
fn unknown(instance: &str, why: &str) -> Evidence {
    let mut evidence = Evidence::of(instance);
    for part in PARTS {
        evidence.note_unknown(part, why);
    }
    evidence
}

/// Reads what `/proc` says of `pid` now. Every read counts as one engine call.
fn capture(pid: u32, start_ticks: Option<u64>) -> Evidence {
    let began = Instant::now();
    let instance = pid.to_string();
    let finish = |mut evidence: Evidence, reads: u32| {
        evidence.engine_calls = reads;
        evidence.capture_us = micros_since(began);
        evidence
    };
    let before = procfs::stat(pid).filter(procfs::Stat::is_running);
    let found = match (before, start_ticks) {
        (Some(s), Some(t)) => s.start_ticks == t,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !found {
        let why = format!("PID {pid} had ended, or was another process, before it was read");
        return finish(unknown(&instance, &why), 1);
    }
    let mut evidence = Evidence::of(&instance);
    evidence.created_at = before.and_then(|s| procfs::started_at(s.start_ticks));
    match exe_sha256(pid) {
        Ok(sha) => evidence.exe_sha256 = Some(sha),
        Err(e) => evidence.note_unknown("exe_sha256", format!("/proc/{pid}/exe: {e}")),
    }
    let argv = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| nul_separated(&raw))
        .map_err(|e| format!("/proc/{pid}/cmdline: {e}"));
    let env = std::fs::read(format!("/proc/{pid}/environ"))
        .map(|raw| nul_separated(&raw))
        .map_err(|e| format!("/proc/{pid}/environ: {e}"));
    let user = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))
        .and_then(|status| {
            effective_uid(&status).ok_or_else(|| format!("/proc/{pid}/status has no Uid line"))
        });
    // The reads above are this process's only if it is still the one first read.
    let after = procfs::stat(pid).map(|s| s.start_ticks);
    if after != before.map(|s| s.start_ticks) {
        return finish(
            unknown(&instance, &format!("PID {pid} ended while it was read")),
            6,
        );
    }
    match (&argv, env, user) {
        (Ok(argv), Ok(env), Ok(user)) => {
            let env: Vec<String> = env
                .into_iter()
                .filter(|e| !PER_START_ENV.iter().any(|v| e.split('=').next() == Some(v)))
                .collect();
            evidence.config = Some(ConfigFingerprint::of(&ConfigParts {
                command: argv,
                env: &env,
                user: &user,
                ..ConfigParts::default()
            }));
        }
        (argv, env, user) => {
            let why: Vec<String> = [argv.as_ref().err(), env.as_ref().err(), user.as_ref().err()]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            evidence.note_unknown("config", why.join("; "));
        }
    }
    match argv {
        Ok(argv) => evidence.argv = Some(argv),
        Err(why) => evidence.note_unknown("argv", why),
    }
    finish(evidence, 6)
}

/// What identifies an executable's content without reading it: a write or a chmod changes its
/// ctime, which no one can set back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// sha256 of the file `pid` runs, streamed. A managed fleet runs one executable many times, so
/// each file's hash is computed once per firedrill process and reused while the file is
/// unchanged.
fn exe_sha256(pid: u32) -> std::io::Result<String> {
    static KNOWN: OnceLock<Mutex<HashMap<FileId, String>>> = OnceLock::new();
    let mut file = File::open(format!("/proc/{pid}/exe"))?;
    let meta = file.metadata()?;
    let id = FileId {
        dev: meta.dev(),
        ino: meta.ino(),
        size: meta.size(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
        ctime: (meta.ctime(), meta.ctime_nsec()),
    };
    let known = KNOWN.get_or_init(Mutex::default);
    if let Some(sha) = lock(known).get(&id) {
        return Ok(sha.clone());
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sha = hex(&hasher.finalize());
    // The file may have been written while it was read; then its ctime moved on and this hash
    // is not filed under the identity it was read as.
    if file
        .metadata()
        .is_ok_and(|m| (m.ctime(), m.ctime_nsec()) == id.ctime)
    {
        lock(known).insert(id, sha.clone());
    }
    Ok(sha)
}

/// `a\0b\0` as `["a", "b"]`.
fn nul_separated(raw: &[u8]) -> Vec<String> {
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// The effective uid from `/proc/PID/status` (`Uid: real effective saved fs`).
fn effective_uid(status: &str) -> Option<String> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2).map(str::to_string)
}

fn micros_since(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_captured_with_its_executable_argv_and_an_environment_fingerprint() {
        let me = std::process::id();
        let evidence = capture(me, procfs::stat(me).map(|s| s.start_ticks));
        assert!(evidence.unknown.is_empty(), "{:?}", evidence.unknown);
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(
            evidence.exe_sha256.as_deref(),
            Some(hex(&Sha256::digest(&exe)).as_str())
        );
        let argv: Vec<String> = std::env::args().collect();
        assert_eq!(evidence.argv.as_ref(), Some(&argv));
        assert_eq!(evidence.engine_calls, 6);
        assert!(evidence.config.is_some() && evidence.created_at.is_some());
        assert!(evidence.image_id.is_none() && evidence.changes.is_none());
        // Read again, the executable's hash comes from the cache and nothing changes.
        let again = capture(me, None);
        assert_eq!(again.exe_sha256, evidence.exe_sha256);
        assert_eq!(again.config, evidence.config);
    }

    #[test]
    fn a_process_that_is_not_the_one_found_is_not_captured_in_its_place() {
        let me = std::process::id();
        let ticks = procfs::stat(me).map(|s| s.start_ticks).unwrap();
        let evidence = capture(me, Some(ticks + 1));
        assert!(evidence.exe_sha256.is_none() && evidence.config.is_none());
        assert_eq!(evidence.unknown.len(), 3, "{:?}", evidence.unknown);
        assert_eq!(evidence.engine_calls, 1);
    }

    #[test]
    fn the_effective_uid_is_the_second_of_four() {
        let status = "Name:\tweb\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid(status).as_deref(), Some("0"));
        assert_eq!(effective_uid("Name:\tweb\n"), None);
    }

    #[tokio::test]
    async fn evidence_of_a_pid_never_captured_is_unknown_not_clean() {
        let captures = Captures::new(true);
        let e = captures.get("4194999").await;
        assert!(e.exe_sha256.is_none() && e.config.is_none());
        assert!(!e.unknown.is_empty());
        captures.start(std::process::id(), None);
        let mine = captures.get(&std::process::id().to_string()).await;
        assert!(mine.exe_sha256.is_some(), "{:?}", mine.unknown);
    }
}
