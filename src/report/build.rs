//! Builds a [`RunReport`] from journal entries. The live run and `firedrill report` both go
//! through here, so a report rebuilt from a journal matches the one the run wrote.

mod breakdown;
mod capacity;
#[cfg(test)]
pub(crate) mod fixtures;
mod kills;
mod outages;
mod probes;
#[cfg(test)]
mod tests;

use crate::journal::{Entry, RunStarted};
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

/// Folds journal entries into a report, and evaluates the SLOs recorded in the journal.
pub fn from_journal(entries: &[Entry]) -> Result<RunReport, BuildError> {
    let Some(Entry::RunStarted(start)) = entries.first() else {
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

    let run_ended = entries.iter().find_map(|e| match e {
        Entry::RunEnded { at, status, .. } => Some((*at, ReportStatus::from(*status))),
        _ => None,
    });
    // With no end line firedrill itself died; the last thing it wrote is the best end we have.
    let (ended_at, status) =
        run_ended.unwrap_or_else(|| (last_time(entries, start.at), ReportStatus::Crashed));

    let kills = kills::fold(entries, ended_at);
    let histograms = kills::histograms(&kills);
    let capacity = capacity::fold(entries, start, ended_at);
    let (decisions, refused) = decisions(entries);
    // The end-of-run facts know every task the run saw; the start facts are the fallback.
    let platform_facts = entries
        .iter()
        .rev()
        .find_map(|e| match e {
            Entry::PlatformFacts { facts, .. } => Some(facts.as_ref().clone()),
            _ => None,
        })
        .or_else(|| start.platform_facts.as_deref().cloned());
    let breakdowns = breakdown::fold(platform_facts.as_ref(), &kills);
    let probes = probes::fold(entries, start, ended_at);
    let outages = outages::fold(entries, ended_at);
    let abort = entries.iter().find_map(|e| match e {
        Entry::AbortTriggered {
            at,
            condition,
            measured,
        } => Some(AbortReport {
            at: utc(*at),
            condition: condition.clone(),
            measured: measured.clone(),
        }),
        _ => None,
    });

    let mut report = RunReport {
        schema_version: SCHEMA_VERSION,
        tool_version: start.tool_version.clone(),
        scenario: scenario_ref(start),
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
        refused,
        decisions,
        slos: Vec::new(),
        breakdowns,
        platform_facts,
        probes,
        abort,
        outages,
    };
    report.slos = slos
        .iter()
        .map(|slo| slo.evaluate(measure(&report, slo)))
        .collect();
    let any_unrecovered = report.unrecovered().next().is_some();
    let any_breach = report.slos.iter().any(|s| !s.passed);
    // A recovery whose marks contradict its kill proves nothing either way, so it cannot pass.
    let any_invalid = report.kills.iter().any(|k| k.invalid.is_some());
    // An aborted run says so above all else: its SLOs are still shown, but the run did not do
    // what it set out to, and CI must see exit 4, not a pass.
    report.verdict = if status == ReportStatus::Aborted {
        Verdict::Aborted
    } else if any_unrecovered || any_breach || any_invalid {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    Ok(report)
}

fn scenario_ref(start: &RunStarted) -> ScenarioRef {
    ScenarioRef {
        name: start.scenario.clone(),
        path: start.scenario_path.clone(),
        sha256: start.scenario_sha256.clone(),
    }
}

/// Every decision's summary, and those a guard refused or trimmed.
fn decisions(entries: &[Entry]) -> (Vec<DecisionSummary>, Vec<RefusedDecision>) {
    let mut all = Vec::new();
    let mut refused = Vec::new();
    for entry in entries {
        let Entry::Decision(d) = entry else { continue };
        all.push(DecisionSummary {
            seq: d.seq,
            offset_ms: d.offset_ms,
            slots: d.victims.iter().map(|v| v.slot.clone()).collect(),
        });
        if let Some(reason) = &d.refused {
            refused.push(RefusedDecision {
                seq: d.seq,
                offset_ms: d.offset_ms,
                target: d.target.clone(),
                wanted: d.wanted,
                killed: u32::try_from(d.victims.len()).unwrap_or(u32::MAX),
                reason: reason.clone(),
            });
        }
    }
    (all, refused)
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
        // Filled in with the report's drift section.
        Metric::Drift { .. } => None,
    }
}

/// When an entry happened (a trigger counts from when it finished).
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
        | Entry::RunEnded { at, .. } => *at,
    }
}

/// The time of the last thing the journal records. The latest time rather than the last
/// line's, because platform timestamps may arrive slightly out of order and the end must not
/// precede a mark.
fn last_time(entries: &[Entry], start: Micros) -> Micros {
    entries.iter().map(entry_time).fold(start, Micros::max)
}
