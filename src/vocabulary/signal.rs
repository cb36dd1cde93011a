//! Signal names as scenario files write them (`SIGKILL`, `KILL`, `9`), and the typed
//! [`Signal`] they compile to.

use std::fmt;

/// Signals a scenario may name, with their Linux numbers.
const SIGNALS: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGABRT", libc::SIGABRT),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
];

/// A signal a scenario may name, checked when the scenario is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(i32);

impl Signal {
    /// SIGKILL, the default of the kill action.
    pub const KILL: Signal = Signal(libc::SIGKILL);

    /// The signal a name (with or without `SIG`) or number stands for, or `None` when the
    /// scenario may not name it.
    pub fn parse(name: &str) -> Option<Signal> {
        signal_number(name).map(Signal)
    }

    /// The Linux signal number.
    pub fn number(self) -> i32 {
        self.0
    }

    /// The canonical name, such as `SIGKILL`.
    pub fn name(self) -> &'static str {
        signal_name(self.0).unwrap_or("SIGKILL")
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The signal number for a name with or without the `SIG` prefix, or a number.
pub fn signal_number(name: &str) -> Option<i32> {
    let upper = name.trim().to_ascii_uppercase();
    if let Ok(n) = upper.parse::<i32>() {
        return SIGNALS.iter().find(|(_, v)| *v == n).map(|(_, v)| *v);
    }
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    SIGNALS.iter().find(|(k, _)| *k == full).map(|(_, v)| *v)
}

/// The canonical name (`SIGKILL`) of a signal a scenario may name.
pub fn signal_name(number: i32) -> Option<&'static str> {
    SIGNALS.iter().find(|(_, v)| *v == number).map(|(k, _)| *k)
}

/// The names accepted, for error messages.
pub fn known_signals() -> String {
    SIGNALS
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_prefix_and_numbers_resolve() {
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("kill"), Some(9));
        assert_eq!(signal_number("15"), Some(15));
        assert_eq!(signal_number("SIGNOPE"), None);
        assert_eq!(signal_number("99"), None);
        assert_eq!(signal_name(15), Some("SIGTERM"));
    }
}
