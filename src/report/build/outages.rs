//! Spans during which the platform's event stream was lost, from the journal's
//! `events_lost` and `events_back` lines.

use crate::journal::Entry;
use crate::report::{utc, Outage};
use crate::vocabulary::time::Micros;

/// One outage per `events_lost` line, closed by the `events_back` after it or, failing that,
/// by the end of the run. Each uncertain mark journaled after a loss counts against the latest
/// loss before it: only a resync supplies uncertain marks, and the resync follows the loss it
/// repairs.
#[derive(Debug, Default)]
pub(super) struct Outages {
    /// Lost at, back at, why, and the uncertain marks counted so far.
    spans: Vec<(Micros, Option<Micros>, String, u32)>,
}

impl Outages {
    pub(super) fn push(&mut self, entry: &Entry) {
        match entry {
            Entry::EventsLost { at, reason } => self.spans.push((*at, None, reason.clone(), 0)),
            Entry::EventsBack { at, .. } => {
                if let Some(open) = self.spans.last_mut().filter(|s| s.1.is_none()) {
                    open.1 = Some(*at);
                }
            }
            Entry::Phase {
                uncertain: true, ..
            } => {
                if let Some(latest) = self.spans.last_mut() {
                    latest.3 += 1;
                }
            }
            _ => {}
        }
    }

    /// The outages; one still open is closed at `ended_at`.
    pub(super) fn finish(self, ended_at: Micros) -> Vec<Outage> {
        self.spans
            .into_iter()
            .map(|(lost, back, reason, uncertain_marks)| Outage {
                lost_at: utc(lost),
                back_at: back.map(utc),
                seconds: back.unwrap_or(ended_at).saturating_sub(lost).max(0) as f64 / 1e6,
                reason,
                uncertain_marks,
            })
            .collect()
    }
}
