//! What the manager says about services, tasks and nodes (the parts firedrill reads), the
//! slot a task fills, and a service's desired task count.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use crate::platform::docker::fleet::parse_time;
use crate::platform::facts::{MaxAttempts, NodeFacts, RestartPolicy, ServiceFacts, UpdateConfig};
use crate::platform::Micros;

/// One service, from `GET /services?status=true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Service {
    /// Service id.
    #[serde(rename = "ID")]
    pub id: String,
    /// The service's spec.
    pub spec: ServiceSpec,
    /// Running and desired task counts, as the manager computes them.
    #[serde(default)]
    pub service_status: Option<ServiceStatus>,
    /// The version Swarm gives the service object, raised by every update of it (its spec,
    /// and also the progress of a rolling update).
    #[serde(default)]
    pub version: Option<ObjectVersion>,
    /// When the service was created (manager clock).
    #[serde(default)]
    pub created_at: Option<String>,
    /// The last rolling update or rollback: `State`, `StartedAt`; absent before the first.
    #[serde(default)]
    pub update_status: Option<Value>,
}

/// A Swarm object's version.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectVersion {
    /// The raft index of the object's last update.
    #[serde(default)]
    pub index: u64,
}

/// The parts of a service spec firedrill reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceSpec {
    /// Service name.
    pub name: String,
    /// Service labels.
    #[serde(default)]
    pub labels: Option<HashMap<String, String>>,
    /// `{"Replicated": {"Replicas": n}}`, `{"Global": {}}`, or a job mode.
    #[serde(default)]
    pub mode: Option<Value>,
    /// Holds `RestartPolicy` and the container spec.
    #[serde(default)]
    pub task_template: Option<Value>,
    /// Rolling update settings.
    #[serde(default)]
    pub update_config: Option<Value>,
}

/// Task counts of a service.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceStatus {
    /// Tasks running now.
    #[serde(default)]
    pub running_tasks: u64,
    /// Tasks the orchestrator wants: replicas, or eligible nodes for a global service.
    #[serde(default)]
    pub desired_tasks: u64,
}

/// One task, from `GET /tasks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    /// Task id.
    #[serde(rename = "ID")]
    pub id: String,
    /// When the manager created it (manager clock).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Its service.
    #[serde(rename = "ServiceID")]
    pub service_id: String,
    /// Its slot (replicated services only).
    #[serde(default)]
    pub slot: Option<u64>,
    /// The node it was assigned to, once assigned.
    #[serde(rename = "NodeID", default)]
    pub node_id: Option<String>,
    /// Its current state.
    #[serde(default)]
    pub status: TaskStatus,
    /// The state the orchestrator wants for it.
    #[serde(default)]
    pub desired_state: Option<String>,
    /// Its spec (container labels).
    #[serde(default)]
    pub spec: Option<Value>,
}

/// A task's state as the manager last heard it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskStatus {
    /// When the task entered this state (manager clock; the agent's report).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// `new`, `pending`, `assigned`, ..., `running`, `complete`, `failed`, `shutdown`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub err: Option<String>,
    /// The container behind it.
    #[serde(default)]
    pub container_status: Option<ContainerStatus>,
}

/// The container of a task.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerStatus {
    /// Container id on the task's node.
    #[serde(rename = "ContainerID", default)]
    pub container_id: Option<String>,
}

/// One node, from `GET /nodes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Node {
    /// Node id.
    #[serde(rename = "ID")]
    pub id: String,
    /// Hostname and engine facts.
    #[serde(default)]
    pub description: Option<Value>,
    /// Role and availability.
    #[serde(default)]
    pub spec: Option<Value>,
    /// Ready or down, and its address.
    #[serde(default)]
    pub status: Option<Value>,
    /// The version an update must name.
    #[serde(default)]
    pub version: Option<Value>,
    /// When the node joined.
    #[serde(default)]
    pub created_at: Option<String>,
}

impl Node {
    /// The node's hostname, or its id when the manager does not say.
    pub fn hostname(&self) -> String {
        self.description
            .as_ref()
            .and_then(|d| d["Hostname"].as_str())
            .unwrap_or(&self.id)
            .to_string()
    }

    /// A string field of the spec (`Role`, `Availability`) or of the status (`State`, `Addr`).
    fn field(part: &Option<Value>, key: &str) -> Option<String> {
        part.as_ref()
            .and_then(|p| p[key].as_str())
            .map(str::to_string)
    }

    /// `manager` or `worker`.
    pub fn role(&self) -> Option<String> {
        Node::field(&self.spec, "Role")
    }

    /// `active`, `pause` or `drain`.
    pub fn availability(&self) -> Option<String> {
        Node::field(&self.spec, "Availability")
    }

    /// `ready`, `down`, `unknown` or `disconnected`.
    pub fn state(&self) -> Option<String> {
        Node::field(&self.status, "State")
    }

    /// The address the node talks to the Swarm from.
    pub fn address(&self) -> Option<String> {
        Node::field(&self.status, "Addr")
    }

    /// The node's own labels (`docker node update --label-add`).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.spec
            .as_ref()
            .and_then(|s| s["Labels"].as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The version index an update of the node must name.
    pub fn version_index(&self) -> Option<u64> {
        self.version.as_ref().and_then(|v| v["Index"].as_u64())
    }

    /// When the node joined the Swarm.
    pub fn joined(&self) -> Option<Micros> {
        parse_time(self.created_at.as_deref())
    }

    /// Facts for the report: hostname, role, availability, state; `engine` is the endpoint
    /// firedrill reaches the node by, `manager` whether it is the manager firedrill talks to.
    pub fn facts(&self, engine: Option<String>, manager: bool) -> NodeFacts {
        NodeFacts {
            hostname: self.hostname(),
            role: self.role(),
            availability: self.availability(),
            state: self.state(),
            engine,
            manager_of_firedrill: manager,
        }
    }
}

/// States from which a task never runs again.
pub fn is_terminal(state: &str) -> bool {
    matches!(
        state,
        "complete" | "shutdown" | "failed" | "rejected" | "remove" | "orphaned"
    )
}

impl Task {
    /// The state, lowercase, or `""`.
    pub fn state(&self) -> &str {
        self.status.state.as_deref().unwrap_or("")
    }

    /// When the manager created the task.
    pub fn created(&self) -> Option<Micros> {
        parse_time(self.created_at.as_deref())
    }

    /// When the task entered its current state.
    pub fn state_since(&self) -> Option<Micros> {
        parse_time(self.status.timestamp.as_deref())
    }

    /// The task's container id, once it has one.
    pub fn container(&self) -> Option<&str> {
        self.status
            .container_status
            .as_ref()
            .and_then(|c| c.container_id.as_deref())
            .filter(|c| !c.is_empty())
    }

    /// The labels a selector matches this task by: its service's labels, overlaid with the
    /// container labels the task's spec asks for.
    pub fn labels_within(&self, service: &Service) -> BTreeMap<String, String> {
        let mut labels: BTreeMap<String, String> = service
            .spec
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        labels.extend(self.container_labels());
        labels
    }

    /// The container labels the task's spec asks for.
    pub fn container_labels(&self) -> BTreeMap<String, String> {
        self.spec
            .as_ref()
            .and_then(|s| s["ContainerSpec"]["Labels"].as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether a service runs one task per eligible node.
pub fn is_global(service: &Service) -> bool {
    service
        .spec
        .mode
        .as_ref()
        .is_some_and(|m| m.get("Global").is_some() || m.get("GlobalJob").is_some())
}

/// The slot a task fills: `<service>.<slot>` for replicated services (Swarm's own task name
/// prefix), `<service>@<node hostname>` for global ones, where the node is the slot.
pub fn slot_of(service: &str, task_slot: Option<u64>, node: Option<&str>) -> String {
    match (task_slot, node) {
        (Some(n), _) if n > 0 => format!("{service}.{n}"),
        (_, Some(node)) => format!("{service}@{node}"),
        _ => format!("{service}@unassigned"),
    }
}

/// The number of tasks the orchestrator keeps: the replicas of a replicated service, the
/// manager's count of eligible nodes for a global one (`DesiredTasks`), falling back on the
/// tasks it wants running.
pub fn desired_tasks(service: &Service, tasks: &[Task]) -> u32 {
    if let Some(replicas) = service
        .spec
        .mode
        .as_ref()
        .and_then(|m| m["Replicated"]["Replicas"].as_u64())
    {
        return replicas as u32;
    }
    if let Some(status) = service.service_status {
        return status.desired_tasks as u32;
    }
    tasks
        .iter()
        .filter(|t| t.service_id == service.id && t.desired_state.as_deref() == Some("running"))
        .count() as u32
}

/// A Swarm duration in nanoseconds, in firedrill's one duration form (`5s`, `100ms`), or
/// `None` when not a number.
fn nanos_text(v: &Value) -> Option<String> {
    v.as_i64()
        .map(|ns| crate::vocabulary::units::format_micros(ns.max(0) as u64 / 1_000))
}

/// What the report shows about a service: its mode, desired tasks, restart policy and update
/// config, with Swarm's defaults filled in where the spec leaves a field out (restart
/// condition `any`, delay 5s, unlimited attempts), so a reader sees why a reschedule takes
/// as long as it does.
pub fn service_facts(service: &Service, desired: u32, target: &str) -> ServiceFacts {
    let restart = service
        .spec
        .task_template
        .as_ref()
        .map(|t| t["RestartPolicy"].clone())
        .unwrap_or(Value::Null);
    let update = service.spec.update_config.clone().unwrap_or(Value::Null);
    let text = |v: &Value, default: &str| v.as_str().unwrap_or(default).to_string();
    let duration = |v: &Value, default: &str| nanos_text(v).unwrap_or_else(|| default.into());
    ServiceFacts {
        id: service.id.clone(),
        mode: if is_global(service) {
            "global"
        } else {
            "replicated"
        }
        .to_string(),
        desired_tasks: desired,
        target: Some(target.to_string()),
        restart_policy: RestartPolicy {
            condition: text(&restart["Condition"], "any"),
            delay: duration(&restart["Delay"], "5s"),
            max_attempts: match restart["MaxAttempts"].as_u64() {
                Some(0) | None => MaxAttempts::Text("unlimited".into()),
                Some(n) => MaxAttempts::Count(n),
            },
            window: duration(&restart["Window"], "0s"),
        },
        update_config: UpdateConfig {
            parallelism: update["Parallelism"].as_u64().unwrap_or(1),
            delay: duration(&update["Delay"], "0s"),
            failure_action: text(&update["FailureAction"], "pause"),
            monitor: duration(&update["Monitor"], "5s"),
            order: text(&update["Order"], "stop-first"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(mode: Value, template: Value) -> Service {
        serde_json::from_value(serde_json::json!({
            "ID": "svc1",
            "Spec": {"Name": "web", "Mode": mode, "TaskTemplate": template},
            "ServiceStatus": {"RunningTasks": 2, "DesiredTasks": 4}
        }))
        .unwrap()
    }

    #[test]
    fn replicated_desired_is_replicas_and_global_is_the_managers_count() {
        let r = service(
            serde_json::json!({"Replicated": {"Replicas": 3}}),
            Value::Null,
        );
        assert_eq!(desired_tasks(&r, &[]), 3);
        assert!(!is_global(&r));
        let g = service(serde_json::json!({"Global": {}}), Value::Null);
        assert_eq!(desired_tasks(&g, &[]), 4);
        assert!(is_global(&g));
    }

    #[test]
    fn slots_follow_task_slot_or_node() {
        assert_eq!(slot_of("web", Some(2), Some("n1")), "web.2");
        assert_eq!(slot_of("agent", None, Some("n1")), "agent@n1");
        assert_eq!(slot_of("agent", Some(0), Some("n1")), "agent@n1");
    }

    #[test]
    fn restart_policy_shows_swarm_defaults_and_explicit_values() {
        let default = service(
            serde_json::json!({"Replicated": {"Replicas": 3}}),
            serde_json::json!({}),
        );
        let f = service_facts(&default, 3, "web");
        assert_eq!(f.restart_policy.delay, "5s");
        assert_eq!(f.restart_policy.condition, "any");
        assert_eq!(
            f.restart_policy.max_attempts,
            MaxAttempts::Text("unlimited".into())
        );
        let set = service(
            serde_json::json!({"Replicated": {"Replicas": 3}}),
            serde_json::json!({"RestartPolicy": {"Condition": "on-failure", "Delay": 1_500_000_000i64, "MaxAttempts": 3}}),
        );
        let f = service_facts(&set, 3, "web");
        assert_eq!(f.restart_policy.delay, "1.5s");
        assert_eq!(f.restart_policy.condition, "on-failure");
        assert_eq!(f.restart_policy.max_attempts, MaxAttempts::Count(3));
    }

    #[test]
    fn tasks_parse_with_state_times_and_container() {
        let t: Task = serde_json::from_value(serde_json::json!({
            "ID": "t1", "ServiceID": "svc1", "Slot": 2, "NodeID": "n1",
            "CreatedAt": "2026-11-27T11:22:14.288922376Z",
            "Status": {"Timestamp": "2026-11-27T11:22:20.854286089Z", "State": "running",
                       "ContainerStatus": {"ContainerID": "abc", "PID": 1}},
            "DesiredState": "running",
            "Spec": {"ContainerSpec": {"Labels": {"app": "web"}}}
        }))
        .unwrap();
        assert_eq!(t.state(), "running");
        assert_eq!(t.container(), Some("abc"));
        assert_eq!(t.created(), Some(1_795_778_534_288_922));
        assert_eq!(
            t.container_labels().get("app").map(String::as_str),
            Some("web")
        );
    }
}
