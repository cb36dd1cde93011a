//! The guards and the draw, on hand-made fleets.

use super::*;
use crate::scenario::{OptIn, Selector};
use crate::vocabulary::rng::Stream;
use crate::vocabulary::units::{CountOrPercent, Percent};
use std::collections::BTreeMap;

fn policy(pick: u32, max_in_flight: u32, min_healthy: Option<CountOrPercent>) -> Policy {
    Policy {
        pick: CountOrPercent::Count(pick),
        max_in_flight,
        min_healthy,
        min_age: None,
    }
}

fn target(require: Option<&str>) -> Target {
    Target {
        name: "web".into(),
        select: Selector::default(),
        require_label: require.and_then(OptIn::parse),
        capacity: None,
        health: Default::default(),
        watch: Vec::new(),
    }
}

fn fleet(n: usize) -> Vec<Instance> {
    (0..n)
        .map(|i| Instance {
            id: format!("id{i}"),
            target: "web".into(),
            slot: format!("web/{i}"),
            name: format!("web-{i}"),
            started_at: Some(0),
            healthy: true,
            labels: BTreeMap::new(),
            holds: None,
        })
        .collect()
}

const NEVER: &dyn Fn(&str) -> bool = &|_| false;

fn situation<'a>(
    target: &'a Target,
    policy: &'a Policy,
    instances: Vec<Instance>,
    (healthy, desired, in_flight): (u32, u32, u32),
) -> Situation<'a> {
    Situation {
        target,
        policy,
        instances,
        healthy,
        desired,
        in_flight,
        kills_left: None,
        max_kills: None,
        now: 0,
        in_recovery: NEVER,
    }
}

#[test]
fn min_healthy_refuses_a_kill_that_would_breach_the_floor() {
    let mut rng = SeededRng::new(1, Stream::Selection);
    let (t, p) = (
        target(None),
        policy(1, 1, Some(CountOrPercent::Percent(Percent(100.0)))),
    );
    let d = decide(&situation(&t, &p, fleet(2), (2, 2, 0)), &mut rng);
    assert!(d.victims.is_empty());
    let reason = d.refused.unwrap();
    assert!(reason.starts_with("refused: min_healthy 100%"), "{reason}");
}

#[test]
fn max_in_flight_refuses_while_a_recovery_runs() {
    let mut rng = SeededRng::new(1, Stream::Selection);
    let (t, p) = (target(None), policy(1, 1, None));
    let d = decide(&situation(&t, &p, fleet(3), (2, 3, 1)), &mut rng);
    assert!(d.victims.is_empty());
    assert!(d
        .refused
        .unwrap()
        .contains("max_in_flight 1: 1 recovery in flight"));
}

#[test]
fn guards_trim_a_larger_pick() {
    let mut rng = SeededRng::new(1, Stream::Selection);
    let (t, p) = (target(None), policy(3, 3, Some(CountOrPercent::Count(3))));
    let d = decide(&situation(&t, &p, fleet(5), (5, 5, 0)), &mut rng);
    assert_eq!(d.victims.len(), 2);
    assert_eq!(d.refused_by, vec![(Guard::MinHealthy, 1)]);
    assert!(d.refused.unwrap().starts_with("trimmed to 2 of 3"));
}

/// Metrics count the kills each guard held back; together with the victims they make up
/// what the policy wanted.
#[test]
fn each_guard_is_charged_with_the_kills_it_held_back() {
    let mut rng = SeededRng::new(1, Stream::Selection);
    // pick 4 of 6; one recovery in flight of at most 3 leaves room for 2; min_healthy 5
    // of 6 healthy leaves 1.
    let (t, p) = (target(None), policy(4, 3, Some(CountOrPercent::Count(5))));
    let d = decide(&situation(&t, &p, fleet(6), (6, 6, 1)), &mut rng);
    assert_eq!(d.victims.len(), 1);
    assert_eq!(
        d.refused_by,
        vec![(Guard::MaxInFlight, 2), (Guard::MinHealthy, 1)]
    );
    let held: u32 = d.refused_by.iter().map(|(_, n)| n).sum();
    assert_eq!(held + d.victims.len() as u32, d.assessment.wanted);
}

#[test]
fn max_kills_trims_what_was_drawn_and_says_so() {
    let mut rng = SeededRng::new(1, Stream::Selection);
    let (t, p) = (target(None), policy(2, 2, None));
    let mut s = situation(&t, &p, fleet(4), (4, 4, 0));
    s.kills_left = Some(1);
    s.max_kills = Some(5);
    let d = decide(&s, &mut rng);
    assert_eq!(d.victims.len(), 1);
    assert_eq!(d.refused_by, vec![(Guard::MaxKills, 1)]);
    assert_eq!(
        d.refused.as_deref(),
        Some("trimmed to 1: max_kills 5 reached")
    );
}

#[test]
fn the_same_seed_picks_the_same_victims() {
    let (t, p) = (target(None), policy(2, 2, None));
    let run = |seed| {
        let mut rng = SeededRng::new(seed, Stream::Selection);
        (0..10)
            .map(|_| {
                let d = decide(&situation(&t, &p, fleet(6), (6, 6, 0)), &mut rng);
                d.victims.into_iter().map(|v| v.slot).collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

#[test]
fn victims_are_drawn_in_slot_order_whatever_order_the_platform_listed() {
    let (t, p) = (target(None), policy(1, 1, None));
    let mut shuffled = fleet(5);
    shuffled.reverse();
    let pick = |instances| {
        let mut rng = SeededRng::new(3, Stream::Selection);
        decide(&situation(&t, &p, instances, (5, 5, 0)), &mut rng).victims[0]
            .slot
            .clone()
    };
    assert_eq!(pick(fleet(5)), pick(shuffled));
}

#[test]
fn a_refusal_draws_nothing_so_later_picks_do_not_move() {
    let (t, p) = (target(None), policy(1, 1, None));
    let mut with_refusal = SeededRng::new(4, Stream::Selection);
    let refused = decide(&situation(&t, &p, fleet(5), (5, 5, 1)), &mut with_refusal);
    assert!(refused.victims.is_empty());
    let mut fresh = SeededRng::new(4, Stream::Selection);
    let a = decide(&situation(&t, &p, fleet(5), (5, 5, 0)), &mut with_refusal);
    let b = decide(&situation(&t, &p, fleet(5), (5, 5, 0)), &mut fresh);
    assert_eq!(a.victims, b.victims);
}

#[test]
fn exempt_wins_over_opt_in_and_reasons_are_counted() {
    let t = target(Some("firedrill.enabled=true"));
    let p = Policy::default();
    let mut instances = fleet(3);
    for i in &mut instances {
        i.labels
            .insert("firedrill.enabled".to_string(), "true".to_string());
    }
    instances[0]
        .labels
        .insert(EXEMPT_LABEL.to_string(), "true".to_string());
    instances[1].labels.clear();
    instances[2].healthy = false;
    let a = assess(&situation(&t, &p, instances, (2, 3, 0)));
    let verdicts: Vec<_> = a.instances.iter().map(|(_, v)| *v).collect();
    assert_eq!(
        verdicts,
        [
            Err(Ineligible::Exempt),
            Err(Ineligible::NotOptedIn),
            Err(Ineligible::Unhealthy)
        ]
    );
    assert_eq!(a.allowed, 0);
    assert_eq!(
        a.reasons,
        ["0 eligible instance(s) (1 exempt, 1 not opted in, 1 unhealthy)"]
    );
}

#[test]
fn min_healthy_refuses_a_node_whose_tasks_would_breach_the_floor() {
    let mut rng = SeededRng::new(1, Stream::Selection);
    let (t, p) = (target(None), policy(1, 1, Some(CountOrPercent::Count(4))));
    let node = |name: &str, holds: u32| Instance {
        id: format!("id-{name}"),
        slot: name.into(),
        name: name.into(),
        holds: Some(holds),
        ..fleet(1).remove(0)
    };
    // 6 healthy watched tasks, floor 4: a node holding 2 may go, one holding 3 may not.
    let nodes = vec![node("n2", 3), node("n3", 2)];
    let d = decide(&situation(&t, &p, nodes.clone(), (6, 6, 0)), &mut rng);
    assert_eq!(d.victims.len(), 1);
    assert_eq!(d.victims[0].name, "n3");
    assert_eq!(d.refused, None);
    // With 5 healthy, neither may: the refusal names min_healthy and what each node holds.
    let d = decide(&situation(&t, &p, nodes, (5, 6, 0)), &mut rng);
    assert!(d.victims.is_empty());
    let reason = d.refused.unwrap();
    assert!(
        reason.starts_with("refused: min_healthy 4: 5 healthy, floor 4 of 6 desired")
            && reason.contains("n2 holds 3, n3 holds 2"),
        "{reason}"
    );
    assert_eq!(d.refused_by, vec![(Guard::MinHealthy, 1)]);
}
