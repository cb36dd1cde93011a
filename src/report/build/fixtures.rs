//! Reports built from the journals in `tests/fixtures/journals/`, for the renderers' tests.

use std::path::PathBuf;

use crate::report::RunReport;

/// The report of `tests/fixtures/journals/<name>.jsonl`, read the way `firedrill report` reads
/// a journal.
pub(crate) fn report(name: &str) -> RunReport {
    super::from_journal_file(&path(name)).unwrap()
}

/// Where `tests/fixtures/journals/<name>.jsonl` is.
pub(crate) fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/journals")
        .join(format!("{name}.jsonl"))
}
