//! The marks of one recovery and the spans between them. Every platform reports the same marks;
//! the spans are what the histograms and SLOs measure.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A point in one recovery, in the order they normally happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// firedrill issued the action (the platform's own kill event where there is one).
    Kill,
    /// The victim is confirmed gone.
    Down,
    /// A replacement exists: a new instance in the victim's slot, or the victim restarted.
    Replaced,
    /// The replacement's process runs.
    Running,
    /// The replacement passes its health check.
    Healthy,
    /// The pool's healthy count is back to its desired capacity.
    Restored,
}

impl Phase {
    /// Every mark, in order.
    pub const ALL: [Phase; 6] = [
        Phase::Kill,
        Phase::Down,
        Phase::Replaced,
        Phase::Running,
        Phase::Healthy,
        Phase::Restored,
    ];

    /// The name used in files and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Kill => "kill",
            Phase::Down => "down",
            Phase::Replaced => "replaced",
            Phase::Running => "running",
            Phase::Healthy => "healthy",
            Phase::Restored => "restored",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a mark may precede its kill before the recovery is called invalid. Marks and the
/// refined kill mark come from the same engine's clock, so an honest mark never precedes the
/// kill by more than timestamp rounding; a larger gap means the marks belong to something else
/// (an engine that restarted the victim itself, say) and the recovery times mean nothing.
pub const MARK_BEFORE_KILL_TOLERANCE_US: i64 = 100_000;

/// A measured duration between two marks. `Total` is the recovery time, kill to restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// kill → restored: the recovery time.
    Total,
    /// kill → down: how long the platform took to confirm the death.
    Detect,
    /// down → replaced: how long until a replacement existed.
    Reschedule,
    /// replaced → running: how long the replacement took to start.
    Boot,
    /// running → healthy: how long the replacement took to pass its health check.
    WarmUp,
    /// healthy → restored: how long the pool took to reach capacity after this replacement.
    Restore,
}

impl Span {
    /// Every span, total first.
    pub const ALL: [Span; 6] = [
        Span::Total,
        Span::Detect,
        Span::Reschedule,
        Span::Boot,
        Span::WarmUp,
        Span::Restore,
    ];

    /// The marks this span runs between.
    pub fn bounds(self) -> (Phase, Phase) {
        match self {
            Span::Total => (Phase::Kill, Phase::Restored),
            Span::Detect => (Phase::Kill, Phase::Down),
            Span::Reschedule => (Phase::Down, Phase::Replaced),
            Span::Boot => (Phase::Replaced, Phase::Running),
            Span::WarmUp => (Phase::Running, Phase::Healthy),
            Span::Restore => (Phase::Healthy, Phase::Restored),
        }
    }

    /// The name used in files, SLOs (`recovery.detect.p99`) and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Span::Total => "total",
            Span::Detect => "detect",
            Span::Reschedule => "reschedule",
            Span::Boot => "boot",
            Span::WarmUp => "warm_up",
            Span::Restore => "restore",
        }
    }

    /// Parses a span name as written in SLOs.
    pub fn from_name(name: &str) -> Option<Span> {
        Span::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
