//! Each kill's marks, recovery and outcome, and the span histograms drawn from them.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::journal::{Entry, KillEntry, TriggerEntry};
use crate::report::{utc, HistogramSummary, KillReport, PhaseMark, Unrecovered};
use crate::vocabulary::phase::{Phase, Span, MARK_BEFORE_KILL_TOLERANCE_US};
use crate::vocabulary::time::Micros;
use crate::vocabulary::units::format_micros;

/// One mark as the journal last stated it.
#[derive(Debug, Clone)]
struct Mark {
    at: Micros,
    instance: String,
    uncertain: bool,
}

/// What the journal says about one kill besides its `kill` line.
#[derive(Debug, Default)]
struct Recovery {
    marks: BTreeMap<Phase, Mark>,
    flaps: Vec<Micros>,
    unrecovered: Option<(Micros, Phase)>,
    trigger: Option<TriggerEntry>,
}

/// Each kill and what the journal says about its recovery, kept as the journal is read. A
/// kill's report needs when the run ended, known only at the end, so the lines are kept (the
/// few per kill), not the reports.
#[derive(Debug, Default)]
pub(super) struct Kills {
    kills: Vec<KillEntry>,
    seen: HashSet<u32>,
    // Keyed by kill id, not attached to a kill as we go, so a line written before its `kill`
    // line (out-of-order platform events) still counts.
    recoveries: HashMap<u32, Recovery>,
}

impl Kills {
    pub(super) fn push(&mut self, entry: &Entry) {
        match entry {
            // A repeated kill id keeps its first line.
            Entry::Kill(k) if self.seen.insert(k.kill_id) => self.kills.push(k.clone()),
            Entry::Phase {
                kill_id,
                phase,
                at,
                instance,
                uncertain,
            } => {
                // The last line wins: the engine writes a kill mark when it issues the action
                // and again when the platform's own event refines it.
                let mark = Mark {
                    at: *at,
                    instance: instance.clone(),
                    uncertain: *uncertain,
                };
                self.recovery(*kill_id).marks.insert(*phase, mark);
            }
            Entry::Flap { kill_id, at, .. } => self.recovery(*kill_id).flaps.push(*at),
            Entry::Unrecovered {
                kill_id,
                at,
                stalled_in,
            } => {
                // The first line is when the timeout ran out; a later one written at shutdown
                // for the same kill adds nothing.
                self.recovery(*kill_id)
                    .unrecovered
                    .get_or_insert((*at, *stalled_in));
            }
            Entry::Trigger(t) => self.recovery(t.kill_id).trigger = Some(t.clone()),
            _ => {}
        }
    }

    fn recovery(&mut self, kill_id: u32) -> &mut Recovery {
        self.recoveries.entry(kill_id).or_default()
    }

    /// One report per kill, in journal order. `ended_at` is when the run ended; a kill that by
    /// then has neither reached `restored` nor been given up on is reported unrecovered at that
    /// time.
    pub(super) fn finish(mut self, ended_at: Micros) -> Vec<KillReport> {
        self.kills
            .into_iter()
            .map(|k| {
                let recovery = self.recoveries.remove(&k.kill_id).unwrap_or_default();
                kill_report(k, recovery, ended_at)
            })
            .collect()
    }
}

fn kill_report(kill: KillEntry, recovery: Recovery, ended_at: Micros) -> KillReport {
    let mut marks = recovery.marks;
    // The `kill` line's own time is the kill mark until a phase line states one.
    marks.entry(Phase::Kill).or_insert_with(|| Mark {
        at: kill.at,
        instance: kill.victim.clone(),
        uncertain: false,
    });
    let kill_at = marks.get(&Phase::Kill).map_or(kill.at, |m| m.at);
    let restored_at = marks.get(&Phase::Restored).map(|m| m.at);
    let unrecovered = match recovery.unrecovered {
        Some((at, stalled_in)) => Some(Unrecovered {
            stalled_in,
            at: utc(at),
        }),
        // Neither restored nor given up on: the run ended (or died) with it in flight.
        None if restored_at.is_none() => Some(Unrecovered {
            stalled_in: first_missing(&marks),
            at: utc(ended_at),
        }),
        None => None,
    };
    KillReport {
        kill_id: kill.kill_id,
        seq: kill.seq,
        target: kill.target,
        victim: kill.victim,
        slot: kill.slot,
        victim_name: kill.name,
        replacement: marks.get(&Phase::Replaced).map(|m| m.instance.clone()),
        action: kill.action,
        phases: marks
            .iter()
            .map(|(phase, m)| {
                let mark = PhaseMark {
                    at: utc(m.at),
                    since_kill_us: m.at.saturating_sub(kill_at),
                    uncertain: m.uncertain,
                };
                (*phase, mark)
            })
            .collect(),
        recovery_us: restored_at.map(|r| non_negative(r.saturating_sub(kill_at))),
        unrecovered,
        flaps: recovery.flaps.into_iter().map(utc).collect(),
        trigger: recovery.trigger,
        invalid: invalid(&marks, kill_at),
        // Given by the drift fold, which sees every kill once the journal is read.
        drift: None,
        // Given by the node-kill fold, from the platform's marks of the node as a whole.
        node: None,
    }
}

/// Why a recovery cannot be trusted, when a mark precedes its kill by more than the tolerance.
fn invalid(marks: &BTreeMap<Phase, Mark>, kill_at: Micros) -> Option<String> {
    let early: Vec<String> = marks
        .iter()
        .filter(|(phase, m)| {
            **phase != Phase::Kill && kill_at.saturating_sub(m.at) > MARK_BEFORE_KILL_TOLERANCE_US
        })
        .map(|(phase, m)| {
            let before = u64::try_from(kill_at.saturating_sub(m.at)).unwrap_or(0);
            format!("{phase} {} before the kill", format_micros(before))
        })
        .collect();
    (!early.is_empty()).then(|| format!("marks precede the kill: {}", early.join(", ")))
}

/// The first mark, in recovery order, that the kill never reached.
fn first_missing(marks: &BTreeMap<Phase, Mark>) -> Phase {
    Phase::ALL
        .into_iter()
        .find(|p| !marks.contains_key(p))
        .unwrap_or(Phase::Restored)
}

/// A span's length from two marks. A negative length means the platform's events disagree
/// with their order (say a `kill` mark refined to a daemon timestamp just after the `down`
/// event); it is clamped to 0 and still counted, so a span's count always equals the valid
/// kills that reached both of its marks.
fn non_negative(us: i64) -> u64 {
    u64::try_from(us).unwrap_or(0)
}

/// One span's samples, microseconds, one per valid kill that reached both its marks (`total`
/// only takes kills that reached `restored`, since it runs kill → restored). An invalid recovery
/// is left out: its times would skew every percentile. The histograms and `compare` both read
/// these, so their counts agree.
pub fn span_samples(kills: &[KillReport], span: Span) -> Vec<u64> {
    let (from, to) = span.bounds();
    kills
        .iter()
        .filter(|k| k.invalid.is_none())
        .filter_map(|k| {
            let from = k.phases.get(&from)?.since_kill_us;
            let to = k.phases.get(&to)?.since_kill_us;
            Some(non_negative(to.saturating_sub(from)))
        })
        .collect()
}

/// One histogram per span, every span present (empty when no kill reached both its marks).
pub(super) fn histograms(kills: &[KillReport]) -> BTreeMap<Span, HistogramSummary> {
    Span::ALL
        .into_iter()
        .map(|span| {
            (
                span,
                HistogramSummary::from_samples(&span_samples(kills, span)),
            )
        })
        .collect()
}
