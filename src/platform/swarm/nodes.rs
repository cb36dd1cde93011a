//! The engine of each Swarm node: the manager's own engine for the manager's node, and the
//! endpoints `platform.nodes` maps node ids or hostnames to for the others. Docker has no API
//! to act on a container on another node, so a task on a node with no endpoint cannot be
//! killed, and the error says which node and how to add it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bollard::Docker;

use super::lock;
use super::manager::Manager;
use super::model::Node;
use crate::platform::docker::connect::Endpoint;
use crate::platform::facts::NodeFacts;
use crate::platform::PlatformError;

/// One node's engine.
#[derive(Clone)]
pub struct NodeEngine {
    /// The client.
    pub docker: Docker,
    /// Where it is, for messages.
    pub endpoint: Endpoint,
}

/// The manager and every node engine firedrill can reach.
pub struct Engines {
    /// The manager's API (tasks, nodes, services).
    pub manager_api: Manager,
    /// The manager's endpoint.
    pub manager_endpoint: Endpoint,
    /// The manager's own node id.
    pub manager_node: String,
    /// Node id → engine.
    by_node: BTreeMap<String, NodeEngine>,
    /// Node id → what the manager says about it (refreshed when an unknown id shows up).
    nodes: Mutex<HashMap<String, Node>>,
}

impl Engines {
    /// Connects to the manager and to each node endpoint; every failure names what it tried.
    pub async fn connect(
        host: Option<&str>,
        nodes: &BTreeMap<String, String>,
    ) -> Result<Engines, PlatformError> {
        let env = |k: &str| std::env::var(k).ok();
        let manager_endpoint = Endpoint::resolve(host, env)?;
        let manager = manager_endpoint.open().await?;
        let not_manager = |why: String| PlatformError::Unreachable {
            endpoint: manager_endpoint.to_string(),
            reason: why,
        };
        let info = manager
            .info()
            .await
            .map_err(|e| not_manager(format!("GET /info failed: {e}")))?;
        let swarm = info.swarm.unwrap_or_default();
        let manager_node = swarm.node_id.unwrap_or_default();
        if manager_node.is_empty() || swarm.control_available != Some(true) {
            return Err(not_manager(
                "this engine is not a Swarm manager; run `docker swarm init`, or point \
                 platform.host (or DOCKER_HOST) at a manager"
                    .to_string(),
            ));
        }
        let manager_api = Manager::new(manager.clone(), manager_endpoint.clone());
        let listed = manager_api.nodes().await.map_err(not_manager)?;
        let mut by_node = BTreeMap::new();
        by_node.insert(
            manager_node.clone(),
            NodeEngine {
                docker: manager,
                endpoint: manager_endpoint.clone(),
            },
        );
        for (key, url) in nodes {
            let node = listed
                .iter()
                .find(|n| n.id == *key || n.hostname() == *key)
                .ok_or_else(|| {
                    let known: Vec<String> = listed
                        .iter()
                        .map(|n| format!("{} ({})", n.hostname(), n.id))
                        .collect();
                    PlatformError::Failed(format!(
                        "platform.nodes.{key}: no node of this Swarm has that id or hostname; \
                         its nodes are {}",
                        known.join(", ")
                    ))
                })?;
            if node.id == manager_node {
                // The manager's own engine already serves its node.
                continue;
            }
            let endpoint = Endpoint::resolve(Some(url), env)?;
            let docker = endpoint.open().await.map_err(|e| {
                PlatformError::Failed(format!(
                    "platform.nodes.{key} (node {}): {e}",
                    node.hostname()
                ))
            })?;
            by_node.insert(node.id.clone(), NodeEngine { docker, endpoint });
        }
        Ok(Engines {
            manager_api,
            manager_endpoint,
            manager_node,
            by_node,
            nodes: Mutex::new(listed.into_iter().map(|n| (n.id.clone(), n)).collect()),
        })
    }

    /// The manager's own engine.
    pub fn manager_engine(&self) -> NodeEngine {
        self.by_node
            .get(&self.manager_node)
            .cloned()
            .unwrap_or_else(|| NodeEngine {
                docker: self.manager_api.docker().clone(),
                endpoint: self.manager_endpoint.clone(),
            })
    }

    /// Every node engine, by node id.
    pub fn all(&self) -> Vec<(String, NodeEngine)> {
        self.by_node
            .iter()
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect()
    }

    /// Whether firedrill has an engine for the node.
    pub fn has_engine(&self, node: &str) -> bool {
        self.by_node.contains_key(node)
    }

    /// The engine of `node`, or an error naming the node and how to add it.
    pub fn engine_for(&self, node: &str) -> Result<NodeEngine, PlatformError> {
        if let Some(e) = self.by_node.get(node) {
            return Ok(e.clone());
        }
        let host = self.hostname(node);
        Err(PlatformError::Failed(format!(
            "the task runs on node {host} ({node}), and firedrill has no engine endpoint for \
             it; Docker cannot act on a container on another node, so add it to the \
             scenario: platform.nodes: {{ {host}: tcp://{host}:2376 }} (TLS with \
             DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)"
        )))
    }

    /// The hostname of a node id (the id itself when the manager does not know it).
    pub fn hostname(&self, node: &str) -> String {
        lock(&self.nodes)
            .get(node)
            .map_or_else(|| node.to_string(), Node::hostname)
    }

    /// Learns nodes that joined since the start.
    pub async fn refresh(&self) {
        if let Ok(listed) = self.manager_api.nodes().await {
            *lock(&self.nodes) = listed.into_iter().map(|n| (n.id.clone(), n)).collect();
        }
    }

    /// Whether the node id is known.
    pub fn knows(&self, node: &str) -> bool {
        lock(&self.nodes).contains_key(node)
    }

    /// Each node's facts and the engine firedrill reaches it by (or none).
    pub fn facts(&self) -> BTreeMap<String, NodeFacts> {
        lock(&self.nodes)
            .iter()
            .map(|(id, n)| {
                let engine = self.by_node.get(id).map(|e| e.endpoint.to_string());
                (id.clone(), n.facts(engine, *id == self.manager_node))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engines_with_manager_only() -> Engines {
        let endpoint = Endpoint::Tcp("127.0.0.1:1".into());
        // Building a client does not connect; nothing here talks to an engine.
        let docker = Docker::connect_with_http("127.0.0.1:1", 5, bollard::API_DEFAULT_VERSION)
            .expect("client");
        let node = |id: &str, host: &str| -> Node {
            serde_json::from_value(serde_json::json!({
                "ID": id, "Description": {"Hostname": host}
            }))
            .unwrap()
        };
        Engines {
            manager_api: Manager::new(docker.clone(), endpoint.clone()),
            manager_endpoint: endpoint.clone(),
            manager_node: "mgr".into(),
            by_node: BTreeMap::from([("mgr".to_string(), NodeEngine { docker, endpoint })]),
            nodes: Mutex::new(HashMap::from([
                ("mgr".to_string(), node("mgr", "manager-1")),
                ("w1".to_string(), node("w1", "worker-1")),
            ])),
        }
    }

    #[test]
    fn a_victim_on_a_node_without_an_endpoint_is_an_error_naming_the_node() {
        let engines = engines_with_manager_only();
        assert!(engines.engine_for("mgr").is_ok());
        let err = engines.engine_for("w1").err().expect("no engine for w1");
        let text = err.to_string();
        assert!(
            text.contains("worker-1") && text.contains("w1") && text.contains("platform.nodes"),
            "{text}"
        );
    }

    #[test]
    fn node_facts_say_which_engine_reaches_each_node() {
        let facts = engines_with_manager_only().facts();
        assert_eq!(facts["mgr"].engine.as_deref(), Some("tcp://127.0.0.1:1"));
        assert!(facts["mgr"].manager_of_firedrill);
        assert!(facts["w1"].engine.is_none());
        assert_eq!(facts["w1"].hostname, "worker-1");
    }
}
