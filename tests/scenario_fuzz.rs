//! The scenario loader against thousands of broken scenarios: every example and invalid
//! scenario in the repository, mutated from a fixed seed (bytes flipped, cut short, lines
//! repeated, dropped or swapped, nesting 100,000 deep, megabyte scalars, alias bombs, stray
//! unicode and YAML indicators). Each case must end in a scenario or in errors, without a
//! panic, within a second. Run with `--nocapture` to see the figures.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 0x5CE4_A210;
const CASES: usize = 3000;
/// The bound the issue set for one scenario, however hostile.
const PER_CASE: Duration = Duration::from_secs(1);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario in the repository, valid or not.
fn seeds() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/invalid", "tests/fixtures/scenarios"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// A character from ranges that tend to break text handling: controls, combining marks,
/// right-to-left text, surrogate neighbours, emoji, the byte-order mark.
fn odd_char(rng: &mut ChaCha8Rng) -> char {
    const RANGES: [(u32, u32); 9] = [
        (0x00, 0x1f),
        (0x7f, 0xa0),
        (0x300, 0x36f),
        (0x590, 0x6ff),
        (0x2000, 0x206f),
        (0xd7f0, 0xd7ff),
        (0xe000, 0xe0ff),
        (0xfeff, 0xfeff),
        (0x1f300, 0x1f6ff),
    ];
    let (lo, hi) = RANGES[rng.gen_range(0..RANGES.len())];
    char::from_u32(rng.gen_range(lo..=hi)).unwrap_or('\u{fffd}')
}

/// A char boundary of `text` near `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn random_boundary(rng: &mut ChaCha8Rng, text: &str) -> usize {
    boundary(text, rng.gen_range(0..=text.len()))
}

/// Applies one mutation to `text`; returns its name.
fn mutate(rng: &mut ChaCha8Rng, text: &mut String) -> &'static str {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let pick = rng.gen_range(0..100);
    let name = match pick {
        0..=19 => {
            let mut bytes = std::mem::take(text).into_bytes();
            for _ in 0..rng.gen_range(1..=4) {
                if !bytes.is_empty() {
                    let i = rng.gen_range(0..bytes.len());
                    bytes[i] ^= 1 << rng.gen_range(0..8);
                }
            }
            *text = String::from_utf8_lossy(&bytes).into_owned();
            return "byte flip";
        }
        20..=29 => {
            let cut = random_boundary(rng, text);
            text.truncate(cut);
            return "truncation";
        }
        30..=39 if !lines.is_empty() => {
            let i = rng.gen_range(0..lines.len());
            let copies = rng.gen_range(1..=50);
            let line = lines[i].clone();
            for _ in 0..copies {
                lines.insert(i, line.clone());
            }
            "duplicated line"
        }
        40..=49 if !lines.is_empty() => {
            let i = rng.gen_range(0..lines.len());
            lines.remove(i);
            "deleted line"
        }
        50..=54 if lines.len() > 1 => {
            let (a, b) = (rng.gen_range(0..lines.len()), rng.gen_range(0..lines.len()));
            lines.swap(a, b);
            "swapped lines"
        }
        55..=64 => {
            let depth = [65, 1_000, 100_000][rng.gen_range(0..3)];
            let unit = ["[", "{a: ", "- ", "[{", "\"[", "# ["][rng.gen_range(0..6)];
            let at = random_boundary(rng, text);
            text.insert_str(at, &unit.repeat(depth));
            return "deep flow nesting";
        }
        65..=67 => {
            let depth = [65, 1_000, 3_000][rng.gen_range(0..3)];
            let stairs: String = (0..depth)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect();
            lines.push(stairs);
            "deep block nesting"
        }
        68..=71 if !lines.is_empty() => {
            let size = [70, 10_000, 600_000, 1_100_000][rng.gen_range(0..4)];
            let i = rng.gen_range(0..lines.len());
            let filler = ["x", "é", "[", "'", "\\"][rng.gen_range(0..5)];
            let huge = filler.repeat(size / filler.len());
            let line = &lines[i];
            lines[i] = match line.split_once(": ") {
                Some((key, _)) => format!("{key}: \"{huge}\""),
                None => format!("{line}{huge}"),
            };
            "huge scalar"
        }
        72..=73 => {
            // The billion-laughs shape: each alias doubles what the loader would expand.
            let mut bomb = String::from("a: &a [x, x]\n");
            for level in 1..30 {
                bomb.push_str(
                    &format!("a{level}: &a{level} [*a{}, *a{}]\n", level - 1, level - 1)
                        .replace("*a0", "*a"),
                );
            }
            let at = rng.gen_range(0..=lines.len());
            lines.insert(at, bomb);
            "alias bomb"
        }
        74..=87 => {
            for _ in 0..rng.gen_range(1..=8) {
                let at = random_boundary(rng, text);
                text.insert(at, odd_char(rng));
            }
            return "random unicode";
        }
        _ => {
            const INDICATORS: [&str; 16] = [
                "&a ",
                "*a",
                "!!str ",
                "!!binary ",
                "? ",
                "|",
                ">-",
                "'",
                "\"",
                "#",
                "---\n",
                "...\n",
                "%YAML 1.1\n",
                "<<: *a\n",
                "\t",
                ": ",
            ];
            for _ in 0..rng.gen_range(1..=4) {
                let at = random_boundary(rng, text);
                text.insert_str(at, INDICATORS[rng.gen_range(0..INDICATORS.len())]);
            }
            return "YAML indicators";
        }
    };
    *text = lines.join("\n");
    name
}

/// Runs `load` once: how long it took, or why it is a failure (a panic, or too slow).
fn check_case(load: impl FnOnce()) -> Result<Duration, String> {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(load));
    let took = started.elapsed();
    match outcome {
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {why}"))
        }
        Ok(()) if took > PER_CASE => Err(format!("took {} ms", took.as_millis())),
        Ok(()) => Ok(took),
    }
}

#[test]
fn the_harness_catches_a_panic_and_a_slow_case() {
    assert!(check_case(|| panic!("boom")).is_err());
    assert!(check_case(|| std::thread::sleep(PER_CASE + Duration::from_millis(50))).is_err());
    assert!(check_case(|| {}).is_ok());
}

#[test]
fn mutated_scenarios_load_or_fail_cleanly_within_a_second_each() {
    let sources = seeds();
    assert!(
        sources.len() >= 10,
        "only {} scenarios found",
        sources.len()
    );
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    let (mut loaded, mut refused) = (0, 0);
    let started = Instant::now();
    for case in 0..CASES {
        let (path, original) = &sources[rng.gen_range(0..sources.len())];
        let mut text = original.clone();
        let mutations: Vec<&str> = (0..rng.gen_range(1..=3))
            .map(|_| mutate(&mut rng, &mut text))
            .collect();
        let label = format!(
            "case {case} ({}, {} bytes): {}",
            path.strip_prefix(root()).unwrap_or(path).display(),
            text.len(),
            mutations.join(" + ")
        );
        let mut result = None;
        match check_case(|| result = Some(firedrill::scenario::parse_str(path, &text))) {
            Ok(took) => {
                if took > slowest.0 {
                    slowest = (took, label.clone());
                }
                match result {
                    Some(Ok(_)) => loaded += 1,
                    Some(Err(errors)) => {
                        refused += 1;
                        // An error echoes at most a shortened value, never the megabyte.
                        let longest = errors.iter().map(|e| e.to_string().len()).max();
                        if longest.unwrap_or(0) > 2048 {
                            failures.push(format!("{label}: an error of {longest:?} bytes"));
                        }
                    }
                    None => failures.push(format!("{label}: did not run")),
                }
            }
            Err(why) => failures.push(format!("{label}: {why}")),
        }
    }
    println!(
        "scenario fuzz: {CASES} cases from {} scenarios (seed {SEED:#x}) in {} ms: {loaded} \
         loaded, {refused} refused, {} failed; slowest {} ms, {}",
        sources.len(),
        started.elapsed().as_millis(),
        failures.len(),
        slowest.0.as_millis(),
        slowest.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
