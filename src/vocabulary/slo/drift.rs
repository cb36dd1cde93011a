//! The `drift.*` SLO metrics: what the drift evidence of the run's kills is counted by.

use serde::{Deserialize, Serialize};

/// What a `drift.*` SLO counts, over the kills whose evidence was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftCheck {
    /// Victims with files changed in place since they started (snowflakes before they died).
    ModifiedVictims,
    /// Replacements that are the victim restarted, still carrying its in-place changes.
    CarriedOver,
    /// Replacements running another image than their victim.
    ImageChanged,
    /// Replacements whose configuration differs from their victim's.
    ConfigChanged,
    /// Kills whose evidence could not be captured in full; unknown is never counted as clean.
    Unknown,
}

impl DriftCheck {
    /// Every check, in the order reports list them.
    pub const ALL: [DriftCheck; 5] = [
        DriftCheck::ModifiedVictims,
        DriftCheck::CarriedOver,
        DriftCheck::ImageChanged,
        DriftCheck::ConfigChanged,
        DriftCheck::Unknown,
    ];

    /// The name after `drift.` in an SLO.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftCheck::ModifiedVictims => "modified_victims",
            DriftCheck::CarriedOver => "carried_over",
            DriftCheck::ImageChanged => "image_changed",
            DriftCheck::ConfigChanged => "config_changed",
            DriftCheck::Unknown => "unknown",
        }
    }
}
