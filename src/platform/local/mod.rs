//! The `local` platform: real OS processes on this machine. In managed mode firedrill spawns
//! the fleet and is its replacement pipeline; in attach mode it finds existing processes and
//! their own supervisor replaces them.

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Instance, KillReceipt, Platform, PlatformError, PlatformEvent};
use crate::scenario::{Action, Scenario};

/// Processes on this machine.
pub struct LocalPlatform {}

impl LocalPlatform {
    /// Prepares the fleets a scenario describes; nothing is spawned until `start`.
    pub fn new(_scenario: &Scenario, _seed: u64) -> Result<LocalPlatform, PlatformError> {
        todo!("local helper")
    }
}

#[async_trait]
impl Platform for LocalPlatform {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn start(
        &self,
        _events: mpsc::UnboundedSender<PlatformEvent>,
        _cancel: CancellationToken,
    ) -> Result<(), PlatformError> {
        todo!("local helper")
    }

    async fn instances(&self, _target: &str) -> Result<Vec<Instance>, PlatformError> {
        todo!("local helper")
    }

    async fn desired_capacity(&self, _target: &str) -> Result<Option<u32>, PlatformError> {
        todo!("local helper")
    }

    async fn kill(
        &self,
        _victim: &Instance,
        _action: &Action,
    ) -> Result<KillReceipt, PlatformError> {
        todo!("local helper")
    }

    async fn shutdown(&self) -> Result<(), PlatformError> {
        todo!("local helper")
    }
}
