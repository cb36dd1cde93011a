//! The scenario, compiled: what to kill, when, how, and what counts as a good recovery, with
//! every expression already parsed into the vocabulary's types. [`load`] reads a file through
//! [`read`], which refuses anything but a regular file of at most 1 MiB; [`compile`] turns its
//! YAML shape ([`file`]) into a [`Scenario`] and collects every error at once, each located at
//! file:line:column with its field path. Nothing downstream parses scenario text again.

pub mod compile;
pub mod file;
pub mod health;
pub mod load;
pub mod notify;
pub mod read;
pub mod yaml;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use crate::vocabulary::signal::Signal;
use crate::vocabulary::slo::Slo;
use crate::vocabulary::stop::StopCondition;
use crate::vocabulary::units::HumanDuration;
use crate::vocabulary::window::Windows;

pub use file::{
    ComposeSelector, ManagedFleet, NodeSelector, PlatformConfig, Policy, ProcessSelector, Recovery,
    ReportConfig, ReportFormat, Selector, Trigger,
};
pub use health::{HealthCheck, HealthKind, HealthSource, HttpCheck, TcpCheck};
pub use load::{load, parse_str, ScenarioError};
pub use notify::{Notify, NotifyEvent, Webhook, WebhookUrl};

/// The scenario file format version this build reads.
pub const SCENARIO_VERSION: u32 = 1;

/// Label (or, for attach-mode processes, environment variable) that exempts an instance from
/// every kill. It always wins over any selector.
pub const EXEMPT_LABEL: &str = "firedrill.exempt";

/// A scenario that compiled: every field checked, every expression typed.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub path: PathBuf,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
    /// Short name, used in report folder names.
    pub name: String,
    /// What this scenario proves.
    pub description: Option<String>,
    /// Seed for every random choice, when the file fixes one.
    pub seed: Option<u64>,
    /// Where the instances live.
    pub platform: PlatformConfig,
    /// The pools of instances that may be killed.
    pub targets: Vec<Target>,
    /// When kills happen.
    pub schedule: Schedule,
    /// Whom a decision may kill, and the guards.
    pub policy: Policy,
    /// How an instance is killed.
    pub action: Action,
    /// Recovery limits and trigger.
    pub recovery: Recovery,
    /// Pass/fail thresholds, in file order.
    pub slos: Vec<Slo>,
    /// Steady-state probes.
    pub probes: Vec<Probe>,
    /// Stop conditions checked during the run.
    pub abort_when: Vec<StopCondition>,
    /// Where reports go and in which formats.
    pub report: ReportConfig,
    /// Webhooks that tell people what the run does.
    pub notify: Notify,
    /// Settings that are allowed but probably unintended, located like errors.
    pub warnings: Vec<ScenarioError>,
}

/// One pool of instances.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name used in reports and in the status line.
    pub name: String,
    /// Which instances belong to the pool.
    pub select: Selector,
    /// The opt-in label (for attach-mode processes, environment variable) an instance must
    /// carry to be eligible.
    pub require_label: Option<OptIn>,
    /// Desired healthy count, when the file fixes it.
    pub capacity: Option<u32>,
    /// What "healthy" means for an instance of this pool.
    pub health: HealthCheck,
    /// Node targets: the services whose healthy tasks are the capacity.
    pub watch: Vec<String>,
}

impl Target {
    /// The healthy count the scenario itself fixes: `capacity`, else a managed fleet's
    /// replicas. `None` means the platform, or the healthy count at start, decides.
    pub fn fixed_capacity(&self) -> Option<u32> {
        self.capacity
            .or_else(|| self.select.managed.as_ref().map(|m| m.replicas))
    }
}

/// Shows the selector in the scenario file's own flow style, such as `{ labels: { app: web },
/// name: "^web-" }`, so an error about it reads like the line a user wrote.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(m) = &self.managed {
            parts.push(format!(
                "managed: {{ command: {:?}, replicas: {} }}",
                m.command, m.replicas
            ));
        }
        if let Some(p) = &self.process {
            let mut inner = Vec::new();
            if let Some(n) = &p.name {
                inner.push(format!("name: {n:?}"));
            }
            if let Some(c) = &p.cmdline {
                inner.push(format!("cmdline: {c:?}"));
            }
            parts.push(format!("process: {{ {} }}", inner.join(", ")));
        }
        if !self.labels.is_empty() {
            let labels: Vec<String> = self
                .labels
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            parts.push(format!("labels: {{ {} }}", labels.join(", ")));
        }
        if let Some(n) = &self.name {
            parts.push(format!("name: {n:?}"));
        }
        if let Some(i) = &self.image {
            parts.push(format!("image: {i}"));
        }
        if let Some(c) = &self.compose {
            parts.push(format!(
                "compose: {{ project: {}, service: {} }}",
                c.project, c.service
            ));
        }
        if let Some(s) = &self.service {
            parts.push(format!("service: {s}"));
        }
        if let Some(n) = &self.nodes {
            let mut inner = Vec::new();
            if let Some(role) = &n.role {
                inner.push(format!("role: {role}"));
            }
            if !n.labels.is_empty() {
                let labels: Vec<String> =
                    n.labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                inner.push(format!("labels: {{ {} }}", labels.join(", ")));
            }
            if let Some(h) = &n.hostname {
                inner.push(format!("hostname: {h:?}"));
            }
            parts.push(format!("nodes: {{ {} }}", inner.join(", ")));
        }
        write!(f, "{{ {} }}", parts.join(", "))
    }
}

/// A `KEY=VALUE` opt-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptIn {
    /// The label or variable name.
    pub key: String,
    /// The value it must have.
    pub value: String,
}

impl OptIn {
    /// Parses `KEY=VALUE`; both parts must be non-empty.
    pub fn parse(text: &str) -> Option<OptIn> {
        let (key, value) = text.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        (!key.is_empty() && !value.is_empty()).then(|| OptIn {
            key: key.to_string(),
            value: value.to_string(),
        })
    }

    /// Whether `labels` carry the opt-in.
    pub fn is_carried_by(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        labels.get(&self.key) == Some(&self.value)
    }
}

impl fmt::Display for OptIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// When kills happen.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// How long to keep deciding kills (open time only, with windows).
    pub duration: Option<Duration>,
    /// Stop after this many kills.
    pub max_kills: Option<u32>,
    /// The gap between decisions.
    pub pace: Pace,
    /// Wait before the first decision; one interval when absent.
    pub start_after: Option<Duration>,
    /// The least time between two decisions.
    pub min_gap: Duration,
    /// When kills may happen; always when absent.
    pub windows: Option<Windows>,
}

/// How far apart decisions are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// A fixed interval, plus or minus a uniform jitter.
    Every {
        /// The interval.
        every: Duration,
        /// The most added or taken away.
        jitter: Duration,
    },
    /// Exponentially distributed gaps with this mean (a Poisson process of decisions).
    Mean(Duration),
}

/// How an instance is killed. A closed set: each platform matches it in one place.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a signal. On Docker the engine records this as a manual stop, so restart policies
    /// do not fire; use `crash` for that.
    Kill {
        /// The signal.
        signal: Signal,
    },
    /// SIGKILL the main process directly, as a real crash would, so restart policies fire.
    Crash {},
    /// Graceful stop: SIGTERM, then SIGKILL after `grace`.
    Stop {
        /// Time between SIGTERM and SIGKILL.
        grace: HumanDuration,
    },
    /// Forced removal of the container.
    Remove {},
    /// Freeze the instance for a while, then always thaw it.
    Pause {
        /// How long to stay paused.
        duration: HumanDuration,
    },
    /// A Swarm node's availability set to drain, and always set back to active: after
    /// `duration`, at the end of the run, on Ctrl-C and on abort.
    Drain {
        /// How long the node stays drained.
        duration: HumanDuration,
    },
    /// A program that takes a node down (`ssh`, a cloud CLI, a hypervisor), and one that
    /// brings it back.
    Command(NodeCommand),
}

/// The programs of a `command` action, checked: neither is empty, and every placeholder is
/// one of [`NodeCommand::PLACEHOLDERS`].
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCommand {
    /// Program and arguments that take the node down.
    pub run: Vec<String>,
    /// Program and arguments that bring it back, run `undo_after` later (at once on Ctrl-C,
    /// abort and the end of the run).
    pub undo: Option<Vec<String>>,
    /// Wait between `run` and `undo`.
    pub undo_after: HumanDuration,
    /// Longest either program may take.
    pub timeout: HumanDuration,
}

impl NodeCommand {
    /// What a command's arguments may name of the node.
    pub const PLACEHOLDERS: [&'static str; 3] = ["{id}", "{hostname}", "{address}"];
}

impl Default for Action {
    fn default() -> Self {
        Action::Kill {
            signal: Signal::KILL,
        }
    }
}

impl Action {
    /// Whether the action acts on Swarm nodes rather than on instances of a service.
    pub fn is_node_action(&self) -> bool {
        matches!(self, Action::Drain { .. } | Action::Command(_))
    }

    /// Short name for reports and logs.
    pub fn describe(&self) -> String {
        match self {
            Action::Kill { signal } => format!("kill {signal}"),
            Action::Crash {} => "crash".to_string(),
            Action::Stop { grace } => format!("stop (grace {grace})"),
            Action::Remove {} => "remove".to_string(),
            Action::Pause { duration } => format!("pause for {duration}"),
            Action::Drain { duration } => format!("drain for {duration}"),
            Action::Command(c) => format!("command {}", c.run.join(" ")),
        }
    }
}

/// Default time between two probe requests.
pub const DEFAULT_PROBE_EVERY: Duration = Duration::from_millis(100);
/// Default time one probe request may take before it counts as failed.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One steady-state probe: what a client of the service would do, at its own pace.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Name used in SLOs (`probe.NAME.availability`), stop conditions and reports.
    pub name: String,
    /// What it reaches, as written: the URL or the address.
    pub endpoint: String,
    /// What one request is.
    pub request: ProbeRequest,
    /// Time between requests.
    pub every: Duration,
    /// Time one request may take.
    pub timeout: Duration,
}

/// What one probe request does.
#[derive(Debug, Clone)]
pub enum ProbeRequest {
    /// An HTTP or HTTPS GET.
    Http {
        /// The URL, checked.
        url: hyper::Uri,
        /// Expected status code.
        expect: u16,
        /// A pattern the body must match.
        body: Option<Regex>,
        /// Keep connections open between requests.
        reuse_connections: bool,
    },
    /// A TCP connect to `host:port`.
    Tcp {
        /// Where to connect.
        address: String,
    },
}

impl Probe {
    /// `http` or `tcp`.
    pub fn kind(&self) -> &'static str {
        match self.request {
            ProbeRequest::Http { .. } => "http",
            ProbeRequest::Tcp { .. } => "tcp",
        }
    }
}
