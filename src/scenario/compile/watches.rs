//! Checks of what a run watches: steady-state probes, stop conditions (`abort_when`), probe
//! names used by SLOs, the drift evidence drift SLOs need, and the schedule's windows.

use std::collections::BTreeMap;

use chrono::Utc;

use super::{is_zero, regex_reason, Checked};
use crate::check::http::parse_url;
use crate::scenario::file::{ProbeFile, ScenarioFile};
use crate::scenario::{Probe, ProbeRequest, DEFAULT_PROBE_EVERY, DEFAULT_PROBE_TIMEOUT};
use crate::vocabulary::slo::{Metric, Slo};
use crate::vocabulary::stop::StopCondition;
use crate::vocabulary::units::HumanDuration;
use crate::vocabulary::window::{Window, Windows};

/// Checks every probe; returns those that compiled.
pub(super) fn check_probes(c: &mut Checked, probes: &[ProbeFile]) -> Vec<Probe> {
    let mut compiled = Vec::new();
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
        let parts = match (&probe.http, &probe.tcp) {
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
                let url = parse_url(&http.url)
                    .map_err(|e| c.error(format!("{at}.http.url"), e))
                    .ok();
                let body = match http.body.as_deref().map(regex::Regex::new) {
                    Some(Err(e)) => {
                        let pattern = http.body.as_deref().unwrap_or_default();
                        c.error(
                            format!("{at}.http.body"),
                            format!(
                                "{pattern:?} is not a valid regular expression: {}",
                                regex_reason(&e)
                            ),
                        );
                        None
                    }
                    Some(Ok(re)) => Some(Some(re)),
                    None => Some(None),
                };
                if !(100..=599).contains(&http.expect) {
                    c.error(
                        format!("{at}.http.expect"),
                        format!("{} is not an HTTP status; use one such as 200", http.expect),
                    );
                }
                let request = url.zip(body).map(|(url, body)| ProbeRequest::Http {
                    url,
                    expect: http.expect,
                    body,
                    reuse_connections: http.reuse_connections,
                });
                (
                    ("http", http.every),
                    http.timeout,
                    request,
                    http.url.clone(),
                )
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
                let request = valid.then(|| ProbeRequest::Tcp {
                    address: tcp.address.clone(),
                });
                (
                    ("tcp", tcp.every),
                    tcp.timeout,
                    request,
                    tcp.address.clone(),
                )
            }
        };
        let ((kind, every), timeout, request, endpoint) = parts;
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
        if let Some(request) = request {
            compiled.push(Probe {
                name: probe.name.clone(),
                endpoint,
                request,
                every: every.map_or(DEFAULT_PROBE_EVERY, HumanDuration::get),
                timeout: timeout.map_or(DEFAULT_PROBE_TIMEOUT, HumanDuration::get),
            });
        }
    }
    compiled
}

/// An SLO or stop condition naming a probe the scenario does not have is an error.
fn check_probe_name(c: &mut Checked, field: String, probe: &str, probes: &[ProbeFile]) {
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

pub(super) fn check_probe_slos(c: &mut Checked, slos: &[(usize, Slo)], probes: &[ProbeFile]) {
    for (i, slo) in slos {
        if let Some(probe) = slo.metric.probe() {
            check_probe_name(c, format!("slos[{i}]"), probe, probes);
        }
    }
}

/// Checks every stop condition; returns those that parsed.
pub(super) fn check_abort_when(c: &mut Checked, scenario: &ScenarioFile) -> Vec<StopCondition> {
    let mut compiled = Vec::new();
    for (i, line) in scenario.abort_when.iter().enumerate() {
        match StopCondition::parse(line) {
            Ok(condition) => {
                if let Some(probe) = condition.probe() {
                    check_probe_name(c, format!("abort_when[{i}]"), probe, &scenario.probes);
                }
                compiled.push(condition);
            }
            Err(message) => c.error(format!("abort_when[{i}]"), message),
        }
    }
    compiled
}

/// Checks the schedule windows; returns them when they parse and ever open.
pub(super) fn check_windows(c: &mut Checked, windows: Option<&[String]>) -> Option<Windows> {
    let texts = windows?;
    let mut all_parse = true;
    for (i, text) in texts.iter().enumerate() {
        if let Err(message) = Window::parse(text) {
            all_parse = false;
            c.error(format!("schedule.windows[{i}]"), message);
        }
    }
    if !all_parse {
        return None;
    }
    match Windows::parse(texts) {
        Err(message) => {
            c.error("schedule.windows", message);
            None
        }
        Ok(w) if w.open_per_week(Utc::now()).is_zero() => {
            c.error(
                "schedule.windows",
                "these windows are never open, so kills could never happen",
            );
            None
        }
        Ok(w) => Some(w),
    }
}

/// A `drift.*` SLO needs the evidence it counts; without it every such SLO would judge
/// nothing.
pub(super) fn check_drift_slos(c: &mut Checked, slos: &[(usize, Slo)], drift: bool) {
    for (i, slo) in slos {
        if matches!(slo.metric, Metric::Drift { .. }) && !drift {
            c.error(
                format!("slos[{i}]"),
                format!(
                    "{} counts drift evidence, which is captured only with recovery: {{ drift: true }}",
                    slo.metric
                ),
            );
        }
    }
}
