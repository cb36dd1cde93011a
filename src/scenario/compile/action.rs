//! Checks of the action: a known signal, a grace or pause that means something, and what each
//! platform can do.

use super::{is_zero, nodes, Checked};
use crate::scenario::file::ActionFile;
use crate::scenario::{Action, PlatformConfig, Recovery};
use crate::vocabulary::signal::{known_signals, Signal};

pub(super) fn check_action(
    c: &mut Checked,
    action: &ActionFile,
    platform: &PlatformConfig,
    recovery: &Recovery,
) -> Option<Action> {
    let compiled = match action {
        ActionFile::Kill { signal } => match Signal::parse(signal) {
            Some(signal) => Action::Kill { signal },
            None => {
                c.error(
                    "action.signal",
                    format!(
                        "unknown signal {signal:?}; known signals: {}",
                        known_signals()
                    ),
                );
                return None;
            }
        },
        ActionFile::Crash {} => Action::Crash {},
        ActionFile::Stop { grace } => Action::Stop { grace: *grace },
        ActionFile::Remove {} => Action::Remove {},
        ActionFile::Pause { duration } => Action::Pause {
            duration: *duration,
        },
        ActionFile::Drain { duration } => Action::Drain {
            duration: *duration,
        },
        ActionFile::Command {
            run,
            undo,
            undo_after,
            timeout,
        } => Action::Command(nodes::check_command(
            c,
            run,
            undo.as_ref(),
            *undo_after,
            *timeout,
        )?),
    };
    let local = matches!(platform, PlatformConfig::Local {});
    match &compiled {
        Action::Stop { grace } if is_zero(*grace) => c.warn(
            "action.grace",
            "grace 0 sends SIGKILL right after SIGTERM, which is a kill; give the instance time \
             to stop, such as 10s, or use kind: kill",
        ),
        Action::Remove {} | Action::Pause { .. } if local => {
            c.error(
                "action.kind",
                format!(
                    "the local platform cannot {}; use kill, crash or stop (remove and pause are \
                     for docker and swarm)",
                    compiled.describe()
                ),
            );
            return None;
        }
        Action::Pause { duration } if is_zero(*duration) => {
            c.error("action.for", "a pause must last longer than 0, such as 5s");
            return None;
        }
        Action::Pause { duration } if *duration >= recovery.timeout => c.warn(
            "action.for",
            format!(
                "a pause of {duration} is not shorter than recovery.timeout ({}), so every \
                 pause will count as unrecovered",
                recovery.timeout
            ),
        ),
        _ => {}
    }
    Some(compiled)
}
