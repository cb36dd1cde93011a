//! The scenario file as YAML writes it, version 1: what serde reads, with unknown fields
//! refused. Text with a grammar of its own (SLOs, stop conditions, windows, probe URLs,
//! signals, opt-in labels) stays text here; [`super::compile`] turns it into the typed
//! [`super::Scenario`], collecting every error.

mod action;
mod nodes;

pub use action::ActionFile;
pub use nodes::NodeSelector;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::health::HealthCheck;
use super::notify::NotifyFile;
use crate::vocabulary::units::{CountOrPercent, DurationRange, HumanDuration};

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// File format version; must be 1.
    pub version: u32,
    /// Short name, used in report folder names.
    pub name: String,
    /// What this scenario proves, for people reading the report.
    #[serde(default)]
    pub description: Option<String>,
    /// Seed for every random choice; `--seed` overrides it, and a random one is drawn when
    /// neither is given. The seed used is always recorded.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Where the instances live and what replaces them.
    pub platform: PlatformConfig,
    /// The pools of instances that may be killed.
    pub targets: Vec<TargetFile>,
    /// When kills happen.
    pub schedule: ScheduleFile,
    /// Whom a kill may take, and the guards checked before each one.
    #[serde(default)]
    pub policy: Policy,
    /// How an instance is killed.
    #[serde(default)]
    pub action: ActionFile,
    /// How long a recovery may take, and what to run to start one.
    #[serde(default)]
    pub recovery: Recovery,
    /// Pass/fail thresholds, `metric op value`, e.g. `recovery.p99 < 30s`.
    #[serde(default)]
    pub slos: Vec<String>,
    /// Steady-state probes: what clients saw while instances were replaced.
    #[serde(default)]
    pub probes: Vec<ProbeFile>,
    /// Stop conditions checked continuously, `metric op value`, e.g. `capacity.current < 50%`.
    #[serde(default)]
    pub abort_when: Vec<String>,
    /// Where reports go and in which formats.
    #[serde(default)]
    pub report: ReportConfig,
    /// Webhooks that tell people what the run does.
    #[serde(default)]
    pub notify: NotifyFile,
}

/// The platform that hosts the targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum PlatformConfig {
    /// Real OS processes on this machine, either spawned and replaced by firedrill (managed)
    /// or found by name and replaced by their own supervisor (attach).
    Local {},
    /// Containers on one Docker engine.
    Docker {
        /// Engine endpoint; defaults to `DOCKER_HOST`, then the local socket.
        #[serde(default)]
        host: Option<String>,
    },
    /// Docker Swarm services through a manager's engine.
    Swarm {
        /// Manager endpoint; defaults to `DOCKER_HOST`, then the local socket.
        #[serde(default)]
        host: Option<String>,
        /// Engine endpoint of each worker node, by node id or hostname, for killing tasks
        /// that do not run on the manager.
        #[serde(default)]
        nodes: BTreeMap<String, String>,
    },
}

impl PlatformConfig {
    /// The platform's name as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            PlatformConfig::Local {} => "local",
            PlatformConfig::Docker { .. } => "docker",
            PlatformConfig::Swarm { .. } => "swarm",
        }
    }
}

/// One pool of instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// Name used in reports and in the status line.
    pub name: String,
    /// Which instances belong to the pool.
    pub select: Selector,
    /// Opt-in `key=value`: only instances carrying this label (for attach-mode processes,
    /// this environment variable) are eligible.
    #[serde(default)]
    pub require_label: Option<String>,
    /// Desired healthy count. Defaults to managed replicas or Swarm replicas, else the healthy
    /// count seen at start.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// What "healthy" means for an instance of this pool.
    #[serde(default)]
    pub health: HealthCheck,
    /// Node targets: the Swarm services whose healthy tasks are the target's capacity, by
    /// name. A node kill is recovered when they are whole again.
    #[serde(default)]
    pub watch: Vec<String>,
}

/// Which instances a target covers. Which fields apply depends on the platform; validation
/// says which ones a platform does not understand.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// local: a fleet that firedrill spawns and replaces itself.
    #[serde(default)]
    pub managed: Option<ManagedFleet>,
    /// local: existing processes, replaced by their own supervisor.
    #[serde(default)]
    pub process: Option<ProcessSelector>,
    /// docker/swarm: every label must match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// docker: a regular expression over the container name.
    #[serde(default)]
    pub name: Option<String>,
    /// docker: the image reference the container was created from.
    #[serde(default)]
    pub image: Option<String>,
    /// docker: a Compose project and service.
    #[serde(default)]
    pub compose: Option<ComposeSelector>,
    /// swarm: the service name.
    #[serde(default)]
    pub service: Option<String>,
    /// swarm: Swarm nodes rather than tasks; the target then names the services it `watch`es.
    #[serde(default)]
    pub nodes: Option<NodeSelector>,
}

/// A fleet of processes that firedrill spawns, and replaces when one dies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedFleet {
    /// Program and arguments, run with no shell. `{port}` becomes the instance's port, `{slot}`
    /// its slot number, and `{self}` the path of the running firedrill binary.
    pub command: Vec<String>,
    /// How many instances to keep.
    pub replicas: u32,
    /// Time between an instance's death and its replacement's start, standing in for a
    /// rebuild and boot; a range `300ms..800ms` draws uniformly from the seeded generator.
    #[serde(default)]
    pub replace_delay: DurationRange,
    /// First port; slot N gets `port_base + N`. Free ports are chosen when absent.
    #[serde(default)]
    pub port_base: Option<u16>,
}

/// Existing processes, found by name or command line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSelector {
    /// Exact process name (`comm`).
    #[serde(default)]
    pub name: Option<String>,
    /// Regular expression over the full command line, arguments joined by spaces.
    #[serde(default)]
    pub cmdline: Option<String>,
}

/// A Compose project and service, matched by the `com.docker.compose.*` labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeSelector {
    /// `com.docker.compose.project`.
    pub project: String,
    /// `com.docker.compose.service`.
    pub service: String,
}

/// When kills happen. Exactly one of `every` and `mean_time_between_kills` is given; the run
/// ends at `duration` or after `max_kills`, whichever comes first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// How long to keep deciding kills; `--duration` overrides it.
    #[serde(default)]
    pub duration: Option<HumanDuration>,
    /// Stop after this many kills.
    #[serde(default)]
    pub max_kills: Option<u32>,
    /// Fixed interval between decisions.
    #[serde(default)]
    pub every: Option<HumanDuration>,
    /// Mean interval between decisions, drawn from an exponential distribution.
    #[serde(default)]
    pub mean_time_between_kills: Option<HumanDuration>,
    /// Uniform jitter added to or taken from each fixed interval.
    #[serde(default)]
    pub jitter: Option<HumanDuration>,
    /// Wait before the first decision; defaults to one interval, so the fleet has settled.
    #[serde(default)]
    pub start_after: Option<HumanDuration>,
    /// The least time between two decisions; shorter random or jittered intervals are
    /// lengthened to it.
    #[serde(default)]
    pub min_gap: Option<HumanDuration>,
    /// When kills may happen, e.g. `Mon-Fri 09:00-17:00 Europe/Berlin`; absent means always.
    /// The schedule's clock stands still while every window is closed.
    #[serde(default)]
    pub windows: Option<Vec<String>>,
}

/// Whom a decision may kill, and the guards checked before each kill.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// How many victims per decision: a count, or a percentage of the desired capacity
    /// rounded down (but at least one).
    #[serde(default = "default_pick")]
    pub pick: CountOrPercent,
    /// At most this many recoveries in progress at once, counting the new kills.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// Never kill below this many healthy instances (a percentage of the desired capacity,
    /// rounded up).
    #[serde(default)]
    pub min_healthy: Option<CountOrPercent>,
    /// Only instances at least this old are eligible.
    #[serde(default)]
    pub min_age: Option<HumanDuration>,
}

fn default_pick() -> CountOrPercent {
    CountOrPercent::Count(1)
}

fn default_max_in_flight() -> u32 {
    1
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            pick: default_pick(),
            max_in_flight: default_max_in_flight(),
            min_healthy: None,
            min_age: None,
        }
    }
}

/// Recovery limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// A kill not restored within this time is unrecovered; default 120s.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// A replacement that turns unhealthy within this time of turning healthy is a flap;
    /// default 2s.
    #[serde(default = "default_settle")]
    pub settle: HumanDuration,
    /// A command run after each kill, for pipelines that rebuild rather than restart.
    #[serde(default)]
    pub trigger: Option<Trigger>,
    /// Capture drift evidence for each kill: the victim and its replacement side by side
    /// (image, configuration fingerprint, files changed in place and carried over).
    #[serde(default)]
    pub drift: bool,
}

fn default_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(120))
}

fn default_settle() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(2))
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            timeout: default_timeout(),
            settle: default_settle(),
            trigger: None,
            drift: false,
        }
    }
}

/// A replacement pipeline started by firedrill after each kill.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Program and arguments, run with no shell. `{victim}` becomes the killed instance's id.
    pub command: Vec<String>,
    /// The command is killed after this long; default 60s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

/// Report output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Parent folder of each run's folder; default `reports`. `--out` overrides it.
    #[serde(default = "default_report_dir")]
    pub dir: PathBuf,
    /// Formats written besides journal.jsonl; default json and markdown.
    #[serde(default = "default_formats")]
    pub formats: Vec<ReportFormat>,
}

fn default_report_dir() -> PathBuf {
    PathBuf::from("reports")
}

fn default_formats() -> Vec<ReportFormat> {
    ReportFormat::ALL.to_vec()
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            dir: default_report_dir(),
            formats: default_formats(),
        }
    }
}

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// `report.json`, the versioned machine-readable model.
    Json,
    /// `summary.md`, for pull-request comments and humans.
    Markdown,
    /// `report.html`, one self-contained page with SVG charts.
    Html,
    /// `junit.xml`, for CI systems that gate on test results.
    Junit,
    /// `metrics.prom`, the run's metrics in the Prometheus text format, for node_exporter's
    /// textfile collector.
    Openmetrics,
}

impl ReportFormat {
    /// Every format, in the order they are written.
    pub const ALL: [ReportFormat; 5] = [
        ReportFormat::Json,
        ReportFormat::Markdown,
        ReportFormat::Html,
        ReportFormat::Junit,
        ReportFormat::Openmetrics,
    ];

    /// The file a format is written to inside the run folder.
    pub fn file_name(self) -> &'static str {
        match self {
            ReportFormat::Json => "report.json",
            ReportFormat::Markdown => "summary.md",
            ReportFormat::Html => "report.html",
            ReportFormat::Junit => "junit.xml",
            ReportFormat::Openmetrics => "metrics.prom",
        }
    }
}

/// One steady-state probe, as written. Exactly one of `http` and `tcp` is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeFile {
    /// Name used in SLOs (`probe.NAME.availability`), stop conditions and reports.
    pub name: String,
    /// An HTTP request, as a client of the service would send it.
    #[serde(default)]
    pub http: Option<HttpProbe>,
    /// A TCP connect, for services that do not speak HTTP.
    #[serde(default)]
    pub tcp: Option<TcpProbe>,
}

/// An HTTP (or HTTPS, through rustls) GET.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    /// Full URL, `http://host:port/path` or `https://...`.
    pub url: String,
    /// Expected status code; default 200.
    #[serde(default = "default_expect")]
    pub expect: u16,
    /// A regular expression the response body must match.
    #[serde(default)]
    pub body: Option<String>,
    /// Time between requests; default 100ms.
    #[serde(default)]
    pub every: Option<HumanDuration>,
    /// Time one request may take, body included; default 1s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Keep connections open between requests. Off by default, so each request opens a fresh
    /// connection as a new client would, and a dead instance cannot hide behind a kept socket.
    #[serde(default)]
    pub reuse_connections: bool,
}

fn default_expect() -> u16 {
    200
}

/// A TCP connect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    /// `host:port` to connect to.
    pub address: String,
    /// Time between connects; default 100ms.
    #[serde(default)]
    pub every: Option<HumanDuration>,
    /// Time one connect may take; default 1s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}
