//! Global user identities.

use crate::sql::AsColumn;
use crate::{flag, Conn, Result, StoreError};
use roster_domain::{Timestamp, UserId};
use sqlx::FromRow;
use std::time::Duration;

#[derive(Debug, Clone, FromRow)]
struct UserRow {
    #[sqlx(try_from = "i64")]
    id: UserId,
    email: String,
    name: String,
    password_hash: Option<String>,
    must_change_password: i64,
    disabled: i64,
    #[sqlx(try_from = "i64")]
    created_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    last_active_at: Option<Timestamp>,
}

/// A user as stored.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub last_active_at: Option<Timestamp>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            email: r.email,
            name: r.name,
            password_hash: r.password_hash,
            must_change_password: flag(r.must_change_password),
            disabled: flag(r.disabled),
            created_at: r.created_at,
            last_active_at: r.last_active_at,
        }
    }
}

const COLUMNS: &str =
    "id, email, name, password_hash, must_change_password, disabled, created_at, last_active_at";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub name_folded: &'a str,
    pub password_hash: Option<&'a str>,
    pub must_change_password: bool,
    pub now: Timestamp,
}

/// Inserts a user. A taken email is [`StoreError::Conflict`].
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, u: NewUser<'_>) -> Result<UserId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, name, name_folded, password_hash, must_change_password, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(u.email)
    .bind(u.name)
    .bind(u.name_folded)
    .bind(u.password_hash)
    .bind(i64::from(u.must_change_password))
    .bind(u.now.col())
    .fetch_one(conn)
    .await?;
    Ok(UserId::new(id))
}

pub async fn get(conn: &mut Conn, id: UserId) -> Result<User> {
    let row: UserRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.col())
        .fetch_one(conn)
        .await?;
    Ok(row.into())
}

pub async fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Into::into))
}

/// Sets a new password hash and whether it must be changed at next sign-in.
pub async fn set_password(
    conn: &mut Conn,
    id: UserId,
    password_hash: &str,
    must_change: bool,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(password_hash)
    .bind(i64::from(must_change))
    .bind(now.col())
    .bind(id.col())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Renames a user, and the copy of the folded name on their memberships.
pub async fn set_name(
    conn: &mut Conn,
    id: UserId,
    name: &str,
    name_folded: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("UPDATE users SET name = $1, name_folded = $2, updated_at = $3 WHERE id = $4")
        .bind(name)
        .bind(name_folded)
        .bind(now.col())
        .bind(id.col())
        .execute(&mut *conn)
        .await?;
    // The team list searches the copy on each membership.
    sqlx::query("UPDATE memberships SET name_folded = $1 WHERE user_id = $2")
        .bind(name_folded)
        .bind(id.col())
        .execute(conn)
        .await?;
    Ok(())
}

/// Records activity, at most once per `resolution_ms` so that reads do not
/// turn into a write per request.
pub async fn touch_activity(
    conn: &mut Conn,
    id: UserId,
    now: Timestamp,
    resolution: Duration,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET last_active_at = $1 WHERE id = $2 AND (last_active_at IS NULL OR last_active_at < $3)",
    )
    .bind(now.col())
    .bind(id.col())
    .bind(now.minus(resolution).col())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Stores a one-time set-password link for a user.
pub async fn insert_password_link(
    conn: &mut Conn,
    token_hash: &str,
    user_id: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO password_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id.col())
        .bind(now.col())
        .bind(expires_at.col())
        .execute(conn)
        .await?;
    Ok(())
}

/// The user of an unused, unexpired set-password link.
pub async fn password_link_user(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT user_id FROM password_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now.col())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| UserId::new(id)))
}

/// Uses up a set-password link; returns its user if it was still good. One
/// statement, so a link works once even under concurrent use.
pub async fn use_password_link(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now.col())
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| UserId::new(id)))
}
