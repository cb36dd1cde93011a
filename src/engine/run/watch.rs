//! What the run watches besides recoveries: steady-state probe results, the schedule windows,
//! the stop conditions and `--max-runtime`.

use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{Run, RunOptions};
use crate::engine::abort::{first_tripped, Observed};
use crate::journal::{Entry, ProbeEntry, RunStatus};
use crate::probe::Prober;
use crate::scenario::LoadedScenario;
use crate::vocabulary::stop::StopCondition;
use crate::vocabulary::time::now_micros;
use crate::vocabulary::window::Windows;
use crate::{Failure, Outcome};

/// How long an aborted run waits at most for recoveries in flight (never longer than
/// `recovery.timeout`, after which they count as unrecovered anyway).
pub(super) const ABORT_DRAIN: Duration = Duration::from_secs(30);

/// What a run watches besides its recoveries, prepared before anything is touched so a bad
/// probe or condition costs nothing.
pub(super) struct Watches {
    pub probers: Vec<Prober>,
    pub conditions: Vec<StopCondition>,
    pub windows: Option<Windows>,
}

pub(super) fn prepare_watches(
    loaded: &LoadedScenario,
    opts: &RunOptions,
) -> Result<Watches, Failure> {
    let scenario = &loaded.scenario;
    let bad = |e: String| Failure::new(Outcome::BadInput, anyhow::anyhow!(e));
    let probers = scenario
        .probes
        .iter()
        .map(|p| Prober::new(p).map_err(|e| format!("probe {:?}: {e}", p.name)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let conditions = scenario
        .abort_when
        .iter()
        .map(|c| StopCondition::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let windows = match (&scenario.schedule.windows, opts.ignore_windows) {
        (Some(w), false) => Some(Windows::parse(w).map_err(bad)?),
        _ => None,
    };
    Ok(Watches {
        probers,
        conditions,
        windows,
    })
}

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

impl Run<'_> {
    /// Journals a probe result and logs the start and end of each failure streak.
    pub(super) fn on_probe(&mut self, entry: ProbeEntry) {
        self.tally.add(&entry);
        let streak = self.failing.entry(entry.probe.clone()).or_insert(0);
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
        self.record(Entry::Probe(entry));
    }

    /// Whether every schedule window is closed now (never, without windows).
    pub(super) fn windows_closed(&self) -> bool {
        self.windows
            .as_ref()
            .is_some_and(|w| !w.is_open(chrono::Utc::now()))
    }

    /// The status line's note while the windows are closed.
    pub(super) fn window_note(&self) -> Option<String> {
        let w = self.windows.as_ref()?;
        let now = chrono::Utc::now();
        (!w.is_open(now)).then(|| w.describe_next_open(now))
    }

    /// Checks the stop conditions; the first that holds stops the run.
    pub(super) fn check_abort(&mut self) {
        if self.stopping.is_some() || self.conditions.is_empty() {
            return;
        }
        let (healthy, desired) = self.capacity.totals();
        let now = Observed {
            at: now_micros(),
            healthy,
            desired,
            unrecovered: self.unrecovered,
            in_flight: self.recoveries.in_flight(),
            probes: &self.tally,
        };
        let Some((condition, measured)) = first_tripped(&self.conditions, &now) else {
            return;
        };
        let condition = condition.text.clone();
        let drain = ABORT_DRAIN.min(self.loaded.scenario.recovery.timeout.get());
        warn!(
            "abort_when `{condition}` fired (measured {measured}): no more kills; waiting up to \
             {}s for recoveries in flight",
            drain.as_secs()
        );
        self.record(Entry::AbortTriggered {
            at: now.at,
            condition: condition.clone(),
            measured: measured.clone(),
        });
        self.stopping = Some(Stopping {
            since: Instant::now(),
            drain,
            status: RunStatus::Aborted,
            reason: format!("abort_when `{condition}` fired: measured {measured}"),
        });
    }

    /// Stops the run at once when `--max-runtime` has passed; true when it has.
    pub(super) fn past_max_runtime(&mut self, started: Instant) -> bool {
        let Some(max) = self.opts.max_runtime else {
            return false;
        };
        if started.elapsed() < max {
            return false;
        }
        if self.stopping.is_none() {
            warn!(
                "--max-runtime {} reached: stopping now",
                crate::vocabulary::units::HumanDuration(max)
            );
            self.stopping = Some(Stopping {
                since: Instant::now(),
                drain: Duration::ZERO,
                status: RunStatus::Stopped,
                reason: format!(
                    "--max-runtime {} reached",
                    crate::vocabulary::units::HumanDuration(max)
                ),
            });
        }
        true
    }
}
