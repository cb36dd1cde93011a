//! Steady-state probe results folded into per-probe totals and per-kill impact. A request
//! belongs to a kill's window (kill → restored, or → the timeout, or → the run's end) when it
//! was in flight at any moment of it: started before the window closed and finished
//! ([`ProbeEntry::observed_at`]) after it opened. So a request that began just before the kill
//! and failed because of it counts for that kill, and so does one that began just before the
//! restored mark but whose failure was seen a moment after. Where windows overlap, the most
//! recent kill takes it.

use std::collections::BTreeMap;

use crate::journal::{Entry, ProbeEntry, RunStarted};
use crate::report::{utc, HistogramSummary, ProbeCounts, ProbeKillImpact, ProbeReport};
use crate::vocabulary::phase::Phase;
use crate::vocabulary::time::Micros;

/// One kill's window on the run's clock.
#[derive(Debug, Clone, Copy)]
struct KillWindow {
    kill_id: u32,
    from: Micros,
    to: Micros,
}

/// Each kill's window, in kill order.
fn kill_windows(entries: &[Entry], ended_at: Micros) -> Vec<KillWindow> {
    let mut from: BTreeMap<u32, Micros> = BTreeMap::new();
    let mut to: BTreeMap<u32, Micros> = BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::Kill(k) => {
                let at = from.entry(k.kill_id).or_insert(k.at);
                *at = (*at).min(k.at);
            }
            // The platform's own kill event may refine the mark; the window opens at the
            // earlier of the two, so no failure caused by the kill is left outside it.
            Entry::Phase {
                kill_id,
                phase: Phase::Kill,
                at,
                ..
            } => {
                if let Some(start) = from.get_mut(kill_id) {
                    *start = (*start).min(*at);
                }
            }
            Entry::Phase {
                kill_id,
                phase: Phase::Restored,
                at,
                ..
            } => {
                to.insert(*kill_id, *at);
            }
            Entry::Unrecovered { kill_id, at, .. } => {
                to.entry(*kill_id).or_insert(*at);
            }
            _ => {}
        }
    }
    from.into_iter()
        .map(|(kill_id, from)| KillWindow {
            kill_id,
            from,
            to: to.get(&kill_id).copied().unwrap_or(ended_at).max(from),
        })
        .collect()
}

/// The kill whose window a request from `start` to `end` overlaps: the most recent one when
/// several do.
fn window_of(windows: &[KillWindow], start: Micros, end: Micros) -> Option<usize> {
    windows
        .iter()
        .enumerate()
        .filter(|(_, w)| w.from <= end && start <= w.to)
        .max_by_key(|(_, w)| w.from)
        .map(|(i, _)| i)
}

/// One report per probe recorded at the start of the run, in scenario order.
pub(super) fn fold(entries: &[Entry], start: &RunStarted, ended_at: Micros) -> Vec<ProbeReport> {
    let windows = kill_windows(entries, ended_at);
    let first_kill = windows.iter().map(|w| w.from).min();
    start
        .probes
        .iter()
        .map(|info| {
            let results: Vec<&ProbeEntry> = entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Probe(p) if p.probe == info.name => Some(p),
                    _ => None,
                })
                .collect();
            let mut impact: Vec<ProbeKillImpact> = windows
                .iter()
                .map(|w| ProbeKillImpact {
                    kill_id: w.kill_id,
                    requests: 0,
                    failures: 0,
                    first_failure: None,
                    last_failure: None,
                    worst_latency_us: None,
                })
                .collect();
            let mut baseline = ProbeCounts::default();
            let mut outside = 0;
            let mut latencies = Vec::new();
            for r in &results {
                let seen = r.observed_at();
                if !first_kill.is_some_and(|k| seen >= k) {
                    baseline.requests += 1;
                    baseline.failures += u64::from(!r.ok);
                }
                if r.ok {
                    latencies.push(r.latency_us);
                }
                match window_of(&windows, r.at, seen) {
                    Some(i) => {
                        let k = &mut impact[i];
                        k.requests += 1;
                        k.worst_latency_us =
                            Some(k.worst_latency_us.unwrap_or(0).max(r.latency_us));
                        if !r.ok {
                            k.failures += 1;
                            k.first_failure.get_or_insert(utc(seen));
                            k.last_failure = Some(utc(seen));
                        }
                    }
                    None => outside += u64::from(!r.ok),
                }
            }
            let requests = results.len() as u64;
            let failures = results.iter().filter(|r| !r.ok).count() as u64;
            ProbeReport {
                name: info.name.clone(),
                kind: info.kind.clone(),
                endpoint: info.endpoint.clone(),
                requests,
                failures,
                availability_percent: (requests > 0)
                    .then(|| 100.0 * (requests - failures) as f64 / requests as f64),
                latency: (!latencies.is_empty())
                    .then(|| HistogramSummary::from_samples(&latencies)),
                baseline,
                failures_outside_kills: outside,
                kills: impact,
            }
        })
        .collect()
}
