//! `firedrill run`: a real run (signals, run folder, reports, verdict) or `--dry-run`.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use tracing::warn;

use super::telemetry::Telemetry;
use super::{load, platform_failure};
use crate::cli::RunArgs;
use crate::engine::clock::WallClock;
use crate::engine::run::{choose_seed, Interrupts, RunError, RunSetup};
use crate::engine::{plan, run};
use crate::journal::{Entry, Observer, Recorder, RunStatus, JOURNAL_FILE};
use crate::notify;
use crate::notify::body::{EndDetail, RunContext};
use crate::platform;
use crate::report::{self, files, RunReport, Verdict};
use crate::scenario::{ReportFormat, Scenario};
use crate::{Failure, Outcome};

/// Fires `stop.first` on the first Ctrl-C or SIGTERM and `stop.second` on the second; a third
/// exits at once, for a run whose platform no longer answers at all.
fn watch_signals(stop: Interrupts) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => Some(s),
                Err(e) => {
                    warn!("cannot watch SIGTERM: {e}");
                    None
                }
            };
        for round in 0..3 {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => {}
            }
            match round {
                0 => stop.first.cancel(),
                1 => stop.second.cancel(),
                _ => {
                    eprintln!("third interrupt: exiting now; the journal is complete up to here");
                    std::process::exit(i32::from(Outcome::Interrupted.code()));
                }
            }
        }
    });
}

pub(super) async fn run_scenario(args: RunArgs) -> Result<Outcome, Failure> {
    let scenario = load(&args.scenario)?;
    let seed = choose_seed(args.seed, scenario.seed);
    let duration = args.duration.map(|d| d.get());
    if args.dry_run {
        return dry_run(&scenario, seed, duration, args.ignore_windows).await;
    }
    let formats = if args.format.is_empty() {
        scenario.report.formats.clone()
    } else {
        args.format.clone()
    };
    let parent = args
        .out
        .clone()
        .unwrap_or_else(|| scenario.report.dir.clone());
    let mut telemetry = Telemetry::prepare(&args).await?;
    // The output folder and its journal are made before anything is killed, so a bad path
    // costs nothing.
    let dir = create_run_dir(&parent, &scenario.name).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("cannot create a run folder in {}: {e}", parent.display()),
        )
    })?;
    let journal_path = dir.join(JOURNAL_FILE);
    let mut journal = Recorder::create(&journal_path).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("cannot create {}: {e}", journal_path.display()),
        )
    })?;
    // Attached before the run starts, so the first line (start) is seen too.
    let notifications = match start_notifications(&scenario, seed, &dir, &journal) {
        Ok((notifier, notifications)) => {
            journal.observe(Box::new(notifier));
            notifications
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Failure::new(Outcome::BadInput, e));
        }
    };
    println!(
        "firedrill {}: scenario {} on {}, seed {seed}",
        env!("CARGO_PKG_VERSION"),
        scenario.name,
        scenario.platform.kind()
    );
    // Named once the run has begun writing into it: a run that fails before its first
    // journal line leaves no folder behind, and must not have named one.
    journal.observe(Box::new(FolderBanner {
        dir: dir.clone(),
        shown: false,
    }));
    telemetry.attach(&mut journal);
    let stop = Interrupts::default();
    watch_signals(stop.clone());
    let setup = RunSetup {
        seed,
        duration,
        ignore_windows: args.ignore_windows,
        max_runtime: args.max_runtime.map(|d| d.get()),
    };
    let ran = match platform::connect(&scenario, seed).await {
        Ok(platform) => run::run(&scenario, &*platform, &setup, journal, &WallClock, &stop)
            .await
            .map_err(run_failure),
        Err(e) => Err(platform_failure(e)),
    };
    let output = match ran {
        Ok(output) => output,
        Err(failure) => {
            // A run that failed before writing a single journal line (the platform could not
            // be reached) leaves no empty folder behind to be mistaken for a run.
            if std::fs::metadata(&journal_path).is_ok_and(|m| m.len() == 0) {
                let _ = std::fs::remove_dir_all(&dir);
            }
            return Err(failure);
        }
    };
    // Read back from the file rather than kept through the run: the journal is the record, and
    // a run of thousands of kills would otherwise hold every line in memory.
    let report = report::from_journal_file(&journal_path).map_err(|e| {
        Failure::new(
            Outcome::PlatformFailed,
            anyhow::Error::new(e).context("building the report"),
        )
    })?;
    write_reports(&dir, &report, &formats)?;
    append_step_summary(&report);
    print!(
        "{}",
        String::from_utf8_lossy(&report::terminal::render(&report))
    );
    // After the report, whatever the status: `end` carries its verdict. A webhook never
    // changes the outcome; waiting for one is bounded (notify::DRAIN_CAP).
    notifications
        .finish(EndDetail::of(&report, &dir), next_interrupt(&stop))
        .await;
    telemetry.finish(&report, &stop).await;
    Ok(match output.status {
        RunStatus::Interrupted => Outcome::Interrupted,
        RunStatus::Aborted => Outcome::Aborted,
        // The platform stopped answering mid-run; the report is written and marked partial.
        RunStatus::Failed => Outcome::PlatformFailed,
        _ => verdict_outcome(&report),
    })
}

/// Prints `report folder: DIR` when the journal's first line is written, so the folder is
/// named only once it holds the run's record and will be kept.
struct FolderBanner {
    dir: PathBuf,
    shown: bool,
}

impl Observer for FolderBanner {
    fn observe(&mut self, _entry: &Entry) {
        if !self.shown {
            self.shown = true;
            println!("report folder: {}", self.dir.display());
        }
    }
}

/// Starts the scenario's webhooks for the run in `dir`; with none, this costs nothing.
fn start_notifications(
    scenario: &Scenario,
    seed: u64,
    dir: &Path,
    journal: &Recorder,
) -> Result<(notify::Notifier, notify::Notifications), notify::NotifyError> {
    let context = RunContext {
        scenario: scenario.name.clone(),
        seed,
        run: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    notify::start(&scenario.notify.webhooks, context, journal.appender())
}

/// Resolves on the next Ctrl-C or SIGTERM (counted by [`watch_signals`]), so a person need
/// not wait at exit for a slow webhook or the metrics linger.
pub(super) async fn next_interrupt(stop: &Interrupts) {
    // An interrupt that came during the run has been spent on it.
    let first_spent = stop.first.is_cancelled();
    tokio::select! {
        _ = stop.first.cancelled(), if !first_spent => {}
        _ = stop.second.cancelled() => {}
    }
}

fn run_failure(e: RunError) -> Failure {
    match e {
        RunError::Platform(e) => platform_failure(e),
        RunError::Probe(_) => Failure::new(Outcome::BadInput, e),
        RunError::InterruptedWhileStarting => Failure::new(Outcome::Interrupted, e),
        RunError::Journal { .. } => Failure::new(Outcome::PlatformFailed, e),
    }
}

/// Makes `<parent>/<UTC stamp>-<name>`, with `-2`, `-3`, ... when runs start in one second.
fn create_run_dir(parent: &Path, name: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(parent)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!("{stamp}-{name}");
    for n in 1..1000 {
        let dir = if n == 1 {
            parent.join(&base)
        } else {
            parent.join(format!("{base}-{n}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "too many runs named {base} in {}",
        parent.display()
    )))
}

pub(super) fn verdict_outcome(report: &RunReport) -> Outcome {
    match report.verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::SloBreached,
        Verdict::Aborted => Outcome::Aborted,
    }
}

/// Appends summary.md to the file named by `GITHUB_STEP_SUMMARY`, when set, so a GitHub
/// Actions job shows the run on its summary page. A failure here only warns: the run's own
/// reports are already written and the verdict must not change because of it.
fn append_step_summary(report: &RunReport) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| {
            use std::io::Write as _;
            file.write_all(&report::markdown::render(report))?;
            file.write_all(b"\n")
        });
    if let Err(e) = appended {
        warn!(
            "cannot append the summary to GITHUB_STEP_SUMMARY ({}): {e}",
            PathBuf::from(path).display()
        );
    }
}

pub(super) fn write_reports(
    dir: &Path,
    report: &RunReport,
    formats: &[ReportFormat],
) -> Result<(), Failure> {
    let written = files::write(dir, report, formats).map_err(|e| {
        Failure::new(
            Outcome::PlatformFailed,
            anyhow!("cannot write the report into {}: {e}", dir.display()),
        )
    })?;
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

async fn dry_run(
    scenario: &Scenario,
    seed: u64,
    duration: Option<std::time::Duration>,
    ignore_windows: bool,
) -> Result<Outcome, Failure> {
    let windows = scenario
        .schedule
        .windows
        .as_ref()
        .filter(|_| !ignore_windows);
    let platform = platform::connect(scenario, seed)
        .await
        .map_err(platform_failure)?;
    let fleets = plan::survey(scenario, &*platform)
        .await
        .map_err(platform_failure)?;
    let planned = plan::plan(scenario, seed, duration, windows, &fleets);
    println!(
        "dry run of {} on {}, seed {seed}: nothing will be touched",
        scenario.name,
        scenario.platform.kind()
    );
    println!(
        "{:>4}  {:>10}  {:<12} {:<24} guards",
        "seq", "offset", "target", "victim slots"
    );
    if let Some(w) = windows {
        println!(
            "windows: {}; offsets count open time only. {}",
            w.describe(),
            if w.is_open(chrono::Utc::now()) {
                "A window is open now.".to_string()
            } else {
                format!("Now {}.", w.describe_next_open(chrono::Utc::now()))
            }
        );
    }
    for d in &planned {
        // With windows, each row ends with the wall-clock time it would fall on.
        let when = match (&windows, d.at) {
            (None, _) => String::new(),
            (Some(_), Some(at)) => format!("  @ {}", at.format("%a %Y-%m-%d %H:%M:%S UTC")),
            (Some(_), None) => "  @ never: no window opens".to_string(),
        };
        let victims = if d.slots.is_empty() {
            "-".to_string()
        } else {
            d.slots.join(",")
        };
        println!(
            "{:>4}  {:>9.3}s  {:<12} {:<24} {}{when}",
            d.seq,
            d.offset_ms as f64 / 1000.0,
            d.target,
            victims,
            d.refused.as_deref().unwrap_or("allowed")
        );
    }
    let kills: usize = planned.iter().map(|d| d.slots.len()).sum();
    println!(
        "{} decisions, {kills} kills planned (assuming every recovery ends before the next decision)",
        planned.len()
    );
    Ok(Outcome::Pass)
}
