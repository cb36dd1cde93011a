//! The run loop when the platform itself fails: its event stream lost, lost again, lost past
//! the recovery timeout, or silent about an instance that went unhealthy.

use super::*;

#[tokio::test(start_paused = true)]
async fn no_decision_goes_ahead_while_the_event_stream_is_lost() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 4, FAST);
    let s = scenario("schedule: {every: 1s, duration: 6500ms}\nrecovery: {timeout: 30s}\n");
    let out = alongside(drive(&s, &platform, &clock, &[]), async {
        // Lost from 1.1 s, mid-recovery of the first kill, to 4.2 s: the decisions at 2, 3
        // and 4 s are refused.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        platform.lose_events();
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        platform.events_back();
    })
    .await;

    let verdicts: Vec<Option<&str>> = decisions(&out)
        .iter()
        .map(|d| d.refused.as_deref())
        .collect();
    assert_eq!(verdicts.len(), 6, "{verdicts:?}");
    for (n, v) in verdicts.iter().enumerate() {
        let lost = (1..=3).contains(&n);
        match v {
            Some(why) => assert!(
                lost && why.starts_with(
                    "refused: platform events lost since 08:59:31.100 UTC (scripted stream cut)"
                ),
                "decision {n}: {why}"
            ),
            None => assert!(!lost, "decision {n} went ahead while the stream was lost"),
        }
    }
    assert_eq!(kills(&out), 3);
    let lost = out
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::EventsLost { .. }))
        .count();
    let back: Vec<(Micros, Micros)> = out
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::EventsBack { at, lost_since } => Some((*at, *lost_since)),
            _ => None,
        })
        .collect();
    assert_eq!(lost, 1);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].1, MONDAY_BEFORE_NINE + 1_100_000);
    assert!(back[0].0 >= MONDAY_BEFORE_NINE + 4_200_000);
    // The first kill's recovery happened during the outage: the resync supplied its marks,
    // flagged uncertain.
    assert!(out.entries.iter().any(|e| matches!(
        e,
        Entry::Phase {
            kill_id: 1,
            uncertain: true,
            ..
        }
    )));
    assert_eq!(ended(&out), RunStatus::Completed);
}

/// Back and lost again between two looks of the run: both outages are journalled, in order,
/// the first closed no later than the second began.
#[tokio::test(start_paused = true)]
async fn a_stream_lost_again_between_two_looks_is_two_outages() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 4, FAST);
    let s = scenario("schedule: {every: 1s, duration: 3500ms}\nrecovery: {timeout: 30s}\n");
    let out = alongside(drive(&s, &platform, &clock, &[]), async {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        platform.lose_events();
        tokio::time::sleep(Duration::from_millis(320)).await;
        platform.events_back();
        tokio::time::sleep(Duration::from_millis(10)).await;
        platform.lose_events();
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        platform.events_back();
    })
    .await;
    let outages: Vec<(&str, Micros)> = out
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::EventsLost { at, .. } => Some(("lost", *at)),
            Entry::EventsBack { at, .. } => Some(("back", *at)),
            _ => None,
        })
        .collect();
    let kinds: Vec<&str> = outages.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["lost", "back", "lost", "back"], "{outages:?}");
    let second_lost = MONDAY_BEFORE_NINE + 1_430_000;
    assert_eq!(outages[2].1, second_lost);
    assert!(outages[1].1 <= second_lost, "{outages:?}");
    assert_eq!(ended(&out), RunStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn events_lost_past_the_recovery_timeout_end_the_run_as_failed() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 4, FAST);
    let s = scenario("schedule: {every: 1s, duration: 1m}\nrecovery: {timeout: 3s}\n");
    let out = alongside(drive(&s, &platform, &clock, &[]), async {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        platform.lose_events();
    })
    .await;

    assert_eq!(ended(&out), RunStatus::Failed);
    let ended_at = match out.entries.last() {
        Some(Entry::RunEnded { at, reason, .. }) => {
            assert!(
                reason
                    .as_deref()
                    .unwrap_or_default()
                    .contains("longer than recovery.timeout (3s)"),
                "{reason:?}"
            );
            *at
        }
        other => panic!("{other:?}"),
    };
    // 3 s after the loss, within a tick.
    let bound = MONDAY_BEFORE_NINE + 4_500_000;
    assert!(
        (bound..bound + 200_000).contains(&ended_at),
        "ended at {ended_at}"
    );
    assert_eq!(kills(&out), 1);
    assert!(platform.seen(|s| s.shut_down));
}

#[tokio::test(start_paused = true)]
async fn a_fresh_look_before_each_kill_catches_what_the_events_missed() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 3, FAST);
    let s = scenario(
        "schedule: {every: 1s, duration: 3500ms}\npolicy: {min_healthy: 2}\nrecovery: {timeout: 30s}\n",
    );
    let out = alongside(drive(&s, &platform, &clock, &[]), async {
        // After the first kill has recovered, the engine restarts behind the stream's back.
        tokio::time::sleep(Duration::from_millis(1_800)).await;
        platform.silently_unhealthy();
    })
    .await;

    assert_eq!(kills(&out), 1, "no kill after the silent restart");
    let later: Vec<&Decision> = decisions(&out).into_iter().skip(1).collect();
    assert_eq!(later.len(), 2);
    for d in later {
        assert_eq!(d.healthy, 0, "the guard judged the fresh count");
        assert!(
            d.refused
                .as_deref()
                .unwrap_or_default()
                .contains("min_healthy 2: 0 healthy"),
            "{:?}",
            d.refused
        );
    }
    assert!(platform.seen(|s| s.healthy_before_kill.iter().all(|&h| h > 2)));
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_to_a_kill_holds_neither_the_schedule_nor_the_marks() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    // Each kill call answers 2.5 s after it was made, long after the victim died (20 ms) and
    // its replacement was healthy (320 ms).
    let platform = FakePlatform::new(clock, 4, FAST).answering_after(Duration::from_millis(2_500));
    let s = scenario(
        "schedule: {every: 1s, max_kills: 3}\n\
         policy: {max_in_flight: 4, min_healthy: 1}\n\
         recovery: {timeout: 30s}\n",
    );
    let out = drive(&s, &platform, &clock, &[]).await;

    // The decisions were taken on the plan, a second apart, not each after the last answer.
    let taken: Vec<Micros> = decisions(&out).iter().map(|d| d.at).collect();
    assert_eq!(taken.len(), 3, "{taken:?}");
    for pair in taken.windows(2) {
        assert_eq!(pair[1] - pair[0], 1_000_000, "{taken:?}");
    }
    // Every kill recovered, its marks at the events' own times: down 20 ms after the kill,
    // restored 320 ms after it, though the platform answered only at 2.5 s.
    assert_eq!(kills(&out), 3);
    for kill_id in 1..=3u32 {
        let mark = |phase: Phase| {
            out.entries.iter().find_map(|e| match e {
                Entry::Phase {
                    kill_id: k,
                    phase: p,
                    at,
                    ..
                } if *k == kill_id && *p == phase => Some(*at),
                _ => None,
            })
        };
        let kill = mark(Phase::Kill)
            .unwrap_or_else(|| panic!("no kill mark for {kill_id}: {:#?}", out.entries));
        assert_eq!(mark(Phase::Down), Some(kill + 20_000), "kill {kill_id}");
        assert_eq!(
            mark(Phase::Restored),
            Some(kill + 320_000),
            "kill {kill_id}"
        );
    }
    // Each kill's line comes before the marks found while its call was on its way.
    let first_kill_line = out
        .entries
        .iter()
        .position(|e| matches!(e, Entry::Kill(k) if k.kill_id == 1))
        .unwrap();
    let first_down = out
        .entries
        .iter()
        .position(|e| {
            matches!(
                e,
                Entry::Phase {
                    kill_id: 1,
                    phase: Phase::Down,
                    ..
                }
            )
        })
        .unwrap();
    assert!(first_kill_line < first_down);
    assert!(!out
        .entries
        .iter()
        .any(|e| matches!(e, Entry::Unrecovered { .. })));
    assert_eq!(ended(&out), RunStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_kill_the_platform_refuses_after_a_while_leaves_no_trace_but_its_failure() {
    let clock = VirtualClock::starting_at(MONDAY_BEFORE_NINE);
    let platform = FakePlatform::new(clock, 3, FAST)
        .answering_after(Duration::from_millis(500))
        .failing_kills();
    let s = scenario("schedule: {every: 1s, max_kills: 2, duration: 3500ms}\n");
    let out = drive(&s, &platform, &clock, &[]).await;
    assert_eq!(kills(&out), 0);
    let failed = out
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::KillFailed { .. }))
        .count();
    let decided = decisions(&out).len();
    assert!(decided >= 3, "{decided} decisions");
    assert_eq!(failed, decided, "one failure per decision, nothing refused");
    assert!(
        !out.entries.iter().any(|e| matches!(
            e,
            Entry::Phase { .. } | Entry::Unrecovered { .. } | Entry::Flap { .. }
        )),
        "a cancelled recovery writes nothing"
    );
    assert_eq!(ended(&out), RunStatus::Completed);
}
