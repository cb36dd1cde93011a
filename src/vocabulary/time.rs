//! Time as firedrill records it: microseconds since the Unix epoch, on whichever clock a mark
//! came from (the Docker daemon's event `timeNano`, a Swarm manager's timestamps, or this
//! machine's wall clock for the local platform).

use chrono::{DateTime, Utc};

/// Microseconds since the Unix epoch, on the clock the value came from.
pub type Micros = i64;

/// This machine's wall clock in [`Micros`].
pub fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

/// A [`Micros`] value as a UTC date and time; `None` when out of chrono's range.
pub fn to_utc(at: Micros) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(at)
}

/// Whole microseconds of a duration, saturating at `u64::MAX`.
pub fn micros_of(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
