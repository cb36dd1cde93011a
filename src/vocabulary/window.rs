//! Schedule windows: the weekly hours in which kills may happen, such as
//! `Mon-Fri 09:00-17:00 Europe/Berlin`. Times are wall-clock times in an IANA zone (chrono-tz),
//! so a window keeps its local hours across daylight-saving changes: on the spring-forward day a
//! window over 02:00–03:00 local time is an hour shorter in real time, on the fall-back day an
//! hour longer. A window whose end is not after its start runs past midnight into the next day.
//!
//! The run's schedule clock stands still while every window is closed: intervals (`every`,
//! `mean_time_between_kills`, `min_gap`) and `duration` count open time only.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const SECONDS_PER_DAY: u32 = 86_400;

/// One weekly window in one time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    text: String,
    /// Days the window opens on, Monday first.
    days: [bool; 7],
    /// Opening time, seconds after local midnight.
    start: u32,
    /// Closing time, seconds after local midnight (up to 24:00); at or before `start` means
    /// the next day.
    end: u32,
    tz: Tz,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_day(name: &str) -> Option<usize> {
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(name) || name.len() > 3 && full_day(d, name))
}

fn full_day(short: &str, name: &str) -> bool {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAY_NAMES
        .iter()
        .position(|d| d == &short)
        .is_some_and(|i| FULL[i].eq_ignore_ascii_case(name))
}

fn parse_days(spec: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    if spec.eq_ignore_ascii_case("daily") || spec == "*" {
        return Ok([true; 7]);
    }
    for item in spec.split(',') {
        let bad = || {
            format!(
                "{item:?} is not a day or a day range; write days as Mon, Mon-Fri, Sat,Sun or \
                 daily"
            )
        };
        match item.split_once('-') {
            Some((from, to)) => {
                let from = parse_day(from).ok_or_else(bad)?;
                let to = parse_day(to).ok_or_else(bad)?;
                // A range may wrap over the weekend, e.g. Fri-Mon.
                let mut d = from;
                loop {
                    days[d] = true;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[parse_day(item).ok_or_else(bad)?] = true,
        }
    }
    Ok(days)
}

fn parse_clock(text: &str, allow_24: bool) -> Result<u32, String> {
    let bad = || format!("{text:?} is not a time of day; write HH:MM, such as 09:00");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && (m != 0 || !allow_24)) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

impl Window {
    /// Parses `DAYS HH:MM-HH:MM ZONE`, e.g. `Mon-Fri 09:00-17:00 Europe/Berlin` or
    /// `daily 22:00-02:00 UTC`.
    pub fn parse(text: &str) -> Result<Window, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days, hours, zone] = parts[..] else {
            return Err(format!(
                "window {text:?} must read DAYS HH:MM-HH:MM ZONE, such as \
                 \"Mon-Fri 09:00-17:00 Europe/Berlin\""
            ));
        };
        let days = parse_days(days)?;
        let (start, end) = hours.split_once('-').ok_or_else(|| {
            format!("{hours:?} is not a time range; write HH:MM-HH:MM, such as 09:00-17:00")
        })?;
        let start = parse_clock(start, false)?;
        let end = parse_clock(end, true)?;
        if start == end {
            return Err(format!(
                "window {text:?} opens and closes at the same time; for a whole day write \
                 00:00-24:00"
            ));
        }
        let tz: Tz = zone.parse().map_err(|_| {
            format!(
                "unknown time zone {zone:?}; use an IANA name such as Europe/Berlin, \
                 America/New_York or UTC"
            )
        })?;
        Ok(Window {
            text: text.to_string(),
            days,
            start,
            end,
            tz,
        })
    }

    fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Whether the window is open at `at`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz).naive_local();
        let secs = local.num_seconds_from_midnight();
        let today = local.weekday().num_days_from_monday() as usize;
        let yesterday = (today + 6) % 7;
        if self.crosses_midnight() {
            (self.days[today] && secs >= self.start) || (self.days[yesterday] && secs < self.end)
        } else {
            self.days[today] && secs >= self.start && secs < self.end
        }
    }

    /// The instant a local date and time of day falls on. A time skipped by a spring-forward
    /// change is taken as the first instant after the gap; a time that happens twice on a
    /// fall-back day is taken the first time.
    fn instant(&self, date: NaiveDate, secs: u32) -> Option<DateTime<Utc>> {
        let (date, secs) = if secs >= SECONDS_PER_DAY {
            (date.checked_add_days(Days::new(1))?, secs - SECONDS_PER_DAY)
        } else {
            (date, secs)
        };
        let mut local = date.and_hms_opt(secs / 3600, secs / 60 % 60, 0)?;
        // Gaps are at most a few hours; step through them a minute at a time.
        for _ in 0..(24 * 60) {
            match self.tz.from_local_datetime(&local) {
                LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
                LocalResult::None => local += chrono::Duration::minutes(1),
            }
        }
        None
    }

    /// Opening and closing instants of the window's occurrences that start on the local days
    /// around `at`.
    fn occurrences(&self, at: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let today = at.with_timezone(&self.tz).date_naive();
        let mut out = Vec::new();
        for back in 0..9u64 {
            let Some(day) = today
                .checked_sub_days(Days::new(1))
                .and_then(|d| d.checked_add_days(Days::new(back)))
            else {
                continue;
            };
            if !self.days[day.weekday().num_days_from_monday() as usize] {
                continue;
            }
            let end = if self.crosses_midnight() {
                self.end + SECONDS_PER_DAY
            } else {
                self.end
            };
            if let (Some(open), Some(close)) =
                (self.instant(day, self.start), self.instant(day, end))
            {
                if close > open {
                    out.push((open, close));
                }
            }
        }
        out
    }
}

/// A scenario's windows: kills may happen while any one is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows(Vec<Window>);

impl Windows {
    /// Parses every window, or says what is wrong with the first bad one.
    pub fn parse(texts: &[String]) -> Result<Windows, String> {
        if texts.is_empty() {
            return Err(
                "no window is listed, so kills could never happen; list at least one, such as \
                 \"Mon-Fri 09:00-17:00 Europe/Berlin\", or leave windows out to allow any time"
                    .to_string(),
            );
        }
        texts
            .iter()
            .map(|t| Window::parse(t))
            .collect::<Result<_, _>>()
            .map(Windows)
    }

    /// The windows as written, comma-separated.
    pub fn describe(&self) -> String {
        let texts: Vec<&str> = self.0.iter().map(|w| w.text.as_str()).collect();
        texts.join(", ")
    }

    /// Whether some window is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.0.iter().any(|w| w.contains(at))
    }

    /// The next instant at or after `at` when some window is open, within the coming week.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return Some(at);
        }
        self.0
            .iter()
            .flat_map(|w| w.occurrences(at))
            .map(|(open, _)| open)
            .filter(|open| *open > at)
            .min()
    }

    /// When the open period containing `at` ends (every overlapping window closed), or `at`
    /// itself when nothing is open.
    pub fn closes_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut t = at;
        // Overlapping and back-to-back windows extend each other; a week of them at most.
        for _ in 0..64 {
            let later = self
                .0
                .iter()
                .flat_map(|w| w.occurrences(t))
                .filter(|(open, close)| *open <= t && t < *close)
                .map(|(_, close)| close)
                .max();
            match later {
                Some(close) if close > t => t = close,
                _ => break,
            }
        }
        t
    }

    /// The instant at which `open_time` of window time has passed since `start`: the wall time
    /// of a planned offset, since the schedule's clock stands still while windows are closed.
    /// `None` when no window opens within a week of some point on the way.
    pub fn advance(&self, start: DateTime<Utc>, open_time: Duration) -> Option<DateTime<Utc>> {
        let mut t = self.next_open(start)?;
        let mut left = chrono::Duration::from_std(open_time).ok()?;
        for _ in 0..100_000 {
            let close = self.closes_after(t);
            if t + left < close {
                return Some(t + left);
            }
            left -= close - t;
            t = self.next_open(close)?;
        }
        None
    }

    /// Total open time over the week starting at `from`.
    pub fn open_per_week(&self, from: DateTime<Utc>) -> Duration {
        let end = from + chrono::Duration::days(7);
        let mut total = chrono::Duration::zero();
        let mut t = from;
        while let Some(open) = self.next_open(t) {
            if open >= end {
                break;
            }
            let close = self.closes_after(open).min(end);
            total += close - open;
            t = close;
        }
        total.to_std().unwrap_or_default()
    }

    /// Where the next opening falls, for the status line and the log.
    pub fn describe_next_open(&self, at: DateTime<Utc>) -> String {
        match self.next_open(at) {
            Some(open) => {
                let wait = (open - at).to_std().unwrap_or_default();
                format!(
                    "outside the schedule windows; next opens {} (in {})",
                    open.format("%a %Y-%m-%d %H:%M UTC"),
                    super::units::HumanDuration(Duration::from_secs(wait.as_secs()))
                )
            }
            None => "outside the schedule windows; none opens within a week".to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
