//! Organizations and their settings.

use crate::audit::ChainHead;
use crate::sql::{exec, fetch_one, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp, UserId};
use sqlx::FromRow;

/// An organization as stored.
#[derive(Debug, Clone, FromRow)]
pub struct Org {
    #[sqlx(try_from = "i64")]
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub personal_user_id: Option<UserId>,
    #[sqlx(flatten)]
    pub settings: OrgSettings,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// The settings of SPEC §1 that live on the org row.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OrgSettings {
    /// Lower-cased domains.
    #[sqlx(try_from = "crate::sql::CommaList")]
    pub allowed_domains: Vec<String>,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub self_registration: bool,
    pub invitation_ttl_seconds: i64,
    pub mfa_policy: String,
    pub default_role: String,
}

/// An org's columns, as a literal so that constant statements can hold
/// them (`concat!`).
macro_rules! columns {
    () => {
        "id, slug, name, personal_user_id, allowed_domains, self_registration, \
         invitation_ttl_seconds, mfa_policy, default_role, created_at, updated_at"
    };
}
const COLUMNS: &str = columns!();

/// [`lock`] on PostgreSQL and on SQLite: constant texts, since every
/// change runs one.
const LOCK_POSTGRES: &str = concat!(
    "SELECT ",
    columns!(),
    ", revision + 1 AS revision, audit_seq, audit_head FROM orgs WHERE id = $1 FOR NO KEY UPDATE"
);
const LOCK_SQLITE: &str = concat!(
    "UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING ",
    columns!(),
    ", revision, audit_seq, audit_head"
);

/// Inserts an organization with default settings. A taken slug is
/// [`crate::StoreError::Conflict`].
pub async fn insert(
    conn: &mut Conn,
    slug: &str,
    name: &str,
    personal_user_id: Option<UserId>,
    now: Timestamp,
) -> Result<OrgId> {
    let id = scalar(
        conn,
        "INSERT INTO orgs (slug, name, personal_user_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
        (slug, name, personal_user_id, now),
    )
    .await?;
    Ok(OrgId::new(id))
}

/// Takes the organization's write lock for the rest of the transaction and
/// returns the revision the transaction moves the org to. Call it first in
/// every transaction that changes the org or its members, and end it as
/// [`commit_revision`] says.
///
/// SQLite bumps the revision here (`UPDATE ... RETURNING`, which takes the
/// database's write lock at once). PostgreSQL only locks the row here
/// (`SELECT ... FOR NO KEY UPDATE`, no new row version); the revision is
/// written with the audit chain's head by the insert of the change's event
/// in the org ([`crate::audit::insert`] given the revision), or by
/// [`commit_revision`] when the change recorded none there: one version of
/// the org's row per change instead of two (docs/decisions.md, "The audit
/// chain"). A writer waiting for the lock gets the row as its holder
/// committed it, on both engines.
pub async fn lock(conn: &mut Conn, org_id: OrgId) -> Result<OrgLock> {
    let text = if crate::sql::is_postgres(conn) {
        LOCK_POSTGRES
    } else {
        LOCK_SQLITE
    };
    let row: LockRow = fetch_one(conn, text, (org_id,)).await?;
    Ok(OrgLock {
        revision: row.revision,
        audit_head: ChainHead {
            seq: row.audit_seq,
            hash: row.audit_head,
        },
        org: row.org,
    })
}

/// Ends what [`lock`] began, just before the transaction commits, when no
/// event of the org written in it did already: on PostgreSQL, writes the
/// org's new revision and its audit chain's head in one statement. On
/// SQLite the lock bumped the revision and each event's insert moved the
/// head (a trigger), so there is nothing left to write.
pub async fn commit_revision(
    conn: &mut Conn,
    org_id: OrgId,
    revision: i64,
    head: &ChainHead,
) -> Result<()> {
    if !crate::sql::is_postgres(conn) {
        return Ok(());
    }
    exec(
        conn,
        "UPDATE orgs SET revision = $1, audit_seq = $2, audit_head = $3 WHERE id = $4",
        (revision, head.seq, &head.hash, org_id),
    )
    .await
}

#[derive(FromRow)]
struct LockRow {
    #[sqlx(flatten)]
    org: Org,
    revision: i64,
    audit_seq: i64,
    audit_head: String,
}

/// What an org's lock returns: the revision the transaction moves the org
/// to, the head of the org's audit chain as of the lock (the newest
/// committed event: the lock orders appenders, on both engines and
/// across replicas, since PostgreSQL returns the row as the lock's holder
/// committed it), and the org as the lock read it (so a change need not
/// read it again).
#[derive(Debug, Clone)]
pub struct OrgLock {
    pub revision: i64,
    pub audit_head: ChainHead,
    pub org: Org,
}

pub async fn get(conn: &mut Conn, id: OrgId) -> Result<Org> {
    let text = format!("SELECT {COLUMNS} FROM orgs WHERE id = $1");
    fetch_one(conn, &text, (id,)).await
}

pub async fn find_by_slug(conn: &mut Conn, slug: &str) -> Result<Option<Org>> {
    let text = format!("SELECT {COLUMNS} FROM orgs WHERE slug = $1");
    fetch_optional(conn, &text, (slug,)).await
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    scalar(conn, "SELECT COUNT(*) FROM orgs", ()).await
}

/// Writes the name and settings.
pub async fn update(
    conn: &mut Conn,
    id: OrgId,
    name: &str,
    s: &OrgSettings,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "UPDATE orgs SET name = $1, allowed_domains = $2, self_registration = $3,
            invitation_ttl_seconds = $4, mfa_policy = $5, default_role = $6, updated_at = $7
         WHERE id = $8",
        (
            name,
            s.allowed_domains.join(","),
            s.self_registration,
            s.invitation_ttl_seconds,
            &s.mfa_policy,
            &s.default_role,
            now,
            id,
        ),
    )
    .await
}
