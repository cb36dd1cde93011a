//! The report read from a journal file one line at a time, as `run` and `report` build it,
//! against the report of the same entries held in memory.

use std::path::Path;

use crate::journal::{self, Entry};
use crate::report::build::fixtures;
use crate::report::{json, RunReport};

use super::super::{from_journal, from_journal_file, BuildError, ReadError};

/// The report of the entries `journal::read` gives, the way reports were built before they
/// were streamed.
fn held_in_memory(path: &Path) -> RunReport {
    from_journal(&journal::read(path).unwrap()).unwrap()
}

/// Every recorded fixture journal: real runs on each platform, with probes, a breach, a crash
/// and an interrupt among them.
fn fixture_journals() -> Vec<std::path::PathBuf> {
    let dir = fixtures::path("any").parent().unwrap().to_path_buf();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_streamed_report_equals_the_report_of_the_entries_held_in_memory() {
    let paths = fixture_journals();
    assert!(paths.len() >= 5, "{paths:?}");
    for path in paths {
        let streamed = from_journal_file(&path).unwrap();
        let held = held_in_memory(&path);
        assert_eq!(streamed, held, "{}", path.display());
        assert_eq!(json::render(&streamed), json::render(&held));
    }
    let probes = fixtures::report("recorded-local-probes");
    assert!(probes.probes.iter().all(|p| p.requests > 0), "{probes:?}");
}

/// A copy of a fixture journal in a temporary folder, changed by `edit`.
fn edited(name: &str, edit: impl FnOnce(&mut Vec<String>)) -> (tempfile::TempDir, Vec<String>) {
    let text = std::fs::read_to_string(fixtures::path(name)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    edit(&mut lines);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(journal::JOURNAL_FILE), lines.join("\n")).unwrap();
    (dir, lines)
}

#[test]
fn a_streamed_report_leaves_out_a_torn_last_line() {
    let (dir, lines) = edited("recorded-local-demo", |lines| {
        let last = lines.last_mut().unwrap();
        last.truncate(last.len() / 2);
    });
    let path = dir.path().join(journal::JOURNAL_FILE);
    let whole: Vec<Entry> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        from_journal_file(&path).unwrap(),
        from_journal(&whole).unwrap()
    );
}

#[test]
fn a_bad_middle_line_stops_the_streamed_report_with_its_path_and_number() {
    let (dir, _) = edited("recorded-local-demo", |lines| {
        let fifth = &mut lines[4];
        fifth.truncate(fifth.len() / 2);
    });
    let path = dir.path().join(journal::JOURNAL_FILE);
    let error = from_journal_file(&path).unwrap_err();
    assert!(
        matches!(
            &error,
            ReadError::Journal(journal::JournalError::BadLine { line: 5, .. })
        ),
        "{error:?}"
    );
    let message = error.to_string();
    let expected = format!("{}:5: not a journal entry: ", path.display());
    assert!(message.starts_with(&expected), "{message}");
}

#[test]
fn a_file_that_does_not_start_with_run_started_names_its_path() {
    let (dir, _) = edited("recorded-local-demo", |lines| {
        lines.remove(0);
    });
    let path = dir.path().join(journal::JOURNAL_FILE);
    let error = from_journal_file(&path).unwrap_err();
    assert!(
        matches!(
            &error,
            ReadError::Build {
                error: BuildError::NoStart,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .starts_with(&format!("{}: ", path.display())));
}
