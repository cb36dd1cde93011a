//! A lab test's services: created on the manager, labelled with the run id (service and
//! containers) so [`Lab`]'s Drop removes them, and followed task by task to the node each
//! task runs on.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Lab, LabNode};
use crate::common::docker::{IMAGE, TEST_LABEL};

impl Lab {
    /// `firedrill.test=<id>`.
    pub fn label(&self) -> String {
        format!("{TEST_LABEL}={}", self.id)
    }

    /// A service name unique to this run.
    pub fn service_name(&self, short: &str) -> String {
        format!("fdt-{}-{short}", self.id)
    }

    /// `docker service create` of the test image on the manager, labelled (service and
    /// containers) with the run id; `args` go before the image. Waits until `replicas` tasks
    /// run with healthy containers. Returns the service's name.
    pub fn create_service(&self, short: &str, replicas: u32, args: &[&str]) -> String {
        let name = self.service_name(short);
        let label = self.label();
        let replicas_text = replicas.to_string();
        let mut all = vec![
            "service",
            "create",
            "--detach",
            "--quiet",
            "--no-resolve-image",
            "--name",
            &name,
            "--label",
            &label,
            "--container-label",
            &label,
            "--replicas",
            &replicas_text,
        ];
        all.extend_from_slice(args);
        all.push(IMAGE);
        self.manager_docker_ok(&all);
        self.wait_healthy(&name, replicas, Duration::from_secs(90));
        name
    }

    /// Ids of the service's tasks that the orchestrator wants running, sorted.
    pub fn running_tasks(&self, service: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .manager_docker_ok(&[
                "service",
                "ps",
                "--quiet",
                "--no-trunc",
                "--filter",
                "desired-state=running",
                service,
            ])
            .lines()
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    }

    /// The manager's `docker inspect` of a task.
    pub fn task(&self, id: &str) -> Value {
        let text = self.manager_docker_ok(&["inspect", "--type", "task", id]);
        let v: Value = serde_json::from_str(&text).expect("task JSON");
        v[0].clone()
    }

    /// The container id of a task (from [`Lab::task`]).
    pub fn container_of(task: &Value) -> String {
        task["Status"]["ContainerStatus"]["ContainerID"]
            .as_str()
            .unwrap_or_else(|| panic!("task has no container: {task:#}"))
            .to_string()
    }

    /// The node a task (from [`Lab::task`]) was placed on.
    pub fn node_of_task(&self, task: &Value) -> &LabNode {
        self.node_by_id(
            task["NodeID"]
                .as_str()
                .unwrap_or_else(|| panic!("task has no node: {task:#}")),
        )
    }

    /// Waits until `n` tasks of the service run with containers their nodes call healthy.
    pub fn wait_healthy(&self, service: &str, n: u32, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let healthy = self
                .running_tasks(service)
                .iter()
                .map(|t| self.task(t))
                .filter(|t| t["Status"]["State"] == "running")
                .filter(|t| {
                    let container = Lab::container_of(t);
                    self.node_of_task(t)
                        .docker(&[
                            "inspect",
                            "--format",
                            "{{.State.Health.Status}}",
                            &container,
                        ])
                        .is_ok_and(|s| s.trim() == "healthy")
                })
                .count() as u32;
            if healthy >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "service {service}: {healthy} of {n} tasks healthy after {within:?}:\n{}",
                self.manager_docker(&["service", "ps", "--no-trunc", service])
                    .unwrap_or_else(|e| e)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
