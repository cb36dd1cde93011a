//! The one report model, [`RunReport`], built from the journal alone, and its renderers. Each
//! renderer is a pure `render(&RunReport) -> Vec<u8>` with no I/O.

pub mod build;
pub mod compare;
pub mod drift;
pub mod files;
pub mod histogram;
pub mod html;
pub mod identity;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod node_kill;
pub mod probe;
pub mod terminal;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::metrics::RunMetrics;

use crate::journal::{RunStatus, TriggerEntry};
use crate::platform::PlatformFacts;
use crate::vocabulary::phase::{Phase, Span};
use crate::vocabulary::slo::SloResult;
use crate::vocabulary::time::Micros;
use crate::vocabulary::units::format_micros;

pub use build::{from_journal, from_journal_file, ReportFold};
pub use drift::{DriftReport, KillDrift};
pub use histogram::HistogramSummary;
pub use node_kill::NodeKillReport;
pub use probe::{AbortReport, ProbeBucket, ProbeCounts, ProbeKillImpact, ProbeReport, ProbeSeries};

/// Version of the `report.json` schema (`schema/report.schema.json`). Bump on any change that
/// a reader of an older report would misread.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a run produced, in one serialisable model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// firedrill's version.
    pub tool_version: String,
    /// Which scenario ran.
    pub scenario: ScenarioRef,
    /// The seed used; rerunning with it replays the same decisions.
    pub seed: u64,
    /// Platform kind.
    pub platform: String,
    /// Run start, UTC.
    pub started_at: DateTime<Utc>,
    /// Run end, UTC (the last journal line for a run that died).
    pub ended_at: DateTime<Utc>,
    /// How the run ended.
    pub status: ReportStatus,
    /// True when the run did not finish its schedule (interrupted, or the journal stops early).
    pub partial: bool,
    /// Pass, fail or partial.
    pub verdict: Verdict,
    /// Every kill, in order.
    pub kills: Vec<KillReport>,
    /// Histogram of each span (total, detect, reschedule, boot, warm_up, restore), keyed by
    /// span name.
    pub histograms: BTreeMap<Span, HistogramSummary>,
    /// Capacity over time.
    pub capacity: CapacityReport,
    /// Decisions a guard refused or trimmed.
    pub refused: Vec<RefusedDecision>,
    /// Every decision's planned offset and victims, for replay checks.
    pub decisions: Vec<DecisionSummary>,
    /// Each SLO's outcome.
    pub slos: Vec<SloResult>,
    /// Steady-state probes: availability, latency, and what each kill cost their clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeReport>,
    /// The stop condition that ended the run, when one fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<AbortReport>,
    /// Kills grouped by where the victim ran, per dimension the platform names (Swarm:
    /// `service` and `node`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breakdowns: BTreeMap<String, Vec<Breakdown>>,
    /// What the platform said about itself (Swarm: each service's restart policy and update
    /// config, its nodes, which clock each mark comes from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_facts: Option<PlatformFacts>,
    /// Spans during which the platform's event stream was lost. Decisions were refused while
    /// one lasted, and marks recovered by the resync after it are flagged uncertain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<Outage>,
    /// Drift evidence over the kills, when the run captured it (`recovery.drift`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
    /// The run's Prometheus metrics, folded from the same journal (`metrics.prom`); not part
    /// of `report.json`, so a report read back from JSON has none.
    #[serde(skip)]
    pub metrics: RunMetrics,
}

impl RunReport {
    /// The kills that never reached `restored`.
    pub fn unrecovered(&self) -> impl Iterator<Item = &KillReport> {
        self.kills.iter().filter(|k| k.unrecovered.is_some())
    }

    /// True when a span has samples and every one of them is 0 (`restore` on a local run: the
    /// pool is whole the moment the replacement is healthy). Such a span says nothing, so the
    /// renderers leave it out and say so once.
    pub fn is_zero_span(&self, span: Span) -> bool {
        self.histograms
            .get(&span)
            .is_some_and(|h| h.count > 0 && h.max_us == 0)
    }

    /// The spans the renderers show, in [`Span::ALL`] order: all but the identically zero.
    pub fn shown_spans(&self) -> Vec<Span> {
        Span::ALL
            .into_iter()
            .filter(|s| !self.is_zero_span(*s))
            .collect()
    }

    /// The sentence every renderer writes for the spans it leaves out, if any.
    pub fn zero_spans_note(&self) -> Option<String> {
        let hidden: Vec<String> = Span::ALL
            .into_iter()
            .filter(|s| self.is_zero_span(*s))
            .map(|s| {
                let (from, to) = s.bounds();
                let n = self.histograms.get(&s).map_or(0, |h| h.count);
                match n {
                    1 => format!("{s} ({from} → {to}) took 0 in the one kill that reached it"),
                    n => format!("{s} ({from} → {to}) took 0 in all {n} kills that reached it"),
                }
            })
            .collect();
        (!hidden.is_empty()).then(|| format!("Not shown: {}.", hidden.join("; ")))
    }
}

/// A span during which the platform's event stream was lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// When the stream was lost, UTC.
    pub lost_at: DateTime<Utc>,
    /// When it came back and was resynced; absent when the run ended first.
    pub back_at: Option<DateTime<Utc>>,
    /// Seconds lost, up to the end of the run when the stream never came back.
    pub seconds: f64,
    /// Why, as the platform client saw it.
    pub reason: String,
    /// Marks journaled after the loss that only the resync saw, flagged uncertain.
    pub uncertain_marks: u32,
}

impl Outage {
    /// The loss, the return and the time lost, as every renderer shows them.
    pub fn describe(&self) -> [String; 3] {
        [
            format_utc(self.lost_at),
            self.back_at
                .map_or_else(|| "not before the end".to_string(), format_utc),
            format_micros((self.seconds * 1e6).round() as u64),
        ]
    }
}

/// The kills of one group (one service, one node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The group's name (service name, node hostname).
    pub name: String,
    /// Kills whose victim ran here.
    pub kills: u32,
    /// Of those, how many were restored.
    pub recovered: u32,
    /// Mean recovery time of the restored ones, in microseconds.
    pub recovery_mean_us: Option<u64>,
    /// Longest recovery time, in microseconds.
    pub recovery_max_us: Option<u64>,
    /// Mean down → replaced (the orchestrator's reschedule, restart delay included), in
    /// microseconds.
    pub reschedule_mean_us: Option<u64>,
    /// Mean replaced → running (for Swarm this holds the restart delay), in microseconds.
    pub boot_mean_us: Option<u64>,
}

/// The scenario a report came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRef {
    /// Scenario name.
    pub name: String,
    /// The file path as given.
    pub path: String,
    /// sha256 of the file, hex.
    pub sha256: String,
}

/// How the run ended, as the report states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// The schedule ran to its end.
    Completed,
    /// Stopped by a signal.
    Interrupted,
    /// The platform failed.
    Failed,
    /// The journal has no end line: firedrill itself died.
    Crashed,
    /// A stop condition (`abort_when`) fired.
    Aborted,
    /// `--max-runtime` ran out before the schedule did.
    Stopped,
}

impl ReportStatus {
    /// How the run ended, in words for the report's readers.
    pub fn describe(self) -> &'static str {
        match self {
            ReportStatus::Completed => "completed",
            ReportStatus::Interrupted => "interrupted",
            ReportStatus::Failed => "failed (platform error)",
            ReportStatus::Crashed => "crashed (no end line in the journal)",
            ReportStatus::Aborted => "aborted by a stop condition",
            ReportStatus::Stopped => "stopped at --max-runtime",
        }
    }
}

/// A report time for people: `2026-11-27 10:15:00 UTC`.
pub fn format_utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A time of day for tables whose heading says UTC: `10:15:00.125`.
pub fn format_clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S%.3f").to_string()
}

impl KillReport {
    /// When the kill landed (its kill mark, else the decision's time is unknown), UTC.
    pub fn killed_at(&self) -> Option<DateTime<Utc>> {
        self.phases.get(&Phase::Kill).map(|m| m.at)
    }
}

impl From<RunStatus> for ReportStatus {
    fn from(s: RunStatus) -> Self {
        match s {
            RunStatus::Completed => ReportStatus::Completed,
            RunStatus::Interrupted => ReportStatus::Interrupted,
            RunStatus::Failed => ReportStatus::Failed,
            RunStatus::Aborted => ReportStatus::Aborted,
            RunStatus::Stopped => ReportStatus::Stopped,
        }
    }
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every SLO held and every kill recovered.
    Pass,
    /// An SLO broke or a kill did not recover.
    Fail,
    /// A stop condition ended the run; the SLOs were not judged for a verdict.
    Aborted,
}

impl Verdict {
    /// The verdict as files and metrics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Aborted => "aborted",
        }
    }
}

/// One kill and its recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillReport {
    /// Kill number, from 1.
    pub kill_id: u32,
    /// The decision that chose it.
    pub seq: u32,
    /// Target name.
    pub target: String,
    /// The victim's id.
    pub victim: String,
    /// The victim's slot.
    pub slot: String,
    /// The victim's name.
    pub victim_name: String,
    /// The replacement's id, once one exists.
    pub replacement: Option<String>,
    /// The action, described.
    pub action: String,
    /// Each mark reached.
    pub phases: BTreeMap<Phase, PhaseMark>,
    /// restored − kill, in microseconds, when restored.
    pub recovery_us: Option<u64>,
    /// Set when the kill missed `recovery.timeout`.
    pub unrecovered: Option<Unrecovered>,
    /// Times the replacement turned unhealthy within the settle window.
    pub flaps: Vec<DateTime<Utc>>,
    /// What the recovery trigger did, when the scenario has one.
    pub trigger: Option<TriggerEntry>,
    /// Why this recovery's times cannot be trusted (a mark well before its kill); set, it
    /// fails the verdict and keeps the kill out of the span histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<String>,
    /// The victim and its replacement side by side, when the run captured drift evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<KillDrift>,
    /// Set when the victim is a Swarm node: the tasks it took down with it, where they went,
    /// and when the node itself was back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeKillReport>,
}

/// A mark's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseMark {
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// Microseconds since the kill mark.
    pub since_kill_us: i64,
    /// The time is not the platform's own record of the moment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
}

/// Why a kill counts as unrecovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unrecovered {
    /// The first mark never reached.
    pub stalled_in: Phase,
    /// When firedrill gave up.
    pub at: DateTime<Utc>,
}

/// The healthy count over the run, as a step function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    /// Desired healthy count, summed over targets.
    pub desired: u32,
    /// Lowest healthy count seen.
    pub min: u32,
    /// `min` as a percentage of `desired`.
    pub min_percent: f64,
    /// Seconds during which the healthy count was below `desired`.
    pub degraded_seconds: f64,
    /// The `min_healthy` floor, summed over targets, when the scenario sets one (journals
    /// written before it was recorded have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_healthy_floor: Option<u32>,
    /// Every change, in order.
    pub timeline: Vec<CapacityPoint>,
}

/// One step of the capacity timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityPoint {
    /// Milliseconds since the run started.
    pub offset_ms: u64,
    /// Healthy instances, summed over targets.
    pub healthy: u32,
}

/// A decision that a guard refused or trimmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedDecision {
    /// Decision sequence number.
    pub seq: u32,
    /// Planned offset from run start, in milliseconds.
    pub offset_ms: u64,
    /// Target name.
    pub target: String,
    /// How many victims were wanted.
    pub wanted: u32,
    /// How many were killed.
    pub killed: u32,
    /// The guard's reason.
    pub reason: String,
}

/// A decision's planned time and chosen slots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    /// Decision sequence number.
    pub seq: u32,
    /// Planned offset from run start, in milliseconds.
    pub offset_ms: u64,
    /// Slots of the chosen victims.
    pub slots: Vec<String>,
}

/// Converts platform microseconds to UTC, clamping out-of-range values to the epoch.
pub fn utc(at: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at).unwrap_or_default()
}
