//! Spawning fleet processes and sending signals.

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::{mpsc, Mutex};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::process::{Child, Command};

use crate::platform::PlatformError;
use crate::vocabulary::signal::signal_name;

type SpawnRequest = (Vec<String>, mpsc::SyncSender<std::io::Result<Child>>);

/// Spawns every fleet process from one dedicated thread. The kernel sends a child its death
/// signal when the *thread* that forked it ends, not the process; a runtime thread may end
/// long before firedrill does, taking its children with it. This thread lives exactly as
/// long as the platform.
#[derive(Debug)]
pub(super) struct Spawner {
    requests: Mutex<mpsc::Sender<SpawnRequest>>,
}

impl Spawner {
    /// Starts the spawning thread; must be called inside the runtime that will reap children.
    pub fn start() -> std::io::Result<Spawner> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let (requests, inbox) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("firedrill-spawner".to_string())
            .spawn(move || {
                // Children register with this runtime's reaper.
                let _entered = runtime.enter();
                while let Ok((argv, reply)) = inbox.recv() {
                    let _ = reply.send(spawn(&argv));
                }
            })?;
        Ok(Spawner {
            requests: Mutex::new(requests),
        })
    }

    /// Spawns `argv` (see [`spawn`]) on the spawning thread and returns the child.
    pub fn spawn(&self, argv: &[String]) -> std::io::Result<Child> {
        let (reply, answer) = mpsc::sync_channel(1);
        let gone = || std::io::Error::other("the spawning thread has ended");
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((argv.to_vec(), reply))
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

/// Spawns `argv` with no shell, detached from firedrill's terminal and bound to its life.
fn spawn(argv: &[String]) -> std::io::Result<Child> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("the command is empty"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        // Its own process group, so a Ctrl-C on firedrill's terminal does not kill the whole
        // fleet at once before firedrill has written its report; shutdown stops it instead.
        .process_group(0);
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe calls
    // (prctl, getppid, _exit), allocating nothing.
    unsafe {
        command.pre_exec(move || {
            // No child may outlive firedrill, even when firedrill is killed with SIGKILL.
            // The death signal follows the spawning thread: see `Spawner`.
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // firedrill may have died between fork and prctl; then nobody would kill us.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Sends `signal` to `pid`.
pub(super) fn send_signal(pid: u32, signal: i32) -> Result<(), PlatformError> {
    let target = libc::pid_t::try_from(pid)
        .map_err(|_| PlatformError::Failed(format!("PID {pid} is out of range")))?;
    if target <= 1 {
        return Err(PlatformError::Failed(format!(
            "refusing to signal PID {pid}"
        )));
    }
    // SAFETY: kill has no memory preconditions; the PID was checked to be one process.
    if unsafe { libc::kill(target, signal) } == 0 {
        Ok(())
    } else {
        let e = std::io::Error::last_os_error();
        Err(PlatformError::Failed(format!(
            "cannot send {} to PID {pid}: {e}",
            describe_signal(signal)
        )))
    }
}

/// `SIGKILL`, or the number when the name is not known.
pub(super) fn describe_signal(signal: i32) -> String {
    signal_name(signal)
        .map(str::to_string)
        .unwrap_or_else(|| format!("signal {signal}"))
}

/// The kernel's notice that a process ended, through a pidfd (Linux 5.3+), so a process
/// firedrill did not spawn is timed at its exit rather than at the next `/proc` poll.
pub(super) struct ExitWatch(AsyncFd<OwnedFd>);

impl ExitWatch {
    /// Opens a pidfd on `pid`; must run inside the runtime. Fails on kernels without pidfd.
    pub fn open(pid: u32) -> std::io::Result<ExitWatch> {
        let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
        // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let raw = i32::try_from(raw).map_err(std::io::Error::other)?;
        // SAFETY: the kernel just returned this descriptor, and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the AsyncFd owns `fd`, which stays open and the same until it is dropped.
        let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
        registered.map(ExitWatch).map_err(|e| e.into_parts().1)
    }

    /// Resolves once the process has exited.
    pub async fn exited(&self) -> std::io::Result<()> {
        self.0.readable().await.map(drop)
    }
}
