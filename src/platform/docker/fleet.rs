//! What firedrill last knew about each covered container, and what an inspect says now. The
//! event stream keeps the book current; after the stream was lost, [`resync_events`] compares
//! the book with a fresh inspect and yields the transitions that happened unseen, marked
//! uncertain and stamped with the daemon's own record of them where it has one.

use std::collections::HashMap;

use bollard::models::{ContainerInspectResponse, HealthStatusEnum};

use crate::platform::{now_micros, EventKind, Micros};

/// A container as one inspect shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Full id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Image reference from the container's config.
    pub image: String,
    /// Labels.
    pub labels: HashMap<String, String>,
    /// The main process runs and is not frozen.
    pub running: bool,
    /// Frozen by `docker pause`.
    pub paused: bool,
    /// Host PID of the main process, 0 when not running.
    pub pid: i64,
    /// The image or container defines a HEALTHCHECK.
    pub has_healthcheck: bool,
    /// The HEALTHCHECK's status is `healthy`.
    pub health_ok: bool,
    /// When the last health check ended, if any ran.
    pub health_checked_at: Option<Micros>,
    /// Creation time.
    pub created_at: Option<Micros>,
    /// Last start.
    pub started_at: Option<Micros>,
    /// Last exit.
    pub finished_at: Option<Micros>,
    /// First exposed tcp port, for http/tcp probes without a fixed port.
    pub exposed_port: Option<u16>,
    /// An IP address the container can be reached at from the engine's host.
    pub ip: Option<String>,
}

/// Microseconds from an RFC 3339 time as Docker writes it; Docker's zero time means never.
pub fn parse_time(text: Option<&str>) -> Option<Micros> {
    let t = chrono::DateTime::parse_from_rfc3339(text?).ok()?;
    (t.timestamp() > 0).then(|| t.timestamp_micros())
}

impl Observed {
    /// Reads the fields firedrill needs from an inspect.
    pub fn from_inspect(c: &ContainerInspectResponse) -> Observed {
        let state = c.state.as_ref();
        let config = c.config.as_ref();
        let health = state.and_then(|s| s.health.as_ref());
        let healthcheck_test = config
            .and_then(|c| c.healthcheck.as_ref())
            .and_then(|h| h.test.as_ref());
        let has_healthcheck = match healthcheck_test {
            Some(test) => !test.is_empty() && test.first().map(String::as_str) != Some("NONE"),
            None => false,
        } || health.is_some_and(|h| {
            !matches!(
                h.status,
                None | Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY)
            )
        });
        let running = state.and_then(|s| s.running).unwrap_or(false);
        let paused = state.and_then(|s| s.paused).unwrap_or(false);
        let networks = c.network_settings.as_ref();
        // The default bridge first, where the engine's old top-level address came from, then
        // the other networks by name, so the same container always gives the same address.
        let ip = networks.and_then(|n| n.networks.as_ref()).and_then(|nets| {
            let mut names: Vec<&String> = nets.keys().collect();
            names.sort_by_key(|name| (name.as_str() != "bridge", name.as_str()));
            names
                .into_iter()
                .filter_map(|k| nets.get(k)?.ip_address.clone())
                .find(|ip| !ip.is_empty())
        });
        let exposed_port = config
            .and_then(|c| c.exposed_ports.as_ref())
            .and_then(|ports| {
                let mut tcp: Vec<u16> = ports
                    .iter()
                    .filter_map(|p| p.strip_suffix("/tcp")?.parse().ok())
                    .collect();
                tcp.sort_unstable();
                tcp.first().copied()
            });
        Observed {
            id: c.id.clone().unwrap_or_default(),
            name: c
                .name
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
            labels: config.and_then(|c| c.labels.clone()).unwrap_or_default(),
            running: running && !paused,
            paused,
            pid: state.and_then(|s| s.pid).unwrap_or(0),
            has_healthcheck,
            health_ok: matches!(
                health.and_then(|h| h.status),
                Some(HealthStatusEnum::HEALTHY)
            ),
            health_checked_at: health
                .and_then(|h| h.log.as_ref())
                .and_then(|log| log.last())
                .and_then(|r| parse_time(r.end.as_deref())),
            created_at: parse_time(c.created.as_deref()),
            started_at: parse_time(state.and_then(|s| s.started_at.as_deref())),
            finished_at: parse_time(state.and_then(|s| s.finished_at.as_deref())),
            exposed_port,
            ip,
        }
    }
}

/// How one container's health is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthMode {
    /// The container's HEALTHCHECK status (`health_status` events).
    Docker,
    /// Healthy while running.
    Running,
    /// firedrill's own http/tcp probe against the container.
    Probe,
}

/// What the book holds per container.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// Target name.
    pub target: String,
    /// Slot (see `select::slot_of`).
    pub slot: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Labels, for the opt-in and exempt rules.
    pub labels: HashMap<String, String>,
    /// Health mode for this container.
    pub mode: HealthMode,
    /// Running and not paused.
    pub running: bool,
    /// Frozen by `docker pause`.
    pub paused: bool,
    /// Healthy as last reported.
    pub healthy: bool,
    /// Last start seen.
    pub started_at: Option<Micros>,
}

/// One transition to report, before it is addressed to a target and slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When, on the daemon's clock where known.
    pub at: Micros,
    /// What.
    pub kind: EventKind,
    /// Why the time is what it is.
    pub detail: String,
}

/// The transitions between what the book says (`known`, or nothing for a container never seen)
/// and what an inspect says now (`now`, or nothing for a container that is gone). Every one is
/// uncertain: the daemon's own record of the moment is used where the inspect has one
/// (StartedAt, FinishedAt, the last health check's end), and the detail says so; a removal has
/// no such record and carries the resync time, saying that too.
pub fn resync_events(
    known: Option<&Known>,
    now: Option<&Observed>,
    mode: HealthMode,
) -> Vec<Transition> {
    let mut out = Vec::new();
    let resync_time = now_micros();
    let stamp = |t: Option<Micros>, what: &str| match t {
        Some(t) => (
            t,
            format!("seen at resync; time from the container's {what}"),
        ),
        None => (
            resync_time,
            format!("seen at resync; the engine has no {what}, so the resync time is used"),
        ),
    };
    let healthy_now = |o: &Observed| match mode {
        HealthMode::Docker => o.running && o.health_ok,
        HealthMode::Running => o.running,
        // Probe results are not in an inspect; the probe loop reports them itself.
        HealthMode::Probe => false,
    };
    let mut push = |(at, detail): (Micros, String), kind| out.push(Transition { at, kind, detail });
    match (known, now) {
        (None, None) => {}
        (Some(_), None) => push(stamp(None, "removal time"), EventKind::Removed),
        (None, Some(o)) => {
            push(stamp(o.created_at, "Created time"), EventKind::Created);
            if o.running {
                push(stamp(o.started_at, "State.StartedAt"), EventKind::Started);
                if healthy_now(o) {
                    let at = if mode == HealthMode::Docker {
                        o.health_checked_at
                    } else {
                        o.started_at
                    };
                    push(stamp(at, "last health check"), EventKind::Healthy);
                }
            }
        }
        (Some(k), Some(o)) => {
            let restarted = o.running && k.started_at.is_some() && o.started_at != k.started_at;
            if k.running && (!o.running || restarted) {
                push(stamp(o.finished_at, "State.FinishedAt"), EventKind::Died);
            }
            if o.running && (!k.running || restarted) {
                push(stamp(o.started_at, "State.StartedAt"), EventKind::Started);
            }
            let was_healthy = k.healthy && !restarted && k.running;
            let is_healthy = healthy_now(o);
            if mode != HealthMode::Probe && was_healthy != is_healthy && o.running {
                let at = if mode == HealthMode::Docker {
                    o.health_checked_at
                } else {
                    o.started_at
                };
                let kind = if is_healthy {
                    EventKind::Healthy
                } else {
                    EventKind::Unhealthy
                };
                push(stamp(at, "last health check"), kind);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(running: bool, started: i64, finished: i64, health_ok: bool) -> Observed {
        Observed {
            id: "c1".into(),
            name: "web-1".into(),
            image: "img".into(),
            labels: HashMap::new(),
            running,
            paused: false,
            pid: if running { 42 } else { 0 },
            has_healthcheck: true,
            health_ok,
            health_checked_at: Some(started + 500),
            created_at: Some(1_000),
            started_at: Some(started),
            finished_at: Some(finished),
            exposed_port: None,
            ip: None,
        }
    }

    fn known(running: bool, healthy: bool, started: i64) -> Known {
        Known {
            target: "web".into(),
            slot: "web-1".into(),
            name: "web-1".into(),
            labels: HashMap::new(),
            mode: HealthMode::Docker,
            running,
            paused: false,
            healthy,
            started_at: Some(started),
        }
    }

    #[test]
    fn a_restart_seen_only_by_listing_is_died_then_started_at_the_daemons_times() {
        let k = known(true, true, 2_000);
        let o = observed(true, 9_000, 8_000, false);
        let t = resync_events(Some(&k), Some(&o), HealthMode::Docker);
        let kinds: Vec<_> = t.iter().map(|t| (t.kind, t.at)).collect();
        assert_eq!(
            kinds,
            vec![(EventKind::Died, 8_000), (EventKind::Started, 9_000)]
        );
        assert!(t.iter().all(|t| t.detail.contains("resync")));
        let healthy_again = observed(true, 9_000, 8_000, true);
        let t = resync_events(Some(&k), Some(&healthy_again), HealthMode::Docker);
        assert_eq!(
            t.last().map(|t| (t.kind, t.at)),
            Some((EventKind::Healthy, 9_500))
        );
    }

    #[test]
    fn an_unchanged_container_yields_nothing() {
        let k = known(true, true, 2_000);
        let o = observed(true, 2_000, 1_500, true);
        assert!(resync_events(Some(&k), Some(&o), HealthMode::Docker).is_empty());
    }

    #[test]
    fn a_removal_has_no_daemon_time_and_says_so() {
        let k = known(true, true, 2_000);
        let t = resync_events(Some(&k), None, HealthMode::Docker);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].kind, EventKind::Removed);
        assert!(t[0].detail.contains("resync time"), "{}", t[0].detail);
    }

    #[test]
    fn a_new_running_container_is_created_started_and_healthy() {
        let o = observed(true, 3_000, 0, true);
        let t = resync_events(None, Some(&o), HealthMode::Docker);
        let kinds: Vec<_> = t.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Created, EventKind::Started, EventKind::Healthy]
        );
        assert_eq!(t[0].at, 1_000);
    }

    #[test]
    fn docker_zero_time_means_never() {
        assert_eq!(parse_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(
            parse_time(Some("2026-11-27T10:00:00.123456789Z")),
            Some(1_795_773_600_123_456)
        );
    }
}
