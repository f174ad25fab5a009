//! Sign-in sessions. The token itself is never stored: callers pass its
//! keyed hash.

use crate::sql::AsColumn;
use crate::{flag, Conn, Result, StoreError};
use roster_domain::{SessionId, Timestamp, UserId};
use sqlx::FromRow;

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: UserId,
    pub now: Timestamp,
    pub expires_at: Timestamp,
    pub client_addr: &'a str,
    pub user_agent: &'a str,
}

pub async fn insert(conn: &mut Conn, s: NewSession<'_>) -> Result<SessionId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, client_addr, user_agent)
         VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id",
    )
    .bind(s.token_hash)
    .bind(s.user_id.col())
    .bind(s.now.col())
    .bind(s.expires_at.col())
    .bind(s.client_addr)
    .bind(s.user_agent)
    .fetch_one(conn)
    .await?;
    Ok(SessionId::new(id))
}

/// A live session with the facts about its user that every request needs.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(FromRow)]
struct Row {
    #[sqlx(try_from = "i64")]
    session_id: SessionId,
    #[sqlx(try_from = "i64")]
    user_id: UserId,
    email: String,
    name: String,
    must_change_password: i64,
    disabled: i64,
    #[sqlx(try_from = "i64")]
    last_seen_at: Timestamp,
    #[sqlx(try_from = "i64")]
    expires_at: Timestamp,
}

/// Resolves an unexpired session by token hash.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<SessionUser>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id AS session_id, s.user_id, u.email, u.name, u.must_change_password, u.disabled, s.last_seen_at,
                s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now.col())
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

pub async fn touch(conn: &mut Conn, session_id: SessionId, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now.col())
        .bind(session_id.col())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, session_id: SessionId) -> Result<()> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id.col())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Ends every session of a user except `keep` (after a password change).
pub async fn delete_others(conn: &mut Conn, user_id: UserId, keep: SessionId) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id.col())
        .bind(keep.col())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a user (a password set from a link).
pub async fn delete_all(conn: &mut Conn, user_id: UserId) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id.col())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A session as listed under `/me/sessions`.
#[derive(Debug, Clone, FromRow)]
pub struct SessionInfo {
    #[sqlx(try_from = "i64")]
    pub id: SessionId,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub last_seen_at: Timestamp,
    pub client_addr: String,
    pub user_agent: String,
}

pub async fn list_for_user(
    conn: &mut Conn,
    user_id: UserId,
    now: Timestamp,
) -> Result<Vec<SessionInfo>> {
    Ok(sqlx::query_as(
        "SELECT id, created_at, expires_at, last_seen_at, client_addr, user_agent FROM sessions
         WHERE user_id = $1 AND expires_at > $2 ORDER BY id",
    )
    .bind(user_id.col())
    .bind(now.col())
    .fetch_all(conn)
    .await?)
}

/// Deletes one of the user's sessions by id.
pub async fn delete_for_user(
    conn: &mut Conn,
    user_id: UserId,
    session_id: SessionId,
) -> Result<()> {
    let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session_id.col())
        .bind(user_id.col())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes sessions that expired before `now` (housekeeping).
pub async fn prune_expired(conn: &mut Conn, now: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now.col())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
