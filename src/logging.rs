//! Log setup: RUST_LOG wins; otherwise `-v` raises the level. Logs go to stderr so stdout stays
//! for results.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

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
        .with_writer(std::io::stderr)
        .with_ansi(crate::engine::status::stderr_is_color_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
