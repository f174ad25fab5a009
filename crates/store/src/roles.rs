//! The org's additions to the resource-type catalog, and its custom roles.

use crate::sql::AsColumn;
use crate::{Conn, Result, StoreError};
use roster_domain::{OrgId, Timestamp};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct ActionRow {
    pub resource_type: String,
    pub action: String,
    pub class: String,
    pub description: String,
}

/// The actions the org added to the default catalog.
pub async fn actions(conn: &mut Conn, org_id: OrgId) -> Result<Vec<ActionRow>> {
    Ok(sqlx::query_as(
        "SELECT resource_type, action, class, description FROM resource_actions
         WHERE org_id = $1 ORDER BY resource_type, action",
    )
    .bind(org_id.col())
    .fetch_all(conn)
    .await?)
}

/// Adds an action. One that exists is [`StoreError::Conflict`].
pub async fn insert_action(
    conn: &mut Conn,
    org_id: OrgId,
    row: &ActionRow,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO resource_actions (org_id, resource_type, action, class, description, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org_id.col())
    .bind(&row.resource_type)
    .bind(&row.action)
    .bind(&row.class)
    .bind(&row.description)
    .bind(now.col())
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Space-separated.
    pub permissions: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, name, description, permissions, created_at, updated_at";

/// The org's custom roles, by name.
pub async fn list(conn: &mut Conn, org_id: OrgId) -> Result<Vec<RoleRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM roles WHERE org_id = $1 ORDER BY name"
    ))
    .bind(org_id.col())
    .fetch_all(conn)
    .await?)
}

pub async fn find(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<Option<RoleRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM roles WHERE org_id = $1 AND name = $2"
    ))
    .bind(org_id.col())
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Creates a role. A taken name is [`StoreError::Conflict`].
pub async fn insert(
    conn: &mut Conn,
    org_id: OrgId,
    name: &str,
    description: &str,
    permissions: &str,
    now: Timestamp,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO roles (org_id, name, description, permissions, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(org_id.col())
    .bind(name)
    .bind(description)
    .bind(permissions)
    .bind(now.col())
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn update(
    conn: &mut Conn,
    org_id: OrgId,
    name: &str,
    description: &str,
    permissions: &str,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE roles SET description = $1, permissions = $2, updated_at = $3
         WHERE org_id = $4 AND name = $5",
    )
    .bind(description)
    .bind(permissions)
    .bind(now.col())
    .bind(org_id.col())
    .bind(name)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn delete(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<()> {
    sqlx::query("DELETE FROM roles WHERE org_id = $1 AND name = $2")
        .bind(org_id.col())
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a role is in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleUsage {
    pub members: i64,
    pub pending_invitations: i64,
    pub rules: i64,
    pub default_role: bool,
}

impl RoleUsage {
    pub fn in_use(&self) -> bool {
        self.members > 0 || self.pending_invitations > 0 || self.rules > 0 || self.default_role
    }
}

pub async fn usage(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<RoleUsage> {
    let (members,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = $2")
            .bind(org_id.col())
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    let (pending_invitations,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND role = $2 AND status = 'pending'",
    )
    .bind(org_id.col())
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    let (rules,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM access_rules WHERE org_id = $1 AND role = $2")
            .bind(org_id.col())
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    let (default_role,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM orgs WHERE id = $1 AND default_role = $2")
            .bind(org_id.col())
            .bind(name)
            .fetch_one(conn)
            .await?;
    Ok(RoleUsage {
        members,
        pending_invitations,
        rules,
        default_role: default_role > 0,
    })
}

/// Moves every use of role `old` to role `new`: members, pending
/// invitations, access rules and the org's default role.
pub async fn replace_everywhere(
    conn: &mut Conn,
    org_id: OrgId,
    old: &str,
    new: &str,
) -> Result<()> {
    for sql in [
        "UPDATE memberships SET role = $1 WHERE org_id = $2 AND role = $3",
        "UPDATE invitations SET role = $1 WHERE org_id = $2 AND role = $3 AND status = 'pending'",
        "UPDATE access_rules SET role = $1 WHERE org_id = $2 AND role = $3",
        "UPDATE orgs SET default_role = $1 WHERE id = $2 AND default_role = $3",
    ] {
        sqlx::query(sql)
            .bind(new)
            .bind(org_id.col())
            .bind(old)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
