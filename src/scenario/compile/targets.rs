//! Checks of the target pools: names, selectors against the platform, opt-in labels,
//! capacity and health checks.

use std::collections::BTreeMap;

use regex::Regex;

use super::{is_zero, regex_reason, Checked};
use crate::scenario::file::{ScenarioFile, TargetFile};
use crate::scenario::{
    HealthCheck, HealthSource, OptIn, PlatformConfig, Selector, Target, EXEMPT_LABEL,
};

/// The healthy count a target must get back to, when the scenario fixes it: an explicit
/// `capacity`, else the managed fleet's replicas.
pub(super) fn fixed_capacity(target: &TargetFile) -> Option<u32> {
    target
        .capacity
        .or_else(|| target.select.managed.as_ref().map(|m| m.replicas))
}

/// Checks every target; returns them compiled (complete only when no error was found).
pub(super) fn check_targets(c: &mut Checked, scenario: &ScenarioFile) -> Vec<Target> {
    let mut compiled = Vec::new();
    if scenario.targets.is_empty() {
        c.error(
            "targets",
            "no targets; list at least one pool of instances to kill, each with a name and a \
             select",
        );
    }
    let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, target) in scenario.targets.iter().enumerate() {
        let at = format!("targets[{i}]");
        if target.name.trim().is_empty() {
            c.error(
                format!("{at}.name"),
                "the target name is empty; name the pool, such as web",
            );
        } else if let Some(first) = first_seen.insert(&target.name, i) {
            first_seen.insert(&target.name, first);
            c.error(
                format!("{at}.name"),
                format!(
                    "target name {:?} is already used by targets[{first}]; each target needs \
                     its own name",
                    target.name
                ),
            );
        }
        check_selector(c, &at, &target.select, &scenario.platform);
        let require_label = check_require_label(c, &at, target);
        check_capacity(c, &at, target);
        check_health(c, &at, target, &scenario.platform);
        compiled.push(Target {
            name: target.name.clone(),
            select: target.select.clone(),
            require_label,
            capacity: target.capacity,
            health: target.health.clone(),
            watch: target.watch.clone(),
        });
    }
    compiled
}

fn check_selector(c: &mut Checked, at: &str, select: &Selector, platform: &PlatformConfig) {
    let field = |name: &str| format!("{at}.select.{name}");
    let given: Vec<&str> = [
        ("managed", select.managed.is_some()),
        ("process", select.process.is_some()),
        ("labels", !select.labels.is_empty()),
        ("name", select.name.is_some()),
        ("image", select.image.is_some()),
        ("compose", select.compose.is_some()),
        ("service", select.service.is_some()),
        ("nodes", select.nodes.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    let (allowed, need): (&[&str], &str) = match platform {
        PlatformConfig::Local {} => (
            &["managed", "process"],
            "exactly one of managed (a fleet firedrill spawns) or process (existing processes)",
        ),
        PlatformConfig::Docker { .. } => (
            &["labels", "name", "image", "compose"],
            "at least one of labels, name, image or compose",
        ),
        PlatformConfig::Swarm { .. } => (
            &["service", "labels", "nodes"],
            "service or labels (tasks), or nodes",
        ),
    };
    for name in given.iter().filter(|n| !allowed.contains(n)) {
        c.error(
            field(name),
            format!(
                "the {} platform does not understand select.{name}; it selects with {need}",
                platform.kind()
            ),
        );
    }
    let usable = given.iter().filter(|n| allowed.contains(n)).count();
    let local = matches!(platform, PlatformConfig::Local {});
    if usable == 0 {
        c.error(
            format!("{at}.select"),
            format!(
                "no selector for the {} platform; give {need}",
                platform.kind()
            ),
        );
    } else if local && usable > 1 {
        c.error(field("process"), format!("give {need}, not both"));
    }
    if let Some(nodes) = &select.nodes {
        if select.service.is_some() || !select.labels.is_empty() {
            c.error(
                field("nodes"),
                "select either nodes or tasks (service, labels), not both; a node target \
                 names the services it watches in watch",
            );
        }
        super::nodes::check_node_selector(c, at, nodes);
    }
    if let Some(pattern) = &select.name {
        check_regex(c, &field("name"), pattern);
    }
    if let Some(image) = &select.image {
        if image.trim().is_empty() {
            c.error(
                field("image"),
                "the image is empty; give a reference such as web:latest",
            );
        }
    }
    if let Some(service) = &select.service {
        if service.trim().is_empty() {
            c.error(
                field("service"),
                "the service name is empty; give one such as web",
            );
        }
    }
    if let Some(compose) = &select.compose {
        for (part, value) in [("project", &compose.project), ("service", &compose.service)] {
            if value.trim().is_empty() {
                c.error(
                    format!("{at}.select.compose.{part}"),
                    format!("the Compose {part} is empty; give its name as Compose labels it"),
                );
            }
        }
    }
    if select.labels.keys().any(|k| k.trim().is_empty()) {
        c.error(
            field("labels"),
            "a label key is empty; write labels as key: value",
        );
    }
    if let Some(process) = &select.process {
        if process.name.is_none() && process.cmdline.is_none() {
            c.error(
                field("process"),
                "say which processes: give name (the exact process name) or cmdline (a \
                 regular expression over the command line)",
            );
        }
        if process.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            c.error(
                format!("{at}.select.process.name"),
                "the process name is empty",
            );
        }
        if let Some(pattern) = &process.cmdline {
            check_regex(c, &format!("{at}.select.process.cmdline"), pattern);
        }
    }
    if let Some(managed) = &select.managed {
        if managed.replicas == 0 {
            c.error(
                format!("{at}.select.managed.replicas"),
                "replicas 0 leaves nothing to kill; use 1 or more",
            );
        }
        match managed.command.first() {
            None => c.error(
                format!("{at}.select.managed.command"),
                "the command is empty; give the program and its arguments, such as \
                 [\"{self}\", \"target\", \"--port\", \"{port}\"]",
            ),
            Some(program) if program.trim().is_empty() => c.error(
                format!("{at}.select.managed.command[0]"),
                "the program name is empty; give the program to run",
            ),
            _ => {}
        }
        if let Some(base) = managed.port_base {
            if u32::from(base) + managed.replicas > u32::from(u16::MAX) + 1 {
                c.error(
                    format!("{at}.select.managed.port_base"),
                    format!(
                        "port_base {base} leaves no room for {} replicas below port 65535; use \
                         a lower port_base",
                        managed.replicas
                    ),
                );
            }
        }
    }
}

fn check_regex(c: &mut Checked, field: &str, pattern: &str) {
    if let Err(e) = Regex::new(pattern) {
        let why = regex_reason(&e);
        c.error(
            field,
            format!("{pattern:?} is not a valid regular expression: {why}"),
        );
    }
}

fn check_require_label(c: &mut Checked, at: &str, target: &TargetFile) -> Option<OptIn> {
    let field = format!("{at}.require_label");
    let attach = target.select.process.is_some();
    let Some(label) = &target.require_label else {
        if attach {
            c.error(
                field,
                "attaching to existing processes needs an opt-in, so nothing is killed by \
                 accident: set require_label to an environment variable KEY=VALUE that only \
                 the processes to kill carry, such as FIREDRILL_TARGET=web",
            );
        }
        return None;
    };
    let Some((key, value)) = label.split_once('=') else {
        c.error(
            field,
            format!("require_label {label:?} must read key=value, such as firedrill.enabled=true"),
        );
        return None;
    };
    if key.trim().is_empty() || value.trim().is_empty() {
        c.error(
            &field,
            format!(
                "require_label {label:?} needs both a key and a value, such as \
                 firedrill.enabled=true"
            ),
        );
    }
    if key == EXEMPT_LABEL {
        c.error(
            &field,
            format!(
                "require_label uses the exemption label {EXEMPT_LABEL}, so only exempt \
                 instances would be eligible and nothing could be killed; pick another key, \
                 such as firedrill.enabled"
            ),
        );
    }
    let env_name = |k: &str| {
        k.chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
            && k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    };
    if attach && !key.is_empty() && !env_name(key) {
        c.error(
            &field,
            format!(
                "for local processes require_label names an environment variable, and {key:?} \
                 is not a valid variable name; use letters, digits and _, such as \
                 FIREDRILL_TARGET=web"
            ),
        );
    }
    OptIn::parse(label)
}

fn check_capacity(c: &mut Checked, at: &str, target: &TargetFile) {
    let Some(capacity) = target.capacity else {
        return;
    };
    if capacity == 0 {
        c.error(
            format!("{at}.capacity"),
            "capacity 0 means the pool never needs restoring; use 1 or more, or leave it out \
             to use the healthy count at start",
        );
    }
    if let Some(managed) = &target.select.managed {
        if capacity > managed.replicas {
            c.error(
                format!("{at}.capacity"),
                format!(
                    "capacity {capacity} is above managed.replicas {}, so the pool could never \
                     be restored; leave capacity out or make it at most {}",
                    managed.replicas, managed.replicas
                ),
            );
        }
    }
}

fn check_health(c: &mut Checked, at: &str, target: &TargetFile, platform: &PlatformConfig) {
    let HealthCheck {
        from,
        http,
        tcp,
        every,
        timeout,
    } = &target.health;
    let field = |name: &str| format!("{at}.health.{name}");
    let kinds = [from.is_some(), http.is_some(), tcp.is_some()];
    if kinds.iter().filter(|k| **k).count() > 1 {
        c.error(
            format!("{at}.health"),
            "give at most one of from, http and tcp; one instance has one health check",
        );
    }
    if *from == Some(HealthSource::Docker) && matches!(platform, PlatformConfig::Local {}) {
        c.error(
            field("from"),
            "from: docker reads a container's HEALTHCHECK, which local processes do not have; \
             use from: running, http or tcp",
        );
    }
    if matches!(platform, PlatformConfig::Swarm { .. }) && (http.is_some() || tcp.is_some()) {
        c.error(
            field(if http.is_some() { "http" } else { "tcp" }),
            "the swarm platform does not probe tasks itself (their addresses are usually on \
             overlay networks firedrill cannot reach); use from: docker (the service's \
             HEALTHCHECK) or from: running",
        );
    }
    let managed = target.select.managed.is_some();
    if let Some(check) = http {
        if check.port.is_none() && !managed {
            c.error(
                field("http"),
                "http needs a port here: only managed instances have a {port} to default to",
            );
        }
        if !check.path.starts_with('/') {
            c.error(
                field("http.path"),
                format!("path {:?} must start with /, such as /health", check.path),
            );
        }
        if !(100..=599).contains(&check.expect) {
            c.error(
                field("http.expect"),
                format!(
                    "{} is not an HTTP status; use one such as 200",
                    check.expect
                ),
            );
        }
    }
    if let Some(check) = tcp {
        if check.port.is_none() && !managed {
            c.error(
                field("tcp"),
                "tcp needs a port here: only managed instances have a {port} to default to",
            );
        }
    }
    if every.is_some_and(is_zero) {
        c.error(
            field("every"),
            "probes need an interval longer than 0, such as 100ms",
        );
    }
    if timeout.is_some_and(is_zero) {
        c.error(
            field("timeout"),
            "a probe timeout of 0 fails every probe; use one such as 1s",
        );
    }
}
