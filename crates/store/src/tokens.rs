//! API tokens: a person's or a service account's, each acting in one org.
//! The token itself is never stored: callers pass its keyed hash.

use crate::sql::{exec, exec_one, fetch_all, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp, TokenId, UserId};
use sqlx::FromRow;

/// A token as listed: everything but its secret.
#[derive(Debug, Clone, FromRow)]
pub struct Token {
    #[sqlx(try_from = "i64")]
    pub id: TokenId,
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    /// The owner's email and name.
    pub email: String,
    pub owner_name: String,
    /// Whether the owner is a service account.
    #[sqlx(try_from = "crate::sql::Flag")]
    pub service_account: bool,
    pub name: String,
    /// Space-separated; `None`: everything the owner holds.
    pub permissions: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub last_used_at: Option<Timestamp>,
    pub last_used_from: String,
}

const SELECT: &str = "SELECT t.id, t.org_id, t.user_id, u.email, u.name AS owner_name, \
    CASE WHEN u.kind = 'service' THEN 1 ELSE 0 END AS service_account, t.name, t.permissions, \
    t.created_at, t.expires_at, t.last_used_at, t.last_used_from \
    FROM api_tokens t JOIN users u ON u.id = t.user_id";

/// What a token opens: the API (`rst_...`), or an org's SCIM endpoint
/// (`rsc_...`). Each is accepted only where it belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Api,
    Scim,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Scim => "scim",
        }
    }
}

pub struct NewToken<'a> {
    pub kind: TokenKind,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub permissions: Option<&'a str>,
    pub created_by: UserId,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn insert(conn: &mut Conn, t: NewToken<'_>) -> Result<TokenId> {
    let id = scalar(
        conn,
        "INSERT INTO api_tokens (org_id, user_id, name, token_hash, permissions, created_by, created_at, expires_at, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        (
            t.org_id,
            t.user_id,
            t.name,
            t.token_hash,
            t.permissions,
            t.created_by,
            t.now,
            t.expires_at,
            t.kind.as_str(),
        ),
    )
    .await?;
    Ok(TokenId::new(id))
}

/// An unexpired token by the hash of its secret, with its owner's standing
/// (whether the account is disabled).
pub async fn find_live(
    conn: &mut Conn,
    kind: TokenKind,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<(Token, bool)>> {
    let text = format!("{SELECT} WHERE t.token_hash = $1 AND t.expires_at > $2 AND t.kind = $3");
    let Some(t): Option<Token> =
        fetch_optional(conn, &text, (token_hash, now, kind.as_str())).await?
    else {
        return Ok(None);
    };
    let disabled: i64 = scalar(
        conn,
        "SELECT disabled FROM users WHERE id = $1",
        (t.user_id,),
    )
    .await?;
    Ok(Some((t, disabled != 0)))
}

/// The org's token `id` of `kind`.
pub async fn get(conn: &mut Conn, kind: TokenKind, org_id: OrgId, id: TokenId) -> Result<Token> {
    let text = format!("{SELECT} WHERE t.org_id = $1 AND t.id = $2 AND t.kind = $3");
    crate::sql::fetch_one(conn, &text, (org_id, id, kind.as_str())).await
}

/// The org's API tokens, or one account's there, in creation order.
pub async fn list(conn: &mut Conn, org_id: OrgId, owner: Option<UserId>) -> Result<Vec<Token>> {
    match owner {
        Some(u) => {
            let text = format!(
                "{SELECT} WHERE t.org_id = $1 AND t.user_id = $2 AND t.kind = 'api' ORDER BY t.id"
            );
            fetch_all(conn, &text, (org_id, u)).await
        }
        None => {
            let text = format!("{SELECT} WHERE t.org_id = $1 AND t.kind = 'api' ORDER BY t.id");
            fetch_all(conn, &text, (org_id,)).await
        }
    }
}

/// The org's SCIM tokens, in creation order.
pub async fn list_scim(conn: &mut Conn, org_id: OrgId) -> Result<Vec<Token>> {
    let text = format!("{SELECT} WHERE t.org_id = $1 AND t.kind = 'scim' ORDER BY t.id");
    fetch_all(conn, &text, (org_id,)).await
}

pub async fn delete(conn: &mut Conn, org_id: OrgId, id: TokenId) -> Result<()> {
    exec_one(
        conn,
        "DELETE FROM api_tokens WHERE org_id = $1 AND id = $2",
        (org_id, id),
    )
    .await
}

/// Records a use: when and from where.
pub async fn touch(conn: &mut Conn, id: TokenId, now: Timestamp, from: &str) -> Result<()> {
    exec(
        conn,
        "UPDATE api_tokens SET last_used_at = $1, last_used_from = $2 WHERE id = $3",
        (now, from, id),
    )
    .await
}

/// Deletes every token of an account in an org (the member was removed).
pub async fn delete_for_member(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<()> {
    exec(
        conn,
        "DELETE FROM api_tokens WHERE org_id = $1 AND user_id = $2",
        (org_id, user_id),
    )
    .await
}
