//! Reads a scenario file: YAML to the typed model with file:line:column and the field path on
//! every error, then semantic validation, collecting every error before reporting.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Scenario;
use crate::slo::Slo;

/// A scenario that loaded and validated.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file it came from.
    pub path: PathBuf,
    /// The model.
    pub scenario: Scenario,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
    /// The parsed SLOs, in file order.
    pub slos: Vec<Slo>,
    /// Things that are allowed but probably unintended (for example a `min_healthy` that
    /// refuses every kill).
    pub warnings: Vec<ScenarioError>,
}

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Field path such as `policy.min_healthy` or `targets[0].select.name`; empty for the
    /// whole file.
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Loads and validates a scenario file, returning every error found.
pub fn load_file(_path: &Path) -> Result<LoadedScenario, Vec<ScenarioError>> {
    todo!("scenario helper")
}
