//! One function per subcommand, each returning its [`Outcome`].

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::cli::{Cli, Command, CompareOutput, OutputFormat, RunArgs};
use crate::engine::run::{choose_seed, create_run_dir, RunOptions};
use crate::engine::scheduler::eligibility;
use crate::engine::{plan, run};
use crate::journal::{self, RunStatus, JOURNAL_FILE};
use crate::platform::{self, now_micros};
use crate::report::{self, files, RunReport, Verdict};
use crate::scenario::{load_file, LoadedScenario, ReportFormat};
use crate::{Failure, Outcome};

/// Runs the chosen subcommand.
pub async fn dispatch(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Run(args) => run_scenario(args).await,
        Command::Validate { files } => Ok(validate(&files)),
        Command::Targets { scenario, output } => targets(&scenario, output).await,
        Command::Report { run, format } => rebuild_report(&run, &format),
        Command::Compare {
            baseline,
            current,
            max_regression,
            min_samples,
            output,
        } => compare_runs(&baseline, &current, max_regression.0, min_samples, output),
        Command::Target(args) => crate::target::serve(args)
            .await
            .map(|()| Outcome::Pass)
            .map_err(|e| Failure::new(Outcome::BadInput, e)),
        Command::Probe { url, timeout } => {
            match crate::platform::health::probe_url(&url, timeout.get()).await {
                Ok(()) => Ok(Outcome::Pass),
                Err(why) => {
                    eprintln!("unhealthy: {why}");
                    Ok(Outcome::SloBreached)
                }
            }
        }
    }
}

/// Loads a scenario, printing every error, or fails with exit code 2.
fn load(path: &Path) -> Result<LoadedScenario, Failure> {
    match load_file(path) {
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

/// Cancels `stop` on the first Ctrl-C or SIGTERM; a second one exits at once.
fn watch_signals(stop: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => Some(s),
                Err(e) => {
                    warn!("cannot watch SIGTERM: {e}");
                    None
                }
            };
        for round in 0..2 {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => None } } => {}
            }
            if round == 0 {
                stop.cancel();
            } else {
                eprintln!("second interrupt: exiting now; the journal is complete up to here");
                std::process::exit(i32::from(Outcome::Interrupted.code()));
            }
        }
    });
}

async fn run_scenario(args: RunArgs) -> Result<Outcome, Failure> {
    let loaded = load(&args.scenario)?;
    let scenario = &loaded.scenario;
    let seed = choose_seed(args.seed, scenario.seed);
    let duration = args.duration.map(|d| d.get());
    if args.dry_run {
        return dry_run(&loaded, seed, duration, args.ignore_windows).await;
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
    // The output folder is made before anything is killed, so a bad path costs nothing.
    let dir = create_run_dir(&parent, &scenario.name).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("cannot create a run folder in {}: {e}", parent.display()),
        )
    })?;
    println!(
        "firedrill {}: scenario {} on {}, seed {seed}",
        env!("CARGO_PKG_VERSION"),
        scenario.name,
        scenario.platform.kind()
    );
    println!("report folder: {}", dir.display());
    let stop = CancellationToken::new();
    watch_signals(stop.clone());
    let opts = RunOptions {
        seed: Some(seed),
        duration,
        ignore_windows: args.ignore_windows,
        max_runtime: args.max_runtime.map(|d| d.get()),
    };
    let output = run::run(&loaded, seed, &opts, &dir, stop).await?;
    let report = report::from_journal(&output.entries)
        .map_err(|e| Failure::new(Outcome::PlatformFailed, anyhow!("building the report: {e}")))?;
    write_reports(&dir, &report, &formats)?;
    append_step_summary(&report);
    print!(
        "{}",
        String::from_utf8_lossy(&report::terminal::render(&report))
    );
    Ok(match output.status {
        RunStatus::Interrupted => Outcome::Interrupted,
        RunStatus::Aborted => Outcome::Aborted,
        _ => verdict_outcome(&report),
    })
}

fn verdict_outcome(report: &RunReport) -> Outcome {
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

fn write_reports(dir: &Path, report: &RunReport, formats: &[ReportFormat]) -> Result<(), Failure> {
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
    loaded: &LoadedScenario,
    seed: u64,
    duration: Option<std::time::Duration>,
    ignore_windows: bool,
) -> Result<Outcome, Failure> {
    let scenario = &loaded.scenario;
    let windows = match (&scenario.schedule.windows, ignore_windows) {
        (Some(w), false) => Some(
            crate::engine::window::Windows::parse(w)
                .map_err(|e| Failure::new(Outcome::BadInput, anyhow!(e)))?,
        ),
        _ => None,
    };
    let platform = platform::connect(scenario, seed)
        .await
        .map_err(|e| Failure::new(Outcome::PlatformFailed, e))?;
    let planned = plan::plan(scenario, seed, duration, windows.as_ref(), &*platform)
        .await
        .map_err(|e| Failure::new(Outcome::PlatformFailed, e))?;
    println!(
        "dry run of {} on {}, seed {seed}: nothing will be touched",
        scenario.name,
        scenario.platform.kind()
    );
    println!(
        "{:>4}  {:>10}  {:<12} {:<24} guards",
        "seq", "offset", "target", "victim slots"
    );
    if let Some(w) = &windows {
        println!(
            "windows: {}; offsets count open time only. {}",
            scenario
                .schedule
                .windows
                .as_deref()
                .unwrap_or_default()
                .join(", "),
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

/// One instance as `targets` shows it.
#[derive(Debug, Serialize)]
struct TargetRow {
    target: String,
    id: String,
    slot: String,
    name: String,
    healthy: bool,
    age_seconds: Option<f64>,
    eligible: bool,
    reason: Option<String>,
}

/// A target's guard summary as `targets` shows it.
#[derive(Debug, Serialize)]
struct TargetSummary {
    target: String,
    desired: u32,
    healthy: u32,
    eligible: u32,
    floor: u32,
    kills_allowed_now: u32,
    instances: Vec<TargetRow>,
}

async fn targets(path: &Path, output: OutputFormat) -> Result<Outcome, Failure> {
    let loaded = load(path)?;
    let scenario = &loaded.scenario;
    let platform = platform::connect(scenario, choose_seed(None, scenario.seed))
        .await
        .map_err(|e| Failure::new(Outcome::PlatformFailed, e))?;
    let now = now_micros();
    let mut summaries = Vec::new();
    for target in &scenario.targets {
        let mut instances = platform
            .preview(&target.name)
            .await
            .map_err(|e| Failure::new(Outcome::PlatformFailed, e))?;
        instances.sort_by(|a, b| (&a.slot, &a.id).cmp(&(&b.slot, &b.id)));
        let healthy = instances.iter().filter(|i| i.healthy).count() as u32;
        let known = platform
            .desired_capacity(&target.name)
            .await
            .map_err(|e| Failure::new(Outcome::PlatformFailed, e))?;
        let desired = target.capacity.or(known).unwrap_or(healthy);
        let floor = scenario
            .policy
            .min_healthy
            .map_or(0, |m| m.resolve_ceil(desired));
        let never = |_: &str| false;
        let rows: Vec<TargetRow> = instances
            .iter()
            .map(|i| {
                let verdict = eligibility(i, target, &scenario.policy, now, &never);
                TargetRow {
                    target: target.name.clone(),
                    id: i.id.clone(),
                    slot: i.slot.clone(),
                    name: i.name.clone(),
                    healthy: i.healthy,
                    age_seconds: i.started_at.map(|s| (now - s) as f64 / 1e6),
                    eligible: verdict.is_ok(),
                    reason: verdict.err().map(|w| format!("{w:?}")),
                }
            })
            .collect();
        let eligible = rows.iter().filter(|r| r.eligible).count() as u32;
        let wanted = scenario.policy.pick.resolve_floor_min1(desired);
        let allowed = wanted
            .min(scenario.policy.max_in_flight)
            .min(healthy.saturating_sub(floor))
            .min(eligible);
        summaries.push(TargetSummary {
            target: target.name.clone(),
            desired,
            healthy,
            eligible,
            floor,
            kills_allowed_now: allowed,
            instances: rows,
        });
    }
    match output {
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&summaries)
                .map_err(|e| Failure::new(Outcome::PlatformFailed, e))?;
            println!("{text}");
        }
        OutputFormat::Text => {
            for s in &summaries {
                println!(
                    "target {}: {} healthy of {} desired, floor {}, {} eligible; a decision now may kill {}",
                    s.target, s.healthy, s.desired, s.floor, s.eligible, s.kills_allowed_now
                );
                for r in &s.instances {
                    println!(
                        "  {:<16} {:<24} {:<8} {}",
                        r.slot,
                        r.name,
                        if r.healthy { "healthy" } else { "unhealthy" },
                        match &r.reason {
                            None => "eligible".to_string(),
                            Some(why) => format!("not eligible: {why}"),
                        }
                    );
                }
            }
        }
    }
    Ok(Outcome::Pass)
}

/// The journal a `report`/`compare` argument names: a run folder's, or the file itself.
fn journal_of(path: &Path) -> (PathBuf, PathBuf) {
    if path.is_dir() {
        (path.join(JOURNAL_FILE), path.to_path_buf())
    } else {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (path.to_path_buf(), dir)
    }
}

/// Builds the report from a journal file.
fn report_from_journal(journal_path: &Path) -> Result<RunReport, Failure> {
    let entries = journal::read(journal_path).map_err(|e| Failure::new(Outcome::BadInput, e))?;
    report::from_journal(&entries).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("{}: {e}", journal_path.display()),
        )
    })
}

/// `firedrill report`: rebuilds reports from a journal alone.
fn rebuild_report(path: &Path, formats: &[ReportFormat]) -> Result<Outcome, Failure> {
    let (journal_path, dir) = journal_of(path);
    let report = report_from_journal(&journal_path)?;
    let formats = if formats.is_empty() {
        ReportFormat::ALL.to_vec()
    } else {
        formats.to_vec()
    };
    write_reports(&dir, &report, &formats)?;
    print!(
        "{}",
        String::from_utf8_lossy(&report::terminal::render(&report))
    );
    Ok(verdict_outcome(&report))
}

/// One side of `compare`: a report.json is read as written (it may come from another machine
/// or an older firedrill); a run folder or a journal is rebuilt from the journal.
fn load_run(path: &Path) -> Result<RunReport, Failure> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    if !is_json {
        return report_from_journal(&journal_of(path).0);
    }
    let text = std::fs::read(path).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("cannot read {}: {e}", path.display()),
        )
    })?;
    serde_json::from_slice(&text).map_err(|e| {
        Failure::new(
            Outcome::BadInput,
            anyhow!("{} is not a firedrill report.json: {e}", path.display()),
        )
    })
}

/// `firedrill compare`: prints the comparison; exit 1 when a percentile regressed.
fn compare_runs(
    baseline: &Path,
    current: &Path,
    max_regression_percent: f64,
    min_samples: u64,
    output: CompareOutput,
) -> Result<Outcome, Failure> {
    use crate::report::compare;
    let thresholds = compare::Thresholds {
        max_regression_percent,
        min_samples,
    };
    let c = compare::compare(&load_run(baseline)?, &load_run(current)?, thresholds);
    let text = match output {
        CompareOutput::Text => compare::text(&c),
        CompareOutput::Markdown => compare::markdown(&c),
        CompareOutput::Json => compare::json(&c),
    };
    print!("{}", String::from_utf8_lossy(&text));
    Ok(match c.verdict {
        compare::CompareVerdict::Regressed => Outcome::SloBreached,
        compare::CompareVerdict::NoRegression | compare::CompareVerdict::Inconclusive => {
            Outcome::Pass
        }
    })
}
