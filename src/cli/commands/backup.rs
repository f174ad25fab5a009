//! `roster backup` and `roster restore`: run on the server's machine, on
//! its data directory (the same `--config`, `ROSTER_*` and flags as
//! `roster serve`), not through the API.

use clap::Args;
use roster_server::{Config, ConfigLayer, ServeFlags};
use std::path::PathBuf;

/// Where the server's files are, as `roster serve` is told.
#[derive(Debug, Clone, Args)]
pub struct LocalServerArgs {
    /// The server's TOML configuration file (also ROSTER_CONFIG)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The server's data directory (also ROSTER_DATA_DIR)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The database URL (also ROSTER_DATABASE_URL)
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl LocalServerArgs {
    pub(crate) fn config(self) -> anyhow::Result<Config> {
        Config::load(
            ServeFlags {
                config_file: self.config,
                layer: ConfigLayer {
                    data_dir: self.data_dir,
                    database_url: self.database_url,
                    ..Default::default()
                },
            },
            |k| std::env::var(k).ok(),
        )
    }
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  roster backup --data-dir /var/lib/roster --to /backups/roster-$(date +%F).db
  roster backup --to roster.db.bak --without-key   # keep secret.key elsewhere")]
pub struct BackupArgs {
    /// The new file to write the backup to
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Leave the server key out of the backup (keep secret.key separately)
    #[arg(long)]
    pub without_key: bool,
    #[command(flatten)]
    pub server: LocalServerArgs,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  roster restore --from /backups/roster-2026-01-31.db --data-dir /var/lib/roster
  roster restore --from roster.db.bak --data-dir ./roster-data --force   # replace what is there")]
pub struct RestoreArgs {
    /// The backup file made by `roster backup`
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace an existing database (its files are kept, renamed)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub server: LocalServerArgs,
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let config = args.server.config()?;
    let report = roster_server::backup::run_backup(&config, &args.to, !args.without_key).await?;
    println!("{report}");
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let config = args.server.config()?;
    let report = roster_server::backup::run_restore(&config, &args.from, args.force).await?;
    println!("{report}");
    Ok(())
}
