//! A small SVG writer and the two scales the charts use. Written by hand rather than through a
//! plotting crate so every element can carry the ids and classes the page's tests and print
//! styles rely on (`chart-*`, `kill-marker`), and so the output is byte-stable.

use std::fmt::Write as _;

use crate::vocabulary::units::format_micros;

/// Text made safe inside HTML or SVG, in element content and in quoted attributes alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate, rounded to a tenth of a pixel so output is stable and short.
fn n(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.1}");
    match s.strip_suffix(".0") {
        Some("-0") => "0".to_string(),
        Some(whole) => whole.to_string(),
        None => s,
    }
}

/// One `<svg>` element being written.
pub struct Svg {
    buf: String,
}

impl Svg {
    /// Opens an `<svg>` with an id, a size in pixels and an accessible title.
    pub fn new(id: &str, width: f64, height: f64, title: &str) -> Svg {
        let mut buf = String::new();
        let _ = write!(
            buf,
            r#"<svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{title}</title>"#,
            id = escape(id),
            w = n(width),
            h = n(height),
            title = escape(title),
        );
        Svg { buf }
    }

    /// A rectangle with a class and a hover title.
    pub fn rect(&mut self, class: &str, x: f64, y: f64, w: f64, h: f64, title: &str) {
        let _ = write!(
            self.buf,
            r#"<rect class="{}" x="{}" y="{}" width="{}" height="{}">"#,
            escape(class),
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0))
        );
        self.title(title);
        self.buf.push_str("</rect>");
    }

    /// A straight line with a class and an optional hover title.
    pub fn line(&mut self, class: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64), title: &str) {
        let _ = write!(
            self.buf,
            r#"<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}">"#,
            escape(class),
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
        self.title(title);
        self.buf.push_str("</line>");
    }

    /// A polyline through `points`, for step functions.
    pub fn polyline(&mut self, class: &str, points: &[(f64, f64)]) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let _ = write!(
            self.buf,
            r#"<polyline class="{}" points="{}"/>"#,
            escape(class),
            pts.join(" ")
        );
    }

    /// Text anchored at `(x, y)`; `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, class: &str, (x, y): (f64, f64), anchor: &str, text: &str) {
        let _ = write!(
            self.buf,
            r#"<text class="{}" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            escape(class),
            n(x),
            n(y),
            escape(text)
        );
    }

    /// Opens a group with a class and a hover title; close it with [`Svg::end_group`].
    pub fn group(&mut self, class: &str, title: &str) {
        let _ = write!(self.buf, r#"<g class="{}">"#, escape(class));
        self.title(title);
    }

    /// Closes the group opened last.
    pub fn end_group(&mut self) {
        self.buf.push_str("</g>");
    }

    fn title(&mut self, title: &str) {
        if !title.is_empty() {
            let _ = write!(self.buf, "<title>{}</title>", escape(title));
        }
    }

    /// Closes the element and returns its text.
    pub fn finish(mut self) -> String {
        self.buf.push_str("</svg>");
        self.buf
    }
}

/// Maps a value range onto a pixel range, linearly.
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Linear {
    /// Maps `lo..hi` onto `from..to` (an empty range maps everything to `from`).
    pub fn new((lo, hi): (f64, f64), (from, to): (f64, f64)) -> Linear {
        Linear { lo, hi, from, to }
    }

    /// The pixel for `v`, clamped to the range.
    pub fn at(&self, v: f64) -> f64 {
        if self.hi <= self.lo {
            return self.from;
        }
        let t = ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        self.from + t * (self.to - self.from)
    }

    /// The pixel range, `(from, to)`.
    pub fn range(&self) -> (f64, f64) {
        (self.from, self.to)
    }
}

/// Maps microseconds onto pixels on a log₁₀ axis spanning whole decades.
#[derive(Debug, Clone, Copy)]
pub struct LogMicros {
    /// Lowest decade's value, microseconds (a power of ten).
    pub lo: u64,
    /// Highest decade's value, microseconds (a power of ten, above `lo`).
    pub hi: u64,
    from: f64,
    to: f64,
}

impl LogMicros {
    /// The smallest whole-decade axis holding every value in `lo_us..=hi_us`, onto `from..to`.
    pub fn covering(lo_us: u64, hi_us: u64, (from, to): (f64, f64)) -> LogMicros {
        let floor = decade_at_or_below(lo_us.max(1));
        let mut ceil = decade_at_or_below(hi_us.max(1));
        if ceil < hi_us.max(1) || ceil <= floor {
            ceil = ceil.saturating_mul(10);
        }
        LogMicros {
            lo: floor,
            hi: ceil.max(floor.saturating_mul(10)),
            from,
            to,
        }
    }

    /// The pixel for `us`, clamped to the axis (zero sits at its left edge).
    pub fn at(&self, us: f64) -> f64 {
        let (lo, hi) = ((self.lo as f64).log10(), (self.hi as f64).log10());
        let v = us.max(self.lo as f64).log10();
        let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        self.from + t * (self.to - self.from)
    }

    /// Each decade on the axis, with its label.
    pub fn decades(&self) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        let mut d = self.lo;
        while d <= self.hi {
            out.push((d, format_micros(d)));
            match d.checked_mul(10) {
                Some(next) => d = next,
                None => break,
            }
        }
        out
    }
}

/// The largest power of ten at or below `v` (v ≥ 1).
fn decade_at_or_below(v: u64) -> u64 {
    let mut d = 1u64;
    while let Some(next) = d.checked_mul(10) {
        if next > v {
            break;
        }
        d = next;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn a_log_axis_spans_whole_decades_around_its_values() {
        let axis = LogMicros::covering(1_300, 2_500_000, (0.0, 400.0));
        assert_eq!((axis.lo, axis.hi), (1_000, 10_000_000));
        assert_eq!(axis.at(1_000.0), 0.0);
        assert_eq!(axis.at(10_000_000.0), 400.0);
        assert_eq!(axis.at(100_000.0), 200.0);
        assert_eq!(axis.at(0.0), 0.0, "zero clamps to the left edge");
        assert_eq!(axis.decades().len(), 5);
        assert_eq!(axis.decades()[0].1, "1ms");
    }

    #[test]
    fn a_single_value_still_gets_one_decade() {
        let axis = LogMicros::covering(1_000, 1_000, (0.0, 10.0));
        assert_eq!((axis.lo, axis.hi), (1_000, 10_000));
    }

    #[test]
    fn coordinates_are_short_and_stable() {
        assert_eq!(n(1.0), "1");
        assert_eq!(n(1.24), "1.2");
        assert_eq!(n(-0.01), "0");
        assert_eq!(n(f64::NAN), "0");
    }
}
