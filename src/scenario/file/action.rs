//! The action as written: what is done to an instance (or, for node targets, a node).

use serde::{Deserialize, Serialize};

use crate::vocabulary::units::HumanDuration;

/// How an instance is killed, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ActionFile {
    /// Send a signal (default SIGKILL). On Docker the engine records this as a manual stop,
    /// so restart policies do not fire; use `crash` for that.
    Kill {
        /// Signal name or number.
        #[serde(default = "default_signal")]
        signal: String,
    },
    /// SIGKILL the main process directly, as a real crash would, so restart policies fire.
    Crash {},
    /// Graceful stop: SIGTERM, then SIGKILL after `grace`.
    Stop {
        /// Time between SIGTERM and SIGKILL; default 10s.
        #[serde(default = "default_grace")]
        grace: HumanDuration,
    },
    /// Forced removal of the container.
    Remove {},
    /// Freeze the instance for a while, then always thaw it.
    Pause {
        /// How long to stay paused.
        #[serde(rename = "for")]
        duration: HumanDuration,
    },
    /// Swarm nodes: set the node's availability to drain, and back to active after `for`.
    Drain {
        /// How long the node stays drained.
        #[serde(rename = "for")]
        duration: HumanDuration,
    },
    /// Swarm nodes: run a program (no shell) that takes the node down, and optionally one
    /// that brings it back after `undo_after`. `{id}`, `{hostname}` and `{address}` in any
    /// argument become the node's.
    Command {
        /// Program and arguments.
        run: Vec<String>,
        /// Program and arguments that undo `run`.
        #[serde(default)]
        undo: Option<Vec<String>>,
        /// Wait between `run` and `undo`; default 30s.
        #[serde(default = "super::nodes::default_undo_after")]
        undo_after: HumanDuration,
        /// Longest either program may take; default 60s.
        #[serde(default = "super::nodes::default_command_timeout")]
        timeout: HumanDuration,
    },
}

fn default_signal() -> String {
    "SIGKILL".to_string()
}

fn default_grace() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(10))
}

impl Default for ActionFile {
    fn default() -> Self {
        ActionFile::Kill {
            signal: default_signal(),
        }
    }
}
