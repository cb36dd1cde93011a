//! Reading processes out of `/proc` (Linux): names, command lines, environments, parents and
//! start times. Every read may fail because the process vanished meanwhile; callers treat a
//! failed read as "not there".

use std::collections::HashSet;
use std::fs;

use crate::platform::{now_micros, Micros};

/// The PIDs of every process now (thread groups, not threads).
pub(super) fn pids() -> std::io::Result<Vec<u32>> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            out.push(pid);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The fields of `/proc/PID/stat` firedrill needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    /// State letter: `R`, `S`, `D`, `T`, `Z` (zombie), ...
    pub state: char,
    /// Parent PID.
    pub ppid: u32,
    /// Start time in clock ticks since boot; with the PID, it names one process for good.
    pub start_ticks: u64,
}

impl Stat {
    /// False for a process that has exited and waits to be reaped (a zombie): it is listed
    /// in /proc but gone for every purpose of firedrill.
    pub fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses `/proc/PID/stat`.
pub(super) fn stat(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Stat> {
    // The name (field 2) may hold spaces and parentheses, so fields are counted after the
    // last ')'. There, index 0 is field 3 (state), so field N sits at index N - 3.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// The process name (`comm`), at most 15 bytes.
pub(super) fn comm(pid: u32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(text.trim_end_matches('\n').to_string())
}

/// The command line, arguments joined by spaces; empty for kernel threads.
pub(super) fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(args.join(" "))
}

/// The environment a process started with; empty when it may not be read (another user's).
pub(super) fn environ(pid: u32) -> Vec<(String, String)> {
    let Ok(raw) = fs::read(format!("/proc/{pid}/environ")) else {
        return Vec::new();
    };
    raw.split(|b| *b == 0)
        .filter_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (k, v) = text.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// This process and all its ancestors: never to be selected, whatever the selector says.
pub(super) fn self_and_ancestors() -> HashSet<u32> {
    let mut out = HashSet::new();
    let mut pid = std::process::id();
    while pid > 1 && out.insert(pid) {
        match stat(pid) {
            Some(s) => pid = s.ppid,
            None => break,
        }
    }
    out
}

/// The wall-clock time a process started, from its start ticks. The kernel's `btime` has
/// whole-second precision, so boot time is derived from the boot clock instead.
pub(super) fn started_at(start_ticks: u64) -> Option<Micros> {
    // SAFETY: sysconf has no preconditions.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks_per_sec <= 0 {
        return None;
    }
    let mut boot = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `boot` is a valid timespec for the kernel to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut boot) } != 0 {
        return None;
    }
    let now = now_micros();
    // time_t and c_long are i64 here but i32 on 32-bit targets.
    #[allow(clippy::useless_conversion)]
    let since_boot = i64::from(boot.tv_sec) * 1_000_000 + i64::from(boot.tv_nsec) / 1_000;
    let start_since_boot =
        i64::try_from(u128::from(start_ticks) * 1_000_000 / ticks_per_sec as u128).ok()?;
    Some(now - since_boot + start_since_boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_from_the_last_parenthesis() {
        let line = "1234 (we ird) name)) S 77 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                state: 'S',
                ppid: 77,
                start_ticks: 98765
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_readable_and_started_in_the_past() {
        let me = std::process::id();
        let s = stat(me).unwrap();
        let at = started_at(s.start_ticks).unwrap();
        assert!(at <= now_micros() + 20_000, "start time in the future");
        assert!(
            now_micros() - at < 24 * 3600 * 1_000_000,
            "start time too far back"
        );
        assert!(self_and_ancestors().contains(&me));
        assert!(self_and_ancestors().contains(&s.ppid));
        assert!(!cmdline(me).unwrap().is_empty());
    }
}
