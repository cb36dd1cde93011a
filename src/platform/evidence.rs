//! Drift evidence: what one instance was (its image, a fingerprint of its configuration, the
//! changes made to it in place), so that a victim and its replacement can be set side by side
//! and a replacement shown to be a phoenix, rebuilt from its definition, and not a snowflake
//! that carries its predecessor's hand edits.
//!
//! Everything here is pure: platforms read the raw facts and hand them to
//! [`ConfigFingerprint::of`] and [`FsChanges::of`]. Environment values are hashed on the way
//! in and never kept, so no secret reaches a journal or a report.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Micros;

/// At most this many changed paths are kept per instance; the counts cover them all.
pub const MAX_PATHS: usize = 200;

/// What one instance was, captured for drift evidence. Every field is optional: `None` means
/// not known (not captured, or not applicable), never "clean".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The instance id it describes.
    pub instance: String,
    /// The image id (`sha256:…`) the container runs; `None` for a process, which has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The image's first repo digest (`repo@sha256:…`); `None` also when the image was built
    /// here and never pushed or pulled, so it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_digest: Option<String>,
    /// A fingerprint of the configuration the instance was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigFingerprint>,
    /// The Swarm service's version (`Version.Index`) when the task was captured, given only
    /// when the task runs the service's current spec. The version also moves when a rolling
    /// update progresses, so two tasks of one spec may show two versions: `config` says
    /// whether they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<u64>,
    /// sha256 of the executable a process runs (local platform only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe_sha256: Option<String>,
    /// The command line a process runs (local platform only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// When the instance (the container) was created, on the platform's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Micros>,
    /// The engine's record of the container's filesystem changes (`docker diff`); `None` for
    /// a process, which has no layer of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<FsChanges>,
    /// What capturing took, wall time, in microseconds.
    pub capture_us: u64,
    /// Engine API calls the capture made (for a process: the `/proc` reads).
    pub engine_calls: u32,
    /// Why a part is unknown, one line per failed part, each `field: reason`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

impl Evidence {
    /// Evidence of `instance` with nothing captured yet.
    pub fn of(instance: &str) -> Evidence {
        Evidence {
            instance: instance.to_string(),
            ..Evidence::default()
        }
    }

    /// Records that the field `part` could not be captured, and why.
    pub fn note_unknown(&mut self, part: &str, why: impl std::fmt::Display) {
        self.unknown.push(format!("{part}: {why}"));
    }
}

/// A fingerprint of an instance's configuration: one hash over everything, and one per part so
/// a report can say which part differs. Each is sha256 hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFingerprint {
    /// Over all the parts below, canonical.
    pub sha256: String,
    /// The command (Docker's `Cmd`; a process's argv), in order.
    pub command: String,
    /// The entrypoint, in order; empty for a process.
    pub entrypoint: String,
    /// The environment as `NAME=sha256(VALUE)`, sorted: values are never kept.
    pub env: String,
    /// The labels as `key=value`, sorted.
    pub labels: String,
    /// The mounts as `type source->destination mode rw|ro`, sorted.
    pub mounts: String,
    /// The user the instance runs as (for a process, its effective uid).
    pub user: String,
}

/// The raw configuration a platform read, before it is fingerprinted. A part the platform does
/// not have stays empty, and absent and empty hash alike. It holds environment values, so it
/// is neither `Debug` nor `Serialize`: it lives only until [`ConfigFingerprint::of`].
#[derive(Default)]
pub struct ConfigParts<'a> {
    /// The command, in order.
    pub command: &'a [String],
    /// The entrypoint, in order.
    pub entrypoint: &'a [String],
    /// `NAME=VALUE` entries (an entry with no `=` is a name alone).
    pub env: &'a [String],
    /// Label keys and values.
    pub labels: Vec<(&'a str, &'a str)>,
    /// Mounts, each from [`mount_line`].
    pub mounts: Vec<String>,
    /// The user.
    pub user: &'a str,
}

/// One mount in its canonical form: `type source->destination mode rw|ro`.
pub fn mount_line(kind: &str, source: &str, destination: &str, mode: &str, rw: bool) -> String {
    let access = if rw { "rw" } else { "ro" };
    format!("{kind} {source}->{destination} {mode} {access}")
}

/// The part names, in the order the overall hash covers them.
const PARTS: [&str; 6] = ["command", "entrypoint", "env", "labels", "mounts", "user"];

impl ConfigFingerprint {
    /// The fingerprint of `parts`. Lists whose order means nothing (env, labels, mounts) are
    /// sorted first, so the same configuration read in another order gives the same hash.
    pub fn of(parts: &ConfigParts<'_>) -> ConfigFingerprint {
        let mut env: Vec<String> = parts.env.iter().map(|e| hashed_env_entry(e)).collect();
        env.sort();
        let mut labels: Vec<String> = parts
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort();
        let mut mounts = parts.mounts.clone();
        mounts.sort();
        let user: &[&str] = if parts.user.is_empty() {
            &[]
        } else {
            &[parts.user]
        };
        let mut out = ConfigFingerprint {
            sha256: String::new(),
            command: list_sha256(parts.command),
            entrypoint: list_sha256(parts.entrypoint),
            env: list_sha256(&env),
            labels: list_sha256(&labels),
            mounts: list_sha256(&mounts),
            user: list_sha256(user),
        };
        let overall: String = PARTS
            .iter()
            .zip(out.part_hashes())
            .map(|(name, hash)| format!("{name}={hash}\n"))
            .collect();
        out.sha256 = sha256_hex(overall.as_bytes());
        out
    }

    /// The names of the parts that differ between `self` and `other`, in a fixed order.
    pub fn differs(&self, other: &ConfigFingerprint) -> Vec<&'static str> {
        PARTS
            .iter()
            .zip(self.part_hashes().into_iter().zip(other.part_hashes()))
            .filter(|(_, (a, b))| a != b)
            .map(|(name, _)| *name)
            .collect()
    }

    fn part_hashes(&self) -> [&str; 6] {
        [
            &self.command,
            &self.entrypoint,
            &self.env,
            &self.labels,
            &self.mounts,
            &self.user,
        ]
    }
}

/// `NAME=VALUE` as `NAME=sha256(VALUE)`: the value cannot be read back, yet a changed value
/// still changes the hash.
fn hashed_env_entry(entry: &str) -> String {
    match entry.split_once('=') {
        Some((name, value)) => format!("{name}={}", sha256_hex(value.as_bytes())),
        None => entry.to_string(),
    }
}

/// sha256 hex of a list, each item written as `length:item\n` so that no two lists share an
/// encoding (an item may hold newlines). The empty list hashes as the empty string.
fn list_sha256(items: &[impl AsRef<str>]) -> String {
    let mut hasher = Sha256::new();
    for item in items {
        let item = item.as_ref();
        hasher.update(format!("{}:", item.len()));
        hasher.update(item);
        hasher.update("\n");
    }
    hex(&hasher.finalize())
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An instance's filesystem changes as the engine records them against its image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsChanges {
    /// Paths added.
    pub added: u32,
    /// Paths changed (a directory is changed when anything in it is added or deleted).
    pub changed: u32,
    /// Paths deleted.
    pub deleted: u32,
    /// The changes, sorted by path, at most [`MAX_PATHS`] of them.
    pub paths: Vec<(ChangeKind, String)>,
    /// True when `paths` holds only the first [`MAX_PATHS`] of them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Created since the container was.
    Added,
    /// Modified (content, metadata, or a directory's entries).
    Changed,
    /// Removed from what the image holds.
    Deleted,
}

impl FsChanges {
    /// The changes as counted over all of `changes`, keeping the first [`MAX_PATHS`] by path.
    pub fn of(changes: impl IntoIterator<Item = (ChangeKind, String)>) -> FsChanges {
        let mut out = FsChanges::default();
        let mut paths: Vec<(ChangeKind, String)> = changes.into_iter().collect();
        for (kind, _) in &paths {
            let count = match kind {
                ChangeKind::Added => &mut out.added,
                ChangeKind::Changed => &mut out.changed,
                ChangeKind::Deleted => &mut out.deleted,
            };
            *count = count.saturating_add(1);
        }
        paths.sort_by(|a, b| a.1.cmp(&b.1));
        out.truncated = paths.len() > MAX_PATHS;
        paths.truncate(MAX_PATHS);
        out.paths = paths;
        out
    }

    /// No path changed at all.
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.changed == 0 && self.deleted == 0
    }

    /// The paths of `self` (a victim's changes) that `later` (the same instance restarted, or
    /// its replacement) also has changed, with any kind: what the victim's in-place changes
    /// left behind. When either list is truncated, paths past the cut cannot be compared, so
    /// the answer may be short; [`FsChanges::compares_all`] says whether it is complete.
    pub fn carried_over(&self, later: &FsChanges) -> Vec<String> {
        let still: HashSet<&str> = later.paths.iter().map(|(_, p)| p.as_str()).collect();
        self.paths
            .iter()
            .filter(|(_, path)| still.contains(path.as_str()))
            .map(|(_, path)| path.clone())
            .collect()
    }

    /// Whether [`FsChanges::carried_over`] between `self` and `later` saw every path of both.
    pub fn compares_all(&self, later: &FsChanges) -> bool {
        !self.truncated && !later.truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn changes(items: &[(ChangeKind, &str)]) -> FsChanges {
        FsChanges::of(items.iter().map(|(k, p)| (*k, p.to_string())))
    }

    #[test]
    fn carried_over_finds_the_victims_paths_the_later_instance_still_has_whatever_the_kind() {
        use ChangeKind::*;
        let victim = changes(&[
            (Added, "/srv/hotfix.conf"),
            (Changed, "/etc"),
            (Deleted, "/etc/motd"),
        ]);
        let restarted = changes(&[
            (Changed, "/etc"),
            (Changed, "/srv/hotfix.conf"),
            (Added, "/tmp/new"),
        ]);
        assert_eq!(
            victim.carried_over(&restarted),
            ["/etc", "/srv/hotfix.conf"]
        );
        assert!(victim.carried_over(&FsChanges::default()).is_empty());
        assert!(victim.compares_all(&restarted));
    }

    #[test]
    fn counts_cover_every_change_while_paths_stop_at_the_cap_in_path_order() {
        let many: Vec<(ChangeKind, String)> = (0..MAX_PATHS + 50)
            .rev()
            .map(|i| (ChangeKind::Added, format!("/data/{i:04}")))
            .chain([(ChangeKind::Deleted, "/zz".to_string())])
            .collect();
        let fs = FsChanges::of(many);
        assert_eq!((fs.added, fs.changed, fs.deleted), (250, 0, 1));
        assert_eq!(fs.paths.len(), MAX_PATHS);
        assert!(fs.truncated);
        assert_eq!(fs.paths[0].1, "/data/0000");
        assert!(fs.paths.windows(2).all(|w| w[0].1 < w[1].1));
        // A path past the cut of either side is not compared, and the caller can tell.
        let later = changes(&[(ChangeKind::Changed, "/zz")]);
        assert!(fs.carried_over(&later).is_empty());
        assert!(!fs.compares_all(&later));
        assert!(!later.compares_all(&fs));
    }

    fn web_config(env: &[String], labels: Vec<(&'static str, &'static str)>) -> ConfigFingerprint {
        let command = strings(&["--port", "8080"]);
        let entrypoint = strings(&["/srv/web"]);
        ConfigFingerprint::of(&ConfigParts {
            command: &command,
            entrypoint: &entrypoint,
            env,
            labels,
            mounts: vec![
                mount_line("bind", "/srv/data", "/data", "", true),
                mount_line(
                    "volume",
                    "/var/lib/docker/volumes/c/_data",
                    "/c",
                    "z",
                    false,
                ),
            ],
            user: "web",
        })
    }

    #[test]
    fn order_of_env_labels_and_mounts_does_not_change_the_fingerprint() {
        let a = web_config(
            &strings(&["A=1", "B=2"]),
            vec![("tier", "front"), ("app", "shop")],
        );
        let b = web_config(
            &strings(&["B=2", "A=1"]),
            vec![("app", "shop"), ("tier", "front")],
        );
        assert_eq!(a, b);
        let mut reversed_mounts = ConfigParts {
            mounts: vec![
                mount_line("volume", "/v", "/c", "z", false),
                mount_line("bind", "/s", "/d", "", true),
            ],
            ..ConfigParts::default()
        };
        let one = ConfigFingerprint::of(&reversed_mounts);
        reversed_mounts.mounts.reverse();
        assert_eq!(one, ConfigFingerprint::of(&reversed_mounts));
        // Command order is meaning, so it counts.
        let (ab, ba) = (strings(&["a", "b"]), strings(&["b", "a"]));
        let cmd = |c| {
            ConfigFingerprint::of(&ConfigParts {
                command: c,
                ..ConfigParts::default()
            })
        };
        assert_eq!(cmd(&ab).differs(&cmd(&ba)), ["command"]);
    }

    #[test]
    fn differs_names_exactly_the_parts_that_changed() {
        let base = web_config(&strings(&["A=1"]), vec![("app", "shop")]);
        let env = web_config(&strings(&["A=2"]), vec![("app", "shop")]);
        assert_eq!(base.differs(&env), ["env"]);
        assert_ne!(base.sha256, env.sha256);
        let labels = web_config(&strings(&["A=1"]), vec![("app", "shop"), ("v", "2")]);
        assert_eq!(base.differs(&labels), ["labels"]);
        assert!(base.differs(&base.clone()).is_empty());
        let bare = ConfigFingerprint::of(&ConfigParts::default());
        assert_eq!(
            base.differs(&bare),
            ["command", "entrypoint", "env", "labels", "mounts", "user"]
        );
    }

    #[test]
    fn absent_parts_hash_as_empty_and_list_boundaries_are_not_ambiguous() {
        let bare = ConfigFingerprint::of(&ConfigParts::default());
        let empty = sha256_hex(b"");
        assert_eq!(bare.command, empty);
        assert_eq!(bare.user, empty);
        // ["a b"] and ["a", "b"] are different commands.
        let (one, two) = (strings(&["a b"]), strings(&["a", "b"]));
        let cmd = |c| {
            ConfigFingerprint::of(&ConfigParts {
                command: c,
                ..ConfigParts::default()
            })
            .command
        };
        assert_ne!(cmd(&one), cmd(&two));
    }

    #[test]
    fn an_environment_value_never_appears_in_serialised_evidence() {
        let secret = "hunter2-db-password";
        let env = strings(&[&format!("DB_PASSWORD={secret}"), "MODE=prod"]);
        let evidence = Evidence {
            config: Some(web_config(&env, vec![])),
            ..Evidence::of("c1")
        };
        let json = serde_json::to_string(&evidence).unwrap();
        assert!(!json.contains(secret), "{json}");
        assert!(!json.contains(&sha256_hex(secret.as_bytes())), "{json}");
        assert!(!json.contains("DB_PASSWORD"), "{json}");
        let back: Evidence = serde_json::from_str(&json).unwrap();
        assert_eq!(back, evidence);
    }

    #[test]
    fn evidence_with_nothing_known_serialises_to_its_id_and_costs() {
        let mut e = Evidence::of("c1");
        e.note_unknown("changes", "the engine did not answer");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "instance": "c1", "capture_us": 0, "engine_calls": 0,
                "unknown": ["changes: the engine did not answer"]
            })
        );
    }
}
