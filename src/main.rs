use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = firedrill::cli::Cli::parse();
    if !matches!(&cli.command, firedrill::cli::Command::Run(args) if !args.dry_run) {
        // Short commands piped into `head` should end quietly, as Unix tools do. A run keeps
        // Rust's default (EPIPE as an error) so a closed stdout cannot kill it before its
        // report is written and its fleet stopped.
        // SAFETY: resetting a signal disposition before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    firedrill::logging::init(cli.verbose, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(firedrill::Outcome::PlatformFailed.code());
        }
    };
    let outcome = match runtime.block_on(firedrill::run(cli)) {
        Ok(outcome) => outcome,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            failure.outcome
        }
    };
    // Child tasks (probes, platform streams) must not keep the process alive past the verdict.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(outcome.code())
}
