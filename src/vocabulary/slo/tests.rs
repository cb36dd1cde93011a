use super::*;

/// An SLO's metric, operator and threshold, as parsed.
fn parsed(text: &str) -> (Metric, Op, f64) {
    let s = Slo::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    (s.metric, s.op, s.threshold)
}

#[test]
fn parses_total_and_phase_percentiles() {
    let recovery = |span, stat| Metric::Recovery { span, stat };
    assert_eq!(
        parsed("recovery.p99 < 30s"),
        (recovery(Span::Total, Stat::P99), Op::Lt, 30e6)
    );
    assert_eq!(
        parsed("recovery.warm_up.p90<=250ms"),
        (recovery(Span::WarmUp, Stat::P90), Op::Le, 250e3)
    );
}

#[test]
fn parses_counts_and_percentages() {
    assert_eq!(
        parsed("unrecovered == 0"),
        (Metric::Unrecovered, Op::Eq, 0.0)
    );
    let s = Slo::parse("capacity.min >= 66%").unwrap();
    assert_eq!((s.unit, s.threshold), (Unit::Percent, 66.0));
    let s = Slo::parse("degraded_seconds < 1m").unwrap();
    assert_eq!((s.unit, s.threshold), (Unit::Number, 60.0));
}

#[test]
fn parses_probe_metrics_with_their_units() {
    let s = Slo::parse("probe.edge.availability >= 99.5%").unwrap();
    assert_eq!(
        (s.metric.probe(), s.unit, s.threshold),
        (Some("edge"), Unit::Percent, 99.5)
    );
    let s = Slo::parse("probe.edge.errors == 0").unwrap();
    assert_eq!(
        s.metric,
        Metric::ProbeErrors {
            probe: "edge".into()
        }
    );
    let s = Slo::parse("probe.api-v2.latency.p99 < 250ms").unwrap();
    assert_eq!(
        s.metric,
        Metric::ProbeLatency {
            probe: "api-v2".into(),
            stat: Stat::P99
        }
    );
    assert_eq!(s.metric.to_string(), "probe.api-v2.latency.p99");
    assert!(Slo::parse("probe.edge.availability >= 0.99").is_err());
    assert!(Slo::parse("probe.edge.latency.p98 < 1s").is_err());
    assert!(Slo::parse("probe.edge < 1s").is_err());
}

#[test]
fn unknown_metric_lists_the_known_ones() {
    let e = Slo::parse("recovery.p98 < 1s").unwrap_err();
    assert!(e.contains("unknown metric \"recovery.p98\""), "{e}");
    assert!(e.contains("capacity.min"), "{e}");
}

#[test]
fn wrong_unit_is_rejected() {
    assert!(Slo::parse("recovery.p99 < 30").is_err());
    assert!(Slo::parse("unrecovered < 5s").is_err());
    assert!(Slo::parse("recovery.p99 30s").is_err());
}

#[test]
fn missing_data_fails_the_slo() {
    let s = Slo::parse("recovery.max < 1s").unwrap();
    assert!(!s.evaluate(None).passed);
    assert!(s.evaluate(Some(999_999.0)).passed);
    assert!(!s.evaluate(Some(1_000_000.0)).passed);
}
