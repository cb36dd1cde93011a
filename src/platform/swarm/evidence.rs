//! Drift evidence of a Swarm task: the task from the manager, its service's spec version, and
//! its container captured as the docker platform captures one, through the engine of the node
//! it ran on. Five calls: the task first, then the service and the container's three at once,
//! all within one [`CAPTURE_BUDGET`].

use std::future::Future;
use std::time::Instant;

use super::model::{Service, Task};
use super::Shared;
use crate::platform::docker::evidence::{self as container, Source, CAPTURE_BUDGET};
use crate::platform::docker::fleet::parse_time;
use crate::platform::Evidence;
use crate::vocabulary::units::HumanDuration;

/// The parts a container capture fills.
const CONTAINER_PARTS: [&str; 5] = ["image_id", "repo_digest", "config", "created_at", "changes"];

/// Labels Swarm sets on a task's container that name the task or its node, not the spec: a
/// replacement has its own, and that is no drift.
pub fn per_task_label(key: &str) -> bool {
    key.starts_with("com.docker.swarm.task") || key == "com.docker.swarm.node.id"
}

/// Evidence of task `task_id`. Never fails: what cannot be read is listed in `unknown`.
pub async fn capture(shared: &Shared, task_id: &str) -> Evidence {
    let began = Instant::now();
    let deadline = tokio::time::Instant::now() + CAPTURE_BUDGET;
    let mut evidence = Evidence::of(task_id);
    let task = within(deadline, shared.api.task(task_id)).await;
    evidence.engine_calls += 1;
    let task = match task {
        Ok(task) => task,
        Err(why) => {
            for part in CONTAINER_PARTS.into_iter().chain(["spec_version"]) {
                evidence.note_unknown(part, &why);
            }
            evidence.capture_us = micros_since(began);
            return evidence;
        }
    };
    let service = within(deadline, shared.api.service(&task.service_id));
    let of_container = async {
        let node = task
            .node_id
            .as_deref()
            .ok_or("the task was never assigned a node")?;
        let engine = shared.engines.engine_for(node).map_err(|e| e.to_string())?;
        let id = task.container().ok_or("the task never had a container")?;
        let source = Source {
            docker: &engine.docker,
            endpoint: engine.endpoint.to_string(),
            container: id,
            per_instance_label: per_task_label,
        };
        Ok::<Evidence, String>(container::capture_until(&source, task_id, deadline).await)
    };
    let (service, of_container) = tokio::join!(service, of_container);

    evidence.engine_calls += 1;
    match service {
        Ok(service) => match spec_version(&task, &service) {
            Ok(version) => evidence.spec_version = Some(version),
            Err(why) => evidence.note_unknown("spec_version", why),
        },
        Err(why) => evidence.note_unknown("spec_version", why),
    }
    match of_container {
        Ok(c) => {
            evidence.engine_calls += c.engine_calls;
            evidence.unknown.extend(c.unknown);
            evidence.image_id = c.image_id;
            evidence.repo_digest = c.repo_digest;
            evidence.config = c.config;
            evidence.created_at = c.created_at;
            evidence.changes = c.changes;
        }
        Err(why) => {
            for part in CONTAINER_PARTS {
                evidence.note_unknown(part, &why);
            }
        }
    }
    evidence.capture_us = micros_since(began);
    evidence
}

/// The service version whose spec `task` runs. The manager records the spec a task was given
/// but not the version it came from, so the service's version is the task's only when the task
/// was made after the service's spec last changed: after its last rolling update or rollback
/// began, or after its creation when it has had none. Otherwise the task may run an earlier
/// spec, and its version is unknown rather than the current one.
fn spec_version(task: &Task, service: &Service) -> Result<u64, String> {
    let version = service
        .version
        .ok_or("the manager gave no Version for the service")?
        .index;
    let spec_since = service
        .update_status
        .as_ref()
        .and_then(|u| parse_time(u["StartedAt"].as_str()))
        .or_else(|| parse_time(service.created_at.as_deref()))
        .ok_or("the manager gave no time for the service's last change")?;
    let made = task
        .created()
        .ok_or("the manager gave no creation time for the task")?;
    if made >= spec_since {
        Ok(version)
    } else {
        Err(format!(
            "the task was made before its service's last update began, so it may run an \
             earlier spec than the current one (version {version}), and the manager does not \
             say which"
        ))
    }
}

/// A manager call, given what is left of the capture's budget.
async fn within<T>(
    deadline: tokio::time::Instant,
    call: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the manager did not answer within the capture's {}",
                HumanDuration(CAPTURE_BUDGET)
            ))
        })
}

fn micros_since(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(created: &str) -> Task {
        serde_json::from_value(serde_json::json!({
            "ID": "t1", "ServiceID": "s1", "CreatedAt": created
        }))
        .unwrap()
    }

    fn service(created: &str, update_started: Option<&str>) -> Service {
        serde_json::from_value(serde_json::json!({
            "ID": "s1", "Version": {"Index": 27}, "CreatedAt": created,
            "Spec": {"Name": "web"},
            "UpdateStatus": update_started.map(|t| serde_json::json!({
                "State": "updating", "StartedAt": t
            }))
        }))
        .unwrap()
    }

    #[test]
    fn a_task_has_the_services_version_only_if_made_since_the_spec_last_changed() {
        let never_updated = service("2026-12-02T06:22:14.04727988Z", None);
        let first_task = task("2026-12-02T06:22:14.04883814Z");
        assert_eq!(spec_version(&first_task, &never_updated), Ok(27));
        let updated = service(
            "2026-12-02T06:22:14.04727988Z",
            Some("2026-12-02T06:22:31.2062904Z"),
        );
        let why = spec_version(&first_task, &updated).unwrap_err();
        assert!(why.contains("earlier spec") && why.contains("27"), "{why}");
        assert!(!why.contains("  "), "{why}");
        let rolled_out = task("2026-12-02T06:22:31.207037042Z");
        assert_eq!(spec_version(&rolled_out, &updated), Ok(27));
        let no_times: Task = serde_json::from_value(serde_json::json!({
            "ID": "t1", "ServiceID": "s1"
        }))
        .unwrap();
        assert!(spec_version(&no_times, &updated).is_err());
    }

    #[test]
    fn the_labels_that_name_a_task_or_its_node_are_not_configuration() {
        for key in [
            "com.docker.swarm.task",
            "com.docker.swarm.task.id",
            "com.docker.swarm.task.name",
            "com.docker.swarm.node.id",
        ] {
            assert!(per_task_label(key), "{key}");
        }
        for key in [
            "com.docker.swarm.service.id",
            "com.docker.swarm.service.name",
            "com.docker.stack.namespace",
            "app",
        ] {
            assert!(!per_task_label(key), "{key}");
        }
    }
}
