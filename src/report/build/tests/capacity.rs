//! Tests of the capacity step function: sums over targets, the minimum and time degraded.

use super::{capacity, ended, from_journal, started};
use crate::report::CapacityReport;

fn assert_degraded(c: &CapacityReport, seconds: f64) {
    assert!(
        (c.degraded_seconds - seconds).abs() < 1e-9,
        "degraded for {}s, not {seconds}s",
        c.degraded_seconds
    );
}

/// The timeline as (offset ms, healthy) steps.
fn steps(c: &CapacityReport) -> Vec<(u64, u32)> {
    c.timeline
        .iter()
        .map(|p| (p.offset_ms, p.healthy))
        .collect()
}

#[test]
fn degraded_seconds_sum_every_target() {
    let entries = vec![
        started(&[("api", 2), ("web", 3)], &[]),
        capacity(0, "web", 3),
        capacity(0, "api", 2),
        capacity(10_000, "web", 2),
        capacity(15_000, "api", 1),
        capacity(20_000, "web", 3),
        capacity(30_000, "api", 2),
        capacity(40_000, "web", 2),
        ended(45_000),
    ];
    let c = from_journal(&entries).unwrap().capacity;
    assert_eq!(c.desired, 5);
    assert_eq!(c.min, 3);
    assert!((c.min_percent - 60.0).abs() < 1e-9);
    // 10 s → 30 s below 5, then 40 s → the end at 45 s.
    assert_degraded(&c, 25.0);
    assert_eq!(
        steps(&c),
        [
            (0, 5),
            (10_000, 4),
            (15_000, 3),
            (20_000, 4),
            (30_000, 5),
            (40_000, 4)
        ]
    );
}

#[test]
fn a_target_counts_as_full_until_its_first_capacity_line() {
    // A degraded start (api at 1 of 2) shows, but web's line before api's does not dip.
    let entries = vec![
        started(&[("api", 2), ("web", 3)], &[]),
        capacity(100, "web", 3),
        capacity(200, "api", 1),
        ended(1_200),
    ];
    let c = from_journal(&entries).unwrap().capacity;
    assert_eq!(c.min, 4);
    assert_degraded(&c, 1.0);
    assert_eq!(steps(&c), [(100, 5), (200, 4)]);
}

#[test]
fn no_desired_capacity_is_full_capacity() {
    let entries = vec![started(&[], &[]), ended(1_000)];
    let c = from_journal(&entries).unwrap().capacity;
    assert_eq!((c.desired, c.min), (0, 0));
    assert_eq!(c.min_percent, 100.0);
    assert_eq!(c.degraded_seconds, 0.0);
}
