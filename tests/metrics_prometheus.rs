//! firedrill in a real monitoring stack: Debian's Prometheus scrapes a demo run every second,
//! its Pushgateway takes a `--push`, and its promtool checks `metrics.prom`. The numbers
//! Prometheus ends up with are checked against report.json.
//!
//! Without those programs the tests print why and pass, except when
//! `FIREDRILL_REQUIRE_PROMETHEUS=1` (CI sets it, after installing the `prometheus` and
//! `prometheus-pushgateway` packages), when they fail.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::fleet::QuickFleet;
use common::scrape::{dashboard_queries, encode, free_port, get, sample, wait_ready};
use common::*;
use firedrill::metrics::RECOVERY_BUCKETS;

/// Whether `program` is on PATH; without it the test skips, unless CI requires it.
fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("FIREDRILL_REQUIRE_PROMETHEUS").as_deref() == Ok("1") {
            panic!(
                "FIREDRILL_REQUIRE_PROMETHEUS=1 but {program} is not on PATH; install Debian's \
                 prometheus and prometheus-pushgateway packages"
            );
        }
        eprintln!(
            "skipping: {program} is not on PATH (set FIREDRILL_REQUIRE_PROMETHEUS=1 to fail)"
        );
    }
    found
}

/// A server this test started, killed by PID when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Starts Prometheus on loopback, scraping `target` every second, with its data in `dir`.
fn start_prometheus(dir: &Path, target: SocketAddr) -> (Server, SocketAddr) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, scrape_timeout: 900ms }}\n\
             scrape_configs:\n  - job_name: firedrill\n    static_configs:\n      \
             - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let web = loopback(free_port());
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus");
    let server = Server(child);
    assert!(
        wait_ready(web, "/-/ready", Duration::from_secs(30)),
        "prometheus did not get ready; its log:\n{}",
        std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
    );
    (server, web)
}

/// One PromQL instant query's single value.
fn query(prometheus: SocketAddr, promql: &str) -> f64 {
    let (status, body) = get(
        prometheus,
        &format!("/api/v1/query?query={}", encode(promql)),
        &[],
    )
    .expect("query prometheus");
    assert_eq!(status, 200, "{promql}: {body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let results = answer["data"]["result"].as_array().expect("a vector");
    assert_eq!(results.len(), 1, "{promql}: {body}");
    results[0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{promql}: {body}"))
}

/// The index of the recovery bucket `seconds` falls in.
fn bucket_of(seconds: f64) -> usize {
    RECOVERY_BUCKETS
        .iter()
        .position(|&le| seconds <= le)
        .unwrap_or(RECOVERY_BUCKETS.len())
}

/// Runs `firedrill run` with a live endpoint and returns the exit code, stdout, and the last
/// scrape taken while it lingered after the run.
fn run_with_endpoint(scenario: &Path, out: &Path, metrics: SocketAddr) -> (i32, String, String) {
    let listen = metrics.to_string();
    let mut child = spawn_run(
        scenario,
        out,
        &["--metrics-listen", &listen, "--metrics-linger", "4s"],
    );
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut lingering_scrape = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("serving metrics at") {
            let (status, body) = get(metrics, "/metrics", &[]).expect("scrape while lingering");
            assert_eq!(status, 200);
            lingering_scrape = body;
        }
        lines.push(line);
    }
    wait_with_deadline(&mut child, Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    let stdout = lines.join("\n");
    assert!(
        !lingering_scrape.is_empty(),
        "no linger line; stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), stdout, lingering_scrape)
}

#[test]
fn prometheus_scraping_the_demo_every_second_ends_with_the_numbers_of_report_json() {
    if !have("prometheus") || !have("promtool") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let metrics = loopback(free_port());
    let (_prometheus, web) = start_prometheus(work.path(), metrics);
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, lingering_scrape) =
        run_with_endpoint(Path::new("scenarios/local-demo.yaml"), out.path(), metrics);
    assert_eq!(code, 0, "{stdout}");
    let dir = run_dir(out.path());
    let report = report(&dir);

    // The file and the live endpoint are one fold over the same journal lines.
    let file = std::fs::read_to_string(dir.join("metrics.prom")).unwrap();
    assert_eq!(
        file, lingering_scrape,
        "metrics.prom differs from the last scrape"
    );
    let check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(dir.join("metrics.prom")).unwrap())
        .output()
        .unwrap();
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // Series go stale once firedrill is gone; range queries still see their samples.
    let kills = query(
        web,
        "max_over_time(firedrill_kills_total{scenario=\"local-demo\"}[10m])",
    );
    let p50 = query(
        web,
        "histogram_quantile(0.5, max_over_time(firedrill_recovery_seconds_bucket{span=\"total\"}[10m]))",
    );
    let capacity_min = query(
        web,
        "min_over_time(firedrill_capacity_min_healthy{scenario=\"local-demo\"}[10m])",
    );
    let scraped_healthy_min = query(
        web,
        "min_over_time(firedrill_capacity_healthy{target=\"web\"}[10m])",
    );
    let passed = query(
        web,
        "max_over_time(firedrill_run_verdict{verdict=\"pass\"}[10m])",
    );
    let completed = query(
        web,
        "max_over_time(firedrill_run_state{state=\"completed\"}[10m])",
    );
    let scrapes = query(web, "count_over_time(up{job=\"firedrill\"}[10m])");
    let report_p50 =
        report.histograms[&firedrill::vocabulary::phase::Span::Total].p50_us as f64 / 1e6;
    eprintln!(
        "prometheus: {scrapes} scrapes; kills {kills} (report {}), total p50 {p50:.4}s (report \
         {report_p50:.4}s), capacity_min_healthy {capacity_min} (report {}), min of the scraped \
         healthy gauge {scraped_healthy_min}",
        report.kills.len(),
        report.capacity.min
    );
    assert!(scrapes >= 20.0, "only {scrapes} scrapes");
    assert_eq!(kills, report.kills.len() as f64);
    assert!(
        bucket_of(p50).abs_diff(bucket_of(report_p50)) <= 1,
        "histogram_quantile p50 {p50}s is more than one bucket from report.json's {report_p50}s"
    );
    assert_eq!(capacity_min, f64::from(report.capacity.min));
    assert_eq!(passed, 1.0, "the last scrape did not see the verdict");
    assert_eq!(completed, 1.0, "the last scrape did not see the end");

    // Every panel of the dashboard is a valid query over this run's series. The run is over
    // and its series stale, so each is evaluated as it was during the run.
    let during = report.ended_at.timestamp() - 5;
    let mut with_data = 0;
    let queries = dashboard_queries();
    for expr in &queries {
        let promql = expr.replace("$scenario", "local-demo");
        let (status, body) = get(
            web,
            &format!("/api/v1/query?time={during}&query={}", encode(&promql)),
            &[],
        )
        .unwrap();
        assert_eq!(status, 200, "{promql}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["status"], "success", "{promql}: {body}");
        if answer["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            with_data += 1;
        } else {
            eprintln!("no data: {promql}");
            // The demo has no probes and its guards never refuse; every other panel has data.
            assert!(
                promql.contains("probe") || promql.contains("refused"),
                "{promql} returned nothing"
            );
        }
    }
    eprintln!(
        "dashboard: {with_data} of {} queries returned data",
        queries.len()
    );
}

#[test]
fn a_push_lands_in_a_real_pushgateway_and_a_failed_push_only_warns() {
    if !have("prometheus-pushgateway") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let gateway = loopback(free_port());
    let _pushgateway = Server(
        Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address={gateway}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.path().join("pushgateway.log")).unwrap())
            .spawn()
            .expect("start prometheus-pushgateway"),
    );
    assert!(
        wait_ready(gateway, "/-/ready", Duration::from_secs(30)),
        "the pushgateway did not get ready"
    );
    let scenario = QuickFleet::new("pushed-nightly", 3, "100ms..200ms")
        .with("schedule: { max_kills: 3, every: 700ms, start_after: 300ms }")
        .with("policy: { pick: 1, max_in_flight: 1, min_healthy: 2 }")
        .with("recovery: { timeout: 10s, settle: 100ms }")
        .with("slos: [ \"unrecovered == 0\" ]")
        .write(work.path());

    let out = tempfile::tempdir().unwrap();
    let url = format!("http://{gateway}");
    let output = run(
        &scenario,
        out.path(),
        &["--push", &url],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "pushed metrics to {url}/metrics/job/firedrill/scenario/pushed-nightly"
        )),
        "{stdout}"
    );
    let report = report(&run_dir(out.path()));
    let (status, text) = get(gateway, "/metrics", &[]).unwrap();
    assert_eq!(status, 200);
    let group = ["job=\"firedrill\"", "scenario=\"pushed-nightly\""];
    let kills = sample(&text, "firedrill_kills_total", &group);
    assert_eq!(kills, Some(report.kills.len() as f64), "{text}");
    let restored = sample(
        &text,
        "firedrill_recoveries_total",
        &[group[0], group[1], "outcome=\"restored\""],
    );
    assert_eq!(restored, Some(3.0), "{text}");
    let pass = sample(
        &text,
        "firedrill_run_verdict",
        &[group[0], group[1], "verdict=\"pass\""],
    );
    assert_eq!(pass, Some(1.0), "{text}");

    // Nothing listens on this port: the push fails, the verdict stands, the journal says so.
    let out = tempfile::tempdir().unwrap();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let output = run(
        &scenario,
        out.path(),
        &["--push", &dead],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--push: the Pushgateway did not answer"),
        "{stderr}"
    );
    let warned = journal(&run_dir(out.path())).into_iter().any(|e| {
        matches!(e, firedrill::journal::Entry::Warning { ref source, .. } if source == "--push")
    });
    assert!(warned, "no warning line in the journal");
}
