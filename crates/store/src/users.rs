//! Global user identities.

use crate::sql::{exec, exec_one, fetch_one, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{Timestamp, UserId};
use sqlx::FromRow;
use std::time::Duration;

/// A user as stored.
#[derive(Debug, Clone, FromRow)]
pub struct User {
    #[sqlx(try_from = "i64")]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub must_change_password: bool,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub disabled: bool,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub last_active_at: Option<Timestamp>,
    /// A service account: it acts only through API tokens and never signs
    /// in.
    #[sqlx(try_from = "crate::sql::Flag")]
    pub service_account: bool,
}

const COLUMNS: &str =
    "id, email, name, password_hash, must_change_password, disabled, created_at, \
    last_active_at, CASE WHEN kind = 'service' THEN 1 ELSE 0 END AS service_account";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub name_folded: &'a str,
    pub password_hash: Option<&'a str>,
    pub must_change_password: bool,
    pub now: Timestamp,
}

/// Inserts a user. A taken email is [`crate::StoreError::Conflict`].
#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut Conn, u: NewUser<'_>) -> Result<UserId> {
    let id = scalar(
        conn,
        "INSERT INTO users (email, name, name_folded, password_hash, must_change_password, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        (
            u.email,
            u.name,
            u.name_folded,
            u.password_hash,
            u.must_change_password,
            u.now,
        ),
    )
    .await?;
    Ok(UserId::new(id))
}

/// Inserts a service account: no password, no personal org. A taken
/// address is [`crate::StoreError::Conflict`].
pub async fn insert_service_account(
    conn: &mut Conn,
    email: &str,
    name: &str,
    name_folded: &str,
    description: &str,
    now: Timestamp,
) -> Result<UserId> {
    let id = scalar(
        conn,
        "INSERT INTO users (email, name, name_folded, kind, description, created_at, updated_at)
         VALUES ($1, $2, $3, 'service', $4, $5, $5) RETURNING id",
        (email, name, name_folded, description, now),
    )
    .await?;
    Ok(UserId::new(id))
}

/// A service account's description.
pub async fn description(conn: &mut Conn, id: UserId) -> Result<String> {
    scalar(conn, "SELECT description FROM users WHERE id = $1", (id,)).await
}

/// Deletes an account that has no org of its own (a service account); its
/// memberships, tokens and links go with it.
pub async fn delete_service_account(conn: &mut Conn, id: UserId) -> Result<()> {
    exec_one(
        conn,
        "DELETE FROM users WHERE id = $1 AND kind = 'service'",
        (id,),
    )
    .await
}

pub async fn get(conn: &mut Conn, id: UserId) -> Result<User> {
    let text = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    fetch_one(conn, &text, (id,)).await
}

pub async fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<User>> {
    let text = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    fetch_optional(conn, &text, (email,)).await
}

/// The account with `email` and its second factors ([`crate::mfa::Factors`],
/// as [`crate::mfa::factors`] reads them), in one statement: what a
/// password sign-in reads before it counts its attempt.
pub async fn find_by_email_with_factors(
    conn: &mut Conn,
    email: &str,
) -> Result<Option<(User, crate::mfa::Factors)>> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        #[sqlx(flatten)]
        factors: crate::mfa::FactorColumns,
    }
    let text = format!(
        "SELECT u.*, t.secret AS totp_secret, t.confirmed_at AS totp_confirmed_at,
                t.last_step AS totp_last_step,
                (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys
         FROM (SELECT {COLUMNS} FROM users WHERE email = $1) AS u
         LEFT JOIN totp_factors t ON t.user_id = u.id"
    );
    let row: Option<Row> = fetch_optional(conn, &text, (email,)).await?;
    Ok(row.map(|r| (r.user, r.factors.into())))
}

/// Sets a new password hash and whether it must be changed at next sign-in.
pub async fn set_password(
    conn: &mut Conn,
    id: UserId,
    password_hash: &str,
    must_change: bool,
    now: Timestamp,
) -> Result<()> {
    exec_one(
        conn,
        "UPDATE users SET password_hash = $1, must_change_password = $2, updated_at = $3 WHERE id = $4",
        (password_hash, must_change, now, id),
    )
    .await
}

/// Renames a user, and the copy of the folded name on their memberships.
pub async fn set_name(
    conn: &mut Conn,
    id: UserId,
    name: &str,
    name_folded: &str,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "UPDATE users SET name = $1, name_folded = $2, updated_at = $3 WHERE id = $4",
        (name, name_folded, now, id),
    )
    .await?;
    // The team list searches the copy on each membership.
    exec(
        conn,
        "UPDATE memberships SET name_folded = $1 WHERE user_id = $2",
        (name_folded, id),
    )
    .await?;
    crate::members::reindex_names_of_user(conn, id, name_folded).await
}

/// Records activity, at most once per `resolution_ms` so that reads do not
/// turn into a write per request.
pub async fn touch_activity(
    conn: &mut Conn,
    id: UserId,
    now: Timestamp,
    resolution: Duration,
) -> Result<()> {
    exec(
        conn,
        "UPDATE users SET last_active_at = $1 WHERE id = $2 AND (last_active_at IS NULL OR last_active_at < $3)",
        (now, id, now.minus(resolution)),
    )
    .await
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    scalar(conn, "SELECT COUNT(*) FROM users", ()).await
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Set a password (welcome mail, password recovery).
    Password,
    /// Sign in (a magic link).
    SignIn,
}

impl LinkPurpose {
    fn name(self) -> &'static str {
        match self {
            LinkPurpose::Password => "password",
            LinkPurpose::SignIn => "sign_in",
        }
    }
}

/// Stores a one-time set-password link for a user.
pub async fn insert_password_link(
    conn: &mut Conn,
    token_hash: &str,
    user_id: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    insert_link(
        conn,
        LinkPurpose::Password,
        token_hash,
        user_id,
        now,
        expires_at,
    )
    .await
}

/// Stores a one-time link for `purpose`.
pub async fn insert_link(
    conn: &mut Conn,
    purpose: LinkPurpose,
    token_hash: &str,
    user_id: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO password_links (token_hash, user_id, created_at, expires_at, purpose) VALUES ($1, $2, $3, $4, $5)",
        (token_hash, user_id, now, expires_at, purpose.name()),
    )
    .await
}

/// Uses up a one-time link of `purpose`; returns its user if it was still
/// good. One statement, so a link works once even under concurrent use.
pub async fn use_link(
    conn: &mut Conn,
    purpose: LinkPurpose,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>> {
    let row: Option<(i64,)> = fetch_optional(
        conn,
        "UPDATE password_links SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 AND purpose = $3 RETURNING user_id",
        (now, token_hash, purpose.name()),
    )
    .await?;
    Ok(row.map(|(id,)| UserId::new(id)))
}

/// The user of an unused, unexpired set-password link.
pub async fn password_link_user(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>> {
    let row: Option<(i64,)> = fetch_optional(
        conn,
        "SELECT user_id FROM password_links
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND purpose = 'password'",
        (token_hash, now),
    )
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
    let row: Option<(i64,)> = fetch_optional(
        conn,
        "UPDATE password_links SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 AND purpose = 'password' RETURNING user_id",
        (now, token_hash),
    )
    .await?;
    Ok(row.map(|(id,)| UserId::new(id)))
}
