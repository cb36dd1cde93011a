//! libyaml's syntax errors (as serde_yaml passes them on) in plain words. libyaml says what
//! its parser expected ("did not find expected '-' indicator, while parsing a block
//! collection at line 7 column 3"); a person editing a scenario needs to hear what is wrong
//! with their text and where the enclosing block began.

/// The plain-words form of a libyaml syntax message, or `None` when `message` is not one it
/// knows (a type error, an unknown field), which then stays as it is.
pub(super) fn plain(message: &str) -> Option<String> {
    // libyaml's form is "PROBLEM, while CONTEXT at line L column C" or just "PROBLEM".
    let (problem, context) = match message.split_once(", while ") {
        Some((problem, context)) => (problem, Some(context)),
        None => (message, None),
    };
    let opened = context.and_then(opened_at);
    let since = |what: &str| match &opened {
        Some(at) => format!(" ({what} starts at {at})"),
        None => String::new(),
    };
    let words = match problem {
        "did not find expected '-' indicator" => format!(
            "this line is not indented like the list above it: a list item starts with '- ' \
             at the list's indentation, and a field of an item lines up with the item's first \
             field{}",
            since("the list")
        ),
        "did not find expected key" => format!(
            "this line does not fit the block above it: check its indentation (spaces only), \
             and that each line is `key: value`{}",
            since("the block")
        ),
        "mapping values are not allowed in this context" => {
            "a ': ' where no new field can start: put quotes around a value that contains ': ', \
             or start the nested mapping on its own line, indented"
                .to_string()
        }
        "block sequence entries are not allowed in this context" => {
            "a '- ' list item where a value was expected: start the list on the next line, \
             indented, or write it as [a, b]"
                .to_string()
        }
        "found character that cannot start any token" => {
            "a character that cannot begin a value here (a tab used for indentation, or a \
             value starting with @ or `): indent with spaces, and quote such a value"
                .to_string()
        }
        "did not find expected node content" => {
            "a value is missing here, or begins with a character that needs quotes".to_string()
        }
        "found unexpected end of stream" => format!(
            "the file ends inside a quoted value: a quote is never closed{}",
            since("the quoted value")
        ),
        "did not find expected ',' or ']'" => format!(
            "a [ ] list is not closed, or two of its items lack a ',' between them{}",
            since("the list")
        ),
        "did not find expected ',' or '}'" => format!(
            "a {{ }} mapping is not closed, or two of its fields lack a ',' between them{}",
            since("the mapping")
        ),
        "could not find expected ':'" => format!(
            "a key without ':' after it: each field is `key: value`{}",
            since("the key")
        ),
        "found unknown escape character" => {
            "an unknown escape (\\ followed by a character YAML does not know) in a \
             double-quoted value: use single quotes, or write \\\\ for a backslash"
                .to_string()
        }
        p if p.starts_with("found a tab character") => {
            "a tab in the indentation: YAML indents with spaces only".to_string()
        }
        _ => return None,
    };
    Some(words)
}

/// `line L, column C` from libyaml's context "parsing a block collection at line L column C".
fn opened_at(context: &str) -> Option<String> {
    let (_, tail) = context.rsplit_once(" at line ")?;
    let (line, column) = tail.split_once(" column ")?;
    let line: usize = line.trim().parse().ok()?;
    let column: usize = column.trim().parse().ok()?;
    Some(format!("line {line}, column {column}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_item_indented_wrong_names_where_the_list_starts() {
        let words = plain(
            "did not find expected '-' indicator, while parsing a block collection at line 7 \
             column 3",
        )
        .unwrap();
        assert!(words.starts_with("this line is not indented like the list above it"));
        assert!(
            words.ends_with("(the list starts at line 7, column 3)"),
            "{words}"
        );
    }

    #[test]
    fn messages_that_are_not_syntax_stay_as_they_are() {
        assert_eq!(plain("unknown field `x`, expected `y`"), None);
        assert_eq!(plain("invalid type: string \"a\", expected a number"), None);
    }
}
