//! Running firedrill on the lab: the manager's TLS endpoint and the lab's client certificate
//! in its environment, and the workers' engines in the scenario's `platform:` line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;

use super::Lab;

impl Lab {
    /// The scenario line that points firedrill at this lab's node engines:
    /// `platform: { kind: swarm, nodes: { <worker hostname>: "tcp://<ip>:2376", ... } }`.
    /// The manager comes from [`Lab::env_for_firedrill`].
    pub fn platform_yaml(&self) -> String {
        let nodes: Vec<String> = self
            .workers()
            .map(|n| format!("{}: \"{}\"", n.hostname, n.endpoint))
            .collect();
        format!(
            "platform: {{ kind: swarm, nodes: {{ {} }} }}",
            nodes.join(", ")
        )
    }

    /// DOCKER_HOST (the manager's TLS endpoint), DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH
    /// (the lab's client certificate and CA).
    pub fn env_for_firedrill(&self) -> Vec<(String, String)> {
        vec![
            ("DOCKER_HOST".into(), self.env.docker_host.clone()),
            ("DOCKER_TLS_VERIFY".into(), "1".into()),
            (
                "DOCKER_CERT_PATH".into(),
                self.env.cert_path.to_string_lossy().into_owned(),
            ),
        ]
    }

    /// The firedrill binary with [`Lab::env_for_firedrill`] set and no input.
    pub fn firedrill(&self) -> Command {
        let mut command = crate::common::firedrill();
        command
            .env_remove("DOCKER_CONTEXT")
            .envs(self.env_for_firedrill())
            .stdin(Stdio::null());
        command
    }

    /// Where [`Lab::run_for_report`] writes its run folders.
    pub fn reports_dir(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    /// `firedrill run SCENARIO --out <reports_dir>` on this lab, to its end; its output and
    /// the report.json it wrote.
    pub fn run_for_report(&self, scenario: &Path) -> (Output, Value) {
        let out = self.reports_dir();
        let output = self
            .firedrill()
            .arg("run")
            .arg(scenario)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run firedrill");
        let report = crate::common::report_json(&out, &output);
        (output, report)
    }

    /// [`Lab::run_for_report`] for a run that must pass (exit 0); prints how long it took.
    pub fn run_passing(&self, scenario: &Path) -> Value {
        let started = Instant::now();
        let (output, report) = self.run_for_report(scenario);
        eprintln!("{} ran for {:?}", scenario.display(), started.elapsed());
        assert_eq!(
            output.status.code(),
            Some(0),
            "stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        report
    }
}
