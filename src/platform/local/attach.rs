//! Attach mode: existing processes, found in `/proc` by name or command line and replaced by
//! their own supervisor (systemd, a shell loop). firedrill only watches them come and go.
//! With both `name` and `cmdline`, a process must match both: a supervisor's own command line
//! often contains its child's, and a shell loop must not be taken for the service it runs.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use regex::Regex;
use tokio_util::sync::CancellationToken;

use super::prober::{watch, HealthSpec};
use super::process::ExitWatch;
use super::procfs;
use super::registry::{Origin, Shared, Tracked};
use crate::platform::{now_micros, Instance, PlatformError};
use crate::scenario::{ProcessSelector, Target, EXEMPT_LABEL};

/// The environment variable that exempts a process, as the label [`EXEMPT_LABEL`] does.
pub const EXEMPT_ENV: &str = "FIREDRILL_EXEMPT";

/// One attach-mode target, as the scenario describes it.
#[derive(Debug, Clone)]
pub(super) struct AttachSpec {
    /// Target name; also every instance's slot, as the supervisor decides who replaces whom.
    pub target: String,
    name: Option<String>,
    cmdline: Option<Regex>,
    /// The opt-in environment entry, `KEY` and `VALUE`.
    require: Option<(String, String)>,
    /// Health check.
    pub health: HealthSpec,
}

impl AttachSpec {
    /// Reads an attach-mode target.
    pub fn of(target: &Target, select: &ProcessSelector) -> Result<AttachSpec, PlatformError> {
        let fail = |what: String| PlatformError::Failed(format!("target {}: {what}", target.name));
        if select.name.is_none() && select.cmdline.is_none() {
            return Err(fail("select.process needs a name or a cmdline".to_string()));
        }
        let cmdline = match &select.cmdline {
            Some(re) => Some(
                Regex::new(re).map_err(|e| fail(format!("invalid select.process.cmdline: {e}")))?,
            ),
            None => None,
        };
        let require = target
            .require_label
            .as_ref()
            .map(|o| (o.key.clone(), o.value.clone()));
        Ok(AttachSpec {
            target: target.name.clone(),
            name: select.name.clone(),
            cmdline,
            require,
            health: HealthSpec::of(target, true)?,
        })
    }

    /// Why `instance` may not be killed, if it may not: no opt-in, or exempt. The engine
    /// applies these rules too; this is the platform's own refusal to act outside them.
    pub fn refusal(&self, instance: &Instance) -> Option<String> {
        if instance.labels.get(EXEMPT_LABEL).map(String::as_str) == Some("true") {
            return Some(format!("it is exempt ({EXEMPT_ENV}=true)"));
        }
        match &self.require {
            Some((k, v)) if instance.labels.get(k) != Some(v) => Some(format!(
                "it has not opted in ({k}={v} is not in its environment)"
            )),
            _ => None,
        }
    }

    fn matches(&self, pid: u32) -> Option<String> {
        let comm = procfs::comm(pid)?;
        if self.name.as_ref().is_some_and(|n| *n != comm) {
            return None;
        }
        if let Some(re) = &self.cmdline {
            let line = procfs::cmdline(pid)?;
            // Kernel threads have no command line; an empty regex must not select them.
            if line.is_empty() || !re.is_match(&line) {
                return None;
            }
        }
        Some(comm)
    }

    fn labels(&self, pid: u32) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        for (k, v) in procfs::environ(pid) {
            if k == EXEMPT_ENV {
                labels.insert(EXEMPT_LABEL.to_string(), v);
            } else if self.require.as_ref().is_some_and(|(rk, _)| *rk == k) {
                labels.insert(k, v);
            }
        }
        labels
    }
}

/// A matching process seen in one scan.
#[derive(Debug)]
struct Found {
    pid: u32,
    start_ticks: u64,
    comm: String,
    labels: BTreeMap<String, String>,
}

/// Every process matching `spec` now, except firedrill and its ancestors.
fn scan(spec: &AttachSpec, excluded: &HashSet<u32>) -> Vec<Found> {
    let pids = match procfs::pids() {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("cannot list /proc: {e}");
            return Vec::new();
        }
    };
    pids.into_iter()
        .filter(|pid| !excluded.contains(pid))
        .filter_map(|pid| {
            let comm = spec.matches(pid)?;
            let stat = procfs::stat(pid).filter(procfs::Stat::is_running)?;
            Some(Found {
                pid,
                start_ticks: stat.start_ticks,
                comm,
                labels: spec.labels(pid),
            })
        })
        .collect()
}

/// The processes a run would attach to now, for `--dry-run` and `targets`. Health is not
/// probed here, so every process is shown as healthy.
pub(super) fn preview(spec: &AttachSpec) -> Vec<Instance> {
    let excluded = procfs::self_and_ancestors();
    scan(spec, &excluded)
        .into_iter()
        .map(|f| Instance {
            id: f.pid.to_string(),
            target: spec.target.clone(),
            slot: spec.target.clone(),
            name: format!("{}[{}]", f.comm, f.pid),
            started_at: procfs::started_at(f.start_ticks),
            healthy: true,
            labels: f.labels,
            holds: None,
        })
        .collect()
}

/// How a scan is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Before the run: processes found are stamped at the scan.
    AtStart,
    /// During the run: a new process is stamped at its start as the kernel recorded it.
    Polling,
}

/// Brings the registry in line with one scan: `Died` for each vanished process (when its
/// pidfd did not tell first), `Created` and `Started` for each new one.
fn reconcile(shared: &Arc<Shared>, spec: &AttachSpec, found: Vec<Found>, scan: Scan) {
    let detail = match scan {
        Scan::AtStart => "present at start",
        Scan::Polling => "detected by polling",
    };
    let mut registry = shared.registry();
    let at = now_micros();
    let gone: Vec<u32> = registry
        .by_pid
        .iter()
        .filter(|(_, t)| t.instance.target == spec.target)
        .filter(|(pid, t)| {
            !found.iter().any(|f| {
                f.pid == **pid
                    && t.origin
                        == Origin::Attached {
                            start_ticks: f.start_ticks,
                        }
            })
        })
        .map(|(pid, _)| *pid)
        .collect();
    for pid in gone {
        registry.remove(pid, at, format!("vanished ({detail})"));
    }
    for f in found {
        // Known already, under this target or (a managed child) under another.
        if registry.by_pid.contains_key(&f.pid) {
            continue;
        }
        let origin = Origin::Attached {
            start_ticks: f.start_ticks,
        };
        // The scan ran without the lock: a process that died since (and that its pidfd
        // watch already reported) must not come back as a phantom replacement.
        if !still_same(f.pid, origin) {
            continue;
        }
        let started_at = procfs::started_at(f.start_ticks);
        // The kernel's start time is exact to a clock tick, where the scan may be a whole
        // interval late. It is kept after the target's last death, since a replacement
        // cannot start before its predecessor died, and tick rounding must not say so.
        let started = match (scan, started_at) {
            (Scan::Polling, Some(t)) => t
                .max(registry.last_death(&spec.target).unwrap_or(t))
                .min(at),
            _ => at,
        };
        let token = shared.stop.child_token();
        let tracked = Tracked {
            instance: Instance {
                id: f.pid.to_string(),
                target: spec.target.clone(),
                slot: spec.target.clone(),
                name: format!("{}[{}]", f.comm, f.pid),
                started_at,
                healthy: false,
                labels: f.labels,
                holds: None,
            },
            slot_index: 0,
            origin,
            watch: token.clone(),
            checked: false,
            last_failure: None,
        };
        // Before the events go out, so that whoever reacts to `Created` finds it under way.
        shared.captures.start(f.pid, Some(f.start_ticks));
        registry.insert(f.pid, tracked, started, started, detail);
        watch(
            shared,
            &mut registry,
            f.pid,
            &spec.health,
            None,
            started,
            token.clone(),
        );
        watch_exit(shared, f.pid, origin, token);
    }
}

/// Emits `Died` at the moment the process exits, when the kernel can say so; otherwise the
/// next poll notices the process is gone.
fn watch_exit(shared: &Arc<Shared>, pid: u32, origin: Origin, token: CancellationToken) {
    let Ok(exit) = ExitWatch::open(pid) else {
        return;
    };
    // The pidfd must name the process that was scanned, not a newer one that got its PID.
    if !still_same(pid, origin) {
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::select! {
            _ = token.cancelled() => {}
            result = exit.exited() => {
                if result.is_ok() {
                    let at = now_micros();
                    let mut registry = shared.registry();
                    if registry.by_pid.get(&pid).is_some_and(|t| t.origin == origin) {
                        registry.remove(pid, at, "exited".to_string());
                    }
                }
            }
        }
    });
}

/// The first scan, before the run starts; the processes found are reported as started.
pub(super) async fn first_scan(
    shared: &Arc<Shared>,
    spec: &Arc<AttachSpec>,
    excluded: &Arc<HashSet<u32>>,
) {
    let found = scan_off_thread(spec, excluded).await;
    reconcile(shared, spec, found, Scan::AtStart);
}

/// Rescans `/proc` every probe interval until shutdown.
pub(super) async fn poll(shared: Arc<Shared>, spec: Arc<AttachSpec>, excluded: Arc<HashSet<u32>>) {
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => return,
            _ = tokio::time::sleep(spec.health.every()) => {}
        }
        let found = scan_off_thread(&spec, &excluded).await;
        if shared.stop.is_cancelled() {
            return;
        }
        reconcile(&shared, &spec, found, Scan::Polling);
    }
}

async fn scan_off_thread(spec: &Arc<AttachSpec>, excluded: &Arc<HashSet<u32>>) -> Vec<Found> {
    let (spec, excluded) = (Arc::clone(spec), Arc::clone(excluded));
    // Reading every process's files is blocking I/O; keep it off the async workers.
    tokio::task::spawn_blocking(move || scan(&spec, &excluded))
        .await
        .unwrap_or_default()
}

/// Whether `pid` is still the process registered as `origin`, so a signal cannot reach a
/// newer process that got the same PID.
pub(super) fn still_same(pid: u32, origin: Origin) -> bool {
    match origin {
        Origin::Managed => true,
        Origin::Attached { start_ticks } => {
            procfs::stat(pid).is_some_and(|s| s.start_ticks == start_ticks && s.is_running())
        }
    }
}

/// How many near misses an empty-selector error lists.
const NEARBY_SHOWN: usize = 5;

/// The processes near `spec`'s selector, for the error when it matches none: those that match
/// its name but not its command line or the other way round, those whose name contains the
/// wanted one (or is contained in it), and firedrill or its ancestors if they would match.
pub(super) fn nearby(spec: &AttachSpec) -> Vec<String> {
    let pids = match procfs::pids() {
        Ok(p) => p,
        Err(e) => return vec![format!("cannot list /proc: {e}")],
    };
    let excluded = procfs::self_and_ancestors();
    let mut lines = Vec::new();
    let mut seen = 0usize;
    for pid in pids {
        let Some(comm) = procfs::comm(pid) else {
            continue;
        };
        if !procfs::stat(pid).is_some_and(|s| s.is_running()) {
            continue;
        }
        seen += 1;
        let line = procfs::cmdline(pid).unwrap_or_default();
        let name_ok = spec.name.as_ref().map(|n| *n == comm);
        let cmd_ok = spec
            .cmdline
            .as_ref()
            .map(|re| !line.is_empty() && re.is_match(&line));
        let why = match (name_ok, cmd_ok) {
            _ if excluded.contains(&pid) && name_ok != Some(false) && cmd_ok != Some(false) => {
                Some((
                    0,
                    "matches, but firedrill never selects itself or its ancestors",
                ))
            }
            (Some(true), Some(false)) => {
                Some((1, "has the name, but its command line does not match"))
            }
            (Some(false), Some(true)) => Some((1, "its command line matches, but not its name")),
            (Some(false), _) if similar(spec.name.as_deref().unwrap_or_default(), &comm) => {
                Some((2, "has a similar name"))
            }
            _ => None,
        };
        if let Some((rank, why)) = why {
            let text = format!("pid {pid} {comm:?} {why}: {}", shorten(&line, 60));
            lines.push((rank, text));
        }
    }
    // The closest misses first.
    lines.sort_by_key(|(rank, _)| *rank);
    let mut lines: Vec<String> = lines.into_iter().map(|(_, text)| text).collect();
    let more = lines.len().saturating_sub(NEARBY_SHOWN);
    lines.truncate(NEARBY_SHOWN);
    if more > 0 {
        lines.push(format!("... and {more} more"));
    }
    if lines.is_empty() {
        lines.push(format!(
            "no process comes close among the {seen} running now"
        ));
    }
    if let Some(n) = spec.name.as_ref().filter(|n| n.len() > 15) {
        // The kernel keeps 15 bytes of a process name, so a longer one can never match.
        lines.push(format!(
            "a process name is at most 15 bytes (the kernel's comm), and {n:?} has {}: use cmdline for the rest",
            n.len()
        ));
    }
    lines
}

/// Whether two process names are alike enough to suggest one for the other: one contains the
/// other, ignoring case.
fn similar(wanted: &str, comm: &str) -> bool {
    let (w, c) = (wanted.to_lowercase(), comm.to_lowercase());
    !w.is_empty() && !c.is_empty() && (w.contains(&c) || c.contains(&w))
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}
