//! `firedrill target`: a tiny HTTP server with `/health`, so demos and tests need nothing else
//! installed. It is also what the Docker test image runs.

/// Options of `firedrill target`.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Answer /health with 503 until this long after start, like a service warming up.
    #[arg(long, default_value = "0s")]
    pub boot_delay: crate::units::HumanDuration,
    /// Start failing /health (503) this long after start, like a service going bad.
    #[arg(long)]
    pub fail_after: Option<crate::units::HumanDuration>,
}

/// Serves until killed.
pub async fn serve(_args: TargetArgs) -> anyhow::Result<()> {
    todo!("local helper")
}
