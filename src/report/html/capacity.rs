//! `chart-capacity`: the pool's healthy count over the run, with the desired capacity, the
//! `min_healthy` floor, degraded spans shaded and one marker per kill.

use chrono::{DateTime, Utc};

use crate::report::RunReport;
use crate::vocabulary::phase::Phase;
use crate::vocabulary::units::format_micros;

use super::svg::{Linear, Svg};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 44.0;

/// A tick step (in the axis's unit) giving at most `max_ticks` ticks over `range`.
pub fn tick_step(range: f64, max_ticks: f64) -> f64 {
    const STEPS: [f64; 15] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
    ];
    STEPS
        .into_iter()
        .find(|s| range / s <= max_ticks)
        .unwrap_or(range / max_ticks)
}

/// The time axis along a chart's foot: a grid line and a label every `step` of `x`'s domain
/// from 0 to `end`, between `top` and `bottom`, and the caption centred below. `per_s` is how
/// many domain units make a second, for the labels.
pub fn time_axis(
    svg: &mut Svg,
    x: &Linear,
    (top, bottom): (f64, f64),
    (end, step, per_s): (f64, f64, f64),
    (caption, caption_y): (&str, f64),
) {
    let mut t = 0.0;
    while t <= end + 1e-9 {
        svg.line("grid", (x.at(t), top), (x.at(t), bottom), "");
        svg.text(
            "tick",
            (x.at(t), bottom + 16.0),
            "middle",
            &axis_time(t / per_s),
        );
        t += step;
    }
    let (left, right) = x.range();
    svg.text(
        "axis-label",
        ((left + right) / 2.0, caption_y),
        "middle",
        caption,
    );
}

/// A time-axis label: `0` at the origin, human durations elsewhere.
pub fn axis_time(seconds: f64) -> String {
    if seconds <= 0.0 {
        "0".to_string()
    } else {
        format_micros((seconds * 1e6).round() as u64)
    }
}

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
    let y_step = tick_step(f64::from(top_count), 6.0).max(1.0);
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
        (end_s, tick_step(end_s, 12.0), 1.0),
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
                k.victim_name,
                format_micros((at_s * 1e6).round() as u64)
            ),
        );
        svg.line("kill-line", (kx, TOP), (kx, HEIGHT - BOTTOM), "");
        svg.text(
            "kill-label",
            (kx, TOP - 6.0),
            "middle",
            &format!("#{}", k.kill_id),
        );
        svg.end_group();
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_stay_few_and_round() {
        assert_eq!(tick_step(40.0, 12.0), 5.0);
        assert_eq!(tick_step(4.0, 6.0), 1.0);
        assert_eq!(tick_step(600.0, 12.0), 60.0);
    }
}
