//! The recovery trigger: a command run after each kill, for teams whose replacement is a
//! pipeline (`docker compose up -d`, a rebuild job) rather than a restart. It runs with no
//! shell; its exit status, duration and the tail of its output go into the journal.
//!
//! The command runs in a process group of its own, so a timeout ends everything it started (a
//! `sh -c` script's background jobs too), not only the process firedrill spawned.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::journal::TriggerEntry;
use crate::platform::Instance;
use crate::vocabulary::time::now_micros;

/// How much of the trigger's output the report keeps.
const TAIL_LINES: usize = 20;
const TAIL_BYTES: usize = 4096;

/// Default time a trigger may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the trigger command for one kill and reports what it did. `{victim}` in an argument
/// becomes the victim's id, `{victim_name}` its name and `{slot}` its slot.
pub async fn run(
    kill_id: u32,
    command: &[String],
    victim: &Instance,
    timeout: Duration,
) -> TriggerEntry {
    let started_at = now_micros();
    let began = Instant::now();
    let argv: Vec<String> = command
        .iter()
        .map(|a| {
            a.replace("{victim}", &victim.id)
                .replace("{victim_name}", &victim.name)
                .replace("{slot}", &victim.slot)
        })
        .collect();
    let entry = |exit_code, timed_out, output_tail| TriggerEntry {
        kill_id,
        started_at,
        duration_us: began.elapsed().as_micros() as u64,
        exit_code,
        timed_out,
        output_tail,
    };
    let Some((program, args)) = argv.split_first() else {
        return entry(None, false, "the trigger command is empty".to_string());
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A new group whose id is the child's PID; see `kill_group`.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => Group(c),
        Err(e) => return entry(None, false, format!("cannot start {program}: {e}")),
    };
    let mut stdout = child.0.stdout.take();
    let mut stderr = child.0.stderr.take();
    let collect = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.0.wait().await;
        (status, out, err)
    };
    match tokio::time::timeout(timeout, collect).await {
        Ok((status, out, err)) => {
            let code = status.ok().and_then(|s| s.code());
            entry(code, false, tail(&out, &err))
        }
        Err(_) => {
            kill_group(&child.0);
            // Reaped, so no zombie is left behind; the group is dead, so this returns at once.
            let _ = child.0.wait().await;
            entry(None, true, format!("killed after {timeout:?}"))
        }
    }
}

/// The trigger's process. A run that ends while a trigger is still running drops it, and
/// `kill_on_drop` alone would end only the trigger, not what it started.
struct Group(tokio::process::Child);

impl Drop for Group {
    fn drop(&mut self) {
        // A no-op once the trigger has been reaped, as it is on every path that completes.
        kill_group(&self.0);
    }
}

/// SIGKILLs the trigger's process group: the trigger and everything it started that stayed in
/// its group.
fn kill_group(child: &tokio::process::Child) {
    // `id` is `None` once the child has been reaped; until then its PID, and so the group id,
    // cannot have been reused by anyone else, so the signal reaches only what firedrill started.
    let Some(pgid) = child.id().and_then(|id| libc::pid_t::try_from(id).ok()) else {
        return;
    };
    // SAFETY: kill has no memory effects; a negative pid addresses the process group.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

fn tail(out: &[u8], err: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(out).into_owned();
    let err = String::from_utf8_lossy(err);
    if !err.trim().is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&err);
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let mut joined = lines[start..].join("\n");
    if joined.len() > TAIL_BYTES {
        let mut cut = joined.len() - TAIL_BYTES;
        while !joined.is_char_boundary(cut) {
            cut += 1;
        }
        joined = joined[cut..].to_string();
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn victim() -> Instance {
        Instance {
            id: "abc".into(),
            target: "web".into(),
            slot: "web-1".into(),
            name: "web-1".into(),
            started_at: None,
            healthy: true,
            labels: BTreeMap::new(),
            holds: None,
        }
    }

    #[tokio::test]
    async fn records_exit_code_and_output_with_the_victim_filled_in() {
        let cmd: Vec<String> = ["sh", "-c", "echo rebuilt $0; exit 3", "{victim}"]
            .map(String::from)
            .to_vec();
        let e = run(4, &cmd, &victim(), Duration::from_secs(5)).await;
        assert_eq!(e.kill_id, 4);
        assert_eq!(e.exit_code, Some(3));
        assert!(!e.timed_out);
        assert_eq!(e.output_tail, "rebuilt abc");
    }

    #[tokio::test]
    async fn a_slow_trigger_is_killed_at_its_timeout() {
        let cmd: Vec<String> = ["sleep", "5"].map(String::from).to_vec();
        let e = run(1, &cmd, &victim(), Duration::from_millis(200)).await;
        assert!(e.timed_out);
        assert_eq!(e.exit_code, None);
        assert!(e.duration_us < 2_000_000);
    }

    /// Whether `pid` runs: it exists and is not a zombie waiting for a parent outside this
    /// test to reap it.
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
    }

    /// A shell trigger that starts `sleep 300` in the background, writes its PID to the
    /// returned file, and waits for it.
    fn script_with_a_background_job(dir: &std::path::Path) -> (std::path::PathBuf, Vec<String>) {
        let pidfile = dir.join("grandchild.pid");
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        (pidfile, vec!["sh".into(), "-c".into(), script])
    }

    /// A timeout used to kill only the trigger, so a shell script's background job outlived it.
    #[tokio::test]
    async fn a_timed_out_trigger_takes_the_processes_it_started_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (pidfile, cmd) = script_with_a_background_job(dir.path());
        let e = run(1, &cmd, &victim(), Duration::from_millis(500)).await;
        assert!(e.timed_out);
        assert_gone(&pidfile).await;
    }

    /// A trigger still running when the run stops waiting for it is dropped, not timed out.
    #[tokio::test]
    async fn an_abandoned_trigger_takes_the_processes_it_started_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (pidfile, cmd) = script_with_a_background_job(dir.path());
        let abandoned = tokio::time::timeout(
            Duration::from_millis(500),
            run(1, &cmd, &victim(), Duration::from_secs(60)),
        )
        .await;
        assert!(abandoned.is_err(), "the trigger finished on its own");
        assert_gone(&pidfile).await;
    }

    /// Waits briefly for the PID in `pidfile` to be gone; fails if it still runs.
    async fn assert_gone(pidfile: &std::path::Path) {
        let pid: i32 = std::fs::read_to_string(pidfile)
            .expect("the script wrote its background job's PID")
            .trim()
            .parse()
            .unwrap();
        // SIGKILL is delivered before kill returns; give the kernel a moment to tear down.
        let deadline = Instant::now() + Duration::from_secs(2);
        while alive(pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(pid), "sleep {pid} outlived its trigger");
    }

    #[tokio::test]
    async fn a_missing_program_is_reported_not_panicked() {
        let cmd: Vec<String> = vec!["/nonexistent/firedrill-trigger".into()];
        let e = run(1, &cmd, &victim(), Duration::from_secs(1)).await;
        assert_eq!(e.exit_code, None);
        assert!(e.output_tail.starts_with("cannot start"));
    }
}
