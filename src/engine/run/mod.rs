//! One run, start to verdict: start the platform, take the baseline, then loop over platform
//! events, due decisions, the platform's answers to actions, drift captures, probe results,
//! finished triggers and a 100 ms tick until the schedule is done and every recovery has ended.
//! Everything is journalled as it happens; the platform is always shut down, even when the run
//! fails or is interrupted.
//!
//! The run takes its platform and its clock from the caller, so a fake platform on a virtual
//! clock drives this very loop in the tests beside it.
//!
//! - [`act`]: a due decision, decided, and its actions dispatched and answered;
//! - [`drift`]: drift evidence of victims and replacements, captured beside their recoveries;
//! - [`ledger`]: the journal and the counters;
//! - [`timetable`]: when the next decision is due, windows included;
//! - [`watch`]: probes, stop conditions, `--max-runtime`, Ctrl-C.

mod act;
mod drift;
mod ledger;
mod timetable;
mod watch;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use self::act::Acting;
use self::drift::Capturing;
use self::ledger::Ledger;
use self::timetable::Timetable;
use self::watch::Watch;
use crate::engine::cadence::Cadence;
use crate::engine::capacity::Capacity;
use crate::engine::clock::Clock;
use crate::engine::plan;
use crate::engine::probes::{self, Prober};
use crate::engine::recovery::Recoveries;
use crate::engine::status::{Snapshot, StatusLine};
use crate::journal::{Entry, Recorder, RunStarted, RunStatus, TriggerEntry};
use crate::platform::{Platform, PlatformError, PlatformEvent};
use crate::scenario::Scenario;
use crate::vocabulary::rng::{SeededRng, Stream};
use crate::vocabulary::time::Micros;
use crate::vocabulary::units::{format_micros, HumanDuration};
use crate::vocabulary::window::Windows;

/// How often timeouts are checked and the status line redrawn.
const TICK: Duration = Duration::from_millis(100);

/// What one run is asked to do beyond its scenario.
#[derive(Debug, Clone, Default)]
pub struct RunSetup {
    /// The seed every random choice comes from.
    pub seed: u64,
    /// Overrides `schedule.duration`.
    pub duration: Option<Duration>,
    /// Kill at any time, whatever `schedule.windows` says (a game day run by hand).
    pub ignore_windows: bool,
    /// Hard stop: the run ends this long after it started, whatever is in flight.
    pub max_runtime: Option<Duration>,
}

/// What a finished run left behind besides its journal, which is the record of everything
/// else: the report is read back from the file, not kept in memory through the run.
#[derive(Debug)]
pub struct RunOutput {
    /// How the run ended.
    pub status: RunStatus,
}

/// Why a run could not finish with a journal.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The platform could not be started or queried at the start.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// A steady-state probe could not be prepared.
    #[error("{0}")]
    Probe(String),
    /// Ctrl-C came while the platform was starting; nothing was killed.
    #[error("interrupted while the platform was starting")]
    InterruptedWhileStarting,
    /// The journal could not be written; the run stopped at once.
    #[error("cannot write {path}: {source}")]
    Journal {
        /// The journal's path.
        path: std::path::PathBuf,
        /// The write error.
        source: std::io::Error,
    },
}

/// Ctrl-C (or SIGTERM) as the run sees it. The first stops scheduling and undoes pauses at
/// once, then gives recoveries in flight a bounded time; the second ends the run without
/// waiting, still undoing pauses (within [`UNDO_BOUND`]) and closing the journal.
#[derive(Debug, Clone, Default)]
pub struct Interrupts {
    /// Fired by the first interrupt.
    pub first: CancellationToken,
    /// Fired by the second.
    pub second: CancellationToken,
}

/// How long the platform may take to undo pauses and stop once the run is over, so an engine
/// that no longer answers cannot hold the journal's last line and the report hostage.
pub const UNDO_BOUND: Duration = Duration::from_secs(5);

/// The seed a run uses: the flag, then the scenario, then a fresh random one.
pub fn choose_seed(flag: Option<u64>, scenario: Option<u64>) -> u64 {
    flag.or(scenario).unwrap_or_else(rand::random)
}

/// Runs `scenario` against `platform`, journalling into `journal`, with marks of its own from
/// `clock`. `stop` ends the run early (see [`Interrupts`]); the journal is closed either way.
pub async fn run(
    scenario: &Scenario,
    platform: &dyn Platform,
    setup: &RunSetup,
    journal: Recorder,
    clock: &dyn Clock,
    stop: &Interrupts,
) -> Result<RunOutput, RunError> {
    // Probes are prepared before anything is touched, so a bad one costs nothing.
    let probers = scenario
        .probes
        .iter()
        .map(Prober::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::Probe)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let platform_stop = CancellationToken::new();
    let started = tokio::select! {
        r = platform.start(tx, platform_stop.clone()) => r.map_err(RunError::Platform),
        _ = stop.first.cancelled() => Err(RunError::InterruptedWhileStarting),
    };
    let result = match started {
        Ok(()) => {
            let mut run = Run {
                scenario,
                setup,
                platform,
                clock,
                ledger: Ledger::new(journal, platform.kind()),
                events: rx,
                capacity: Capacity::default(),
                recoveries: Recoveries::new(
                    scenario.recovery.timeout.get(),
                    scenario.recovery.settle.get(),
                ),
                selection: SeededRng::new(setup.seed, Stream::Selection),
                triggers: JoinSet::new(),
                acting: FuturesUnordered::new(),
                on_the_way: BTreeMap::new(),
                capturing: FuturesUnordered::new(),
                watch: Watch::default(),
            };
            run.execute(probers, stop).await
        }
        Err(e) => Err(e),
    };
    platform_stop.cancel();
    match tokio::time::timeout(UNDO_BOUND, platform.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!("platform shutdown: {e}"),
        Err(_) => warn!(
            "platform shutdown took longer than {}; left as it was",
            HumanDuration(UNDO_BOUND)
        ),
    }
    result
}

/// The state of one run in progress.
struct Run<'a> {
    scenario: &'a Scenario,
    setup: &'a RunSetup,
    platform: &'a dyn Platform,
    clock: &'a dyn Clock,
    ledger: Ledger,
    events: mpsc::UnboundedReceiver<PlatformEvent>,
    capacity: Capacity,
    recoveries: Recoveries,
    /// The seeded stream victims are drawn from.
    selection: SeededRng,
    triggers: JoinSet<TriggerEntry>,
    /// Actions sent to the platform and not yet answered.
    acting: FuturesUnordered<Acting<'a>>,
    /// The same actions by their recovery's provisional number: the decision and the victim.
    on_the_way: BTreeMap<u32, (u32, String)>,
    /// Drift evidence being captured.
    capturing: FuturesUnordered<Capturing<'a>>,
    watch: Watch,
}

impl<'a> Run<'a> {
    /// The schedule windows this run honours.
    fn windows(&self) -> Option<&'a Windows> {
        let scenario: &'a Scenario = self.scenario;
        match (&scenario.schedule.windows, self.setup.ignore_windows) {
            (Some(w), false) => Some(w),
            _ => None,
        }
    }

    /// Lists every target, settles each one's desired capacity, and journals the first line.
    async fn baseline(&mut self) -> Result<Micros, RunError> {
        let scenario = self.scenario;
        let (initial, desired) = plan::baseline(scenario, self.platform).await?;
        let platform_facts = self.platform.facts().await.map(Box::new);
        let at = self.clock.now();
        self.capacity = Capacity::new(desired.clone(), &initial);
        let min_healthy_floor = scenario
            .policy
            .min_healthy
            .map(|m| {
                desired
                    .iter()
                    .map(|(target, want)| (target.clone(), m.resolve_ceil(*want)))
                    .collect()
            })
            .unwrap_or_default();
        self.ledger.record(Entry::RunStarted(RunStarted {
            at,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.name.clone(),
            scenario_path: scenario.path.display().to_string(),
            scenario_sha256: scenario.sha256.clone(),
            seed: self.setup.seed,
            platform: self.platform.kind().to_string(),
            desired: desired.clone(),
            slos: scenario.slos.iter().map(|s| s.text.clone()).collect(),
            recovery_timeout_us: scenario.recovery.timeout.as_micros(),
            min_healthy_floor,
            initial,
            platform_facts,
            probes: probes::describe(&scenario.probes),
            abort_when: scenario.abort_when.iter().map(|c| c.text.clone()).collect(),
            drift: scenario.recovery.drift,
        }));
        for (target, want) in desired {
            let healthy = self.capacity.healthy(&target);
            info!("target {target}: {healthy}/{want} healthy");
            self.ledger.record(Entry::Capacity {
                at,
                target,
                healthy,
                desired: want,
            });
        }
        Ok(at)
    }

    /// Whether the run is done: nothing more to decide, and nothing left to follow.
    fn is_done(&self, timetable: &Timetable<'_>) -> bool {
        self.ledger.write_error.is_some()
            || (!self.scheduling(timetable)
                && self.recoveries.is_idle()
                && self.acting.is_empty()
                && self.capturing.is_empty()
                && self.triggers.is_empty())
    }

    /// Whether decisions are still to come.
    fn scheduling(&self, timetable: &Timetable<'_>) -> bool {
        let done_killing = self
            .scenario
            .schedule
            .max_kills
            .is_some_and(|m| self.kills_made_or_on_their_way() >= m);
        timetable.next().is_some() && !done_killing && self.watch.stopping.is_none()
    }

    async fn execute(
        &mut self,
        probers: Vec<Prober>,
        stop: &Interrupts,
    ) -> Result<RunOutput, RunError> {
        self.baseline().await?;
        // Probes start before the first decision, so the report has a baseline to compare
        // each kill's window against.
        let (probe_tx, mut probe_rx) = mpsc::unbounded_channel();
        let probe_stop = CancellationToken::new();
        let mut probe_tasks = probes::start(probers, probe_tx, probe_stop.clone());
        let started = Instant::now();
        let cadence = Cadence::new(
            &self.scenario.schedule,
            self.setup.duration,
            self.setup.seed,
        );
        let mut timetable = Timetable::new(cadence, self.windows());
        timetable.follow_windows(self.clock.utc());
        let mut ticker = tokio::time::interval(TICK);
        let status_line = StatusLine::new();

        while !self.is_done(&timetable) {
            let scheduling = self.scheduling(&timetable);
            tokio::select! {
                _ = stop.first.cancelled(), if !self.watch.interrupted => self.interrupt().await,
                _ = stop.second.cancelled() => {
                    self.interrupt_again();
                    break;
                }
                Some(ev) = self.events.recv() => self.on_event(ev),
                Some(acted) = self.acting.next(), if !self.acting.is_empty() => {
                    self.on_acted(acted);
                }
                Some(captured) = self.capturing.next(), if !self.capturing.is_empty() => {
                    self.on_captured(captured);
                }
                Some(result) = probe_rx.recv() => {
                    self.on_probe(result);
                    self.check_abort();
                }
                _ = tokio::time::sleep_until(timetable.due()),
                    if scheduling && !timetable.waiting_for_window() => {
                    // The windows may have closed since the last tick; then the decision
                    // waits for the next opening instead.
                    timetable.follow_windows(self.clock.utc());
                    if !timetable.waiting_for_window() {
                        self.decide_all(timetable.next().unwrap_or_default()).await;
                        timetable.advance();
                    }
                }
                Some(done) = self.triggers.join_next(), if !self.triggers.is_empty() => {
                    if let Ok(entry) = done {
                        self.on_trigger(entry);
                    }
                }
                _ = ticker.tick() => {
                    self.on_tick(&mut timetable);
                    if self.past_max_runtime(started) || self.watch.drain_over() {
                        break;
                    }
                    self.draw_status(&status_line, &timetable, started, scheduling);
                }
            }
        }
        status_line.clear();
        probe_stop.cancel();
        while probe_tasks.join_next().await.is_some() {}
        // Anything still buffered happened before the end; keep it in the record.
        while let Ok(ev) = self.events.try_recv() {
            self.on_event(ev);
        }
        while let Ok(result) = probe_rx.try_recv() {
            self.on_probe(result);
        }
        self.finish().await
    }

    /// Gives up on late recoveries, checks the stop conditions and follows the windows.
    fn on_tick(&mut self, timetable: &mut Timetable<'_>) {
        let found = self.recoveries.tick(Instant::now(), self.clock.now());
        self.ledger.record_findings(found);
        self.follow_events();
        self.check_abort();
        timetable.follow_windows(self.clock.utc());
    }

    fn draw_status(
        &self,
        status_line: &StatusLine,
        timetable: &Timetable<'_>,
        started: Instant,
        scheduling: bool,
    ) {
        let (healthy, desired) = self.capacity.totals();
        status_line.draw(&Snapshot {
            kills: self.ledger.kills,
            max_kills: self.scenario.schedule.max_kills,
            in_flight: self.recoveries.in_flight(),
            healthy,
            desired,
            next_in: scheduling.then(|| timetable.due().saturating_duration_since(Instant::now())),
            elapsed: started.elapsed(),
            // A lost event stream matters more than a closed window: it is why nothing happens.
            note: self
                .events_note()
                .or(if scheduling { self.window_note() } else { None }),
        });
    }

    fn on_trigger(&mut self, entry: TriggerEntry) {
        info!(
            "trigger for kill #{} exited with {:?} after {}",
            entry.kill_id,
            entry.exit_code,
            format_micros(entry.duration_us)
        );
        self.ledger.record(Entry::Trigger(entry));
    }

    fn on_event(&mut self, ev: PlatformEvent) {
        debug!(?ev, "platform event");
        self.ledger.record(Entry::Event(ev.clone()));
        if let Some(healthy) = self.capacity.apply(&ev) {
            let desired = self.capacity.desired(&ev.target);
            self.ledger.record(Entry::Capacity {
                at: ev.at,
                target: ev.target.clone(),
                healthy,
                desired,
            });
        }
        let found = self.recoveries.on_event(&ev, &self.capacity);
        self.record_findings(found);
    }

    /// Gives actions still on their way (a second Ctrl-C or `--max-runtime` ended the loop) a
    /// bounded time to be answered, so a kill that was carried out is journalled as one; any still unanswered
    /// after [`UNDO_BOUND`] is journalled as failed, saying it may have happened.
    async fn await_actions(&mut self) {
        let deadline = Instant::now() + UNDO_BOUND;
        while !self.acting.is_empty() {
            tokio::select! {
                Some(acted) = self.acting.next() => self.on_acted(acted),
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        self.acting = FuturesUnordered::new();
        for (provisional, (seq, victim)) in std::mem::take(&mut self.on_the_way) {
            self.recoveries.cancel(provisional);
            self.ledger.record(Entry::KillFailed {
                seq,
                victim,
                at: self.clock.now(),
                error: format!(
                    "the run ended before the platform answered (after {}); the action may have been carried out",
                    HumanDuration(UNDO_BOUND)
                ),
            });
        }
    }

    /// Closes the record: what is still in flight is unrecovered, the platform's last facts,
    /// and the `run_ended` line.
    async fn finish(&mut self) -> Result<RunOutput, RunError> {
        self.await_actions().await;
        let leftover = self.recoveries.abandon(self.clock.now());
        self.ledger.record_findings(leftover);
        self.triggers.abort_all();
        let (status, reason) = match (&self.ledger.write_error, self.watch.stopping.take()) {
            (Some(e), _) => (
                RunStatus::Failed,
                Some(format!("journal write failed: {e}")),
            ),
            (None, Some(s)) => (s.status, Some(s.reason)),
            (None, None) => (RunStatus::Completed, None),
        };
        // Bounded: a platform that stopped answering must not keep the journal from closing.
        let facts = tokio::time::timeout(UNDO_BOUND, self.platform.facts())
            .await
            .unwrap_or_default();
        if let Some(facts) = facts {
            self.ledger.record(Entry::PlatformFacts {
                at: self.clock.now(),
                facts: Box::new(facts),
            });
        }
        self.ledger.record(Entry::RunEnded {
            at: self.clock.now(),
            status,
            reason,
        });
        if let Some(source) = self.ledger.write_error.take() {
            return Err(RunError::Journal {
                path: self.ledger.path().to_path_buf(),
                source,
            });
        }
        Ok(RunOutput { status })
    }
}
