//! Builds a [`RunReport`] from journal entries. The live run and `firedrill report` both go
//! through here, reading the journal file back, so a report rebuilt from a journal matches the
//! one the run wrote.

mod breakdown;
mod capacity;
mod drift;
#[cfg(test)]
pub(crate) mod fixtures;
mod kills;
mod node_kills;
mod outages;
mod probes;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use kills::span_samples;

use crate::journal::{self, Decision, Entry, JournalError, RunStarted};
use crate::metrics::RunMetrics;
use crate::platform::PlatformFacts;
use crate::vocabulary::slo::{Metric, Slo, Unit};
use crate::vocabulary::time::Micros;

use super::{
    utc, AbortReport, DecisionSummary, RefusedDecision, ReportStatus, RunReport, ScenarioRef,
    Verdict, SCHEMA_VERSION,
};

/// Errors building a report.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The journal does not start with a `run_started` line.
    #[error("the journal has no run_started line; it is not a firedrill journal")]
    NoStart,
    /// An SLO line in the journal does not parse.
    #[error("the journal's SLO {slo:?} does not parse: {message}")]
    BadSlo {
        /// The SLO line as recorded.
        slo: String,
        /// Why it does not parse.
        message: String,
    },
}

/// Errors building a report from a journal file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The journal cannot be read, or a line other than the last is not an entry.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal reads, but no report can be built from it.
    #[error("{}: {error}", path.display())]
    Build {
        /// The journal path.
        path: PathBuf,
        /// Why.
        error: BuildError,
    },
}

/// Builds the report of the journal at `path`, reading it one line at a time so that a long
/// journal is never held whole: only what the report needs is kept (see [`ReportFold`]).
pub fn from_journal_file(path: &Path) -> Result<RunReport, ReadError> {
    let mut entries = journal::entries(path)?;
    let first = entries.next().transpose()?;
    let mut fold = ReportFold::start(first).map_err(|error| ReadError::Build {
        path: path.to_path_buf(),
        error,
    })?;
    for entry in entries {
        fold.push(entry?);
    }
    Ok(fold.finish())
}

/// Folds journal entries held in memory into a report; [`from_journal_file`] does the same
/// from a file without holding it.
pub fn from_journal(entries: &[Entry]) -> Result<RunReport, BuildError> {
    let mut entries = entries.iter().cloned();
    let mut fold = ReportFold::start(entries.next())?;
    for entry in entries {
        fold.push(entry);
    }
    Ok(fold.finish())
}

/// Folds a journal's entries into a report one at a time, in journal order, keeping what each
/// part of the report needs and nothing else. Raw platform `event` lines, most of a journal,
/// only move the end time of a run that died; each probe request is kept as a few numbers
/// until the kill windows are known.
#[derive(Debug)]
pub struct ReportFold {
    start: RunStarted,
    slos: Vec<Slo>,
    /// The first `run_ended` line's time and status.
    run_ended: Option<(Micros, ReportStatus)>,
    /// The latest time any line records (see [`entry_time`]).
    last_time: Micros,
    kills: kills::Kills,
    node_marks: node_kills::NodeMarks,
    capacity: capacity::Capacity,
    decisions: Vec<DecisionSummary>,
    refused: Vec<RefusedDecision>,
    /// The last `platform_facts` line's.
    platform_facts: Option<Box<PlatformFacts>>,
    probes: probes::Probes,
    outages: outages::Outages,
    drift: drift::Drift,
    abort: Option<AbortReport>,
    metrics: RunMetrics,
}

impl ReportFold {
    /// Starts from the journal's first entry, which must be its `run_started` line; the SLOs
    /// it records must parse.
    pub fn start(first: Option<Entry>) -> Result<ReportFold, BuildError> {
        let Some(Entry::RunStarted(start)) = first else {
            return Err(BuildError::NoStart);
        };
        let slos = start
            .slos
            .iter()
            .map(|text| {
                Slo::parse(text).map_err(|message| BuildError::BadSlo {
                    slo: text.clone(),
                    message,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReportFold {
            slos,
            run_ended: None,
            last_time: start.at,
            kills: kills::Kills::default(),
            node_marks: node_kills::NodeMarks::default(),
            capacity: capacity::Capacity::default(),
            decisions: Vec::new(),
            refused: Vec::new(),
            platform_facts: None,
            probes: probes::Probes::new(&start),
            outages: outages::Outages::default(),
            drift: drift::Drift::default(),
            abort: None,
            metrics: RunMetrics::started(&start),
            start,
        })
    }

    /// Takes the next entry of the journal.
    pub fn push(&mut self, entry: Entry) {
        self.last_time = self.last_time.max(entry_time(&entry));
        self.kills.push(&entry);
        self.node_marks.push(&entry);
        self.capacity.push(&entry);
        self.probes.push(&entry);
        self.outages.push(&entry);
        self.metrics.observe(&entry);
        match entry {
            Entry::Evidence {
                kill_id,
                role,
                evidence,
                ..
            } => self.drift.push(kill_id, role, *evidence),
            Entry::Decision(d) => self.decision(d),
            Entry::PlatformFacts { facts, .. } => self.platform_facts = Some(facts),
            Entry::AbortTriggered {
                at,
                condition,
                measured,
            } if self.abort.is_none() => {
                self.abort = Some(AbortReport {
                    at: utc(at),
                    condition,
                    measured,
                });
            }
            Entry::RunEnded { at, status, .. } if self.run_ended.is_none() => {
                self.run_ended = Some((at, ReportStatus::from(status)));
            }
            _ => {}
        }
    }

    /// A decision's summary, and the decision again when a guard refused or trimmed it.
    fn decision(&mut self, d: Decision) {
        if let Some(reason) = &d.refused {
            self.refused.push(RefusedDecision {
                seq: d.seq,
                offset_ms: d.offset_ms,
                target: d.target.clone(),
                wanted: d.wanted,
                killed: u32::try_from(d.victims.len()).unwrap_or(u32::MAX),
                reason: reason.clone(),
            });
        }
        self.decisions.push(DecisionSummary {
            seq: d.seq,
            offset_ms: d.offset_ms,
            slots: d.victims.into_iter().map(|v| v.slot).collect(),
        });
    }

    /// The report of every entry taken, with the SLOs recorded in the journal evaluated.
    pub fn finish(self) -> RunReport {
        let mut start = self.start;
        // With no end line firedrill itself died; the last thing it wrote is the best end we
        // have.
        let (ended_at, status) = self
            .run_ended
            .unwrap_or((self.last_time, ReportStatus::Crashed));

        // The end-of-run facts know every task the run saw; the start facts are the fallback.
        let platform_facts = self
            .platform_facts
            .or_else(|| start.platform_facts.take())
            .map(|facts| *facts);
        let mut kills = self.kills.finish(ended_at);
        self.node_marks.finish(platform_facts.as_ref(), &mut kills);
        let drift = self.drift.finish(start.drift, &mut kills);
        let histograms = kills::histograms(&kills);
        let capacity = self.capacity.finish(&start, ended_at);
        let breakdowns = breakdown::fold(platform_facts.as_ref(), &kills);
        let probes = self.probes.finish(&start, ended_at);
        let outages = self.outages.finish(ended_at);

        let mut report = RunReport {
            schema_version: SCHEMA_VERSION,
            tool_version: start.tool_version.clone(),
            scenario: scenario_ref(&start),
            seed: start.seed,
            platform: start.platform.clone(),
            started_at: utc(start.at),
            ended_at: utc(ended_at),
            status,
            partial: status != ReportStatus::Completed,
            verdict: Verdict::Pass,
            kills,
            histograms,
            capacity,
            refused: self.refused,
            decisions: self.decisions,
            slos: Vec::new(),
            breakdowns,
            platform_facts,
            probes,
            abort: self.abort,
            outages,
            drift,
            metrics: self.metrics,
        };
        report.slos = self
            .slos
            .iter()
            .map(|slo| slo.evaluate(measure(&report, slo)))
            .collect();
        let any_unrecovered = report.unrecovered().next().is_some();
        let any_breach = report.slos.iter().any(|s| !s.passed);
        // A recovery whose marks contradict its kill proves nothing either way, so it cannot
        // pass.
        let any_invalid = report.kills.iter().any(|k| k.invalid.is_some());
        // An aborted run says so above all else: its SLOs are still shown, but the run did not
        // do what it set out to, and CI must see exit 4, not a pass.
        report.verdict = if status == ReportStatus::Aborted {
            Verdict::Aborted
        } else if any_unrecovered || any_breach || any_invalid {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        if self.run_ended.is_none() {
            report.metrics.end_without_line();
        }
        report.metrics.set_verdict(report.verdict.as_str());
        report
    }
}

fn scenario_ref(start: &RunStarted) -> ScenarioRef {
    ScenarioRef {
        name: start.scenario.clone(),
        path: start.scenario_path.clone(),
        sha256: start.scenario_sha256.clone(),
    }
}

/// The value an SLO is compared against, in the SLO's unit; `None` when nothing was measured.
fn measure(report: &RunReport, slo: &Slo) -> Option<f64> {
    let count = |n: usize| Some(n as f64);
    let probe = |name: &str| report.probes.iter().find(|p| p.name == name);
    match &slo.metric {
        Metric::Recovery { span, stat } => report.histograms.get(span)?.stat(*stat),
        Metric::Unrecovered => count(report.unrecovered().count()),
        Metric::Kills => count(report.kills.len()),
        Metric::Refused => count(report.refused.len()),
        Metric::Flaps => count(report.kills.iter().map(|k| k.flaps.len()).sum()),
        Metric::CapacityMin if slo.unit == Unit::Percent => Some(report.capacity.min_percent),
        Metric::CapacityMin => Some(f64::from(report.capacity.min)),
        Metric::DegradedSeconds => Some(report.capacity.degraded_seconds),
        Metric::ProbeAvailability { probe: name } => probe(name)?.availability_percent,
        Metric::ProbeErrors { probe: name } => Some(probe(name)?.failures as f64),
        Metric::ProbeLatency { probe: name, stat } => probe(name)?.latency.as_ref()?.stat(*stat),
        Metric::Drift { check } => Some(f64::from(report.drift.as_ref()?.count(*check))),
    }
}

/// When an entry happened (a trigger counts from when it finished). The end of a run that
/// died is the latest of these rather than the last line's, because platform timestamps may
/// arrive slightly out of order and the end must not precede a mark.
fn entry_time(entry: &Entry) -> Micros {
    match entry {
        Entry::RunStarted(s) => s.at,
        Entry::Decision(d) => d.at,
        Entry::Kill(k) => k.at,
        Entry::Trigger(t) => t
            .started_at
            .saturating_add(i64::try_from(t.duration_us).unwrap_or(i64::MAX)),
        Entry::Event(e) => e.at,
        Entry::PlatformFacts { at, .. } => *at,
        Entry::Probe(p) => p.observed_at(),
        Entry::KillFailed { at, .. }
        | Entry::Phase { at, .. }
        | Entry::Flap { at, .. }
        | Entry::Unrecovered { at, .. }
        | Entry::Capacity { at, .. }
        | Entry::AbortTriggered { at, .. }
        | Entry::EventsLost { at, .. }
        | Entry::EventsBack { at, .. }
        | Entry::Evidence { at, .. }
        | Entry::Warning { at, .. }
        | Entry::RunEnded { at, .. } => *at,
    }
}
