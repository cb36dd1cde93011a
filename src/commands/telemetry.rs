//! The metrics side of `firedrill run`: the live endpoint (`--metrics-listen`), its linger
//! after the run, and the Pushgateway push (`--push`). Everything that can be wrong with the
//! flags fails here before the run folder is made and before anything is killed.

use std::time::Duration;

use anyhow::anyhow;
use tracing::warn;

use crate::cli::RunArgs;
use crate::engine::run::Interrupts;
use crate::journal::{Entry, JournalAppender, Recorder};
use crate::metrics::push;
use crate::metrics::serve::MetricsServer;
use crate::metrics::LiveMetrics;
use crate::report::RunReport;
use crate::vocabulary::time::now_micros;
use crate::vocabulary::units::HumanDuration;
use crate::{Failure, Outcome};

/// What `run` was asked to do with its metrics.
#[derive(Debug)]
pub(super) struct Telemetry {
    live: Option<(LiveMetrics, MetricsServer)>,
    linger: Duration,
    push: Option<String>,
    /// Where a failed push is written down.
    journal: Option<JournalAppender>,
}

impl Telemetry {
    /// Checks `--push` and binds `--metrics-listen`.
    pub(super) async fn prepare(args: &RunArgs) -> Result<Telemetry, Failure> {
        if let Some(url) = &args.push {
            push::check_url(url).map_err(|e| Failure::new(Outcome::BadInput, e))?;
        }
        let live = match args.metrics_listen {
            Some(addr) => {
                let metrics = LiveMetrics::default();
                let server = MetricsServer::bind(addr, metrics.clone())
                    .await
                    .map_err(|e| {
                        Failure::new(
                            Outcome::BadInput,
                            anyhow!("--metrics-listen: cannot listen on {addr}: {e}"),
                        )
                    })?;
                Some((metrics, server))
            }
            None => None,
        };
        Ok(Telemetry {
            live,
            linger: args.metrics_linger.get(),
            push: args.push.clone(),
            journal: None,
        })
    }

    /// Lets the live metrics watch the journal, and says where they are served.
    pub(super) fn attach(&mut self, journal: &mut Recorder) {
        self.journal = Some(journal.appender());
        if let Some((metrics, server)) = &self.live {
            journal.observe(Box::new(metrics.clone()));
            println!("metrics: http://{}/metrics", server.addr());
        }
    }

    /// After the report is written: the verdict joins the live numbers, the final numbers are
    /// pushed, and the endpoint lingers so the last scrape sees the end. A push that fails is
    /// a warning, in the log and in the journal; it never changes the exit code.
    pub(super) async fn finish(self, report: &RunReport, stop: &Interrupts) {
        if let Some((metrics, _)) = &self.live {
            metrics.with(|m| m.set_verdict(report.verdict.as_str()));
        }
        if let Some(url) = &self.push {
            match push::push(url, &report.metrics).await {
                Ok(pushed) => println!("pushed metrics to {pushed}"),
                Err(e) => {
                    warn!("--push: {e}");
                    let warning = Entry::Warning {
                        at: now_micros(),
                        source: "--push".to_string(),
                        message: e.to_string(),
                    };
                    if let Some(Err(e)) = self.journal.as_ref().map(|j| j.append(&warning)) {
                        warn!("cannot journal the push warning: {e}");
                    }
                }
            }
        }
        if let Some((_, server)) = &self.live {
            if self.linger.is_zero() {
                return;
            }
            println!(
                "serving metrics at http://{}/metrics for {} more (--metrics-linger); Ctrl-C ends it",
                server.addr(),
                HumanDuration(self.linger)
            );
            tokio::select! {
                _ = tokio::time::sleep(self.linger) => {}
                _ = super::run::next_interrupt(stop) => {}
            }
        }
    }
}
