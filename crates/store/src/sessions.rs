//! Sign-in sessions. The token itself is never stored: callers pass its
//! keyed hash.

use crate::sql::{exec, exec_count, exec_one, fetch_all, fetch_one, fetch_optional};
use crate::{Conn, Result};
use roster_domain::{SessionId, Timestamp, UserId};
use sqlx::FromRow;
use std::sync::LazyLock;

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: UserId,
    pub now: Timestamp,
    pub expires_at: Timestamp,
    pub client_addr: &'a str,
    pub user_agent: &'a str,
    /// Opened with one factor of two: the second is owed.
    pub second_factor_pending: bool,
    /// The SSO connection it was opened through, if any.
    pub sso_connection_id: Option<i64>,
}

pub async fn insert(conn: &mut Conn, s: NewSession<'_>) -> Result<Opened> {
    fetch_one(
        conn,
        &INSERT,
        (
            s.token_hash,
            s.user_id,
            s.now,
            s.expires_at,
            s.client_addr,
            s.user_agent,
            s.second_factor_pending,
            s.sso_connection_id,
        ),
    )
    .await
}

/// A session just inserted, with what its stage depends on, read by the
/// insert itself (as [`find_live`] would read them).
#[derive(Debug, Clone, FromRow)]
pub struct Opened {
    #[sqlx(try_from = "i64")]
    pub id: SessionId,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub must_change_password: bool,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub has_second_factor: bool,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub second_factor_required: bool,
}

/// Whether user `u` (an SQL expression for its id) has a confirmed
/// authenticator app.
fn has_totp(u: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = {u} AND t.confirmed_at IS NOT NULL)"
    )
}

/// Whether user `u` has a passkey.
fn has_passkey(u: &str) -> String {
    format!("EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = {u})")
}

/// The columns `has_second_factor` and `second_factor_required` of user
/// `u`: what a session's stage depends on besides the session itself.
fn stage_columns(u: &str) -> String {
    format!(
        "CASE WHEN {} OR {} THEN 1 ELSE 0 END AS has_second_factor,
         CASE WHEN EXISTS (SELECT 1 FROM memberships m JOIN orgs o ON o.id = m.org_id
                           WHERE m.user_id = {u} AND m.status = 'active'
                             AND (m.mfa_required = 1 OR o.mfa_policy = 'required'))
              THEN 1 ELSE 0 END AS second_factor_required",
        has_totp(u),
        has_passkey(u)
    )
}

/// [`insert`]'s statement: the row, and in its RETURNING clause what
/// [`Opened`] holds (subqueries on the user, `$2`), so that a sign-in
/// does not read its new session back.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, client_addr, user_agent,
                               second_factor_pending, sso_connection_id)
         VALUES ($1, $2, $3, $4, $3, $5, $6, $7, $8)
         RETURNING id, (SELECT must_change_password FROM users WHERE id = $2) AS must_change_password,
                   {}",
        stage_columns("$2")
    )
});

/// [`find_live`]'s statement.
static FIND_LIVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT s.id AS session_id, s.user_id, u.email, u.name, u.must_change_password, u.disabled, s.last_seen_at,
                s.expires_at, s.second_factor_pending, s.sso_connection_id, {},
                CASE WHEN {} THEN 1 ELSE 0 END AS has_totp,
                CASE WHEN {} THEN 1 ELSE 0 END AS has_passkey
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
        stage_columns("s.user_id"),
        has_totp("s.user_id"),
        has_passkey("s.user_id")
    )
});

/// A live session with the facts about its user that every request needs.
#[derive(Debug, Clone, FromRow)]
pub struct SessionUser {
    #[sqlx(try_from = "i64")]
    pub session_id: SessionId,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub must_change_password: bool,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub disabled: bool,
    #[sqlx(try_from = "i64")]
    pub last_seen_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    /// The session still owes its second factor.
    #[sqlx(try_from = "crate::sql::Flag")]
    pub second_factor_pending: bool,
    /// The account has a second factor (a confirmed app or a passkey).
    #[sqlx(try_from = "crate::sql::Flag")]
    pub has_second_factor: bool,
    /// The account has a confirmed authenticator app.
    #[sqlx(try_from = "crate::sql::Flag")]
    pub has_totp: bool,
    /// The account has a passkey.
    #[sqlx(try_from = "crate::sql::Flag")]
    pub has_passkey: bool,
    /// An org the account is an active member of requires a second factor
    /// (its `mfa_policy` or the membership's `mfa_required`).
    #[sqlx(try_from = "crate::sql::Flag")]
    pub second_factor_required: bool,
    /// The SSO connection the session was opened through, if any.
    pub sso_connection_id: Option<i64>,
}

/// Resolves an unexpired session by token hash.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<SessionUser>> {
    fetch_optional(conn, &FIND_LIVE, (token_hash, now)).await
}

/// Marks a session's second factor as given; false if it owed none.
pub async fn second_factor_given(conn: &mut Conn, session_id: SessionId) -> Result<bool> {
    let text =
        "UPDATE sessions SET second_factor_pending = 0 WHERE id = $1 AND second_factor_pending = 1";
    Ok(exec_count(conn, text, (session_id,)).await? == 1)
}

pub async fn touch(conn: &mut Conn, session_id: SessionId, now: Timestamp) -> Result<()> {
    let text = "UPDATE sessions SET last_seen_at = $1 WHERE id = $2";
    exec(conn, text, (now, session_id)).await
}

pub async fn delete(conn: &mut Conn, session_id: SessionId) -> Result<()> {
    exec_one(conn, "DELETE FROM sessions WHERE id = $1", (session_id,)).await
}

/// Ends every session of a user except `keep` (after a password change).
pub async fn delete_others(conn: &mut Conn, user_id: UserId, keep: SessionId) -> Result<u64> {
    let text = "DELETE FROM sessions WHERE user_id = $1 AND id <> $2";
    exec_count(conn, text, (user_id, keep)).await
}

/// Ends every session of a user (a password set from a link).
pub async fn delete_all(conn: &mut Conn, user_id: UserId) -> Result<u64> {
    exec_count(conn, "DELETE FROM sessions WHERE user_id = $1", (user_id,)).await
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
    fetch_all(
        conn,
        "SELECT id, created_at, expires_at, last_seen_at, client_addr, user_agent FROM sessions
         WHERE user_id = $1 AND expires_at > $2 ORDER BY id",
        (user_id, now),
    )
    .await
}

/// Deletes one of the user's sessions by id.
pub async fn delete_for_user(
    conn: &mut Conn,
    user_id: UserId,
    session_id: SessionId,
) -> Result<()> {
    let text = "DELETE FROM sessions WHERE id = $1 AND user_id = $2";
    exec_one(conn, text, (session_id, user_id)).await
}

/// Deletes sessions that expired before `now` (housekeeping).
pub async fn prune_expired(conn: &mut Conn, now: Timestamp) -> Result<u64> {
    exec_count(conn, "DELETE FROM sessions WHERE expires_at <= $1", (now,)).await
}
