//! How every renderer names an instance (a kill's victim or its replacement), so one instance
//! reads the same in summary.md, report.html and the terminal. A local process is its PID and
//! the slot it fills; a container or Swarm task is its id cut to Docker's 12 characters and
//! the slot (a container's slot is its name; a Swarm task's name is the slot plus that same
//! short id). The full id and the platform's name for the victim go in [`Identity::full`], for
//! a hover title or a log line.

use crate::report::{KillReport, RunReport};
use crate::vocabulary::identity;

pub use crate::vocabulary::identity::SHORT_ID;

/// One instance's name, short and full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// What a table cell shows: `PID 11085 (web/3)`, `3f9c1a7e22b0 (shop-web-1)`.
    pub short: String,
    /// Everything known: the full id, and the platform's own name when it differs.
    pub full: String,
}

impl Identity {
    fn of(platform: &str, id: &str, slot: &str, name: Option<&str>) -> Identity {
        Identity {
            short: identity::short(platform, id, slot),
            full: identity::full(platform, id, slot, name),
        }
    }
}

/// The kill's victim.
pub fn victim(report: &RunReport, kill: &KillReport) -> Identity {
    Identity::of(
        &report.platform,
        &kill.victim,
        &kill.slot,
        Some(&kill.victim_name),
    )
}

/// The kill's replacement, once one exists. It fills the victim's slot (that is how it was
/// matched); the journal does not record its platform name, so none is shown.
pub fn replacement(report: &RunReport, kill: &KillReport) -> Option<Identity> {
    let id = kill.replacement.as_deref()?;
    Some(Identity::of(&report.platform, id, &kill.slot, None))
}

/// What took the victim's place: its replacement, or for a node kill the new task in each
/// slot the node held (the node itself is no replacement of anything).
pub fn replacements(report: &RunReport, kill: &KillReport) -> Vec<Identity> {
    match &kill.node {
        Some(node) => node
            .moved_to
            .iter()
            .map(|t| Identity::of(&report.platform, &t.task, &t.slot, None))
            .collect(),
        None => replacement(report, kill).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_process_is_its_pid_and_slot() {
        let i = Identity::of("local", "11085", "web/3", Some("firedrill:35181"));
        assert_eq!(i.short, "PID 11085 (web/3)");
        assert_eq!(i.full, "PID 11085, slot web/3, named firedrill:35181");
    }

    #[test]
    fn victims_and_replacements_of_swarm_tasks_are_cut_alike() {
        let victim = Identity::of(
            "swarm",
            "ylbop6u8uktah7h62ubgfzgun",
            "agent@vm",
            Some("agent@vm.ylbop6u8ukta"),
        );
        let replacement = Identity::of("swarm", "sa6kh7nufxhamqjvatlw8ca95", "agent@vm", None);
        assert_eq!(victim.short, "ylbop6u8ukta (agent@vm)");
        assert_eq!(replacement.short, "sa6kh7nufxha (agent@vm)");
        assert!(victim.full.starts_with("ylbop6u8uktah7h62ubgfzgun, "));
    }

    #[test]
    fn a_docker_replacement_id_is_cut_to_twelve() {
        let id = "8be1d04c9a55".repeat(5) + "abcd";
        let i = Identity::of("docker", &id, "shop-web-1", None);
        assert_eq!(i.short, "8be1d04c9a55 (shop-web-1)");
        assert_eq!(i.full, format!("{id}, slot shop-web-1"));
    }
}
