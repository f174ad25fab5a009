//! Groups: named sets of members of one org.

use crate::sql::{exec, exec_count, exec_one, fetch_all, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{GroupId, OrgId, Timestamp, UserId};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct Group {
    #[sqlx(try_from = "i64")]
    pub id: GroupId,
    pub name: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    pub members: i64,
}

/// The groups of org `$1` that match `condition`, with their member
/// counts; `order` ends the statement.
fn select(condition: &str, order: &str) -> String {
    format!(
        "SELECT g.id, g.name, g.created_at, COUNT(gm.user_id) AS members
         FROM groups g LEFT JOIN group_members gm ON gm.group_id = g.id
         WHERE g.org_id = $1{condition} GROUP BY g.id, g.name, g.created_at{order}"
    )
}

/// Every group of the org with its member count, by name.
pub async fn list(conn: &mut Conn, org_id: OrgId) -> Result<Vec<Group>> {
    fetch_all(conn, &select("", " ORDER BY g.name"), (org_id,)).await
}

pub async fn find(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<Option<Group>> {
    fetch_optional(conn, &select(" AND g.name = $2", ""), (org_id, name)).await
}

/// Creates a group. A taken name is [`crate::StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, org_id: OrgId, name: &str, now: Timestamp) -> Result<GroupId> {
    let id = scalar(
        conn,
        "INSERT INTO groups (org_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        (org_id, name, now),
    )
    .await?;
    Ok(GroupId::new(id))
}

/// Renames a group. A taken name is [`crate::StoreError::Conflict`].
pub async fn rename(conn: &mut Conn, group_id: GroupId, name: &str) -> Result<()> {
    let text = "UPDATE groups SET name = $1 WHERE id = $2";
    exec(conn, text, (name, group_id)).await
}

/// Deletes a group and its memberships.
pub async fn delete(conn: &mut Conn, group_id: GroupId) -> Result<()> {
    let text = "DELETE FROM group_members WHERE group_id = $1";
    exec(conn, text, (group_id,)).await?;
    // A mapping that gave only this group goes; one that also gives a
    // role keeps the role.
    let text = "DELETE FROM group_mappings WHERE group_id = $1 AND role IS NULL";
    exec(conn, text, (group_id,)).await?;
    let text = "UPDATE group_mappings SET group_id = NULL WHERE group_id = $1";
    exec(conn, text, (group_id,)).await?;
    exec_one(conn, "DELETE FROM groups WHERE id = $1", (group_id,)).await
}

/// Adds a member; `false` if they already were in the group.
pub async fn add_member(
    conn: &mut Conn,
    org_id: OrgId,
    group_id: GroupId,
    user_id: UserId,
    now: Timestamp,
) -> Result<bool> {
    let added = exec_count(
        conn,
        "INSERT INTO group_members (group_id, user_id, org_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, user_id) DO NOTHING",
        (group_id, user_id, org_id, now),
    )
    .await?;
    Ok(added == 1)
}

/// Removes a member; `false` if they were not in the group.
pub async fn remove_member(conn: &mut Conn, group_id: GroupId, user_id: UserId) -> Result<bool> {
    let text = "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2";
    Ok(exec_count(conn, text, (group_id, user_id)).await? == 1)
}

/// The user ids in a group, in order of joining the group.
pub async fn member_ids(conn: &mut Conn, group_id: GroupId) -> Result<Vec<UserId>> {
    let rows: Vec<(i64,)> = fetch_all(
        conn,
        "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY created_at, user_id",
        (group_id,),
    )
    .await?;
    Ok(rows.into_iter().map(|(id,)| UserId::new(id)).collect())
}
