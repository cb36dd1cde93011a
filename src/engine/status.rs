//! The live status line on a terminal (kills, recoveries in flight, healthy/desired), redrawn in
//! place on stderr. Off a terminal nothing is drawn; the log lines tell the story instead.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Carriage return and erase-line: wipes the status line in place.
pub const ERASE: &str = "\r\x1b[2K";

/// Whether a status line is on screen now, so log output knows to erase it first.
static DRAWN: AtomicBool = AtomicBool::new(false);

/// Whether a status line is on screen now.
pub fn is_drawn() -> bool {
    DRAWN.load(Ordering::Relaxed)
}

/// Whether stderr is a terminal that may show colour (`NO_COLOR` unset).
pub fn stderr_is_color_terminal() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// What the status line shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Kills so far.
    pub kills: u32,
    /// `max_kills`, if set.
    pub max_kills: Option<u32>,
    /// Recoveries in flight.
    pub in_flight: u32,
    /// Healthy instances over all targets.
    pub healthy: u32,
    /// Desired instances over all targets.
    pub desired: u32,
    /// Time to the next decision, when one is planned.
    pub next_in: Option<Duration>,
    /// Elapsed run time.
    pub elapsed: Duration,
    /// Why no decision is coming, e.g. every schedule window is closed.
    pub note: Option<String>,
}

impl Snapshot {
    /// The line's text.
    pub fn line(&self) -> String {
        let kills = match self.max_kills {
            Some(m) => format!("{}/{m}", self.kills),
            None => self.kills.to_string(),
        };
        let next = match (&self.note, self.next_in) {
            (Some(note), _) => note.clone(),
            (None, Some(d)) => format!("next decision in {:.1}s", d.as_secs_f64()),
            (None, None) => "waiting for recoveries".to_string(),
        };
        format!(
            "[{:>5.1}s] kills {kills} · in flight {} · healthy {}/{} · {next}",
            self.elapsed.as_secs_f64(),
            self.in_flight,
            self.healthy,
            self.desired
        )
    }
}

/// Draws the status line when stderr is a terminal.
#[derive(Debug)]
pub struct StatusLine {
    enabled: bool,
}

impl StatusLine {
    /// A status line that draws only on a terminal.
    pub fn new() -> StatusLine {
        StatusLine {
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Redraws the line.
    pub fn draw(&self, snap: &Snapshot) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{ERASE}{}", snap.line());
            let _ = err.flush();
            DRAWN.store(true, Ordering::Relaxed);
        }
    }

    /// Clears the line so later output starts clean.
    pub fn clear(&self) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{ERASE}");
            let _ = err.flush();
            DRAWN.store(false, Ordering::Relaxed);
        }
    }
}

impl Default for StatusLine {
    fn default() -> Self {
        StatusLine::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(note: Option<&str>) -> Snapshot {
        Snapshot {
            kills: 2,
            max_kills: Some(10),
            in_flight: 0,
            healthy: 3,
            desired: 3,
            next_in: Some(Duration::from_millis(1500)),
            elapsed: Duration::from_secs(12),
            note: note.map(String::from),
        }
    }

    #[test]
    fn a_closed_window_replaces_the_countdown_in_the_status_line() {
        assert!(snapshot(None).line().ends_with("next decision in 1.5s"));
        let waiting = snapshot(Some(
            "outside the schedule windows; next opens Mon 08:00 UTC",
        ));
        assert!(
            waiting
                .line()
                .ends_with("outside the schedule windows; next opens Mon 08:00 UTC"),
            "{}",
            waiting.line()
        );
    }
}
