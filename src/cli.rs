//! The command line: one subcommand per job, each with an example in its help.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::scenario::ReportFormat;
use crate::target::TargetArgs;
use crate::vocabulary::units::{HumanDuration, Percent};

/// Kill instances of your service on purpose and time how long the replacement pipeline takes
/// to restore healthy capacity.
#[derive(Debug, Parser)]
#[command(name = "firedrill", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v debug, -vv trace). RUST_LOG, when set, wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Output format of `targets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    Text,
    /// JSON for scripts.
    Json,
}

/// Output format of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareOutput {
    /// A table for a terminal.
    Text,
    /// Markdown, for a pull-request comment or a job summary.
    Markdown,
    /// JSON for scripts.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: kill, time every recovery, write the report, exit with the verdict.
    #[command(
        after_help = "Examples:\n  firedrill run scenarios/local-demo.yaml --seed 7 --out /tmp/reports\n  firedrill run nightly.yaml --max-runtime 2h      # unattended, inside its windows\n  firedrill run nightly.yaml --ignore-windows      # a game day, by hand\n  firedrill run nightly.yaml --metrics-listen 0.0.0.0:9464 --push http://pushgateway:9091\n\nExit codes: 0 every SLO met, 1 an SLO breached, 2 bad scenario or usage (a selector\nthat matches no instance included), 3 platform failed or its events lost past\nrecovery.timeout, 4 aborted by a stop condition (abort_when), 130 interrupted (a second\nCtrl-C stops waiting for recoveries)."
    )]
    Run(RunArgs),
    /// Check scenario files and print every error with file:line:column; exit 2 on any.
    #[command(after_help = "Example:\n  firedrill validate scenarios/*.yaml")]
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show the instances a scenario would consider now, and what the guards would allow.
    #[command(
        after_help = "Example:\n  firedrill targets scenarios/docker-restart.yaml --format json"
    )]
    Targets {
        /// Scenario file.
        scenario: PathBuf,
        /// Output format; `--output` is an alias, kept for scripts written before.
        #[arg(long, visible_alias = "output", value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Rebuild a run's reports from its journal alone (also works for a crashed run).
    #[command(
        after_help = "Example:\n  firedrill report reports/20261127T101500Z-local-demo --format json,markdown"
    )]
    Report {
        /// A run folder, or its journal.jsonl.
        run: PathBuf,
        /// Formats to write; default all of json, markdown, html and junit.
        #[arg(long, value_enum, value_delimiter = ',')]
        format: Vec<ReportFormat>,
    },
    /// Compare two runs (a run folder, report.json or journal.jsonl each); exit 1 when a span
    /// or probe regressed: significantly (Mann-Whitney U, --alpha) and by at least the minimum
    /// effect (5ms, --max-regression of its value, --min-share of the median total recovery).
    #[command(
        after_help = "Example:\n  firedrill compare reports/20261126T020000Z-web-nightly reports/20261127T020000Z-web-nightly --max-regression 25% --format markdown"
    )]
    Compare {
        /// The older run: a run folder, its report.json, or its journal.jsonl.
        baseline: PathBuf,
        /// The newer run, in the same forms.
        current: PathBuf,
        /// Smallest growth that counts, in percent of the baseline's value (with --min-share
        /// and a 5ms floor, the minimum effect).
        #[arg(long, default_value = "20%")]
        max_regression: Percent,
        /// Fewest samples a span needs in each run to be judged; fewer is "inconclusive".
        #[arg(long, default_value_t = crate::report::compare::DEFAULT_MIN_SAMPLES)]
        min_samples: u64,
        /// Significance level: a change counts only when its two-sided p-value is below it.
        #[arg(long, default_value_t = crate::report::compare::DEFAULT_ALPHA, value_parser = parse_alpha)]
        alpha: f64,
        /// Smallest change of a span that counts, in percent of the baseline's median total
        /// recovery, so a small phase's wobble cannot fail a long recovery.
        #[arg(long, default_value = "5%")]
        min_share: Percent,
        /// Output format; `--output` is an alias, kept for scripts written before.
        #[arg(long, visible_alias = "output", value_enum, default_value_t = CompareOutput::Text)]
        format: CompareOutput,
    },
    /// Serve a tiny HTTP service with /health, for demos and test images.
    #[command(after_help = "Example:\n  firedrill target --port 8080 --boot-delay 300ms")]
    Target(TargetArgs),
    /// Probe a health endpoint once and print what answered; exit 0 when healthy, 1 when not,
    /// 2 for a URL that cannot be probed (used as a container HEALTHCHECK).
    #[command(
        after_help = "Examples:\n  firedrill probe http://127.0.0.1:8080/health\n  firedrill probe https://shop.example.com/ready --timeout 5s\n  firedrill probe tcp://127.0.0.1:5432"
    )]
    Probe {
        /// `http://HOST:PORT/PATH`, `https://HOST[:PORT]/PATH` or `tcp://HOST:PORT`.
        url: String,
        /// Give up after this long.
        #[arg(long, default_value = "2s")]
        timeout: HumanDuration,
    },
}

/// Options of `firedrill run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Seed for every random choice; overrides the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the plan and touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Override schedule.duration.
    #[arg(long)]
    pub duration: Option<HumanDuration>,
    /// Parent folder for the run's report folder; overrides report.dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Report formats; overrides report.formats.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub format: Vec<ReportFormat>,
    /// Kill at any time, whatever schedule.windows says (a game day run by hand).
    #[arg(long)]
    pub ignore_windows: bool,
    /// Hard stop for unattended runs: end the run this long after it started, waiting for
    /// windows included; recoveries still in flight count as unrecovered.
    #[arg(long)]
    pub max_runtime: Option<HumanDuration>,
    /// Serve live metrics at http://ADDR/metrics while the run lasts (OpenMetrics to
    /// Prometheus), such as 127.0.0.1:9464; port 0 picks a free port and prints it.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// How long --metrics-listen keeps serving after the run, so the last scrape sees its
    /// end and verdict; set it to your scrape interval. Ctrl-C cuts it short.
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub metrics_linger: HumanDuration,
    /// Push the run's final metrics to the Pushgateway at URL (http://host:9091), grouped by
    /// job="firedrill" and scenario; a failed push warns and leaves the exit code alone.
    #[arg(long, value_name = "URL")]
    pub push: Option<String>,
}

/// `--alpha`: a significance level strictly between 0 and 1.
fn parse_alpha(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(a) if a > 0.0 && a < 1.0 => Ok(a),
        _ => Err(format!(
            "invalid significance level {text:?}: expected a number between 0 and 1, such as 0.05"
        )),
    }
}
