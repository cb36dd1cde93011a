//! `report.json` against its committed schema, `schema/report.schema.json`: reports built from
//! the fixture journals must validate, documents that break the contract must not, and the
//! schema's enums must name exactly the model's variants.
//!
//! Real run output is checked against the same schema in tests/run_local.rs.

use std::path::{Path, PathBuf};

use firedrill::report::{self, json, ReportStatus, RunReport, Verdict, SCHEMA_VERSION};
use firedrill::vocabulary::phase::{Phase, Span};
use serde_json::Value;

mod common;
use common::schema::{manifest_dir, schema, validator, violations};

fn fixture_journals() -> Vec<PathBuf> {
    let dir = manifest_dir().join("tests/fixtures/journals");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    paths
}

/// The report `firedrill report` builds: the journal read one line at a time.
fn report_of(journal_path: &Path) -> RunReport {
    report::from_journal_file(journal_path).unwrap()
}

fn rendered(report: &RunReport) -> Value {
    serde_json::from_slice(&json::render(report)).unwrap()
}

fn nightly() -> Value {
    rendered(&report_of(
        &manifest_dir().join("tests/fixtures/journals/shop-nightly.jsonl"),
    ))
}

#[test]
fn every_fixture_report_matches_the_schema() {
    let validator = validator();
    let journals = fixture_journals();
    assert!(journals.len() >= 3, "fixtures missing: {journals:?}");
    let mut statuses = Vec::new();
    for path in journals {
        let report = report_of(&path);
        statuses.push(report.status);
        let found = violations(&validator, &rendered(&report));
        assert!(
            found.is_empty(),
            "{}:\n{}",
            path.display(),
            found.join("\n")
        );
    }
    // The fixtures cover a finished run, a stopped one and one whose journal has no end line.
    for status in [
        ReportStatus::Completed,
        ReportStatus::Interrupted,
        ReportStatus::Crashed,
    ] {
        assert!(statuses.contains(&status), "no fixture is {status:?}");
    }
}

#[test]
fn a_crashed_run_report_matches_the_schema() {
    let path = manifest_dir().join("tests/fixtures/journals/local-crashed.jsonl");
    let report = report_of(&path);
    assert_eq!(report.status, ReportStatus::Crashed);
    assert!(report.kills.iter().any(|k| k.unrecovered.is_some()));
    let found = violations(&validator(), &rendered(&report));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn documents_that_break_the_contract_are_rejected() {
    let validator = validator();
    assert!(violations(&validator, &nightly()).is_empty());
    type Break = fn(&mut Value);
    let breaks: [(&str, Break); 9] = [
        ("missing verdict", |d| {
            d.as_object_mut().unwrap().remove("verdict");
        }),
        ("unknown verdict", |d| d["verdict"] = "maybe".into()),
        ("unknown top-level field", |d| d["extra"] = true.into()),
        ("unknown status", |d| d["status"] = "exploded".into()),
        ("unknown phase", |d| {
            let mark = d["kills"][0]["phases"]["kill"].clone();
            d["kills"][0]["phases"]["launched"] = mark;
        }),
        ("missing span", |d| {
            d["histograms"].as_object_mut().unwrap().remove("total");
        }),
        ("negative count", |d| {
            d["histograms"]["total"]["count"] = (-1).into()
        }),
        ("timestamp not a date", |d| {
            d["started_at"] = "yesterday".into()
        }),
        ("stalled in an unknown phase", |d| {
            d["kills"][2]["unrecovered"]["stalled_in"] = "booting".into()
        }),
    ];
    for (what, break_it) in breaks {
        let mut doc = nightly();
        break_it(&mut doc);
        assert!(!validator.is_valid(&doc), "accepted a document with {what}");
    }
}

/// The names in one `enum` of the schema's `$defs`.
fn schema_enum(schema: &Value, def: &str) -> Vec<String> {
    schema["$defs"][def]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("$defs/{def} has no enum"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// How serde writes a unit variant.
fn serde_name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_schema_enums_name_exactly_the_model_variants() {
    let schema = schema();
    let phases: Vec<String> = Phase::ALL.into_iter().map(serde_name).collect();
    assert_eq!(schema_enum(&schema, "phase"), phases);
    let spans: Vec<String> = Span::ALL.into_iter().map(serde_name).collect();
    assert_eq!(schema_enum(&schema, "span"), spans);
    let histogram_keys: Vec<String> = schema["properties"]["histograms"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(histogram_keys, spans);
    let statuses: Vec<String> = [
        ReportStatus::Completed,
        ReportStatus::Interrupted,
        ReportStatus::Failed,
        ReportStatus::Crashed,
        ReportStatus::Aborted,
        ReportStatus::Stopped,
    ]
    .into_iter()
    .map(serde_name)
    .collect();
    assert_eq!(schema_enum(&schema, "status"), statuses);
    let verdicts: Vec<String> = [Verdict::Pass, Verdict::Fail, Verdict::Aborted]
        .into_iter()
        .map(serde_name)
        .collect();
    assert_eq!(schema_enum(&schema, "verdict"), verdicts);
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        Value::from(SCHEMA_VERSION)
    );
}

#[test]
fn a_node_kill_section_is_checked_like_the_rest_of_a_kill() {
    let validator = validator();
    let doc = rendered(&report_of(
        &manifest_dir().join("tests/fixtures/journals/recorded-swarm-node-drain.jsonl"),
    ));
    assert!(
        violations(&validator, &doc).is_empty(),
        "{:?}",
        violations(&validator, &doc)
    );
    assert_eq!(doc["kills"][0]["node"]["hostname"], "fdlab-n2");
    type Break = fn(&mut Value);
    let breaks: [(&str, Break); 4] = [
        ("a node without its hostname", |d| {
            d["kills"][0]["node"]
                .as_object_mut()
                .unwrap()
                .remove("hostname");
        }),
        ("an unknown field in a node", |d| {
            d["kills"][0]["node"]["zone"] = "a".into()
        }),
        ("a lost task without its slot", |d| {
            d["kills"][0]["node"]["tasks_lost"][0]
                .as_object_mut()
                .unwrap()
                .remove("slot");
        }),
        ("a node back that is no mark", |d| {
            d["kills"][0]["node"]["back"] = "later".into()
        }),
    ];
    for (what, break_it) in breaks {
        let mut broken = doc.clone();
        break_it(&mut broken);
        assert!(!validator.is_valid(&broken), "accepted {what}");
    }
    // A report from before node kills, with no node section at all, still matches.
    let mut older = doc;
    older["kills"][0].as_object_mut().unwrap().remove("node");
    assert!(violations(&validator, &older).is_empty());
}
