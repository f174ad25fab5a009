//! `roster backup` and `roster restore`: an online copy of the embedded
//! database with what it needs (the server key, or a clear statement that
//! the key is kept elsewhere), and a checked restore into a data
//! directory. PostgreSQL is backed up with its own tools (pg_dump,
//! docs/operations.md).

use crate::config::Config;
use crate::crypto::{parse_key, write_private, Keys};
use anyhow::{bail, Context};
use roster_store::backup;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The file a server holds locked while it runs on a data directory with
/// an embedded database, so that a restore (or a second server) can tell.
pub const LOCK_FILE: &str = "roster.lock";

/// Locks `data_dir` for this process, or says that a server holds it.
pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    let path = data_dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "a Roster server is running on {}; stop it first",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// The embedded database's file, or why this configuration has none.
fn sqlite_path(config: &Config) -> anyhow::Result<PathBuf> {
    let url = &config.database_url;
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        bail!("the database is PostgreSQL: back it up and restore it with pg_dump and pg_restore (docs/operations.md)");
    };
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        bail!("the database is not a file");
    }
    Ok(PathBuf::from(path))
}

/// What `roster backup` did, in sentences for the operator.
pub async fn run_backup(config: &Config, to: &Path, with_key: bool) -> anyhow::Result<String> {
    let db = sqlite_path(config)?;
    if !db.exists() {
        bail!("there is no database at {}", db.display());
    }
    if to.exists() {
        bail!("{} exists; back up to a new file", to.display());
    }
    let key_file = config.data_dir.join("secret.key");
    let key = if config.secret_key.is_some() {
        None
    } else if with_key {
        let text = std::fs::read_to_string(&key_file)
            .with_context(|| format!("cannot read the server key {}", key_file.display()))?;
        parse_key(&text)?;
        Some(text.trim().to_owned())
    } else {
        None
    };
    let taken_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut notes = vec![
        ("format", backup::FORMAT),
        ("taken_at", taken_at.as_str()),
        ("roster_version", env!("CARGO_PKG_VERSION")),
    ];
    if let Some(key) = &key {
        notes.push(("secret_key", key.as_str()));
    }
    // VACUUM INTO fills an empty file: create it private first, so the
    // copy (password hashes, and the key when it is in) is never readable
    // by others, not even for a moment.
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    write_private(&partial, "")?;
    let copied = backup::copy(&db, &partial, &notes).await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e).context("the backup failed");
    }
    std::fs::rename(&partial, to)
        .with_context(|| format!("cannot move the backup to {}", to.display()))?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    let key_line = match (&key, config.secret_key.is_some()) {
        (Some(_), _) => "The server key is in the backup (mode 0600): keep the file as secret as the key itself.".to_owned(),
        (None, true) => "The server key is NOT in the backup: it comes from ROSTER_SECRET_KEY (or the config file). Keep that key with the backup; restoring needs it.".to_owned(),
        (None, false) => format!("The server key is NOT in the backup (--without-key): keep {} with the backup; restoring needs it.", key_file.display()),
    };
    Ok(format!(
        "Backed up {} to {} ({bytes} bytes), a consistent copy taken while the server ran.\n{key_line}",
        db.display(),
        to.display()
    ))
}

/// What `roster restore` did, in sentences for the operator.
pub async fn run_restore(config: &Config, from: &Path, force: bool) -> anyhow::Result<String> {
    let db = sqlite_path(config)?;
    if !from.is_file() {
        bail!("there is no backup file at {}", from.display());
    }
    let dir = db
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    crate::crypto::create_private_dir(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    crate::crypto::create_private_dir(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // Held until the restore is done, so no server starts half-way.
    let _lock = lock_data_dir(&config.data_dir)?;
    let existing: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|s| with_suffix(&db, s))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !force {
        bail!(
            "{} exists; pass --force to replace it (the current files are kept beside it, renamed *.before-restore-<time>)",
            db.display()
        );
    }

    let restoring = with_suffix(&db, ".restoring");
    let _ = std::fs::remove_file(&restoring);
    write_private(&restoring, "")?;
    let result = restore_into(config, from, &restoring, &db, existing).await;
    if result.is_err() {
        let _ = std::fs::remove_file(&restoring);
    }
    result
}

async fn restore_into(
    config: &Config,
    from: &Path,
    restoring: &Path,
    db: &Path,
    existing: Vec<PathBuf>,
) -> anyhow::Result<String> {
    std::fs::copy(from, restoring).with_context(|| format!("cannot read {}", from.display()))?;
    let checked = backup::check(restoring).await?;

    // The key the restored server will run with.
    let key_file = config.data_dir.join("secret.key");
    let from_backup = checked.notes.get("secret_key").cloned();
    let (key, source) = if let Some(configured) = &config.secret_key {
        (configured.expose().trim().to_owned(), "ROSTER_SECRET_KEY")
    } else if let Some(key) = &from_backup {
        (key.clone(), "the backup")
    } else if key_file.exists() {
        let text = std::fs::read_to_string(&key_file)?;
        (text.trim().to_owned(), "the existing secret.key")
    } else {
        bail!("the backup holds no server key; set ROSTER_SECRET_KEY to the key the database was made with, or put it in {}", key_file.display());
    };
    let keys = Keys::from_bytes(parse_key(&key)?);
    match &checked.key_check {
        Some(stored) if !keys.matches_check_value(stored) => bail!(
            "the server key from {source} is not the key the backed-up database was made with; restore with that key"
        ),
        _ => {}
    }
    backup::finish_restore(restoring).await?;

    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut kept = Vec::new();
    for path in existing {
        let aside = with_suffix(&path, &format!(".before-restore-{stamp}"));
        std::fs::rename(&path, &aside)?;
        kept.push(aside.display().to_string());
    }
    std::fs::rename(restoring, db)?;
    if config.secret_key.is_none() && from_backup.is_some() {
        let current = std::fs::read_to_string(&key_file).ok();
        if current.as_deref().map(str::trim) != Some(key.as_str()) {
            if current.is_some() {
                let aside = with_suffix(&key_file, &format!(".before-restore-{stamp}"));
                std::fs::rename(&key_file, &aside)?;
                kept.push(aside.display().to_string());
            }
            write_private(&key_file, &key)?;
        }
    }
    let mut report = format!(
        "Restored {} into {} (taken {}, schema version {}); its integrity and its server key (from {source}) check out.",
        from.display(),
        db.display(),
        checked.notes.get("taken_at").map_or("at an unknown time", String::as_str),
        checked.schema_version,
    );
    if !kept.is_empty() {
        report.push_str(&format!(
            "\nThe files it replaced are kept: {}",
            kept.join(", ")
        ));
    }
    report.push_str("\nStart the server on it; newer migrations run at start.");
    Ok(report)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
