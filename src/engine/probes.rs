//! Steady-state probes: what a client of the service saw while instances were killed and
//! replaced. Each probe runs at its own `every` from before the first kill (the baseline) until
//! the last recovery ends, and every request's outcome goes to the journal as it happens.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::check::{Check, HttpCheck, HttpClient};
use crate::journal::{ProbeEntry, ProbeInfo};
use crate::scenario::{Probe, ProbeRequest};
use crate::vocabulary::time::{micros_of, now_micros};

/// One steady-state probe, ready to run.
#[derive(Debug)]
pub struct Prober {
    name: String,
    check: Check,
    every: Duration,
    timeout: Duration,
}

impl Prober {
    /// Prepares a probe and its client.
    pub fn new(probe: &Probe) -> Result<Prober, String> {
        let check = match &probe.request {
            ProbeRequest::Http {
                url,
                expect,
                body,
                reuse_connections,
            } => {
                let client = HttpClient::new(url.scheme_str() == Some("https"), *reuse_connections)
                    .map_err(|e| format!("probe {:?}: {e}", probe.name))?;
                Check::Http(Box::new(HttpCheck::new(
                    client,
                    url.clone(),
                    *expect,
                    body.clone(),
                )))
            }
            ProbeRequest::Tcp { address } => Check::Tcp {
                address: address.clone(),
            },
        };
        Ok(Prober {
            name: probe.name.clone(),
            check,
            every: probe.every,
            timeout: probe.timeout,
        })
    }

    /// Makes one request and says how it went.
    pub async fn once(&self) -> ProbeEntry {
        let at = now_micros();
        let started = Instant::now();
        let outcome = self.check.once(self.timeout).await;
        ProbeEntry {
            probe: self.name.clone(),
            at,
            latency_us: micros_of(started.elapsed()),
            ok: outcome.ok(),
            status: outcome.status,
            error: outcome.error,
        }
    }
}

/// The probes as the journal's first line records them.
pub fn describe(probes: &[Probe]) -> Vec<ProbeInfo> {
    probes
        .iter()
        .map(|p| ProbeInfo {
            name: p.name.clone(),
            kind: p.kind().to_string(),
            endpoint: p.endpoint.clone(),
            every_us: micros_of(p.every),
        })
        .collect()
}

/// Starts every probe; each sends its results into `results` until `stop` fires. A request
/// that outlasts `every` delays the next one rather than piling up behind it.
pub fn start(
    probers: Vec<Prober>,
    results: mpsc::UnboundedSender<ProbeEntry>,
    stop: CancellationToken,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for prober in probers {
        let results = results.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            let mut ticker = tokio::time::interval(prober.every);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                let entry = tokio::select! {
                    _ = stop.cancelled() => break,
                    e = prober.once() => e,
                };
                if results.send(entry).is_err() {
                    break;
                }
            }
        });
    }
    tasks
}
