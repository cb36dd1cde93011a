//! [`RunMetrics`] as text a scraper reads, encoded by prometheus-client: OpenMetrics for the
//! live endpoint, the Prometheus text format (0.0.4) for `metrics.prom`, which node_exporter's
//! textfile collector, `promtool check metrics` and the Pushgateway all read.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::catalogue::{self, Family, Kind};
use super::{Buckets, RunMetrics};
use crate::journal::RunStatus;

/// The `Content-Type` of [`openmetrics`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The `Content-Type` of [`prometheus_text`].
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The numbers as OpenMetrics text, ending in `# EOF`.
pub fn openmetrics(metrics: &RunMetrics) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail, and the collector itself never fails.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry(metrics));
    out
}

/// The numbers in the Prometheus text format (0.0.4).
pub fn prometheus_text(metrics: &RunMetrics) -> String {
    let mut out = String::new();
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry(metrics));
    out
}

fn registry(metrics: &RunMetrics) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(metrics.clone())));
    registry
}

/// The numbers at one moment, encoded on demand.
#[derive(Debug)]
struct Snapshot(RunMetrics);

type Labels = Vec<(&'static str, String)>;

fn metric_type(kind: Kind) -> MetricType {
    match kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge | Kind::StateSet => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
        Kind::Info => MetricType::Info,
    }
}

/// One family's series: label values (after `scenario`, in the family's label order) and
/// the value.
enum Series {
    Counters(Vec<(Vec<String>, u64)>),
    Gauges(Vec<(Vec<String>, f64)>),
    Histograms(Vec<(Vec<String>, Buckets)>),
}

fn write_family(
    encoder: &mut DescriptorEncoder,
    family: &Family,
    scenario: &str,
    series: Series,
) -> Result<(), std::fmt::Error> {
    let unit = family.seconds.then_some(Unit::Seconds);
    let mut metric = encoder.encode_descriptor(
        family.base,
        family.help,
        unit.as_ref(),
        metric_type(family.kind),
    )?;
    let labels = |values: Vec<String>| -> Labels {
        std::iter::once(("scenario", scenario.to_string()))
            .chain(family.labels.iter().copied().zip(values))
            .collect()
    };
    match series {
        Series::Counters(all) => {
            for (values, v) in all {
                let labels = labels(values);
                metric
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, u64, f64>(&v, None)?;
            }
        }
        Series::Gauges(all) => {
            for (values, v) in all {
                let labels = labels(values);
                metric.encode_family(&labels)?.encode_gauge(&v)?;
            }
        }
        Series::Histograms(all) => {
            for (values, b) in all {
                let labels = labels(values);
                metric
                    .encode_family(&labels)?
                    .encode_histogram::<NoLabelSet>(b.sum(), b.count(), &b.buckets(), None)?;
            }
        }
    }
    Ok(())
}

fn state_name(ended: Option<RunStatus>, crashed: bool) -> &'static str {
    match ended {
        None if crashed => "crashed",
        None => "running",
        Some(RunStatus::Completed) => "completed",
        Some(RunStatus::Interrupted) => "interrupted",
        Some(RunStatus::Failed) => "failed",
        Some(RunStatus::Aborted) => "aborted",
        Some(RunStatus::Stopped) => "stopped",
    }
}

/// A state set: one series per state, 1 for the current one.
fn state_set(states: &[&str], current: &str) -> Series {
    Series::Gauges(
        states
            .iter()
            .map(|s| (vec![s.to_string()], f64::from(u8::from(*s == current))))
            .collect(),
    )
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        // Before the first journal line there is no run to describe.
        let Some(run) = &m.run else {
            return Ok(());
        };
        let scenario = run.scenario.as_str();
        let targets = || m.targets.iter();
        let per_target = |f: &dyn Fn(&super::TargetMetrics) -> u64| {
            targets()
                .map(|(name, t)| (vec![name.clone()], f(t)))
                .collect::<Vec<_>>()
        };
        let per_target_gauge = |f: &dyn Fn(&str, &super::TargetMetrics) -> f64| {
            targets()
                .map(|(name, t)| (vec![name.clone()], f(name, t)))
                .collect::<Vec<_>>()
        };

        let info_labels: Labels = vec![
            ("scenario", scenario.to_string()),
            ("seed", run.seed.to_string()),
            ("platform", run.platform.clone()),
            ("version", run.version.clone()),
        ];
        encoder
            .encode_descriptor(
                catalogue::RUN_INFO.base,
                catalogue::RUN_INFO.help,
                None,
                MetricType::Info,
            )?
            .encode_info(&info_labels)?;
        write_family(
            &mut encoder,
            &catalogue::RUN_START_TIME,
            scenario,
            Series::Gauges(vec![(vec![], run.started_at)]),
        )?;
        write_family(
            &mut encoder,
            &catalogue::RUN_STATE,
            scenario,
            state_set(&catalogue::RUN_STATES, state_name(m.ended, m.crashed)),
        )?;
        write_family(
            &mut encoder,
            &catalogue::RUN_VERDICT,
            scenario,
            state_set(
                &catalogue::VERDICTS,
                m.verdict.as_deref().unwrap_or("pending"),
            ),
        )?;
        write_family(
            &mut encoder,
            &catalogue::DECISIONS,
            scenario,
            Series::Counters(per_target(&|t| t.decisions)),
        )?;
        write_family(
            &mut encoder,
            &catalogue::KILLS,
            scenario,
            Series::Counters(per_target(&|t| t.kills)),
        )?;
        write_family(
            &mut encoder,
            &catalogue::KILLS_REFUSED,
            scenario,
            Series::Counters(
                targets()
                    .flat_map(|(name, t)| {
                        t.refused
                            .iter()
                            .map(move |(reason, n)| (vec![name.clone(), reason.clone()], *n))
                    })
                    .collect(),
            ),
        )?;
        write_family(
            &mut encoder,
            &catalogue::KILL_FAILURES,
            scenario,
            Series::Counters(vec![(vec![], m.kill_failures)]),
        )?;
        write_family(
            &mut encoder,
            &catalogue::RECOVERIES,
            scenario,
            Series::Counters(
                targets()
                    .flat_map(|(name, t)| {
                        t.recoveries
                            .iter()
                            .map(move |(outcome, n)| (vec![name.clone(), outcome.to_string()], *n))
                    })
                    .collect(),
            ),
        )?;
        write_family(
            &mut encoder,
            &catalogue::RECOVERIES_IN_FLIGHT,
            scenario,
            Series::Gauges(per_target_gauge(&|name, _| m.in_flight(name) as f64)),
        )?;
        write_family(
            &mut encoder,
            &catalogue::FLAPS,
            scenario,
            Series::Counters(per_target(&|t| t.flaps)),
        )?;
        write_family(
            &mut encoder,
            &catalogue::RECOVERY,
            scenario,
            Series::Histograms(
                targets()
                    .flat_map(|(name, t)| {
                        t.spans.iter().map(move |(span, b)| {
                            (vec![name.clone(), span.as_str().to_string()], b.clone())
                        })
                    })
                    .collect(),
            ),
        )?;
        write_family(
            &mut encoder,
            &catalogue::CAPACITY_HEALTHY,
            scenario,
            Series::Gauges(per_target_gauge(&|_, t| f64::from(t.healthy))),
        )?;
        write_family(
            &mut encoder,
            &catalogue::CAPACITY_DESIRED,
            scenario,
            Series::Gauges(per_target_gauge(&|_, t| f64::from(t.desired))),
        )?;
        let desired_sum = targets().fold(0u32, |a, (_, t)| a.saturating_add(t.desired));
        write_family(
            &mut encoder,
            &catalogue::CAPACITY_MIN,
            scenario,
            Series::Gauges(vec![(
                vec![],
                f64::from(m.capacity_min.unwrap_or(desired_sum)),
            )]),
        )?;
        let probes = || m.probes.iter();
        write_family(
            &mut encoder,
            &catalogue::PROBE_REQUESTS,
            scenario,
            Series::Counters(
                probes()
                    .map(|(n, p)| (vec![n.clone()], p.requests))
                    .collect(),
            ),
        )?;
        write_family(
            &mut encoder,
            &catalogue::PROBE_FAILURES,
            scenario,
            Series::Counters(
                probes()
                    .map(|(n, p)| (vec![n.clone()], p.failures))
                    .collect(),
            ),
        )?;
        write_family(
            &mut encoder,
            &catalogue::PROBE_LATENCY,
            scenario,
            Series::Histograms(
                probes()
                    .map(|(n, p)| (vec![n.clone()], p.latency.clone()))
                    .collect(),
            ),
        )?;
        Ok(())
    }
}
