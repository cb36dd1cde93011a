//! What a platform says about itself for the report: the engine it talks to, which clock each
//! mark comes from, where each instance ran, and for Swarm each service's restart policy and
//! update config and each node. Journals and reports store it as a JSON object with these
//! keys; it is read and written through a map so that any key an older or newer firedrill
//! wrote, or a value of an unexpected shape, is kept as it was rather than failing the load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Facts about the platform a report reader needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct PlatformFacts {
    /// The engine firedrill talks to (Swarm: the manager), as an endpoint.
    pub manager: Option<String>,
    /// Phase mark → where its time comes from.
    pub clocks: BTreeMap<String, String>,
    /// Instance id → dimension (`service`, `node`, `slot`) → value; the report groups kills by
    /// each dimension but `slot`.
    pub placement: BTreeMap<String, BTreeMap<String, String>>,
    /// A note that explains a span a reader would otherwise misread.
    pub note: Option<String>,
    /// Swarm: service name → its facts.
    pub services: Option<BTreeMap<String, ServiceFacts>>,
    /// Swarm: node id → its facts.
    pub nodes: Option<BTreeMap<String, NodeFacts>>,
    /// Every other key, and any known key whose value did not have the expected shape.
    pub other: Map<String, Value>,
}

/// One Swarm service, with Swarm's defaults filled in where its spec leaves a field out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFacts {
    /// Service id.
    pub id: String,
    /// `replicated` or `global`.
    pub mode: String,
    /// Tasks the orchestrator keeps.
    pub desired_tasks: u32,
    /// The scenario target that covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// When and how Swarm restarts a failed task.
    pub restart_policy: RestartPolicy,
    /// How Swarm rolls out an update.
    pub update_config: UpdateConfig,
}

/// A service's restart policy, durations in human form (`5s`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartPolicy {
    /// `any`, `on-failure` or `none`.
    pub condition: String,
    /// Wait before a restart.
    pub delay: String,
    /// Restarts allowed in `window`.
    pub max_attempts: MaxAttempts,
    /// The window restarts are counted in.
    pub window: String,
}

/// How many restarts a service allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaxAttempts {
    /// At most this many.
    Count(u64),
    /// Written as `unlimited`.
    Text(String),
}

/// A service's update config, durations in human form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateConfig {
    /// Tasks updated at once.
    pub parallelism: u64,
    /// Wait between batches.
    pub delay: String,
    /// `pause`, `continue` or `rollback`.
    pub failure_action: String,
    /// How long a new task is watched for failure.
    pub monitor: String,
    /// `stop-first` or `start-first`.
    pub order: String,
}

/// One Swarm node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    /// Its hostname (its id when the manager does not say).
    pub hostname: String,
    /// `manager` or `worker`.
    pub role: Option<String>,
    /// `active`, `pause` or `drain`.
    pub availability: Option<String>,
    /// `ready`, `down`, ...
    pub state: Option<String>,
    /// The engine firedrill reaches it by, if any.
    pub engine: Option<String>,
    /// Whether it is the manager firedrill talks to.
    pub manager_of_firedrill: bool,
}

/// Takes `key` out of `map` as a `T`, or leaves it there when it has another shape.
fn take<T: serde::de::DeserializeOwned>(map: &mut Map<String, Value>, key: &str) -> Option<T> {
    let value = map.get(key)?;
    let typed = T::deserialize(value).ok()?;
    map.remove(key);
    Some(typed)
}

impl From<Map<String, Value>> for PlatformFacts {
    fn from(mut other: Map<String, Value>) -> PlatformFacts {
        PlatformFacts {
            manager: take(&mut other, "manager"),
            clocks: take(&mut other, "clocks").unwrap_or_default(),
            placement: take(&mut other, "placement").unwrap_or_default(),
            note: take(&mut other, "note"),
            services: take(&mut other, "services"),
            nodes: take(&mut other, "nodes"),
            other,
        }
    }
}

impl From<PlatformFacts> for Map<String, Value> {
    fn from(facts: PlatformFacts) -> Map<String, Value> {
        let mut map = facts.other;
        let mut put = |key: &str, value: Result<Value, serde_json::Error>| {
            if let Ok(value) = value {
                map.insert(key.to_string(), value);
            }
        };
        if let Some(manager) = facts.manager {
            put("manager", Ok(Value::String(manager)));
        }
        if !facts.clocks.is_empty() {
            put("clocks", serde_json::to_value(facts.clocks));
        }
        if !facts.placement.is_empty() {
            put("placement", serde_json::to_value(facts.placement));
        }
        if let Some(note) = facts.note {
            put("note", Ok(Value::String(note)));
        }
        if let Some(services) = facts.services {
            put("services", serde_json::to_value(services));
        }
        if let Some(nodes) = facts.nodes {
            put("nodes", serde_json::to_value(nodes));
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swarm_facts_read_typed_and_write_back_unchanged() {
        let text = serde_json::json!({
            "manager": "unix:///var/run/docker.sock",
            "clocks": {"kill": "engine"},
            "note": "delay shows in boot",
            "placement": {"t1": {"node": "n1", "service": "web", "slot": "web.1"}},
            "services": {"web": {
                "id": "s1", "mode": "replicated", "desired_tasks": 3, "target": "web",
                "restart_policy": {"condition": "any", "delay": "5s", "max_attempts": "unlimited", "window": "0s"},
                "update_config": {"parallelism": 1, "delay": "0s", "failure_action": "pause", "monitor": "5s", "order": "stop-first"}
            }},
            "nodes": {"n1": {"hostname": "h1", "role": "manager", "availability": "active",
                             "state": "ready", "engine": null, "manager_of_firedrill": true}}
        });
        let facts: PlatformFacts = serde_json::from_value(text.clone()).unwrap();
        assert!(facts.other.is_empty(), "{:?}", facts.other);
        let web = &facts.services.as_ref().unwrap()["web"];
        assert_eq!(web.restart_policy.delay, "5s");
        assert_eq!(facts.placement["t1"]["service"], "web");
        assert_eq!(serde_json::to_value(&facts).unwrap(), text);
    }

    #[test]
    fn facts_of_an_unexpected_shape_load_and_are_kept() {
        let text = serde_json::json!({
            "services": {"web": {"mode": 7}},
            "from_a_later_version": [1, 2],
            "clocks": {"kill": "engine"}
        });
        let facts: PlatformFacts = serde_json::from_value(text.clone()).unwrap();
        assert!(facts.services.is_none());
        assert_eq!(facts.clocks["kill"], "engine");
        assert_eq!(serde_json::to_value(&facts).unwrap(), text);
    }
}
