//! One run, start to verdict: start the platform, take the baseline, then loop over platform
//! events, scheduled decisions and a 100 ms tick until the schedule is done and every recovery
//! has ended. Everything is journalled as it happens; the platform is always shut down, even
//! when the run fails or is interrupted.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

mod decide;
mod findings;
mod watch;

use crate::engine::abort::ProbeTally;
use crate::engine::capacity::Capacity;
use crate::engine::recovery::Recoveries;
use crate::engine::scheduler::Clock;
use crate::engine::status::{Snapshot, StatusLine};
use crate::journal::{Entry, Recorder, RunStarted, RunStatus, TriggerEntry, JOURNAL_FILE};
use crate::platform::{self, now_micros, Micros, Platform, PlatformError, PlatformEvent};
use crate::probe::{self, Prober};
use crate::scenario::LoadedScenario;
use crate::vocabulary::rng::{SeededRng, Stream};
use crate::vocabulary::stop::StopCondition;
use crate::vocabulary::units::format_micros;
use crate::vocabulary::window::Windows;
use crate::{Failure, Outcome};
use watch::{prepare_watches, Watches};

/// How long an interrupted run waits for recoveries already in flight.
const INTERRUPT_DRAIN: Duration = Duration::from_secs(10);

/// How often timeouts are checked and the status line redrawn.
const TICK: Duration = Duration::from_millis(100);

/// Options that override the scenario for one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Overrides `schedule.duration`.
    pub duration: Option<Duration>,
    /// Kill at any time, whatever `schedule.windows` says (a game day run by hand).
    pub ignore_windows: bool,
    /// Hard stop: the run ends this long after it started, whatever is in flight.
    pub max_runtime: Option<Duration>,
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct RunOutput {
    /// The journal's entries.
    pub entries: Vec<Entry>,
    /// How the run ended.
    pub status: RunStatus,
}

/// The seed a run uses: the flag, then the scenario, then a fresh random one.
pub fn choose_seed(flag: Option<u64>, scenario: Option<u64>) -> u64 {
    flag.or(scenario).unwrap_or_else(rand::random)
}

/// Runs a scenario against its platform, journalling into `run_dir`. `stop` ends the run early
/// (Ctrl-C): scheduling stops, recoveries in flight get a bounded time, the journal is closed.
pub async fn run(
    loaded: &LoadedScenario,
    seed: u64,
    opts: &RunOptions,
    run_dir: &Path,
    stop: CancellationToken,
) -> Result<RunOutput, Failure> {
    let watches = prepare_watches(loaded, opts)?;
    let journal_path = run_dir.join(JOURNAL_FILE);
    let recorder = Recorder::create(&journal_path).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow::anyhow!("cannot create {}: {e}", journal_path.display()),
        )
    })?;
    let platform = platform::connect(&loaded.scenario, seed)
        .await
        .map_err(platform_failure)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let platform_stop = CancellationToken::new();

    let started = tokio::select! {
        r = platform.start(tx, platform_stop.clone()) => r.map_err(platform_failure),
        _ = stop.cancelled() => Err(Failure::new(
            Outcome::Interrupted,
            anyhow::anyhow!("interrupted while the platform was starting"),
        )),
    };
    let result = match started {
        Ok(()) => {
            let mut run = Run::new(loaded, seed, opts, &*platform, recorder, rx, watches);
            run.execute(stop).await
        }
        Err(e) => Err(e),
    };
    platform_stop.cancel();
    if let Err(e) = platform.shutdown().await {
        warn!("platform shutdown: {e}");
    }
    result
}

fn platform_failure(e: PlatformError) -> Failure {
    let outcome = match e {
        PlatformError::Unsupported { .. } => Outcome::BadInput,
        _ => Outcome::PlatformFailed,
    };
    Failure::new(outcome, e)
}

/// The state of one run in progress.
struct Run<'a> {
    loaded: &'a LoadedScenario,
    seed: u64,
    opts: &'a RunOptions,
    platform: &'a dyn Platform,
    recorder: Recorder,
    events: mpsc::UnboundedReceiver<PlatformEvent>,
    capacity: Capacity,
    recoveries: Recoveries,
    selection: SeededRng,
    kills: u32,
    seq: u32,
    triggers: JoinSet<TriggerEntry>,
    /// Each kill's mark, to say how long its recovery took when it ends.
    kill_marks: HashMap<u32, Micros>,
    write_error: Option<std::io::Error>,
    probers: Vec<Prober>,
    tally: ProbeTally,
    failing: BTreeMap<String, u32>,
    conditions: Vec<StopCondition>,
    windows: Option<Windows>,
    unrecovered: u32,
    stopping: Option<watch::Stopping>,
}

impl<'a> Run<'a> {
    fn new(
        loaded: &'a LoadedScenario,
        seed: u64,
        opts: &'a RunOptions,
        platform: &'a dyn Platform,
        recorder: Recorder,
        events: mpsc::UnboundedReceiver<PlatformEvent>,
        watches: Watches,
    ) -> Run<'a> {
        let recovery = &loaded.scenario.recovery;
        Run {
            loaded,
            seed,
            opts,
            platform,
            recorder,
            events,
            capacity: Capacity::default(),
            recoveries: Recoveries::new(recovery.timeout.get(), recovery.settle.get()),
            selection: SeededRng::new(seed, Stream::Selection),
            kills: 0,
            seq: 0,
            triggers: JoinSet::new(),
            kill_marks: HashMap::new(),
            write_error: None,
            probers: watches.probers,
            tally: ProbeTally::default(),
            failing: BTreeMap::new(),
            conditions: watches.conditions,
            windows: watches.windows,
            unrecovered: 0,
            stopping: None,
        }
    }

    fn record(&mut self, entry: Entry) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(e) = self.recorder.record(entry) {
            warn!("cannot write {}: {e}", self.recorder.path().display());
            self.write_error = Some(e);
        }
    }

    async fn baseline(&mut self) -> Result<Micros, Failure> {
        let scenario = &self.loaded.scenario;
        let mut initial = Vec::new();
        let mut desired = BTreeMap::new();
        for target in &scenario.targets {
            let instances = self
                .platform
                .instances(&target.name)
                .await
                .map_err(platform_failure)?;
            let known = self
                .platform
                .desired_capacity(&target.name)
                .await
                .map_err(platform_failure)?;
            let healthy = instances.iter().filter(|i| i.healthy).count() as u32;
            let want = target.capacity.or(known).unwrap_or(healthy);
            if healthy < want {
                warn!(
                    "target {}: only {healthy} of {want} instances are healthy at the start",
                    target.name
                );
            }
            desired.insert(target.name.clone(), want);
            initial.extend(instances);
        }
        let platform_facts = self.platform.facts().await;
        let at = now_micros();
        self.capacity = Capacity::new(desired.clone(), &initial);
        self.record(Entry::RunStarted(RunStarted {
            at,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.name.clone(),
            scenario_path: self.loaded.path.display().to_string(),
            scenario_sha256: self.loaded.sha256.clone(),
            seed: self.seed,
            platform: self.platform.kind().to_string(),
            desired: desired.clone(),
            slos: scenario.slos.clone(),
            recovery_timeout_us: scenario.recovery.timeout.as_micros(),
            min_healthy_floor: scenario
                .policy
                .min_healthy
                .map(|m| {
                    desired
                        .iter()
                        .map(|(target, want)| (target.clone(), m.resolve_ceil(*want)))
                        .collect()
                })
                .unwrap_or_default(),
            initial,
            platform_facts,
            probes: probe::describe(&scenario.probes),
            abort_when: scenario.abort_when.clone(),
        }));
        for (target, want) in desired {
            let healthy = self.capacity.healthy(&target);
            info!("target {target}: {healthy}/{want} healthy");
            self.record(Entry::Capacity {
                at,
                target,
                healthy,
                desired: want,
            });
        }
        Ok(at)
    }

    async fn execute(&mut self, stop: CancellationToken) -> Result<RunOutput, Failure> {
        self.baseline().await?;
        // Probes start before the first decision, so the report has a baseline to compare
        // each kill's window against.
        let (probe_tx, mut probe_rx) = mpsc::unbounded_channel();
        let probe_stop = CancellationToken::new();
        let mut probe_tasks = probe::start(
            std::mem::take(&mut self.probers),
            probe_tx,
            probe_stop.clone(),
        );
        let scenario = &self.loaded.scenario;
        let started = Instant::now();
        // The schedule's clock: offsets count from t0, which moves on while windows are closed.
        let mut t0 = tokio::time::Instant::now();
        let mut clock = Clock::new(&scenario.schedule, self.opts.duration, self.seed);
        let max_kills = scenario.schedule.max_kills;
        let mut next = clock.next_decision();
        let mut ticker = tokio::time::interval(TICK);
        let status_line = StatusLine::new();
        let mut closed_since = self.update_window(None, &mut t0);

        loop {
            let done_killing = max_kills.is_some_and(|m| self.kills >= m);
            let scheduling = next.is_some() && !done_killing && self.stopping.is_none();
            if !scheduling && self.recoveries.is_idle() && self.triggers.is_empty() {
                break;
            }
            if self.write_error.is_some() {
                break;
            }
            let wake = t0 + next.unwrap_or_default();
            tokio::select! {
                _ = stop.cancelled(), if self.stopping.is_none() => {
                    info!("interrupted: no more kills; waiting up to {}s for recoveries in flight", INTERRUPT_DRAIN.as_secs());
                    self.stopping = Some(watch::Stopping {
                        since: Instant::now(),
                        drain: INTERRUPT_DRAIN,
                        status: RunStatus::Interrupted,
                        reason: "interrupted by signal".to_string(),
                    });
                }
                Some(ev) = self.events.recv() => self.on_event(ev),
                Some(result) = probe_rx.recv() => {
                    self.on_probe(result);
                    self.check_abort();
                }
                _ = tokio::time::sleep_until(wake), if scheduling && closed_since.is_none() => {
                    // The windows may have closed since the last tick; then the decision
                    // waits for the next opening instead.
                    closed_since = self.update_window(closed_since, &mut t0);
                    if closed_since.is_none() {
                        let offset = next.unwrap_or_default();
                        self.decide_all(offset).await;
                        next = clock.next_decision();
                    }
                }
                Some(done) = self.triggers.join_next(), if !self.triggers.is_empty() => {
                    if let Ok(entry) = done {
                        info!("trigger for kill #{} exited with {:?} after {}", entry.kill_id, entry.exit_code, format_micros(entry.duration_us));
                        self.record(Entry::Trigger(entry));
                    }
                }
                _ = ticker.tick() => {
                    let found = self.recoveries.tick(Instant::now(), now_micros());
                    self.record_findings(found);
                    self.check_abort();
                    closed_since = self.update_window(closed_since, &mut t0);
                    if self.past_max_runtime(started) {
                        break;
                    }
                    let (healthy, desired) = self.capacity.totals();
                    status_line.draw(&Snapshot {
                        kills: self.kills,
                        max_kills,
                        in_flight: self.recoveries.in_flight(),
                        healthy,
                        desired,
                        next_in: scheduling.then(|| wake.saturating_duration_since(tokio::time::Instant::now())),
                        elapsed: started.elapsed(),
                        note: if scheduling { self.window_note() } else { None },
                    });
                    if self.stopping.as_ref().is_some_and(|s| s.since.elapsed() >= s.drain) {
                        break;
                    }
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
        let leftover = self.recoveries.abandon(now_micros());
        self.record_findings(leftover);
        self.triggers.abort_all();

        let (status, reason) = match (&self.write_error, self.stopping.take()) {
            (Some(e), _) => (
                RunStatus::Failed,
                Some(format!("journal write failed: {e}")),
            ),
            (None, Some(s)) => (s.status, Some(s.reason)),
            (None, None) => (RunStatus::Completed, None),
        };
        let facts = self.platform.facts().await;
        if !facts.is_null() {
            self.record(Entry::PlatformFacts {
                at: now_micros(),
                facts,
            });
        }
        self.record(Entry::RunEnded {
            at: now_micros(),
            status,
            reason,
        });
        if let Some(e) = self.write_error.take() {
            return Err(Failure::new(
                Outcome::PlatformFailed,
                anyhow::anyhow!("cannot write {}: {e}", self.recorder.path().display()),
            ));
        }
        Ok(RunOutput {
            entries: self.recorder.entries().to_vec(),
            status,
        })
    }

    /// Notes when the schedule windows close and open. While they are closed the schedule's
    /// clock stands still: on opening, `t0` moves on by the time spent closed, so every
    /// planned offset counts open time only. Returns when the windows closed, while they are.
    fn update_window(
        &self,
        closed_since: Option<tokio::time::Instant>,
        t0: &mut tokio::time::Instant,
    ) -> Option<tokio::time::Instant> {
        match (self.windows_closed(), closed_since) {
            (true, None) => {
                if let Some(note) = self.window_note() {
                    info!("{note}; waiting");
                }
                Some(tokio::time::Instant::now())
            }
            (false, Some(since)) => {
                *t0 += since.elapsed();
                info!("a schedule window is open: scheduling resumes");
                None
            }
            (_, keep) => keep,
        }
    }

    fn on_event(&mut self, ev: PlatformEvent) {
        debug!(?ev, "platform event");
        self.record(Entry::Event(ev.clone()));
        if let Some(healthy) = self.capacity.apply(&ev) {
            let desired = self.capacity.desired(&ev.target);
            self.record(Entry::Capacity {
                at: ev.at,
                target: ev.target.clone(),
                healthy,
                desired,
            });
        }
        let found = self.recoveries.on_event(&ev, &self.capacity);
        self.record_findings(found);
    }
}

/// Creates `<parent>/<UTC yyyymmddThhmmssZ>-<name>/`, adding `-2`, `-3`… if it exists.
pub fn create_run_dir(parent: &Path, name: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(parent)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!("{stamp}-{name}");
    for n in 1..1000 {
        let dir = if n == 1 {
            parent.join(&base)
        } else {
            parent.join(format!("{base}-{n}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "too many runs named {base} in {}",
        parent.display()
    )))
}
