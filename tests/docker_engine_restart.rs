//! An engine restart in the middle of a run, on a private dockerd this test may kill: the
//! engine is killed with SIGKILL, stays down 5 s, and comes back restarting every container
//! (restart policy `always`). Placed once mid-recovery and once between recoveries. Whatever
//! the timing, the journal must show that no kill was made while the target's healthy count
//! was below `min_healthy`, that every kill was decided on a fresh look (no decision went ahead
//! while events were lost), and that the outage was journaled and reported; no phase time may
//! be negative, and every kill whose victim the engine started again recovers, even one whose
//! death the dead engine never reported. (A crash just before the engine dies can leave the
//! container exited and never restarted; that kill is rightly unrecovered.)
//!
//! CI runs one run of each placement; `FIREDRILL_ENGINE_RESTART_RUNS=10` runs ten,
//! alternating placements and seeds. Skips without root and dockerd unless
//! FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::docker::{TestRun, IMAGE};
use common::engine::{self, PrivateEngine};
use firedrill::journal::Entry;
use firedrill::vocabulary::phase::Phase;

/// Where in the run the engine goes down.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// Right after a kill, while its recovery is in flight.
    MidRecovery,
    /// Right after a recovery ends, before the next decision.
    BetweenRecoveries,
}

const FLOOR: u32 = 2;
const REPLICAS: usize = 3;

#[test]
fn an_engine_restart_never_lets_a_kill_go_below_the_floor() {
    let Some(host) = TestRun::start("engine-restart") else {
        return;
    };
    if engine::available(
        "an_engine_restart_never_lets_a_kill_go_below_the_floor",
        &[],
    )
    .is_none()
    {
        return;
    }
    let runs: u32 = std::env::var("FIREDRILL_ENGINE_RESTART_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    // The private engine has no images and no registry: it gets the test image from the
    // shared engine through a file.
    let image_file = host.dir.path().join("image.tar");
    common::docker::docker_ok(&["save", "-o", &image_file.to_string_lossy(), IMAGE]);

    for i in 0..runs {
        let placement = if i % 2 == 0 {
            Placement::MidRecovery
        } else {
            Placement::BetweenRecoveries
        };
        let seed = 100 + u64::from(i);
        let started = Instant::now();
        let summary = one_run(&host, &image_file, placement, seed);
        println!(
            "run {} ({placement:?}, seed {seed}): {summary} in {:.1}s",
            i + 1,
            started.elapsed().as_secs_f64()
        );
    }
}

/// One run against a fresh private engine; returns what it saw, for the log.
fn one_run(host: &TestRun, image_file: &Path, placement: Placement, seed: u64) -> String {
    let mut engine = PrivateEngine::start(&[]);
    engine
        .docker(&["load", "-i", &image_file.to_string_lossy()])
        .expect("load the test image into the private engine");
    for i in 0..REPLICAS {
        engine
            .docker(&[
                "run",
                "-d",
                "--restart",
                "always",
                "--label",
                "role=web",
                "--name",
                &format!("web{i}"),
                IMAGE,
            ])
            .expect("start a container on the private engine");
    }
    wait_all_healthy(&engine, Duration::from_secs(60));

    let dir = host.dir.path().join(format!("seed-{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("restart.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"version: 1
name: engine-restart
seed: {seed}
platform: {{ kind: docker, host: "{}" }}
targets:
  - name: web
    select: {{ labels: {{ role: web }} }}
schedule: {{ duration: 35s, every: 1500ms, start_after: 1s, max_kills: 12 }}
policy: {{ pick: 1, max_in_flight: 1, min_healthy: {FLOOR} }}
action: {{ kind: crash }}
recovery: {{ timeout: 20s, settle: 0s }}
report: {{ formats: [json] }}
"#,
            engine.host()
        ),
    )
    .unwrap();
    let out = dir.join("reports");
    let mut child = common::spawn_run(&scenario, &out, &[]);

    // Wait for the moment to pull the engine, from the journal as it is written.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "no moment for a {placement:?} restart came within 30s"
        );
        std::thread::sleep(Duration::from_millis(20));
        let Some(folder) = std::fs::read_dir(&out).ok().and_then(|mut d| d.next()) else {
            continue;
        };
        let entries = read_journal(&folder.unwrap().path());
        let kills = entries
            .iter()
            .filter(|e| matches!(e, Entry::Kill(_)))
            .count();
        let restored = entries
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Entry::Phase {
                        phase: Phase::Restored,
                        ..
                    }
                )
            })
            .count();
        let due = match placement {
            Placement::MidRecovery => kills >= 1 && restored < kills,
            Placement::BetweenRecoveries => kills >= 1 && restored == kills,
        };
        if due {
            break;
        }
    }
    engine.kill9();
    std::thread::sleep(Duration::from_secs(5));
    engine.restart();

    common::wait_with_deadline(&mut child, Duration::from_secs(120));
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let folder = common::run_dir(&out);
    let entries = common::journal(&folder);
    let verdict = check_journal(&entries, &stderr);
    let report = common::report(&folder);
    assert!(
        !report.outages.is_empty(),
        "the report shows no outage:\n{stderr}"
    );
    for kill in &report.kills {
        for (phase, mark) in &kill.phases {
            assert!(
                mark.since_kill_us >= 0,
                "kill #{} has {phase} {} µs before its kill: {kill:#?}",
                kill.kill_id,
                mark.since_kill_us
            );
        }
    }
    // A kill may stay unrecovered only where the engine itself never started the victim again:
    // a crash that lands just before the engine dies can leave the container exited, with no
    // restart, when the engine comes back (seen on Docker 20.10: RestartCount 0, Status
    // exited). Then unrecovered is the truth; a victim the engine did start again after its
    // kill must have recovered, even when the dead engine never reported its death.
    let missed: Vec<String> = report
        .unrecovered()
        .filter(|k| {
            let kill_at = k
                .phases
                .get(&Phase::Kill)
                .map_or(0, |m| m.at.timestamp_micros());
            engine_started_after(&engine, &k.victim, kill_at)
        })
        .map(|k| {
            format!(
                "kill #{}: {}",
                k.kill_id,
                victim_story(&entries, &k.victim, &engine)
            )
        })
        .collect();
    assert!(
        missed.is_empty(),
        "the engine started these victims again, but their kills are unrecovered:\n{}\n{stderr}",
        missed.join("\n")
    );
    let stalled: Vec<String> = report
        .unrecovered()
        .filter_map(|k| {
            Some(format!(
                "#{} in {}",
                k.kill_id,
                k.unrecovered.as_ref()?.stalled_in
            ))
        })
        .collect();
    let mut reasons: Vec<&str> = report
        .refused
        .iter()
        .map(|r| r.reason.split(':').next().unwrap_or(""))
        .collect();
    reasons.dedup();
    format!(
        "exit {:?}, {verdict}, {} outage(s) lasting {:.1}s; unrecovered {stalled:?}; refusals {reasons:?}",
        output.status.code(),
        report.outages.len(),
        report.outages.iter().map(|o| o.seconds).sum::<f64>()
    )
}

/// Whether the engine's own record says it started `victim` after `kill_at` (µs).
fn engine_started_after(
    engine: &common::engine::PrivateEngine,
    victim: &str,
    kill_at: i64,
) -> bool {
    let started = engine
        .docker(&["inspect", "--format", "{{.State.StartedAt}}", victim])
        .unwrap_or_else(|e| panic!("inspecting {victim} on the test engine: {e}"));
    common::rfc3339_micros(started.trim()) > kill_at
}

/// For a failure message: every platform event the run journalled for `victim`, and the
/// engine's own record of its last start, its restarts and its state, so an unrecovered kill
/// tells whether the engine never restarted the container or the run missed the restart.
fn victim_story(entries: &[Entry], victim: &str, engine: &common::engine::PrivateEngine) -> String {
    let events: Vec<String> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Event(ev) if ev.instance == victim => Some(format!(
                "  {} {:?}{}",
                ev.at,
                ev.kind,
                if ev.uncertain { " (uncertain)" } else { "" }
            )),
            _ => None,
        })
        .collect();
    let state = engine.docker(&[
        "inspect",
        "--format",
        "StartedAt {{.State.StartedAt}} FinishedAt {{.State.FinishedAt}} RestartCount {{.RestartCount}} Status {{.State.Status}}",
        victim,
    ]);
    format!(
        "{victim}: journal events:\n{}\n  engine: {state:?}",
        events.join("\n")
    )
}

/// Checks the journal's own proof: every kill was decided on a fresh look that left the target
/// at or above the floor, and none while the events were lost. Returns a summary.
fn check_journal(entries: &[Entry], stderr: &str) -> String {
    let mut lost = false;
    let mut outages = 0;
    let mut kills = 0;
    let mut refused_while_lost = 0;
    for entry in entries {
        match entry {
            Entry::EventsLost { .. } => {
                lost = true;
                outages += 1;
            }
            Entry::EventsBack { .. } => lost = false,
            Entry::Decision(d) => {
                let victims = u32::try_from(d.victims.len()).unwrap();
                if victims == 0 {
                    refused_while_lost += u32::from(lost);
                    continue;
                }
                kills += victims;
                assert!(
                    !lost,
                    "decision #{} killed while the events were lost: {d:?}\n{stderr}",
                    d.seq
                );
                assert!(
                    d.healthy >= FLOOR + victims,
                    "decision #{} killed {victims} at {} healthy, below the floor {FLOOR}: \
                     {d:?}\n{stderr}",
                    d.seq,
                    d.healthy
                );
            }
            _ => {}
        }
    }
    assert!(
        outages >= 1,
        "the journal has no events_lost line:\n{stderr}"
    );
    format!("{kills} kills, {refused_while_lost} decisions refused while events were lost")
}

fn read_journal(folder: &Path) -> Vec<Entry> {
    // The run writes line by line; a half-written last line is simply not there yet.
    std::fs::read_to_string(folder.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn wait_all_healthy(engine: &PrivateEngine, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let healthy = engine
            .docker(&["ps", "--filter", "health=healthy", "--quiet"])
            .unwrap_or_default()
            .lines()
            .count();
        if healthy == REPLICAS {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{healthy} of {REPLICAS} healthy on the private engine after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
