//! Groups: named sets of members of one org.

use crate::{Conn, Result, StoreError};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub members: i64,
}

/// Every group of the org with its member count, by name.
pub async fn list(conn: &mut Conn, org_id: i64) -> Result<Vec<Group>> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, g.created_at, COUNT(gm.user_id) AS members
         FROM groups g LEFT JOIN group_members gm ON gm.group_id = g.id
         WHERE g.org_id = $1 GROUP BY g.id, g.name, g.created_at ORDER BY g.name",
    )
    .bind(org_id)
    .fetch_all(conn)
    .await?)
}

pub async fn find(conn: &mut Conn, org_id: i64, name: &str) -> Result<Option<Group>> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, g.created_at, COUNT(gm.user_id) AS members
         FROM groups g LEFT JOIN group_members gm ON gm.group_id = g.id
         WHERE g.org_id = $1 AND g.name = $2 GROUP BY g.id, g.name, g.created_at",
    )
    .bind(org_id)
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Creates a group. A taken name is [`StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, org_id: i64, name: &str, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO groups (org_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(org_id)
    .bind(name)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Renames a group. A taken name is [`StoreError::Conflict`].
pub async fn rename(conn: &mut Conn, group_id: i64, name: &str) -> Result<()> {
    sqlx::query("UPDATE groups SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(group_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a group and its memberships.
pub async fn delete(conn: &mut Conn, group_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(group_id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(group_id)
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
    org_id: i64,
    group_id: i64,
    user_id: i64,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO group_members (group_id, user_id, org_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id, user_id) DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .bind(org_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a member; `false` if they were not in the group.
pub async fn remove_member(conn: &mut Conn, group_id: i64, user_id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The user ids in a group, in order of joining the group.
pub async fn member_ids(conn: &mut Conn, group_id: i64) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY created_at, user_id",
    )
    .bind(group_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
