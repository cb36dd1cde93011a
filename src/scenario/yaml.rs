//! The one module that knows the YAML library. serde_yaml is deprecated upstream, so swapping
//! it must touch only this file.
//!
//! Two parsers meet here on purpose: serde_yaml turns the text into the typed model (with
//! serde_path_to_error for the field path), and yaml-rust2's event parser builds a small tree of
//! positions, so any field path, including one a semantic check names, can be turned back into
//! a line and column. serde_yaml alone loses positions inside internally tagged enums, whose
//! content it buffers.

mod depth;
mod syntax;

use std::fmt;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column in a YAML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a YAML text did not turn into the model: bad syntax, a wrong type, an unknown field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Field path such as `targets[0].select.name`; empty when the whole document is at fault.
    pub path: String,
    /// Where the problem is.
    pub position: Position,
    /// What is wrong, without the position (the caller prints that).
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.position)?;
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Parses a YAML document into `T`, naming the field path and position of any error.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    // Some editors start UTF-8 files with a byte-order mark; it is not part of the document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(position) = depth::too_deep(text) {
        return Err(YamlError {
            path: String::new(),
            position,
            message: format!(
                "the text nests deeper than {} levels here; a scenario needs fewer than ten",
                depth::MAX_DEPTH
            ),
        });
    }
    let deserializer = serde_yaml::Deserializer::from_str(text);
    let error = match serde_path_to_error::deserialize::<_, T>(deserializer) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let tracked = error.path().to_string();
    let inner = error.into_inner();
    let positions = Positions::of(text);
    let own_position = inner.location().map(|l| Position {
        line: l.line(),
        column: l.column(),
    });
    let message = bare_message(&inner.to_string(), own_position);
    // A syntax error is libyaml's account of its parser; say what is wrong with the text.
    let message = match positions.well_formed {
        true => message,
        false => syntax::plain(&message).unwrap_or(message),
    };
    // Errors raised from buffered content (internally tagged enums) carry a made-up position
    // at the start of the document; only a real position is worth keeping.
    let own_position = own_position.filter(|at| tracked == "." || Some(*at) != positions.start());
    let path = field_path(&tracked, &message, &positions);
    // serde's words for a variant such as `kind: local`, which takes nothing else.
    let parent = path.rsplit_once('.').map_or("", |(parent, _)| parent);
    let message = match message.strip_suffix(", there are no fields") {
        Some(head) if positions.find(&join(parent, "kind")).is_some() => {
            format!("{head}; this kind takes no fields besides `kind`")
        }
        _ => message,
    };
    let position = error_position(&path, &message, own_position, &positions);
    Err(YamlError {
        path,
        position,
        message,
    })
}

/// The path to show for an error: serde_path_to_error's, made to name the field at fault.
fn field_path(tracked: &str, message: &str, positions: &Positions) -> String {
    let mut path = if tracked == "." {
        String::new()
    } else {
        tracked.to_string()
    };
    // serde reports a missing field, and sometimes an unknown or repeated one, at its parent;
    // name the field itself, since that is what the user has to add, rename or delete.
    let named = quoted_after(message, "unknown field `")
        .or_else(|| quoted_after(message, "duplicate field `"))
        .or_else(|| quoted_after(message, "missing field `"));
    if let Some(field) = named {
        if !(path == field || path.ends_with(&format!(".{field}"))) {
            path = join(&path, field);
        }
    }
    // serde_path_to_error writes `?` for a place it could not name, such as the key of a
    // broken entry; the parent is more use to a reader.
    while path == "?" || path.ends_with(".?") {
        path.truncate(path.len().saturating_sub(2));
    }
    if path.is_empty() {
        if let Some(open) = &positions.open_path {
            path = open.clone();
        }
    }
    path
}

/// Where to show an error at `path`.
fn error_position(
    path: &str,
    message: &str,
    own_position: Option<Position>,
    positions: &Positions,
) -> Position {
    // An unknown or repeated field is shown at its key (the last one of that name).
    let misplaced_key =
        message.starts_with("unknown field `") || message.starts_with("duplicate field `");
    if let Some(at) = misplaced_key.then(|| positions.find_key(path)).flatten() {
        return at;
    }
    // In a well-formed document the field's own place is the best one: serde_yaml marks
    // errors raised after a value was read (a bad duration, range or percentage) at the
    // enclosing mapping, and errors inside internally tagged enums nowhere. A syntax error
    // keeps serde_yaml's position, which is where the text goes wrong.
    if positions.well_formed {
        // An unknown variant of a tagged enum is best shown at the `kind:` that names it.
        let variant = message
            .contains("variant")
            .then(|| positions.find(&join(path, "kind")))
            .flatten();
        if let Some(at) = variant.or_else(|| positions.find(path)) {
            return at;
        }
    }
    own_position.unwrap_or_else(|| positions.locate(path))
}

/// Joins a parent path and a field name the way serde_path_to_error prints them.
fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// The text between `prefix` and the next backtick, as serde quotes field names.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// serde_yaml's message without its own `path: ` prefix and ` at line L column C` for the
/// error's own position, which the caller prints in its `file:line:column: path:` form.
fn bare_message(full: &str, own: Option<Position>) -> String {
    let unplaced = match own {
        Some(at) => full.replacen(&format!(" at line {} column {}", at.line, at.column), "", 1),
        None => full.to_string(),
    };
    let mut message = unplaced.as_str();
    // serde_yaml prefixes errors below the root with its own idea of the path.
    if let Some((head, rest)) = message.split_once(": ") {
        let is_path = !head.is_empty()
            && !head.contains(' ')
            && head
                .chars()
                .all(|c| c.is_alphanumeric() || "._[]-?".contains(c));
        if is_path && !rest.is_empty() {
            message = rest;
        }
    }
    in_scenario_words(message)
}

/// Rewrites serde's Rust type names (`u32`, `struct Policy`) in the words of a YAML file.
fn in_scenario_words(message: &str) -> String {
    let Some((head, expected)) = message.split_once(", expected ") else {
        return message.to_string();
    };
    let head = head.replace("unit value", "empty value");
    let expected = match expected {
        "u16" => "a whole number from 0 to 65535".to_string(),
        "u8" | "u32" | "u64" | "usize" => "a whole number, 0 or more".to_string(),
        "i8" | "i16" | "i32" | "i64" => "a number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        other if other.starts_with("struct ") => "a mapping of fields".to_string(),
        other if other.starts_with("internally tagged enum ") => {
            "a mapping with a `kind` field".to_string()
        }
        other => other.to_string(),
    };
    format!("{head}, expected {expected}")
}

/// The position of every node of a YAML document, looked up by field path.
#[derive(Debug, Clone)]
pub struct Positions {
    root: Option<Located>,
    /// Whether the whole text is valid YAML.
    well_formed: bool,
    /// Where the text stops being valid YAML, as the path of the node being read there.
    open_path: Option<String>,
}

#[derive(Debug, Clone)]
struct Located {
    at: Position,
    node: Node,
}

#[derive(Debug, Clone)]
enum Node {
    Scalar,
    Sequence(Vec<Located>),
    Mapping(Vec<Entry>),
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    key_at: Position,
    value: Located,
}

impl Positions {
    /// Reads the positions of `text`. Never fails: a document that stops being valid YAML keeps
    /// the positions read up to that point.
    pub fn of(text: &str) -> Positions {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut builder = TreeBuilder::default();
        let mut parser = Parser::new_from_str(text);
        let failed = parser.load(&mut builder, false).is_err();
        let open_path = failed
            .then(|| builder.open_path())
            .filter(|p| !p.is_empty());
        builder.close_all();
        Positions {
            root: builder.root,
            well_formed: !failed,
            open_path,
        }
    }

    /// The position of the field at `path` (`targets[0].select.name`), if the text has it.
    /// A mapping or list value is shown at its key, a scalar at its value.
    pub fn find(&self, path: &str) -> Option<Position> {
        self.find_at(path, false)
    }

    /// Like [`Positions::find`], but a mapping entry is shown at its key: where an unknown
    /// field is.
    pub fn find_key(&self, path: &str) -> Option<Position> {
        self.find_at(path, true)
    }

    fn find_at(&self, path: &str, at_key: bool) -> Option<Position> {
        let mut here = self.root.as_ref()?;
        let mut at = here.at;
        let mut rest = path;
        while !rest.is_empty() {
            match &here.node {
                Node::Mapping(entries) => {
                    let name = rest.strip_prefix('.').unwrap_or(rest);
                    let entry = entries
                        .iter()
                        .filter(|e| {
                            name.strip_prefix(e.key.as_str()).is_some_and(|after| {
                                after.is_empty() || after.starts_with(['.', '['])
                            })
                        })
                        .max_by_key(|e| e.key.len())?;
                    rest = &name[entry.key.len()..];
                    here = &entry.value;
                    at = match here.node {
                        _ if at_key => entry.key_at,
                        // An empty value has no text of its own; its key is what to show.
                        Node::Scalar if here.at.line == entry.key_at.line => here.at,
                        _ => entry.key_at,
                    };
                }
                Node::Sequence(items) => {
                    let inner = rest.strip_prefix('[')?;
                    let (index, after) = inner.split_once(']')?;
                    here = items.get(index.parse::<usize>().ok()?)?;
                    at = here.at;
                    rest = after;
                }
                Node::Scalar => return None,
            }
        }
        Some(at)
    }

    /// Where the document's first node starts.
    pub fn start(&self) -> Option<Position> {
        self.root.as_ref().map(|root| root.at)
    }

    /// The position of `path`, or of its nearest ancestor the text has (a missing field is
    /// shown where it belongs), or the start of the document.
    pub fn locate(&self, path: &str) -> Position {
        let mut candidate = path;
        loop {
            if let Some(at) = self.find(candidate) {
                return at;
            }
            match candidate.rfind(['.', '[']) {
                Some(cut) => candidate = &candidate[..cut],
                None => break,
            }
        }
        self.root
            .as_ref()
            .map_or(Position { line: 1, column: 1 }, |root| root.at)
    }
}

/// An open collection while the tree is being built.
enum Frame {
    Sequence(Position, Vec<Located>),
    Mapping(Position, Vec<Entry>, Option<(String, Position)>),
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    root: Option<Located>,
}

impl TreeBuilder {
    /// Adds a finished node to the collection it belongs to. `key` is its text when it is a
    /// scalar that could be a mapping key.
    fn finish(&mut self, node: Located, key: Option<String>) {
        match self.stack.last_mut() {
            None => {
                // Only the first document matters; serde_yaml rejects more than one.
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Sequence(_, items)) => items.push(node),
            Some(Frame::Mapping(_, entries, pending)) => match pending.take() {
                None => *pending = Some((key.unwrap_or_default(), node.at)),
                Some((key, key_at)) => entries.push(Entry {
                    key,
                    key_at,
                    value: node,
                }),
            },
        }
    }

    /// Closes every collection still open, so a document that broke off keeps its start.
    fn close_all(&mut self) {
        while !self.stack.is_empty() {
            self.close();
        }
    }

    /// Ends the innermost open collection.
    fn close(&mut self) {
        // A block collection's start event is marked after its first key or dash; the
        // collection starts where its first child does.
        let node = match self.stack.pop() {
            Some(Frame::Sequence(at, items)) => Located {
                at: earliest(at, items.first().map(|i| i.at)),
                node: Node::Sequence(items),
            },
            Some(Frame::Mapping(at, entries, _)) => Located {
                at: earliest(at, entries.first().map(|e| e.key_at)),
                node: Node::Mapping(entries),
            },
            None => return,
        };
        self.finish(node, None);
    }

    /// The path of the node being read when the parser stopped.
    fn open_path(&self) -> String {
        let mut path = String::new();
        let innermost = self.stack.len().saturating_sub(1);
        for (depth, frame) in self.stack.iter().enumerate() {
            match frame {
                // An item is open only if a deeper collection is; otherwise the parser was
                // between items, and the list itself is the place to show.
                Frame::Sequence(_, items) if depth < innermost => {
                    path.push_str(&format!("[{}]", items.len()));
                }
                Frame::Sequence(..) => {}
                Frame::Mapping(_, _, Some((key, _))) => path = join(&path, key),
                Frame::Mapping(_, _, None) => {}
            }
        }
        path
    }
}

fn earliest(at: Position, child: Option<Position>) -> Position {
    match child {
        Some(c) if (c.line, c.column) < (at.line, at.column) => c,
        _ => at,
    }
}

fn position(mark: Marker) -> Position {
    // yaml-rust2 counts lines from 1 and columns from 0.
    Position {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let at = position(mark);
        match event {
            Event::Scalar(text, ..) => self.finish(
                Located {
                    at,
                    node: Node::Scalar,
                },
                Some(text),
            ),
            Event::Alias(_) => self.finish(
                Located {
                    at,
                    node: Node::Scalar,
                },
                None,
            ),
            Event::SequenceStart(..) => self.stack.push(Frame::Sequence(at, Vec::new())),
            Event::MappingStart(..) => self.stack.push(Frame::Mapping(at, Vec::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
