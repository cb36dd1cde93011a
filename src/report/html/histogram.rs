//! The recovery-time histograms (total and each phase, on one log-scaled axis) and the phase
//! breakdown: where the typical recovery spends its time.

use crate::report::{HistogramSummary, RunReport};
use crate::vocabulary::phase::Span;
use crate::vocabulary::units::format_micros;

use super::axis::count_axis;
use super::svg::{LogMicros, Svg};

/// Bins per decade of the log axis: fine enough to see a bimodal pipeline, coarse enough that a
/// handful of kills still makes visible bars.
const BINS_PER_DECADE: u32 = 4;
const WIDTH: f64 = 960.0;
const LEFT: f64 = 200.0;
const RIGHT: f64 = 100.0;
const ROW: f64 = 72.0;
const TOP: f64 = 22.0;
const AXIS: f64 = 34.0;
/// Room above a histogram row's bars for its p50 and p99 labels.
const LABELS: f64 = 24.0;
/// Width of one character of an 11px label, near enough to keep labels apart.
const CHAR_PX: f64 = 6.6;

/// One span's summary and its recorded values, as `(value µs, count)`.
type SpanSamples<'a> = (Span, &'a HistogramSummary, Vec<(u64, u64)>);

/// The spans shown with a histogram, and their recorded values.
fn samples(report: &RunReport) -> Vec<SpanSamples<'_>> {
    report
        .shown_spans()
        .iter()
        .filter_map(|span| {
            let summary = report.histograms.get(span)?;
            // A histogram that does not decode (a hand-edited report.json) is drawn from its
            // percentiles alone rather than failing the page.
            let values = summary
                .decode()
                .map(|h| {
                    h.iter_recorded()
                        .map(|v| {
                            (
                                h.median_equivalent(v.value_iterated_to()),
                                v.count_at_value(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some((*span, summary, values))
        })
        .collect()
}

/// The axis shared by both charts: every span's smallest to largest sample.
fn axis(report: &RunReport) -> LogMicros {
    let with_data = || report.histograms.values().filter(|h| h.count > 0);
    // Zero-length spans (a pool already whole when the replacement turned healthy) would
    // stretch the axis down to 1µs; they sit at its left edge instead.
    let lo = with_data()
        .filter_map(|h| {
            [h.min_us, h.p50_us, h.p90_us, h.p99_us, h.max_us]
                .into_iter()
                .find(|v| *v > 0)
        })
        .min()
        .unwrap_or(1_000);
    let hi = with_data().map(|h| h.max_us).max().unwrap_or(1_000_000);
    LogMicros::covering(lo, hi, (LEFT, WIDTH - RIGHT))
}

fn draw_axis(svg: &mut Svg, axis: &LogMicros, top: f64, bottom: f64) {
    for (us, label) in axis.decades() {
        let x = axis.at(us as f64);
        svg.line("grid", (x, top), (x, bottom), "");
        svg.text("tick", (x, bottom + 16.0), "middle", &label);
    }
    svg.text(
        "axis-label",
        ((LEFT + WIDTH - RIGHT) / 2.0, bottom + 30.0),
        "middle",
        "duration (log scale)",
    );
}

/// `chart-histogram`: one row per span, bars of log-spaced bins, p50 and p99 marked.
pub fn recovery_histogram(report: &RunReport) -> String {
    let rows = samples(report);
    let axis = axis(report);
    let height = TOP + ROW * rows.len().max(1) as f64 + AXIS;
    let mut svg = Svg::new(
        "chart-histogram",
        WIDTH,
        height,
        "Recovery-time histograms, total and per phase, on a log-scaled axis",
    );
    let bottom = TOP + ROW * rows.len().max(1) as f64;
    draw_axis(&mut svg, &axis, TOP, bottom);
    svg.text("axis-label", (LEFT, TOP - 8.0), "middle", "count");
    let (lo_exp, hi_exp) = (exponent(axis.lo), exponent(axis.hi));
    let bins = ((hi_exp - lo_exp) * BINS_PER_DECADE).max(1) as usize;
    for (i, (span, summary, values)) in rows.iter().enumerate() {
        let y0 = TOP + ROW * i as f64;
        let base = y0 + ROW - 8.0;
        let (from, to) = span.bounds();
        svg.text(
            "row-label",
            (LEFT - 40.0, y0 + ROW / 2.0),
            "end",
            span.as_str(),
        );
        // Zero-length samples have no place on a log axis: they are counted, not drawn.
        let zeros: u64 = values
            .iter()
            .filter(|(us, _)| *us == 0)
            .map(|(_, c)| c)
            .sum();
        svg.text(
            "row-sub",
            (LEFT - 40.0, y0 + ROW / 2.0 + 14.0),
            "end",
            &format!("{from}→{to}, n={}", summary.count),
        );
        if zeros > 0 {
            svg.text(
                "row-note",
                (LEFT + 8.0, base - 6.0),
                "start",
                &format!(
                    "{zeros} of {} took 0 (not drawn on a log axis)",
                    summary.count
                ),
            );
        }
        svg.line("baseline", (LEFT, base), (WIDTH - RIGHT, base), "");
        let mut counts = vec![0u64; bins];
        for &(us, count) in values.iter().filter(|(us, _)| *us > 0) {
            counts[bin_of(us, lo_exp, bins)] += count;
        }
        let tallest = counts.iter().copied().max().unwrap_or(0).max(1);
        // Each row's bars stand on a count axis of their own, up to a round count.
        let bar_top = y0 + LABELS;
        let top_count = count_axis(&mut svg, LEFT, (base, bar_top), tallest, 3.0);
        for (b, &count) in counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (lo_us, hi_us) = bin_edges(b, lo_exp);
            let (x0, x1) = (axis.at(lo_us), axis.at(hi_us));
            let h = (base - bar_top) * count as f64 / top_count;
            svg.rect(
                &format!("bar span-{span}"),
                x0 + 0.5,
                base - h,
                x1 - x0 - 1.0,
                h,
                &format!(
                    "{span}: {count} between {} and {}",
                    format_micros(lo_us as u64),
                    format_micros(hi_us as u64)
                ),
            );
        }
        if summary.count > 0 {
            percentile_ticks(&mut svg, &axis, span, summary, (y0 + LABELS - 14.0, base));
            svg.text(
                "row-note",
                (WIDTH - RIGHT + 6.0, y0 + ROW / 2.0 + 4.0),
                "start",
                &format!("max {}", format_micros(summary.max_us)),
            );
        } else {
            svg.text("row-note", (LEFT + 8.0, base - 6.0), "start", "no samples");
        }
    }
    if rows.is_empty() {
        svg.text(
            "row-note",
            (LEFT + 8.0, TOP + ROW / 2.0),
            "start",
            "no kills, no recoveries",
        );
    }
    svg.finish()
}

/// The p50 and p99 of a row as dashed ticks from `label_y` down to `base`, each labelled. p50's
/// label ends left of its tick and p99's starts right of its own, so they cannot overlap
/// (p50 ≤ p99); when p50's label would cross the count axis it moves right of its tick, and
/// p99's moves along past it.
fn percentile_ticks(
    svg: &mut Svg,
    axis: &LogMicros,
    span: &Span,
    summary: &HistogramSummary,
    (label_y, base): (f64, f64),
) {
    let p50 = (
        axis.at(summary.p50_us as f64),
        format!("p50 {}", format_micros(summary.p50_us)),
    );
    let p99 = (
        axis.at(summary.p99_us as f64),
        format!("p99 {}", format_micros(summary.p99_us)),
    );
    let width = |text: &str| text.chars().count() as f64 * CHAR_PX;
    let (p50_x, p50_anchor, p50_end) = if p50.0 - 4.0 - width(&p50.1) >= LEFT + 4.0 {
        (p50.0 - 4.0, "end", p50.0)
    } else {
        (p50.0 + 4.0, "start", p50.0 + 4.0 + width(&p50.1))
    };
    let p99_x = (p99.0 + 4.0).max(p50_end + 8.0);
    for (name, us, x, label_x, anchor, label) in [
        ("p50", summary.p50_us, p50.0, p50_x, p50_anchor, &p50.1),
        ("p99", summary.p99_us, p99.0, p99_x, "start", &p99.1),
    ] {
        svg.line(
            &format!("pct pct-{name}"),
            (x, label_y + 4.0),
            (x, base),
            &format!("{span} {name} {}", format_micros(us)),
        );
        svg.text(
            &format!("pct-label pct-{name}-label"),
            (label_x, label_y),
            anchor,
            label,
        );
    }
}

/// `chart-phases`: a stacked bar of each phase's mean (the typical recovery, split by where it
/// went), and below it each phase's p50–p99 range and max on the shared log axis.
pub fn phase_breakdown(report: &RunReport) -> String {
    let phases: Vec<(Span, &HistogramSummary)> = report
        .shown_spans()
        .iter()
        .filter(|s| **s != Span::Total)
        .filter_map(|s| report.histograms.get(s).map(|h| (*s, h)))
        .collect();
    let axis = axis(report);
    let stack_h = 64.0;
    let row = 30.0;
    let ranges_top = TOP + stack_h;
    let bottom = ranges_top + row * phases.len().max(1) as f64;
    let mut svg = Svg::new(
        "chart-phases",
        WIDTH,
        bottom + AXIS,
        "Phase breakdown: mean time per phase, and each phase's p50 to p99 range",
    );
    // The stacked bar is linear: its segments add up to the mean recovery.
    let total_mean: f64 = phases.iter().map(|(_, h)| h.mean_us).sum();
    svg.text(
        "row-label",
        (LEFT - 10.0, TOP + 26.0),
        "end",
        "mean recovery",
    );
    svg.text(
        "row-sub",
        (LEFT - 10.0, TOP + 40.0),
        "end",
        &format!("{} in all", format_micros(total_mean.round() as u64)),
    );
    let mut x = LEFT;
    let span_px = WIDTH - RIGHT - LEFT;
    for (span, h) in &phases {
        if total_mean <= 0.0 || h.count == 0 {
            continue;
        }
        let w = span_px * h.mean_us / total_mean;
        svg.rect(
            &format!("bar span-{span}"),
            x,
            TOP + 14.0,
            w,
            28.0,
            &format!(
                "{span}: mean {} ({:.0}% of recovery)",
                format_micros(h.mean_us.round() as u64),
                100.0 * h.mean_us / total_mean
            ),
        );
        if w > 60.0 {
            svg.text(
                "bar-label",
                (x + w / 2.0, TOP + 32.0),
                "middle",
                span.as_str(),
            );
        }
        x += w;
    }
    draw_axis(&mut svg, &axis, ranges_top, bottom);
    for (i, (span, h)) in phases.iter().enumerate() {
        let y = ranges_top + row * i as f64 + row / 2.0;
        svg.text("row-label", (LEFT - 10.0, y + 4.0), "end", span.as_str());
        if h.count == 0 {
            svg.text("row-note", (LEFT + 8.0, y + 4.0), "start", "no samples");
            continue;
        }
        let (x50, x99) = (axis.at(h.p50_us as f64), axis.at(h.p99_us as f64));
        svg.rect(
            &format!("range span-{span}"),
            x50,
            y - 7.0,
            (x99 - x50).max(2.0),
            14.0,
            &format!(
                "{span}: p50 {}, p90 {}, p99 {}, max {}",
                format_micros(h.p50_us),
                format_micros(h.p90_us),
                format_micros(h.p99_us),
                format_micros(h.max_us)
            ),
        );
        let xmax = axis.at(h.max_us as f64);
        svg.line("max-tick", (xmax, y - 9.0), (xmax, y + 9.0), "");
        svg.text(
            "row-note",
            (WIDTH - RIGHT + 6.0, y + 4.0),
            "start",
            &format!("p50 {}", format_micros(h.p50_us)),
        );
    }
    svg.finish()
}

/// log₁₀ of a power of ten.
fn exponent(decade: u64) -> u32 {
    decade.max(1).ilog10()
}

/// Which log bin holds `us`; values off either end land in the first or last bin.
fn bin_of(us: u64, lo_exp: u32, bins: usize) -> usize {
    let pos = ((us.max(1) as f64).log10() - f64::from(lo_exp)) * f64::from(BINS_PER_DECADE);
    (pos.floor().max(0.0) as usize).min(bins - 1)
}

/// A bin's lower and upper edge, microseconds.
fn bin_edges(bin: usize, lo_exp: u32) -> (f64, f64) {
    let edge = |b: usize| 10f64.powf(f64::from(lo_exp) + b as f64 / f64::from(BINS_PER_DECADE));
    (edge(bin), edge(bin + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fall_into_their_log_bins() {
        // Axis from 1 ms (10^3): four bins per decade.
        assert_eq!(bin_of(1_000, 3, 12), 0);
        assert_eq!(bin_of(1_800, 3, 12), 1, "10^3.25 ≈ 1778");
        assert_eq!(bin_of(10_000, 3, 12), 4);
        assert_eq!(bin_of(1, 3, 12), 0, "below the axis: first bin");
        assert_eq!(bin_of(u64::MAX, 3, 12), 11, "above the axis: last bin");
        let (lo, hi) = bin_edges(4, 3);
        assert!((lo - 10_000.0).abs() < 1e-6 && hi > lo);
    }
}
