//! `chart-timeline`: one row per kill, each phase a coloured segment from the kill onwards, and
//! where a kill stalled, the stall up to when firedrill gave up.

use crate::report::{identity, KillReport, RunReport};
use crate::vocabulary::phase::{Phase, Span};
use crate::vocabulary::units::format_micros;

use super::axis::time_axis;
use super::svg::{Linear, Svg};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 10.0;
const ROW: f64 = 24.0;
const BOTTOM: f64 = 40.0;

/// Microseconds from the kill to the last thing known about it.
fn reach_us(k: &KillReport) -> f64 {
    let last_mark = k
        .phases
        .values()
        .map(|m| m.since_kill_us.max(0))
        .max()
        .unwrap_or(0);
    let gave_up = match (&k.unrecovered, k.phases.get(&Phase::Kill)) {
        (Some(u), Some(kill)) => (u.at - kill.at).num_microseconds().unwrap_or(0).max(0),
        _ => 0,
    };
    last_mark.max(gave_up) as f64
}

/// Renders the chart.
pub fn chart(report: &RunReport) -> String {
    let rows = report.kills.len().max(1) as f64;
    let height = TOP + ROW * rows + BOTTOM;
    let longest = report
        .kills
        .iter()
        .map(reach_us)
        .fold(0.0, f64::max)
        .max(1_000.0)
        / 1e6;
    let x = Linear::new((0.0, longest), (LEFT, WIDTH - RIGHT));
    let mut svg = Svg::new(
        "chart-timeline",
        WIDTH,
        height,
        "Per-kill timeline: each recovery's phases from the kill onwards",
    );
    let bottom = TOP + ROW * rows;
    time_axis(
        &mut svg,
        &x,
        (TOP, bottom),
        (longest, 10.0),
        ("time since the kill", height - 6.0),
    );
    if report.kills.is_empty() {
        svg.text(
            "row-note",
            (LEFT + 8.0, TOP + ROW / 2.0 + 4.0),
            "start",
            "no kills",
        );
    }
    for (i, k) in report.kills.iter().enumerate() {
        let y0 = TOP + ROW * i as f64;
        let mid = y0 + ROW / 2.0;
        svg.text(
            "row-label",
            (LEFT - 10.0, mid + 4.0),
            "end",
            &format!("#{} {}", k.kill_id, k.slot),
        );
        for span in report
            .shown_spans()
            .into_iter()
            .filter(|s| *s != Span::Total)
        {
            let (from, to) = span.bounds();
            let (Some(a), Some(b)) = (k.phases.get(&from), k.phases.get(&to)) else {
                continue;
            };
            let (xa, xb) = (
                x.at(a.since_kill_us as f64 / 1e6),
                x.at(b.since_kill_us as f64 / 1e6),
            );
            svg.rect(
                &format!("seg span-{span}"),
                xa,
                y0 + 4.0,
                (xb - xa).max(1.0),
                ROW - 8.0,
                &format!(
                    "kill #{}: {span} ({from}→{to}) {}",
                    k.kill_id,
                    format_micros((b.since_kill_us - a.since_kill_us).max(0) as u64)
                ),
            );
        }
        let note = match (&k.unrecovered, k.recovery_us) {
            (Some(u), _) => {
                let reached = k
                    .phases
                    .values()
                    .map(|m| m.since_kill_us.max(0))
                    .max()
                    .unwrap_or(0) as f64;
                let (xa, xb) = (x.at(reached / 1e6), x.at(reach_us(k) / 1e6));
                svg.rect(
                    "seg stalled",
                    xa,
                    y0 + 4.0,
                    (xb - xa).max(1.0),
                    ROW - 8.0,
                    &format!(
                        "kill #{}: stalled in {} until given up",
                        k.kill_id, u.stalled_in
                    ),
                );
                format!("unrecovered ({})", u.stalled_in)
            }
            (None, Some(us)) => format_micros(us),
            (None, None) => "–".to_string(),
        };
        svg.line(
            "kill-marker",
            (x.at(0.0), y0 + 2.0),
            (x.at(0.0), y0 + ROW - 2.0),
            &format!(
                "kill #{} of {}",
                k.kill_id,
                identity::victim(report, k).full
            ),
        );
        svg.text("row-note", (WIDTH - RIGHT + 8.0, mid + 4.0), "start", &note);
    }
    svg.finish()
}
