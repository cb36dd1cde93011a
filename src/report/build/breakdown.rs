//! Kills grouped by where their victim ran (for Swarm: per service and per node), from the
//! `placement` map of the platform's facts: instance id → `{dimension: value}`. A node kill's
//! victim is the node, so it is grouped under its own hostname (and under no service: it took
//! down tasks of every watched service it held at once).

use std::collections::BTreeMap;

use crate::platform::PlatformFacts;
use crate::report::{Breakdown, KillReport};
use crate::vocabulary::phase::Phase;

/// Keys of a placement entry that are not worth grouping by (every slot is its own group).
const NOT_A_DIMENSION: [&str; 1] = ["slot"];

/// One group per value of each placement dimension, in name order.
pub(super) fn fold(
    facts: Option<&PlatformFacts>,
    kills: &[KillReport],
) -> BTreeMap<String, Vec<Breakdown>> {
    let Some(placement) = facts.map(|f| &f.placement) else {
        return BTreeMap::new();
    };
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<&KillReport>>> = BTreeMap::new();
    for kill in kills {
        let node_only;
        let place = match (placement.get(&kill.victim), &kill.node) {
            (Some(place), _) => place,
            // A node the placement does not name still landed on itself.
            (None, Some(node)) => {
                node_only = BTreeMap::from([("node".to_string(), node.hostname.clone())]);
                &node_only
            }
            (None, None) => continue,
        };
        for (dimension, value) in place {
            if NOT_A_DIMENSION.contains(&dimension.as_str()) {
                continue;
            }
            groups
                .entry(dimension.clone())
                .or_default()
                .entry(value.to_string())
                .or_default()
                .push(kill);
        }
    }
    groups
        .into_iter()
        .map(|(dimension, values)| {
            let rows = values
                .into_iter()
                .map(|(name, kills)| summarise(name, &kills))
                .collect();
            (dimension, rows)
        })
        .collect()
}

fn summarise(name: String, kills: &[&KillReport]) -> Breakdown {
    let recoveries: Vec<u64> = kills.iter().filter_map(|k| k.recovery_us).collect();
    let between = |from: Phase, to: Phase| -> Vec<u64> {
        kills
            .iter()
            .filter_map(|k| {
                let a = k.phases.get(&from)?.since_kill_us;
                let b = k.phases.get(&to)?.since_kill_us;
                u64::try_from(b - a).ok()
            })
            .collect()
    };
    let reschedules = between(Phase::Down, Phase::Replaced);
    let boots = between(Phase::Replaced, Phase::Running);
    let mean = |v: &[u64]| (!v.is_empty()).then(|| v.iter().sum::<u64>() / v.len() as u64);
    Breakdown {
        name,
        kills: kills.len() as u32,
        recovered: recoveries.len() as u32,
        recovery_mean_us: mean(&recoveries),
        recovery_max_us: recoveries.iter().max().copied(),
        reschedule_mean_us: mean(&reschedules),
        boot_mean_us: mean(&boots),
    }
}

#[cfg(test)]
mod tests {
    use crate::journal::Entry;

    /// A real run against a single-node Swarm: a global service `agent`, killed twice.
    const RECORDED: &str =
        include_str!("../../../tests/fixtures/journals/recorded-swarm-global.jsonl");

    #[test]
    fn kills_of_a_recorded_swarm_run_are_grouped_by_service_and_node() {
        let entries: Vec<Entry> = RECORDED
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let report = crate::report::from_journal(&entries).unwrap();
        let by_service = &report.breakdowns["service"];
        assert_eq!(by_service.len(), 1);
        assert_eq!(by_service[0].name, "agent");
        assert_eq!(by_service[0].kills, report.kills.len() as u32);
        assert_eq!(by_service[0].recovered, 2);
        let max = report.kills.iter().filter_map(|k| k.recovery_us).max();
        assert_eq!(by_service[0].recovery_max_us, max);
        let by_node = &report.breakdowns["node"];
        assert_eq!(by_node[0].kills, 2);
        let facts = report.platform_facts.as_ref().unwrap();
        let agent = &facts.services.as_ref().unwrap()["agent"];
        assert_eq!(agent.mode, "global");
        assert_eq!(agent.restart_policy.delay, "1s");
    }
}
