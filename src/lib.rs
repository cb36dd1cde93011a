//! firedrill: a chaos-monkey resilience tester for immutable ("phoenix") infrastructure.
//!
//! Where things happen:
//! - a kill is *decided* in [`engine::decide`] (whom, and the guards), at times from
//!   [`engine::cadence`];
//! - it is *carried out* by the run loop ([`engine::run`]) through a [`platform::Platform`]
//!   ([`platform::local`], [`platform::docker`], [`platform::swarm`]);
//! - it is *timed* by [`engine::recovery`], from the platform's own event timestamps;
//! - everything is written as it happens by [`journal::Recorder`] and folded into a
//!   [`report::RunReport`].

pub mod check;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod journal;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod platform;
pub mod report;
pub mod scenario;
pub mod target;
pub mod vocabulary;

/// What a command ended with; [`Outcome::code`] is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every SLO met (or the command succeeded).
    Pass,
    /// An SLO broke, including unrecovered kills.
    SloBreached,
    /// A bad scenario or bad usage.
    BadInput,
    /// The platform was unreachable or failed.
    PlatformFailed,
    /// A stop condition ended the run.
    Aborted,
    /// Ctrl-C or SIGTERM; the report is still written, marked partial.
    Interrupted,
}

impl Outcome {
    /// The process exit code, as documented in the README.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::SloBreached => 1,
            Outcome::BadInput => 2,
            Outcome::PlatformFailed => 3,
            Outcome::Aborted => 4,
            Outcome::Interrupted => 130,
        }
    }
}

/// An error that ends a command, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// The exit code class.
    pub outcome: Outcome,
    /// What went wrong, with context.
    pub error: anyhow::Error,
}

impl Failure {
    /// A failure of class `outcome`.
    pub fn new(outcome: Outcome, error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            outcome,
            error: error.into(),
        }
    }
}

/// Runs one parsed command line to its outcome.
pub async fn run(cli: cli::Cli) -> Result<Outcome, Failure> {
    commands::dispatch(cli).await
}
