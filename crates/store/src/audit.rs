//! The append-only audit log.

use crate::sql::{scalar, Sql};
use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp, UserId};
use sqlx::FromRow;

/// An event to record. The actor's email and name are copied, so the event
/// still says who acted after that user is gone or renamed.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub org_id: Option<OrgId>,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_email: &'a str,
    pub actor_name: &'a str,
    pub channel: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    /// A JSON object.
    pub details: &'a str,
    pub client_addr: &'a str,
    pub request_id: &'a str,
}

pub async fn insert(conn: &mut Conn, e: &NewEvent<'_>) -> Result<i64> {
    scalar(
        conn,
        "INSERT INTO audit_events (org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        (
            e.org_id,
            e.at,
            e.actor_id,
            e.actor_email,
            e.actor_name,
            e.channel,
            e.action,
            e.target,
            e.details,
            e.client_addr,
            e.request_id,
        ),
    )
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct Event {
    pub id: i64,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub org_id: Option<OrgId>,
    #[sqlx(try_from = "i64")]
    pub at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub actor_id: Option<UserId>,
    pub actor_email: String,
    pub actor_name: String,
    pub channel: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub client_addr: String,
    pub request_id: String,
}

/// Filters of `GET /orgs/{org}/audit`; they combine with AND.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    /// The actor's email (exact, lower-case).
    pub actor: Option<String>,
    /// An action, or a prefix ending in `.` (`users.` matches `users.create`).
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A page of an org's events, newest first, older than `before` (an id).
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    f: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>> {
    let mut q = Sql::new(
        "SELECT id, org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id \
         FROM audit_events WHERE org_id = ",
    );
    q.bind(org_id)
        .and("id < ", before)
        .and("actor_email = ", f.actor.as_ref());
    match &f.action {
        Some(a) if a.ends_with('.') => {
            q.and("action >= ", Some(a))
                .and("action < ", Some(format!("{a}\u{10FFFF}")));
        }
        a => {
            q.and("action = ", a.as_ref());
        }
    }
    q.and("target = ", f.target.as_ref())
        .and("at >= ", f.since)
        .and("at < ", f.until)
        .push(" ORDER BY id DESC LIMIT ")
        .bind(limit);
    q.fetch_all(conn).await
}

/// The actions of the events that belong to no org about `target`
/// (a person's own events: sign-in steps, second factors), oldest first.
pub async fn actions_without_org(conn: &mut Conn, target: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = crate::sql::fetch_all(
        conn,
        "SELECT action FROM audit_events WHERE org_id IS NULL AND target = $1 ORDER BY id",
        (target,),
    )
    .await?;
    Ok(rows.into_iter().map(|(a,)| a).collect())
}
