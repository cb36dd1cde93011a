//! Checks of what a run watches: steady-state probes, stop conditions (`abort_when`), probe
//! names used by SLOs, and the schedule's windows.

use std::collections::BTreeMap;

use chrono::Utc;

use super::{is_zero, Checked};
use crate::probe::http::parse_url;
use crate::scenario::{ProbeConfig, Scenario};
use crate::vocabulary::stop::StopCondition;
use crate::vocabulary::window::{Window, Windows};

pub(super) fn check_probes(c: &mut Checked, probes: &[ProbeConfig]) {
    let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, probe) in probes.iter().enumerate() {
        let at = format!("probes[{i}]");
        let name_ok = |ch: char| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-';
        if probe.name.is_empty() || !probe.name.chars().all(name_ok) {
            c.error(
                format!("{at}.name"),
                format!(
                    "probe name {:?} must be letters, digits, '_' or '-' (it becomes part of \
                     metrics such as probe.edge.availability)",
                    probe.name
                ),
            );
        } else if let Some(first) = first_seen.insert(&probe.name, i) {
            first_seen.insert(&probe.name, first);
            c.error(
                format!("{at}.name"),
                format!(
                    "probe name {:?} is already used by probes[{first}]; each probe needs its \
                     own name",
                    probe.name
                ),
            );
        }
        let (every, timeout) = match (&probe.http, &probe.tcp) {
            (Some(_), Some(_)) => {
                c.error(
                    format!("{at}.tcp"),
                    "give either http or tcp, not both; make two probes to check both",
                );
                continue;
            }
            (None, None) => {
                c.error(
                    at.clone(),
                    "say what to probe: add http: { url: ... } or tcp: { address: host:port }",
                );
                continue;
            }
            (Some(http), None) => {
                if let Err(e) = parse_url(&http.url) {
                    c.error(format!("{at}.http.url"), e);
                }
                if let Some(body) = &http.body {
                    if let Err(e) = regex::Regex::new(body) {
                        c.error(
                            format!("{at}.http.body"),
                            format!("not a regular expression: {e}"),
                        );
                    }
                }
                if !(100..=599).contains(&http.expect) {
                    c.error(
                        format!("{at}.http.expect"),
                        format!("{} is not an HTTP status; use one such as 200", http.expect),
                    );
                }
                (("http", http.every), http.timeout)
            }
            (None, Some(tcp)) => {
                let valid = tcp
                    .address
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
                if !valid {
                    c.error(
                        format!("{at}.tcp.address"),
                        format!(
                            "{:?} is not host:port; write one such as 127.0.0.1:5432",
                            tcp.address
                        ),
                    );
                }
                (("tcp", tcp.every), tcp.timeout)
            }
        };
        let (kind, every) = every;
        if every.is_some_and(is_zero) {
            c.error(
                format!("{at}.{kind}.every"),
                "must be longer than 0, such as 100ms",
            );
        }
        if timeout.is_some_and(is_zero) {
            c.error(
                format!("{at}.{kind}.timeout"),
                "must be longer than 0, such as 1s",
            );
        }
    }
}

/// An SLO or stop condition naming a probe the scenario does not have is an error.
fn check_probe_name(c: &mut Checked, field: String, probe: &str, probes: &[ProbeConfig]) {
    if probes.iter().any(|p| p.name == probe) {
        return;
    }
    let known: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
    let known = if known.is_empty() {
        "the scenario has no probes (add one under probes:)".to_string()
    } else {
        format!("known probes: {}", known.join(", "))
    };
    c.error(field, format!("no probe is named {probe:?}; {known}"));
}

pub(super) fn check_probe_slos(c: &mut Checked, scenario: &Scenario) {
    let used: Vec<(usize, String)> = scenario
        .slos
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let slo = crate::vocabulary::slo::Slo::parse(line).ok()?;
            Some((i, slo.metric.probe()?.to_string()))
        })
        .collect();
    for (i, probe) in used {
        check_probe_name(c, format!("slos[{i}]"), &probe, &scenario.probes);
    }
}

pub(super) fn check_abort_when(c: &mut Checked, scenario: &Scenario) {
    for (i, line) in scenario.abort_when.iter().enumerate() {
        match StopCondition::parse(line) {
            Ok(condition) => {
                if let Some(probe) = condition.probe() {
                    check_probe_name(c, format!("abort_when[{i}]"), probe, &scenario.probes);
                }
            }
            Err(message) => c.error(format!("abort_when[{i}]"), message),
        }
    }
}

pub(super) fn check_windows(c: &mut Checked, windows: Option<&[String]>) {
    let Some(texts) = windows else { return };
    let mut all_parse = true;
    for (i, text) in texts.iter().enumerate() {
        if let Err(message) = Window::parse(text) {
            all_parse = false;
            c.error(format!("schedule.windows[{i}]"), message);
        }
    }
    if !all_parse {
        return;
    }
    match Windows::parse(texts) {
        Err(message) => c.error("schedule.windows", message),
        Ok(w) if w.open_per_week(Utc::now()).is_zero() => c.error(
            "schedule.windows",
            "these windows are never open, so kills could never happen",
        ),
        Ok(_) => {}
    }
}
