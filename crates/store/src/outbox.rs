//! Outgoing messages. A message is written in the transaction of the change
//! that causes it, so a change and its notification are stored together or
//! not at all; a worker delivers them later.

use crate::{Conn, Result};
use sqlx::FromRow;

pub struct NewMessage<'a> {
    pub org_id: Option<i64>,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub now: i64,
}

pub async fn enqueue(conn: &mut Conn, m: &NewMessage<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO outbox (org_id, kind, recipient, subject, body_text, body_html, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(m.org_id)
    .bind(m.kind)
    .bind(m.recipient)
    .bind(m.subject)
    .bind(m.body_text)
    .bind(m.body_html)
    .bind(m.now)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, FromRow)]
pub struct Message {
    pub id: i64,
    pub org_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: i64,
    pub attempts: i64,
}

/// Messages due for delivery, oldest first.
pub async fn due(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<Message>> {
    Ok(sqlx::query_as(
        "SELECT id, org_id, kind, recipient, subject, body_text, body_html, created_at, attempts FROM outbox
         WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

pub async fn mark_sent(conn: &mut Conn, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    next_attempt_at: i64,
) -> Result<()> {
    sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3")
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every message to one recipient, newest first (for tests and admins).
pub async fn for_recipient(conn: &mut Conn, recipient: &str) -> Result<Vec<Message>> {
    Ok(sqlx::query_as(
        "SELECT id, org_id, kind, recipient, subject, body_text, body_html, created_at, attempts FROM outbox
         WHERE recipient = $1 ORDER BY id DESC",
    )
    .bind(recipient)
    .fetch_all(conn)
    .await?)
}
