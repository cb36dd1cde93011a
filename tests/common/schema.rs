//! The committed JSON Schema of report.json, compiled for tests.

use std::path::{Path, PathBuf};

use jsonschema::Validator;
use serde_json::Value;

/// The package root.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn schema() -> Value {
    let text = std::fs::read_to_string(manifest_dir().join("schema/report.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The schema compiled for draft 2020-12, with `format` (date-time) checked too.
pub fn validator() -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema())
        .unwrap()
}

/// Every schema violation in `doc`, as `path: message` lines.
pub fn violations(validator: &Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| {
            let path = e.instance_path.to_string();
            let path = if path.is_empty() { "/" } else { path.as_str() };
            format!("{path}: {e}")
        })
        .collect()
}

/// Validates any `report.json` on disk against the schema; the error lists every violation.
pub fn validate_report_file(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not json: {e}", path.display()))?;
    let found = violations(&validator(), &doc);
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} does not match schema/report.schema.json:\n{}",
            path.display(),
            found.join("\n")
        ))
    }
}
