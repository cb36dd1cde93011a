//! The comparison's three renderings: a terminal table, markdown for a pull-request comment or
//! a job summary, and JSON for scripts. Pure functions of the [`Comparison`].

use std::fmt::Write as _;

use super::{
    CompareVerdict, Comparison, Judgement, RunRef, SampleComparison, SloChangeKind, StatDelta,
};
use crate::report::Verdict;
use crate::vocabulary::slo::Stat;
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
    let abs = super::judge::signed_micros(d.delta_us);
    match d.change_percent {
        Some(p) => format!("{abs} ({p:+.1}%)"),
        None => abs,
    }
}

fn p_cell(p: Option<f64>) -> String {
    p.map_or_else(|| "–".to_string(), super::format_p)
}

fn effect_cell(d: &StatDelta) -> String {
    format!(
        "{} ({})",
        format_micros(d.min_effect_us),
        d.min_effect_from.as_str()
    )
}

fn status(d: &StatDelta) -> &'static str {
    if d.judged {
        d.result.as_str()
    } else {
        "not judged"
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

/// The method in one paragraph, the same in text and markdown.
fn method(c: &Comparison) -> String {
    let t = &c.thresholds;
    let tail = |stat| {
        super::samples_needed(stat, t.min_samples).map_or_else(String::new, |n| n.to_string())
    };
    format!(
        "Mann-Whitney U over each span's per-kill samples (two-sided, tie-corrected, normal \
         approximation) at alpha {}. A change counts only when it is significant and at least \
         the minimum effect: the largest of {} (noise floor), {}% of the baseline's value (max \
         regression) and {}% of the baseline's median total recovery, {} (share of total). \
         The median needs {} samples in each run, p90 {}, p99 {}; max is shown, never judged. \
         Probe availability: two-proportion z-test on failures, at least {} requests in each \
         run and a change of {} points or {}% of the baseline's failure rate.",
        t.alpha,
        format_micros(super::NOISE_FLOOR_US),
        t.max_regression_percent,
        t.min_share_percent,
        format_micros(c.share_floor_us),
        t.min_samples.max(1),
        tail(Stat::P90),
        tail(Stat::P99),
        super::MIN_PROBE_REQUESTS,
        super::AVAILABILITY_FLOOR_POINTS,
        t.max_regression_percent,
    )
}

fn verdict_line(c: &Comparison) -> String {
    let count = |j: Judgement| c.spans.iter().filter(|s| s.samples.result == j).count();
    let names = |j: Judgement| {
        c.spans
            .iter()
            .filter(|s| s.samples.result == j)
            .map(|s| s.span.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match c.verdict {
        CompareVerdict::Regressed => format!(
            "REGRESSED (significant at alpha {} and beyond the minimum effect): {}",
            c.thresholds.alpha,
            c.regressions().join(", ")
        ),
        CompareVerdict::NoRegression => {
            let mut line = format!(
                "no regression: spans {} unchanged, {} improved, {} inconclusive",
                count(Judgement::Unchanged),
                count(Judgement::Improved),
                count(Judgement::Inconclusive)
            );
            if count(Judgement::Inconclusive) > 0 {
                line.push_str(&format!(" ({})", names(Judgement::Inconclusive)));
            }
            line
        }
        CompareVerdict::Inconclusive => format!(
            "inconclusive: nothing could be judged (a span needs at least {} samples in both \
             runs); exit 0",
            c.thresholds.min_samples
        ),
    }
}

/// Rows of one sample comparison in the text table.
fn text_rows(out: &mut String, name: &str, s: &SampleComparison) {
    let samples = format!("{}→{}", s.baseline_count, s.current_count);
    if s.stats.is_empty() {
        let _ = writeln!(out, "{name:<11} {samples:>9}  {}", s.why);
        return;
    }
    for (i, d) in s.stats.iter().enumerate() {
        let (name, n) = if i == 0 {
            (name, samples.as_str())
        } else {
            ("", "")
        };
        let _ = writeln!(
            out,
            "{:<11} {:>9}  {:<4} {:>9} {:>9}  {:<19} {:>7}  {:<25} {}",
            name,
            n,
            d.stat.as_str(),
            format_micros(d.baseline_us),
            format_micros(d.current_us),
            change(d),
            p_cell(d.p_value),
            effect_cell(d),
            status(d)
        );
    }
    let _ = writeln!(
        out,
        "{:<11} {:>9}  → {}: {}",
        "",
        "",
        s.result.as_str(),
        s.why
    );
}

/// The comparison as a plain-text table for a terminal.
pub fn text(c: &Comparison) -> Vec<u8> {
    let mut out = String::new();
    let _ = writeln!(out, "baseline: {}", run(&c.baseline));
    let _ = writeln!(out, "current:  {}", run(&c.current));
    if let Some(note) = different_scenarios(c) {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(out, "judged by: {}\n", method(c));
    let _ = writeln!(
        out,
        "{:<11} {:>9}  {:<4} {:>9} {:>9}  {:<19} {:>7}  {:<25} result",
        "span", "samples", "stat", "baseline", "current", "change", "p", "min effect"
    );
    for s in &c.spans {
        text_rows(&mut out, s.span.as_str(), &s.samples);
    }
    if !c.probes.is_empty() {
        out.push_str("\nprobes:\n");
        for p in &c.probes {
            let a = &p.availability;
            let _ = writeln!(
                out,
                "{:<11} availability  {}/{} failed → {}/{}: {}: {}",
                p.name,
                a.baseline_failures,
                a.baseline_requests,
                a.current_failures,
                a.current_requests,
                a.result.as_str(),
                a.why
            );
            if let Some(l) = &p.latency {
                text_rows(&mut out, "  latency", l);
            }
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
    let _ = writeln!(out, "- **Judged by:** {}", method(c));
    out.push_str("\n## Recovery spans\n\n");
    out.push_str(MD_HEADER);
    for s in &c.spans {
        md_rows(&mut out, &format!("**{}**", s.span), &s.samples);
    }
    md_reasons(
        &mut out,
        c.spans.iter().map(|s| (s.span.to_string(), &s.samples)),
    );
    if !c.probes.is_empty() {
        out.push_str("\n## Probes\n\n");
        out.push_str("| Probe | Failed (baseline) | Failed (current) | p | Result | Why |\n");
        out.push_str("|---|---:|---:|---:|---|---|\n");
        for p in &c.probes {
            let a = &p.availability;
            let _ = writeln!(
                out,
                "| **{}** availability | {}/{} | {}/{} | {} | {} | {} |",
                p.name,
                a.baseline_failures,
                a.baseline_requests,
                a.current_failures,
                a.current_requests,
                p_cell(a.p_value),
                md_result(a.result, true),
                a.why
            );
        }
        let latencies: Vec<_> = c
            .probes
            .iter()
            .filter_map(|p| {
                p.latency
                    .as_ref()
                    .map(|l| (format!("{} latency", p.name), l))
            })
            .collect();
        if !latencies.is_empty() {
            out.push('\n');
            out.push_str(MD_HEADER);
            for (name, l) in &latencies {
                md_rows(&mut out, &format!("**{name}**"), l);
            }
            md_reasons(&mut out, latencies.iter().map(|(n, l)| (n.clone(), *l)));
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

const MD_HEADER: &str =
    "| Span | Samples | Stat | Baseline | Current | Change | p | Min effect | Result |\n\
                         |---|---:|---|---:|---:|---:|---:|---|---|\n";

fn md_result(j: Judgement, judged: bool) -> &'static str {
    match (judged, j) {
        (false, _) => "➖ not judged",
        (true, Judgement::Regressed) => "❌ regressed",
        (true, Judgement::Improved) => "✅ improved",
        (true, Judgement::Unchanged) => "✅ unchanged",
        (true, Judgement::Inconclusive) => "❔ inconclusive",
    }
}

fn md_rows(out: &mut String, name: &str, s: &SampleComparison) {
    let samples = format!("{} → {}", s.baseline_count, s.current_count);
    if s.stats.is_empty() {
        let _ = writeln!(
            out,
            "| {name} | {samples} | – | – | – | – | – | – | {} |",
            s.why
        );
        return;
    }
    for d in &s.stats {
        let _ = writeln!(
            out,
            "| {name} | {samples} | {} | {} | {} | {} | {} | {} | {} |",
            d.stat.as_str(),
            format_micros(d.baseline_us),
            format_micros(d.current_us),
            change(d),
            p_cell(d.p_value),
            effect_cell(d),
            md_result(d.result, d.judged)
        );
    }
}

fn md_reasons<'a>(out: &mut String, rows: impl Iterator<Item = (String, &'a SampleComparison)>) {
    out.push('\n');
    for (name, s) in rows {
        let _ = writeln!(out, "- **{name}**: {}: {}", s.result.as_str(), s.why);
    }
}
