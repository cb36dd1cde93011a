//! Checks of node targets and node actions: a target that selects Swarm nodes names the
//! services it watches, its action is `drain` or `command`, and such a scenario is about
//! nodes throughout, one node per decision.

use std::collections::BTreeMap;

use regex::Regex;

use super::{is_zero, regex_reason, Checked};
use crate::scenario::file::{NodeSelector, ScenarioFile};
use crate::scenario::{Action, NodeCommand};
use crate::vocabulary::units::{CountOrPercent, HumanDuration};

/// The roles a node selector may name.
const ROLES: [&str; 2] = ["manager", "worker"];

/// Checks a `command` action's programs; `None` when one is unusable.
pub(super) fn check_command(
    c: &mut Checked,
    run: &[String],
    undo: Option<&Vec<String>>,
    undo_after: HumanDuration,
    timeout: HumanDuration,
) -> Option<NodeCommand> {
    let mut ok = check_argv(c, "action.run", run);
    if let Some(undo) = undo {
        ok &= check_argv(c, "action.undo", undo);
    }
    if is_zero(timeout) {
        c.error(
            "action.timeout",
            "a timeout of 0 would stop the command at once; use a limit such as 60s",
        );
        ok = false;
    }
    ok.then(|| NodeCommand {
        run: run.to_vec(),
        undo: undo.cloned(),
        undo_after,
        timeout,
    })
}

/// An argv: a program, and placeholders only of [`NodeCommand::PLACEHOLDERS`].
fn check_argv(c: &mut Checked, field: &str, argv: &[String]) -> bool {
    let Some(program) = argv.first() else {
        c.error(
            field,
            "the command is empty; give the program and its arguments, such as \
             [\"ssh\", \"{address}\", \"sudo\", \"poweroff\"]",
        );
        return false;
    };
    if program.trim().is_empty() {
        c.error(
            format!("{field}[0]"),
            "the program name is empty; give the program to run",
        );
        return false;
    }
    let mut ok = true;
    for (i, arg) in argv.iter().enumerate() {
        let mut rest = arg.as_str();
        while let Some(open) = rest.find('{') {
            let Some(len) = rest[open..].find('}') else {
                break;
            };
            let placeholder = &rest[open..open + len + 1];
            if !NodeCommand::PLACEHOLDERS.contains(&placeholder) {
                c.error(
                    format!("{field}[{i}]"),
                    format!(
                        "unknown placeholder {placeholder}; a command may use {}",
                        NodeCommand::PLACEHOLDERS.join(", ")
                    ),
                );
                ok = false;
            }
            rest = &rest[open + len + 1..];
        }
    }
    ok
}

/// Checks one node selector's role and hostname pattern.
pub(super) fn check_node_selector(c: &mut Checked, at: &str, nodes: &NodeSelector) {
    if let Some(role) = &nodes.role {
        if !ROLES.contains(&role.as_str()) {
            c.error(
                format!("{at}.select.nodes.role"),
                format!("unknown role {role:?}; a node is a manager or a worker"),
            );
        }
    }
    if let Some(pattern) = &nodes.hostname {
        if let Err(e) = Regex::new(pattern) {
            c.error(
                format!("{at}.select.nodes.hostname"),
                format!("invalid regular expression: {}", regex_reason(&e)),
            );
        }
    }
    if nodes.labels.keys().any(|k| k.trim().is_empty()) {
        c.error(
            format!("{at}.select.nodes.labels"),
            "a label key is empty; write labels as key: value",
        );
    }
}

/// Checks that node targets and node actions go together: a node target watches at least one
/// service that no other target watches, every target of a node scenario selects nodes, its
/// action is `drain` or `command`, and it takes one node per decision.
pub(super) fn check_node_scenario(c: &mut Checked, file: &ScenarioFile, action: Option<&Action>) {
    let mut watched_by: BTreeMap<&str, usize> = BTreeMap::new();
    let mut node_targets = 0;
    for (i, target) in file.targets.iter().enumerate() {
        let at = format!("targets[{i}]");
        if target.select.nodes.is_none() {
            if !target.watch.is_empty() {
                c.error(
                    format!("{at}.watch"),
                    "watch names the services a node target's recovery is measured on; it \
                     needs select: { nodes: ... }",
                );
            }
            continue;
        }
        node_targets += 1;
        if target.watch.is_empty() {
            c.error(
                format!("{at}.watch"),
                "a node target needs the services whose healthy tasks are its capacity, such \
                 as watch: [web]",
            );
        }
        for (j, service) in target.watch.iter().enumerate() {
            if service.trim().is_empty() {
                c.error(
                    format!("{at}.watch[{j}]"),
                    "the service name is empty; give one such as web",
                );
            } else if let Some(first) = watched_by.insert(service, i) {
                watched_by.insert(service, first);
                if first != i {
                    c.error(
                        format!("{at}.watch[{j}]"),
                        format!(
                            "service {service} is already watched by targets[{first}]; a \
                             service counts toward one target's capacity"
                        ),
                    );
                }
            }
        }
    }
    let node_action = action.is_some_and(Action::is_node_action);
    if node_targets > 0 && node_targets < file.targets.len() {
        c.error(
            "targets",
            "node targets and service targets cannot share a scenario: its one action acts \
             either on nodes (drain, command) or on tasks; write two scenarios",
        );
    }
    if node_targets > 0 && action.is_some_and(|a| !a.is_node_action()) {
        c.error(
            "action.kind",
            "a node target is taken down by drain or command; kill, crash, stop, remove and \
             pause act on tasks",
        );
    }
    if node_targets == 0 && node_action {
        c.error(
            "action.kind",
            "drain and command act on Swarm nodes; select them with select: { nodes: { role: \
             worker } } and name the services to watch",
        );
    }
    if node_targets > 0 && file.policy.pick != CountOrPercent::Count(1) {
        c.error(
            "policy.pick",
            "a node target takes one node down per decision, so that the min_healthy guard \
             can weigh the tasks it holds; use pick: 1",
        );
    }
    if let Some(Action::Drain { duration }) = action {
        if is_zero(*duration) {
            c.error("action.for", "a drain must last longer than 0, such as 30s");
        }
    }
}
