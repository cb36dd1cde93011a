//! The README's metrics table and `docs/metrics.md` list exactly the metrics firedrill exports:
//! both hold the table generated from the catalogue, verbatim.

use firedrill::metrics::catalogue;

#[test]
fn the_readme_and_the_metrics_reference_hold_the_catalogue_table() {
    let table = catalogue::markdown_table();
    for file in ["README.md", "docs/metrics.md"] {
        let text = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            text.contains(&table),
            "{file} lacks the current metrics table; paste this in place of the old one:\n{table}"
        );
    }
}
