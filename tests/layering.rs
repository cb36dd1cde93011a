//! The module map runs one way: each layer of `src/` imports only the layers below it, so the
//! shared vocabulary never learns about the engine and a platform never reaches into a report.
//! This test reads every `crate::` path in `src/` and names any import that runs upward or
//! sideways, and any file grown past 500 lines without saying why.

use std::path::{Path, PathBuf};

/// Layers from the bottom. A module may import its own layer's module and anything lower.
/// The application layer (subcommands, command line, logging, the test server, the crate
/// root) may import anything, each other included.
const LAYERS: &[&[&str]] = &[
    &["vocabulary"],
    &["check"],
    &["scenario"],
    &["platform"],
    &["journal"],
    &["metrics"],
    &["engine"],
    &["report"],
    &["notify"],
];
const APPLICATION: &[&str] = &["commands", "cli", "logging", "target", "lib", "main"];

/// A file longer than this says why in a comment containing [`LONG_FILE_REASON`].
const MAX_LINES: usize = 500;
const LONG_FILE_REASON: &str = "longer than 500 lines because";

fn layer_of(module: &str) -> Option<usize> {
    if APPLICATION.contains(&module) {
        return Some(LAYERS.len());
    }
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    Path::new(first)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Every top-level module named by a `crate::` path in `text`, with its line number. Paths
/// through `crate::{A, B}` name the crate root, which is the application layer.
fn imports(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::{Failure, Outcome}` and `crate::Outcome` are items of the crate root.
            let module = if name.is_empty() || name.starts_with(char::is_uppercase) {
                "lib".to_string()
            } else {
                name
            };
            found.push((n + 1, module));
        }
    }
    found
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files in src/", files.len());
    let mut offenders = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(own) = layer_of(&module) else {
            unknown.push(format!("{} (module {module})", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, imported) in imports(&text) {
            if imported == module {
                continue;
            }
            let Some(theirs) = layer_of(&imported) else {
                unknown.push(format!("{}:{line}: crate::{imported}", file.display()));
                continue;
            };
            let application = own == LAYERS.len();
            if theirs > own || (theirs == own && !application) {
                offenders.push(format!(
                    "{}:{line}: {module} (layer {own}) imports {imported} (layer {theirs})",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from the layer list: {unknown:#?}"
    );
    assert!(
        offenders.is_empty(),
        "imports that run upward or sideways:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_import_scan_sees_every_form_used() {
    let found = imports(
        "use crate::engine::decide;\nuse crate::{Failure, Outcome};\n\
         let x = crate::report::build(); // crate::journal in a comment is not an import\n",
    );
    assert_eq!(
        found,
        [
            (1, "engine".to_string()),
            (2, "lib".to_string()),
            (3, "report".to_string())
        ]
    );
}

#[test]
fn no_source_file_is_over_500_lines_without_saying_why() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let lines = text.lines().count();
            (lines > MAX_LINES && !text.contains(LONG_FILE_REASON))
                .then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines with no comment saying \"{LONG_FILE_REASON} ...\": {long:?}"
    );
}
