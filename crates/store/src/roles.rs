//! The org's additions to the resource-type catalog, and its custom roles.

use crate::sql::{exec, exec_one, fetch_all, fetch_optional, scalar};
use crate::{Conn, Result};
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
    fetch_all(
        conn,
        "SELECT resource_type, action, class, description FROM resource_actions
         WHERE org_id = $1 ORDER BY resource_type, action",
        (org_id,),
    )
    .await
}

/// Adds an action. One that exists is [`crate::StoreError::Conflict`].
pub async fn insert_action(
    conn: &mut Conn,
    org_id: OrgId,
    row: &ActionRow,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO resource_actions (org_id, resource_type, action, class, description, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        (
            org_id,
            &row.resource_type,
            &row.action,
            &row.class,
            &row.description,
            now,
        ),
    )
    .await
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

const SELECT: &str =
    "SELECT id, name, description, permissions, created_at, updated_at FROM roles WHERE org_id = $1";

/// The org's custom roles, by name.
pub async fn list(conn: &mut Conn, org_id: OrgId) -> Result<Vec<RoleRow>> {
    let text = format!("{SELECT} ORDER BY name");
    fetch_all(conn, &text, (org_id,)).await
}

pub async fn find(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<Option<RoleRow>> {
    let text = format!("{SELECT} AND name = $2");
    fetch_optional(conn, &text, (org_id, name)).await
}

/// Creates a role. A taken name is [`crate::StoreError::Conflict`].
pub async fn insert(
    conn: &mut Conn,
    org_id: OrgId,
    name: &str,
    description: &str,
    permissions: &str,
    now: Timestamp,
) -> Result<i64> {
    scalar(
        conn,
        "INSERT INTO roles (org_id, name, description, permissions, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        (org_id, name, description, permissions, now),
    )
    .await
}

pub async fn update(
    conn: &mut Conn,
    org_id: OrgId,
    name: &str,
    description: &str,
    permissions: &str,
    now: Timestamp,
) -> Result<()> {
    exec_one(
        conn,
        "UPDATE roles SET description = $1, permissions = $2, updated_at = $3
         WHERE org_id = $4 AND name = $5",
        (description, permissions, now, org_id, name),
    )
    .await
}

pub async fn delete(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<()> {
    let text = "DELETE FROM roles WHERE org_id = $1 AND name = $2";
    exec(conn, text, (org_id, name)).await
}

/// Where a role is in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleUsage {
    pub members: i64,
    pub pending_invitations: i64,
    pub rules: i64,
    /// Group mappings (SSO, SCIM) that give the role.
    pub mappings: i64,
    pub default_role: bool,
}

impl RoleUsage {
    pub fn in_use(&self) -> bool {
        self.members > 0
            || self.pending_invitations > 0
            || self.rules > 0
            || self.mappings > 0
            || self.default_role
    }
}

pub async fn usage(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<RoleUsage> {
    // Each count names the org as `$1` and the role as `$2`.
    let mut counts = [0_i64; 5];
    for (count, text) in counts.iter_mut().zip([
        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = $2",
        "SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND role = $2 AND status = 'pending'",
        "SELECT COUNT(*) FROM access_rules WHERE org_id = $1 AND role = $2",
        "SELECT COUNT(*) FROM orgs WHERE id = $1 AND default_role = $2",
        "SELECT COUNT(*) FROM group_mappings WHERE org_id = $1 AND role = $2",
    ]) {
        *count = scalar(conn, text, (org_id, name)).await?;
    }
    let [members, pending_invitations, rules, default_role, mappings] = counts;
    Ok(RoleUsage {
        members,
        pending_invitations,
        rules,
        mappings,
        default_role: default_role > 0,
    })
}

/// Moves every use of role `old` to role `new`: members, pending
/// invitations, access rules, group mappings and the org's default role.
pub async fn replace_everywhere(
    conn: &mut Conn,
    org_id: OrgId,
    old: &str,
    new: &str,
) -> Result<()> {
    for text in [
        "UPDATE memberships SET role = $1 WHERE org_id = $2 AND role = $3",
        "UPDATE invitations SET role = $1 WHERE org_id = $2 AND role = $3 AND status = 'pending'",
        "UPDATE access_rules SET role = $1 WHERE org_id = $2 AND role = $3",
        "UPDATE orgs SET default_role = $1 WHERE id = $2 AND default_role = $3",
        "UPDATE group_mappings SET role = $1 WHERE org_id = $2 AND role = $3",
    ] {
        exec(conn, text, (new, org_id, old)).await?;
    }
    Ok(())
}
