//! Writes rendered reports into a run folder. Each file is written to a temporary name and
//! renamed, so a reader never sees half a report.

use std::path::{Path, PathBuf};

use super::RunReport;
use crate::scenario::ReportFormat;

/// Renders one format.
pub fn render(report: &RunReport, format: ReportFormat) -> Vec<u8> {
    match format {
        ReportFormat::Json => super::json::render(report),
        ReportFormat::Markdown => super::markdown::render(report),
        ReportFormat::Html => super::html::render(report),
        ReportFormat::Junit => super::junit::render(report),
    }
}

/// Writes every format into `dir`; returns the paths written.
pub fn write(
    dir: &Path,
    report: &RunReport,
    formats: &[ReportFormat],
) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for &format in formats {
        let path = dir.join(format.file_name());
        let tmp = dir.join(format!(".{}.tmp", format.file_name()));
        std::fs::write(&tmp, render(report, format))?;
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}
