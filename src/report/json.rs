//! The json rendering of a [`RunReport`](super::RunReport): `report.json`, described by
//! `schema/report.schema.json`.

use super::RunReport;

/// Renders the report as pretty-printed json with a trailing newline.
pub fn render(report: &RunReport) -> Vec<u8> {
    // Serialising cannot fail: every map in the model is keyed by a string or a unit enum, and
    // serde_json writes non-finite floats as null rather than failing.
    let mut out = serde_json::to_vec_pretty(report).expect("a RunReport always serialises");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::build::fixtures;

    #[test]
    fn a_rendered_report_reads_back_as_the_same_report() {
        for name in [
            "shop-nightly",
            "local-crashed",
            "local-interrupted",
            "recorded-swarm-node-drain",
            "recorded-swarm-node-loss",
        ] {
            let mut report = fixtures::report(name);
            let bytes = render(&report);
            assert_eq!(bytes.last(), Some(&b'\n'));
            let back: RunReport = serde_json::from_slice(&bytes).unwrap();
            // The metrics are metrics.prom's, not report.json's.
            assert!(back.metrics.run.is_none());
            report.metrics = Default::default();
            assert_eq!(back, report, "{name}");
        }
    }

    #[test]
    fn spans_and_phases_are_keyed_by_their_names() {
        let value: serde_json::Value =
            serde_json::from_slice(&render(&fixtures::report("shop-nightly"))).unwrap();
        let mut spans: Vec<&str> = value["histograms"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        spans.sort_unstable();
        assert_eq!(
            spans,
            [
                "boot",
                "detect",
                "reschedule",
                "restore",
                "total",
                "warm_up"
            ]
        );
        assert!(value["kills"][0]["phases"]["warm_up"].is_null());
        assert!(value["kills"][0]["phases"]["healthy"]["since_kill_us"].is_i64());
        assert_eq!(value["verdict"], "fail");
    }
}
