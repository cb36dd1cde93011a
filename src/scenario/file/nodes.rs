//! The YAML shape of node targets' selector, and the defaults of the `command` action.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::vocabulary::units::HumanDuration;

/// Which Swarm nodes a node target covers; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSelector {
    /// `manager` or `worker`.
    #[serde(default)]
    pub role: Option<String>,
    /// Node labels (`docker node update --label-add`), every one must match.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A regular expression over the node's hostname.
    #[serde(default)]
    pub hostname: Option<String>,
}

pub(super) fn default_undo_after() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}

pub(super) fn default_command_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(60))
}
