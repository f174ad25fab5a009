//! Second factors: an account's TOTP factor, its recovery codes and its
//! passkeys. Seeds arrive encrypted and codes hashed; nothing here sees a
//! secret (a passkey is a public key).

use crate::sql::{exec, exec_count, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{Timestamp, UserId};

/// An account's TOTP factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Totp {
    /// The seed, encrypted with the server key.
    pub secret: String,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

/// What a sign-in needs to know of an account's second factors: its TOTP
/// factor (confirmed or not) and how many passkeys it has. The default is
/// none of either.
#[derive(Debug, Clone, Default)]
pub struct Factors {
    pub totp: Option<Totp>,
    pub passkeys: i64,
}

impl Factors {
    /// Whether the TOTP factor is confirmed (an unconfirmed one is an
    /// enrolment in progress, not a factor).
    pub fn totp_enrolled(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.confirmed_at.is_some())
    }
}

/// An account's [`Factors`] in one statement (a sign-in reads them with
/// the account, before the password is checked).
pub async fn factors(conn: &mut Conn, user_id: UserId) -> Result<Factors> {
    let row: FactorColumns = crate::sql::fetch_one(
        conn,
        "SELECT t.secret AS totp_secret, t.confirmed_at AS totp_confirmed_at,
                t.last_step AS totp_last_step,
                (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS passkeys
         FROM (SELECT 1 AS one) AS o LEFT JOIN totp_factors t ON t.user_id = $1",
        (user_id,),
    )
    .await?;
    Ok(row.into())
}

/// The columns a statement reads [`Factors`] from: the TOTP factor's,
/// NULL without one, and the passkey count.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FactorColumns {
    totp_secret: Option<String>,
    totp_confirmed_at: Option<i64>,
    totp_last_step: Option<i64>,
    passkeys: i64,
}

impl From<FactorColumns> for Factors {
    fn from(c: FactorColumns) -> Factors {
        Factors {
            totp: c.totp_secret.map(|secret| Totp {
                secret,
                confirmed_at: c.totp_confirmed_at,
                last_step: c.totp_last_step.unwrap_or(0),
            }),
            passkeys: c.passkeys,
        }
    }
}

pub async fn totp(conn: &mut Conn, user_id: UserId) -> Result<Option<Totp>> {
    fetch_optional(
        conn,
        "SELECT secret, confirmed_at, last_step FROM totp_factors WHERE user_id = $1",
        (user_id,),
    )
    .await
}

/// Starts (or restarts) an enrolment that is not confirmed yet: a
/// confirmed factor is left alone (0 rows).
pub async fn start_totp(
    conn: &mut Conn,
    user_id: UserId,
    encrypted_secret: &str,
    now: Timestamp,
) -> Result<u64> {
    exec_count(
        conn,
        "INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET secret = $2, created_at = $3, last_step = 0
         WHERE totp_factors.confirmed_at IS NULL",
        (user_id, encrypted_secret, now),
    )
    .await
}

/// Accepts a code of time step `step` if no code of this step or a later
/// one was accepted before; one statement, so of two simultaneous uses of
/// a code exactly one is accepted. With `confirm`, the factor must be
/// unconfirmed and becomes confirmed; without, it must be confirmed.
pub async fn accept_step(
    conn: &mut Conn,
    user_id: UserId,
    step: i64,
    confirm: bool,
    now: Timestamp,
) -> Result<bool> {
    let text = if confirm {
        "UPDATE totp_factors SET last_step = $2, confirmed_at = $3
         WHERE user_id = $1 AND last_step < $2 AND confirmed_at IS NULL"
    } else {
        "UPDATE totp_factors SET last_step = $2
         WHERE user_id = $1 AND last_step < $2 AND confirmed_at IS NOT NULL AND $3 > 0"
    };
    Ok(exec_count(conn, text, (user_id, step, now)).await? == 1)
}

/// Removes every second factor: the TOTP factor, the recovery codes and
/// the passkeys (an admin's reset); the number of factors removed.
pub async fn remove_all(conn: &mut Conn, user_id: UserId) -> Result<u64> {
    let passkeys = exec_count(conn, "DELETE FROM passkeys WHERE user_id = $1", (user_id,)).await?;
    Ok(passkeys + remove_totp(conn, user_id).await?)
}

/// Removes the TOTP factor and the recovery codes (passkeys stay); the
/// number of factors removed (0 or 1).
pub async fn remove_totp(conn: &mut Conn, user_id: UserId) -> Result<u64> {
    exec(
        conn,
        "DELETE FROM recovery_codes WHERE user_id = $1",
        (user_id,),
    )
    .await?;
    exec_count(
        conn,
        "DELETE FROM totp_factors WHERE user_id = $1",
        (user_id,),
    )
    .await
}

/// Whether the account has a second factor: a confirmed TOTP factor or
/// a passkey.
pub async fn enrolled(conn: &mut Conn, user_id: UserId) -> Result<bool> {
    let n: i64 = scalar(
        conn,
        "SELECT (SELECT COUNT(*) FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL)
              + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1)",
        (user_id,),
    )
    .await?;
    Ok(n > 0)
}

/// Whether the account has a confirmed TOTP factor.
pub async fn totp_enrolled(conn: &mut Conn, user_id: UserId) -> Result<bool> {
    let n: i64 = scalar(
        conn,
        "SELECT COUNT(*) FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL",
        (user_id,),
    )
    .await?;
    Ok(n > 0)
}

/// Replaces the account's recovery codes with `hashes`.
pub async fn replace_recovery_codes(
    conn: &mut Conn,
    user_id: UserId,
    hashes: &[String],
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "DELETE FROM recovery_codes WHERE user_id = $1",
        (user_id,),
    )
    .await?;
    for h in hashes {
        exec(
            conn,
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
            (user_id, h, now),
        )
        .await?;
    }
    Ok(())
}

/// Uses up a recovery code; true if it was unused. One statement, so a
/// code works once even when sent twice at once.
pub async fn use_recovery_code(
    conn: &mut Conn,
    user_id: UserId,
    code_hash: &str,
    now: Timestamp,
) -> Result<bool> {
    let n = exec_count(
        conn,
        "UPDATE recovery_codes SET used_at = $3
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        (user_id, code_hash, now),
    )
    .await?;
    Ok(n == 1)
}

/// Unused recovery codes left.
pub async fn recovery_codes_left(conn: &mut Conn, user_id: UserId) -> Result<i64> {
    scalar(
        conn,
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        (user_id,),
    )
    .await
}
