//! What is near a selector that matches no running task, for the error that says so: the
//! services it covers and the states of their tasks, or else the services that exist.

use std::collections::BTreeMap;

use super::select::TargetSpec;
use super::Shared;

/// How many services the error lists.
const SHOWN: usize = 8;

/// A few lines on the services near `spec`'s selector.
pub async fn nearby(shared: &Shared, spec: &TargetSpec) -> Vec<String> {
    let services = match shared.api.services().await {
        Ok(s) => s,
        Err(e) => return vec![format!("cannot list the services: {e}")],
    };
    let covered: Vec<_> = services.iter().filter(|s| spec.covers(s)).collect();
    let mut lines = Vec::new();
    if !covered.is_empty() {
        // The selector finds services, but none of them has a task running now.
        for service in covered.iter().take(SHOWN) {
            let pair = vec![(spec.name.clone(), (*service).clone())];
            let states = match shared.tasks_of(&pair).await {
                Ok(tasks) => {
                    let mut count: BTreeMap<String, u32> = BTreeMap::new();
                    for t in &tasks {
                        *count.entry(t.state().to_string()).or_default() += 1;
                    }
                    if count.is_empty() {
                        "no tasks".to_string()
                    } else {
                        let parts: Vec<String> =
                            count.iter().map(|(s, n)| format!("{n} {s}")).collect();
                        format!("tasks: {}", parts.join(", "))
                    }
                }
                Err(e) => format!("its tasks cannot be listed: {e}"),
            };
            lines.push(format!(
                "service {} matches, but none of its tasks runs ({states})",
                service.spec.name
            ));
        }
        return lines;
    }
    // The closest first: those carrying more of the selector's labels, then those whose name
    // shares a longer start with the wanted one, then by name.
    let mut services = services;
    services.sort_by_cached_key(|s| (std::cmp::Reverse(spec.closeness(s)), s.spec.name.clone()));
    for service in services.iter().take(SHOWN) {
        // Sorted, so the same Swarm always reads the same.
        let labels: BTreeMap<_, _> = service
            .spec
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.push(match labels.is_empty() {
            true => format!("service {} (no labels)", service.spec.name),
            false => format!("service {} ({})", service.spec.name, labels.join(", ")),
        });
    }
    if services.len() > SHOWN {
        lines.push(format!("... and {} more", services.len() - SHOWN));
    }
    if lines.is_empty() {
        lines.push("this Swarm has no services at all".to_string());
    } else {
        lines.insert(
            0,
            "no service matches; the services on this Swarm:".to_string(),
        );
    }
    lines
}
