//! `chart-capacity`: the pool's healthy count over the run, with the desired capacity, the
//! `min_healthy` floor, degraded spans shaded, one marker per kill, and a red tick along the
//! foot wherever a probe saw a failure.

use chrono::{DateTime, Utc};

use crate::report::{identity, RunReport};
use crate::vocabulary::phase::Phase;
use crate::vocabulary::units::format_micros;

use super::axis::{axis_time, nice_step, time_axis};
use super::svg::{Linear, Svg};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 32.0;
const BOTTOM: f64 = 44.0;
/// The width a kill's `#n` label needs before the next can sit on the same line.
const KILL_LABEL_PX: f64 = 22.0;

/// Renders the chart.
pub fn chart(report: &RunReport) -> String {
    let c = &report.capacity;
    let run_ms = (report.ended_at - report.started_at)
        .num_milliseconds()
        .max(0) as f64;
    let last_ms = c.timeline.last().map_or(0.0, |p| p.offset_ms as f64);
    let end_s = run_ms.max(last_ms) / 1e3;
    let top_count = c
        .timeline
        .iter()
        .map(|p| p.healthy)
        .max()
        .unwrap_or(0)
        .max(c.desired)
        .max(1);
    let x = Linear::new((0.0, end_s.max(1e-3)), (LEFT, WIDTH - RIGHT));
    let y = Linear::new((0.0, f64::from(top_count)), (HEIGHT - BOTTOM, TOP));
    let mut svg = Svg::new(
        "chart-capacity",
        WIDTH,
        HEIGHT,
        "Healthy capacity over the run, with kills marked",
    );

    // Axes and grid.
    let y_step = nice_step(f64::from(top_count), 6.0).max(1.0);
    let mut v = 0.0;
    while v <= f64::from(top_count) + 1e-9 {
        svg.line("grid", (LEFT, y.at(v)), (WIDTH - RIGHT, y.at(v)), "");
        svg.text(
            "tick",
            (LEFT - 8.0, y.at(v) + 4.0),
            "end",
            &format!("{v:.0}"),
        );
        v += y_step;
    }
    time_axis(
        &mut svg,
        &x,
        (TOP, HEIGHT - BOTTOM),
        (end_s, 12.0),
        ("time since the run started", HEIGHT - 8.0),
    );
    svg.text("axis-label", (14.0, TOP - 8.0), "start", "healthy");

    // Degraded spans: every step below desired, up to the next step or the end.
    for (i, p) in c.timeline.iter().enumerate() {
        if p.healthy >= c.desired {
            continue;
        }
        let from = p.offset_ms as f64 / 1e3;
        let to = c
            .timeline
            .get(i + 1)
            .map_or(end_s, |n| n.offset_ms as f64 / 1e3);
        svg.rect(
            "degraded",
            x.at(from),
            TOP,
            x.at(to) - x.at(from),
            HEIGHT - BOTTOM - TOP,
            &format!(
                "{} of {} healthy for {}",
                p.healthy,
                c.desired,
                format_micros(((to - from) * 1e6).round() as u64)
            ),
        );
    }

    // Spans the platform's events were lost: capacity there is what firedrill last knew, not
    // what the platform did, so the reader must see where the line stops being evidence.
    for o in &report.outages {
        let secs =
            |at: DateTime<Utc>| (at - report.started_at).num_milliseconds().max(0) as f64 / 1e3;
        let from = secs(o.lost_at).min(end_s);
        let to = o.back_at.map_or(end_s, secs).min(end_s);
        svg.rect(
            "outage",
            x.at(from),
            TOP,
            x.at(to) - x.at(from),
            HEIGHT - BOTTOM - TOP,
            &format!(
                "platform events lost for {}: {}",
                format_micros((o.seconds * 1e6).round() as u64),
                o.reason
            ),
        );
    }

    let desired = f64::from(c.desired);
    svg.line(
        "desired",
        (LEFT, y.at(desired)),
        (WIDTH - RIGHT, y.at(desired)),
        "",
    );
    svg.text(
        "line-label desired-label",
        (WIDTH - RIGHT + 6.0, y.at(desired) + 4.0),
        "start",
        &format!("desired {}", c.desired),
    );
    if let Some(floor) = c.min_healthy_floor {
        let fy = y.at(f64::from(floor));
        svg.line("floor", (LEFT, fy), (WIDTH - RIGHT, fy), "");
        svg.text(
            "line-label floor-label",
            (WIDTH - RIGHT + 6.0, fy + 4.0),
            "start",
            &format!("min_healthy floor {floor}"),
        );
    }

    // The healthy count as a step function.
    let mut points = Vec::new();
    for p in &c.timeline {
        let px = x.at(p.offset_ms as f64 / 1e3);
        if let Some(&(_, prev_y)) = points.last() {
            points.push((px, prev_y));
        }
        points.push((px, y.at(f64::from(p.healthy))));
    }
    if let Some(&(_, last_y)) = points.last() {
        points.push((x.at(end_s), last_y));
    }
    svg.polyline("healthy", &points);

    probe_failures(&mut svg, report, &x);

    // Kills a moment apart (one per target at the same tick) would print their numbers on top
    // of each other: each label too close to the one before goes up a line.
    let mut last_label: Option<(f64, u32)> = None;
    for k in &report.kills {
        let Some(mark) = k.phases.get(&Phase::Kill) else {
            continue;
        };
        let at_s = (mark.at - report.started_at).num_milliseconds().max(0) as f64 / 1e3;
        let kx = x.at(at_s);
        let outcome = match (&k.unrecovered, k.recovery_us) {
            (Some(u), _) => format!("unrecovered, stalled in {}", u.stalled_in),
            (None, Some(us)) => format!("recovered in {}", format_micros(us)),
            (None, None) => "no outcome".to_string(),
        };
        svg.group(
            "kill-marker",
            &format!(
                "kill #{} of {} at {}: {outcome}",
                k.kill_id,
                identity::victim(report, k).short,
                format_micros((at_s * 1e6).round() as u64)
            ),
        );
        svg.line("kill-line", (kx, TOP), (kx, HEIGHT - BOTTOM), "");
        let line = match last_label {
            Some((x0, line)) if kx - x0 < KILL_LABEL_PX => (line + 1) % 2,
            _ => 0,
        };
        last_label = Some((kx, line));
        svg.text(
            "kill-label",
            (kx, TOP - 6.0 - 11.0 * f64::from(line)),
            "middle",
            &format!("#{}", k.kill_id),
        );
        svg.end_group();
    }
    svg.finish()
}

/// A red tick along the foot of the chart for each probe bucket that saw a failure, so a
/// reader sees whether the clients noticed a dip in capacity.
fn probe_failures(svg: &mut Svg, report: &RunReport, x: &Linear) {
    for p in &report.probes {
        let width_s = p.over_time.bucket_ms as f64 / 1e3;
        for b in p.over_time.buckets.iter().filter(|b| b.failures > 0) {
            let from = b.offset_ms as f64 / 1e3;
            let (x0, x1) = (x.at(from), x.at(from + width_s));
            svg.rect(
                "probe-failure",
                x0,
                HEIGHT - BOTTOM - 6.0,
                (x1 - x0).max(2.0),
                6.0,
                &format!(
                    "probe {}: {} of {} failed from {} to {}",
                    p.name,
                    b.failures,
                    b.requests,
                    axis_time(from),
                    axis_time(from + width_s)
                ),
            );
        }
    }
}
