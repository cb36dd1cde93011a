//! The drift section of a report: for each kill, its victim and its replacement side by side,
//! and what they show (a victim changed in place, changes the restarted replacement carried
//! over, another image, another configuration); and the run's counts, which the `drift.*`
//! SLOs judge. What could not be captured is counted as unknown, never as clean.

use serde::{Deserialize, Serialize};

use crate::platform::Evidence;
use crate::report::{KillReport, RunReport};
use crate::vocabulary::slo::DriftCheck;

/// One kill's drift evidence and what it shows. Each judgement is `None` when the evidence
/// does not say (not captured, or not applicable to the platform).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KillDrift {
    /// The victim as captured after its action (before it, for `remove`).
    pub victim: Option<Evidence>,
    /// The replacement as captured once it ran.
    pub replacement: Option<Evidence>,
    /// The replacement is the victim restarted under its own id, not a fresh instance.
    pub same_instance: Option<bool>,
    /// The victim had files changed in place since it was created: a snowflake before it died.
    pub modified_victim: Option<bool>,
    /// The victim's changed paths the replacement still carries; empty for a fresh instance.
    pub carried_over: Option<Vec<String>>,
    /// The replacement runs another image (or, locally, another executable).
    pub image_changed: Option<bool>,
    /// The parts of the configuration that differ (`command`, `env`, `argv`…).
    pub config_changed: Option<Vec<String>>,
    /// Why some of the evidence is missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

impl KillDrift {
    /// Compares a kill's victim with its replacement. `same_instance` comes from the
    /// recovery's marks; `expected_replacement` says a replacement ran, so missing evidence
    /// of it is unknown rather than not applicable.
    pub fn judge(
        victim: Option<Evidence>,
        replacement: Option<Evidence>,
        same_instance: Option<bool>,
        expected_replacement: bool,
    ) -> KillDrift {
        let mut unknown = Vec::new();
        match &victim {
            Some(v) => unknown.extend(v.unknown.iter().map(|u| format!("victim: {u}"))),
            None => unknown.push("victim: no evidence was captured".to_string()),
        }
        match &replacement {
            Some(r) => unknown.extend(r.unknown.iter().map(|u| format!("replacement: {u}"))),
            None if expected_replacement => {
                unknown.push("replacement: no evidence was captured".to_string());
            }
            None => {}
        }
        let v = victim.as_ref();
        let r = replacement.as_ref();
        let modified_victim = v
            .and_then(|v| v.changes.as_ref())
            .map(|c| c.added + c.changed + c.deleted > 0);
        let carried_over = match same_instance {
            Some(false) => Some(Vec::new()),
            Some(true) => match (
                v.and_then(|v| v.changes.as_ref()),
                r.and_then(|r| r.changes.as_ref()),
            ) {
                (Some(before), Some(after)) => Some(before.carried_over(after)),
                _ => None,
            },
            None => None,
        };
        let image_changed = match (v, r) {
            (Some(v), Some(r)) => match (&v.image_id, &r.image_id, &v.exe_sha256, &r.exe_sha256) {
                (Some(a), Some(b), _, _) => Some(a != b),
                (_, _, Some(a), Some(b)) => Some(a != b),
                _ => None,
            },
            _ => None,
        };
        let config_changed = match (v, r) {
            (Some(v), Some(r)) => {
                let mut parts: Option<Vec<String>> = None;
                if let (Some(a), Some(b)) = (&v.config, &r.config) {
                    parts = Some(a.differs(b).into_iter().map(String::from).collect());
                }
                if let (Some(a), Some(b)) = (&v.argv, &r.argv) {
                    let list = parts.get_or_insert_with(Vec::new);
                    if a != b {
                        list.push("argv".to_string());
                    }
                }
                parts
            }
            _ => None,
        };
        KillDrift {
            victim,
            replacement,
            same_instance,
            modified_victim,
            carried_over,
            image_changed,
            config_changed,
            unknown,
        }
    }

    /// Whether this kill counts under `check`.
    pub fn shows(&self, check: DriftCheck) -> bool {
        match check {
            DriftCheck::ModifiedVictims => self.modified_victim == Some(true),
            DriftCheck::CarriedOver => self.carried_over.as_ref().is_some_and(|c| !c.is_empty()),
            DriftCheck::ImageChanged => self.image_changed == Some(true),
            DriftCheck::ConfigChanged => {
                self.config_changed.as_ref().is_some_and(|c| !c.is_empty())
            }
            DriftCheck::Unknown => !self.unknown.is_empty(),
        }
    }
}

/// The run's drift counts: kills whose evidence shows each thing, and what capture cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Kills with drift evidence expected.
    pub kills: u32,
    /// Victims with files changed in place.
    pub modified_victims: u32,
    /// Replacements that are their victim restarted, carrying its changes over.
    pub carried_over: u32,
    /// Replacements on another image.
    pub image_changed: u32,
    /// Replacements with another configuration.
    pub config_changed: u32,
    /// Kills whose evidence is incomplete.
    pub unknown: u32,
    /// Captures made.
    pub captures: u32,
    /// The median capture's wall time, in microseconds.
    pub capture_p50_us: u64,
    /// The slowest capture's wall time, in microseconds.
    pub capture_max_us: u64,
    /// Engine calls (or /proc reads) all captures made together.
    pub engine_calls: u64,
}

impl DriftReport {
    /// The count a `drift.*` SLO judges.
    pub fn count(&self, check: DriftCheck) -> u32 {
        match check {
            DriftCheck::ModifiedVictims => self.modified_victims,
            DriftCheck::CarriedOver => self.carried_over,
            DriftCheck::ImageChanged => self.image_changed,
            DriftCheck::ConfigChanged => self.config_changed,
            DriftCheck::Unknown => self.unknown,
        }
    }

    /// Sums the kills' drift.
    pub fn of<'a>(kills: impl Iterator<Item = &'a KillDrift>) -> DriftReport {
        let mut report = DriftReport::default();
        let mut times = Vec::new();
        for k in kills {
            report.kills += 1;
            let count = |check| u32::from(k.shows(check));
            report.modified_victims += count(DriftCheck::ModifiedVictims);
            report.carried_over += count(DriftCheck::CarriedOver);
            report.image_changed += count(DriftCheck::ImageChanged);
            report.config_changed += count(DriftCheck::ConfigChanged);
            report.unknown += count(DriftCheck::Unknown);
            for e in k.victim.iter().chain(k.replacement.iter()) {
                report.captures += 1;
                report.engine_calls += u64::from(e.engine_calls);
                times.push(e.capture_us);
            }
        }
        times.sort_unstable();
        report.capture_p50_us = times.get(times.len() / 2).copied().unwrap_or(0);
        report.capture_max_us = times.last().copied().unwrap_or(0);
        report
    }
}

/// What the drift section says when no kill shows drift.
pub const NO_DRIFT: &str =
    "Every replacement matched its victim: nothing changed in place, nothing \
                            carried over, the same image and configuration.";

/// The kills whose evidence shows anything, each with its findings, for the drift sections.
pub fn kills_showing_drift(report: &RunReport) -> Vec<(&KillReport, Vec<String>)> {
    report
        .kills
        .iter()
        .filter_map(|k| Some((k, k.drift.as_ref()?.findings())))
        .filter(|(_, findings)| !findings.is_empty())
        .collect()
}

/// How many changed paths a finding names before it says how many more there are.
const PATHS_SHOWN: usize = 5;

/// `a, b, c and 4 more`.
fn some_paths(paths: &[String]) -> String {
    let mut text = paths
        .iter()
        .take(PATHS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > PATHS_SHOWN {
        text.push_str(&format!(" and {} more", paths.len() - PATHS_SHOWN));
    }
    text
}

/// The first 19 characters of an image id (`sha256:` and 12 hex digits), as people compare them.
fn short_image(id: &str) -> &str {
    id.get(..19).unwrap_or(id)
}

impl KillDrift {
    /// What the evidence shows, one finding per line, in the words every format uses; empty
    /// for a clean kill.
    pub fn findings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(c) = self.victim.as_ref().and_then(|v| v.changes.as_ref()) {
            if self.modified_victim == Some(true) {
                let paths: Vec<String> = c.paths.iter().map(|(_, p)| p.clone()).collect();
                out.push(format!(
                    "victim changed in place: {} added, {} changed, {} deleted ({})",
                    c.added,
                    c.changed,
                    c.deleted,
                    some_paths(&paths)
                ));
            }
        }
        if let Some(carried) = self.carried_over.as_ref().filter(|c| !c.is_empty()) {
            out.push(format!(
                "restarted in place, carrying over {}: {}",
                carried.len(),
                some_paths(carried)
            ));
        }
        if self.image_changed == Some(true) {
            let ids = |e: &Option<Evidence>| {
                e.as_ref()
                    .and_then(|e| e.image_id.as_deref().or(e.exe_sha256.as_deref()))
                    .map(short_image)
                    .unwrap_or("?")
                    .to_string()
            };
            out.push(format!(
                "image changed: {} → {}",
                ids(&self.victim),
                ids(&self.replacement)
            ));
        }
        if let Some(parts) = self.config_changed.as_ref().filter(|p| !p.is_empty()) {
            out.push(format!("configuration changed: {}", parts.join(", ")));
        }
        for why in &self.unknown {
            out.push(format!("unknown: {why}"));
        }
        out
    }
}

impl DriftReport {
    /// One sentence of counts and capture cost, for every format's drift section.
    pub fn sentence(&self) -> String {
        format!(
            "Evidence for {} kills: {} victims changed in place, {} replacements carried changes \
             over, {} on another image, {} with another configuration, {} unknown. Capture took \
             {} at the median and {} at most, {} engine calls in all.",
            self.kills,
            self.modified_victims,
            self.carried_over,
            self.image_changed,
            self.config_changed,
            self.unknown,
            crate::vocabulary::units::format_micros(self.capture_p50_us),
            crate::vocabulary::units::format_micros(self.capture_max_us),
            self.engine_calls
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{ChangeKind, ConfigFingerprint, FsChanges};

    fn evidence(id: &str, image: &str, env: &str, changed: &[&str]) -> Evidence {
        Evidence {
            instance: id.into(),
            image_id: Some(image.into()),
            config: Some(ConfigFingerprint {
                env: env.into(),
                ..ConfigFingerprint::default()
            }),
            changes: Some(FsChanges {
                added: changed.len() as u32,
                paths: changed
                    .iter()
                    .map(|p| (ChangeKind::Added, p.to_string()))
                    .collect(),
                ..FsChanges::default()
            }),
            capture_us: 3_000,
            engine_calls: 3,
            ..Evidence::default()
        }
    }

    #[test]
    fn a_victim_restarted_in_place_carries_its_changes_over() {
        let before = evidence("c1", "sha256:a", "e", &["/tmp/snowflake"]);
        let after = evidence("c1", "sha256:a", "e", &["/tmp/snowflake"]);
        let d = KillDrift::judge(Some(before), Some(after), Some(true), true);
        assert_eq!(d.modified_victim, Some(true));
        assert_eq!(d.carried_over, Some(vec!["/tmp/snowflake".to_string()]));
        assert_eq!(
            (d.image_changed, d.config_changed.clone()),
            (Some(false), Some(vec![]))
        );
        assert!(d.shows(DriftCheck::CarriedOver) && d.shows(DriftCheck::ModifiedVictims));
        assert!(!d.shows(DriftCheck::Unknown));
        assert_eq!(
            d.findings()[1],
            "restarted in place, carrying over 1: /tmp/snowflake"
        );
    }

    #[test]
    fn a_fresh_replacement_carries_nothing_and_its_image_and_config_are_compared() {
        let before = evidence("c1", "sha256:a", "e1", &["/tmp/snowflake"]);
        let after = evidence("c2", "sha256:b", "e2", &[]);
        let d = KillDrift::judge(Some(before), Some(after), Some(false), true);
        assert_eq!(d.carried_over, Some(vec![]));
        assert_eq!(d.image_changed, Some(true));
        assert_eq!(d.config_changed, Some(vec!["env".to_string()]));
        let report = DriftReport::of([d].iter());
        assert_eq!(
            (
                report.modified_victims,
                report.carried_over,
                report.image_changed
            ),
            (1, 0, 1)
        );
        assert_eq!((report.captures, report.engine_calls), (2, 6));
    }

    #[test]
    fn missing_evidence_is_unknown_never_clean() {
        let d = KillDrift::judge(None, None, Some(true), true);
        assert_eq!(d.carried_over, None);
        assert_eq!(d.modified_victim, None);
        assert_eq!(d.unknown.len(), 2, "{:?}", d.unknown);
        assert!(d.shows(DriftCheck::Unknown));
        let failed = Evidence {
            instance: "c1".into(),
            unknown: vec!["inspect failed: no such container".into()],
            ..Evidence::default()
        };
        let d = KillDrift::judge(Some(failed), None, None, false);
        assert_eq!(
            d.unknown,
            vec!["victim: inspect failed: no such container".to_string()]
        );
    }
}
