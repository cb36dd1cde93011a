//! Builds a [`RunReport`] from journal entries. The live run and `firedrill report` both go
//! through here, so a report rebuilt from a journal matches the one the run wrote.

use crate::journal::Entry;

use super::RunReport;

/// Errors building a report.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The journal does not start with a `run_started` line.
    #[error("the journal has no run_started line; it is not a firedrill journal")]
    NoStart,
    /// An SLO line in the journal does not parse.
    #[error("SLO {0}")]
    BadSlo(String),
}

/// Folds journal entries into a report, and evaluates the SLOs recorded in the journal.
pub fn from_journal(_entries: &[Entry]) -> Result<RunReport, BuildError> {
    todo!("report helper")
}
