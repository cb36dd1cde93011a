//! Reads a scenario file: YAML to the file's shape with file:line:column and the field path on
//! every error, then [`compile`](super::compile), collecting every error before reporting.
//!
//! Every error leaves through [`ScenarioError::new`], which shortens any value it echoes, so a
//! megabyte scalar in a file gives a message of a line, whichever check found it.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::compile::{compile, Finding};
use super::file::ScenarioFile;
use super::read::{self, MAX_SCENARIO_BYTES};
use super::yaml::{self, Positions};
use super::Scenario;
use crate::vocabulary::echo::{echo, shorten_quoted};

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

impl ScenarioError {
    /// An error at `line:column` (when known) and `field`, with any value that `field` or
    /// `message` echo shortened.
    fn new(file: &Path, at: Option<yaml::Position>, field: &str, message: &str) -> ScenarioError {
        ScenarioError {
            file: file.to_path_buf(),
            line: at.map(|a| a.line),
            column: at.map(|a| a.column),
            field: echo(field).to_string(),
            message: shorten_quoted(message),
        }
    }
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

/// Loads and compiles a scenario file, returning every error found.
pub fn load(path: &Path) -> Result<Scenario, Vec<ScenarioError>> {
    let bytes =
        read::read(path).map_err(|e| vec![ScenarioError::new(path, None, "", &e.to_string())])?;
    let sha256 = hex_sha256(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let (line, column) = end_position(valid);
        let at = yaml::Position { line, column };
        let message = "the file is not valid UTF-8 text; save it as UTF-8";
        vec![ScenarioError::new(path, Some(at), "", message)]
    })?;
    compile_text(path, &text, &sha256)
}

/// Compiles scenario text as if read from `path`; for tests and tools that hold the text. The
/// size limit of a file holds here too, so every later pass stays cheap whatever the source.
pub fn parse_str(path: &Path, text: &str) -> Result<Scenario, Vec<ScenarioError>> {
    if text.len() as u64 > MAX_SCENARIO_BYTES {
        let message = read::ReadError::TooLarge.to_string();
        return Err(vec![ScenarioError::new(path, None, "", &message)]);
    }
    compile_text(path, text, &hex_sha256(text.as_bytes()))
}

fn compile_text(path: &Path, text: &str, sha256: &str) -> Result<Scenario, Vec<ScenarioError>> {
    let file: ScenarioFile = yaml::parse(text).map_err(|e| {
        vec![ScenarioError::new(
            path,
            Some(e.position),
            &e.path,
            &e.message,
        )]
    })?;
    let compiled = compile(&file, path, sha256);
    let positions = Positions::of(text);
    let locate = |finding: Finding| {
        let at = positions.locate(&finding.field);
        ScenarioError::new(path, Some(at), &finding.field, &finding.message)
    };
    let errors: Vec<ScenarioError> = compiled.errors.into_iter().map(locate).collect();
    match compiled.scenario {
        Some(mut scenario) if errors.is_empty() => {
            scenario.warnings = compiled.warnings.into_iter().map(locate).collect();
            Ok(scenario)
        }
        // Every path without a scenario has recorded an error; the fallback keeps a file
        // from ever passing silently should one not.
        _ if !errors.is_empty() => Err(errors),
        _ => Err(vec![ScenarioError::new(
            path,
            None,
            "",
            "the scenario did not compile",
        )]),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The 1-based line and column just after `bytes`, which are valid UTF-8.
fn end_position(bytes: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(bytes);
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_position_counts_lines_and_characters() {
        assert_eq!(end_position(b""), (1, 1));
        assert_eq!(end_position(b"ab"), (1, 3));
        assert_eq!(end_position("a\n\u{e9}x".as_bytes()), (2, 3));
    }
}
