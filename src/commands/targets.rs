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
    age_seconds: Option<f64>,
    eligible: bool,
    reason: Option<String>,
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
                healthy: i.healthy,
                age_seconds: i.started_at.map(|s| (now - s) as f64 / 1e6),
                eligible: verdict.is_ok(),
                reason: verdict.err().map(|w| w.as_str().to_string()),
            })
            .collect();
        summaries.push(TargetSummary {
            target: target.name.clone(),
            desired: fleet.desired,
            healthy: fleet.healthy,
            eligible: assessment.eligible_count(),
            floor: assessment.floor,
            kills_allowed_now: assessment.allowed,
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
                println!(
                    "target {}: {} healthy of {} desired, floor {}, {} eligible; a decision now may kill {}",
                    s.target, s.healthy, s.desired, s.floor, s.eligible, s.kills_allowed_now
                );
                for r in &s.instances {
                    println!(
                        "  {:<16} {:<24} {:<8} {}",
                        r.slot,
                        r.name,
                        if r.healthy { "healthy" } else { "unhealthy" },
                        match &r.reason {
                            None => "eligible".to_string(),
                            Some(why) => format!("not eligible: {why}"),
                        }
                    );
                }
            }
        }
    }
    Ok(Outcome::Pass)
}
