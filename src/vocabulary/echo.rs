//! Echoing a user's value back in an error message. A scenario may hold a scalar of a megabyte;
//! repeating all of it buries the message, so a long value is shown by its start and its size.

use std::fmt;

/// How many characters of a value an error message shows.
pub const SHOWN_CHARS: usize = 60;

/// The start of `value` to show, or `None` when the whole value is short enough to show.
pub fn head(value: &str) -> Option<&str> {
    let (cut, _) = value.char_indices().nth(SHOWN_CHARS)?;
    Some(&value[..cut])
}

/// `value` as an error message shows it: `{:?}` quotes it as Rust does (`"web"`), `{}` does not;
/// past [`SHOWN_CHARS`] characters either form ends with `… (N bytes)`.
pub fn echo(value: &str) -> Echo<'_> {
    Echo(value)
}

/// See [`echo`].
#[derive(Clone, Copy)]
pub struct Echo<'a>(&'a str);

impl fmt::Debug for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match head(self.0) {
            None => write!(f, "{:?}", self.0),
            Some(start) => write!(f, "{start:?}… ({} bytes)", self.0.len()),
        }
    }
}

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match head(self.0) {
            None => f.write_str(self.0),
            Some(start) => write!(f, "{start}… ({} bytes)", self.0.len()),
        }
    }
}

/// Shortens every quoted span of a message written by someone else (serde's
/// ``unknown field `…` `` or `invalid type: string "…"`) as [`echo`] would.
pub fn shorten_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        out.push_str(&rest[..=open]);
        let inner = &rest[open + 1..];
        let Some(close) = closing(inner, quote) else {
            // An unclosed quote runs to the end; shorten what follows it all the same.
            push_shortened(&mut out, inner, "");
            return out;
        };
        push_shortened(&mut out, &inner[..close], &quote.to_string());
        rest = &inner[close + 1..];
    }
    out.push_str(rest);
    out
}

fn push_shortened(out: &mut String, inner: &str, quote: &str) {
    match head(inner) {
        None => {
            out.push_str(inner);
            out.push_str(quote);
        }
        Some(start) => {
            out.push_str(start);
            out.push_str(quote);
            out.push_str(&format!("… ({} bytes)", inner.len()));
        }
    }
}

/// Where `quote` closes in `text`; a backslash escapes the next character inside `"`.
fn closing(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote == '"' => escaped = true,
            c if c == quote => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_value_is_shown_whole() {
        assert_eq!(format!("{:?}", echo("web")), "\"web\"");
        assert_eq!(format!("{}", echo("web")), "web");
        let sixty = "é".repeat(SHOWN_CHARS);
        assert_eq!(format!("{}", echo(&sixty)), sixty);
    }

    #[test]
    fn a_long_value_is_shown_by_its_start_and_size() {
        let long = "x".repeat(5_000_000);
        let shown = format!("{:?}", echo(&long));
        assert_eq!(shown, format!("\"{}\"… (5000000 bytes)", "x".repeat(60)));
        let wide = "é".repeat(100);
        assert_eq!(
            format!("{}", echo(&wide)),
            format!("{}… (200 bytes)", "é".repeat(60))
        );
    }

    #[test]
    fn quoted_spans_of_a_message_are_shortened() {
        let long = "y".repeat(1000);
        let message =
            format!("unknown field `{long}`, expected `name`; got \"{long}\" and \"a\\\"b\"");
        let y60 = "y".repeat(60);
        assert_eq!(
            shorten_quoted(&message),
            format!(
                "unknown field `{y60}`… (1000 bytes), expected `name`; got \"{y60}\"… (1000 bytes) and \"a\\\"b\""
            )
        );
        assert_eq!(
            shorten_quoted(&format!("open \"{long}")),
            format!("open \"{y60}… (1000 bytes)")
        );
    }
}
