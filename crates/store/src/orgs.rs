//! Organizations and their settings.

use crate::sql::AsColumn;
use crate::{flag, Conn, Result, StoreError};
use roster_domain::{OrgId, Timestamp, UserId};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
struct OrgRow {
    #[sqlx(try_from = "i64")]
    id: OrgId,
    slug: String,
    name: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    personal_user_id: Option<UserId>,
    allowed_domains: String,
    self_registration: i64,
    invitation_ttl_seconds: i64,
    mfa_policy: String,
    default_role: String,
    #[sqlx(try_from = "i64")]
    created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    updated_at: Timestamp,
}

/// An organization as stored.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub personal_user_id: Option<UserId>,
    pub settings: OrgSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The settings of SPEC §1 that live on the org row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSettings {
    /// Lower-cased domains.
    pub allowed_domains: Vec<String>,
    pub self_registration: bool,
    pub invitation_ttl_seconds: i64,
    pub mfa_policy: String,
    pub default_role: String,
}

impl From<OrgRow> for Org {
    fn from(r: OrgRow) -> Self {
        Org {
            id: r.id,
            slug: r.slug,
            name: r.name,
            personal_user_id: r.personal_user_id,
            settings: OrgSettings {
                allowed_domains: r
                    .allowed_domains
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect(),
                self_registration: flag(r.self_registration),
                invitation_ttl_seconds: r.invitation_ttl_seconds,
                mfa_policy: r.mfa_policy,
                default_role: r.default_role,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "id, slug, name, personal_user_id, allowed_domains, self_registration, \
    invitation_ttl_seconds, mfa_policy, default_role, created_at, updated_at";

/// Inserts an organization with default settings. A taken slug is
/// [`StoreError::Conflict`].
pub async fn insert(
    conn: &mut Conn,
    slug: &str,
    name: &str,
    personal_user_id: Option<UserId>,
    now: Timestamp,
) -> Result<OrgId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO orgs (slug, name, personal_user_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(slug)
    .bind(name)
    .bind(personal_user_id.col())
    .bind(now.col())
    .fetch_one(conn)
    .await?;
    Ok(OrgId::new(id))
}

/// Takes the organization's write lock for the rest of the transaction and
/// bumps its revision. Call it first in every transaction that changes the
/// org or its members.
pub async fn lock(conn: &mut Conn, org_id: OrgId) -> Result<i64> {
    let row: Option<(i64,)> =
        sqlx::query_as("UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision")
            .bind(org_id.col())
            .fetch_optional(conn)
            .await?;
    row.map(|(r,)| r).ok_or(StoreError::NotFound)
}

pub async fn get(conn: &mut Conn, id: OrgId) -> Result<Org> {
    let row: OrgRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM orgs WHERE id = $1"))
        .bind(id.col())
        .fetch_one(conn)
        .await?;
    Ok(row.into())
}

pub async fn find_by_slug(conn: &mut Conn, slug: &str) -> Result<Option<Org>> {
    let row: Option<OrgRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM orgs WHERE slug = $1"))
            .bind(slug)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Into::into))
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orgs")
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Writes the name and settings.
pub async fn update(
    conn: &mut Conn,
    id: OrgId,
    name: &str,
    s: &OrgSettings,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE orgs SET name = $1, allowed_domains = $2, self_registration = $3,
            invitation_ttl_seconds = $4, mfa_policy = $5, default_role = $6, updated_at = $7
         WHERE id = $8",
    )
    .bind(name)
    .bind(s.allowed_domains.join(","))
    .bind(i64::from(s.self_registration))
    .bind(s.invitation_ttl_seconds)
    .bind(s.mfa_policy.as_str())
    .bind(s.default_role.as_str())
    .bind(now.col())
    .bind(id.col())
    .execute(conn)
    .await?;
    Ok(())
}
