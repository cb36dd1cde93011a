//! One function per subcommand, each returning its [`Outcome`].

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::scenario::load_file;
use crate::{Failure, Outcome};

/// Runs the chosen subcommand.
pub async fn dispatch(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Validate { files } => Ok(validate(&files)),
        Command::Target(args) => crate::target::serve(args)
            .await
            .map(|()| Outcome::Pass)
            .map_err(|e| Failure::new(Outcome::BadInput, e)),
        Command::Probe { url, timeout } => {
            match crate::platform::health::probe_url(&url, timeout.get()).await {
                Ok(()) => Ok(Outcome::Pass),
                Err(reason) => {
                    eprintln!("unhealthy: {reason}");
                    Ok(Outcome::SloBreached)
                }
            }
        }
        _ => Err(Failure::new(Outcome::BadInput, anyhow::anyhow!("not yet"))),
    }
}

/// `firedrill validate`: every error of every file on stderr, `ok` lines on stdout.
fn validate(files: &[PathBuf]) -> Outcome {
    let mut failed = false;
    for file in files {
        match load_file(file) {
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
