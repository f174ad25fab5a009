//! Sign-in sessions. The token itself is never stored: callers pass its
//! keyed hash.

use crate::{flag, Conn, Result, StoreError};
use sqlx::FromRow;

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub client_addr: &'a str,
    pub user_agent: &'a str,
}

pub async fn insert(conn: &mut Conn, s: NewSession<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, client_addr, user_agent)
         VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id",
    )
    .bind(s.token_hash)
    .bind(s.user_id)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.client_addr)
    .bind(s.user_agent)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// A live session with the facts about its user that every request needs.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session_id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

#[derive(FromRow)]
struct Row {
    session_id: i64,
    user_id: i64,
    email: String,
    name: String,
    must_change_password: i64,
    disabled: i64,
    last_seen_at: i64,
    expires_at: i64,
}

/// Resolves an unexpired session by token hash.
pub async fn find_live(conn: &mut Conn, token_hash: &str, now: i64) -> Result<Option<SessionUser>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id AS session_id, s.user_id, u.email, u.name, u.must_change_password, u.disabled, s.last_seen_at,
                s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| SessionUser {
        session_id: r.session_id,
        user_id: r.user_id,
        email: r.email,
        name: r.name,
        must_change_password: flag(r.must_change_password),
        disabled: flag(r.disabled),
        last_seen_at: r.last_seen_at,
        expires_at: r.expires_at,
    }))
}

pub async fn touch(conn: &mut Conn, session_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, session_id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Ends every session of a user except `keep` (after a password change).
pub async fn delete_others(conn: &mut Conn, user_id: i64, keep: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A session as listed under `/me/sessions`.
#[derive(Debug, Clone, FromRow)]
pub struct SessionInfo {
    pub id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
    pub client_addr: String,
    pub user_agent: String,
}

pub async fn list_for_user(conn: &mut Conn, user_id: i64, now: i64) -> Result<Vec<SessionInfo>> {
    Ok(sqlx::query_as(
        "SELECT id, created_at, expires_at, last_seen_at, client_addr, user_agent FROM sessions
         WHERE user_id = $1 AND expires_at > $2 ORDER BY id",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// Deletes one of the user's sessions by id.
pub async fn delete_for_user(conn: &mut Conn, user_id: i64, session_id: i64) -> Result<()> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes sessions that expired before `now` (housekeeping).
pub async fn prune_expired(conn: &mut Conn, now: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
