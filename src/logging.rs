//! Log setup: RUST_LOG wins; otherwise `-v` raises the level. Logs go to stderr so stdout stays
//! for results.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::engine::status;

/// Installs the global subscriber.
pub fn init(verbose: u8, format: LogFormat) {
    let default = match verbose {
        0 => "firedrill=info",
        1 => "firedrill=debug",
        _ => "firedrill=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr)
        .with_ansi(crate::engine::status::stderr_is_color_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Stderr that first erases the live status line, so a log line never lands after it; the
/// status line is drawn again at its next tick.
#[derive(Debug, Clone, Copy)]
struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = std::io::StderrLock<'static>;

    fn make_writer(&'a self) -> Self::Writer {
        let mut err = std::io::stderr().lock();
        if status::is_drawn() {
            let _ = err.write_all(status::ERASE.as_bytes());
        }
        err
    }
}
