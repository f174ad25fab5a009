//! Outgoing messages. A message is written in the transaction of the change
//! that causes it, so a change and its notification are stored together or
//! not at all; a worker delivers them later.

use crate::sql::{exec, exec_count, fetch_all, fetch_one, scalar};
use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp};
use sqlx::FromRow;

pub struct NewMessage<'a> {
    pub org_id: Option<OrgId>,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub now: Timestamp,
}

pub async fn enqueue(conn: &mut Conn, m: &NewMessage<'_>) -> Result<i64> {
    scalar(
        conn,
        "INSERT INTO outbox (org_id, kind, recipient, subject, body_text, body_html, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        (
            m.org_id,
            m.kind,
            m.recipient,
            m.subject,
            m.body_text,
            m.body_html,
            m.now,
        ),
    )
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct Message {
    pub id: i64,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub org_id: Option<OrgId>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    pub attempts: i64,
}

const MESSAGE: &str =
    "id, org_id, kind, recipient, subject, body_text, body_html, created_at, attempts";

/// Claims up to `limit` due messages for `worker` until `lease_until` and
/// returns them, oldest first. A message claimed by another worker whose
/// lease has not run out is skipped. The claim conditions stand in the
/// outer WHERE, so on PostgreSQL a concurrent claimer that waited on a row
/// re-checks them and skips what the other took; SQLite runs one writer at
/// a time.
pub async fn claim_due(
    conn: &mut Conn,
    worker: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<Message>> {
    let text = format!(
        "UPDATE outbox SET claimed_by = $1, claimed_until = $2
         WHERE sent_at IS NULL AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)
           AND id IN (SELECT id FROM outbox
                      WHERE sent_at IS NULL AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)
                      ORDER BY id LIMIT $4)
         RETURNING {MESSAGE}"
    );
    let mut rows: Vec<Message> = fetch_all(conn, &text, (worker, lease_until, now, limit)).await?;
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

/// Gives back `worker`'s claims on undelivered messages, so that another
/// worker (or this one after a restart) may send them at once instead of
/// after the lease. Returns how many were released.
pub async fn release_claims(conn: &mut Conn, worker: &str) -> Result<u64> {
    exec_count(
        conn,
        "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
         WHERE claimed_by = $1 AND sent_at IS NULL AND claimed_until IS NOT NULL",
        (worker,),
    )
    .await
}

/// Marks a message sent and drops its bodies: they may carry live links,
/// and a delivered message needs no body.
pub async fn mark_sent(conn: &mut Conn, id: i64, now: Timestamp) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL,
                           body_text = '', body_html = ''
         WHERE id = $2",
        (now, id),
    )
    .await
}

/// Marks several messages sent at once.
pub async fn mark_sent_all(conn: &mut Conn, ids: &[i64], now: Timestamp) -> Result<()> {
    let mut q = crate::sql::Sql::new("UPDATE outbox SET sent_at = ");
    q.bind(now)
        .push(", attempts = attempts + 1, claimed_until = NULL, body_text = '', body_html = '' WHERE id IN ")
        .in_list(ids.iter().copied());
    q.execute(conn).await
}

/// Records a failed attempt. `retry_at: None` gives up: the message stays
/// undelivered, with `failed_at` set, and is not tried again.
pub async fn mark_failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    now: Timestamp,
    retry_at: Option<Timestamp>,
) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, failed_at = $3, claimed_until = NULL
         WHERE id = $4",
        (
            error,
            retry_at.map_or(i64::MAX, Timestamp::unix_ms),
            if retry_at.is_none() { Some(now) } else { None },
            id,
        ),
    )
    .await
}

/// A message that has not been delivered (yet, or ever).
#[derive(Debug, Clone, FromRow)]
pub struct Undelivered {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    pub attempts: i64,
    #[sqlx(try_from = "i64")]
    pub next_attempt_at: Timestamp,
    pub last_error: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub failed_at: Option<Timestamp>,
}

/// An org's undelivered messages, oldest first.
pub async fn undelivered(conn: &mut Conn, org_id: OrgId, limit: i64) -> Result<Vec<Undelivered>> {
    fetch_all(
        conn,
        "SELECT id, kind, recipient, subject, created_at, attempts, next_attempt_at, last_error, failed_at FROM outbox
         WHERE org_id = $1 AND sent_at IS NULL ORDER BY id LIMIT $2",
        (org_id, limit),
    )
    .await
}

/// Counts of undelivered messages for `/metrics`: (waiting, given up).
pub async fn counts(conn: &mut Conn) -> Result<(i64, i64)> {
    fetch_one(
        conn,
        "SELECT COALESCE(SUM(CASE WHEN failed_at IS NULL THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0)
         FROM outbox WHERE sent_at IS NULL",
        (),
    )
    .await
}

/// When the oldest message still being tried was queued, if any.
pub async fn oldest_waiting(conn: &mut Conn) -> Result<Option<Timestamp>> {
    let (at,): (Option<i64>,) = fetch_one(
        conn,
        "SELECT MIN(created_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
        (),
    )
    .await?;
    Ok(at.map(Timestamp::from_unix_ms))
}

/// Every message to one recipient, newest first (for tests and admins).
pub async fn for_recipient(conn: &mut Conn, recipient: &str) -> Result<Vec<Message>> {
    let text = format!("SELECT {MESSAGE} FROM outbox WHERE recipient = $1 ORDER BY id DESC");
    fetch_all(conn, &text, (recipient,)).await
}
