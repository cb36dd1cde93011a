use serde::Deserialize;

use super::*;
use crate::scenario::file::{ActionFile, ScenarioFile};
use crate::scenario::PlatformConfig;

fn at(line: usize, column: usize) -> Position {
    Position { line, column }
}

const BLOCK: &str = "\
# a comment first
version: 1
targets:
  - name: web
    select:
      name: \"^web-\"
      labels: { app: web, com.example.tier: front }
  - name: db
    empty:
schedule: { every: 30s }
";

#[test]
fn finds_scalars_at_their_value_and_collections_at_their_key() {
    let p = Positions::of(BLOCK);
    assert_eq!(p.find("version"), Some(at(2, 10)));
    assert_eq!(p.find("targets"), Some(at(3, 1)));
    assert_eq!(p.find("targets[0]"), Some(at(4, 5)));
    assert_eq!(p.find("targets[0].select"), Some(at(5, 5)));
    assert_eq!(p.find("targets[0].select.name"), Some(at(6, 13)));
    assert_eq!(p.find("targets[1].name"), Some(at(8, 11)));
    assert_eq!(p.find("schedule.every"), Some(at(10, 20)));
}

#[test]
fn keys_with_dots_are_matched_whole() {
    let p = Positions::of(BLOCK);
    assert_eq!(
        p.find("targets[0].select.labels.com.example.tier"),
        Some(at(7, 45))
    );
    assert_eq!(p.find("targets[0].select.labels.app"), Some(at(7, 22)));
}

#[test]
fn an_empty_value_is_shown_at_its_key() {
    let p = Positions::of(BLOCK);
    assert_eq!(p.find("targets[1].empty"), Some(at(9, 5)));
}

#[test]
fn find_key_points_at_the_key_of_a_scalar() {
    let p = Positions::of(BLOCK);
    assert_eq!(p.find_key("targets[0].select.name"), Some(at(6, 7)));
}

#[test]
fn missing_paths_fall_back_to_the_nearest_ancestor() {
    let p = Positions::of(BLOCK);
    assert_eq!(p.find("policy.pick"), None);
    assert_eq!(p.find("targets[5]"), None);
    assert_eq!(p.locate("targets[0].select.process.name"), at(5, 5));
    assert_eq!(p.locate("targets[7].name"), at(3, 1));
    assert_eq!(p.locate("policy.pick"), at(2, 1));
    assert_eq!(Positions::of("").locate("anything"), at(1, 1));
}

#[test]
fn a_broken_document_keeps_what_was_read_and_where_it_broke() {
    let p = Positions::of("version: 1\ntargets:\n  - name: web\n   bad: x\n");
    assert_eq!(p.find("version"), Some(at(1, 10)));
    assert_eq!(p.open_path.as_deref(), Some("targets"));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Doc {
    version: u32,
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default)]
    platform: Option<PlatformConfig>,
    #[serde(default)]
    action: Option<ActionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Item {
    count: u32,
}

#[test]
fn type_errors_carry_the_field_path_and_position() {
    let e = parse::<Doc>("version: 1\nitems:\n  - count: 1\n  - count: many\n").unwrap_err();
    assert_eq!(e.path, "items[1].count");
    assert_eq!(e.position, at(4, 12));
    assert!(e.message.contains("invalid type"), "{}", e.message);
    assert!(
        !e.message.contains("line"),
        "position left in the message: {}",
        e.message
    );
}

#[test]
fn unknown_fields_name_the_field_and_list_the_expected_ones() {
    let e = parse::<Doc>("version: 1\nitems:\n  - count: 1\n    cuont: 2\n").unwrap_err();
    assert_eq!(e.path, "items[0].cuont");
    assert_eq!(e.position, at(4, 5));
    assert!(e.message.contains("expected `count`"), "{}", e.message);
}

#[test]
fn errors_inside_tagged_enums_are_located_by_path() {
    let text = "# head\nversion: 1\nplatform:\n  kind: docker\n  hots: x\n";
    let e = parse::<Doc>(text).unwrap_err();
    assert_eq!(e.path, "platform.hots");
    assert_eq!(e.position, at(5, 3));
    let e = parse::<Doc>("version: 1\naction: { kind: explode }\n").unwrap_err();
    assert_eq!(e.path, "action.kind");
    assert_eq!(e.position, at(2, 17));
    assert!(e.message.contains("`kill`"), "{}", e.message);
}

#[test]
fn missing_fields_are_named() {
    let e = parse::<Doc>("items: []\n").unwrap_err();
    assert_eq!(e.path, "version");
    assert_eq!(e.position.line, 1);
}

#[test]
fn syntax_errors_have_a_position() {
    let e = parse::<Doc>("version: 1\nitems:\n  - count: 1\n   count: 2\n").unwrap_err();
    assert_eq!(e.position.line, 4);
    assert!(!e.message.is_empty());
    let e = parse::<Doc>("version: [1\n").unwrap_err();
    assert!(e.position.line >= 1);
}

#[test]
fn rust_type_names_are_put_in_the_words_of_the_file() {
    let e = parse::<Doc>("version: -3\n").unwrap_err();
    assert!(
        e.message.ends_with("expected a whole number, 0 or more"),
        "{}",
        e.message
    );
    let e = parse::<ScenarioFile>("version: 1\nplatform:\n").unwrap_err();
    assert_eq!(e.path, "platform");
    assert_eq!(
        e.message,
        "invalid type: empty value, expected a mapping with a `kind` field"
    );
    let e = parse::<Doc>("- 1\n").unwrap_err();
    assert!(
        e.message.ends_with("expected a mapping of fields"),
        "{}",
        e.message
    );
}

#[test]
fn a_place_serde_cannot_name_falls_back_to_where_the_parser_stopped() {
    let e = parse::<Doc>("version: 1\nitems:\n  - count: 1\nbroken\n").unwrap_err();
    assert!(!e.path.contains('?'), "{}", e.path);
    assert_eq!(e.position.line, 5);
}

#[test]
fn a_kind_without_fields_says_so() {
    let e = parse::<Doc>("version: 1\naction: { kind: crash, signal: TERM }\n").unwrap_err();
    assert_eq!(e.path, "action.signal");
    assert!(
        e.message.ends_with("takes no fields besides `kind`"),
        "{}",
        e.message
    );
}

#[test]
fn a_repeated_field_is_shown_at_its_second_key() {
    let e = parse::<Doc>("version: 1\nitems: []\nversion: 2\n").unwrap_err();
    assert_eq!(e.path, "version");
    assert_eq!(e.position, at(3, 1));
    assert!(e.message.contains("duplicate field"), "{}", e.message);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_document() {
    let doc: Doc = parse("\u{feff}version: 3\n").unwrap();
    assert_eq!(doc.version, 3);
    assert_eq!(
        Positions::of("\u{feff}version: 3\n").find("version"),
        Some(at(1, 10))
    );
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Fleet {
    count: u32,
    delay: crate::vocabulary::units::DurationRange,
}

#[test]
fn a_value_rejected_after_it_was_read_is_shown_at_the_value() {
    let e = parse::<Fleet>("count: 1\ndelay: 8s..3s\n").unwrap_err();
    assert_eq!(e.path, "delay");
    assert_eq!(e.position, at(2, 8));
}
