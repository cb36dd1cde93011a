//! Health of local instances: one prober task per instance, from its start to its death.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::registry::{Registry, Shared};
use crate::platform::health::{check, Probe};
use crate::platform::{now_micros, Micros, PlatformError};
use crate::scenario::{HealthKind, Target};

/// What "healthy" means for a target's instances, resolved once.
#[derive(Debug, Clone)]
pub(super) struct HealthSpec {
    kind: Option<HealthKind>,
    every: Duration,
    timeout: Duration,
}

impl HealthSpec {
    /// The target's check. In attach mode an http/tcp check needs its own port, since there
    /// is no managed `{port}` to fall back on.
    pub fn of(target: &Target, needs_port: bool) -> Result<HealthSpec, PlatformError> {
        let kind = target.health.kind();
        let fixed_port = match &kind {
            Some(HealthKind::Platform) => {
                return Err(PlatformError::Failed(format!(
                    "target {}: `health.from: docker` is not available on the local platform; use running, http or tcp",
                    target.name
                )))
            }
            Some(HealthKind::Http { port, .. }) | Some(HealthKind::Tcp { port }) => *port,
            Some(HealthKind::Running) | None => Some(0),
        };
        if needs_port && fixed_port.is_none() {
            return Err(PlatformError::Failed(format!(
                "target {}: an http or tcp health check of attached processes needs a port",
                target.name
            )));
        }
        Ok(HealthSpec {
            kind,
            every: target.health.every(),
            timeout: target.health.timeout(),
        })
    }

    /// How often probes run.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// The probe for an instance listening on `port`; `None` when running means healthy.
    fn probe(&self, port: Option<u16>) -> Option<Probe> {
        let on = |fixed: Option<u16>| {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), fixed.or(port).unwrap_or(0))
        };
        match &self.kind {
            Some(HealthKind::Http { port, path, expect }) => Some(Probe::Http {
                addr: on(*port),
                path: path.clone(),
                expect: *expect,
            }),
            Some(HealthKind::Tcp { port }) => Some(Probe::Tcp { addr: on(*port) }),
            _ => None,
        }
    }
}

/// Starts watching the health of a just-registered instance: healthy at once when running is
/// enough, else a prober task that lives until `token` fires.
pub(super) fn watch(
    shared: &Arc<Shared>,
    registry: &mut Registry,
    pid: u32,
    health: &HealthSpec,
    port: Option<u16>,
    started: Micros,
    token: CancellationToken,
) {
    match health.probe(port) {
        None => {
            registry.record_health(pid, true, started, Some("running".to_string()));
        }
        Some(probe) => {
            let shared = Arc::clone(shared);
            let (every, timeout) = (health.every, health.timeout);
            tokio::spawn(async move {
                run(shared, pid, probe, every, timeout, token).await;
            });
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    pid: u32,
    probe: Probe,
    every: Duration,
    timeout: Duration,
    token: CancellationToken,
) {
    loop {
        let result = tokio::select! {
            _ = token.cancelled() => return,
            result = check(&probe, timeout) => result,
        };
        // Stamped at the answer: that is the moment the fact became known.
        let at = now_micros();
        let detail = result.err();
        if !shared
            .registry()
            .record_health(pid, detail.is_none(), at, detail)
        {
            return;
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
