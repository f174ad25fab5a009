//! Writing and reading the audit log.

use super::caller::Actor;
use super::error::Result;
use super::orgs::{invalid, OrgAccess};
use super::time::parse_rfc3339;
use super::{App, RequestMeta};
use roster_domain::{Email, ManagementPermission, OrgId, Timestamp};
use roster_store::audit::{self, Event, EventFilter, NewEvent};
use roster_store::Conn;

/// One event to record, inside the transaction of the change it describes.
pub struct AuditEntry<'a> {
    pub org_id: Option<OrgId>,
    pub actor: Option<&'a Actor>,
    pub action: &'a str,
    pub target: String,
    pub details: serde_json::Value,
}

/// Writes one event; only [`super::change::Change`] calls it, so every
/// event is part of the change it describes.
pub(super) async fn record(
    conn: &mut Conn,
    meta: &RequestMeta,
    at: Timestamp,
    e: AuditEntry<'_>,
) -> Result<()> {
    let details = e.details.to_string();
    audit::insert(
        conn,
        &NewEvent {
            org_id: e.org_id,
            at,
            actor_id: e.actor.map(|p| p.user_id),
            actor_email: e.actor.map(|p| p.email.as_str()).unwrap_or(""),
            actor_name: e.actor.map(|p| p.name.as_str()).unwrap_or(""),
            channel: meta.channel.as_str(),
            action: e.action,
            target: &e.target,
            details: &details,
            client_addr: &meta.client_addr,
            request_id: &meta.request_id,
        },
    )
    .await?;
    Ok(())
}

/// The filters of `GET /orgs/{org}/audit`, as received.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl App {
    /// A page of the org's audit log, newest first. Needs `audit:read`.
    pub async fn audit_list(
        &self,
        access: &OrgAccess,
        q: &AuditQuery,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Event>> {
        access.require(ManagementPermission::AuditRead)?;
        let time = |field: &'static str, v: &Option<String>| -> Result<Option<Timestamp>> {
            v.as_deref()
                .map(|s| {
                    parse_rfc3339(s)
                        .ok_or_else(|| invalid(field, "a time looks like 2026-01-31T12:00:00Z"))
                })
                .transpose()
        };
        let filter = EventFilter {
            actor: q
                .actor
                .as_deref()
                .map(|a| Email::parse(a).map(|e| e.as_str().to_owned()))
                .transpose()
                .map_err(|_| invalid("actor", "actor is the email of the person who acted"))?,
            action: q.action.clone(),
            target: q.target.clone(),
            since: time("since", &q.since)?,
            until: time("until", &q.until)?,
        };
        let mut conn = self.store().conn().await?;
        Ok(audit::list(&mut conn, access.org.id, &filter, before, limit).await?)
    }
}
