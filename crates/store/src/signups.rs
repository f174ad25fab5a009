//! Sign-ups waiting for their address to be confirmed: what was asked for,
//! kept until the link sent to the address is opened or expires.

use crate::sql::{exec, fetch_optional};
use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp, UserId};
use sqlx::FromRow;

/// A sign-up as stored, waiting for its link.
#[derive(Debug, Clone, FromRow)]
pub struct PendingSignup {
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    pub email: String,
    pub name: String,
    /// A new account's password, as its argon2id hash.
    pub password_hash: Option<String>,
    /// The account the sign-up proved it holds (by its password), if any.
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub user_id: Option<UserId>,
}

/// What a new pending sign-up holds.
pub struct NewPendingSignup<'a> {
    pub token_hash: &'a str,
    pub org_id: OrgId,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
    pub user_id: Option<UserId>,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// Stores a sign-up until its link is opened; expired ones are dropped on
/// the way.
pub async fn insert(conn: &mut Conn, s: NewPendingSignup<'_>) -> Result<()> {
    exec(
        conn,
        "DELETE FROM signup_confirmations WHERE expires_at <= $1",
        (s.now,),
    )
    .await?;
    exec(
        conn,
        "INSERT INTO signup_confirmations
           (token_hash, org_id, email, name, password_hash, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        (
            s.token_hash,
            s.org_id,
            s.email,
            s.name,
            s.password_hash,
            s.user_id,
            s.now,
            s.expires_at,
        ),
    )
    .await
}

/// The org of a link's sign-up, if the link is still good.
pub async fn org_of(conn: &mut Conn, token_hash: &str, now: Timestamp) -> Result<Option<OrgId>> {
    let row: Option<(i64,)> = fetch_optional(
        conn,
        "SELECT org_id FROM signup_confirmations WHERE token_hash = $1 AND expires_at > $2",
        (token_hash, now),
    )
    .await?;
    Ok(row.map(|(id,)| OrgId::new(id)))
}

/// Uses up the sign-up of a link, if it is still good: one statement, so a
/// link works once even when opened twice at the same moment.
pub async fn take(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<PendingSignup>> {
    fetch_optional(
        conn,
        "DELETE FROM signup_confirmations WHERE token_hash = $1 AND expires_at > $2
         RETURNING org_id, email, name, password_hash, user_id",
        (token_hash, now),
    )
    .await
}
