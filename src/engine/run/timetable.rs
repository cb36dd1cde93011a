//! When the next decision is due: the cadence's planned offset, counted from a start that moves
//! on while every schedule window is closed, so intervals and `duration` count open time only.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::info;

use crate::engine::cadence::Cadence;
use crate::vocabulary::window::Windows;

/// The run's decisions laid out in time.
#[derive(Debug)]
pub(super) struct Timetable<'a> {
    cadence: Cadence,
    windows: Option<&'a Windows>,
    /// The schedule's zero: offsets count from here.
    t0: Instant,
    /// The next planned offset, `None` once the schedule is over.
    next: Option<Duration>,
    /// Since when every window has been closed, while they are.
    closed_since: Option<Instant>,
}

impl<'a> Timetable<'a> {
    /// A timetable starting now, honouring `windows` when given.
    pub fn new(mut cadence: Cadence, windows: Option<&'a Windows>) -> Timetable<'a> {
        let next = cadence.next_decision();
        Timetable {
            cadence,
            windows,
            t0: Instant::now(),
            next,
            closed_since: None,
        }
    }

    /// The next planned offset, if any.
    pub fn next(&self) -> Option<Duration> {
        self.next
    }

    /// When the next decision is due, were the windows to stay open.
    pub fn due(&self) -> Instant {
        self.t0 + self.next.unwrap_or_default()
    }

    /// Whether the run is waiting for a window to open.
    pub fn waiting_for_window(&self) -> bool {
        self.closed_since.is_some()
    }

    /// Notes windows closing and opening at `now`. While they are closed the clock stands
    /// still: on opening, `t0` moves on by the time spent closed.
    pub fn follow_windows(&mut self, now: DateTime<Utc>) {
        let closed = self.windows.is_some_and(|w| !w.is_open(now));
        match (closed, self.closed_since) {
            (true, None) => {
                if let Some(w) = self.windows {
                    info!("{}; waiting", w.describe_next_open(now));
                }
                self.closed_since = Some(Instant::now());
            }
            (false, Some(since)) => {
                self.t0 += since.elapsed();
                self.closed_since = None;
                info!("a schedule window is open: scheduling resumes");
            }
            _ => {}
        }
    }

    /// Moves on to the decision after the one just taken.
    pub fn advance(&mut self) {
        self.next = self.cadence.next_decision();
    }
}
