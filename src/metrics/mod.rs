//! The run's numbers for Prometheus. [`RunMetrics`] is a fold over journal lines, like the
//! report: during the run it watches each line as the journal writes it (see
//! [`LiveMetrics`]) and [`serve`] answers scrapes from it; after the run the same fold over the
//! journal file gives `metrics.prom` and the Pushgateway push. One fold, so the live numbers
//! and the file's are the same numbers.
//!
//! - [`catalogue`]: every metric's name, type, labels and help, the one list the encoder, the
//!   README table and the dashboard test read;
//! - [`encode`]: OpenMetrics and Prometheus text from a [`RunMetrics`], by prometheus-client;
//! - [`serve`]: the live `/metrics` endpoint of `firedrill run --metrics-listen`;
//! - [`push`]: `--push` to a Pushgateway.
//!
//! The fold is tested against the report's over every fixture journal, beside the report's
//! own tests (`report/build/tests/metrics.rs`).

pub mod catalogue;
pub mod encode;
pub mod push;
pub mod serve;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::journal::{Entry, Observer, RunStarted, RunStatus};
use crate::vocabulary::phase::{Phase, Span, MARK_BEFORE_KILL_TOLERANCE_US};
use crate::vocabulary::time::Micros;

/// Upper bounds, in seconds, of the recovery-time buckets: 1 ms to 10 min in 1-2.5-5 steps,
/// so a 200 ms local restart and a 6 s Swarm reschedule each land where a quantile means
/// something.
pub const RECOVERY_BUCKETS: [f64; 19] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0,
    100.0, 250.0, 500.0, 600.0,
];

/// Upper bounds, in seconds, of the probe-latency buckets: 250 µs (loopback) to 10 s.
pub const PROBE_BUCKETS: [f64; 15] = [
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A fixed-bucket histogram of seconds, counts per bucket (not cumulative), the last being
/// `+Inf`.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Buckets {
    fn new(bounds: &'static [f64]) -> Buckets {
        Buckets {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe_us(&mut self, us: u64) {
        let seconds = us as f64 / 1e6;
        let i = self
            .bounds
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    /// `(upper bound, count in that bucket)`, `+Inf` last, as prometheus-client encodes them.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.bounds
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(self.counts.iter().copied())
            .collect()
    }

    /// Sum of the observed values, in seconds.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// How many values were observed.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// What the run is, from its first line.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLabels {
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Platform kind.
    pub platform: String,
    /// firedrill's version.
    pub version: String,
    /// When the run started, seconds since the Unix epoch.
    pub started_at: f64,
}

/// How a recovery ended, as the `outcome` label names it.
pub const OUTCOMES: [&str; 3] = ["restored", "unrecovered", "invalid"];

/// One target's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetMetrics {
    /// Decisions taken.
    pub decisions: u64,
    /// Kills carried out.
    pub kills: u64,
    /// Wanted kills held back, by guard.
    pub refused: BTreeMap<String, u64>,
    /// Recoveries ended, by outcome (see [`OUTCOMES`]).
    pub recoveries: BTreeMap<&'static str, u64>,
    /// Replacements that turned unhealthy within the settle window.
    pub flaps: u64,
    /// Recovery time per span.
    pub spans: BTreeMap<Span, Buckets>,
    /// Healthy instances now.
    pub healthy: u32,
    /// Desired healthy instances.
    pub desired: u32,
}

impl TargetMetrics {
    fn new(desired: u32) -> TargetMetrics {
        TargetMetrics {
            decisions: 0,
            kills: 0,
            refused: BTreeMap::new(),
            recoveries: OUTCOMES.iter().map(|o| (*o, 0)).collect(),
            flaps: 0,
            spans: Span::ALL
                .into_iter()
                .map(|s| (s, Buckets::new(&RECOVERY_BUCKETS)))
                .collect(),
            healthy: desired,
            desired,
        }
    }
}

/// One probe's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeMetrics {
    /// Requests made.
    pub requests: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Latency of the requests that succeeded, as the report counts it.
    pub latency: Buckets,
}

/// A kill whose recovery has not ended: its target and marks so far.
#[derive(Debug, Clone, Default, PartialEq)]
struct OpenKill {
    target: Option<String>,
    killed_at: Option<Micros>,
    marks: BTreeMap<Phase, Micros>,
}

/// The run's numbers, folded from its journal lines (see the module doc).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunMetrics {
    /// From the `run_started` line; nothing is exported before it.
    pub run: Option<RunLabels>,
    /// How the run ended; `None` while it runs.
    pub ended: Option<RunStatus>,
    /// The journal ends without a `run_ended` line: firedrill itself died.
    pub crashed: bool,
    /// The verdict, once the report is built (`pass`, `fail`, `aborted`).
    pub verdict: Option<String>,
    /// Per target.
    pub targets: BTreeMap<String, TargetMetrics>,
    /// Kills the platform refused or failed to carry out.
    pub kill_failures: u64,
    /// The lowest healthy count seen, summed over targets, as the report's `capacity.min`.
    pub capacity_min: Option<u32>,
    /// Per probe.
    pub probes: BTreeMap<String, ProbeMetrics>,
    open: BTreeMap<u32, OpenKill>,
    /// The targets of recently ended recoveries, for a flap that follows `restored`.
    closed_targets: BTreeMap<u32, String>,
}

/// How many ended recoveries keep their target for a late flap: flaps come within the settle
/// window, long before this many more kills end, and the run's memory stays flat.
const CLOSED_KEPT: usize = 1024;

impl RunMetrics {
    /// The numbers of a run that has just started: every target at its desired capacity.
    pub fn started(s: &RunStarted) -> RunMetrics {
        RunMetrics {
            run: Some(RunLabels {
                scenario: s.scenario.clone(),
                seed: s.seed,
                platform: s.platform.clone(),
                version: s.tool_version.clone(),
                started_at: s.at as f64 / 1e6,
            }),
            targets: s
                .desired
                .iter()
                .map(|(target, desired)| (target.clone(), TargetMetrics::new(*desired)))
                .collect(),
            ..RunMetrics::default()
        }
    }

    /// Folds one journal line in.
    pub fn observe(&mut self, entry: &Entry) {
        match entry {
            Entry::RunStarted(s) => *self = RunMetrics::started(s),
            Entry::Decision(d) => {
                let t = self.target(&d.target);
                t.decisions += 1;
                for (guard, n) in &d.refused_kills {
                    *t.refused.entry(guard.clone()).or_default() += u64::from(*n);
                }
            }
            Entry::Kill(k) => {
                self.target(&k.target).kills += 1;
                let open = self.open.entry(k.kill_id).or_default();
                open.target = Some(k.target.clone());
                open.killed_at = Some(k.at);
                // Its recovery may have been restored before its `kill` line came.
                if open.marks.contains_key(&Phase::Restored) {
                    self.close(k.kill_id, true);
                }
            }
            Entry::KillFailed { .. } => self.kill_failures += 1,
            Entry::Phase {
                kill_id, phase, at, ..
            } => {
                // A mark for a recovery already ended adds nothing: the report's spans end
                // there too, as the engine writes no mark after it.
                if self.closed_targets.contains_key(kill_id) {
                    return;
                }
                // A mark may precede its `kill` line; it waits for it.
                let open = self.open.entry(*kill_id).or_default();
                open.marks.insert(*phase, *at);
                if *phase == Phase::Restored && open.killed_at.is_some() {
                    self.close(*kill_id, true);
                }
            }
            Entry::Unrecovered { kill_id, .. } => self.close(*kill_id, false),
            Entry::Flap { kill_id, .. } => {
                if let Some(target) = self.flapped_target(*kill_id) {
                    self.target(&target).flaps += 1;
                }
            }
            Entry::Capacity {
                target,
                healthy,
                desired,
                ..
            } => {
                let t = self.target(target);
                t.healthy = *healthy;
                t.desired = *desired;
                let sum = self
                    .targets
                    .values()
                    .fold(0u32, |a, t| a.saturating_add(t.healthy));
                self.capacity_min = Some(self.capacity_min.map_or(sum, |m| m.min(sum)));
            }
            Entry::Probe(p) => {
                let probe = self
                    .probes
                    .entry(p.probe.clone())
                    .or_insert_with(|| ProbeMetrics {
                        requests: 0,
                        failures: 0,
                        latency: Buckets::new(&PROBE_BUCKETS),
                    });
                probe.requests += 1;
                if p.ok {
                    probe.latency.observe_us(p.latency_us);
                } else {
                    probe.failures += 1;
                }
            }
            Entry::RunEnded { status, .. } if self.ended.is_none() => {
                self.ended = Some(*status);
                // The report calls a recovery still open at the end unrecovered.
                let open: Vec<u32> = self.open.keys().copied().collect();
                for kill_id in open {
                    self.close(kill_id, false);
                }
            }
            _ => {}
        }
    }

    /// Ends the numbers of a journal with no `run_ended` line (firedrill itself died): the
    /// recoveries still open count as unrecovered, as the report counts them.
    pub fn end_without_line(&mut self) {
        if self.ended.is_none() {
            self.crashed = true;
            let open: Vec<u32> = self.open.keys().copied().collect();
            for kill_id in open {
                self.close(kill_id, false);
            }
        }
    }

    /// Records the verdict, once the report has one.
    pub fn set_verdict(&mut self, verdict: &str) {
        self.verdict = Some(verdict.to_string());
    }

    /// Recoveries of `target` in progress.
    pub fn in_flight(&self, target: &str) -> u64 {
        self.open
            .values()
            .filter(|k| k.killed_at.is_some() && k.target.as_deref() == Some(target))
            .count() as u64
    }

    fn target(&mut self, name: &str) -> &mut TargetMetrics {
        self.targets
            .entry(name.to_string())
            .or_insert_with(|| TargetMetrics::new(0))
    }

    fn remember_closed(&mut self, kill_id: u32, target: &str) {
        self.closed_targets.insert(kill_id, target.to_string());
        if self.closed_targets.len() > CLOSED_KEPT {
            self.closed_targets.pop_first();
        }
    }

    /// The target of a kill whose replacement flapped, usually after its recovery ended.
    fn flapped_target(&self, kill_id: u32) -> Option<String> {
        match self.open.get(&kill_id) {
            Some(open) => open.target.clone(),
            None => self.closed_targets.get(&kill_id).cloned(),
        }
    }

    /// Ends a recovery: its outcome is counted and each span both of whose marks it reached
    /// is observed, unless a mark precedes the kill (then its times mean nothing, as in the
    /// report).
    fn close(&mut self, kill_id: u32, restored: bool) {
        let Some(open) = self.open.remove(&kill_id) else {
            return;
        };
        // A recovery whose `kill` line never came is no kill of this run's.
        let (Some(target), Some(killed_at)) = (open.target, open.killed_at) else {
            return;
        };
        let mut marks = open.marks;
        marks.entry(Phase::Kill).or_insert(killed_at);
        let kill_at = marks[&Phase::Kill];
        let invalid = marks.iter().any(|(phase, at)| {
            *phase != Phase::Kill && kill_at.saturating_sub(*at) > MARK_BEFORE_KILL_TOLERANCE_US
        });
        self.remember_closed(kill_id, &target);
        let t = self.target(&target);
        let outcome = match (invalid, restored) {
            (true, _) => "invalid",
            (false, true) => "restored",
            (false, false) => "unrecovered",
        };
        *t.recoveries.entry(outcome).or_default() += 1;
        if invalid {
            return;
        }
        for span in Span::ALL {
            let (from, to) = span.bounds();
            if let (Some(from), Some(to)) = (marks.get(&from), marks.get(&to)) {
                let us = u64::try_from(to.saturating_sub(*from)).unwrap_or(0);
                if let Some(b) = t.spans.get_mut(&span) {
                    b.observe_us(us);
                }
            }
        }
    }
}

/// The live numbers, shared between the run (which folds each journal line in) and the
/// `/metrics` endpoint (which encodes them on each scrape).
#[derive(Debug, Clone, Default)]
pub struct LiveMetrics(Arc<Mutex<RunMetrics>>);

impl LiveMetrics {
    /// A copy of the numbers now.
    pub fn snapshot(&self) -> RunMetrics {
        self.lock().clone()
    }

    /// Runs `f` on the numbers, under the lock.
    pub fn with<T>(&self, f: impl FnOnce(&mut RunMetrics) -> T) -> T {
        f(&mut self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunMetrics> {
        // A scrape that panicked mid-encode leaves the numbers whole: every update is one
        // field at a time under the lock.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Observer for LiveMetrics {
    fn observe(&mut self, entry: &Entry) {
        self.lock().observe(entry);
    }
}
