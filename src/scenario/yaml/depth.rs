//! A bound on how deeply a YAML text nests, checked before any parser sees it. serde_yaml
//! spends seconds on deep nesting before its own recursion limit answers (6 s for 100,000
//! nested `[` in a debug build; `firedrill validate` took 27 s on such a file), while a
//! scenario nests about six levels deep. Anything past [`MAX_DEPTH`] is refused here, in one
//! linear pass.
//!
//! The scan is deliberately simpler than YAML. It counts:
//! - block nesting: the stack of indentations of the lines above that are still open, plus
//!   one level for each `- ` that starts a line's content (`- - x` is two lists deep);
//! - flow nesting: `[` and `{` not yet closed, across lines.
//!
//! It skips comments (`#` at a line's start or after a space), quoted scalars (`'…'` with `''`
//! inside, `"…"` with backslash escapes) and the lines of block scalars (`|`, `>`). Its limits,
//! each on the side of counting too much, which only matters past 64 levels:
//! - a quote counts as opening a scalar only where a scalar may start (at a line's start, or
//!   after `: `, `- `, `,`, `[`, `{` or `? `), so `it's` or `sh -c 'x'` in a plain scalar are
//!   plain text and brackets after them still count;
//! - the lines of a block scalar are skipped only while indented past the node that holds it;
//! - tabs, directives and the text after `---` are read as ordinary text, and a plain scalar
//!   continued on a more indented line counts as one level deeper.
//!
//! What it can miss is a quote the scan takes as opening a scalar where YAML does not (inside
//! a block scalar indented no further than its key, which YAML would reject anyway); brackets
//! after it go uncounted until the quote closes.

use super::Position;

/// The deepest nesting a scenario may have, block and flow levels together.
pub const MAX_DEPTH: usize = 64;

/// Where `text` first nests deeper than [`MAX_DEPTH`], if it does.
pub fn too_deep(text: &str) -> Option<Position> {
    let mut scan = Scan::default();
    for (index, line) in yaml_lines(text).enumerate() {
        if let Some(column) = scan.line(line) {
            return Some(Position {
                line: index + 1,
                column,
            });
        }
    }
    None
}

/// The lines of `text` as YAML breaks them: at `\n`, `\r\n`, and a lone `\r`, which YAML
/// also reads as a line break (a comment ends there, and what follows is a new line).
fn yaml_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(at) => {
                let after = if current[at..].starts_with("\r\n") {
                    at + 2
                } else {
                    at + 1
                };
                rest = Some(&current[after..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[derive(Default)]
struct Scan {
    /// Columns (0-based, in characters) of the block nodes still open.
    open: Vec<usize>,
    /// `[` and `{` not yet closed.
    flow: usize,
    /// The quote of the scalar open at the end of the last line.
    quote: Option<char>,
    /// The column a line must be indented past to belong to the block scalar being read.
    block_scalar: Option<usize>,
}

impl Scan {
    /// Reads one line; returns the 1-based column where it goes past the bound.
    fn line(&mut self, line: &str) -> Option<usize> {
        let indent = line.chars().take_while(|&c| c == ' ').count();
        let rest = &line[indent..];
        if let Some(owner) = self.block_scalar {
            if rest.trim().is_empty() || indent > owner {
                return None;
            }
            self.block_scalar = None;
        }
        let block = self.quote.is_none() && self.flow == 0;
        if block {
            if rest.is_empty() || rest.starts_with('#') {
                return None;
            }
            while self.open.last().is_some_and(|&col| col >= indent) {
                self.open.pop();
            }
            self.open.push(indent);
            if self.open.len() > MAX_DEPTH {
                return Some(indent + 1);
            }
        }
        self.scan_text(rest, indent, block)
    }

    /// Scans a line's text after its indentation, which starts at column `indent`.
    fn scan_text(&mut self, rest: &str, indent: usize, block: bool) -> Option<usize> {
        let chars: Vec<char> = rest.chars().collect();
        // The last character that is not a space, outside quotes: it decides whether a quote
        // or `|` here starts a scalar.
        let mut last = None;
        let mut leading_dashes = block;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let column = indent + i;
            let spaced_after = chars.get(i + 1).map_or(true, |n| n.is_whitespace());
            let spaced_before = i == 0 || chars[i - 1].is_whitespace();
            match self.quote {
                Some('"') => match c {
                    '\\' => i += 1,
                    '"' => self.quote = None,
                    _ => {}
                },
                Some(_) => {
                    if c == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            i += 1;
                        } else {
                            self.quote = None;
                        }
                    }
                }
                None => {
                    if leading_dashes && c == '-' && spaced_after {
                        // `- ` opens a list item whose content starts two columns on.
                        self.open.push(column + 1);
                        if self.open.len() + self.flow > MAX_DEPTH {
                            return Some(column + 1);
                        }
                        last = Some(c);
                        i += 1;
                        continue;
                    }
                    if !c.is_whitespace() {
                        leading_dashes = false;
                    }
                    let scalar_may_start = spaced_before
                        && last.map_or(true, |l| matches!(l, ':' | '-' | ',' | '[' | '{' | '?'));
                    match c {
                        '#' if spaced_before => return None,
                        '"' | '\'' if scalar_may_start || matches!(last, Some('[' | '{' | ',')) => {
                            self.quote = Some(c);
                        }
                        '|' | '>'
                            if self.flow == 0
                                && scalar_may_start
                                && is_block_scalar_header(&chars[i + 1..]) =>
                        {
                            let holder = self.open.last().copied().unwrap_or(0);
                            self.block_scalar = Some(holder);
                            return None;
                        }
                        '[' | '{' => {
                            self.flow += 1;
                            if self.open.len() + self.flow > MAX_DEPTH {
                                return Some(column + 1);
                            }
                        }
                        ']' | '}' => self.flow = self.flow.saturating_sub(1),
                        _ => {}
                    }
                    if !c.is_whitespace() {
                        last = Some(c);
                    }
                }
            }
            i += 1;
        }
        None
    }
}

/// Whether what follows a `|` or `>` makes it a block scalar header: indentation and chomping
/// indicators, then nothing or a comment.
fn is_block_scalar_header(after: &[char]) -> bool {
    let indicators = after
        .iter()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-'))
        .count();
    let tail: String = after[indicators..].iter().collect();
    let trimmed = tail.trim_start();
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < tail.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn scenarios_of_ordinary_depth_pass() {
        let text = "\
version: 1 # a comment with [ and {
targets:
  - name: web
    select:
      managed:
        command: [\"{self}\", \"target\", '[', \"}\"]
        replicas: 4
    health: { http: { path: /health, expect: 200 }, every: 50ms }
description: |
  A block scalar [[[[ with brackets
      and odd indentation {{{{
slos: [\"recovery.p99 < 30s\"]
";
        assert_eq!(too_deep(text), None);
    }

    #[test]
    fn flow_nesting_past_the_bound_is_found_where_it_happens() {
        let ok = format!(
            "a: {}{}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(too_deep(&ok), None);
        let deep = "[".repeat(100_000);
        // The document itself is the first level.
        assert_eq!(too_deep(&deep), at(1, MAX_DEPTH));
        let mixed = format!("a:\n  b: {}", "{x: ".repeat(100));
        assert_eq!(too_deep(&mixed), at(2, 6 + 4 * (MAX_DEPTH - 2)));
    }

    #[test]
    fn block_nesting_past_the_bound_is_found_by_indentation_or_dashes() {
        let stairs: String = (0..100)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert_eq!(too_deep(&stairs), at(MAX_DEPTH + 1, MAX_DEPTH + 1));
        let dashes = "- ".repeat(100);
        assert_eq!(too_deep(&dashes), at(1, 2 * MAX_DEPTH - 1));
        // Going back out closes levels: a long flat file is shallow.
        let flat = "a:\n  b: 1\n".repeat(10_000);
        assert_eq!(too_deep(&flat), None);
    }

    #[test]
    fn brackets_in_quotes_comments_and_block_scalars_do_not_count() {
        let many = "[".repeat(200);
        for text in [
            format!("a: \"{many}\"\n"),
            format!("a: '{many}'\n"),
            format!("a: 'it''s {many}'\n"),
            format!("a: \"esc \\\" {many}\"\n"),
            format!("a: 1 # {many}\n"),
            format!("# {many}\n"),
            format!("a: |\n  {many}\nb: 1\n"),
            format!("a: >-\n\n  {many}\n"),
            format!("a: [\"x\", '{many}']\n"),
            format!("a: \"first line\n  {many}\"\n"),
        ] {
            assert_eq!(too_deep(&text), None, "{text}");
        }
    }

    #[test]
    fn a_quote_inside_a_plain_scalar_does_not_hide_what_follows() {
        let many = "[".repeat(200);
        for text in [
            format!("a: it's {many}\n"),
            format!("a: sh -c 'x {many}\n"),
            format!("a: b#c {many}\n"),
        ] {
            assert!(too_deep(&text).is_some(), "{text}");
        }
    }

    #[test]
    fn a_block_scalar_ends_where_its_indentation_does() {
        let stairs: String = (0..100)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i + 1)))
            .collect();
        let text = format!("a: |\n  text\nb:\n{stairs}");
        assert!(too_deep(&text).is_some());
    }

    #[test]
    fn a_lone_carriage_return_ends_a_comment_as_yaml_reads_it() {
        // A comment cut by a lone \r leaves what follows on a line of its own, deep nesting
        // included; reading only \n as a break would take it all for the comment.
        let text = format!("# note\r{}x\nversion: 1\n", "- ".repeat(MAX_DEPTH + 1));
        assert_eq!(too_deep(&text).map(|p| p.line), Some(2));
        assert_eq!(too_deep("a: 1\r\nb: 2\r\n"), None);
        let lines: Vec<&str> = yaml_lines("a\r\nb\rc\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "d"]);
    }
}
