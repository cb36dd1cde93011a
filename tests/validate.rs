//! `firedrill validate` against every broken scenario in scenarios/invalid/ and every valid
//! example: exit codes, file:line:column on every error, the error text (insta snapshots),
//! and no panic on any prefix of any scenario.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use regex::Regex;
use sha2::{Digest, Sha256};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.yaml` files of a folder, relative to the crate root and sorted, so snapshots and
/// messages name them the same way on every machine.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .map(|p| p.strip_prefix(root()).unwrap().to_path_buf())
        .collect();
    files.sort();
    files
}

fn valid_files() -> Vec<PathBuf> {
    let mut files = yaml_files("scenarios");
    files.extend(yaml_files("tests/fixtures/scenarios"));
    files
}

fn firedrill() -> Command {
    let mut cmd = Command::cargo_bin("firedrill").unwrap();
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn validate<I, S>(files: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = firedrill().arg("validate").args(files).output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every `error:` and `warning:` line names one of `files` with a line and a column, then a
/// message. Returns how many such lines there were.
fn assert_every_problem_is_located(stderr: &str, files: &[PathBuf]) -> usize {
    let located = Regex::new(r"^(error|warning): (.+?):(\d+):(\d+): \S.*$").unwrap();
    let mut count = 0;
    for line in stderr.lines() {
        if !(line.starts_with("error: ") || line.starts_with("warning: ")) {
            continue;
        }
        count += 1;
        let caps = located
            .captures(line)
            .unwrap_or_else(|| panic!("not file:line:column: {line}"));
        let file = Path::new(caps.get(2).unwrap().as_str());
        assert!(files.iter().any(|f| f == file), "unknown file in: {line}");
        let line_no: usize = caps[3].parse().unwrap();
        let column: usize = caps[4].parse().unwrap();
        assert!(line_no >= 1 && column >= 1, "{line}");
    }
    count
}

#[test]
fn there_are_invalid_scenarios_of_many_kinds() {
    let files = yaml_files("scenarios/invalid");
    assert!(files.len() >= 14, "only {} invalid scenarios", files.len());
    for file in &files {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(
            text.starts_with("# Breaks: "),
            "{} must start with a `# Breaks: ...` comment saying what it breaks",
            file.display()
        );
    }
}

#[test]
fn every_invalid_scenario_fails_with_located_errors() {
    for file in yaml_files("scenarios/invalid") {
        let run = validate([&file]);
        assert_eq!(run.code, Some(2), "{}:\n{}", file.display(), run.stderr);
        assert!(run.stdout.is_empty(), "{}: {}", file.display(), run.stdout);
        let errors = assert_every_problem_is_located(&run.stderr, std::slice::from_ref(&file));
        assert!(
            errors >= 1,
            "{}: no error line:\n{}",
            file.display(),
            run.stderr
        );
        let summary = format!(
            "{}: {errors} error{}",
            file.display(),
            if errors == 1 { "" } else { "s" }
        );
        assert_eq!(run.stderr.lines().last(), Some(summary.as_str()));
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(name, run.stderr);
    }
}

#[test]
fn a_file_with_several_errors_reports_them_all() {
    let run = validate(["scenarios/invalid/many-errors.yaml"]);
    let errors = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count();
    assert!(errors >= 10, "{}", run.stderr);
}

#[test]
fn every_valid_scenario_validates() {
    let files = valid_files();
    assert!(files.len() >= 2, "the test fixtures are missing");
    for file in files {
        let run = validate([&file]);
        assert_eq!(run.code, Some(0), "{}:\n{}", file.display(), run.stderr);
        assert_eq!(run.stdout, format!("{}: ok\n", file.display()));
        assert!(!run.stderr.contains("error"), "{}", run.stderr);
    }
}

#[test]
fn errors_of_several_files_are_all_reported() {
    let files = [
        PathBuf::from("tests/fixtures/scenarios/local-managed.yaml"),
        PathBuf::from("scenarios/invalid/bad-signal.yaml"),
        PathBuf::from("scenarios/invalid/capacity-zero.yaml"),
    ];
    let run = validate(&files);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stdout.contains("local-managed.yaml: ok"),
        "{}",
        run.stdout
    );
    assert_eq!(assert_every_problem_is_located(&run.stderr, &files), 2);
}

#[test]
fn a_min_healthy_that_refuses_every_kill_is_a_located_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("tests/fixtures/scenarios/local-managed.yaml"))
        .unwrap()
        .replace("min_healthy: 75%", "min_healthy: 100%");
    let file = dir.path().join("refuses-all.yaml");
    std::fs::write(&file, &text).unwrap();
    let run = validate([&file]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        assert_every_problem_is_located(&run.stderr, std::slice::from_ref(&file)),
        1
    );
    let policy_line = text.lines().position(|l| l.starts_with("policy:")).unwrap() + 1;
    let expected = format!("warning: {}:{policy_line}:", file.display());
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert!(run.stderr.contains("policy.min_healthy"), "{}", run.stderr);
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let run = validate(["scenarios/invalid/no-such-file.yaml"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .starts_with("error: scenarios/invalid/no-such-file.yaml: cannot read"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latin1.yaml");
    std::fs::write(&file, b"version: 1\nname: caf\xe9\n").unwrap();
    let run = validate([&file]);
    assert_eq!(run.code, Some(2));
    let expected = format!("error: {}:2:10: ", file.display());
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
}

/// A panic in validate would be exit code 101; every cut of every scenario, valid or not,
/// must end in 0 or 2 with each problem located.
#[test]
fn validate_never_panics_on_truncated_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let mut sources = valid_files();
    sources.extend(yaml_files("scenarios/invalid"));
    for source in sources {
        let bytes = std::fs::read(root().join(&source)).unwrap();
        let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
        let cuts: Vec<PathBuf> = (0..=bytes.len())
            .map(|cut| {
                let file = dir.path().join(format!("{stem}-{cut:05}.yaml"));
                std::fs::write(&file, &bytes[..cut]).unwrap();
                file
            })
            .collect();
        let run = validate(&cuts);
        assert!(
            matches!(run.code, Some(0) | Some(2)),
            "{}: exit {:?}\n{}",
            source.display(),
            run.code,
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_every_problem_is_located(&run.stderr, &cuts);
    }
}

#[test]
fn the_loaded_scenario_carries_the_hash_of_its_bytes_and_its_slos() {
    let path = root().join("tests/fixtures/scenarios/local-managed.yaml");
    let loaded = firedrill::scenario::load(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let expected: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(loaded.sha256, expected);
    let text = String::from_utf8(bytes).unwrap();
    assert!(!loaded.slos.is_empty());
    for slo in &loaded.slos {
        assert!(text.contains(&slo.text), "{} is not in the file", slo.text);
    }
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.path, path);
}
