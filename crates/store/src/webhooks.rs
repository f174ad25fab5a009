//! Webhook endpoints of an org. Deliveries are outbox messages of kind
//! `webhook` addressed to `webhook:<id>`; the signing secret is stored
//! encrypted by the caller.

use crate::sql::{exec, exec_count, fetch_all, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp, UserId};
use sqlx::FromRow;

/// The outbox kind of a webhook delivery.
pub const KIND: &str = "webhook";

/// The outbox recipient of deliveries to endpoint `id`.
pub fn recipient(id: i64) -> String {
    format!("webhook:{id}")
}

#[derive(Debug, Clone, FromRow)]
pub struct Webhook {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    pub url: String,
    /// Space-separated actions and prefixes ending in `.`; empty: every event.
    pub events: String,
    pub secret_enc: String,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
}

impl Webhook {
    /// Whether an event with `action` goes to this endpoint.
    pub fn wants(&self, action: &str) -> bool {
        self.events.trim().is_empty()
            || self.events.split_whitespace().any(|f| {
                if f.ends_with('.') {
                    action.starts_with(f)
                } else {
                    action == f
                }
            })
    }
}

const COLUMNS: &str = "id, org_id, url, events, secret_enc, created_at";

pub struct NewWebhook<'a> {
    pub org_id: OrgId,
    pub url: &'a str,
    pub events: &'a str,
    pub secret_enc: &'a str,
    pub created_by: UserId,
    pub now: Timestamp,
}

pub async fn insert(conn: &mut Conn, w: &NewWebhook<'_>) -> Result<i64> {
    scalar(
        conn,
        "INSERT INTO webhooks (org_id, url, events, secret_enc, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        (w.org_id, w.url, w.events, w.secret_enc, w.created_by, w.now),
    )
    .await
}

/// The org's endpoints, oldest first.
pub async fn list(conn: &mut Conn, org_id: OrgId) -> Result<Vec<Webhook>> {
    let text = format!("SELECT {COLUMNS} FROM webhooks WHERE org_id = $1 ORDER BY id");
    fetch_all(conn, &text, (org_id,)).await
}

pub async fn get(conn: &mut Conn, org_id: OrgId, id: i64) -> Result<Option<Webhook>> {
    let text = format!("SELECT {COLUMNS} FROM webhooks WHERE org_id = $1 AND id = $2");
    fetch_optional(conn, &text, (org_id, id)).await
}

/// An endpoint by id alone, for delivering to it.
pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<Webhook>> {
    let text = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    fetch_optional(conn, &text, (id,)).await
}

/// Deletes an endpoint and what was still waiting to be delivered to it.
/// Returns whether it existed.
pub async fn delete(conn: &mut Conn, org_id: OrgId, id: i64) -> Result<bool> {
    let n = exec_count(
        conn,
        "DELETE FROM webhooks WHERE org_id = $1 AND id = $2",
        (org_id, id),
    )
    .await?;
    if n > 0 {
        exec(
            conn,
            "DELETE FROM outbox WHERE recipient = $1 AND sent_at IS NULL",
            (recipient(id),),
        )
        .await?;
    }
    Ok(n > 0)
}

/// Undelivered deliveries of the org's endpoints: (recipient, waiting,
/// given up).
pub async fn undelivered_counts(conn: &mut Conn, org_id: OrgId) -> Result<Vec<(String, i64, i64)>> {
    fetch_all(
        conn,
        "SELECT recipient,
                COALESCE(SUM(CASE WHEN failed_at IS NULL THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0)
         FROM outbox WHERE org_id = $1 AND kind = 'webhook' AND sent_at IS NULL
         GROUP BY recipient",
        (org_id,),
    )
    .await
}
