use chrono::Duration;

use super::*;
use crate::report::build::fixtures;
use crate::report::{HistogramSummary, PhaseMark};
use crate::vocabulary::phase::Phase;

const T: Thresholds = Thresholds {
    max_regression_percent: 20.0,
    min_samples: DEFAULT_MIN_SAMPLES,
    alpha: DEFAULT_ALPHA,
    min_share_percent: DEFAULT_MIN_SHARE_PERCENT,
};

/// A report with one kill per entry of `spans`: (detect, reschedule, boot, warm_up, restore)
/// in microseconds, so every span's samples are known exactly.
fn with_kills(spans: &[[u64; 5]]) -> RunReport {
    let mut r = fixtures::report("recorded-local-demo");
    let template = r.kills[0].clone();
    r.kills = spans
        .iter()
        .enumerate()
        .map(|(i, lengths)| {
            let mut k = template.clone();
            k.kill_id = i as u32 + 1;
            k.invalid = None;
            let kill_at = template.phases[&Phase::Kill].at;
            let mut since = 0_u64;
            k.phases.clear();
            for (phase, length) in Phase::ALL.iter().zip(std::iter::once(&0).chain(lengths)) {
                since += length;
                k.phases.insert(
                    *phase,
                    PhaseMark {
                        at: kill_at + Duration::microseconds(since as i64),
                        since_kill_us: since as i64,
                        uncertain: false,
                    },
                );
            }
            k.recovery_us = Some(since);
            k
        })
        .collect();
    r
}

/// A report whose every kill spends `samples[i]` in reschedule and 1 ms in each other span.
fn with_reschedules(samples: &[u64]) -> RunReport {
    let spans: Vec<[u64; 5]> = samples
        .iter()
        .map(|&s| [1_000, s, 1_000, 1_000, 0])
        .collect();
    with_kills(&spans)
}

fn span(c: &Comparison, span: Span) -> &SampleComparison {
    &c.spans.iter().find(|s| s.span == span).unwrap().samples
}

#[test]
fn a_run_compared_with_itself_does_not_regress() {
    let r = fixtures::report("recorded-local-demo");
    let c = compare(&r, &r, T);
    assert_eq!(c.verdict, CompareVerdict::NoRegression);
    assert!(c.regressions().is_empty());
    for s in &c.spans {
        assert_eq!(s.samples.result, Judgement::Unchanged, "{}", s.span);
        assert!(s.samples.stats.iter().all(|d| d.delta_us == 0));
    }
    assert!(c.slos.iter().all(|s| matches!(
        s.change,
        SloChangeKind::StillPassing | SloChangeKind::StillFailing
    )));
}

#[test]
fn a_shifted_distribution_is_regressed_and_the_reverse_improved() {
    let before: Vec<u64> = (0..10).map(|i| 300_000 + i * 10_000).collect();
    let after: Vec<u64> = before.iter().map(|s| s + 150_000).collect();
    let c = compare(&with_reschedules(&before), &with_reschedules(&after), T);
    assert_eq!(c.verdict, CompareVerdict::Regressed);
    let r = span(&c, Span::Reschedule);
    assert_eq!(r.result, Judgement::Regressed, "{}", r.why);
    let test = r.test.unwrap();
    // Every current sample is slower than every baseline one.
    assert_eq!(test.prob_current_larger, 1.0);
    assert!(test.p_value < 0.001, "{test:?}");
    // Ten samples judge the median only: p90 needs 20, p99 200, and max never.
    assert_eq!(
        c.regressions(),
        vec!["total.p50".to_string(), "reschedule.p50".to_string()]
    );
    assert!(r.stats[1..].iter().all(|d| !d.judged && d.note.is_some()));
    // The other spans did not move.
    assert_eq!(span(&c, Span::Boot).result, Judgement::Unchanged);

    let back = compare(&with_reschedules(&after), &with_reschedules(&before), T);
    assert_eq!(back.verdict, CompareVerdict::NoRegression);
    assert_eq!(span(&back, Span::Reschedule).result, Judgement::Improved);
}

#[test]
fn a_shuffled_copy_with_jitter_is_unchanged() {
    let before: Vec<u64> = (0..10).map(|i| 300_000 + i * 50_000).collect();
    // The same draws in another order, each a millisecond or two off.
    let after: Vec<u64> = before
        .iter()
        .rev()
        .enumerate()
        .map(|(i, s)| s + (i as u64 % 3) * 1_000)
        .collect();
    let c = compare(&with_reschedules(&before), &with_reschedules(&after), T);
    assert_eq!(c.verdict, CompareVerdict::NoRegression);
    let r = span(&c, Span::Reschedule);
    assert_eq!(r.result, Judgement::Unchanged, "{}", r.why);
    assert!(r.test.unwrap().p_value > 0.5);
}

#[test]
fn a_slower_maximum_alone_is_not_judged() {
    // The wolf of issue 12: one sample of ten slower moves p99 and max, nothing else.
    let before: Vec<u64> = (0..10).map(|i| 150_000 + i * 1_000).collect();
    let mut after = before.clone();
    after[9] = 210_000;
    let c = compare(&with_reschedules(&before), &with_reschedules(&after), T);
    assert_eq!(c.verdict, CompareVerdict::NoRegression);
    let r = span(&c, Span::Reschedule);
    let max = r.stats.iter().find(|d| d.stat == Stat::Max).unwrap();
    assert_eq!((max.delta_us, max.judged), (51_000, false));
    assert_eq!(r.result, Judgement::Unchanged);
}

#[test]
fn tails_are_judged_with_enough_samples() {
    // 200 kills: the slowest 60 get 200 ms slower. The median stays; p90 and p99 regress.
    let before: Vec<u64> = (0..200).map(|i| 100_000 + i * 1_000).collect();
    let after: Vec<u64> = before
        .iter()
        .enumerate()
        .map(|(i, s)| if i >= 140 { s + 200_000 } else { *s })
        .collect();
    let c = compare(&with_reschedules(&before), &with_reschedules(&after), T);
    let r = span(&c, Span::Reschedule);
    let result = |stat| r.stats.iter().find(|d| d.stat == stat).unwrap().result;
    assert_eq!(result(Stat::P50), Judgement::Unchanged);
    assert_eq!(result(Stat::P90), Judgement::Regressed);
    assert_eq!(result(Stat::P99), Judgement::Regressed);
    assert_eq!(r.result, Judgement::Regressed, "{}", r.why);
    assert!(c.regressions().contains(&"reschedule.p90".to_string()));

    // The same change in 10 kills leaves the tails unjudged.
    let few = |v: &[u64]| v.iter().step_by(20).copied().collect::<Vec<_>>();
    let c = compare(
        &with_reschedules(&few(&before)),
        &with_reschedules(&few(&after)),
        T,
    );
    let r = span(&c, Span::Reschedule);
    assert!(r.stats[1..3].iter().all(|d| !d.judged), "{:?}", r.stats);
}

#[test]
fn tiny_samples_are_inconclusive_not_a_verdict() {
    let c = compare(
        &with_reschedules(&[100_000, 100_000]),
        &with_reschedules(&[900_000, 900_000]),
        T,
    );
    assert_eq!(c.verdict, CompareVerdict::Inconclusive);
    assert!(c.regressions().is_empty());
    assert!(c
        .spans
        .iter()
        .all(|s| s.samples.result == Judgement::Inconclusive));
    let text = String::from_utf8(text(&c)).unwrap();
    assert!(text.contains("verdict: inconclusive"), "{text}");

    // Three against three, fully separated: the largest possible difference still has
    // p = 0.081, so a big change is inconclusive rather than regressed.
    let c = compare(
        &with_reschedules(&[100_000, 110_000, 120_000]),
        &with_reschedules(&[900_000, 910_000, 920_000]),
        T,
    );
    let r = span(&c, Span::Reschedule);
    assert_eq!(r.result, Judgement::Inconclusive, "{}", r.why);
    assert!(r.why.contains("too little evidence"), "{}", r.why);
}

#[test]
fn jitter_below_the_noise_floor_is_unchanged() {
    // Significant (every sample 3 ms slower) but below the 5 ms floor.
    let before: Vec<u64> = (0..10).map(|i| 1_000 + i * 10).collect();
    let after: Vec<u64> = before.iter().map(|s| s + 3_000).collect();
    let c = compare(&with_reschedules(&before), &with_reschedules(&after), T);
    let r = span(&c, Span::Reschedule);
    assert!(r.test.unwrap().p_value < 0.001);
    assert_eq!(r.result, Judgement::Unchanged, "{}", r.why);
    assert_eq!(r.stats[0].min_effect_from, EffectSource::NoiseFloor);
}

#[test]
fn a_small_span_wobble_does_not_fail_a_long_recovery() {
    // A 6 s recovery whose 100 ms warm-up grows by 50 ms in every kill: +50% of the warm-up,
    // clearly significant, but under 1% of the total.
    let spans = |warm_up: u64| -> Vec<[u64; 5]> {
        (0..10)
            .map(|i| [1_000, 5_800_000 + i * 1_000, 1_000, warm_up + i * 100, 0])
            .collect()
    };
    let (before, after) = (with_kills(&spans(100_000)), with_kills(&spans(150_000)));
    let c = compare(&before, &after, T);
    assert_eq!(c.verdict, CompareVerdict::NoRegression);
    let w = span(&c, Span::WarmUp);
    assert_eq!(w.result, Judgement::Unchanged, "{}", w.why);
    assert_eq!(w.stats[0].min_effect_from, EffectSource::ShareOfTotal);
    assert!(c.share_floor_us > 290_000, "{}", c.share_floor_us);
    // Without the share rule, the same change regresses.
    let c = compare(
        &before,
        &after,
        Thresholds {
            min_share_percent: 0.0,
            ..T
        },
    );
    assert_eq!(span(&c, Span::WarmUp).result, Judgement::Regressed);
}

#[test]
fn availability_is_judged_on_failures_over_requests() {
    let judge = |b, c| judge::compare_availability(b, c, &T).result;
    assert_eq!(judge((1000, 0), (1000, 50)), Judgement::Regressed);
    assert_eq!(judge((1000, 50), (1000, 0)), Judgement::Improved);
    assert_eq!(judge((10_000, 10), (10_000, 12)), Judgement::Unchanged);
    assert_eq!(judge((5, 0), (5, 5)), Judgement::Inconclusive);
}

#[test]
fn probes_are_compared_by_availability_and_latency() {
    let r = fixtures::report("recorded-local-probes");
    assert!(!r.probes.is_empty());
    let c = compare(&r, &r, T);
    assert_eq!(c.probes.len(), r.probes.len());
    for p in &c.probes {
        assert_eq!(p.availability.result, Judgement::Unchanged, "{}", p.name);
        let latency = p.latency.as_ref().unwrap();
        assert_eq!(latency.result, Judgement::Unchanged, "{}", latency.why);
        // The decoded histogram holds as many samples as successful requests.
        let probe = r.probes.iter().find(|x| x.name == p.name).unwrap();
        assert_eq!(latency.baseline_count, probe.requests - probe.failures);
    }

    // Every request twice as slow: the latency regresses.
    let mut slower = r.clone();
    for p in &mut slower.probes {
        let h = p.latency.as_ref().unwrap().decode().unwrap();
        let doubled: Vec<u64> = h
            .iter_recorded()
            .flat_map(|v| {
                let value = 2 * h.median_equivalent(v.value_iterated_to()) + NOISE_FLOOR_US;
                std::iter::repeat(value).take(v.count_at_value() as usize)
            })
            .collect();
        p.latency = Some(HistogramSummary::from_samples(&doubled));
    }
    let c = compare(&r, &slower, T);
    assert_eq!(c.verdict, CompareVerdict::Regressed);
    let name = format!("probe.{}.latency.p50", c.probes[0].name);
    assert!(c.regressions().contains(&name), "{:?}", c.regressions());
}

#[test]
fn slo_changes_are_classified() {
    let before = fixtures::report("shop-nightly");
    let mut after = before.clone();
    after.slos[0].passed = !after.slos[0].passed;
    after.slos.pop();
    let c = compare(&before, &after, T);
    let first = &c.slos[0];
    assert_eq!(
        first.change,
        if before.slos[0].passed {
            SloChangeKind::NewlyFailing
        } else {
            SloChangeKind::Fixed
        }
    );
    assert_eq!(c.slos.last().unwrap().change, SloChangeKind::Removed);
}

#[test]
fn every_rendering_names_the_regressed_spans() {
    let before: Vec<u64> = (0..10).map(|i| 100_000 + i * 1_000).collect();
    let after: Vec<u64> = before.iter().map(|s| s * 3).collect();
    let c = compare(&with_reschedules(&before), &with_reschedules(&after), T);
    let text = String::from_utf8(text(&c)).unwrap();
    let md = String::from_utf8(markdown(&c)).unwrap();
    let js: serde_json::Value = serde_json::from_slice(&json(&c)).unwrap();
    assert!(
        text.contains("verdict: REGRESSED") && text.contains("reschedule.p50"),
        "{text}"
    );
    assert!(md.contains("❌ regressed"), "{md}");
    assert_eq!(js["verdict"], "regressed");
    // It reads back (floats may differ in their last digit, so compare what they decide).
    let back: Comparison = serde_json::from_value(js).unwrap();
    assert_eq!(
        (back.verdict, back.regressions()),
        (c.verdict, c.regressions())
    );
}

#[test]
fn demo_against_breach_as_text_and_markdown() {
    let demo = fixtures::report("recorded-local-demo-full");
    let breach = fixtures::report("recorded-local-breach");
    let c = compare(&demo, &breach, T);
    assert_eq!(c.verdict, CompareVerdict::Regressed);
    insta::assert_snapshot!("compare_text", String::from_utf8(text(&c)).unwrap());
    insta::assert_snapshot!("compare_markdown", String::from_utf8(markdown(&c)).unwrap());
}
