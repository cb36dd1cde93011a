//! Recovery timing against a known replacement delay. Kept in its own test binary so no other
//! test competes for the CPU while it measures; its two tests take turns.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fleet::QuickFleet;
use common::scrape::{free_port, get};
use common::*;

/// One measuring test at a time.
static MEASURING: Mutex<()> = Mutex::new(());

#[test]
fn replace_delay_500ms_gives_recoveries_between_500_and_650_ms() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    assert_recoveries_between_500_and_650_ms(&[]);
}

/// A scraper hitting `/metrics` every 100 ms must not move a single recovery mark.
#[test]
fn a_scrape_every_100ms_of_the_live_metrics_leaves_recoveries_between_500_and_650_ms() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let done = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicU32::new(0));
    let scraper = {
        let (done, scrapes) = (done.clone(), scrapes.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if matches!(get(addr, "/metrics", &["Accept: application/openmetrics-text"]), Ok((200, body)) if body.ends_with("# EOF\n"))
                {
                    scrapes.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let listen = addr.to_string();
    assert_recoveries_between_500_and_650_ms(&[
        "--metrics-listen",
        &listen,
        "--metrics-linger",
        "0s",
    ]);
    done.store(true, Ordering::Relaxed);
    scraper.join().unwrap();
    let scrapes = scrapes.load(Ordering::Relaxed);
    eprintln!("{scrapes} scrapes during the run");
    // The run lasts about 7.5 s: a scraper that mostly failed proves nothing.
    assert!(scrapes >= 40, "only {scrapes} scrapes succeeded");
}

fn assert_recoveries_between_500_and_650_ms(args: &[&str]) {
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
        &[&["--seed", "1"], args].concat(),
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
    let times: Vec<String> = report
        .kills
        .iter()
        .map(|k| format!("{:.1}ms", k.recovery_us.unwrap_or(0) as f64 / 1000.0))
        .collect();
    eprintln!("recoveries with {args:?}: {}", times.join(" "));
    for kill in &report.kills {
        let us = kill.recovery_us.expect("every kill recovered");
        assert!(
            (500_000..=650_000).contains(&us),
            "kill #{} recovered in {us} us",
            kill.kill_id
        );
    }
}
