//! Reports built from the journals in `tests/fixtures/journals/`, for the renderers' tests.

use std::path::PathBuf;

use crate::journal;
use crate::report::RunReport;

/// The report of `tests/fixtures/journals/<name>.jsonl`, read the way `firedrill report` reads
/// a journal.
pub(crate) fn report(name: &str) -> RunReport {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/journals")
        .join(format!("{name}.jsonl"));
    let entries = journal::read(&path).unwrap();
    super::from_journal(&entries).unwrap()
}
