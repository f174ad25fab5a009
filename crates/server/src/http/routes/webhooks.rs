//! `/orgs/{org}/webhooks`: endpoints that receive the org's audit events,
//! signed as Standard Webhooks says.

use crate::app::time::rfc3339;
use crate::app::webhooks::{NewWebhookRequest, WebhookStatus};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Org, PathId};
use crate::http::AppState;
use crate::integrations::webhooks::WebhookSender;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_proto::{
    CreateWebhookRequest, Page, Problem, WebhookCreated, WebhookTestResult, WebhookView,
};
use roster_store::webhooks::Webhook;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(test_webhook))
}

fn view(w: &Webhook, pending: i64, failed: i64) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url.clone(),
        events: w.events.split_whitespace().map(str::to_owned).collect(),
        created_at: rfc3339(w.created_at),
        pending,
        failed,
    }
}

/// The org's webhook endpoints, with their undelivered counts. Needs
/// `integrations:manage`.
#[utoipa::path(get, path = "/orgs/{org}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Page<WebhookView>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_webhooks(Org { app, access, .. }: Org) -> Result<Json<Page<WebhookView>>, ApiError> {
    let rows = app.list_webhooks(&access).await?;
    Ok(Json(Page {
        items: rows
            .iter()
            .map(
                |WebhookStatus {
                     webhook,
                     pending,
                     failed,
                 }| view(webhook, *pending, *failed),
            )
            .collect(),
        next_cursor: None,
    }))
}

/// Add a webhook endpoint: every audit event of the org that its filter
/// names is POSTed to it, signed with its `whsec_` secret (shown this
/// once). http(s) only; loopback, private and link-local addresses are
/// refused unless the operator allows them. Needs `integrations:manage`.
#[utoipa::path(post, path = "/orgs/{org}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    request_body = CreateWebhookRequest,
    responses((status = 201, body = WebhookCreated), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_webhook(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<CreateWebhookRequest>,
) -> Result<Response, ApiError> {
    let (hook, secret) = app
        .create_webhook(
            &access,
            NewWebhookRequest {
                url: req.url,
                events: req.events,
                secret: req.secret,
            },
            &meta,
        )
        .await?;
    let body = WebhookCreated {
        secret,
        view: view(&hook, 0, 0),
    };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Remove a webhook endpoint, and what was still waiting to be delivered
/// to it. Needs `integrations:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the endpoint's id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_webhook(
    Org { app, access, meta }: Org,
    PathId(id): PathId<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_webhook(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a signed test delivery (`type: webhook.test`) to an endpoint now,
/// and say whether it answered 2xx. Needs `integrations:manage`.
#[utoipa::path(post, path = "/orgs/{org}/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the endpoint's id")),
    responses((status = 200, body = WebhookTestResult), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn test_webhook(
    Org { app, access, .. }: Org,
    PathId(id): PathId<i64>,
) -> Result<Json<WebhookTestResult>, ApiError> {
    Ok(Json(send_test(&app, &access, id).await?))
}

/// Sends a test delivery to endpoint `id` of the org (the API's and the
/// console's button).
pub async fn send_test(
    app: &crate::app::App,
    access: &crate::app::OrgAccess,
    id: i64,
) -> Result<WebhookTestResult, ApiError> {
    let target = app.webhook_test_target(access, id).await?;
    let now = rfc3339(app.now());
    let payload = json!({
        "type": "webhook.test",
        "timestamp": now,
        "data": { "org": access.org.slug.as_str(), "webhook_id": id },
    })
    .to_string();
    let msg_id = format!("msg_test_{}", uuid::Uuid::new_v4().simple());
    let sender = WebhookSender::new(app.webhook_guard());
    Ok(
        match sender
            .send(&target.url, &target.secret, &msg_id, &payload)
            .await
        {
            Ok(a) => WebhookTestResult {
                delivered: true,
                status: Some(a.status),
                error: None,
            },
            Err(e) => WebhookTestResult {
                delivered: false,
                status: None,
                error: Some(e),
            },
        },
    )
}
