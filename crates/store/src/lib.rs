//! Roster's storage: one set of migrations and SQL statements that runs on
//! SQLite (the embedded default) and on PostgreSQL, through sqlx's `Any`
//! driver.
//!
//! Architecture invariants:
//! - Queries are free functions over `&mut AnyConnection`, so the same
//!   function runs on a pooled connection or inside a transaction. The
//!   caller owns transactions; this crate never commits on its own.
//! - SQL sticks to what both engines accept: `$N` placeholders, BIGINT,
//!   TEXT, `RETURNING`, 0/1 flags, Unix-millisecond times. The
//!   differences in schema (the primary-key column type, SQLite's
//!   triggers that move an audit chain's head) are handled when
//!   migrations load; the few statements that must differ choose with
//!   `sql::is_postgres` or the store's engine: the org's lock and the
//!   audit head written with it ([`orgs::lock`], [`orgs::commit_revision`],
//!   [`audit::insert`], [`audit::store_head`]) and bulk reads
//!   (`sql::fetch_bulk`).
//! - Errors are [`StoreError`]: `NotFound`, `Conflict` (with its meaning,
//!   read from the constraint that refused the write), or a database
//!   fault. Nothing here knows HTTP, and no database message leaves as an
//!   error's text.
//! - Every transaction that changes an organization first calls
//!   [`orgs::lock`], which serialises writers to that organization on both
//!   engines. Rules such as "at least one owner" are read after the lock.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod access_state;
pub mod audit;
pub mod backup;
pub mod groups;
pub mod invitations;
pub mod members;
pub mod mfa;
mod migrate;
pub mod orgs;
pub mod outbox;
pub mod passkeys;
pub mod requests;
pub mod resources;
pub mod roles;
pub mod rules;
pub mod scim;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod signups;
pub mod slack;
mod sql;
pub mod sso;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod webhooks;

use roster_domain::Conflict;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor, TransactionManager};
use std::str::FromStr;
use std::time::Duration;

pub use sqlx::AnyConnection as Conn;

/// A transaction on either engine. On SQLite, one begun by
/// [`Store::begin`] holds the store's write gate until it ends and runs on
/// the writer's own connection (see [`WriteGate`]).
pub struct Tx {
    inner: TxConn,
}

enum TxConn {
    /// On a pooled connection: PostgreSQL, a read-only transaction, or a
    /// SQLite writer that went ahead without the gate.
    Pooled(sqlx::Transaction<'static, Any>),
    /// On SQLite's writer connection, through the gate.
    Writer(WriterTx),
}

/// sqlx's transaction handling for the `Any` driver: the calls
/// `sqlx::Transaction` makes, made here on the writer connection, which a
/// `sqlx::Transaction<'static, _>` cannot borrow from the gate.
type Manager = <Any as sqlx::Database>::TransactionManager;

/// A transaction on the writer connection. `open` until it is committed or
/// rolled back; one dropped open has its rollback queued on the connection
/// (as `sqlx::Transaction` does on drop) before the gate is passed on, so
/// the next writer's statements run after it.
struct WriterTx {
    pass: GatePass,
    open: bool,
}

impl Drop for WriterTx {
    fn drop(&mut self) {
        if self.open {
            Manager::start_rollback(&mut self.pass.conn);
        }
    }
}

impl Tx {
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self.inner {
            TxConn::Pooled(tx) => tx.commit().await,
            TxConn::Writer(tx) => tx.end(Manager::commit).await,
        }
    }

    pub async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        match self.inner {
            TxConn::Pooled(tx) => tx.rollback().await,
            TxConn::Writer(tx) => tx.end(Manager::rollback).await,
        }
    }
}

/// What sqlx's commit and rollback return.
type EndFuture<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<()>> + Send + 'c>>;

impl WriterTx {
    /// Ends the transaction with `how` (commit or rollback). It is over if
    /// that succeeded; if the connection itself failed (not SQLite
    /// refusing a statement), the next writer gets a new one.
    async fn end(mut self, how: for<'c> fn(&'c mut Conn) -> EndFuture<'c>) -> sqlx::Result<()> {
        let done = how(&mut self.pass.conn).await;
        match &done {
            Ok(()) => self.open = false,
            Err(sqlx::Error::Database(_)) => {}
            Err(_) => self.pass.discard(),
        }
        done
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        match &self.inner {
            TxConn::Pooled(tx) => tx,
            TxConn::Writer(tx) => &tx.pass.conn,
        }
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        match &mut self.inner {
            TxConn::Pooled(tx) => tx,
            TxConn::Writer(tx) => &mut tx.pass.conn,
        }
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("gated", &matches!(self.inner, TxConn::Writer(_)))
            .finish()
    }
}

/// A connection for single writes: on SQLite the writer connection, held
/// through the write gate (see [`Store::write_conn`]); otherwise pooled.
pub struct WriteConn {
    conn: WriteConnInner,
}

enum WriteConnInner {
    Pooled(sqlx::pool::PoolConnection<Any>),
    Writer(GatePass),
}

impl std::ops::Deref for WriteConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        match &self.conn {
            WriteConnInner::Pooled(c) => c,
            WriteConnInner::Writer(pass) => &pass.conn,
        }
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut Conn {
        match &mut self.conn {
            WriteConnInner::Pooled(c) => c,
            WriteConnInner::Writer(pass) => &mut pass.conn,
        }
    }
}

/// SQLite's write gate (see [`Store`]): whose turn it is, which task holds
/// it (so that a task that would wait for itself is caught), and the
/// writer connection that the holder writes on.
///
/// SQLite has one writer at a time, so this process keeps one connection
/// for its writers, outside the pool. A pooled connection costs each
/// transaction a round trip to its worker thread when it goes back (sqlx
/// pings every connection it takes back, and has no setting to skip it)
/// and a task to take it back; and a connection that did not write the
/// last change reads the pages it had cached again. The writer connection
/// is taken from the pool when first needed (so it is set up like the
/// others) and detached from it; the pool opens another in its place.
#[derive(Debug, Default)]
struct WriteGate {
    turn: std::sync::Arc<tokio::sync::Mutex<Option<Conn>>>,
    holder: std::sync::Mutex<Option<tokio::task::Id>>,
    /// Set when the writer connection failed (not a statement SQLite
    /// refused): the next writer replaces it.
    broken: std::sync::atomic::AtomicBool,
}

/// A writer's turn at the gate, and the writer connection, until dropped.
struct GatePass {
    gate: std::sync::Arc<WriteGate>,
    conn: tokio::sync::OwnedMappedMutexGuard<Option<Conn>, Conn>,
}

impl GatePass {
    /// Marks the writer connection as failed: the next writer replaces it.
    fn discard(&self) {
        self.gate
            .broken
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for GatePass {
    fn drop(&mut self) {
        // Runs before the turn (a field) is given up.
        *self.gate.holder.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// How long [`Store::begin`] waits at the write gate before it goes ahead
/// without it (SQLite's own busy timeout then applies, as without a gate).
/// Longer than any write transaction should take; it exists so that a
/// transaction begun while another is held by the same task can never
/// wait forever.
const GATE_PATIENCE: Duration = Duration::from_secs(10);

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key rule refused the write; what it means is
    /// read from the constraint's name (see [`CONSTRAINTS`]).
    #[error("conflict: {0}")]
    Conflict(Conflict),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The store's uniqueness rules and what breaking each means: the name
/// PostgreSQL reports for the index, the columns SQLite names in its
/// message, and the meaning. A rule missing here reads as
/// [`Conflict::Other`]; `every_unique_index_has_a_meaning` keeps the list
/// complete.
pub const CONSTRAINTS: &[(&str, &str, Conflict)] = &[
    ("users_email_key", "users.email", Conflict::EmailTaken),
    ("orgs_slug_key", "orgs.slug", Conflict::SlugTaken),
    (
        "memberships_org_user_key",
        "memberships.org_id, memberships.user_id",
        Conflict::AlreadyMember,
    ),
    (
        "groups_org_name_key",
        "groups.org_id, groups.name",
        Conflict::GroupExists,
    ),
    (
        "invitations_pending_email_key",
        "invitations.org_id, invitations.email",
        Conflict::AlreadyInvited,
    ),
    (
        "slack_connections_team_key",
        "slack_connections.team_id",
        Conflict::SlackWorkspaceTaken,
    ),
    (
        "roles_org_name_key",
        "roles.org_id, roles.name",
        Conflict::RoleExists,
    ),
    (
        "resources_org_key",
        "resources.org_id, resources.resource_type, resources.name",
        Conflict::ResourceExists,
    ),
    (
        "sso_connections_org_name_key",
        "sso_connections.org_id, sso_connections.name",
        Conflict::SsoConnectionExists,
    ),
    (
        "sso_domains_domain_key",
        "sso_domains.domain",
        Conflict::SsoDomainTaken,
    ),
    (
        "memberships_scim_user_name_key",
        "memberships.org_id, memberships.scim_user_name_folded",
        Conflict::UserNameTaken,
    ),
    (
        "review_votes_pkey",
        "review_votes.request_id, review_votes.reviewer_id",
        Conflict::AlreadyReviewed,
    ),
];

/// The meaning of a uniqueness violation, from PostgreSQL's constraint
/// name or SQLite's `UNIQUE constraint failed: t.a, t.b` message.
fn conflict_of(db: &dyn sqlx::error::DatabaseError) -> Conflict {
    if !db.is_unique_violation() {
        return Conflict::Other;
    }
    let columns = db
        .message()
        .strip_prefix("UNIQUE constraint failed: ")
        .unwrap_or("");
    CONSTRAINTS
        .iter()
        .find(|(name, cols, _)| db.constraint() == Some(*name) || columns == *cols)
        .map_or(Conflict::Other, |(_, _, meaning)| *meaning)
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                let meaning = conflict_of(db.as_ref());
                if meaning == Conflict::Other {
                    tracing::debug!(error = %db.message(), "a write broke a rule of the store");
                }
                StoreError::Conflict(meaning)
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    pub max_connections: u32,
}

/// Whether opening a store may create its (SQLite) database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    IfMissing,
    Never,
}

/// A pool of connections to one database, and which engine it is.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    url: String,
    /// SQLite has one writer at a time, and a writer that finds the lock
    /// taken sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms)
    /// instead of queueing; under several concurrent writers most of them
    /// sleep while the lock is free. Write transactions of this process
    /// queue here instead, first come first served, and each starts the
    /// moment the previous one ends (docs/decisions.md, "SQLite's write
    /// gate"). `None` on PostgreSQL, whose row locks queue by themselves.
    gate: Option<std::sync::Arc<WriteGate>>,
}

/// The file of a `sqlite:` URL, if it names one (not `:memory:`).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

/// Makes the database file, and the WAL and shared-memory files SQLite
/// keeps beside it, readable by the server's user only: it holds password
/// hashes, keyed token hashes and sealed secrets. A missing database is
/// created empty with mode 0600 (SQLite gives its `-wal` and `-shm` files
/// the database's mode); existing files that others may read are
/// tightened.
fn owner_only(db: &std::path::Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let unavailable =
            |e: std::io::Error| StoreError::Unavailable(format!("{}: {e}", db.display()));
        if !db.exists() {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(db)
            {
                Ok(_) => {}
                // Another process created it first: tightened below.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let path = std::path::PathBuf::from(name);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(unavailable)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = db;
    Ok(())
}

impl Store {
    /// Opens the database (creating a SQLite file if needed) and runs the
    /// migrations. On PostgreSQL, migrations take an advisory lock, so
    /// several replicas starting at once apply them exactly once.
    pub async fn open(opts: &StoreOptions) -> Result<Store> {
        let store = Store::connect(opts, Create::IfMissing).await?;
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Opens a database a server of this version has made or migrated,
    /// without creating, migrating or otherwise writing to it: for the
    /// checks an operator runs beside the server (`roster audit verify
    /// --no-org`). A missing SQLite file, or a database migrated to
    /// another version than this build's, is [`StoreError::Unavailable`]
    /// with the reason.
    pub async fn open_migrated(opts: &StoreOptions) -> Result<Store> {
        if let Some(path) = sqlite_file(&opts.url) {
            if !path.is_file() {
                return Err(StoreError::Unavailable(format!(
                    "there is no database at {}",
                    path.display()
                )));
            }
        }
        let store = Store::connect(opts, Create::Never).await?;
        if let Err(e) = migrate::check_current(&store).await {
            store.close().await;
            return Err(e);
        }
        Ok(store)
    }

    async fn connect(opts: &StoreOptions, create: Create) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let engine = if opts.url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            return Err(StoreError::Unavailable(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        if engine == Engine::Sqlite && create == Create::IfMissing {
            if let Some(path) = sqlite_file(&opts.url) {
                owner_only(&path)?;
            }
        }
        let url = if engine == Engine::Sqlite && !opts.url.contains("mode=") {
            let sep = if opts.url.contains('?') { '&' } else { '?' };
            let mode = match create {
                Create::IfMissing => "rwc",
                Create::Never => "rw",
            };
            format!("{}{sep}mode={mode}", opts.url)
        } else {
            opts.url.clone()
        };
        let connect = AnyConnectOptions::from_str(&url)?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // A pooled SQLite connection is a file handle in this process
            // and cannot be dropped by a server: pinging it on every
            // acquire (sqlx's default) costs a round trip to its worker
            // thread per query for nothing. A PostgreSQL connection can
            // be, so it is tested before use.
            .test_before_acquire(engine == Engine::Postgres)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL lets readers run beside the one writer;
                        // foreign keys are off by default in SQLite.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        Ok(Store {
            pool,
            engine,
            url: opts.url.clone(),
            gate: (engine == Engine::Sqlite).then(Default::default),
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The URL the store was opened with (for a PostgreSQL listener's own
    /// connection).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for reads outside a transaction.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a transaction. A transaction that writes must make its first
    /// statement a write (usually [`orgs::lock`]); see the crate docs.
    /// Begins a transaction that may write. On SQLite it first waits its
    /// turn at the store's write gate (see [`Store`]), and holds it until
    /// the transaction ends.
    pub async fn begin(&self) -> Result<Tx> {
        let Some(mut pass) = self.pass_gate(true).await? else {
            return Ok(Tx {
                inner: TxConn::Pooled(self.pool.begin().await?),
            });
        };
        if let Err(e) = Manager::begin(&mut pass.conn, None).await {
            // SQLite refuses BEGIN only when the connection is unusable
            // (or already in a transaction, which sqlx's own tracking
            // rules out): the next writer gets a new one.
            pass.discard();
            return Err(e.into());
        }
        Ok(Tx {
            inner: TxConn::Writer(WriterTx { pass, open: true }),
        })
    }

    /// A connection for single writes outside a transaction (a background
    /// worker's bookkeeping), holding the write gate on SQLite like
    /// [`Store::begin`]: such writes would otherwise meet the gate's
    /// transactions in SQLite's busy handler. Never call it while the same
    /// task holds a transaction.
    pub async fn write_conn(&self) -> Result<WriteConn> {
        let conn = match self.pass_gate(false).await? {
            Some(pass) => WriteConnInner::Writer(pass),
            None => WriteConnInner::Pooled(self.pool.acquire().await?),
        };
        Ok(WriteConn { conn })
    }

    /// Waits for this process's turn to write, on SQLite, and hands over
    /// the writer connection (opening it if there is none yet). `None`
    /// where there is no gate (PostgreSQL) or the writer goes ahead
    /// without it on a pooled connection: a transaction begun by the task
    /// that holds the gate would wait for itself, which is a bug (caught
    /// in debug builds), and a writer that waited [`GATE_PATIENCE`]. Either
    /// way SQLite's busy timeout then applies, as before there was a gate.
    /// (`write_conn` is not checked: futures joined in one task may take
    /// turns at it.)
    async fn pass_gate(&self, transaction: bool) -> Result<Option<GatePass>> {
        let Some(gate) = self.gate.as_ref() else {
            return Ok(None);
        };
        let me = tokio::task::try_id();
        if transaction && me.is_some() {
            let holder = *gate.holder.lock().unwrap_or_else(|e| e.into_inner());
            if holder == me {
                debug_assert!(
                    false,
                    "a transaction begun while the same task holds SQLite's write gate"
                );
                tracing::error!(
                    "a transaction begun while the same task holds SQLite's write gate; going ahead without it"
                );
                return Ok(None);
            }
        }
        let Ok(mut turn) =
            tokio::time::timeout(GATE_PATIENCE, gate.turn.clone().lock_owned()).await
        else {
            tracing::warn!(
                "a writer waited {GATE_PATIENCE:?} at SQLite's write gate; going ahead without it"
            );
            return Ok(None);
        };
        if gate
            .broken
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!("SQLite's writer connection failed; opening another");
            *turn = None;
        }
        if turn.is_none() {
            *turn = Some(self.pool.acquire().await?.detach());
        }
        let conn = tokio::sync::OwnedMutexGuard::try_map(turn, Option::as_mut)
            .map_err(|_| StoreError::Unavailable("SQLite's writer connection is missing".into()))?;
        *gate.holder.lock().unwrap_or_else(|e| e.into_inner()) = me;
        Ok(Some(GatePass {
            gate: gate.clone(),
            conn,
        }))
    }

    /// Begins a transaction that only reads (one snapshot), without the
    /// write gate: on SQLite in WAL mode readers never wait for the writer.
    pub async fn begin_read(&self) -> Result<Tx> {
        Ok(Tx {
            inner: TxConn::Pooled(self.pool.begin().await?),
        })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool and, on SQLite, the writer connection (after the
    /// writer that holds it, if any, is done).
    pub async fn close(&self) {
        if let Some(gate) = &self.gate {
            if let Ok(mut turn) = tokio::time::timeout(GATE_PATIENCE, gate.turn.lock()).await {
                if let Some(conn) = turn.take() {
                    if let Err(e) = conn.close().await {
                        tracing::warn!(error = %e, "closing SQLite's writer connection");
                    }
                }
            }
        }
        self.pool.close().await;
    }
}

/// Commits a transaction.
pub async fn commit(tx: Tx) -> Result<()> {
    Ok(tx.commit().await?)
}
