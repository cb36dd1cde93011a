//! The README's examples are copy-paste correct: every ```yaml block in README.md is a scenario
//! that `firedrill validate` accepts, without warnings.

use std::path::Path;

/// The body of every fenced block whose info string is exactly `yaml`, with its first line.
fn yaml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```yaml" => current = Some((i + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    assert!(current.is_none(), "README.md has an unclosed ```yaml block");
    blocks
}

#[test]
fn every_yaml_block_in_the_readme_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = yaml_blocks(&readme);
    // The scenario reference and the nightly example, at least.
    assert!(blocks.len() >= 2, "only {} yaml blocks found", blocks.len());
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<_> = blocks
        .iter()
        .map(|(line, body)| {
            let path = tmp.path().join(format!("readme-line-{line}.yaml"));
            std::fs::write(&path, body).unwrap();
            path
        })
        .collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .arg("validate")
        .args(&files)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a README yaml block does not validate (files are named after the block's first line \
         in README.md):\n{stderr}"
    );
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).matches(": ok").count(),
        blocks.len()
    );
}

#[test]
fn the_block_finder_sees_only_yaml_blocks() {
    let md = "text\n```yaml\na: 1\n```\n```sh\nls\n```\n```yaml\nb: 2\nc: 3\n```\n";
    let blocks = yaml_blocks(md);
    assert_eq!(
        blocks,
        vec![(3, "a: 1\n".to_string()), (9, "b: 2\nc: 3\n".to_string())]
    );
}
