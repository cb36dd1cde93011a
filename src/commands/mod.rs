//! One function per subcommand, each returning its [`Outcome`]: `run` (with `--dry-run`) in
//! [`run`], `targets` in [`targets`], `report` and `compare` in [`report`].

mod report;
mod run;
mod targets;
mod telemetry;

use std::path::{Path, PathBuf};

use anyhow::anyhow;

use crate::check::ProbeError;
use crate::cli::{Cli, Command};
use crate::platform::PlatformError;
use crate::scenario::{self, Scenario};
use crate::{Failure, Outcome};

/// Runs the chosen subcommand.
pub async fn dispatch(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Run(args) => run::run_scenario(args).await,
        Command::Validate { files } => Ok(validate(&files)),
        Command::Targets { scenario, format } => targets::targets(&scenario, format).await,
        Command::Report { run, format } => report::rebuild_report(&run, &format),
        Command::Compare {
            baseline,
            current,
            max_regression,
            min_samples,
            alpha,
            min_share,
            format,
        } => {
            let thresholds = crate::report::compare::Thresholds {
                max_regression_percent: max_regression.0,
                min_samples,
                alpha,
                min_share_percent: min_share.0,
            };
            report::compare_runs(&baseline, &current, thresholds, format)
        }
        Command::Target(args) => crate::target::serve(args)
            .await
            .map(|()| Outcome::Pass)
            .map_err(|e| Failure::new(Outcome::BadInput, e)),
        Command::Probe { url, timeout } => {
            match crate::check::probe_url(&url, timeout.get()).await {
                Ok(answer) => {
                    println!("{answer}");
                    Ok(Outcome::Pass)
                }
                Err(e @ ProbeError::Usage(_)) => Err(Failure::new(Outcome::BadInput, e)),
                Err(e @ ProbeError::Unhealthy(_)) => {
                    eprintln!("{e}");
                    Ok(Outcome::SloBreached)
                }
            }
        }
    }
}

/// The exit code class of a platform error. An unsupported request, or a selector that
/// matches nothing, is the scenario's fault (2); anything else is the platform's (3).
fn platform_failure(e: PlatformError) -> Failure {
    let outcome = match e {
        PlatformError::Unsupported { .. } | PlatformError::NoMatch { .. } => Outcome::BadInput,
        _ => Outcome::PlatformFailed,
    };
    Failure::new(outcome, e)
}

/// Loads a scenario, printing every error, or fails with exit code 2.
fn load(path: &Path) -> Result<Scenario, Failure> {
    match scenario::load(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            Ok(loaded)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            Err(Failure::new(
                Outcome::BadInput,
                anyhow!(
                    "{} has {} error{}; nothing was touched",
                    path.display(),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                ),
            ))
        }
    }
}

/// `firedrill validate`: every error of every file on stderr, `ok` lines on stdout.
fn validate(files: &[PathBuf]) -> Outcome {
    let mut failed = false;
    for file in files {
        match scenario::load(file) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    eprintln!("warning: {w}");
                }
                println!("{}: ok", file.display());
            }
            Err(errors) => {
                failed = true;
                for e in &errors {
                    eprintln!("error: {e}");
                }
                eprintln!(
                    "{}: {} error{}",
                    file.display(),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    if failed {
        Outcome::BadInput
    } else {
        Outcome::Pass
    }
}
