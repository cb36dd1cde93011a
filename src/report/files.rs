//! Writes rendered reports into a run folder. Each file is written to a temporary name and
//! renamed, so a reader never sees half a report. The temporary file is created new, under a
//! random name, so a symlink someone planted in the folder is never followed; the rename
//! replaces a symlink at the final name rather than writing through it.

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A new file in `dir` that no one else can have named in advance (O_EXCL, random name).
fn temp_file_in(dir: &Path, final_name: &str) -> std::io::Result<NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(&format!(".{final_name}."))
        .suffix(".tmp")
        // A report is as readable as any file written here (0666 less the umask), where a
        // temporary file alone would be private.
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

use super::RunReport;
use crate::scenario::ReportFormat;

/// Renders one format.
pub fn render(report: &RunReport, format: ReportFormat) -> Vec<u8> {
    match format {
        ReportFormat::Json => super::json::render(report),
        ReportFormat::Markdown => super::markdown::render(report),
        ReportFormat::Html => super::html::render(report),
        ReportFormat::Junit => super::junit::render(report),
        ReportFormat::Openmetrics => {
            crate::metrics::encode::prometheus_text(&report.metrics).into_bytes()
        }
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
        let mut tmp = temp_file_in(dir, format.file_name())?;
        tmp.write_all(&render(report, format))?;
        tmp.persist(&path).map_err(|e| e.error)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::build::fixtures;

    /// The temporary name the writer used to pick, `.NAME.tmp`, let anyone who could write to
    /// the report folder plant a symlink there and have the report written through it.
    #[test]
    fn a_symlink_planted_at_a_temporary_or_final_name_is_not_written_through() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut victims = Vec::new();
        for format in ReportFormat::ALL {
            let name = format.file_name();
            let old_tmp = outside.path().join(format!("victim-of-tmp-{name}"));
            let final_name = outside.path().join(format!("victim-of-{name}"));
            for (victim, planted) in [
                (old_tmp, dir.path().join(format!(".{name}.tmp"))),
                (final_name, dir.path().join(name)),
            ] {
                std::fs::write(&victim, "precious").unwrap();
                std::os::unix::fs::symlink(&victim, planted).unwrap();
                victims.push(victim);
            }
        }

        let report = fixtures::report("shop-nightly");
        let written = write(dir.path(), &report, &ReportFormat::ALL).unwrap();

        for victim in &victims {
            let text = std::fs::read_to_string(victim).unwrap();
            assert_eq!(text, "precious", "{}", victim.display());
        }
        assert_eq!(written.len(), ReportFormat::ALL.len());
        for (path, format) in written.iter().zip(ReportFormat::ALL) {
            assert_eq!(*path, dir.path().join(format.file_name()));
            assert!(!path.symlink_metadata().unwrap().file_type().is_symlink());
            assert_eq!(std::fs::read(path).unwrap(), render(&report, format));
        }
    }
}
