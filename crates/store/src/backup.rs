//! Copies of an embedded (SQLite) database: an online, consistent copy
//! taken while a server writes (`VACUUM INTO`, one read transaction, so the
//! copy is one state of the database, including what is still in the
//! `-wal` file), and the checks a copy must pass before it is restored.
//!
//! A copy is a single SQLite file (rollback journal, no `-wal`) with one
//! extra table, `roster_backup` (name, value): what the backup says about
//! itself (its format, when it was taken, and the server key if it holds
//! one). Restoring drops that table.

use crate::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Executor};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The format of a backup file this version writes and reads.
pub const FORMAT: &str = "roster-backup-1";

async fn open(path: &Path, journal: SqliteJournalMode) -> Result<SqliteConnection> {
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .journal_mode(journal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
        .log_statements(tracing::log::LevelFilter::Trace)
        .connect()
        .await?)
}

/// Copies the database at `db` into the new file `to` as one consistent
/// state while a server may be writing, and records `notes` in the copy's
/// `roster_backup` table.
pub async fn copy(db: &Path, to: &Path, notes: &[(&str, &str)]) -> Result<()> {
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Unavailable("the backup path is not valid UTF-8".into()))?;
    let mut source = open(db, SqliteJournalMode::Wal).await?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut source)
        .await?;
    source.close().await?;
    let mut copy = open(to, SqliteJournalMode::Delete).await?;
    copy.execute("CREATE TABLE roster_backup (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .await?;
    for (name, value) in notes {
        sqlx::query("INSERT INTO roster_backup (name, value) VALUES ($1, $2)")
            .bind(*name)
            .bind(*value)
            .execute(&mut copy)
            .await?;
    }
    copy.close().await?;
    Ok(())
}

/// What a backup file holds, read by [`check`].
#[derive(Debug, Clone)]
pub struct Checked {
    /// The `roster_backup` notes (format, taken_at, secret_key...).
    pub notes: BTreeMap<String, String>,
    /// The key check value the database was made with, if any.
    pub key_check: Option<String>,
    /// The newest migration applied to it.
    pub schema_version: i64,
}

/// Checks a backup file in place (it must be a private copy, since the
/// check opens it for writing): SQLite's integrity check, foreign keys,
/// Roster's tables and the backup's notes.
pub async fn check(path: &Path) -> Result<Checked> {
    let bad = |why: &str| StoreError::Unavailable(format!("not a usable Roster backup: {why}"));
    let mut conn = open(path, SqliteJournalMode::Delete)
        .await
        .map_err(|_| bad("it is not an SQLite database"))?;
    let integrity: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|_| bad("it is not an SQLite database"))?;
    if integrity.first().map(|(s,)| s.as_str()) != Some("ok") {
        return Err(bad("SQLite's integrity check failed"));
    }
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut conn)
        .await?;
    if !broken.is_empty() {
        return Err(bad("a foreign key is broken"));
    }
    let notes: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM roster_backup")
        .fetch_all(&mut conn)
        .await
        .map_err(|_| bad("it was not made by `roster backup`"))?;
    let notes: BTreeMap<String, String> = notes.into_iter().collect();
    if notes.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad("its format is not one this version reads"));
    }
    let schema_version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await
            .map_err(|_| bad("it has no Roster schema"))?;
    let key_check: Option<String> =
        sqlx::query_scalar("SELECT value FROM instance_settings WHERE name = 'key_check'")
            .fetch_optional(&mut conn)
            .await
            .unwrap_or(None);
    conn.close().await?;
    Ok(Checked {
        notes,
        key_check,
        schema_version: schema_version.ok_or_else(|| bad("it has no Roster schema"))?,
    })
}

/// Turns a checked backup file into a database file: drops its notes.
pub async fn finish_restore(path: &Path) -> Result<()> {
    let mut conn = open(path, SqliteJournalMode::Delete).await?;
    conn.execute("DROP TABLE roster_backup").await?;
    conn.close().await?;
    Ok(())
}
