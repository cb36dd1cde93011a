//! Every metric firedrill exports: the one list the encoder writes from, the README's table is
//! checked against, and the dashboard may reference. Names follow Prometheus conventions: base
//! units (seconds), `_total` on counters, `_info` on the info metric.

/// What kind of metric a family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up; exported with `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, `_sum` and `_count`.
    Histogram,
    /// Constant labels and the value 1; exported with `_info`.
    Info,
    /// One gauge per possible state, 1 for the current one (a state set).
    StateSet,
}

impl Kind {
    /// The kind as the README's table names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Info => "info",
            Kind::StateSet => "stateset",
        }
    }
}

/// One metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The name given to prometheus-client, before it adds the unit and the type's suffix.
    pub base: &'static str,
    /// Whether the value is in seconds (the name then ends in `_seconds`).
    pub seconds: bool,
    /// Its kind.
    pub kind: Kind,
    /// Its labels besides `scenario`, which every family has.
    pub labels: &'static [&'static str],
    /// What it measures.
    pub help: &'static str,
}

impl Family {
    /// The name a query uses: for a histogram the family name (`_bucket`, `_sum` and `_count`
    /// follow it), for a counter the name with `_total`.
    pub fn name(&self) -> String {
        let unit = if self.seconds { "_seconds" } else { "" };
        let suffix = match self.kind {
            Kind::Counter => "_total",
            Kind::Info => "_info",
            _ => "",
        };
        format!("{}{unit}{suffix}", self.base)
    }

    /// Every series name a scrape shows for this family.
    pub fn series_names(&self) -> Vec<String> {
        let name = self.name();
        match self.kind {
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{name}{s}"))
                .collect(),
            _ => vec![name],
        }
    }
}

/// The states of `firedrill_run_state`.
pub const RUN_STATES: [&str; 7] = [
    "running",
    "completed",
    "interrupted",
    "failed",
    "aborted",
    "stopped",
    "crashed",
];

/// The values of `firedrill_run_verdict`; `pending` until the report is built.
pub const VERDICTS: [&str; 4] = ["pending", "pass", "fail", "aborted"];

/// The run's identity; the seed is here so a night's run can be replayed.
pub const RUN_INFO: Family = Family {
    base: "firedrill_run",
    seconds: false,
    kind: Kind::Info,
    labels: &["seed", "platform", "version"],
    help: "The run: its seed, platform and firedrill's version.",
};
/// When the run started.
pub const RUN_START_TIME: Family = Family {
    base: "firedrill_run_start_time",
    seconds: true,
    kind: Kind::Gauge,
    labels: &[],
    help: "When the run started, in seconds since the Unix epoch.",
};
/// Running or how it ended.
pub const RUN_STATE: Family = Family {
    base: "firedrill_run_state",
    seconds: false,
    kind: Kind::StateSet,
    labels: &["state"],
    help: "1 for the run's state: running, completed, interrupted, failed, aborted, stopped, or crashed (the journal ends without its last line).",
};
/// The verdict against the SLOs.
pub const RUN_VERDICT: Family = Family {
    base: "firedrill_run_verdict",
    seconds: false,
    kind: Kind::StateSet,
    labels: &["verdict"],
    help: "1 for the run's verdict: pending until the report is built, then pass, fail or aborted.",
};
/// Decisions taken.
pub const DECISIONS: Family = Family {
    base: "firedrill_decisions",
    seconds: false,
    kind: Kind::Counter,
    labels: &["target"],
    help: "Scheduler decisions taken, whether or not they killed.",
};
/// Kills carried out.
pub const KILLS: Family = Family {
    base: "firedrill_kills",
    seconds: false,
    kind: Kind::Counter,
    labels: &["target"],
    help: "Kills carried out.",
};
/// Kills the guards held back.
pub const KILLS_REFUSED: Family = Family {
    base: "firedrill_kills_refused",
    seconds: false,
    kind: Kind::Counter,
    labels: &["target", "reason"],
    help: "Wanted kills a guard held back, by guard: min_healthy, max_in_flight, ineligible, max_kills, no_facts.",
};
/// Kills the platform failed to carry out.
pub const KILL_FAILURES: Family = Family {
    base: "firedrill_kill_failures",
    seconds: false,
    kind: Kind::Counter,
    labels: &[],
    help: "Kills the platform refused or failed to carry out.",
};
/// Recoveries ended.
pub const RECOVERIES: Family = Family {
    base: "firedrill_recoveries",
    seconds: false,
    kind: Kind::Counter,
    labels: &["target", "outcome"],
    help:
        "Recoveries ended, by outcome: restored, unrecovered, or invalid (a mark before its kill).",
};
/// Recoveries in progress.
pub const RECOVERIES_IN_FLIGHT: Family = Family {
    base: "firedrill_recoveries_in_flight",
    seconds: false,
    kind: Kind::Gauge,
    labels: &["target"],
    help: "Recoveries in progress.",
};
/// Replacements that flapped.
pub const FLAPS: Family = Family {
    base: "firedrill_flaps",
    seconds: false,
    kind: Kind::Counter,
    labels: &["target"],
    help: "Replacements that turned unhealthy again within the settle window.",
};
/// Recovery time per span.
pub const RECOVERY: Family = Family {
    base: "firedrill_recovery",
    seconds: true,
    kind: Kind::Histogram,
    labels: &["target", "span"],
    help: "Recovery time per span (total, detect, reschedule, boot, warm_up, restore), from the platform's own clock.",
};
/// Healthy instances.
pub const CAPACITY_HEALTHY: Family = Family {
    base: "firedrill_capacity_healthy",
    seconds: false,
    kind: Kind::Gauge,
    labels: &["target"],
    help: "Healthy instances now.",
};
/// Desired instances.
pub const CAPACITY_DESIRED: Family = Family {
    base: "firedrill_capacity_desired",
    seconds: false,
    kind: Kind::Gauge,
    labels: &["target"],
    help: "Desired healthy instances.",
};
/// The lowest capacity so far.
pub const CAPACITY_MIN: Family = Family {
    base: "firedrill_capacity_min_healthy",
    seconds: false,
    kind: Kind::Gauge,
    labels: &[],
    help: "The lowest healthy count so far, summed over targets; a dip shorter than a scrape interval shows here.",
};
/// Probe requests.
pub const PROBE_REQUESTS: Family = Family {
    base: "firedrill_probe_requests",
    seconds: false,
    kind: Kind::Counter,
    labels: &["probe"],
    help: "Steady-state probe requests made.",
};
/// Probe failures.
pub const PROBE_FAILURES: Family = Family {
    base: "firedrill_probe_failures",
    seconds: false,
    kind: Kind::Counter,
    labels: &["probe"],
    help: "Steady-state probe requests that failed.",
};
/// Probe latency.
pub const PROBE_LATENCY: Family = Family {
    base: "firedrill_probe_latency",
    seconds: true,
    kind: Kind::Histogram,
    labels: &["probe"],
    help: "Latency of the steady-state probe requests that succeeded.",
};

/// Every family, in the order a scrape shows them.
pub const ALL: [Family; 18] = [
    RUN_INFO,
    RUN_START_TIME,
    RUN_STATE,
    RUN_VERDICT,
    DECISIONS,
    KILLS,
    KILLS_REFUSED,
    KILL_FAILURES,
    RECOVERIES,
    RECOVERIES_IN_FLIGHT,
    FLAPS,
    RECOVERY,
    CAPACITY_HEALTHY,
    CAPACITY_DESIRED,
    CAPACITY_MIN,
    PROBE_REQUESTS,
    PROBE_FAILURES,
    PROBE_LATENCY,
];

/// The README's metrics table, generated from [`ALL`] so the two cannot drift apart.
pub fn markdown_table() -> String {
    let mut out = String::from("| metric | type | labels | meaning |\n|---|---|---|---|\n");
    for f in ALL {
        let labels: Vec<&str> = ["scenario"]
            .into_iter()
            .chain(f.labels.iter().copied())
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.name(),
            f.kind.as_str(),
            labels.join(", "),
            f.help
        ));
    }
    out
}
