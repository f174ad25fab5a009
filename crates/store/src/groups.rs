//! Groups: named sets of members of one org.

use crate::sql::AsColumn;
use crate::{Conn, Result, StoreError};
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

/// Every group of the org with its member count, by name.
pub async fn list(conn: &mut Conn, org_id: OrgId) -> Result<Vec<Group>> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, g.created_at, COUNT(gm.user_id) AS members
         FROM groups g LEFT JOIN group_members gm ON gm.group_id = g.id
         WHERE g.org_id = $1 GROUP BY g.id, g.name, g.created_at ORDER BY g.name",
    )
    .bind(org_id.col())
    .fetch_all(conn)
    .await?)
}

pub async fn find(conn: &mut Conn, org_id: OrgId, name: &str) -> Result<Option<Group>> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, g.created_at, COUNT(gm.user_id) AS members
         FROM groups g LEFT JOIN group_members gm ON gm.group_id = g.id
         WHERE g.org_id = $1 AND g.name = $2 GROUP BY g.id, g.name, g.created_at",
    )
    .bind(org_id.col())
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Creates a group. A taken name is [`StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, org_id: OrgId, name: &str, now: Timestamp) -> Result<GroupId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO groups (org_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(org_id.col())
    .bind(name)
    .bind(now.col())
    .fetch_one(conn)
    .await?;
    Ok(GroupId::new(id))
}

/// Renames a group. A taken name is [`StoreError::Conflict`].
pub async fn rename(conn: &mut Conn, group_id: GroupId, name: &str) -> Result<()> {
    sqlx::query("UPDATE groups SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(group_id.col())
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a group and its memberships.
pub async fn delete(conn: &mut Conn, group_id: GroupId) -> Result<()> {
    sqlx::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(group_id.col())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(group_id.col())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Adds a member; `false` if they already were in the group.
pub async fn add_member(
    conn: &mut Conn,
    org_id: OrgId,
    group_id: GroupId,
    user_id: UserId,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO group_members (group_id, user_id, org_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, user_id) DO NOTHING",
    )
    .bind(group_id.col())
    .bind(user_id.col())
    .bind(org_id.col())
    .bind(now.col())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a member; `false` if they were not in the group.
pub async fn remove_member(conn: &mut Conn, group_id: GroupId, user_id: UserId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id.col())
        .bind(user_id.col())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The user ids in a group, in order of joining the group.
pub async fn member_ids(conn: &mut Conn, group_id: GroupId) -> Result<Vec<UserId>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY created_at, user_id",
    )
    .bind(group_id.col())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| UserId::new(id)).collect())
}
