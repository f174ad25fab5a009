//! Webhooks (SPEC §3a "Webhooks"): an org's endpoints, and the audit
//! events queued for them in the outbox, in the transaction of the change
//! that records the event, so an event is delivered if and only if it
//! happened. Delivery (signing, the HTTP call) is the integration's
//! (`integrations::webhooks`); the outbox worker's claims make each
//! delivery happen once per endpoint across replicas.

use super::audit::{known_filter, AuditEntry, Recorded};
use super::error::Result;
use super::orgs::{invalid, OrgAccess};
use super::time::rfc3339;
use super::{App, AppError, RequestMeta};
use base64::Engine as _;
use rand::RngCore;
use roster_domain::{ManagementPermission, OrgId, Timestamp};
use roster_store::outbox::NewMessage;
use roster_store::webhooks::{self, NewWebhook, Webhook};
use roster_store::Conn;
use serde_json::json;

/// The longest event filter.
const MAX_FILTERS: usize = 64;

/// A webhook to make, as received.
#[derive(Debug, Clone, Default)]
pub struct NewWebhookRequest {
    pub url: String,
    pub events: Vec<String>,
    /// `whsec_` and base64 of 24 to 64 bytes; made when not given.
    pub secret: Option<String>,
}

/// An endpoint as listed, with what is waiting to be delivered to it.
#[derive(Debug, Clone)]
pub struct WebhookStatus {
    pub webhook: Webhook,
    /// Deliveries still being tried.
    pub pending: i64,
    /// Deliveries given up.
    pub failed: i64,
}

/// Where and how to deliver to an endpoint.
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

/// The body delivered for an audit event (Standard Webhooks' `type`,
/// `timestamp`, `data`).
pub(super) fn payload(
    org: OrgId,
    at: Timestamp,
    meta: &RequestMeta,
    e: &AuditEntry<'_>,
    r: &Recorded,
) -> String {
    json!({
        "type": e.action,
        "timestamp": rfc3339(at),
        "data": {
            "id": r.id,
            "org_id": org.get(),
            "seq": r.seq,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
            "at": rfc3339(at),
            "actor": {
                "id": e.actor.map(|a| a.user_id.get()),
                "email": e.actor.map(|a| &*a.email).unwrap_or(""),
                "name": e.actor.map(|a| &*a.name).unwrap_or(""),
            },
            "channel": meta.channel.as_str(),
            "action": e.action,
            "target": e.target,
            "details": e.details,
            "client_addr": meta.client_addr,
            "request_id": meta.request_id,
        }
    })
    .to_string()
}

/// Queues the delivery of an event to endpoint `id`.
pub(super) async fn queue(
    conn: &mut Conn,
    keys: &crate::crypto::Keys,
    now: Timestamp,
    org: OrgId,
    id: i64,
    action: &str,
    payload: &str,
) -> Result<()> {
    super::outbox::enqueue(
        conn,
        keys,
        &NewMessage {
            org_id: Some(org),
            kind: webhooks::KIND,
            recipient: &webhooks::recipient(id),
            subject: action,
            body_text: payload,
            body_html: "",
            now,
        },
    )
    .await?;
    Ok(())
}

/// A new `whsec_` secret: 32 random bytes.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Checks a secret an administrator brings.
fn parse_secret(raw: &str) -> Result<String> {
    let bad = || {
        invalid(
            "secret",
            "secret is whsec_ followed by base64 of 24 to 64 bytes",
        )
    };
    let b64 = raw.trim().strip_prefix("whsec_").ok_or_else(bad)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad())?;
    if !(24..=64).contains(&bytes.len()) {
        return Err(bad());
    }
    Ok(raw.trim().to_owned())
}

impl App {
    /// The outbound guard for webhook URLs.
    pub fn webhook_guard(&self) -> crate::outbound::Guard {
        crate::outbound::Guard {
            allow_private: self.settings().webhooks_allow_private,
        }
    }

    /// Adds a webhook endpoint. Needs `integrations:manage`. Returns it
    /// with its secret, shown this once.
    pub async fn create_webhook(
        &self,
        access: &OrgAccess,
        req: NewWebhookRequest,
        meta: &RequestMeta,
    ) -> Result<(Webhook, String)> {
        access.require(ManagementPermission::IntegrationsManage)?;
        if req.url.len() > 2000 {
            return Err(invalid("url", "url is at most 2000 characters"));
        }
        let url = self
            .webhook_guard()
            .check_url_resolved(&req.url)
            .await
            .map_err(|e| invalid("url", e.to_string()))?;
        if req.events.len() > MAX_FILTERS {
            return Err(invalid("events", "at most 64 event filters"));
        }
        let mut events: Vec<String> = Vec::new();
        for f in &req.events {
            let f = f.trim();
            if !known_filter(f) {
                return Err(invalid(
                    "events",
                    format!("{f:?} is not an audit action nor a prefix of one ending in '.'"),
                ));
            }
            if !events.iter().any(|e| e == f) {
                events.push(f.to_owned());
            }
        }
        let secret = match &req.secret {
            Some(s) => parse_secret(s)?,
            None => new_secret(),
        };
        let secret_enc = self.keys().encrypt(&secret)?;
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let now = c.now();
        let events_text = events.join(" ");
        let id = webhooks::insert(
            &mut c,
            &NewWebhook {
                org_id: access.org.id,
                url: url.as_str(),
                events: &events_text,
                secret_enc: &secret_enc,
                created_by: access.user_id(),
                now,
            },
        )
        .await?;
        c.audit(
            "webhook.create",
            format!("webhook:{id}"),
            json!({ "url": url.as_str(), "events": events }),
        )
        .await?;
        let hook = webhooks::get(&mut c, access.org.id, id)
            .await?
            .ok_or(AppError::NotFound("webhook"))?;
        c.commit().await?;
        Ok((hook, secret))
    }

    /// The org's endpoints with their undelivered counts. Needs
    /// `integrations:manage`.
    pub async fn list_webhooks(&self, access: &OrgAccess) -> Result<Vec<WebhookStatus>> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        let hooks = webhooks::list(&mut conn, access.org.id).await?;
        let counts = webhooks::undelivered_counts(&mut conn, access.org.id).await?;
        Ok(hooks
            .into_iter()
            .map(|webhook| {
                let r = webhooks::recipient(webhook.id);
                let (pending, failed) = counts
                    .iter()
                    .find(|(rec, _, _)| *rec == r)
                    .map_or((0, 0), |(_, p, f)| (*p, *f));
                WebhookStatus {
                    webhook,
                    pending,
                    failed,
                }
            })
            .collect())
    }

    /// Removes an endpoint and what was waiting for it. Needs
    /// `integrations:manage`.
    pub async fn delete_webhook(
        &self,
        access: &OrgAccess,
        id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let hook = webhooks::get(&mut c, access.org.id, id)
            .await?
            .ok_or(AppError::NotFound("webhook"))?;
        webhooks::delete(&mut c, access.org.id, id).await?;
        c.audit(
            "webhook.delete",
            format!("webhook:{id}"),
            json!({ "url": hook.url }),
        )
        .await?;
        c.commit().await
    }

    /// Where to send a test delivery to an endpoint of the org. Needs
    /// `integrations:manage`.
    pub async fn webhook_test_target(&self, access: &OrgAccess, id: i64) -> Result<WebhookTarget> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        let hook = webhooks::get(&mut conn, access.org.id, id)
            .await?
            .ok_or(AppError::NotFound("webhook"))?;
        Ok(WebhookTarget {
            url: hook.url,
            secret: self.keys().decrypt(&hook.secret_enc)?,
        })
    }

    /// Where to deliver a queued message for endpoint `id` (`None`: the
    /// endpoint is gone).
    pub async fn webhook_delivery_target(&self, id: i64) -> Result<Option<WebhookTarget>> {
        let mut conn = self.store().conn().await?;
        let Some(hook) = webhooks::by_id(&mut conn, id).await? else {
            return Ok(None);
        };
        Ok(Some(WebhookTarget {
            url: hook.url,
            secret: self.keys().decrypt(&hook.secret_enc)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_base64() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert!(parse_secret(&s).is_ok());
        assert!(parse_secret("whsec_short").is_err());
        assert!(parse_secret("plain").is_err());
    }
}
