//! Webhooks: the org's endpoints, a form to add one (its signing secret
//! shown once, in the response of that form), what waits or was given up,
//! a test button and removal. Needs `integrations:manage`, decided by the
//! use cases.

use super::frame::{describe, show, PageResult};
use super::session::{InOrg, NoFields, PathId, Posted};
use super::text::{list as split_list, when_ms, Precision};
use crate::app::webhooks::NewWebhookRequest;
use crate::http::error::ApiError;
use askama::Template;
use axum::http::StatusCode;
use serde::Deserialize;

struct HookRow {
    id: i64,
    url: String,
    events: String,
    created: String,
    pending: i64,
    failed: i64,
}

/// A webhook just made: its secret, shown once.
struct Made {
    url: String,
    secret: String,
}

struct Undelivered {
    to: String,
    action: String,
    attempts: i64,
    error: String,
    given_up: bool,
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    f: super::frame::Frame,
    made: Option<Made>,
    error: Option<String>,
    hooks: Vec<HookRow>,
    undelivered: Vec<Undelivered>,
}

async fn webhooks_page(
    o: &InOrg,
    status: StatusCode,
    made: Option<Made>,
    error: Option<String>,
) -> PageResult {
    let hooks = o.app().list_webhooks(&o.access).await?;
    let undelivered = o
        .app()
        .undelivered(&o.access)
        .await?
        .into_iter()
        .filter(|m| m.kind == roster_store::webhooks::KIND)
        .map(|m| Undelivered {
            to: m.recipient,
            action: m.subject,
            attempts: m.attempts,
            error: m.last_error,
            given_up: m.failed_at.is_some(),
        })
        .collect();
    let f = o.frame("webhooks", "Webhooks").await?;
    let page = WebhooksPage {
        f,
        made,
        error,
        hooks: hooks
            .into_iter()
            .map(|h| HookRow {
                id: h.webhook.id,
                url: h.webhook.url.clone(),
                events: if h.webhook.events.is_empty() {
                    "every event".to_owned()
                } else {
                    h.webhook.events.replace(' ', ", ")
                },
                created: when_ms(h.webhook.created_at, Precision::Minute),
                pending: h.pending,
                failed: h.failed,
            })
            .collect(),
        undelivered,
    };
    Ok(show(status, &page, &page.f))
}

pub async fn list(o: InOrg) -> PageResult {
    webhooks_page(&o, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
    #[serde(default)]
    events: String,
}

pub async fn create(o: InOrg, Posted { form, .. }: Posted<WebhookForm>) -> PageResult {
    let req = NewWebhookRequest {
        url: form.url,
        events: split_list(&form.events),
        secret: None,
    };
    match o.app().create_webhook(&o.access, req, o.meta()).await {
        Ok((hook, secret)) => {
            let made = Made {
                url: hook.url,
                secret,
            };
            webhooks_page(&o, StatusCode::CREATED, Some(made), None).await
        }
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            webhooks_page(&o, status, None, Some(text)).await
        }
    }
}

pub async fn delete(
    PathId(id): PathId<i64>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .delete_webhook(&o.access, id, o.meta())
        .await
        .map(|()| format!("Deleted webhook {id}."));
    Ok(o.back("webhooks", outcome))
}

pub async fn test(
    PathId(id): PathId<i64>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = crate::http::routes::webhooks::send_test(o.app(), &o.access, id)
        .await
        .and_then(|r| match (r.delivered, r.status, r.error) {
            (true, Some(s), _) => Ok(format!("Test delivery to webhook {id} accepted ({s}).")),
            (_, _, e) => Err(ApiError::request(
                StatusCode::BAD_GATEWAY,
                crate::http::error::Code::Unavailable,
                format!(
                    "Test delivery to webhook {id} failed: {}.",
                    e.unwrap_or_else(|| "no answer".to_owned())
                ),
            )),
        });
    Ok(o.back("webhooks", outcome))
}
