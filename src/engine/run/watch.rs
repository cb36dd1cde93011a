//! What the run watches besides recoveries: steady-state probe results, the schedule windows,
//! the stop conditions, `--max-runtime` and Ctrl-C, and so when it stops scheduling kills.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use super::Run;
use super::UNDO_BOUND;
use crate::engine::abort::{first_tripped, Observed, ProbeTally};
use crate::journal::{Entry, ProbeEntry, RunStatus};
use crate::platform::EventsLost;
use crate::vocabulary::time::micros_of;
use crate::vocabulary::units::{format_micros, HumanDuration};

/// How long an interrupted run waits for recoveries already in flight.
pub(super) const INTERRUPT_DRAIN: Duration = Duration::from_secs(10);

/// How long an aborted run waits at most for recoveries in flight (never longer than
/// `recovery.timeout`, after which they count as unrecovered anyway).
pub(super) const ABORT_DRAIN: Duration = Duration::from_secs(30);

/// Why and since when the run stopped scheduling kills.
#[derive(Debug, Clone)]
pub(super) struct Stopping {
    /// When scheduling stopped.
    pub since: Instant,
    /// How long recoveries in flight may still take.
    pub drain: Duration,
    /// How the run will end.
    pub status: RunStatus,
    /// Why, for people and the journal.
    pub reason: String,
}

/// The watches' state.
#[derive(Debug, Default)]
pub(super) struct Watch {
    /// Every probe result so far, for windowed stop conditions.
    pub tally: ProbeTally,
    /// Each probe's current run of failures, to log a streak's start and end once.
    failing: BTreeMap<String, u32>,
    /// Set once scheduling stops.
    pub stopping: Option<Stopping>,
    /// Set by the first interrupt.
    pub interrupted: bool,
    /// The platform's event stream outage in progress, as last journalled.
    pub events_lost: Option<EventsLost>,
}

impl Watch {
    /// Stops scheduling, unless already stopping for an earlier reason.
    pub fn stop(&mut self, drain: Duration, status: RunStatus, reason: String) {
        if self.stopping.is_none() {
            self.stopping = Some(Stopping {
                since: Instant::now(),
                drain,
                status,
                reason,
            });
        }
    }

    /// Whether the recoveries still in flight have had all the time stopping gives them.
    pub fn drain_over(&self) -> bool {
        self.stopping
            .as_ref()
            .is_some_and(|s| s.since.elapsed() >= s.drain)
    }
}

impl Run<'_> {
    /// Journals a probe result and logs the start and end of each failure streak.
    pub(super) fn on_probe(&mut self, entry: ProbeEntry) {
        self.watch.tally.add(&entry);
        let streak = self.watch.failing.entry(entry.probe.clone()).or_insert(0);
        match (&entry.error, *streak) {
            (Some(why), 0) => {
                warn!("probe {}: failing: {why}", entry.probe);
                *streak = 1;
            }
            (Some(_), n) => *streak = n + 1,
            (None, 0) => {}
            (None, n) => {
                info!(
                    "probe {}: answering again after {n} failure(s)",
                    entry.probe
                );
                *streak = 0;
            }
        }
        self.ledger.record(Entry::Probe(entry));
    }

    /// The status line's note while the platform's events are lost.
    pub(super) fn events_note(&self) -> Option<String> {
        let lost = self.watch.events_lost.as_ref()?;
        let for_us = u64::try_from(self.clock.now().saturating_sub(lost.since)).unwrap_or(0);
        Some(format!(
            "platform events lost for {}; no kill until they are back",
            format_micros(for_us)
        ))
    }

    /// The status line's note while every schedule window is closed.
    pub(super) fn window_note(&self) -> Option<String> {
        let w = self.windows()?;
        let now = self.clock.utc();
        (!w.is_open(now)).then(|| w.describe_next_open(now))
    }

    /// Checks the stop conditions; the first that holds stops the run.
    pub(super) fn check_abort(&mut self) {
        let conditions = &self.scenario.abort_when;
        if self.watch.stopping.is_some() || conditions.is_empty() {
            return;
        }
        let (healthy, desired) = self.capacity.totals();
        let now = Observed {
            at: self.clock.now(),
            healthy,
            desired,
            unrecovered: self.ledger.unrecovered,
            in_flight: self.recoveries.in_flight(),
            probes: &self.watch.tally,
        };
        let Some((condition, measured)) = first_tripped(conditions, &now) else {
            return;
        };
        let condition = condition.text.clone();
        let drain = ABORT_DRAIN.min(self.scenario.recovery.timeout.get());
        warn!(
            "abort_when `{condition}` fired (measured {measured}): no more kills; waiting up to \
             {} for recoveries in flight",
            HumanDuration(drain)
        );
        self.ledger.record(Entry::AbortTriggered {
            at: now.at,
            condition: condition.clone(),
            measured: measured.clone(),
        });
        self.watch.stop(
            drain,
            RunStatus::Aborted,
            format!("abort_when `{condition}` fired: measured {measured}"),
        );
    }

    /// Stops the run at once when `--max-runtime` has passed; true when it has.
    pub(super) fn past_max_runtime(&mut self, started: Instant) -> bool {
        let Some(max) = self.setup.max_runtime else {
            return false;
        };
        if started.elapsed() < max {
            return false;
        }
        if self.watch.stopping.is_none() {
            warn!("--max-runtime {} reached: stopping now", HumanDuration(max));
        }
        self.watch.stop(
            Duration::ZERO,
            RunStatus::Stopped,
            format!("--max-runtime {} reached", HumanDuration(max)),
        );
        true
    }

    /// Ctrl-C or SIGTERM: no more kills, pauses undone at once (a paused instance cannot
    /// recover until it is thawed); recoveries in flight get a bounded time.
    pub(super) async fn interrupt(&mut self) {
        self.watch.interrupted = true;
        info!(
            "interrupted: no more kills; undoing pauses and drains, then waiting up to {} for recoveries \
             in flight (interrupt again to stop waiting)",
            HumanDuration(INTERRUPT_DRAIN)
        );
        // A stop condition may have stopped scheduling already; the interrupt still ends the
        // run as interrupted, with the shorter of the two waits.
        let drain = self
            .watch
            .stopping
            .as_ref()
            .map_or(INTERRUPT_DRAIN, |s| s.drain.min(INTERRUPT_DRAIN));
        self.watch.stopping = None;
        self.watch.stop(
            drain,
            RunStatus::Interrupted,
            "interrupted by signal".to_string(),
        );
        match tokio::time::timeout(UNDO_BOUND, self.platform.undo()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!("undoing pauses and node actions: {e}"),
            Err(_) => warn!(
                "undoing pauses and node actions took longer than {}; trying again at shutdown",
                HumanDuration(UNDO_BOUND)
            ),
        }
    }

    /// A second Ctrl-C: stop waiting for recoveries; the run closes its journal now.
    pub(super) fn interrupt_again(&mut self) {
        warn!("interrupted again: no more waiting; undoing pauses and closing the journal");
        self.watch.stopping = None;
        self.watch.stop(
            Duration::ZERO,
            RunStatus::Interrupted,
            "interrupted twice by signal".to_string(),
        );
    }

    /// Follows the platform's event stream: journals its loss and its return, and ends the
    /// run (exit 3) when it stays lost longer than `recovery.timeout`, since by then no
    /// recovery in flight can be timed and the fleet's state is unknown.
    pub(super) fn follow_events(&mut self) {
        let now_lost = self.platform.events_lost();
        let was = self.watch.events_lost.as_ref().map(|w| w.since);
        // A different `since` means the stream came back and was lost again between two looks:
        // journal both, so neither outage is merged into the other.
        if let Some(since) = was.filter(|s| now_lost.as_ref().map(|n| n.since) != Some(*s)) {
            // Back no later than the new loss began, so the two outages do not overlap.
            let now = self.clock.now();
            let at = now_lost.as_ref().map_or(now, |n| n.since.min(now));
            info!(
                "platform events back after {}",
                format_micros(u64::try_from(at - since).unwrap_or(0))
            );
            self.ledger.record(Entry::EventsBack {
                at,
                lost_since: since,
            });
        }
        if let Some(lost) = now_lost.as_ref().filter(|n| Some(n.since) != was) {
            warn!(
                "platform events lost: {}; no kill until they are back",
                lost.reason
            );
            self.ledger.record(Entry::EventsLost {
                at: lost.since,
                reason: lost.reason.clone(),
            });
        }
        self.watch.events_lost = now_lost;
        let Some(lost) = &self.watch.events_lost else {
            return;
        };
        let bound = self.scenario.recovery.timeout.get();
        let for_us = self.clock.now().saturating_sub(lost.since);
        if for_us > micros_of(bound) as i64 && self.watch.stopping.is_none() {
            let reason = format!(
                "the platform's events were lost for longer than recovery.timeout ({}): {}",
                HumanDuration(bound),
                lost.reason
            );
            warn!("{reason}; ending the run");
            self.watch.stop(Duration::ZERO, RunStatus::Failed, reason);
        }
    }
}
