//! firedrill's own http/tcp health probes against containers, for targets whose `health` asks
//! for one. Each running container gets one probe loop; a change of result is reported as a
//! `Healthy`/`Unhealthy` event stamped when the probe finished (this machine's clock: no daemon
//! has an opinion on it).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::fleet::Observed;
use super::Shared;
use crate::platform::health::{check, Probe};
use crate::platform::{now_micros, EventKind, PlatformEvent};
use crate::scenario::HealthKind;

/// Runs and stops the per-container probe loops.
pub struct Prober {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<PlatformEvent>,
    cancel: CancellationToken,
    loops: HashMap<String, CancellationToken>,
}

impl Prober {
    /// A prober reporting into `tx` until `cancel` fires.
    pub fn new(
        shared: Arc<Shared>,
        tx: mpsc::UnboundedSender<PlatformEvent>,
        cancel: CancellationToken,
    ) -> Prober {
        Prober {
            shared,
            tx,
            cancel,
            loops: HashMap::new(),
        }
    }

    /// Starts probing a running container (again, if it restarted: its address may change).
    pub fn watch(&mut self, o: &Observed, target: &str, slot: &str) {
        self.unwatch(&o.id);
        let Some(spec) = self.shared.targets.iter().find(|t| t.name == target) else {
            return;
        };
        let probe = match probe_for(spec.health.kind(), o) {
            Ok(p) => p,
            Err(why) => {
                tracing::warn!(container = %o.name, "cannot probe: {why}");
                return;
            }
        };
        let every = spec.health.every();
        let timeout = spec.health.timeout();
        let stop = self.cancel.child_token();
        self.loops.insert(o.id.clone(), stop.clone());
        let shared = self.shared.clone();
        let tx = self.tx.clone();
        let (id, target, slot) = (o.id.clone(), target.to_string(), slot.to_string());
        tokio::spawn(async move {
            let mut last: Option<bool> = None;
            loop {
                let result = tokio::select! {
                    _ = stop.cancelled() => break,
                    r = check(&probe, timeout) => r,
                };
                let at = now_micros();
                let ok = result.is_ok();
                shared.set_probe_health(&id, ok);
                if last != Some(ok) {
                    last = Some(ok);
                    let event = PlatformEvent {
                        at,
                        kind: if ok {
                            EventKind::Healthy
                        } else {
                            EventKind::Unhealthy
                        },
                        instance: id.clone(),
                        target: target.clone(),
                        slot: slot.clone(),
                        uncertain: false,
                        detail: Some(match result {
                            Ok(()) => "probe passed".to_string(),
                            Err(why) => format!("probe failed: {why}"),
                        }),
                        node_kill: None,
                    };
                    if tx.send(event).is_err() {
                        break;
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(every) => {}
                }
            }
            shared.forget_probe_health(&id);
        });
    }

    /// Stops probing a container (it died, was paused or removed).
    pub fn unwatch(&mut self, id: &str) {
        if let Some(stop) = self.loops.remove(id) {
            stop.cancel();
        }
        self.shared.forget_probe_health(id);
    }

    /// Stops every loop.
    pub fn stop_all(&mut self) {
        for (_, stop) in self.loops.drain() {
            stop.cancel();
        }
    }
}

/// The probe a target's check means for one container: its address, and the check's port or
/// else the container's first exposed tcp port.
pub fn probe_for(kind: Option<HealthKind>, o: &Observed) -> Result<Probe, String> {
    let ip: IpAddr =
        o.ip.as_deref()
            .ok_or("the container has no IP address (host network or no network)")?
            .parse()
            .map_err(|e| format!("the container's IP address does not parse: {e}"))?;
    let port_or_exposed = |port: Option<u16>| {
        port.or(o.exposed_port)
            .ok_or("the health check names no port and the container exposes none")
    };
    match kind {
        Some(HealthKind::Http { port, path, expect }) => Ok(Probe::Http {
            addr: SocketAddr::new(ip, port_or_exposed(port)?),
            path,
            expect,
        }),
        Some(HealthKind::Tcp { port }) => Ok(Probe::Tcp {
            addr: SocketAddr::new(ip, port_or_exposed(port)?),
        }),
        _ => Err("the target's health check is not http or tcp".to_string()),
    }
}
