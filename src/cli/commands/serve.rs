//! `roster serve`: the flags become the top layer of the server's
//! configuration (defaults < TOML file < `ROSTER_*` variables < flags), then
//! the server runs until Ctrl-C or SIGTERM and finishes in-flight requests.

use clap::{Args, ValueEnum};
use roster_server::{Application, Config, ConfigLayer, LogFormat, ServeFlags};
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (also ROSTER_CONFIG)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free port
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Where the embedded SQLite database and the mail log live
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A database URL, e.g. postgres://user@host/roster
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// The base URL of links the server prints and sends
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Create the first org with this owner on an empty database
    #[arg(long = "bootstrap-owner", value_name = "EMAIL")]
    pub bootstrap_owner: Option<String>,
    /// The log format
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let flags = ServeFlags {
        config_file: args.config,
        layer: ConfigLayer {
            listen: args.listen,
            data_dir: args.data_dir,
            database_url: args.database_url,
            public_url: args.public_url,
            log_format: args.log_format.map(|f| match f {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            }),
            bootstrap_owner_email: args.bootstrap_owner,
            ..Default::default()
        },
    };
    let config = Config::load(flags, |k| std::env::var(k).ok())?;
    let _log = roster_server::init_tracing(config.log_format);
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM. A signal that cannot be
/// listened for simply never fires.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
