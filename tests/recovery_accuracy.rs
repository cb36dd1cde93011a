//! Recovery timing against a known replacement delay. Kept in its own test binary so no other
//! test competes for the CPU while it measures.

mod support;

use std::time::Duration;

use support::*;

#[test]
fn replace_delay_500ms_gives_recoveries_between_500_and_650_ms() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = scenario(
        tmp.path(),
        "accuracy",
        r#"
version: 1
name: accuracy
platform: { kind: local }
targets:
  - name: web
    select:
      managed:
        command: ["{bin}", "target", "--port", "{port}"]
        replicas: 2
        replace_delay: 500ms
    health: { http: { path: /health }, every: 10ms }
schedule: { max_kills: 6, every: 1200ms, start_after: 300ms }
policy: { pick: 1, max_in_flight: 1 }
recovery: { timeout: 10s, settle: 100ms }
slos: [ "unrecovered == 0" ]
"#,
    );
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
