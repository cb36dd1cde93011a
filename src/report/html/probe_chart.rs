//! `chart-probes`: what the probes' clients saw over the run. Per probe, the share of requests
//! that succeeded and their latency, bucket by bucket, on the same time axis as the capacity
//! chart, with each kill's window (kill → restored) shaded, so a dip lines up with the kill
//! that caused it.

use crate::report::{ProbeBucket, ProbeReport, RunReport};
use crate::vocabulary::phase::Phase;
use crate::vocabulary::units::format_micros;

use super::axis::{axis_time, nice_step, time_axis};
use super::svg::{Linear, Svg};

const WIDTH: f64 = 960.0;
// The same margins as the capacity chart, so the two time axes line up on the page.
const LEFT: f64 = 60.0;
const RIGHT: f64 = 150.0;
const HEAD: f64 = 40.0;
const PANEL: f64 = 84.0;
const GAP: f64 = 28.0;
const FOOT: f64 = 40.0;

/// One probe's block: its heading, the availability panel, the latency panel and the axis.
const BLOCK: f64 = HEAD + PANEL + GAP + PANEL + FOOT;

/// Renders the chart, or `None` when no probe made a request.
pub fn chart(report: &RunReport) -> Option<String> {
    let probes: Vec<&ProbeReport> = report
        .probes
        .iter()
        .filter(|p| !p.over_time.is_empty())
        .collect();
    if probes.is_empty() {
        return None;
    }
    let run_s = (report.ended_at - report.started_at)
        .num_milliseconds()
        .max(0) as f64
        / 1e3;
    let end_s = probes
        .iter()
        .filter_map(|p| p.over_time.buckets.last().map(|b| end_of(p, b)))
        .fold(run_s, f64::max)
        .max(1e-3);
    let x = Linear::new((0.0, end_s), (LEFT, WIDTH - RIGHT));
    let mut svg = Svg::new(
        "chart-probes",
        WIDTH,
        BLOCK * probes.len() as f64,
        "Probe availability and latency over the run, with kill windows shaded",
    );
    for (i, p) in probes.into_iter().enumerate() {
        let top = BLOCK * i as f64;
        svg.text(
            "row-label",
            (LEFT, top + 14.0),
            "start",
            &format!("probe {} ({} {})", p.name, p.kind, p.endpoint),
        );
        let avail_top = top + HEAD;
        let lat_top = avail_top + PANEL + GAP;
        let bottom = lat_top + PANEL;
        kill_windows(&mut svg, report, &x, (avail_top, bottom), end_s);
        availability(&mut svg, p, &x, avail_top);
        latency(&mut svg, p, &x, lat_top);
        time_axis(
            &mut svg,
            &x,
            (bottom, bottom),
            (end_s, 12.0),
            ("time since the run started", bottom + 32.0),
        );
    }
    Some(svg.finish())
}

/// Seconds from the run's start to the end of bucket `b`.
fn end_of(p: &ProbeReport, b: &ProbeBucket) -> f64 {
    (b.offset_ms + p.over_time.bucket_ms) as f64 / 1e3
}

/// Each kill's window, from its kill mark to its restored mark (or to when firedrill gave up,
/// or the run's end), shaded over both panels.
fn kill_windows(
    svg: &mut Svg,
    report: &RunReport,
    x: &Linear,
    (top, bottom): (f64, f64),
    end_s: f64,
) {
    let secs = |at: chrono::DateTime<chrono::Utc>| {
        (at - report.started_at).num_milliseconds().max(0) as f64 / 1e3
    };
    // As on the capacity chart: a label too close to the one before goes up a line.
    let mut last_label: Option<(f64, u32)> = None;
    for k in &report.kills {
        let Some(from) = k.killed_at().map(secs) else {
            continue;
        };
        let to = k
            .phases
            .get(&Phase::Restored)
            .map(|m| secs(m.at))
            .or_else(|| k.unrecovered.as_ref().map(|u| secs(u.at)))
            .unwrap_or(end_s)
            .max(from);
        svg.rect(
            "kill-window",
            x.at(from),
            top,
            (x.at(to) - x.at(from)).max(1.5),
            bottom - top,
            &format!(
                "kill #{} of {}: {} to {}",
                k.kill_id,
                k.slot,
                axis_time(from),
                axis_time(to)
            ),
        );
        let line = match last_label {
            Some((x0, line)) if x.at(from) - x0 < 22.0 => (line + 1) % 2,
            _ => 0,
        };
        last_label = Some((x.at(from), line));
        svg.text(
            "kill-label",
            (x.at(from), top - 4.0 - 11.0 * f64::from(line)),
            "middle",
            &format!("#{}", k.kill_id),
        );
    }
}

/// The panel of successful requests in percent: a step line, and a red bar hanging from 100%
/// down to it wherever requests failed.
fn availability(svg: &mut Svg, p: &ProbeReport, x: &Linear, top: f64) {
    let y = Linear::new((0.0, 100.0), (top + PANEL, top));
    for v in [0.0, 50.0, 100.0] {
        svg.line("grid", (LEFT, y.at(v)), (WIDTH - RIGHT, y.at(v)), "");
        svg.text(
            "tick",
            (LEFT - 8.0, y.at(v) + 4.0),
            "end",
            &format!("{v:.0}%"),
        );
    }
    svg.text(
        "line-label",
        (WIDTH - RIGHT + 6.0, top + 12.0),
        "start",
        "availability",
    );
    let width_s = p.over_time.bucket_ms as f64 / 1e3;
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last_end = None;
    for b in &p.over_time.buckets {
        let (from, to) = (b.offset_ms as f64 / 1e3, end_of(p, b));
        let a = b.availability_percent();
        if b.failures > 0 {
            svg.rect(
                "probe-fail",
                x.at(from),
                y.at(100.0),
                x.at(to) - x.at(from),
                y.at(a) - y.at(100.0),
                &format!(
                    "{} of {} failed from {} to {}",
                    b.failures,
                    b.requests,
                    axis_time(from),
                    axis_time(from + width_s)
                ),
            );
        }
        // A bucket without requests breaks the line rather than bridging the gap.
        if last_end != Some(b.offset_ms) {
            runs.push(Vec::new());
        }
        last_end = Some(b.offset_ms + p.over_time.bucket_ms);
        if let Some(run) = runs.last_mut() {
            run.push((x.at(from), y.at(a)));
            run.push((x.at(to), y.at(a)));
        }
    }
    for run in runs {
        svg.polyline("availability", &run);
    }
}

/// The panel of latency: the mean of each bucket's successful requests as a line, and a thin
/// bar up to the bucket's slowest.
fn latency(svg: &mut Svg, p: &ProbeReport, x: &Linear, top: f64) {
    let slowest = p
        .over_time
        .buckets
        .iter()
        .filter_map(|b| b.latency_max_us)
        .max()
        .unwrap_or(1_000)
        .max(1) as f64;
    // Round microsecond ticks: 1-2-5 steps, three or so of them.
    let step = nice_step(slowest, 3.0);
    let top_us = (slowest / step).ceil() * step;
    let y = Linear::new((0.0, top_us), (top + PANEL, top));
    let mut i = 0u32;
    loop {
        let v = f64::from(i) * step;
        if v > top_us + step * 1e-9 {
            break;
        }
        svg.line("grid", (LEFT, y.at(v)), (WIDTH - RIGHT, y.at(v)), "");
        let label = if v <= 0.0 {
            "0".to_string()
        } else {
            format_micros(v.round() as u64)
        };
        svg.text("tick", (LEFT - 8.0, y.at(v) + 4.0), "end", &label);
        i += 1;
    }
    svg.text(
        "line-label",
        (WIDTH - RIGHT + 6.0, top + 12.0),
        "start",
        "latency: mean,",
    );
    svg.text(
        "line-label",
        (WIDTH - RIGHT + 6.0, top + 26.0),
        "start",
        "bar to slowest",
    );
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last_end = None;
    for b in &p.over_time.buckets {
        let (Some(mean), Some(max)) = (b.latency_mean_us, b.latency_max_us) else {
            last_end = None;
            continue;
        };
        let mid = x.at((b.offset_ms as f64 / 1e3 + end_of(p, b)) / 2.0);
        svg.line(
            "latency-max",
            (mid, y.at(mean as f64)),
            (mid, y.at(max as f64)),
            &format!(
                "at {}: mean {}, slowest {} of {} ok",
                axis_time(b.offset_ms as f64 / 1e3),
                format_micros(mean),
                format_micros(max),
                b.requests - b.failures
            ),
        );
        if last_end != Some(b.offset_ms) {
            runs.push(Vec::new());
        }
        last_end = Some(b.offset_ms + p.over_time.bucket_ms);
        if let Some(run) = runs.last_mut() {
            run.push((mid, y.at(mean as f64)));
        }
    }
    for run in runs {
        svg.polyline("latency-mean", &run);
    }
}
