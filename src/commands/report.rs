//! `firedrill report` (rebuild every format from a journal) and `firedrill compare`.

use std::path::{Path, PathBuf};

use anyhow::anyhow;

use super::run::{verdict_outcome, write_reports};
use crate::cli::CompareOutput;
use crate::journal::JOURNAL_FILE;
use crate::report::{self, RunReport};
use crate::scenario::ReportFormat;
use crate::{Failure, Outcome};

/// The journal a `report`/`compare` argument names: a run folder's, or the file itself.
fn journal_of(path: &Path) -> (PathBuf, PathBuf) {
    if path.is_dir() {
        (path.join(JOURNAL_FILE), path.to_path_buf())
    } else {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (path.to_path_buf(), dir)
    }
}

/// Builds the report from a journal file, one line at a time.
fn report_from_journal(journal_path: &Path) -> Result<RunReport, Failure> {
    report::from_journal_file(journal_path).map_err(|e| Failure::new(Outcome::BadInput, e))
}

/// `firedrill report`: rebuilds reports from a journal alone.
pub(super) fn rebuild_report(path: &Path, formats: &[ReportFormat]) -> Result<Outcome, Failure> {
    let (journal_path, dir) = journal_of(path);
    let report = report_from_journal(&journal_path)?;
    let formats = if formats.is_empty() {
        ReportFormat::ALL.to_vec()
    } else {
        formats.to_vec()
    };
    write_reports(&dir, &report, &formats)?;
    print!(
        "{}",
        String::from_utf8_lossy(&report::terminal::render(&report))
    );
    Ok(verdict_outcome(&report))
}

/// One side of `compare`: a report.json is read as written (it may come from another machine
/// or an older firedrill); a run folder or a journal is rebuilt from the journal.
fn load_run(path: &Path) -> Result<RunReport, Failure> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    if !is_json {
        return report_from_journal(&journal_of(path).0);
    }
    let text = std::fs::read(path).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("cannot read {}: {e}", path.display()),
        )
    })?;
    serde_json::from_slice(&text).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("{} is not a firedrill report.json: {e}", path.display()),
        )
    })
}

/// `firedrill compare`: prints the comparison; exit 1 when a span or probe regressed, 0 when
/// nothing did, including when nothing could be judged.
pub(super) fn compare_runs(
    baseline: &Path,
    current: &Path,
    thresholds: crate::report::compare::Thresholds,
    output: CompareOutput,
) -> Result<Outcome, Failure> {
    use crate::report::compare;
    let c = compare::compare(&load_run(baseline)?, &load_run(current)?, thresholds);
    let text = match output {
        CompareOutput::Text => compare::text(&c),
        CompareOutput::Markdown => compare::markdown(&c),
        CompareOutput::Json => compare::json(&c),
    };
    print!("{}", String::from_utf8_lossy(&text));
    Ok(match c.verdict {
        compare::CompareVerdict::Regressed => Outcome::SloBreached,
        compare::CompareVerdict::NoRegression | compare::CompareVerdict::Inconclusive => {
            Outcome::Pass
        }
    })
}
