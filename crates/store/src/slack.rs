//! Slack: connections, linked users, link codes and handled requests.

use crate::sql::AsColumn;
use crate::{Conn, Result, StoreError};
use roster_domain::{OrgId, Timestamp, UserId};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct Connection {
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    pub team_id: String,
    pub channel: String,
    pub api_base_url: String,
    pub signing_secret_enc: String,
    pub bot_token_enc: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

const COLUMNS: &str =
    "org_id, team_id, channel, api_base_url, signing_secret_enc, bot_token_enc, created_at, updated_at";

/// Creates or replaces an org's connection. A workspace connected to
/// another org is [`StoreError::Conflict`].
pub async fn upsert(conn: &mut Conn, c: &Connection) -> Result<()> {
    sqlx::query("DELETE FROM slack_connections WHERE org_id = $1")
        .bind(c.org_id.col())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO slack_connections (org_id, team_id, channel, api_base_url, signing_secret_enc, bot_token_enc, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.org_id.col())
    .bind(c.team_id.as_str())
    .bind(c.channel.as_str())
    .bind(c.api_base_url.as_str())
    .bind(c.signing_secret_enc.as_str())
    .bind(c.bot_token_enc.as_str())
    .bind(c.created_at.col())
    .bind(c.updated_at.col())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn for_org(conn: &mut Conn, org_id: OrgId) -> Result<Option<Connection>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM slack_connections WHERE org_id = $1"
    ))
    .bind(org_id.col())
    .fetch_optional(conn)
    .await?)
}

pub async fn for_team(conn: &mut Conn, team_id: &str) -> Result<Option<Connection>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM slack_connections WHERE team_id = $1"
    ))
    .bind(team_id)
    .fetch_optional(conn)
    .await?)
}

pub async fn delete(conn: &mut Conn, org_id: OrgId) -> Result<()> {
    let done = sqlx::query("DELETE FROM slack_connections WHERE org_id = $1")
        .bind(org_id.col())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Links a Slack user to a user in the org, replacing an earlier link of
/// either.
pub async fn link(
    conn: &mut Conn,
    org_id: OrgId,
    slack_user_id: &str,
    user_id: UserId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM slack_links WHERE org_id = $1 AND (slack_user_id = $2 OR user_id = $3)",
    )
    .bind(org_id.col())
    .bind(slack_user_id)
    .bind(user_id.col())
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO slack_links (org_id, slack_user_id, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(org_id.col())
        .bind(slack_user_id)
        .bind(user_id.col())
        .bind(now.col())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn linked_user(
    conn: &mut Conn,
    org_id: OrgId,
    slack_user_id: &str,
) -> Result<Option<UserId>> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT user_id FROM slack_links WHERE org_id = $1 AND slack_user_id = $2")
            .bind(org_id.col())
            .bind(slack_user_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(id,)| UserId::new(id)))
}

pub async fn insert_link_code(
    conn: &mut Conn,
    code_hash: &str,
    org_id: OrgId,
    slack_user_id: &str,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO slack_link_codes (code_hash, org_id, slack_user_id, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(code_hash)
        .bind(org_id.col())
        .bind(slack_user_id)
        .bind(expires_at.col())
        .execute(conn)
        .await?;
    Ok(())
}

/// Uses up an unexpired link code of the org; returns its Slack user id.
pub async fn redeem_link_code(
    conn: &mut Conn,
    code_hash: &str,
    org_id: OrgId,
    now: Timestamp,
) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "UPDATE slack_link_codes SET used_at = $1
         WHERE code_hash = $2 AND org_id = $3 AND used_at IS NULL AND expires_at > $1 RETURNING slack_user_id",
    )
    .bind(now.col())
    .bind(code_hash)
    .bind(org_id.col())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(s,)| s))
}

/// Records a request as handled. `false` if it already was (a retry or a
/// replay), in which case the caller must not act again.
pub async fn first_time(conn: &mut Conn, request_key: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("INSERT INTO slack_requests (request_key, created_at) VALUES ($1, $2) ON CONFLICT (request_key) DO NOTHING")
        .bind(request_key)
        .bind(now.col())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
