//! Slack: connections, linked users, link codes and handled requests.

use crate::sql::{exec, exec_count, exec_one, fetch_optional};
use crate::{Conn, Result};
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

const SELECT: &str = "SELECT org_id, team_id, channel, api_base_url, signing_secret_enc, \
    bot_token_enc, created_at, updated_at FROM slack_connections";

/// Creates or replaces an org's connection. A workspace connected to
/// another org is [`crate::StoreError::Conflict`].
pub async fn upsert(conn: &mut Conn, c: &Connection) -> Result<()> {
    let text = "DELETE FROM slack_connections WHERE org_id = $1";
    exec(conn, text, (c.org_id,)).await?;
    exec(
        conn,
        "INSERT INTO slack_connections (org_id, team_id, channel, api_base_url, signing_secret_enc, bot_token_enc, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        (
            c.org_id,
            &c.team_id,
            &c.channel,
            &c.api_base_url,
            &c.signing_secret_enc,
            &c.bot_token_enc,
            c.created_at,
            c.updated_at,
        ),
    )
    .await
}

pub async fn for_org(conn: &mut Conn, org_id: OrgId) -> Result<Option<Connection>> {
    let text = format!("{SELECT} WHERE org_id = $1");
    fetch_optional(conn, &text, (org_id,)).await
}

pub async fn for_team(conn: &mut Conn, team_id: &str) -> Result<Option<Connection>> {
    let text = format!("{SELECT} WHERE team_id = $1");
    fetch_optional(conn, &text, (team_id,)).await
}

pub async fn delete(conn: &mut Conn, org_id: OrgId) -> Result<()> {
    let text = "DELETE FROM slack_connections WHERE org_id = $1";
    exec_one(conn, text, (org_id,)).await
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
    exec(
        conn,
        "DELETE FROM slack_links WHERE org_id = $1 AND (slack_user_id = $2 OR user_id = $3)",
        (org_id, slack_user_id, user_id),
    )
    .await?;
    exec(
        conn,
        "INSERT INTO slack_links (org_id, slack_user_id, user_id, created_at) VALUES ($1, $2, $3, $4)",
        (org_id, slack_user_id, user_id, now),
    )
    .await
}

pub async fn linked_user(
    conn: &mut Conn,
    org_id: OrgId,
    slack_user_id: &str,
) -> Result<Option<UserId>> {
    let text = "SELECT user_id FROM slack_links WHERE org_id = $1 AND slack_user_id = $2";
    let row: Option<(i64,)> = fetch_optional(conn, text, (org_id, slack_user_id)).await?;
    Ok(row.map(|(id,)| UserId::new(id)))
}

pub async fn insert_link_code(
    conn: &mut Conn,
    code_hash: &str,
    org_id: OrgId,
    slack_user_id: &str,
    expires_at: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO slack_link_codes (code_hash, org_id, slack_user_id, expires_at) VALUES ($1, $2, $3, $4)",
        (code_hash, org_id, slack_user_id, expires_at),
    )
    .await
}

/// Uses up an unexpired link code of the org; returns its Slack user id.
pub async fn redeem_link_code(
    conn: &mut Conn,
    code_hash: &str,
    org_id: OrgId,
    now: Timestamp,
) -> Result<Option<String>> {
    let row: Option<(String,)> = fetch_optional(
        conn,
        "UPDATE slack_link_codes SET used_at = $1
         WHERE code_hash = $2 AND org_id = $3 AND used_at IS NULL AND expires_at > $1 RETURNING slack_user_id",
        (now, code_hash, org_id),
    )
    .await?;
    Ok(row.map(|(s,)| s))
}

/// Records a request as handled. `false` if it already was (a retry or a
/// replay), in which case the caller must not act again.
pub async fn first_time(conn: &mut Conn, request_key: &str, now: Timestamp) -> Result<bool> {
    let inserted = exec_count(
        conn,
        "INSERT INTO slack_requests (request_key, created_at) VALUES ($1, $2) ON CONFLICT (request_key) DO NOTHING",
        (request_key, now),
    )
    .await?;
    Ok(inserted == 1)
}
