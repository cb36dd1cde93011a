use super::*;
use crate::report::build::fixtures;

const T: Thresholds = Thresholds {
    max_regression_percent: 20.0,
    min_samples: DEFAULT_MIN_SAMPLES,
};

/// A report whose every span holds `samples`.
fn with_samples(samples: &[u64]) -> RunReport {
    let mut r = fixtures::report("shop-nightly");
    for span in Span::ALL {
        r.histograms
            .insert(span, HistogramSummary::from_samples(samples));
    }
    r
}

#[test]
fn a_run_compared_with_itself_does_not_regress() {
    let r = fixtures::report("recorded-local-demo");
    let c = compare(&r, &r, T);
    assert_eq!(c.verdict, CompareVerdict::NoRegression);
    assert!(c.regressions().is_empty());
    assert!(c
        .spans
        .iter()
        .flat_map(|s| &s.stats)
        .all(|d| d.delta_us == 0));
    assert!(c.slos.iter().all(|s| matches!(
        s.change,
        SloChangeKind::StillPassing | SloChangeKind::StillFailing
    )));
}

#[test]
fn a_doubled_recovery_regresses_every_percentile() {
    let before = with_samples(&[100_000, 120_000, 140_000, 160_000, 180_000]);
    let after = with_samples(&[200_000, 240_000, 280_000, 320_000, 360_000]);
    let c = compare(&before, &after, T);
    assert_eq!(c.verdict, CompareVerdict::Regressed);
    let names = c.regressions();
    for stat in ["p50", "p90", "p99", "max"] {
        assert!(names.contains(&format!("total.{stat}")), "{names:?}");
    }
    // Faster is never a regression.
    assert_eq!(
        compare(&after, &before, T).verdict,
        CompareVerdict::NoRegression
    );
}

#[test]
fn growth_within_the_threshold_is_not_a_regression() {
    let before = with_samples(&[100_000; 5]);
    let after = with_samples(&[115_000; 5]);
    let c = compare(&before, &after, T);
    assert_eq!(c.verdict, CompareVerdict::NoRegression);
    let d = &c.spans[0].stats[0];
    assert_eq!(d.delta_us, 15_000);
    assert!((d.change_percent.unwrap() - 15.0).abs() < 0.2);
}

#[test]
fn too_few_samples_is_inconclusive_not_a_verdict() {
    let before = with_samples(&[100_000, 100_000]);
    let after = with_samples(&[900_000, 900_000]);
    let c = compare(&before, &after, T);
    assert_eq!(c.verdict, CompareVerdict::Inconclusive);
    assert!(c.regressions().is_empty());
    assert!(c
        .spans
        .iter()
        .all(|s| !s.judged && s.inconclusive.is_some()));
    let text = String::from_utf8(text(&c)).unwrap();
    assert!(text.contains("inconclusive"), "{text}");
}

#[test]
fn jitter_below_the_noise_floor_is_not_a_regression() {
    let before = with_samples(&[1_000; 5]);
    let after = with_samples(&[4_000; 5]);
    assert_eq!(
        compare(&before, &after, T).verdict,
        CompareVerdict::NoRegression
    );
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
fn every_rendering_names_the_regressed_percentiles() {
    let before = with_samples(&[100_000; 5]);
    let after = with_samples(&[300_000; 5]);
    let c = compare(&before, &after, T);
    let text = String::from_utf8(text(&c)).unwrap();
    let md = String::from_utf8(markdown(&c)).unwrap();
    let js: serde_json::Value = serde_json::from_slice(&json(&c)).unwrap();
    assert!(text.contains("REGRESSED beyond 20%: total.p50"), "{text}");
    assert!(md.contains("❌ regressed"), "{md}");
    assert_eq!(js["verdict"], "regressed");
    let back: Comparison = serde_json::from_value(js).unwrap();
    assert_eq!(back, c);
}

#[test]
fn demo_against_breach_as_text_and_markdown() {
    let demo = fixtures::report("recorded-local-demo-full");
    let breach = fixtures::report("recorded-local-breach");
    let c = compare(&demo, &breach, T);
    insta::assert_snapshot!("compare_text", String::from_utf8(text(&c)).unwrap());
    insta::assert_snapshot!("compare_markdown", String::from_utf8(markdown(&c)).unwrap());
}
