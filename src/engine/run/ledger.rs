//! What a run has written down and counted: the journal (every line flushed as it happens),
//! the decision and kill counters, and the log line for each finding a recovery yields.

use std::collections::{BTreeMap, HashMap};

use tracing::{info, warn};

use crate::journal::{Entry, Recorder};
use crate::vocabulary::identity;
use crate::vocabulary::phase::Phase;
use crate::vocabulary::time::Micros;
use crate::vocabulary::units::format_micros;

/// The journal and the run's counters.
#[derive(Debug)]
pub(super) struct Ledger {
    recorder: Recorder,
    /// The first write that failed; nothing is written after it and the run ends.
    pub write_error: Option<std::io::Error>,
    /// Decisions taken, one per target per tick.
    pub seq: u32,
    /// Kills carried out.
    pub kills: u32,
    /// Kills that missed `recovery.timeout`.
    pub unrecovered: u32,
    /// Each kill's mark, to say how long its recovery took when it ends.
    kill_marks: HashMap<u32, Micros>,
    /// The platform's kind, for naming instances in log lines as the reports do.
    platform: &'static str,
    /// The slots of the latest kills, for naming their replacements in log lines; bounded,
    /// as a flap comes within the settle window, long before this many more kills.
    slots: BTreeMap<u32, String>,
}

/// How many kills keep their slot for the log lines of their recovery.
const SLOTS_KEPT: usize = 1024;

impl Ledger {
    pub fn new(recorder: Recorder, platform: &'static str) -> Ledger {
        Ledger {
            recorder,
            write_error: None,
            seq: 0,
            kills: 0,
            unrecovered: 0,
            kill_marks: HashMap::new(),
            platform,
            slots: BTreeMap::new(),
        }
    }

    /// Appends one line to the journal; after a failed write, nothing more is written.
    pub fn record(&mut self, entry: Entry) {
        if self.write_error.is_some() {
            return;
        }
        if let Entry::Kill(k) = &entry {
            self.slots.insert(k.kill_id, k.slot.clone());
            if self.slots.len() > SLOTS_KEPT {
                self.slots.pop_first();
            }
        }
        if let Err(e) = self.recorder.record(entry) {
            warn!("cannot write {}: {e}", self.recorder.path().display());
            self.write_error = Some(e);
        }
    }

    /// Journals what recoveries reached (marks, flaps, timeouts), logging each for people.
    pub fn record_findings(&mut self, found: Vec<Entry>) {
        for entry in found {
            match &entry {
                Entry::Phase {
                    kill_id,
                    phase: Phase::Kill,
                    at,
                    ..
                } => {
                    self.kill_marks.insert(*kill_id, *at);
                }
                Entry::Phase {
                    kill_id,
                    phase: Phase::Restored,
                    at,
                    instance,
                    ..
                } => {
                    // A restored kill's mark is needed no more; dropping it keeps the run's
                    // memory flat however many kills it makes.
                    let took = self
                        .kill_marks
                        .remove(kill_id)
                        .map(|k| format_micros(at.saturating_sub(k).max(0) as u64))
                        .unwrap_or_else(|| "?".to_string());
                    let replacement = self.name(*kill_id, instance);
                    info!("kill #{kill_id}: restored in {took} (replacement {replacement})");
                }
                Entry::Flap {
                    kill_id, instance, ..
                } => {
                    let replacement = self.name(*kill_id, instance);
                    warn!("kill #{kill_id}: replacement {replacement} flapped (unhealthy within the settle window)");
                }
                Entry::Unrecovered {
                    kill_id,
                    stalled_in,
                    ..
                } => {
                    self.kill_marks.remove(kill_id);
                    warn!("kill #{kill_id}: unrecovered, stalled in {stalled_in}");
                    self.unrecovered += 1;
                }
                _ => {}
            }
            self.record(entry);
        }
    }

    /// An instance of kill `kill_id`'s slot, named as the reports name it.
    fn name(&self, kill_id: u32, id: &str) -> String {
        match self.slots.get(&kill_id) {
            Some(slot) => identity::short(self.platform, id, slot),
            None => id.to_string(),
        }
    }

    /// Where the journal is.
    pub fn path(&self) -> &std::path::Path {
        self.recorder.path()
    }
}
