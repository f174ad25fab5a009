//! Passkeys (WebAuthn credentials) and the ceremonies under way. A
//! credential arrives as webauthn-rs's JSON and a ceremony's state as the
//! JSON of its server half; this module stores them and never looks inside.

use crate::sql::{exec, exec_count, fetch_all, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{Timestamp, UserId};
use sqlx::FromRow;

/// One of an account's passkeys.
#[derive(Debug, Clone, FromRow)]
pub struct Passkey {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    /// The authenticator's credential id, base64url.
    pub credential_id: String,
    /// The WebAuthn user handle it was registered with (a UUID).
    pub user_handle: String,
    pub name: String,
    /// webauthn-rs's `Passkey`, JSON.
    pub credential: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub last_used_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id, user_id, credential_id, user_handle, name, credential, created_at, last_used_at";

pub struct NewPasskey<'a> {
    pub user_id: UserId,
    pub credential_id: &'a str,
    pub user_handle: &'a str,
    pub name: &'a str,
    pub credential: &'a str,
    pub now: Timestamp,
}

pub async fn insert(conn: &mut Conn, p: NewPasskey<'_>) -> Result<i64> {
    scalar(
        conn,
        "INSERT INTO passkeys (user_id, credential_id, user_handle, name, credential, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        (p.user_id, p.credential_id, p.user_handle, p.name, p.credential, p.now),
    )
    .await
}

/// The account's passkeys, oldest first.
pub async fn list(conn: &mut Conn, user_id: UserId) -> Result<Vec<Passkey>> {
    fetch_all(
        conn,
        &format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY id"),
        (user_id,),
    )
    .await
}

/// The passkey with this credential id, whoever's it is.
pub async fn by_credential_id(conn: &mut Conn, credential_id: &str) -> Result<Option<Passkey>> {
    fetch_optional(
        conn,
        &format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"),
        (credential_id,),
    )
    .await
}

/// Renames one of the account's passkeys; false if it has no such one.
pub async fn rename(
    conn: &mut Conn,
    user_id: UserId,
    id: i64,
    name: &str,
    now: Timestamp,
) -> Result<bool> {
    Ok(exec_count(
        conn,
        "UPDATE passkeys SET name = $3, updated_at = $4 WHERE user_id = $1 AND id = $2",
        (user_id, id, name, now),
    )
    .await?
        == 1)
}

/// Records a use: the credential as updated (its counter) and when.
pub async fn used(
    conn: &mut Conn,
    id: i64,
    credential: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "UPDATE passkeys SET credential = COALESCE($2, credential), last_used_at = $3 WHERE id = $1",
        (id, credential, now),
    )
    .await
}

/// Removes one of the account's passkeys; false if it has no such one.
pub async fn remove(conn: &mut Conn, user_id: UserId, id: i64) -> Result<bool> {
    Ok(exec_count(
        conn,
        "DELETE FROM passkeys WHERE user_id = $1 AND id = $2",
        (user_id, id),
    )
    .await?
        == 1)
}

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Registering a passkey for the account the challenge is bound to.
    Register,
    /// Signing in or confirming with a passkey (any account's).
    Authenticate,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Authenticate => "authenticate",
        }
    }
}

/// A ceremony's stored half, as taken.
#[derive(Debug, Clone, FromRow)]
pub struct Challenge {
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub user_id: Option<UserId>,
    pub state: String,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
}

/// Stores a ceremony's state under the keyed hash of its id, and sweeps
/// the expired ones.
pub async fn insert_challenge(
    conn: &mut Conn,
    token_hash: &str,
    purpose: Purpose,
    user_id: Option<UserId>,
    state: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "DELETE FROM passkey_challenges WHERE expires_at < $1",
        (now,),
    )
    .await?;
    exec(
        conn,
        "INSERT INTO passkey_challenges (token_hash, purpose, user_id, state, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        (token_hash, purpose.as_str(), user_id, state, now, expires_at),
    )
    .await
}

/// Takes a ceremony of `purpose` out: one DELETE, so a challenge is used
/// once, also when sent twice at once. Expired ones are taken too (and
/// refused by the caller, who sees `expires_at`).
pub async fn take_challenge(
    conn: &mut Conn,
    token_hash: &str,
    purpose: Purpose,
) -> Result<Option<Challenge>> {
    fetch_optional(
        conn,
        "DELETE FROM passkey_challenges WHERE token_hash = $1 AND purpose = $2
         RETURNING user_id, state, expires_at",
        (token_hash, purpose.as_str()),
    )
    .await
}

/// How many passkeys the account has.
pub async fn count(conn: &mut Conn, user_id: UserId) -> Result<i64> {
    scalar(
        conn,
        "SELECT COUNT(*) FROM passkeys WHERE user_id = $1",
        (user_id,),
    )
    .await
}
