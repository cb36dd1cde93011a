//! The manager's Swarm calls (services with their task counts, one service, tasks, one task,
//! nodes, a node update) through bollard, each under its own deadline, and read into [`super::model`]'s
//! types.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::NodeSpec;
use bollard::query_parameters::{
    InspectServiceOptions, ListNodesOptions, ListServicesOptions, ListTasksOptions,
    UpdateNodeOptions,
};
use bollard::Docker;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::model::{Node, Service, Task};
use crate::platform::docker::connect::Endpoint;

/// How long one manager call may take. bollard keeps connections alive between calls, so a
/// manager that went away without closing its socket would otherwise leave a call waiting on
/// a dead connection for the client's whole request timeout; a watcher that resyncs through
/// these calls must notice well before that.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Calls against one manager.
#[derive(Clone)]
pub struct Manager {
    docker: Docker,
    endpoint: Endpoint,
}

impl Manager {
    /// Calls through `docker`, which talks to the manager at `endpoint`.
    pub fn new(docker: Docker, endpoint: Endpoint) -> Manager {
        Manager { docker, endpoint }
    }

    /// Every service, with the manager's running and desired task counts.
    pub async fn services(&self) -> Result<Vec<Service>, String> {
        let options = ListServicesOptions {
            status: Some(true),
            ..ListServicesOptions::default()
        };
        let listed = self
            .call("GET /services", self.docker.list_services(Some(options)))
            .await?;
        retype("GET /services", &self.endpoint, listed)
    }

    /// Every task the manager still keeps of the services with these ids.
    pub async fn tasks_of(&self, service_ids: &[&str]) -> Result<Vec<Task>, String> {
        let filters = HashMap::from([(
            "service".to_string(),
            service_ids.iter().map(|s| s.to_string()).collect(),
        )]);
        let options = ListTasksOptions {
            filters: Some(filters),
        };
        let listed = self
            .call("GET /tasks", self.docker.list_tasks(Some(options)))
            .await?;
        retype("GET /tasks", &self.endpoint, listed)
    }

    /// One task as the manager sees it now.
    pub async fn task(&self, id: &str) -> Result<Task, String> {
        let what = format!("GET /tasks/{id}");
        let task = self.call(&what, self.docker.inspect_task(id)).await?;
        retype(&what, &self.endpoint, task)
    }

    /// One service as the manager sees it now, with its version.
    pub async fn service(&self, id: &str) -> Result<Service, String> {
        let what = format!("GET /services/{id}");
        let service = self
            .call(
                &what,
                self.docker
                    .inspect_service(id, None::<InspectServiceOptions>),
            )
            .await?;
        retype(&what, &self.endpoint, service)
    }

    /// Every node of the Swarm.
    pub async fn nodes(&self) -> Result<Vec<Node>, String> {
        let listed = self
            .call(
                "GET /nodes",
                self.docker.list_nodes(None::<ListNodesOptions>),
            )
            .await?;
        retype("GET /nodes", &self.endpoint, listed)
    }

    /// Replaces a node's spec; `version` is the index the node was read at, so an update
    /// made in between fails rather than being overwritten.
    pub async fn update_node(&self, id: &str, spec: NodeSpec, version: u64) -> Result<(), String> {
        let what = format!("POST /nodes/{id}/update");
        let options = UpdateNodeOptions {
            version: i64::try_from(version).unwrap_or(i64::MAX),
        };
        self.call(&what, self.docker.update_node(id, spec, options))
            .await
    }

    /// The manager's engine, for its event stream.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    async fn call<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(format!("{what} on {}: {e}", self.endpoint)),
            Err(_) => Err(format!(
                "{what} on {} timed out after {}",
                self.endpoint,
                crate::vocabulary::units::HumanDuration(CALL_TIMEOUT)
            )),
        }
    }
}

/// bollard's answer read into firedrill's model, which decodes the API's own JSON shape: the
/// same decoder then serves live answers and the recorded ones in tests.
fn retype<F: Serialize, T: DeserializeOwned>(
    what: &str,
    endpoint: &Endpoint,
    answer: F,
) -> Result<T, String> {
    serde_json::to_value(answer)
        .and_then(serde_json::from_value)
        .map_err(|e| format!("{what} on {endpoint}: unexpected answer: {e}"))
}
