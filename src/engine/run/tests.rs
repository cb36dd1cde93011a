//! The run loop driven by the scripted platform on tokio's paused clock: no test sleeps on the
//! wall clock, and each replays exactly.

use std::path::Path;
use std::time::Duration;

use super::fake::{FakePlatform, Reaction};
use super::{run, Interrupts, RunSetup};
use crate::engine::clock::{Clock, VirtualClock};
use crate::journal::{self, Decision, Entry, Recorder, RunStatus, JOURNAL_FILE};
use crate::scenario::Scenario;
use crate::vocabulary::phase::Phase;
use crate::vocabulary::time::{micros_of, Micros};

mod drift;
mod faults;

/// Monday 2026-12-07 08:59:30 UTC.
const MONDAY_BEFORE_NINE: Micros = 1_796_633_970_000_000;

fn scenario(rest: &str) -> Scenario {
    let text = format!(
        "version: 1\nname: fake\nplatform: {{kind: docker}}\n\
         targets:\n  - name: web\n    select: {{labels: {{app: web}}}}\n{rest}"
    );
    crate::scenario::parse_str(Path::new("fake.yaml"), &text)
        .unwrap_or_else(|e| panic!("the test scenario does not compile: {e:?}\n{text}"))
}

const FAST: Reaction = Reaction::Replace {
    down: Duration::from_millis(20),
    replaced: Duration::from_millis(100),
    healthy: Duration::from_millis(200),
};

/// What a run left: its journal, read back from the file, and how it ended.
struct Ran {
    entries: Vec<Entry>,
    status: RunStatus,
}

/// Runs `s` on `platform` to its end; each of `interrupts` is a Ctrl-C that long after the
/// start.
async fn drive(
    s: &Scenario,
    platform: &FakePlatform,
    clock: &VirtualClock,
    interrupts: &[Duration],
) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    let journal = Recorder::create(&path).unwrap();
    let stop = Interrupts::default();
    for (n, after) in interrupts.iter().copied().enumerate() {
        let token = if n == 0 {
            stop.first.clone()
        } else {
            stop.second.clone()
        };
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            token.cancel();
        });
    }
    let setup = RunSetup {
        seed: 7,
        ..RunSetup::default()
    };
    let output = run(s, platform, &setup, journal, clock, &stop)
        .await
        .expect("the run ends with a journal");
    assert!(
        platform.seen(|s| s.shut_down),
        "the platform was not shut down"
    );
    Ran {
        entries: journal::read(&path).expect("the journal reads back"),
        status: output.status,
    }
}

fn decisions(out: &Ran) -> Vec<&Decision> {
    out.entries
        .iter()
        .filter_map(|e| match e {
            Entry::Decision(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn kills(out: &Ran) -> usize {
    out.entries
        .iter()
        .filter(|e| matches!(e, Entry::Kill(_)))
        .count()
}

fn ended(out: &Ran) -> RunStatus {
    match out.entries.last() {
        Some(Entry::RunEnded { status, .. }) => {
            assert_eq!(*status, out.status, "the run returns what it journalled");
            *status
        }
        other => panic!("the journal does not end with run_ended: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_guards_refuse_a_kill_that_would_go_below_the_floor() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(
        clock,
        3,
        Reaction::Never {
            down: Duration::from_millis(50),
        },
    );
    let s = scenario(
        "schedule: {every: 1s, max_kills: 5, duration: 5s}\n\
         policy: {min_healthy: 2, max_in_flight: 3}\n\
         recovery: {timeout: 20s}\n",
    );
    let out = drive(&s, &platform, &clock, &[]).await;

    // The floor is 2 of 3: one kill is allowed, every later decision is refused.
    assert_eq!(platform.seen(|s| s.kills.len()), 1);
    assert!(platform.seen(|s| s.healthy_before_kill.iter().all(|&h| h > 2)));
    let refused: Vec<&str> = decisions(&out)
        .iter()
        .skip(1)
        .map(|d| d.refused.as_deref().unwrap_or("allowed"))
        .collect();
    assert_eq!(refused.len(), 4, "{refused:?}");
    for why in refused {
        assert_eq!(
            why,
            "refused: min_healthy 2: 2 healthy, floor 2 of 3 desired"
        );
    }
    assert_eq!(ended(&out), RunStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_kill_that_is_never_replaced_times_out_as_unrecovered() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(
        clock,
        2,
        Reaction::Never {
            down: Duration::from_millis(100),
        },
    );
    let s = scenario("schedule: {every: 1s, max_kills: 1}\nrecovery: {timeout: 5s}\n");
    let out = drive(&s, &platform, &clock, &[]).await;

    let kill_at = out
        .entries
        .iter()
        .find_map(|e| match e {
            Entry::Kill(k) => Some(k.at),
            _ => None,
        })
        .expect("one kill");
    let (gave_up_at, stalled_in) = out
        .entries
        .iter()
        .find_map(|e| match e {
            Entry::Unrecovered {
                kill_id: 1,
                at,
                stalled_in,
            } => Some((*at, *stalled_in)),
            _ => None,
        })
        .expect("the kill is unrecovered");
    // Down was seen; no replacement ever came.
    assert_eq!(stalled_in, Phase::Replaced);
    let waited = gave_up_at - kill_at;
    assert!(
        (micros_of(Duration::from_secs(5)) as i64..micros_of(Duration::from_millis(5_200)) as i64)
            .contains(&waited),
        "gave up {waited} µs after the kill"
    );
    assert_eq!(ended(&out), RunStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_replacement_failing_in_its_settle_window_is_a_flap_and_the_kill_still_recovers() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(
        clock,
        2,
        Reaction::Flap {
            healthy: Duration::from_millis(200),
            flap_after: Duration::from_millis(500),
        },
    );
    let s = scenario("schedule: {every: 1s, max_kills: 1}\nrecovery: {timeout: 30s, settle: 2s}\n");
    let out = drive(&s, &platform, &clock, &[]).await;

    let phases: Vec<Phase> = out
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Phase {
                kill_id: 1, phase, ..
            } => Some(*phase),
            _ => None,
        })
        .collect();
    assert_eq!(phases, Phase::ALL, "every mark, in order");
    let flaps = out
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::Flap { kill_id: 1, .. }))
        .count();
    assert_eq!(flaps, 1);
    assert!(!out
        .entries
        .iter()
        .any(|e| matches!(e, Entry::Unrecovered { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_stop_condition_ends_the_schedule_and_the_run_is_aborted() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(
        clock,
        10,
        Reaction::Never {
            down: Duration::from_millis(50),
        },
    );
    let s = scenario(
        "schedule: {every: 1s, max_kills: 10}\n\
         policy: {max_in_flight: 10}\n\
         recovery: {timeout: 2500ms}\n\
         abort_when: [\"unrecovered >= 1\"]\n",
    );
    let out = drive(&s, &platform, &clock, &[]).await;

    let aborted_at = out
        .entries
        .iter()
        .find_map(|e| match e {
            Entry::AbortTriggered { at, condition, .. } => {
                assert_eq!(condition, "unrecovered >= 1");
                Some(*at)
            }
            _ => None,
        })
        .expect("the stop condition fired");
    // The first kill (at 1 s) gives up at 3.5 s: kills at 1, 2 and 3 s, none after.
    assert_eq!(kills(&out), 3);
    assert!(decisions(&out).iter().all(|d| d.at < aborted_at));
    assert_eq!(ended(&out), RunStatus::Aborted);
}

#[tokio::test(start_paused = true)]
async fn decisions_wait_while_every_window_is_closed_and_resume_when_one_opens() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 4, FAST);
    let s = scenario(
        "schedule:\n  every: 25s\n  duration: 110s\n  windows: [\"daily 09:00-09:01 UTC\", \
         \"daily 09:02-09:03 UTC\"]\n",
    );
    let out = drive(&s, &platform, &clock, &[]).await;

    let windows = s.schedule.windows.as_ref().unwrap();
    let at: Vec<Micros> = decisions(&out).iter().map(|d| d.at).collect();
    // 110 s of open time at 25 s: 09:00:25 and 09:00:50 in the first window; the clock stands
    // still from 09:01 to 09:02; then 09:02:15 and 09:02:40.
    let nine = MONDAY_BEFORE_NINE + 30_000_000;
    let expected = [25, 50, 135, 160].map(|s| nine + s * 1_000_000);
    assert_eq!(at.len(), expected.len(), "{at:?}");
    for (got, want) in at.iter().zip(expected) {
        assert!(
            (want..want + 200_000).contains(got),
            "decision at {got}, expected {want}"
        );
        assert!(windows.is_open(clock_utc(*got)));
    }
    assert_eq!(kills(&out), 4);
}

fn clock_utc(at: Micros) -> chrono::DateTime<chrono::Utc> {
    crate::vocabulary::time::to_utc(at).unwrap()
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_stops_the_schedule_and_the_run_ends_interrupted_with_the_platform_shut_down() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 4, FAST);
    let s = scenario("schedule: {every: 1s, max_kills: 100, duration: 1m}\n");
    let stop_at = clock.now() + 3_500_000;
    let out = drive(&s, &platform, &clock, &[Duration::from_millis(3_500)]).await;

    assert_eq!(kills(&out), 3, "kills at 1, 2 and 3 s");
    assert!(decisions(&out).iter().all(|d| d.at < stop_at));
    assert_eq!(ended(&out), RunStatus::Interrupted);
    // Every kill had recovered before the interrupt, so none is left unrecovered.
    assert!(!out
        .entries
        .iter()
        .any(|e| matches!(e, Entry::Unrecovered { .. })));
}

/// Runs `script` beside the run, on the same paused clock.
async fn alongside(
    run: impl std::future::Future<Output = Ran>,
    script: impl std::future::Future<Output = ()>,
) -> Ran {
    let (out, ()) = tokio::join!(run, script);
    out
}

#[tokio::test(start_paused = true)]
async fn the_first_interrupt_undoes_pauses_at_once_and_the_second_ends_the_wait() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(
        clock,
        4,
        Reaction::Never {
            down: Duration::from_millis(50),
        },
    );
    let s = scenario("schedule: {every: 1s, duration: 1m}\npolicy: {max_in_flight: 4}\nrecovery: {timeout: 1m}\n");
    let out = drive(
        &s,
        &platform,
        &clock,
        &[Duration::from_millis(2_500), Duration::from_millis(4_000)],
    )
    .await;

    // Undone at the first interrupt, not after the 10 s wait.
    let undone = platform.seen(|s| s.undone_at.clone());
    assert_eq!(undone, [MONDAY_BEFORE_NINE + 2_500_000]);
    let ended_at = match out.entries.last() {
        Some(Entry::RunEnded { at, status, .. }) => {
            assert_eq!(*status, RunStatus::Interrupted);
            *at
        }
        other => panic!("{other:?}"),
    };
    // The second interrupt ends the run at once, well before the first's 10 s wait.
    assert!(
        ended_at < MONDAY_BEFORE_NINE + 4_200_000,
        "ended at {ended_at}"
    );
    assert_eq!(kills(&out), 2);
    // Both kills were in flight: closed as unrecovered, not left open.
    let unrecovered = out
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::Unrecovered { .. }))
        .count();
    assert_eq!(unrecovered, 2);
    assert!(platform.seen(|s| s.shut_down));
}
