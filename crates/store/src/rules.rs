//! Access rules: (subject, role, scope).

use crate::sql::{exec, exec_one, fetch_one, fetch_optional, scalar, Sql};
use crate::{Conn, Result};
use roster_domain::{GroupId, OrgId, ResourceId, RuleId, Timestamp, UserId};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    #[sqlx(try_from = "i64")]
    pub id: RuleId,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub user_id: Option<UserId>,
    pub user_email: Option<String>,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub group_id: Option<GroupId>,
    pub group_name: Option<String>,
    pub role: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub resource_id: Option<ResourceId>,
    /// `type/name` of the resource, for a rule on one.
    pub resource: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

const SELECT: &str = "SELECT a.id, a.user_id, u.email AS user_email, a.group_id,
        g.name AS group_name, a.role, a.resource_id,
        CASE WHEN r.id IS NULL THEN NULL ELSE r.resource_type || '/' || r.name END AS resource,
        a.created_at
    FROM access_rules a
    LEFT JOIN users u ON u.id = a.user_id
    LEFT JOIN groups g ON g.id = a.group_id
    LEFT JOIN resources r ON r.id = a.resource_id";

#[derive(Debug, Clone, Default)]
pub struct RuleFilter {
    pub user_id: Option<UserId>,
    pub group_id: Option<GroupId>,
    pub role: Option<String>,
    pub resource_id: Option<ResourceId>,
    /// Only org-wide rules.
    pub org_wide: bool,
    pub after_id: Option<i64>,
}

pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    f: &RuleFilter,
    limit: i64,
) -> Result<Vec<RuleRow>> {
    let mut q = Sql::new(SELECT);
    q.push(" WHERE a.org_id = ")
        .bind(org_id)
        .and("a.user_id = ", f.user_id)
        .and("a.group_id = ", f.group_id)
        .and("a.role = ", f.role.as_ref())
        .and("a.resource_id = ", f.resource_id);
    if f.org_wide {
        q.push(" AND a.resource_id IS NULL");
    }
    q.and("a.id > ", f.after_id);
    q.push(" ORDER BY a.id LIMIT ").bind(limit);
    q.fetch_all(conn).await
}

pub async fn get(conn: &mut Conn, org_id: OrgId, id: RuleId) -> Result<RuleRow> {
    let text = format!("{SELECT} WHERE a.org_id = $1 AND a.id = $2");
    fetch_one(conn, &text, (org_id, id)).await
}

pub struct NewRule<'a> {
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    pub group_id: Option<GroupId>,
    pub role: &'a str,
    pub resource_id: Option<ResourceId>,
    pub created_by: UserId,
    pub now: Timestamp,
}

/// Adds a rule, or returns the id of the same rule if it exists already,
/// so that granting twice is harmless. The bool says whether it was new.
pub async fn insert(conn: &mut Conn, r: NewRule<'_>) -> Result<(RuleId, bool)> {
    let existing: Option<(i64,)> = fetch_optional(
        conn,
        "SELECT id FROM access_rules WHERE org_id = $1 AND role = $2
           AND COALESCE(user_id, 0) = $3 AND COALESCE(group_id, 0) = $4
           AND COALESCE(resource_id, 0) = $5",
        (
            r.org_id,
            r.role,
            r.user_id.map_or(0, UserId::get),
            r.group_id.map_or(0, GroupId::get),
            r.resource_id.map_or(0, ResourceId::get),
        ),
    )
    .await?;
    if let Some((id,)) = existing {
        return Ok((RuleId::new(id), false));
    }
    let id = scalar(
        conn,
        "INSERT INTO access_rules (org_id, user_id, group_id, role, resource_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        (
            r.org_id,
            r.user_id,
            r.group_id,
            r.role,
            r.resource_id,
            r.created_by,
            r.now,
        ),
    )
    .await?;
    Ok((RuleId::new(id), true))
}

pub async fn delete(conn: &mut Conn, org_id: OrgId, id: RuleId) -> Result<()> {
    let text = "DELETE FROM access_rules WHERE org_id = $1 AND id = $2";
    exec_one(conn, text, (org_id, id)).await
}

/// Removes the rules naming a user in an org (when they leave it).
pub async fn delete_for_user(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<()> {
    let text = "DELETE FROM access_rules WHERE org_id = $1 AND user_id = $2";
    exec(conn, text, (org_id, user_id)).await
}

/// The roles of the rules that apply to `user_id` at one of `scopes`
/// (resource ids; `None` in the list stands for the org), directly or
/// through one of the user's groups.
pub async fn roles_for(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    resource_ids: &[ResourceId],
) -> Result<Vec<String>> {
    let mut q = Sql::new("SELECT DISTINCT a.role FROM access_rules a WHERE a.org_id = ");
    q.bind(org_id);
    q.push(" AND (a.user_id = ").bind(user_id);
    q.push(" OR a.group_id IN (SELECT group_id FROM group_members WHERE org_id = ")
        .bind(org_id)
        .push(" AND user_id = ")
        .bind(user_id)
        .push("))");
    q.push(" AND (a.resource_id IS NULL");
    for r in resource_ids {
        q.push(" OR a.resource_id = ").bind(*r);
    }
    q.push(")");
    let roles: Vec<(String,)> = q.fetch_all(conn).await?;
    Ok(roles.into_iter().map(|(role,)| role).collect())
}
