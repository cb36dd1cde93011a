//! Signal names as scenario files write them (`SIGKILL`, `KILL`, `9`).

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
