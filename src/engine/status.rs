//! The live status line on a terminal, and plain log lines elsewhere.

use std::io::IsTerminal;

/// Whether stderr is a terminal that may show colour (`NO_COLOR` unset).
pub fn stderr_is_color_terminal() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
