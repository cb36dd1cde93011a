//! Human-form values used in scenario files and on the command line: `250ms`, `1.5s`, `10m`,
//! `66%`, `300ms..800ms`. Each type parses from text and prints back in the same form, so a
//! scenario and its report speak the same units.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as a number and a unit (`us`, `ms`, `s`, `m`, `h`), e.g. `1.5s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The wrapped duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Whole microseconds, saturating at `u64::MAX`.
    pub fn as_micros(self) -> u64 {
        u64::try_from(self.0.as_micros()).unwrap_or(u64::MAX)
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        HumanDuration(d)
    }
}

/// What a duration looks like. serde puts its own "expected" before [`de::Visitor::expecting`],
/// so the word is added here only where firedrill writes the sentence itself.
const DURATION_FORM: &str = "a number and a unit (us, ms, s, m or h), such as 250ms, 1.5s or 10m";

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // One or more `number unit` terms, so what `Display` prints (`2m30s`) reads back.
        let mut rest = text.trim();
        let mut micros = 0.0;
        loop {
            let split = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| {
                    format!("invalid duration {text:?}: missing unit; expected {DURATION_FORM}")
                })?;
            let (number, tail) = rest.split_at(split);
            let value: f64 = number
                .parse()
                .map_err(|_| format!("invalid duration {text:?}: expected {DURATION_FORM}"))?;
            let unit_end = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, next) = tail.split_at(unit_end);
            let micros_per_unit = match unit.trim() {
                "us" | "µs" => 1.0,
                "ms" => 1e3,
                "s" => 1e6,
                "m" | "min" => 60e6,
                "h" => 3600e6,
                other => {
                    return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?}; expected {DURATION_FORM}"
                ))
                }
            };
            micros += value * micros_per_unit;
            if !micros.is_finite() || micros > 1e15 {
                return Err(format!("invalid duration {text:?}: too large"));
            }
            if next.is_empty() {
                return Ok(HumanDuration(Duration::from_micros(micros.round() as u64)));
            }
            rest = next;
        }
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_micros(self.as_micros()))
    }
}

/// Prints microseconds in the largest unit that keeps the value readable: `850us`, `12.4ms`,
/// `1.5s`, `2m30s`, `1h5m`. This is the one way firedrill writes a duration, and
/// [`HumanDuration`] reads every form back.
pub fn format_micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        trim_float(us as f64 / 1e3, "ms")
    } else if us < 60_000_000 {
        trim_float(us as f64 / 1e6, "s")
    } else {
        let secs = us / 1_000_000;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        match (h, m, s) {
            (0, m, 0) => format!("{m}m"),
            (0, m, s) => format!("{m}m{s}s"),
            (h, 0, 0) => format!("{h}h"),
            (h, m, 0) => format!("{h}h{m}m"),
            (h, m, s) => format!("{h}h{m}m{s}s"),
        }
    }
}

fn trim_float(v: f64, unit: &str) -> String {
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    format!("{s}{unit}")
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_FORM)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Err(E::custom(format!(
                    "invalid duration {v}: missing unit; expected {DURATION_FORM}"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_u64(v.unsigned_abs())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Err(E::custom(format!(
                    "invalid duration {v}: missing unit; expected {DURATION_FORM}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A percentage written as `66%` or `99.5%`. Values are kept as given (0–100).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(pub f64);

impl Percent {
    /// The fraction 0.0–1.0 this percentage stands for.
    pub fn fraction(self) -> f64 {
        self.0 / 100.0
    }
}

impl FromStr for Percent {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = text.trim().strip_suffix('%').ok_or_else(|| {
            format!("invalid percentage {text:?}: expected a number followed by %, such as 66%")
        })?;
        if number.ends_with(char::is_whitespace) {
            // `75 %` reads as a percentage to a person, but the number and its sign are one
            // token everywhere else firedrill reads them (SLOs, flags); one spelling only.
            return Err(format!(
                "invalid percentage {text:?}: no space between the number and %; write {}%",
                number.trim()
            ));
        }
        let value: f64 = number.trim().parse().map_err(|_| {
            format!("invalid percentage {text:?}: expected a number followed by %, such as 66%")
        })?;
        if !(0.0..=100.0).contains(&value) {
            return Err(format!(
                "invalid percentage {text:?}: must lie between 0% and 100%"
            ));
        }
        Ok(Percent(value))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{:.2}", self.0);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{s}%")
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Either a whole count (`2`) or a share of a pool (`25%`), as `pick` and `min_healthy` take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CountOrPercent {
    /// An absolute number of instances.
    Count(u32),
    /// A share of the pool.
    Percent(Percent),
}

impl CountOrPercent {
    /// Resolves against a pool of `of` instances, rounding a percentage *up*. `min_healthy`
    /// uses this so a 66% floor of 3 instances keeps 2, never 1.
    pub fn resolve_ceil(self, of: u32) -> u32 {
        match self {
            CountOrPercent::Count(n) => n,
            CountOrPercent::Percent(p) => {
                (p.fraction() * f64::from(of) - 1e-9).ceil().max(0.0) as u32
            }
        }
    }

    /// Resolves against a pool of `of` instances, rounding a percentage *down* but to at least
    /// one when the pool is not empty. `pick` uses this so `pick: 10%` of 4 still kills one.
    pub fn resolve_floor_min1(self, of: u32) -> u32 {
        match self {
            CountOrPercent::Count(n) => n,
            CountOrPercent::Percent(p) => {
                let n = (p.fraction() * f64::from(of) + 1e-9).floor() as u32;
                if of > 0 {
                    n.max(1)
                } else {
                    0
                }
            }
        }
    }
}

impl fmt::Display for CountOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountOrPercent::Count(n) => write!(f, "{n}"),
            CountOrPercent::Percent(p) => write!(f, "{p}"),
        }
    }
}

impl Serialize for CountOrPercent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CountOrPercent::Count(n) => s.serialize_u32(*n),
            CountOrPercent::Percent(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for CountOrPercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = CountOrPercent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number such as 2, or a percentage such as 25%")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                u32::try_from(v)
                    .map(CountOrPercent::Count)
                    .map_err(|_| E::custom(format!("count {v} is too large")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v < 0 {
                    return Err(E::custom(format!(
                        "invalid count {v}: must not be negative"
                    )));
                }
                self.visit_u64(v as u64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if let Ok(n) = v.trim().parse::<u32>() {
                    return Ok(CountOrPercent::Count(n));
                }
                v.parse().map(CountOrPercent::Percent).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration, or a range `min..max` drawn from uniformly, as `replace_delay` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurationRange {
    /// The shortest value.
    pub min: HumanDuration,
    /// The longest value; equal to `min` for a fixed duration.
    pub max: HumanDuration,
}

impl FromStr for DurationRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once("..") {
            Some((lo, hi)) => {
                let min: HumanDuration = lo.parse()?;
                let max: HumanDuration = hi.parse()?;
                if max < min {
                    return Err(format!(
                        "invalid range {text:?}: the upper bound is below the lower bound"
                    ));
                }
                Ok(DurationRange { min, max })
            }
            None => {
                let d: HumanDuration = text.parse()?;
                Ok(DurationRange { min: d, max: d })
            }
        }
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

impl Serialize for DurationRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DurationRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_of_the_wrong_type_says_expected_once() {
        let e = serde_json::from_str::<HumanDuration>("true").unwrap_err();
        let message = e.to_string();
        assert!(!message.contains("expected expected"), "{message}");
        assert!(
            message.contains("expected a number and a unit"),
            "{message}"
        );
    }

    #[test]
    fn durations_parse_in_human_form() {
        let ms = |s: &str| s.parse::<HumanDuration>().unwrap().as_micros() / 1000;
        assert_eq!(ms("250ms"), 250);
        assert_eq!(ms("1.5s"), 1500);
        assert_eq!(ms("10m"), 600_000);
        assert_eq!(ms("2h"), 7_200_000);
        assert!("30".parse::<HumanDuration>().is_err());
        assert!("3x".parse::<HumanDuration>().is_err());
        assert!("-1s".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn durations_print_back_readably() {
        assert_eq!(format_micros(850), "850us");
        assert_eq!(format_micros(12_400), "12.4ms");
        assert_eq!(format_micros(1_500_000), "1.5s");
        assert_eq!(format_micros(150_000_000), "2m30s");
        assert_eq!(format_micros(3_900_000_000), "1h5m");
        assert_eq!(format_micros(7_384_000_000), "2h3m4s");
    }

    #[test]
    fn every_printed_duration_reads_back() {
        for us in [
            850,
            12_000,
            1_500_000,
            150_000_000,
            3_600_000_000,
            7_384_000_000,
        ] {
            let text = format_micros(us);
            let back: HumanDuration = text.parse().unwrap();
            assert_eq!(back.as_micros(), us, "{text}");
        }
        let spaced: HumanDuration = "1s 500ms".parse().unwrap();
        assert_eq!(spaced.as_micros(), 1_500_000);
        assert!("2m30".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn a_space_before_the_percent_sign_is_refused_and_the_fix_named() {
        assert_eq!("75%".parse::<Percent>(), Ok(Percent(75.0)));
        assert_eq!(" 75% ".parse::<Percent>(), Ok(Percent(75.0)));
        assert_eq!(
            "75 %".parse::<Percent>(),
            Err(
                r#"invalid percentage "75 %": no space between the number and %; write 75%"#
                    .to_string()
            )
        );
        assert!("75\t%".parse::<Percent>().is_err());
    }

    #[test]
    fn min_healthy_rounds_up_and_pick_rounds_down_to_one() {
        let p = CountOrPercent::Percent(Percent(66.0));
        assert_eq!(p.resolve_ceil(3), 2);
        assert_eq!(CountOrPercent::Percent(Percent(100.0)).resolve_ceil(3), 3);
        let pick = CountOrPercent::Percent(Percent(10.0));
        assert_eq!(pick.resolve_floor_min1(4), 1);
        assert_eq!(
            CountOrPercent::Percent(Percent(50.0)).resolve_floor_min1(5),
            2
        );
        assert_eq!(pick.resolve_floor_min1(0), 0);
    }

    #[test]
    fn ranges_accept_a_single_duration_or_min_max() {
        let r: DurationRange = "300ms..800ms".parse().unwrap();
        assert_eq!(r.min.as_micros(), 300_000);
        assert_eq!(r.max.as_micros(), 800_000);
        assert!("800ms..300ms".parse::<DurationRange>().is_err());
    }
}
