//! Reading a journal back, whole or one line at a time, with the rule that lets a crashed run
//! still be reported: a torn last line is dropped, a bad line anywhere else is an error.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::Entry;

/// Errors reading a journal back.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The journal path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a journal entry.
    #[error("{path}:{line}: not a journal entry: {message}")]
    BadLine {
        /// The journal path.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

/// Reads a whole journal into memory; [`entries`] reads it one line at a time. A torn last
/// line (the process died while writing it) is dropped; a bad line anywhere else is an error.
pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
    entries(path)?.collect()
}

/// Opens a journal to read its entries one at a time, in order, so a long journal is never
/// held whole. The same rules as [`read`]: blank lines are skipped, a torn last line is
/// dropped, and a bad line anywhere else ends the stream with an error naming its line.
pub fn entries(path: &Path) -> Result<Entries, JournalError> {
    let file = File::open(path).map_err(|source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Entries {
        path: path.to_path_buf(),
        reader: BufReader::new(file),
        line: Vec::new(),
        ahead: Vec::new(),
        has_ahead: false,
        number: 0,
        done: false,
    })
}

/// A journal's entries, read one line at a time (see [`entries`]).
#[derive(Debug)]
pub struct Entries {
    path: PathBuf,
    reader: BufReader<File>,
    /// The line being parsed; reused, so reading allocates per entry, not per line.
    line: Vec<u8>,
    /// The line after a bad one, read to learn whether the bad one was the last.
    ahead: Vec<u8>,
    has_ahead: bool,
    /// 1-based number of the line in `line`.
    number: usize,
    /// An error or the end was returned; nothing follows.
    done: bool,
}

impl Entries {
    /// Reads the next line into `line`; false at the end of the file.
    fn next_line(&mut self) -> std::io::Result<bool> {
        self.number += 1;
        if self.has_ahead {
            self.has_ahead = false;
            std::mem::swap(&mut self.line, &mut self.ahead);
            return Ok(true);
        }
        self.line.clear();
        Ok(self.reader.read_until(b'\n', &mut self.line)? > 0)
    }

    /// Whether another line follows the one in `line`, keeping it for the next call.
    fn another_line_follows(&mut self) -> std::io::Result<bool> {
        self.ahead.clear();
        self.has_ahead = self.reader.read_until(b'\n', &mut self.ahead)? > 0;
        Ok(self.has_ahead)
    }

    fn io_error(&self, source: std::io::Error) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl Iterator for Entries {
    type Item = Result<Entry, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            match self.next_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.io_error(e)));
                }
            }
            let text = without_line_end(&self.line);
            let error = match serde_json::from_slice::<Entry>(text) {
                Ok(entry) => return Some(Ok(entry)),
                Err(e) => e,
            };
            // Blank lines only fail to parse, so they are looked for only then.
            if std::str::from_utf8(text).is_ok_and(|l| l.trim().is_empty()) {
                continue;
            }
            self.done = true;
            return match self.another_line_follows() {
                // The process died while writing its last line.
                Ok(false) => None,
                Ok(true) => Some(Err(JournalError::BadLine {
                    path: self.path.clone(),
                    line: self.number,
                    message: error.to_string(),
                })),
                Err(e) => Some(Err(self.io_error(e))),
            };
        }
    }
}

/// A line without its `\n` or `\r\n`, as `BufRead::lines` gives it, so a parse error's
/// position is the same as in the line a person reads.
fn without_line_end(line: &[u8]) -> &[u8] {
    match line.strip_suffix(b"\n") {
        Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;

    use super::*;
    use crate::journal::{Recorder, RunStatus, JOURNAL_FILE};

    #[test]
    fn a_torn_last_line_is_dropped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let mut rec = Recorder::create(&path).unwrap();
        rec.record(Entry::Capacity {
            at: 1,
            target: "web".into(),
            healthy: 3,
            desired: 3,
        })
        .unwrap();
        rec.record(Entry::RunEnded {
            at: 2,
            status: RunStatus::Completed,
            reason: None,
        })
        .unwrap();
        drop(rec);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"type\":\"capac").unwrap();
        let entries = read(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(matches!(entries[1], Entry::RunEnded { .. }));
    }

    const CAPACITY: &str = r#"{"type":"capacity","at":1,"target":"web","healthy":3,"desired":3}"#;
    const ENDED: &str = r#"{"type":"run_ended","at":2,"status":"completed"}"#;

    /// A journal holding exactly `bytes`.
    fn journal(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn the_stream_drops_a_torn_last_line_and_yields_the_rest_in_order() {
        let (_dir, path) = journal(format!("{CAPACITY}\n{ENDED}\n{{\"type\":\"capac").as_bytes());
        let streamed: Vec<Entry> = entries(&path).unwrap().map(Result::unwrap).collect();
        assert_eq!(streamed.len(), 2);
        assert!(matches!(streamed[0], Entry::Capacity { healthy: 3, .. }));
        assert!(matches!(streamed[1], Entry::RunEnded { .. }));
        assert_eq!(streamed, read(&path).unwrap());
    }

    #[test]
    fn the_stream_ends_at_a_bad_middle_line_with_its_path_and_number() {
        let (_dir, path) =
            journal(format!("{CAPACITY}\n\n{{\"type\":\"capac\n{ENDED}\n").as_bytes());
        let mut stream = entries(&path).unwrap();
        assert!(matches!(stream.next(), Some(Ok(Entry::Capacity { .. }))));
        let error = stream.next().unwrap().unwrap_err();
        let JournalError::BadLine { path: at, line, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!((at, *line), (&path, 3), "the blank line 2 still counts");
        assert_eq!(
            error.to_string(),
            format!(
                "{}:3: not a journal entry: EOF while parsing a string at line 1 column 14",
                path.display()
            )
        );
        assert!(stream.next().is_none(), "nothing follows an error");
        assert_eq!(read(&path).unwrap_err().to_string(), error.to_string());
    }

    #[test]
    fn a_bad_line_followed_only_by_a_blank_line_is_not_the_last() {
        let (_dir, path) = journal(format!("{CAPACITY}\nnot json\n\n").as_bytes());
        let streamed: Vec<_> = entries(&path).unwrap().collect();
        assert!(
            matches!(
                streamed[..],
                [Ok(_), Err(JournalError::BadLine { line: 2, .. })]
            ),
            "{streamed:?}"
        );
    }

    #[test]
    fn a_torn_last_line_cut_inside_a_character_is_dropped() {
        let mut bytes = format!("{CAPACITY}\n{{\"type\":\"kill_failed\",\"error\":\"").into_bytes();
        bytes.extend_from_slice(&"é".as_bytes()[..1]);
        let (_dir, path) = journal(&bytes);
        assert_eq!(read(&path).unwrap().len(), 1);
    }

    #[test]
    fn crlf_line_ends_and_blank_lines_are_read_as_before() {
        let (_dir, path) = journal(format!("\r\n{CAPACITY}\r\n  \n{ENDED}").as_bytes());
        assert_eq!(read(&path).unwrap().len(), 2);
    }

    #[test]
    fn a_missing_journal_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let error = entries(&path).unwrap_err();
        assert_eq!(error.to_string(), format!("cannot read {}", path.display()));
    }
}
