//! Start-up: open the store, seed a first org if asked, bind, serve, and
//! shut down gracefully.

use crate::config::{Config, LogFormat};
use std::net::SocketAddr;

/// Installs the global tracing subscriber (text or JSON lines on stderr,
/// filtered by `RUST_LOG`, default `info`).
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// A built server, bound to its port but not yet serving.
pub struct Application {
    pub(crate) addr: SocketAddr,
}

impl Application {
    pub async fn build(_config: Config) -> anyhow::Result<Application> {
        anyhow::bail!("not yet")
    }

    /// The address it bound (the chosen port when the config asked for 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        _shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}
