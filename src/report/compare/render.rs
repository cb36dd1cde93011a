//! The comparison's three renderings: a terminal table, markdown for a pull-request comment or
//! a job summary, and JSON for scripts. Pure functions of the [`Comparison`].

use std::fmt::Write as _;

use super::{CompareVerdict, Comparison, RunRef, SloChangeKind, SpanComparison, StatDelta};
use crate::report::Verdict;
use crate::vocabulary::units::format_micros;

/// The comparison as JSON.
pub fn json(c: &Comparison) -> Vec<u8> {
    // The model holds only strings, numbers and enums: serialising it cannot fail, and an
    // empty output would fail any consumer loudly rather than mislead it.
    let mut out = serde_json::to_vec_pretty(c).unwrap_or_default();
    out.push(b'\n');
    out
}

fn run(r: &RunRef) -> String {
    format!(
        "{} (seed {}, started {}, {}{})",
        r.scenario,
        r.seed,
        r.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        match r.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Aborted => "aborted",
        },
        if r.partial { ", partial" } else { "" }
    )
}

fn change(d: &StatDelta) -> String {
    let sign = if d.delta_us < 0 { "-" } else { "+" };
    let abs = format_micros(d.delta_us.unsigned_abs());
    match d.change_percent {
        Some(p) => format!("{sign}{abs} ({p:+.1}%)"),
        None => format!("{sign}{abs}"),
    }
}

fn status(c: &Comparison, span: &SpanComparison, d: &StatDelta) -> &'static str {
    let grew_beyond = d
        .change_percent
        .is_some_and(|p| p > c.thresholds.max_regression_percent);
    if !span.judged {
        "not judged"
    } else if d.regressed {
        "REGRESSED"
    } else if grew_beyond {
        "ok (within noise)"
    } else {
        "ok"
    }
}

fn different_scenarios(c: &Comparison) -> Option<String> {
    (c.baseline.scenario != c.current.scenario).then(|| {
        format!(
            "note: the runs are of different scenarios ({} and {})",
            c.baseline.scenario, c.current.scenario
        )
    })
}

fn verdict_line(c: &Comparison) -> String {
    let t = &c.thresholds;
    match c.verdict {
        CompareVerdict::Regressed => format!(
            "REGRESSED beyond {}%: {}",
            t.max_regression_percent,
            c.regressions().join(", ")
        ),
        CompareVerdict::NoRegression => format!(
            "no regression beyond {}% in any judged percentile",
            t.max_regression_percent
        ),
        CompareVerdict::Inconclusive => format!(
            "inconclusive: no span has at least {} samples in both runs, so nothing was judged",
            t.min_samples
        ),
    }
}

/// The comparison as a plain-text table for a terminal.
pub fn text(c: &Comparison) -> Vec<u8> {
    let mut out = String::new();
    let _ = writeln!(out, "baseline: {}", run(&c.baseline));
    let _ = writeln!(out, "current:  {}", run(&c.current));
    if let Some(note) = different_scenarios(c) {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(
        out,
        "judged by: a percentile regresses when it grows more than {}% (and by at least {}); \
         spans need {} samples in each run\n",
        c.thresholds.max_regression_percent,
        format_micros(super::NOISE_FLOOR_US),
        c.thresholds.min_samples
    );
    let _ = writeln!(
        out,
        "{:<11} {:>9}  {:<5} {:>10} {:>10}  {:<22} result",
        "span", "samples", "stat", "baseline", "current", "change"
    );
    for s in &c.spans {
        let samples = format!("{}→{}", s.baseline_count, s.current_count);
        if s.stats.is_empty() {
            let _ = writeln!(
                out,
                "{:<11} {:>9}  {}",
                s.span.as_str(),
                samples,
                s.inconclusive.as_deref().unwrap_or("no samples")
            );
            continue;
        }
        for (i, d) in s.stats.iter().enumerate() {
            let (name, n) = if i == 0 {
                (s.span.as_str(), samples.as_str())
            } else {
                ("", "")
            };
            let _ = writeln!(
                out,
                "{:<11} {:>9}  {:<5} {:>10} {:>10}  {:<22} {}",
                name,
                n,
                d.stat.as_str(),
                format_micros(d.baseline_us),
                format_micros(d.current_us),
                change(d),
                status(c, s, d)
            );
        }
        if let Some(why) = &s.inconclusive {
            let _ = writeln!(out, "{:<11} {:>9}  inconclusive: {why}", "", "");
        }
    }
    let changed: Vec<_> = c
        .slos
        .iter()
        .filter(|s| s.change != SloChangeKind::StillPassing)
        .collect();
    out.push('\n');
    if changed.is_empty() {
        out.push_str("SLOs: every SLO holds in both runs\n");
    } else {
        out.push_str("SLOs:\n");
        for s in changed {
            let _ = writeln!(
                out,
                "  {:<14} {}: {} → {}",
                s.change.as_str(),
                s.slo,
                s.baseline.as_ref().map_or("–", |b| b.measured.as_str()),
                s.current.as_ref().map_or("–", |c| c.measured.as_str())
            );
        }
    }
    let _ = writeln!(out, "\nverdict: {}", verdict_line(c));
    out.into_bytes()
}

/// The comparison as markdown.
pub fn markdown(c: &Comparison) -> Vec<u8> {
    let mut out = String::new();
    let icon = match c.verdict {
        CompareVerdict::Regressed => "❌",
        CompareVerdict::NoRegression => "✅",
        CompareVerdict::Inconclusive => "❔",
    };
    let _ = writeln!(out, "# firedrill compare {icon}\n");
    let _ = writeln!(out, "**{}**\n", verdict_line(c));
    let _ = writeln!(out, "- **Baseline:** {}", run(&c.baseline));
    let _ = writeln!(out, "- **Current:** {}", run(&c.current));
    if let Some(note) = different_scenarios(c) {
        let _ = writeln!(out, "- **Note:** {}", note.trim_start_matches("note: "));
    }
    let _ = writeln!(
        out,
        "- **Judged by:** more than {}% growth (and at least {}); {} samples per span in each run",
        c.thresholds.max_regression_percent,
        format_micros(super::NOISE_FLOOR_US),
        c.thresholds.min_samples
    );
    out.push_str("\n## Recovery spans\n\n");
    out.push_str("| Span | Samples | Stat | Baseline | Current | Change | Result |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---|\n");
    for s in &c.spans {
        let samples = format!("{} → {}", s.baseline_count, s.current_count);
        if s.stats.is_empty() {
            let _ = writeln!(
                out,
                "| **{}** | {samples} | – | – | – | – | {} |",
                s.span,
                s.inconclusive.as_deref().unwrap_or("no samples")
            );
            continue;
        }
        for d in &s.stats {
            let result = match status(c, s, d) {
                "REGRESSED" => "❌ regressed".to_string(),
                "ok" => "✅ ok".to_string(),
                "ok (within noise)" => "✅ ok (within noise)".to_string(),
                _ => "❔ inconclusive".to_string(),
            };
            let _ = writeln!(
                out,
                "| **{}** | {samples} | {} | {} | {} | {} | {result} |",
                s.span,
                d.stat.as_str(),
                format_micros(d.baseline_us),
                format_micros(d.current_us),
                change(d)
            );
        }
    }
    out.push_str("\n## SLOs\n\n");
    if c.slos.is_empty() {
        out.push_str("Neither run sets SLOs.\n");
    } else {
        out.push_str("| SLO | Baseline | Current | Change |\n|---|---|---|---|\n");
        for s in &c.slos {
            let side = |x: &Option<super::SloSide>| match x {
                Some(x) => format!("{} {}", if x.passed { "✅" } else { "❌" }, x.measured),
                None => "–".to_string(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                s.slo.replace('|', "\\|"),
                side(&s.baseline),
                side(&s.current),
                s.change.as_str()
            );
        }
    }
    out.into_bytes()
}
