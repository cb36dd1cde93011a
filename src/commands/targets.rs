//! `firedrill targets`: the instances a scenario would consider now, and what the guards allow.

use std::path::Path;

use serde::Serialize;

use super::{load, platform_failure};
use crate::cli::OutputFormat;
use crate::engine::decide::assess;
use crate::engine::plan;
use crate::engine::run::choose_seed;
use crate::platform;
use crate::vocabulary::time::now_micros;
use crate::{Failure, Outcome};

/// One instance as `targets` shows it.
#[derive(Debug, Serialize)]
struct TargetRow {
    target: String,
    id: String,
    slot: String,
    name: String,
    healthy: bool,
    /// `healthy`, `unhealthy`, or `not_started` for a slot a run would spawn.
    state: &'static str,
    age_seconds: Option<f64>,
    eligible: bool,
    reason: Option<String>,
    /// For a node: the healthy watched tasks it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    holds: Option<u32>,
}

/// A target's guard summary as `targets` shows it.
#[derive(Debug, Serialize)]
struct TargetSummary {
    target: String,
    desired: u32,
    healthy: u32,
    eligible: u32,
    floor: u32,
    kills_allowed_now: u32,
    /// The instances are slots a run would spawn, not started yet; the guard figures are
    /// those the run will face once they are healthy.
    not_started: bool,
    instances: Vec<TargetRow>,
}

pub(super) async fn targets(path: &Path, output: OutputFormat) -> Result<Outcome, Failure> {
    let scenario = load(path)?;
    let platform = platform::connect(&scenario, choose_seed(None, scenario.seed))
        .await
        .map_err(platform_failure)?;
    let fleets = plan::survey(&scenario, &*platform)
        .await
        .map_err(platform_failure)?;
    let now = now_micros();
    let mut summaries = Vec::new();
    for (target, fleet) in scenario.targets.iter().zip(&fleets) {
        // The same assessment a decision makes now, with nothing in flight.
        let assessment = assess(&fleet.situation(&scenario, target, now, None));
        let rows: Vec<TargetRow> = assessment
            .instances
            .iter()
            .map(|(i, verdict)| TargetRow {
                target: target.name.clone(),
                id: i.id.clone(),
                slot: i.slot.clone(),
                name: i.name.clone(),
                healthy: i.healthy && !fleet.not_started,
                state: match (fleet.not_started, i.healthy) {
                    (true, _) => "not_started",
                    (false, true) => "healthy",
                    (false, false) => "unhealthy",
                },
                age_seconds: i.started_at.map(|s| (now - s) as f64 / 1e6),
                eligible: verdict.is_ok(),
                reason: verdict.err().map(|w| w.as_str().to_string()),
                holds: i.holds,
            })
            .collect();
        summaries.push(TargetSummary {
            target: target.name.clone(),
            desired: fleet.desired,
            healthy: fleet.healthy,
            eligible: assessment.eligible_count(),
            floor: assessment.floor,
            kills_allowed_now: assessment.allowed,
            not_started: fleet.not_started,
            instances: rows,
        });
    }
    match output {
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&summaries)
                .map_err(|e| Failure::new(Outcome::PlatformFailed, e))?;
            println!("{text}");
        }
        OutputFormat::Text => {
            for s in &summaries {
                print!("{}", text_table(s));
            }
        }
    }
    Ok(Outcome::Pass)
}

/// One target as a table for people: a summary line, then a header and a row per instance.
/// The name column is left out when every name is its slot (containers, managed slots).
fn text_table(s: &TargetSummary) -> String {
    let mut out = if s.not_started {
        format!(
            "target {}: {} slots a run would spawn (not started yet), {} desired, floor {}, {} eligible; once they are healthy a decision may kill {}\n",
            s.target,
            s.instances.len(),
            s.desired,
            s.floor,
            s.eligible,
            s.kills_allowed_now
        )
    } else {
        format!(
            "target {}: {} healthy of {} desired, floor {}, {} eligible; a decision now may kill {}\n",
            s.target, s.healthy, s.desired, s.floor, s.eligible, s.kills_allowed_now
        )
    };
    let names = s.instances.iter().any(|r| r.name != r.slot);
    let cells: Vec<[String; 6]> = s
        .instances
        .iter()
        .map(|r| {
            [
                r.slot.clone(),
                if s.not_started {
                    "-".to_string()
                } else {
                    short_id(&r.id)
                },
                if names { r.name.clone() } else { String::new() },
                match r.holds {
                    Some(n) => format!("{}, holds {n}", r.state.replace('_', " ")),
                    None => r.state.replace('_', " "),
                },
                r.age_seconds
                    .map(|a| format!("{a:.0}s"))
                    .unwrap_or_else(|| "-".to_string()),
                match &r.reason {
                    None => "eligible".to_string(),
                    Some(why) => format!("not eligible: {why}"),
                },
            ]
        })
        .collect();
    let header = ["SLOT", "ID", "NAME", "STATE", "AGE", "ELIGIBLE"].map(String::from);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(&cells) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (k, cell) in row.iter().enumerate() {
            if k == 2 && !names {
                continue;
            }
            line.push_str(&format!("  {cell:<width$}", width = widths[k]));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A container or task id cut to the 12 characters `docker ps` shows; PIDs stay whole.
fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}
