//! The Recorder: `journal.jsonl`, one JSON object per line, appended and flushed as each thing
//! happens. A crash or `kill -9` still leaves every line written so far, and the report is
//! always rebuilt from these lines, during the run and afterwards alike. Nothing is kept in
//! memory: a run of thousands of kills writes lines, and [`entries`] reads them back one at a
//! time.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::platform::{Evidence, Instance, PlatformEvent, PlatformFacts};
use crate::vocabulary::phase::Phase;
use crate::vocabulary::time::Micros;

mod reader;

pub use self::reader::{entries, read, Entries, JournalError};

/// File name of the journal inside a run folder.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// The first line: everything needed to rebuild the report without the scenario file.
    RunStarted(RunStarted),
    /// The scheduler's decision at one tick, whether or not anything was killed.
    Decision(Decision),
    /// A kill was carried out.
    Kill(KillEntry),
    /// A kill was attempted and the platform refused or failed it.
    KillFailed {
        /// Decision sequence number.
        seq: u32,
        /// Instance id.
        victim: String,
        /// When firedrill gave up.
        at: Micros,
        /// The platform's error.
        error: String,
    },
    /// A recovery reached a mark.
    Phase {
        /// Which kill.
        kill_id: u32,
        /// Which mark.
        phase: Phase,
        /// When, on the platform's clock.
        at: Micros,
        /// The instance the mark is about (the victim for kill/down, else the replacement).
        instance: String,
        /// The time is not the platform's own record of the moment.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        uncertain: bool,
    },
    /// A replacement turned unhealthy again within the settle window.
    Flap {
        /// Which kill.
        kill_id: u32,
        /// When it turned unhealthy.
        at: Micros,
        /// The replacement.
        instance: String,
    },
    /// A recovery missed `recovery.timeout`.
    Unrecovered {
        /// Which kill.
        kill_id: u32,
        /// When the timeout ran out.
        at: Micros,
        /// The first mark it never reached.
        stalled_in: Phase,
    },
    /// The healthy count of a target changed.
    Capacity {
        /// When.
        at: Micros,
        /// Which target.
        target: String,
        /// Healthy instances now.
        healthy: u32,
        /// Desired healthy instances.
        desired: u32,
    },
    /// The recovery trigger command finished (or was killed at its timeout).
    Trigger(TriggerEntry),
    /// A raw platform event, kept for audits and for ground truth.
    Event(PlatformEvent),
    /// Drift evidence of a kill's victim or replacement (`recovery.drift`).
    Evidence {
        /// Which kill.
        kill_id: u32,
        /// Whose evidence it is.
        role: EvidenceRole,
        /// When the capture finished, on firedrill's clock.
        at: Micros,
        /// What was captured; boxed, as it is far larger than most entries.
        evidence: Box<Evidence>,
    },
    /// The platform's facts at the end of the run (see `Platform::facts`); the report keeps
    /// the last one, which knows every task the run saw.
    PlatformFacts {
        /// When.
        at: Micros,
        /// What the platform said; boxed, as it is far larger than any other entry.
        facts: Box<PlatformFacts>,
    },
    /// One request of a steady-state probe.
    Probe(ProbeEntry),
    /// A stop condition (`abort_when`) fired; no kill follows.
    AbortTriggered {
        /// When it fired.
        at: Micros,
        /// The condition as written.
        condition: String,
        /// What it measured, for people.
        measured: String,
    },
    /// The platform's event stream was lost: until `events_back`, nothing is decided.
    EventsLost {
        /// When it was lost.
        at: Micros,
        /// Why, as the platform saw it.
        reason: String,
    },
    /// The platform's event stream is live again and its resync is done; marks the resync
    /// supplied carry `uncertain`.
    EventsBack {
        /// When it was back.
        at: Micros,
        /// When it had been lost.
        lost_since: Micros,
    },
    /// Something went wrong beside the run that did not change it: a notification that could
    /// not be delivered, say. Written by helpers through a [`JournalAppender`], so it may come
    /// after `run_ended`.
    Warning {
        /// When.
        at: Micros,
        /// What had the trouble, for people (`notify.webhooks[0] (env SLACK_URL)`); never a
        /// secret.
        source: String,
        /// What went wrong.
        message: String,
    },
    /// The last line of a run that ended by itself or by Ctrl-C.
    RunEnded {
        /// When.
        at: Micros,
        /// How it ended.
        status: RunStatus,
        /// Why, for people.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// Whose drift evidence an `evidence` line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRole {
    /// The instance that was killed.
    Victim,
    /// The instance that took its place (the victim itself when restarted in place).
    Replacement,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The schedule ran to its end.
    Completed,
    /// Ctrl-C (SIGINT) or SIGTERM stopped it early; the report is partial.
    Interrupted,
    /// The platform failed during the run.
    Failed,
    /// A stop condition (`abort_when`) fired; the reason names it.
    Aborted,
    /// `--max-runtime` ran out before the schedule did.
    Stopped,
}

/// One request of a steady-state probe, as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeEntry {
    /// The probe's name.
    pub probe: String,
    /// When the request started.
    pub at: Micros,
    /// How long it took to succeed or fail, in microseconds.
    pub latency_us: u64,
    /// Whether it succeeded.
    pub ok: bool,
    /// The HTTP status, when an answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProbeEntry {
    /// When the outcome was known: the start plus the latency.
    pub fn observed_at(&self) -> Micros {
        self.at
            .saturating_add(i64::try_from(self.latency_us).unwrap_or(i64::MAX))
    }
}

/// The first journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// When the run started.
    pub at: Micros,
    /// firedrill's version.
    pub tool_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file path as given.
    pub scenario_path: String,
    /// sha256 of the scenario file's bytes, hex.
    pub scenario_sha256: String,
    /// The seed used.
    pub seed: u64,
    /// Platform kind.
    pub platform: String,
    /// Desired healthy capacity of each target.
    pub desired: BTreeMap<String, u32>,
    /// The SLO lines, so the verdict can be recomputed.
    pub slos: Vec<String>,
    /// `recovery.timeout` in microseconds.
    pub recovery_timeout_us: u64,
    /// The `min_healthy` floor resolved against each target's desired capacity, when the
    /// scenario sets one; the report draws it on the capacity chart.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub min_healthy_floor: BTreeMap<String, u32>,
    /// The instances seen at start.
    pub initial: Vec<Instance>,
    /// The platform's facts at the start (see `Platform::facts`), when it has any; boxed, as
    /// they are far larger than the rest of the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_facts: Option<Box<PlatformFacts>>,
    /// The steady-state probes, so the report lists each even when it never answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeInfo>,
    /// The stop conditions (`abort_when`) the run watched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abort_when: Vec<String>,
    /// Whether drift evidence was captured for each kill (`recovery.drift`), so a kill without
    /// any is reported unknown rather than clean.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drift: bool,
}

/// A steady-state probe as recorded at the start of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Its name.
    pub name: String,
    /// `http` or `tcp`.
    pub kind: String,
    /// The URL or address it reaches.
    pub endpoint: String,
    /// Time between requests, in microseconds.
    pub every_us: u64,
}

/// One scheduler decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Sequence number, from 1.
    pub seq: u32,
    /// The planned offset from the run start, in milliseconds; the same seed gives the same
    /// offsets.
    pub offset_ms: u64,
    /// When the decision was actually taken.
    pub at: Micros,
    /// Which target.
    pub target: String,
    /// Instances that passed the selector, opt-in, exempt and `min_age` rules.
    pub eligible: u32,
    /// Healthy instances at decision time.
    pub healthy: u32,
    /// Desired capacity.
    pub desired: u32,
    /// Recoveries in progress at decision time.
    pub in_flight: u32,
    /// How many victims the policy asked for.
    pub wanted: u32,
    /// The chosen victims (may be fewer than `wanted`, or none).
    pub victims: Vec<Victim>,
    /// Why no victim, or fewer than wanted, were chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// How many of the wanted kills each guard held back, by the guard's name
    /// (`min_healthy`, `max_in_flight`, `ineligible`, `max_kills`, `no_facts`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refused_kills: BTreeMap<String, u32>,
}

/// A chosen victim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Victim {
    /// Instance id.
    pub id: String,
    /// Instance slot.
    pub slot: String,
    /// Instance name.
    pub name: String,
}

/// A kill that was carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillEntry {
    /// Kill number, from 1.
    pub kill_id: u32,
    /// The decision that chose it.
    pub seq: u32,
    /// When the action was issued (the kill mark).
    pub at: Micros,
    /// Which target.
    pub target: String,
    /// Instance id.
    pub victim: String,
    /// Instance slot.
    pub slot: String,
    /// Instance name.
    pub name: String,
    /// The action, described.
    pub action: String,
    /// What the platform did.
    pub detail: String,
}

/// What the recovery trigger command did after one kill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerEntry {
    /// Which kill it ran for.
    pub kill_id: u32,
    /// When it started.
    pub started_at: Micros,
    /// How long it ran, in microseconds.
    pub duration_us: u64,
    /// Its exit code; absent when it was killed by a signal or could not start.
    pub exit_code: Option<i32>,
    /// True when it ran past its timeout and was killed.
    pub timed_out: bool,
    /// The last lines of its stdout and stderr, or why it could not start.
    pub output_tail: String,
}

/// Sees every line the run writes, just after it is written: live metrics and notifications
/// follow the run this way, from the same lines every report is folded from.
pub trait Observer: Send {
    /// Called once per line, in journal order, on the run loop: it must not block.
    fn observe(&mut self, entry: &Entry);
}

/// Appends entries to `journal.jsonl`, flushing each line so nothing is lost to a crash. It
/// keeps no entry: the file is the only record, read back with [`entries`].
pub struct Recorder {
    appender: JournalAppender,
    observers: Vec<Box<dyn Observer>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.appender.path)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl Recorder {
    /// Creates the journal at `path`, which must not exist yet: a journal is never written
    /// over, and a link planted at its name is not followed.
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(Recorder {
            appender: JournalAppender {
                path: path.to_path_buf(),
                file: Arc::new(Mutex::new(file)),
            },
            observers: Vec::new(),
        })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.appender.path
    }

    /// Adds an observer; it sees every line recorded from now on.
    pub fn observe(&mut self, observer: Box<dyn Observer>) {
        self.observers.push(observer);
    }

    /// A handle that appends to the same journal from elsewhere (a background task), for
    /// lines that are no part of the run itself, such as warnings. Its lines reach no observer.
    pub fn appender(&self) -> JournalAppender {
        self.appender.clone()
    }

    /// Appends one entry, flushes it to the file, then shows it to every observer.
    pub fn record(&mut self, entry: Entry) -> std::io::Result<()> {
        self.appender.append(&entry)?;
        for observer in &mut self.observers {
            observer.observe(&entry);
        }
        Ok(())
    }
}

/// Appends whole lines to a journal that a [`Recorder`] writes too; the two never interleave
/// within a line.
#[derive(Debug, Clone)]
pub struct JournalAppender {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl JournalAppender {
    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and flushes it to the file.
    pub fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        // A poisoned lock only means another writer panicked mid-call; the file itself is
        // still whole up to its last line.
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // One write call per line keeps a line whole even when the process dies mid-run.
        file.write_all(&line)?;
        file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_facts_of_any_shape_from_older_versions_still_load_and_write_back_the_same() {
        let line = r#"{"type":"platform_facts","at":5,"facts":{"custom":[1,2],"manager":"unix:///s","services":{"web":{"mode":"odd"}}}}"#;
        let entry: Entry = serde_json::from_str(line).unwrap();
        let Entry::PlatformFacts { facts, .. } = &entry else {
            panic!("{entry:?}");
        };
        assert_eq!(facts.manager.as_deref(), Some("unix:///s"));
        assert!(facts.services.is_none(), "an odd shape is kept untyped");
        assert_eq!(serde_json::to_string(&entry).unwrap(), line);
    }
}
