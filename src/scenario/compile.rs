//! Compiles a scenario file's YAML shape into a typed [`Scenario`], as vector's config compiler
//! does: every check runs, every problem is collected (so a user fixes a file in one pass), and
//! only a file without errors yields a scenario. The checks know nothing of YAML: each finding
//! names a field path, and the loader turns that path into a line and column.

mod action;
mod nodes;
mod notify;
mod targets;
mod watches;

use std::path::Path;
use std::time::Duration;

use super::file::{ScenarioFile, ScheduleFile};
use super::{Pace, PlatformConfig, Policy, Recovery, Scenario, Schedule, SCENARIO_VERSION};
use crate::vocabulary::slo::Slo;
use crate::vocabulary::units::{CountOrPercent, HumanDuration};

/// One problem, at a field path such as `policy.min_healthy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Field path, empty for the whole file.
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

/// What compiling found: the scenario when there was no error, and every finding.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// The typed scenario; `None` when any error was found. Its `warnings` are left for the
    /// loader to locate.
    pub scenario: Option<Scenario>,
    /// Problems that make the scenario unusable.
    pub errors: Vec<Finding>,
    /// Settings that are allowed but probably unintended.
    pub warnings: Vec<Finding>,
}

/// Findings collected while compiling.
#[derive(Debug, Default)]
struct Checked {
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl Checked {
    fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Finding {
            field: field.into(),
            message: message.into(),
        });
    }

    fn warn(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Why `regex` refused a pattern, in one line. The regex crate explains on several lines, with
/// the whole pattern and a caret; its last line says why, and the pattern is echoed (shortened)
/// by the caller.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// Compiles a scenario file read from `path` (whose bytes hash to `sha256`), running every
/// check.
pub fn compile(file: &ScenarioFile, path: &Path, sha256: &str) -> Compiled {
    let mut c = Checked::default();
    if file.version != SCENARIO_VERSION {
        c.error(
            "version",
            format!(
                "unsupported version {}; this build reads version {SCENARIO_VERSION}",
                file.version
            ),
        );
    }
    check_name(&mut c, &file.name);
    check_platform(&mut c, &file.platform);
    let targets = targets::check_targets(&mut c, file);
    let pace = check_schedule(&mut c, &file.schedule);
    check_policy(&mut c, file);
    let action = action::check_action(&mut c, &file.action, &file.platform, &file.recovery);
    nodes::check_node_scenario(&mut c, file, action.as_ref());
    check_recovery(&mut c, &file.recovery);
    let slos = check_slos(&mut c, &file.slos);
    watches::check_drift_slos(&mut c, &slos, file.recovery.drift);
    let probes = watches::check_probes(&mut c, &file.probes);
    watches::check_probe_slos(&mut c, &slos, &file.probes);
    let abort_when = watches::check_abort_when(&mut c, file);
    let windows = watches::check_windows(&mut c, file.schedule.windows.as_deref());
    let notify = notify::check_notify(&mut c, &file.notify, &|name| std::env::var(name).ok());
    if file.report.dir.as_os_str().is_empty() {
        c.error(
            "report.dir",
            "the report folder is empty; give one such as reports",
        );
    }
    if file.report.formats.is_empty() {
        c.warn(
            "report.formats",
            "no report format listed; only journal.jsonl will be written (add json or markdown)",
        );
    }
    let scenario = match (c.errors.is_empty(), pace, action) {
        (true, Some(pace), Some(action)) => Some(Scenario {
            path: path.to_path_buf(),
            sha256: sha256.to_string(),
            name: file.name.clone(),
            description: file.description.clone(),
            seed: file.seed,
            platform: file.platform.clone(),
            targets,
            schedule: Schedule {
                duration: file.schedule.duration.map(HumanDuration::get),
                max_kills: file.schedule.max_kills,
                pace,
                start_after: file.schedule.start_after.map(HumanDuration::get),
                min_gap: file
                    .schedule
                    .min_gap
                    .map(HumanDuration::get)
                    .unwrap_or_default(),
                windows,
            },
            policy: file.policy.clone(),
            action,
            recovery: file.recovery.clone(),
            slos: slos.into_iter().map(|(_, slo)| slo).collect(),
            probes,
            abort_when,
            report: file.report.clone(),
            notify,
            warnings: Vec::new(),
        }),
        _ => None,
    };
    Compiled {
        scenario,
        errors: c.errors,
        warnings: c.warnings,
    }
}

/// Longest scenario name: it goes into a folder name beside a 17-character timestamp, and
/// file systems stop at 255 bytes.
const MAX_NAME_LEN: usize = 100;

fn check_name(c: &mut Checked, name: &str) {
    let safe = |ch: char| ch.is_ascii_alphanumeric() || "._-".contains(ch);
    if name.is_empty() {
        c.error(
            "name",
            "the name is empty; give a short name such as web-nightly",
        );
    } else if name.len() > MAX_NAME_LEN {
        c.error(
            "name",
            format!(
                "the name is {} characters long; keep it to {MAX_NAME_LEN}, since it becomes \
                 part of each report folder's name",
                name.len()
            ),
        );
    } else if name == "." || name == ".." || !name.chars().all(safe) {
        c.error(
            "name",
            format!(
                "name {name:?} cannot be part of a report folder name; use only letters, digits, \
                 '.', '_' and '-', such as web-nightly"
            ),
        );
    }
}

fn check_platform(c: &mut Checked, platform: &PlatformConfig) {
    match platform {
        PlatformConfig::Local {} => {}
        PlatformConfig::Docker { host } => check_endpoint(c, "platform.host", host.as_deref()),
        PlatformConfig::Swarm { host, nodes } => {
            check_endpoint(c, "platform.host", host.as_deref());
            for (node, endpoint) in nodes {
                let field = format!("platform.nodes.{node}");
                if node.trim().is_empty() {
                    c.error(&field, "a node needs its id or hostname as the key");
                }
                check_endpoint(c, &field, Some(endpoint));
            }
        }
    }
}

/// Docker engine endpoints are URLs; a bare host name is a common slip.
fn check_endpoint(c: &mut Checked, field: &str, endpoint: Option<&str>) {
    let Some(endpoint) = endpoint else { return };
    let schemes = ["unix://", "tcp://", "http://", "https://"];
    let has_scheme = schemes
        .iter()
        .find_map(|s| endpoint.strip_prefix(s))
        .is_some_and(|rest| !rest.is_empty());
    if !has_scheme {
        c.error(
            field,
            format!(
                "{endpoint:?} is not an engine endpoint; write unix:///var/run/docker.sock, \
                 tcp://host:2375 or https://host:2376"
            ),
        );
    }
}

/// Whether a duration was written as zero.
fn is_zero(d: HumanDuration) -> bool {
    d.get() == Duration::ZERO
}

fn check_schedule(c: &mut Checked, s: &ScheduleFile) -> Option<Pace> {
    let pace = match (s.every, s.mean_time_between_kills) {
        (Some(every), None) => Some(Pace::Every {
            every: every.get(),
            jitter: s.jitter.map(HumanDuration::get).unwrap_or_default(),
        }),
        (None, Some(mean)) => Some(Pace::Mean(mean.get())),
        (Some(_), Some(_)) => None,
        (None, None) => None,
    };
    match (s.every, s.mean_time_between_kills) {
        (Some(_), Some(_)) => c.error(
            "schedule.mean_time_between_kills",
            "give either every (a fixed interval) or mean_time_between_kills (random \
             intervals), not both",
        ),
        (None, None) => c.error(
            "schedule",
            "say when kills happen: add every (a fixed interval such as 30s) or \
             mean_time_between_kills (such as 45s)",
        ),
        _ => {}
    }
    if s.duration.is_none() && s.max_kills.is_none() {
        c.error(
            "schedule",
            "a run must end: add duration (such as 10m), max_kills (such as 20), or both",
        );
    }
    for (field, value) in [
        ("schedule.min_gap", s.min_gap),
        ("schedule.duration", s.duration),
        ("schedule.every", s.every),
        (
            "schedule.mean_time_between_kills",
            s.mean_time_between_kills,
        ),
    ] {
        if value.is_some_and(is_zero) {
            c.error(field, "must be longer than 0, such as 30s");
        }
    }
    if s.max_kills == Some(0) {
        c.error(
            "schedule.max_kills",
            "max_kills 0 would never kill anything; use 1 or more",
        );
    }
    if let Some(jitter) = s.jitter {
        match (s.every, s.mean_time_between_kills) {
            (Some(every), _) if !is_zero(every) && jitter >= every => c.error(
                "schedule.jitter",
                format!("jitter {jitter} must be shorter than every ({every}), so every interval stays positive"),
            ),
            (None, Some(_)) => c.warn(
                "schedule.jitter",
                "jitter only applies to a fixed interval (every); random intervals from \
                 mean_time_between_kills ignore it",
            ),
            _ => {}
        }
    }
    let first_decision = s.start_after.or(s.every).or(s.mean_time_between_kills);
    if let (Some(duration), Some(first)) = (s.duration, first_decision) {
        if !is_zero(duration) && first >= duration {
            c.warn(
                "schedule.duration",
                format!(
                    "the run lasts {duration} but the first decision comes after {first}, so \
                     nothing will be killed; lengthen duration or shorten the interval"
                ),
            );
        }
    }
    pace
}

fn check_policy(c: &mut Checked, scenario: &ScenarioFile) {
    let Policy {
        pick,
        max_in_flight,
        min_healthy,
        ..
    } = &scenario.policy;
    match pick {
        CountOrPercent::Count(0) => c.error(
            "policy.pick",
            "pick 0 would never kill anything; use 1 or more, or a percentage such as 25%",
        ),
        CountOrPercent::Percent(p) if p.0 <= 0.0 => c.error(
            "policy.pick",
            "pick 0% would never kill anything; use a percentage above 0%, or a count such as 1",
        ),
        _ => {}
    }
    if *max_in_flight == 0 {
        c.error(
            "policy.max_in_flight",
            "max_in_flight 0 would refuse every kill; use 1 or more",
        );
    } else if let CountOrPercent::Count(n) = pick {
        if n > max_in_flight {
            c.error(
                "policy.pick",
                format!(
                    "pick {n} can never happen: max_in_flight {max_in_flight} caps the \
                     recoveries in progress at {max_in_flight}, counting the new kills; lower \
                     pick to at most {max_in_flight} or raise max_in_flight"
                ),
            );
        }
    }
    let Some(min_healthy) = min_healthy else {
        return;
    };
    if let CountOrPercent::Percent(p) = min_healthy {
        if p.0 >= 100.0 {
            c.warn(
                "policy.min_healthy",
                "min_healthy 100% refuses every kill (a kill always leaves the pool below full \
                 capacity); every decision will be recorded as refused",
            );
            return;
        }
    }
    for (i, target) in scenario.targets.iter().enumerate() {
        let Some(capacity) = targets::fixed_capacity(target) else {
            continue;
        };
        let floor = min_healthy.resolve_ceil(capacity);
        if floor > capacity {
            c.error(
                "policy.min_healthy",
                format!(
                    "min_healthy {min_healthy} is above the capacity {capacity} of target \
                     {:?} (targets[{i}]); it must be at most {capacity}, and below it for any \
                     kill to happen",
                    target.name
                ),
            );
        } else if floor == capacity && capacity > 0 {
            c.warn(
                "policy.min_healthy",
                format!(
                    "min_healthy {min_healthy} keeps all {capacity} instances of target {:?} \
                     (targets[{i}]), so every kill will be refused; use at most {} to allow \
                     kills",
                    target.name,
                    capacity - 1
                ),
            );
        }
    }
}

fn check_recovery(c: &mut Checked, recovery: &Recovery) {
    if is_zero(recovery.timeout) {
        c.error(
            "recovery.timeout",
            "a recovery timeout of 0 marks every kill unrecovered; use a limit such as 120s",
        );
    }
    let Some(trigger) = &recovery.trigger else {
        return;
    };
    match trigger.command.first() {
        None => c.error(
            "recovery.trigger.command",
            "the trigger command is empty; give the program and its arguments, such as \
             [\"./rebuild.sh\", \"{victim}\"]",
        ),
        Some(program) if program.trim().is_empty() => c.error(
            "recovery.trigger.command[0]",
            "the program name is empty; give the program to run, such as ./rebuild.sh",
        ),
        _ => {}
    }
    if trigger.timeout.is_some_and(is_zero) {
        c.error(
            "recovery.trigger.timeout",
            "a trigger timeout of 0 would kill the command at once; use a limit such as 60s",
        );
    }
}

/// The SLOs that parse, each with its index in the file.
fn check_slos(c: &mut Checked, slos: &[String]) -> Vec<(usize, Slo)> {
    let mut parsed = Vec::new();
    for (i, line) in slos.iter().enumerate() {
        match Slo::parse(line) {
            Ok(slo) => parsed.push((i, slo)),
            Err(message) => c.error(format!("slos[{i}]"), message),
        }
    }
    parsed
}

#[cfg(test)]
mod tests;
