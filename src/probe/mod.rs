//! Steady-state probes: what a client of the service saw while instances were killed and
//! replaced. Each probe runs at its own `every` from before the first kill (the baseline) until
//! the last recovery ends, and every request's outcome goes to the journal as it happens.

pub mod http;

use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::journal::{ProbeEntry, ProbeInfo};
use crate::scenario::ProbeConfig;
use crate::vocabulary::time::now_micros;
use crate::vocabulary::units::HumanDuration;

/// What one probe does per request.
#[derive(Debug)]
enum Check {
    Http(Box<http::HttpCheck>),
    Tcp { address: String },
}

/// One steady-state probe, ready to run.
#[derive(Debug)]
pub struct Prober {
    name: String,
    check: Check,
    every: Duration,
    timeout: Duration,
}

impl Prober {
    /// Prepares a probe from its scenario entry (validation has checked it already).
    pub fn new(config: &ProbeConfig) -> Result<Prober, String> {
        let check = match (&config.http, &config.tcp) {
            (Some(h), _) => Check::Http(Box::new(http::HttpCheck::new(h)?)),
            (None, Some(t)) => Check::Tcp {
                address: t.address.clone(),
            },
            (None, None) => return Err(format!("probe {:?} has no check", config.name)),
        };
        Ok(Prober {
            name: config.name.clone(),
            check,
            every: config.every(),
            timeout: config.timeout(),
        })
    }

    /// Makes one request and says how it went.
    pub async fn once(&self) -> ProbeEntry {
        let at = now_micros();
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, async {
            match &self.check {
                Check::Http(h) => h.request().await,
                Check::Tcp { address } => match TcpStream::connect(address.as_str()).await {
                    Ok(_) => http::HttpOutcome {
                        status: None,
                        error: None,
                    },
                    Err(e) => http::HttpOutcome {
                        status: None,
                        error: Some(format!("connect {address}: {e}")),
                    },
                },
            }
        })
        .await
        .unwrap_or_else(|_| http::HttpOutcome {
            status: None,
            error: Some(format!("no answer within {}", HumanDuration(self.timeout))),
        });
        ProbeEntry {
            probe: self.name.clone(),
            at,
            latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            ok: outcome.error.is_none(),
            status: outcome.status,
            error: outcome.error,
        }
    }
}

/// The probes as the journal's first line records them.
pub fn describe(configs: &[ProbeConfig]) -> Vec<ProbeInfo> {
    configs
        .iter()
        .map(|c| ProbeInfo {
            name: c.name.clone(),
            kind: c.kind().to_string(),
            endpoint: c.endpoint(),
            every_us: u64::try_from(c.every().as_micros()).unwrap_or(u64::MAX),
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
