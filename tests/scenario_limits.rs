//! `firedrill validate` on files that are not scenarios but could hang or flood it: a device
//! that never ends, a FIFO no one writes, nesting 100,000 deep, a scalar of megabytes. Each
//! must end in exit 2, at once, with a short message. And `firedrill report` must not write
//! through a symlink planted in the run folder.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// The bound the issue sets: a bad file is refused within a second.
const REFUSED_WITHIN: Duration = Duration::from_secs(1);
/// Past this the test stops waiting and kills the firedrill it started.
const GIVE_UP_AFTER: Duration = Duration::from_secs(20);

/// Runs `firedrill validate FILE`; returns what it printed and how long it took.
fn validate(file: &Path) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = common::firedrill()
        .arg("validate")
        .arg(file)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firedrill");
    common::wait_with_deadline(&mut child, GIVE_UP_AFTER);
    let took = started.elapsed();
    (child.wait_with_output().expect("collect output"), took)
}

/// Exit 2 within the bound, with a stderr short enough to read.
fn assert_refused_quickly(file: &Path, mentions: &str) -> String {
    assert_refused_within(file, mentions, REFUSED_WITHIN)
}

/// Exit 2 within `within`, with a stderr short enough to read.
fn assert_refused_within(file: &Path, mentions: &str, within: Duration) -> String {
    let (out, took) = validate(file);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
    assert!(
        took < within,
        "{} took {} ms",
        file.display(),
        took.as_millis()
    );
    assert!(stderr.len() < 2048, "{} bytes of stderr", stderr.len());
    assert!(stderr.contains(mentions), "{stderr}");
    stderr
}

#[test]
fn validate_refuses_dev_zero_at_once() {
    assert_refused_quickly(Path::new("/dev/zero"), "not a regular file");
}

#[test]
fn validate_refuses_a_fifo_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("scenario.yaml");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo reads it and keeps nothing.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    assert_refused_quickly(&fifo, "a FIFO");
}

#[test]
fn validate_refuses_nesting_100000_deep_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("flow.yaml", "[".repeat(100_000)),
        (
            "mapping.yaml",
            format!("version: 1\nname: {}", "{a: ".repeat(100_000)),
        ),
        ("dashes.yaml", "- ".repeat(100_000)),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let stderr = assert_refused_quickly(&file, "nests deeper than 64 levels");
        assert!(
            stderr.starts_with(&format!("error: {}:", file.display())),
            "{stderr}"
        );
    }
}

#[test]
fn validate_refuses_a_5_mb_scalar_with_a_short_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.yaml");
    let scalar = "x".repeat(5_000_000);
    std::fs::write(&file, format!("version: 1\nname: \"{scalar}\"\n")).unwrap();
    assert_refused_quickly(&file, "larger than 1048576 bytes");
}

#[test]
fn an_error_echoes_a_long_value_by_its_start_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.yaml");
    let scalar = "9".repeat(900_000);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios/local-managed.yaml"),
    )
    .unwrap()
    .replace("seed: 7", &format!("seed: \"{scalar}\""));
    std::fs::write(&file, text).unwrap();
    // Under the size limit the YAML library parses all 900 KB, which a debug build on a busy
    // CI machine did in 1.3 s; this test is about the message, so it allows more than the
    // one second the hostile inputs above are held to.
    let stderr = assert_refused_within(&file, "seed", Duration::from_secs(10));
    assert!(stderr.contains("… (900000 bytes)"), "{stderr}");
}

#[test]
fn report_does_not_write_through_a_symlink_planted_in_the_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let journal = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/journals/recorded-local-demo.jsonl");
    std::fs::copy(&journal, dir.path().join("journal.jsonl")).unwrap();
    let mut victims = Vec::new();
    for name in ["report.json", "summary.md", "report.html", "junit.xml"] {
        for planted in [format!(".{name}.tmp"), name.to_string()] {
            let victim = outside.path().join(format!("victim-{planted}"));
            std::fs::write(&victim, "precious").unwrap();
            std::os::unix::fs::symlink(&victim, dir.path().join(&planted)).unwrap();
            victims.push(victim);
        }
    }
    let out = common::firedrill()
        .arg("report")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for victim in &victims {
        assert_eq!(std::fs::read_to_string(victim).unwrap(), "precious");
    }
    let report = dir.path().join("report.json");
    assert!(!report.symlink_metadata().unwrap().file_type().is_symlink());
    common::report(dir.path());
}
