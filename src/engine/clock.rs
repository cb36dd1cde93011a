//! Where a run reads the time for the marks it stamps itself (decisions, give-ups, the start
//! and end). A real run reads this machine's wall clock; the run-loop tests read a virtual one
//! that moves with tokio's paused clock, so they run in no time and replay exactly. Waiting
//! (intervals, timeouts) always goes through `tokio::time`, which tests pause the same way.

use chrono::{DateTime, Utc};

use crate::vocabulary::time::{now_micros, to_utc, Micros};

/// A source of wall-clock time in [`Micros`].
pub trait Clock: Send + Sync {
    /// Now, in microseconds since the Unix epoch.
    fn now(&self) -> Micros;

    /// Now, as a UTC date and time (schedule windows are wall-clock hours).
    fn utc(&self) -> DateTime<Utc> {
        to_utc(self.now()).unwrap_or_default()
    }
}

/// This machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Micros {
        now_micros()
    }
}

/// A clock that starts at a fixed moment and then follows `tokio::time`, which a test pauses
/// and advances at will.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    origin_micros: Micros,
    origin: tokio::time::Instant,
}

impl VirtualClock {
    /// A clock reading `origin_micros` now.
    pub fn starting_at(origin_micros: Micros) -> VirtualClock {
        VirtualClock {
            origin_micros,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Micros {
        let elapsed = i64::try_from(self.origin.elapsed().as_micros()).unwrap_or(i64::MAX);
        self.origin_micros.saturating_add(elapsed)
    }
}
