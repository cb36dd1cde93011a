//! What is near a selector that matches no running container, for the error that says so:
//! containers that meet some of its parts, or that meet all of them but do not run.

use bollard::query_parameters::ListContainersOptions;

use super::select::{listed_name, ContainerFacts, TargetSpec};
use super::Shared;

/// How many near misses the error lists.
const SHOWN: usize = 5;

/// A few lines naming the containers on the engine closest to `spec`'s selector, in any state.
pub async fn nearby(shared: &Shared, spec: &TargetSpec) -> Vec<String> {
    let list = match shared
        .docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..ListContainersOptions::default()
        }))
        .await
    {
        Ok(list) => list,
        Err(e) => return vec![shared.failed("listing containers", e)],
    };
    let total = list.len();
    let mut lines = Vec::new();
    for summary in &list {
        let id = summary.id.clone().unwrap_or_default();
        let labels = summary.labels.clone().unwrap_or_default();
        let name = listed_name(summary);
        let image = summary.image.clone().unwrap_or_default();
        let facts = ContainerFacts {
            id: &id,
            name: &name,
            image: &image,
            labels: &labels,
        };
        let Some((score, how)) = spec.near_miss(&facts) else {
            continue;
        };
        let state = summary
            .state
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let why = if shared.own.is(&id) {
            " (firedrill runs in it, so it is never selected)".to_string()
        } else if spec.covers(&facts) && state != "running" && state != "paused" {
            " (matches, but is not running)".to_string()
        } else {
            String::new()
        };
        lines.push((score, format!("container {name} ({state}) {how}{why}")));
    }
    // The closest first; the engine lists newest first, which stays the order among equals.
    lines.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    let mut lines: Vec<String> = lines.into_iter().map(|(_, text)| text).collect();
    let more = lines.len().saturating_sub(SHOWN);
    lines.truncate(SHOWN);
    if more > 0 {
        lines.push(format!("... and {more} more"));
    }
    if lines.is_empty() {
        lines.push(format!(
            "none of the {total} containers on the engine at {} (running or not) meets any part of it",
            shared.endpoint
        ));
    }
    lines
}
