//! Recovery timing against a known replacement delay. Kept in its own test binary so no other
//! test competes for the CPU while it measures.

mod common;

use std::time::Duration;

use common::fleet::QuickFleet;
use common::*;

#[test]
fn replace_delay_500ms_gives_recoveries_between_500_and_650_ms() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = QuickFleet::new("accuracy", 2, "500ms")
        .health_every("10ms")
        .with("schedule: { max_kills: 6, every: 1200ms, start_after: 300ms }")
        .with("policy: { pick: 1, max_in_flight: 1 }")
        .with("recovery: { timeout: 10s, settle: 100ms }")
        .with("slos: [ \"unrecovered == 0\" ]")
        .write(tmp.path());
    let out = tempfile::tempdir().unwrap();
    let output = run(
        &scenario,
        out.path(),
        &["--seed", "1"],
        Duration::from_secs(60),
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&run_dir(out.path()));
    assert_eq!(report.kills.len(), 6);
    for kill in &report.kills {
        let us = kill.recovery_us.expect("every kill recovered");
        assert!(
            (500_000..=650_000).contains(&us),
            "kill #{} recovered in {us} us",
            kill.kill_id
        );
    }
}
