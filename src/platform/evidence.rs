//! Drift evidence: what one instance was, captured so a kill's victim and its replacement can
//! be compared. Every field is optional: `None` means not known, never "clean".

use serde::{Deserialize, Serialize};

use crate::vocabulary::time::Micros;

/// What one instance was, for drift evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The instance it describes.
    pub instance: String,
    /// Image id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The image's repo digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_digest: Option<String>,
    /// Configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigFingerprint>,
    /// Swarm: the task's service spec version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<u64>,
    /// Local: sha256 of the executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe_sha256: Option<String>,
    /// Local: argv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// When the instance was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Micros>,
    /// Files changed in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<FsChanges>,
    /// What capturing took.
    pub capture_us: u64,
    /// Calls it made.
    pub engine_calls: u32,
    /// Why a part is unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

/// A configuration fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFingerprint {
    /// Over all parts.
    pub sha256: String,
    /// Command.
    pub command: String,
    /// Entrypoint.
    pub entrypoint: String,
    /// Environment.
    pub env: String,
    /// Labels.
    pub labels: String,
    /// Mounts.
    pub mounts: String,
    /// User.
    pub user: String,
}

impl ConfigFingerprint {
    /// The parts that differ.
    pub fn differs(&self, other: &ConfigFingerprint) -> Vec<&'static str> {
        [
            ("command", &self.command, &other.command),
            ("entrypoint", &self.entrypoint, &other.entrypoint),
            ("env", &self.env, &other.env),
            ("labels", &self.labels, &other.labels),
            ("mounts", &self.mounts, &other.mounts),
            ("user", &self.user, &other.user),
        ]
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(name, _, _)| name)
        .collect()
    }
}

/// Files changed in place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsChanges {
    /// Added.
    pub added: u32,
    /// Changed.
    pub changed: u32,
    /// Deleted.
    pub deleted: u32,
    /// The paths.
    pub paths: Vec<(ChangeKind, String)>,
    /// More than were kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl FsChanges {
    /// Paths of self also present in `later`.
    pub fn carried_over(&self, later: &FsChanges) -> Vec<String> {
        self.paths
            .iter()
            .filter(|(_, p)| later.paths.iter().any(|(_, q)| q == p))
            .map(|(_, p)| p.clone())
            .collect()
    }
}

/// One kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Added.
    Added,
    /// Changed.
    Changed,
    /// Deleted.
    Deleted,
}
