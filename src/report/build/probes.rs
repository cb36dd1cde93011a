//! Steady-state probe results folded into per-probe totals and per-kill impact. A request
//! belongs to a kill's window (kill → restored, or → the timeout, or → the run's end) when it
//! was in flight at any moment of it: started before the window closed and finished
//! ([`ProbeEntry::observed_at`]) after it opened. So a request that began just before the kill
//! and failed because of it counts for that kill, and so does one that began just before the
//! restored mark but whose failure was seen a moment after. Where windows overlap, the most
//! recent kill takes it.

use std::collections::BTreeMap;

use crate::journal::{Entry, ProbeEntry, ProbeInfo, RunStarted};
use crate::report::probe::{ProbeBucket, ProbeSeries};
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

/// One request, as much of it as the report needs: a probe's requests are most of a long
/// journal, and each is kept until the kill windows are known.
#[derive(Debug, Clone, Copy)]
struct Request {
    at: Micros,
    /// [`ProbeEntry::observed_at`].
    seen: Micros,
    latency_us: u64,
    ok: bool,
}

/// Each probe's requests and the lines that open and close kill windows, kept as the journal
/// is read: which window a request falls in is known only once every window has closed.
#[derive(Debug)]
pub(super) struct Probes {
    /// When each kill's window opens and closes, by kill id.
    from: BTreeMap<u32, Micros>,
    to: BTreeMap<u32, Micros>,
    /// The requests of each probe recorded at the start, in journal order; requests of any
    /// other probe are left out, as the report lists only those.
    requests: BTreeMap<String, Vec<Request>>,
}

impl Probes {
    pub(super) fn new(start: &RunStarted) -> Probes {
        Probes {
            from: BTreeMap::new(),
            to: BTreeMap::new(),
            requests: start
                .probes
                .iter()
                .map(|p| (p.name.clone(), Vec::new()))
                .collect(),
        }
    }

    pub(super) fn push(&mut self, entry: &Entry) {
        match entry {
            Entry::Probe(p) => {
                if let Some(requests) = self.requests.get_mut(&p.probe) {
                    requests.push(request(p));
                }
            }
            Entry::Kill(k) => {
                let at = self.from.entry(k.kill_id).or_insert(k.at);
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
                if let Some(start) = self.from.get_mut(kill_id) {
                    *start = (*start).min(*at);
                }
            }
            Entry::Phase {
                kill_id,
                phase: Phase::Restored,
                at,
                ..
            } => {
                self.to.insert(*kill_id, *at);
            }
            Entry::Unrecovered { kill_id, at, .. } => {
                self.to.entry(*kill_id).or_insert(*at);
            }
            _ => {}
        }
    }

    /// Each kill's window, in kill order; one still open closes at `ended_at`.
    fn windows(&self, ended_at: Micros) -> Vec<KillWindow> {
        self.from
            .iter()
            .map(|(&kill_id, &from)| KillWindow {
                kill_id,
                from,
                to: self.to.get(&kill_id).copied().unwrap_or(ended_at).max(from),
            })
            .collect()
    }

    /// One report per probe recorded at the start of the run, in scenario order.
    pub(super) fn finish(&self, start: &RunStarted, ended_at: Micros) -> Vec<ProbeReport> {
        let windows = self.windows(ended_at);
        let run_ms = u64::try_from(ended_at.saturating_sub(start.at) / 1_000).unwrap_or(0);
        let bucket_ms = ProbeSeries::bucket_ms_for(run_ms);
        start
            .probes
            .iter()
            .map(|info| {
                let requests = self.requests.get(&info.name).map_or(&[][..], Vec::as_slice);
                let mut report = report(info, requests, &windows);
                report.over_time = series(requests, start.at, bucket_ms);
                report
            })
            .collect()
    }
}

/// The requests in buckets of `bucket_ms`, by when each outcome was seen; one seen before the
/// run started (a clock step) falls in the first bucket.
fn series(requests: &[Request], run_start: Micros, bucket_ms: u64) -> ProbeSeries {
    #[derive(Default)]
    struct Sum {
        requests: u64,
        failures: u64,
        ok: u64,
        latency_sum: u64,
        latency_max: u64,
    }
    let mut sums: BTreeMap<u64, Sum> = BTreeMap::new();
    for r in requests {
        let ms = u64::try_from(r.seen.saturating_sub(run_start) / 1_000).unwrap_or(0);
        let sum = sums.entry(ms / bucket_ms.max(1)).or_default();
        sum.requests += 1;
        if r.ok {
            sum.ok += 1;
            sum.latency_sum = sum.latency_sum.saturating_add(r.latency_us);
            sum.latency_max = sum.latency_max.max(r.latency_us);
        } else {
            sum.failures += 1;
        }
    }
    let buckets = sums
        .into_iter()
        .map(|(i, s)| ProbeBucket {
            offset_ms: i * bucket_ms,
            requests: s.requests,
            failures: s.failures,
            latency_mean_us: (s.ok > 0).then(|| s.latency_sum / s.ok),
            latency_max_us: (s.ok > 0).then_some(s.latency_max),
        })
        .collect();
    ProbeSeries { bucket_ms, buckets }
}

fn request(p: &ProbeEntry) -> Request {
    Request {
        at: p.at,
        seen: p.observed_at(),
        latency_us: p.latency_us,
        ok: p.ok,
    }
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

/// One probe's totals and per-kill impact.
fn report(info: &ProbeInfo, results: &[Request], windows: &[KillWindow]) -> ProbeReport {
    let first_kill = windows.iter().map(|w| w.from).min();
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
    for r in results {
        let seen = r.seen;
        if !first_kill.is_some_and(|k| seen >= k) {
            baseline.requests += 1;
            baseline.failures += u64::from(!r.ok);
        }
        if r.ok {
            latencies.push(r.latency_us);
        }
        match window_of(windows, r.at, seen) {
            Some(i) => {
                let k = &mut impact[i];
                k.requests += 1;
                k.worst_latency_us = Some(k.worst_latency_us.unwrap_or(0).max(r.latency_us));
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
        latency: (!latencies.is_empty()).then(|| HistogramSummary::from_samples(&latencies)),
        baseline,
        failures_outside_kills: outside,
        kills: impact,
        over_time: ProbeSeries::default(),
    }
}
