//! Which services a swarm target covers (service name and/or service labels), and which tasks
//! may be touched: the opt-in `require_label` and the exempt label (which always wins), looked
//! up in the service's and the task container's labels together.

use std::collections::BTreeMap;

use regex::Regex;

use super::model::{Node, Service};
use crate::platform::PlatformError;
use crate::scenario::{HealthKind, Target, EXEMPT_LABEL};

/// One scenario target: which services it covers and how health is judged.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// Target name.
    pub name: String,
    service: Option<String>,
    labels: BTreeMap<String, String>,
    require: Option<(String, Option<String>)>,
    /// Healthy only at `running` even when the container has a HEALTHCHECK.
    pub running_is_healthy: bool,
    /// For a node target: which nodes it covers. Its services are then those it watches.
    pub nodes: Option<NodeSpec>,
    /// For a node target: the services whose healthy tasks are its capacity.
    watch: Vec<String>,
}

/// Which Swarm nodes a node target covers.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    role: Option<String>,
    labels: BTreeMap<String, String>,
    hostname: Option<Regex>,
}

impl NodeSpec {
    /// Whether the selector covers the node (exempt or not: that is [`TargetSpec::refusal`]'s).
    pub fn covers(&self, node: &Node) -> bool {
        let labels = node.labels();
        self.role
            .as_ref()
            .map_or(true, |r| node.role().as_ref() == Some(r))
            && self
                .hostname
                .as_ref()
                .map_or(true, |h| h.is_match(&node.hostname()))
            && self
                .labels
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|have| have == v))
    }
}

impl TargetSpec {
    pub fn compile(t: &Target) -> Result<TargetSpec, PlatformError> {
        let running_is_healthy = match t.health.kind() {
            None | Some(HealthKind::Platform) => false,
            Some(HealthKind::Running) => true,
            Some(HealthKind::Http { .. } | HealthKind::Tcp { .. }) => {
                return Err(PlatformError::Unsupported {
                    platform: "swarm",
                    action: format!(
                        "http/tcp health probes (target {}); use the service's HEALTHCHECK \
                         (health: {{ from: docker }}) or from: running",
                        t.name
                    ),
                })
            }
        };
        let nodes = match &t.select.nodes {
            Some(n) => Some(NodeSpec {
                role: n.role.clone(),
                labels: n.labels.clone(),
                hostname: match &n.hostname {
                    Some(p) => Some(Regex::new(p).map_err(|e| {
                        PlatformError::Failed(format!(
                            "target {}: select.nodes.hostname: {e}",
                            t.name
                        ))
                    })?),
                    None => None,
                },
            }),
            None => None,
        };
        if nodes.is_none() && t.select.service.is_none() && t.select.labels.is_empty() {
            return Err(PlatformError::Failed(format!(
                "target {}: a swarm selector needs service or labels",
                t.name
            )));
        }
        Ok(TargetSpec {
            name: t.name.clone(),
            service: t.select.service.clone(),
            labels: t.select.labels.clone(),
            require: t
                .require_label
                .as_ref()
                .map(|o| (o.key.clone(), Some(o.value.clone()))),
            running_is_healthy,
            nodes,
            watch: t.watch.clone(),
        })
    }

    /// Whether the selector covers the service.
    pub fn covers(&self, s: &Service) -> bool {
        if self.nodes.is_some() {
            return self.watch.contains(&s.spec.name);
        }
        let labels = s.spec.labels.clone().unwrap_or_default();
        self.service.as_ref().map_or(true, |n| *n == s.spec.name)
            && self
                .labels
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|have| have == v))
    }

    /// How close a service the selector does not cover comes to it: how many of its labels
    /// the service carries, then how long a start its name shares with the wanted name.
    pub fn closeness(&self, s: &Service) -> (usize, usize) {
        let labels = s.spec.labels.clone().unwrap_or_default();
        let shared_labels = self
            .labels
            .iter()
            .filter(|(k, v)| labels.get(*k) == Some(*v))
            .count();
        let shared_start = self.service.as_ref().map_or(0, |want| {
            want.chars()
                .zip(s.spec.name.chars())
                .take_while(|(a, b)| a == b)
                .count()
        });
        (shared_labels, shared_start)
    }

    /// Why a task with these labels may not be touched, if it may not.
    pub fn refusal(&self, labels: &BTreeMap<String, String>) -> Option<String> {
        if labels
            .get(EXEMPT_LABEL)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            return Some(format!("it carries {EXEMPT_LABEL}=true"));
        }
        let (k, v) = self.require.as_ref()?;
        let ok = match (labels.get(k), v) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        };
        (!ok).then(|| match v {
            Some(v) => format!("it lacks the opt-in label {k}={v}"),
            None => format!("it lacks the opt-in label {k}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{HealthCheck, HealthSource, HttpCheck, OptIn, Selector};
    use std::collections::HashMap;

    fn target(select: Selector, require: Option<&str>, health: HealthCheck) -> Target {
        Target {
            name: "web".into(),
            select,
            require_label: require.map(|r| OptIn::parse(r).unwrap()),
            capacity: None,
            health,
            watch: Vec::new(),
        }
    }

    fn service(name: &str, labels: &[(&str, &str)]) -> Service {
        let labels: HashMap<&str, &str> = labels.iter().copied().collect();
        serde_json::from_value(serde_json::json!({
            "ID": format!("id-{name}"), "Spec": {"Name": name, "Labels": labels}
        }))
        .unwrap()
    }

    #[test]
    fn a_target_covers_services_by_exact_name_and_all_labels() {
        let by_name = TargetSpec::compile(&target(
            Selector {
                service: Some("web".into()),
                ..Selector::default()
            },
            None,
            HealthCheck::default(),
        ))
        .unwrap();
        assert!(by_name.covers(&service("web", &[])));
        assert!(!by_name.covers(&service("web-decoy", &[])));
        let by_labels = TargetSpec::compile(&target(
            Selector {
                labels: [("app".to_string(), "shop".to_string())].into(),
                ..Selector::default()
            },
            None,
            HealthCheck::default(),
        ))
        .unwrap();
        assert!(by_labels.covers(&service("a", &[("app", "shop"), ("x", "y")])));
        assert!(!by_labels.covers(&service("b", &[("app", "blog")])));
    }

    #[test]
    fn exempt_wins_and_opt_in_is_required() {
        let t = TargetSpec::compile(&target(
            Selector {
                service: Some("web".into()),
                ..Selector::default()
            },
            Some("firedrill.enabled=true"),
            HealthCheck::default(),
        ))
        .unwrap();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(t.refusal(&labels(&[("firedrill.enabled", "true")])), None);
        assert!(t.refusal(&labels(&[])).unwrap().contains("opt-in"));
        let exempt = labels(&[("firedrill.enabled", "true"), (EXEMPT_LABEL, "true")]);
        assert!(t.refusal(&exempt).unwrap().contains(EXEMPT_LABEL));
    }

    #[test]
    fn health_from_running_is_honoured_and_probes_are_refused_by_name() {
        let running = TargetSpec::compile(&target(
            Selector {
                service: Some("web".into()),
                ..Selector::default()
            },
            None,
            HealthCheck {
                from: Some(HealthSource::Running),
                ..HealthCheck::default()
            },
        ))
        .unwrap();
        assert!(running.running_is_healthy);
        let http = TargetSpec::compile(&target(
            Selector {
                service: Some("web".into()),
                ..Selector::default()
            },
            None,
            HealthCheck {
                http: Some(HttpCheck {
                    port: Some(8080),
                    path: "/health".into(),
                    expect: 200,
                }),
                ..HealthCheck::default()
            },
        ))
        .unwrap_err();
        assert!(matches!(http, PlatformError::Unsupported { .. }));
        assert!(http.to_string().contains("target web"), "{http}");
    }
}
