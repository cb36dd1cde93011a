//! The one event subscription (type=container, narrowed to the selectors' common labels), its
//! mapping onto [`PlatformEvent`]s stamped with the daemon's `timeNano`, and what happens when
//! the stream ends: reconnect with backoff, replay what the daemon still buffers since the last
//! event seen (exact times), then resync by inspecting, reporting unseen transitions as
//! uncertain.
//!
//! This file is longer than 500 lines because the live stream, its replay, the resync and the
//! deaths only a restart reveals all update one book of containers; split apart, each would
//! need the others' rules to be read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::fleet::{resync_events, HealthMode, Known, Observed, Transition};
use super::probe::Prober;
use super::select::{slot_of, ContainerFacts};
use super::Shared;
use crate::platform::{now_micros, EventKind, Micros, PlatformEvent};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Keeps the book of covered containers and turns daemon events into platform events.
pub struct Watcher {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<PlatformEvent>,
    cancel: CancellationToken,
    prober: Prober,
    /// The last event's `timeNano`, and the (id, action) pairs already handled at that
    /// nanosecond, so a replay starting there does not repeat them.
    last_nano: i64,
    seen_at_last: HashSet<(String, String)>,
}

/// How one run of the subscription ended.
enum StreamEnd {
    Cancelled,
    Lost(String),
}

impl Watcher {
    /// A watcher over `shared`'s targets, sending into `tx` until `cancel` fires.
    pub fn new(
        shared: Arc<Shared>,
        tx: mpsc::UnboundedSender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> Watcher {
        let prober = Prober::new(shared.clone(), tx.clone(), cancel.clone());
        Watcher {
            shared,
            tx,
            cancel,
            prober,
            last_nano: 0,
            seen_at_last: HashSet::new(),
        }
    }

    /// Fills the book from a listing without reporting anything (the engine lists instances
    /// itself at start), and notes the daemon's clock so the subscription misses nothing.
    pub async fn prime(&mut self) -> Result<(), String> {
        self.last_nano = daemon_now_nanos(&self.shared.docker).await.unwrap_or(0);
        for o in self.shared.observe_covered().await? {
            let Some((target, mode)) = self.classify(&o) else {
                continue;
            };
            let healthy = match mode {
                HealthMode::Docker => o.running && o.health_ok,
                HealthMode::Running => o.running,
                HealthMode::Probe => false,
            };
            if mode == HealthMode::Probe && o.running {
                self.prober.watch(&o, &target, &slot_of(&o.name, &o.labels));
            }
            self.shared.containers.insert(
                &o.id,
                Known {
                    target,
                    slot: slot_of(&o.name, &o.labels),
                    name: o.name.clone(),
                    labels: o.labels.clone(),
                    mode,
                    running: o.running,
                    paused: o.paused,
                    healthy,
                    started_at: o.started_at,
                },
            );
        }
        Ok(())
    }

    /// Runs until cancelled: subscribe, and on loss reconnect, replay and resync. From the
    /// loss until a resync succeeds the platform reports its events lost, so no decision is
    /// made on a fleet whose state firedrill does not know.
    pub async fn run(mut self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.follow(None).await {
                StreamEnd::Cancelled => break,
                StreamEnd::Lost(why) => {
                    tracing::warn!(endpoint = %self.shared.endpoint, "docker event stream lost: {why}; reconnecting");
                    self.shared.events_health.lost(
                        now_micros(),
                        format!(
                            "the event stream of {} was lost: {why}",
                            self.shared.endpoint
                        ),
                    );
                }
            }
            // Reconnect and catch up, until one catch-up succeeds.
            loop {
                // Wait for the engine to answer again.
                loop {
                    tokio::select! {
                        _ = self.cancel.cancelled() => { self.prober.stop_all(); return; }
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    if super::connect::ping(&self.shared.docker).await.is_ok() {
                        break;
                    }
                }
                // Replay what the daemon still buffers, with its exact times, up to now...
                let until = daemon_now_nanos(&self.shared.docker).await;
                if let Some(until) = until {
                    if let StreamEnd::Cancelled = self.follow(Some(until)).await {
                        self.prober.stop_all();
                        return;
                    }
                }
                // ...then catch up on whatever fell out of that buffer, marked uncertain.
                match self.resync(until.map(|n| n / 1_000)).await {
                    Ok(()) => {
                        if let Some(until) = until {
                            self.last_nano = self.last_nano.max(until);
                        }
                        break;
                    }
                    Err(why) => tracing::warn!("docker resync after stream loss failed: {why}"),
                }
            }
            backoff = Duration::from_millis(100);
            self.shared.events_health.live();
        }
        self.prober.stop_all();
    }

    /// Streams events since `last_nano` (until `until` when given) and handles each.
    async fn follow(&mut self, until: Option<i64>) -> StreamEnd {
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert("type".into(), vec!["container".into()]);
        let labels = self.shared.common_label_filters();
        if !labels.is_empty() {
            filters.insert("label".into(), labels);
        }
        let options = EventsOptions {
            since: (self.last_nano > 0).then(|| nanos_to_docker(self.last_nano)),
            until: until.map(nanos_to_docker),
            filters: Some(filters),
        };
        let mut stream = self.shared.docker.events(Some(options));
        loop {
            let next = tokio::select! {
                _ = self.cancel.cancelled() => return StreamEnd::Cancelled,
                next = stream.next() => next,
            };
            match next {
                Some(Ok(msg)) => self.handle(msg).await,
                Some(Err(e)) => return StreamEnd::Lost(e.to_string()),
                None if until.is_some() => return StreamEnd::Lost("replay done".into()),
                None => return StreamEnd::Lost("the engine closed the stream".into()),
            }
        }
    }

    /// Target and health mode of a container, or `None` when no target covers it or it is
    /// firedrill's own container.
    fn classify(&self, o: &Observed) -> Option<(String, HealthMode)> {
        let facts = ContainerFacts {
            id: &o.id,
            name: &o.name,
            image: &o.image,
            labels: &o.labels,
        };
        if self.shared.own.is(&o.id) {
            return None;
        }
        let spec = self.shared.targets.iter().find(|t| t.covers(&facts))?;
        Some((
            spec.name.clone(),
            health_mode(&spec.health, o.has_healthcheck),
        ))
    }

    async fn handle(&mut self, msg: EventMessage) {
        let Some(actor) = msg.actor else { return };
        let Some(id) = actor.id else { return };
        let action = msg.action.unwrap_or_default();
        let Some(nano) = msg.time_nano.or(msg.time.map(|s| s * 1_000_000_000)) else {
            return;
        };
        // Drop what a replay repeats.
        let key = (id.clone(), action.clone());
        if nano < self.last_nano || (nano == self.last_nano && self.seen_at_last.contains(&key)) {
            return;
        }
        if nano > self.last_nano {
            self.last_nano = nano;
            self.seen_at_last.clear();
        }
        self.seen_at_last.insert(key);
        let at: Micros = nano / 1_000;

        if !self.shared.containers.contains(&id) {
            let attrs = actor.attributes.unwrap_or_default();
            let facts = ContainerFacts {
                id: &id,
                name: attrs.get("name").map(String::as_str).unwrap_or_default(),
                image: attrs.get("image").map(String::as_str).unwrap_or_default(),
                labels: &attrs,
            };
            if self.shared.own.is(&id) {
                return;
            }
            let Some(spec) = self.shared.targets.iter().find(|t| t.covers(&facts)) else {
                return;
            };
            // The health mode depends on whether the container has a HEALTHCHECK, which only
            // an inspect tells; a container already destroyed gets `running`, and keeps the
            // event's attributes (its labels, with name and image among them) as its labels.
            let inspected = self.shared.inspect(&id).await.ok();
            let has_healthcheck = inspected.as_ref().is_some_and(|o| o.has_healthcheck);
            let slot = self
                .shared
                .claim_slot(&spec.name, &slot_of(facts.name, &attrs), &id);
            let known = Known {
                target: spec.name.clone(),
                slot,
                name: facts.name.to_string(),
                labels: inspected.map_or_else(|| attrs.clone(), |o| o.labels),
                mode: health_mode(&spec.health, has_healthcheck),
                running: false,
                paused: false,
                healthy: false,
                started_at: None,
            };
            self.shared.containers.insert(&id, known);
        }
        if action == "start" && self.shared.containers.get(&id).is_some_and(|k| k.running) {
            self.missed_death(&id, at).await;
        }
        let transitions = self.apply(&id, &action, at).await;
        self.emit(&id, transitions, false);
        if action == "destroy" {
            self.shared.containers.remove(&id);
        }
    }

    /// A `start` of a container the book has running: its death went unseen, as when the
    /// engine itself died with it and restarted it on coming back. Reported, flagged
    /// uncertain, at the engine's FinishedAt when that is no later than the start, so the
    /// recovery of a kill in flight still gets its `down` mark.
    async fn missed_death(&mut self, id: &str, start: Micros) {
        let finished = self
            .shared
            .inspect(id)
            .await
            .ok()
            .and_then(|o| o.finished_at);
        let at = finished.filter(|f| *f <= start).unwrap_or(start);
        self.shared.book.take_kill_expectation(id);
        self.shared
            .containers
            .update(id, |k| (k.running, k.healthy) = (false, false));
        let detail = "start without a die: the death was not seen".to_string();
        let died = Transition {
            at,
            kind: EventKind::Died,
            detail,
        };
        self.emit(id, vec![died], true);
    }

    /// Updates the book for one daemon event and returns what to report.
    async fn apply(&mut self, id: &str, action: &str, at: Micros) -> Vec<Transition> {
        let Some(k) = self.shared.containers.get(id) else {
            return Vec::new();
        };
        let t = |kind, detail: &str| Transition {
            at,
            kind,
            detail: detail.to_string(),
        };
        let mut out = Vec::new();
        let mut now = k.clone();
        match action {
            "create" => out.push(t(EventKind::Created, "create")),
            "start" | "unpause" => {
                now.running = true;
                now.paused = false;
                self.shared.refill_in_place(id);
                // The book keeps the engine's StartedAt, not the event's time (they differ by
                // a few ms), so a later resync can tell a missed restart from this start.
                if action == "start" {
                    now.started_at = match self.shared.inspect(id).await {
                        Ok(o) if o.running || o.paused => o.started_at.or(Some(at)),
                        _ => Some(at),
                    };
                }
                out.push(t(EventKind::Started, action));
                let healthy = match k.mode {
                    HealthMode::Running => true,
                    // A frozen container keeps its last health status; when it thaws still
                    // healthy, no health_status event will come to say so.
                    HealthMode::Docker if action == "unpause" => {
                        self.shared.inspect(id).await.is_ok_and(|o| o.health_ok)
                    }
                    _ => false,
                };
                if healthy {
                    now.healthy = true;
                    out.push(t(
                        EventKind::Healthy,
                        &format!("{action}; healthy by {:?}", k.mode),
                    ));
                } else {
                    now.healthy = false;
                }
                if k.mode == HealthMode::Probe {
                    if let Ok(o) = self.shared.inspect(id).await {
                        self.prober.watch(&o, &k.target, &k.slot);
                    }
                }
            }
            "die" | "pause" => {
                if action == "die" {
                    // The kill event comes before the die; a mark still open here belongs to
                    // an action whose kill event never came, and must not claim a later one.
                    self.shared.book.take_kill_expectation(id);
                }
                now.running = false;
                now.paused = action == "pause";
                now.healthy = false;
                self.prober.unwatch(id);
                let detail = if action == "pause" { "paused" } else { "die" };
                out.push(t(EventKind::Died, detail));
            }
            "kill" if self.shared.book.take_kill_expectation(id) => {
                out.push(t(EventKind::Killed, "kill event for firedrill's action"));
            }
            "destroy" => {
                now.running = false;
                now.paused = false;
                now.healthy = false;
                self.prober.unwatch(id);
                out.push(t(EventKind::Removed, "destroy"));
            }
            "health_status: healthy" if k.mode == HealthMode::Docker => {
                now.healthy = true;
                out.push(t(EventKind::Healthy, "health_status: healthy"));
            }
            "health_status: unhealthy" if k.mode == HealthMode::Docker => {
                now.healthy = false;
                out.push(t(EventKind::Unhealthy, "health_status: unhealthy"));
            }
            _ => {}
        }
        self.shared.containers.insert(id, now);
        out
    }

    fn emit(&self, id: &str, transitions: Vec<Transition>, uncertain: bool) {
        let Some(k) = self.shared.containers.get(id) else {
            return;
        };
        for t in transitions {
            let event = PlatformEvent {
                at: t.at,
                kind: t.kind,
                instance: id.to_string(),
                target: k.target.clone(),
                slot: k.slot.clone(),
                uncertain,
                detail: Some(t.detail),
                node_kill: None,
            };
            if self.tx.send(event).is_err() {
                // The engine stopped listening; nothing left to report to.
                self.cancel.cancel();
                return;
            }
        }
    }

    /// Compares the book with a fresh inspect of every covered container and reports the
    /// differences as uncertain events.
    /// Changes the engine stamped at or after `cutoff` (µs) are left alone: the live
    /// subscription, which resumes at the cutoff, delivers them with their exact times.
    async fn resync(&mut self, cutoff: Option<Micros>) -> Result<(), String> {
        let observed = self.shared.observe_covered().await?;
        let mut present = HashSet::new();
        for o in observed {
            let Some((target, mode)) = self.classify(&o) else {
                continue;
            };
            present.insert(o.id.clone());
            let before = self.shared.containers.get(&o.id);
            let slot = match &before {
                Some(k) => k.slot.clone(),
                None => self
                    .shared
                    .claim_slot(&target, &slot_of(&o.name, &o.labels), &o.id),
            };
            let mode = before.as_ref().map_or(mode, |k| k.mode);
            let transitions = resync_events(before.as_ref(), Some(&o), mode);
            if cutoff.is_some_and(|c| transitions.iter().any(|t| t.at >= c)) {
                // Some of this container's changes came after the cutoff; the live stream will
                // bring them, and the book must stay as it was for them to apply.
                continue;
            }
            let healthy = match mode {
                HealthMode::Docker => o.running && o.health_ok,
                HealthMode::Running => o.running,
                HealthMode::Probe => before.as_ref().is_some_and(|k| k.healthy) && o.running,
            };
            let (target, slot) = before
                .as_ref()
                .map_or((target, slot), |k| (k.target.clone(), k.slot.clone()));
            if mode == HealthMode::Probe {
                if o.running {
                    self.prober.watch(&o, &target, &slot);
                } else {
                    self.prober.unwatch(&o.id);
                }
            }
            self.shared.containers.insert(
                &o.id,
                Known {
                    target,
                    slot,
                    name: o.name.clone(),
                    labels: o.labels.clone(),
                    mode,
                    running: o.running,
                    paused: o.paused,
                    healthy,
                    started_at: o.started_at,
                },
            );
            self.emit(&o.id, transitions, true);
        }
        let gone = self.shared.containers.ids();
        for id in gone.into_iter().filter(|id| !present.contains(id)) {
            let before = self.shared.containers.get(&id);
            let transitions = resync_events(before.as_ref(), None, HealthMode::Running);
            self.prober.unwatch(&id);
            self.emit(&id, transitions, true);
            self.shared.containers.remove(&id);
        }
        Ok(())
    }
}

/// The health mode a target's check gives a container.
pub fn health_mode(check: &crate::scenario::HealthCheck, has_healthcheck: bool) -> HealthMode {
    use crate::scenario::HealthKind;
    match check.kind() {
        Some(HealthKind::Http { .. } | HealthKind::Tcp { .. }) => HealthMode::Probe,
        Some(HealthKind::Running) => HealthMode::Running,
        Some(HealthKind::Platform) | None if has_healthcheck => HealthMode::Docker,
        Some(HealthKind::Platform) | None => HealthMode::Running,
    }
}

/// The daemon's clock now, in nanoseconds, from `GET /info`.
async fn daemon_now_nanos(docker: &Docker) -> Option<i64> {
    let info = docker.info().await.ok()?;
    let t = chrono::DateTime::parse_from_rfc3339(info.system_time.as_deref()?).ok()?;
    t.timestamp_nanos_opt()
}

/// Docker's `since`/`until` form: `seconds.nanoseconds`.
fn nanos_to_docker(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{HealthCheck, HealthSource, TcpCheck};

    #[test]
    fn since_is_written_as_seconds_dot_nanoseconds() {
        assert_eq!(
            nanos_to_docker(1_700_000_000_000_000_001),
            "1700000000.000000001"
        );
    }

    #[test]
    fn healthcheck_is_used_where_the_container_has_one() {
        let default = HealthCheck::default();
        assert_eq!(health_mode(&default, true), HealthMode::Docker);
        assert_eq!(health_mode(&default, false), HealthMode::Running);
        let running = HealthCheck {
            from: Some(HealthSource::Running),
            ..HealthCheck::default()
        };
        assert_eq!(health_mode(&running, true), HealthMode::Running);
        let tcp = HealthCheck {
            tcp: Some(TcpCheck { port: Some(80) }),
            ..HealthCheck::default()
        };
        assert_eq!(health_mode(&tcp, true), HealthMode::Probe);
    }
}
