//! A stop condition on the real Docker engine: pauses are undone when `abort_when` fires, and
//! the run exits 4 naming the condition. Skips without an engine unless
//! FIREDRILL_REQUIRE_DOCKER=1.

mod common;

use std::time::Duration;

use common::docker::TestRun;

#[test]
fn an_abort_during_pauses_leaves_nothing_paused_and_exits_4() {
    let Some(run) = TestRun::start("abort-pause") else {
        return;
    };
    let fleet: Vec<String> = (0..3)
        .map(|i| {
            run.run_container(
                &format!("web{i}"),
                &["--restart", "always", "--label", "role=web"],
            )
        })
        .collect();
    for id in &fleet {
        run.wait_healthy(id, Duration::from_secs(30));
    }
    // Each pause lasts far longer than the run: only the abort's clean-up can end them.
    let scenario = run.write(
        "abort.yaml",
        &(run.web_scenario("abort-pause", 5, "")
            + "schedule: { duration: 60s, max_kills: 3, every: 700ms, start_after: 500ms }\n\
               policy: { pick: 1, max_in_flight: 3 }\n\
               action: { kind: pause, for: 5m }\n\
               recovery: { timeout: 3s }\n\
               abort_when: [ \"in_flight >= 2\" ]\n\
               report: { formats: [json, junit] }\n"),
    );
    let (output, report) = common::run_for_report(&scenario, &run.dir.path().join("reports"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "stderr:\n{stderr}");
    assert_eq!(report["verdict"], "aborted");
    assert_eq!(report["status"], "aborted");
    assert_eq!(report["abort"]["condition"], "in_flight >= 2");
    // Two pauses trip the condition; the third never happens.
    assert_eq!(report["kills"].as_array().unwrap().len(), 2);
    for id in &fleet {
        let state = run.inspect(id);
        assert_eq!(
            state["State"]["Paused"], false,
            "{id} still paused after the abort"
        );
        assert_eq!(state["State"]["Running"], true, "{id}");
    }
}
