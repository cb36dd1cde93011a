//! Axis ticks on round values: counts and durations step by 1, 2 or 5 times a power of ten
//! (2 s, 5 s, 100 ms), and time beyond a minute by whole minutes and hours, so no axis reads
//! 1.8 s, 3.6 s, 5.4 s.

use super::svg::{Linear, Svg};
use crate::vocabulary::units::format_micros;

/// The smallest step of 1, 2 or 5 times a power of ten giving at most `max_ticks` steps over
/// `range` (a range of 0 or less, or not finite, gets a step of 1).
pub fn nice_step(range: f64, max_ticks: f64) -> f64 {
    if !(range.is_finite() && range > 0.0) || max_ticks < 1.0 {
        return 1.0;
    }
    let rough = range / max_ticks;
    let mut decade = 10f64.powf(rough.log10().floor());
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * decade >= rough - rough * 1e-9 {
                return m * decade;
            }
        }
        decade *= 10.0;
    }
}

/// A step for a time axis in seconds: [`nice_step`] up to 10 s, then steps that divide a
/// minute or an hour (15 s, 30 s, 1, 2, 5, 10, 15, 30 minutes), then [`nice_step`] in hours,
/// so a label never reads 1m20s.
pub fn time_step_s(range_s: f64, max_ticks: f64) -> f64 {
    if range_s / max_ticks <= 10.0 {
        return nice_step(range_s, max_ticks);
    }
    const STEPS_S: [f64; 9] = [
        15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1_800.0, 3_600.0,
    ];
    STEPS_S
        .into_iter()
        .find(|s| range_s / s <= max_ticks)
        .unwrap_or_else(|| 3600.0 * nice_step(range_s / 3600.0, max_ticks))
}

/// The time axis along a chart's foot: a grid line and a label every round step from 0 to
/// `end_s` seconds (at most `max_ticks` of them) between `top` and `bottom`, and the caption
/// centred below.
pub fn time_axis(
    svg: &mut Svg,
    x: &Linear,
    (top, bottom): (f64, f64),
    (end_s, max_ticks): (f64, f64),
    (caption, caption_y): (&str, f64),
) {
    let step = time_step_s(end_s, max_ticks);
    let mut i = 0u32;
    loop {
        // Multiplying, not adding, so that the tenth tick is not 0.9999 of a step off.
        let t = f64::from(i) * step;
        if t > end_s + step * 1e-9 {
            break;
        }
        svg.line("grid", (x.at(t), top), (x.at(t), bottom), "");
        svg.text(
            "tick time-tick",
            (x.at(t), bottom + 16.0),
            "middle",
            &axis_time(t),
        );
        i += 1;
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

/// A count axis at `left` over the pixel range `bottom` (count 0) to `top`: a tick at every
/// round step, labelled at 0 and at the top (a short row has no room for more). Returns the count the axis tops out at, a whole number of steps
/// at or above `top_count`, for the caller to scale its bars to.
pub fn count_axis(
    svg: &mut Svg,
    left: f64,
    (bottom, top): (f64, f64),
    top_count: u64,
    max_ticks: f64,
) -> f64 {
    let step = nice_step(top_count.max(1) as f64, max_ticks).max(1.0);
    let top_value = (top_count.max(1) as f64 / step).ceil() * step;
    let y = Linear::new((0.0, top_value), (bottom, top));
    svg.line("count-axis", (left, top), (left, bottom), "");
    let mut i = 0u32;
    loop {
        let v = f64::from(i) * step;
        if v > top_value + 1e-9 {
            break;
        }
        svg.line("count-tick", (left - 4.0, y.at(v)), (left, y.at(v)), "");
        if i == 0 || v >= top_value - 1e-9 {
            svg.text(
                "tick count-label",
                (left - 6.0, y.at(v) + 4.0),
                "end",
                &format!("{v:.0}"),
            );
        }
        i += 1;
    }
    top_value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(40.0, 12.0), 5.0);
        assert_eq!(nice_step(4.0, 6.0), 1.0);
        assert_eq!(nice_step(18.0, 10.0), 2.0, "not 1.8");
        assert_eq!(nice_step(1.8, 10.0), 0.2);
        assert_eq!(nice_step(0.0, 10.0), 1.0);
        assert_eq!(nice_step(7.0, 2.0), 5.0);
    }

    #[test]
    fn time_beyond_a_minute_steps_by_minutes() {
        assert_eq!(time_step_s(9.0, 10.0), 1.0);
        assert_eq!(time_step_s(38.8, 12.0), 5.0);
        assert_eq!(time_step_s(600.0, 12.0), 60.0);
        assert_eq!(time_step_s(3000.0, 12.0), 300.0);
        assert_eq!(time_step_s(150.0, 12.0), 15.0, "not 20 s: no 1m20s label");
        assert_eq!(time_step_s(300.0, 12.0), 30.0);
        assert_eq!(time_step_s(8.0 * 3600.0, 12.0), 3600.0);
    }

    #[test]
    fn a_count_axis_tops_out_at_a_whole_step() {
        let mut svg = Svg::new("t", 10.0, 10.0, "t");
        assert_eq!(count_axis(&mut svg, 0.0, (100.0, 0.0), 7, 2.0), 10.0);
        assert_eq!(count_axis(&mut svg, 0.0, (100.0, 0.0), 1, 2.0), 1.0);
        assert_eq!(count_axis(&mut svg, 0.0, (100.0, 0.0), 3, 2.0), 4.0);
        let out = svg.finish();
        assert!(
            out.contains(">10</text>") && out.contains(">4</text>"),
            "{out}"
        );
        assert!(
            !out.contains(">5</text>"),
            "only 0 and the top are labelled: {out}"
        );
    }

    #[test]
    fn time_labels_are_round() {
        let step = time_step_s(9.2, 10.0);
        let labels: Vec<String> = (0..5).map(|i| axis_time(f64::from(i) * step)).collect();
        assert_eq!(labels, ["0", "1s", "2s", "3s", "4s"]);
    }
}
