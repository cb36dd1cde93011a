//! What "healthy" means for a target's instances: the platform's own status, running, or a
//! probe that firedrill runs (HTTP GET or TCP connect).

use serde::{Deserialize, Serialize};

use crate::vocabulary::units::HumanDuration;

/// What makes an instance healthy. Exactly one of `from`, `http` and `tcp` may be given; with
/// none, the platform's default applies (docker: the container's HEALTHCHECK, else running;
/// local: running).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// Take health from the platform itself.
    #[serde(default)]
    pub from: Option<HealthSource>,
    /// An HTTP GET against the instance.
    #[serde(default)]
    pub http: Option<HttpCheck>,
    /// A TCP connect to the instance.
    #[serde(default)]
    pub tcp: Option<TcpCheck>,
    /// How often probes run; default 100ms.
    #[serde(default)]
    pub every: Option<HumanDuration>,
    /// How long one probe may take; default 1s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

/// Health as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthSource {
    /// The container's own HEALTHCHECK status.
    Docker,
    /// Healthy as soon as the process or container runs.
    Running,
}

/// An HTTP health check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// Port on the instance; defaults to the managed instance's `{port}`.
    #[serde(default)]
    pub port: Option<u16>,
    /// Request path; default `/health`.
    #[serde(default = "default_health_path")]
    pub path: String,
    /// Expected status code; default 200.
    #[serde(default = "default_expect")]
    pub expect: u16,
}

fn default_health_path() -> String {
    "/health".to_string()
}

fn default_expect() -> u16 {
    200
}

/// A TCP connect health check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// Port on the instance; defaults to the managed instance's `{port}`.
    #[serde(default)]
    pub port: Option<u16>,
}

/// The resolved kind of a health check, matched in one place by each platform.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthKind {
    /// The platform's own health status (docker HEALTHCHECK).
    Platform,
    /// Healthy while running.
    Running,
    /// HTTP GET `path` on `port`, expecting `expect`.
    Http {
        /// Port, if fixed by the scenario.
        port: Option<u16>,
        /// Request path.
        path: String,
        /// Expected status.
        expect: u16,
    },
    /// TCP connect on `port`.
    Tcp {
        /// Port, if fixed by the scenario.
        port: Option<u16>,
    },
}

impl HealthCheck {
    /// The check to run, or `None` when the platform's default applies.
    pub fn kind(&self) -> Option<HealthKind> {
        if let Some(h) = &self.http {
            return Some(HealthKind::Http {
                port: h.port,
                path: h.path.clone(),
                expect: h.expect,
            });
        }
        if let Some(t) = &self.tcp {
            return Some(HealthKind::Tcp { port: t.port });
        }
        match self.from {
            Some(HealthSource::Docker) => Some(HealthKind::Platform),
            Some(HealthSource::Running) => Some(HealthKind::Running),
            None => None,
        }
    }

    /// Probe interval.
    pub fn every(&self) -> std::time::Duration {
        self.every
            .map(HumanDuration::get)
            .unwrap_or(std::time::Duration::from_millis(100))
    }

    /// Probe timeout.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
            .map(HumanDuration::get)
            .unwrap_or(std::time::Duration::from_secs(1))
    }
}
