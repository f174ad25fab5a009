//! The check API: `/orgs/{org}/check`, `/orgs/{org}/check/batch` and
//! `/orgs/{org}/users/{id}/permissions`.

use crate::app::check::{CheckOutcome, CheckQuery};
use crate::http::error::{app_problem, ApiError, Code};
use crate::http::extract::{ApiJson, ApiQuery, Checking, PathId};
use crate::http::AppState;
use axum::http::StatusCode;
use axum::Json;
use roster_domain::UserId;
use roster_proto::{
    CheckBatchItem, CheckBatchRequest, CheckBatchResponse, CheckRequest, CheckResponse,
    PermissionView, PermissionsResponse, Problem,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The most checks one batch may hold.
pub const MAX_BATCH: usize = 10_000;

/// A batch's body may be larger than other requests' (64 KiB): 10,000
/// checks with long emails and resource names fit in 4 MiB.
pub const MAX_BATCH_BODY: usize = 4 << 20;

pub fn router() -> OpenApiRouter<AppState> {
    let batch = OpenApiRouter::new()
        .routes(routes!(check_batch))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BATCH_BODY));
    OpenApiRouter::new()
        .routes(routes!(check))
        .routes(routes!(permissions))
        .merge(batch)
}

fn query(r: CheckRequest) -> CheckQuery {
    CheckQuery {
        user: r.user,
        action: r.action,
        resource: r.resource,
    }
}

fn response(o: CheckOutcome) -> CheckResponse {
    CheckResponse {
        allowed: o.allowed,
        reason: o.reason,
        code: o.code.to_owned(),
        rule_id: o.rule_id,
        request_id: o.request_id,
    }
}

/// May `user` do `action` (on `resource`)? Answers with the decision and
/// the rule, group or request that allowed it, or the step that denied it.
/// Asking about another member needs `users:read`. Answered from memory:
/// the very next check after any change sees it.
#[utoipa::path(post, path = "/orgs/{org}/check", tag = "check", security(("bearer" = [])), request_body = CheckRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = CheckResponse), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, description = "unknown action or resource", body = Problem)))]
async fn check(
    Checking { app, cx }: Checking,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, ApiError> {
    let q = query(req);
    let cx = cx.covering(&app, &q.user, q.resource.as_deref()).await?;
    let started = std::time::Instant::now();
    let outcome = cx.check(&q, app.now());
    let elapsed = started.elapsed();
    let series = app.observer().checks();
    match &outcome {
        Ok(o) if o.allowed => series.allowed.increment(1),
        Ok(_) => series.denied.increment(1),
        Err(_) => series.error.increment(1),
    }
    series.single.record(elapsed.as_secs_f64());
    Ok(Json(response(outcome?)))
}

/// Many checks at once (up to 10,000), answered in order. A bad query
/// (unknown action, ...) gets an `error` in its place; the others are
/// answered.
#[utoipa::path(post, path = "/orgs/{org}/check/batch", tag = "check", security(("bearer" = [])), request_body = CheckBatchRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = CheckBatchResponse), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn check_batch(
    Checking { app, cx }: Checking,
    ApiJson(req): ApiJson<CheckBatchRequest>,
) -> Result<Json<CheckBatchResponse>, ApiError> {
    if req.checks.len() > MAX_BATCH {
        return Err(ApiError::request(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::BatchTooLarge,
            format!("a batch holds at most {MAX_BATCH} checks"),
        ));
    }
    let cx = cx.whole(&app).await?;
    let now = app.now();
    let started = std::time::Instant::now();
    let results: Vec<CheckBatchItem> = req
        .checks
        .into_iter()
        .map(|c| match cx.check(&query(c), now) {
            Ok(o) => CheckBatchItem {
                allowed: Some(o.allowed),
                reason: Some(o.reason),
                code: Some(o.code.to_owned()),
                rule_id: o.rule_id,
                request_id: o.request_id,
                error: None,
            },
            Err(e) => CheckBatchItem {
                allowed: None,
                reason: None,
                code: Some(app_problem(&e).1.code),
                rule_id: None,
                request_id: None,
                error: Some(e.to_string()),
            },
        })
        .collect();
    let elapsed = started.elapsed();
    let (mut allowed, mut denied, mut failed) = (0u64, 0u64, 0u64);
    for r in &results {
        match r.allowed {
            Some(true) => allowed += 1,
            Some(false) => denied += 1,
            None => failed += 1,
        }
    }
    let series = app.observer().checks();
    series.allowed.increment(allowed);
    series.denied.increment(denied);
    series.error.increment(failed);
    series.batch.record(elapsed.as_secs_f64());
    Ok(Json(CheckBatchResponse { results }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PermissionsQuery {
    /// A resource (`type/name`); absent for org-wide permissions.
    resource: Option<String>,
}

/// Every permission a member holds in the org, or on a resource, each with
/// the reason. Asking about another member needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/users/{id}/permissions", tag = "check", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id"), PermissionsQuery),
    responses((status = 200, body = PermissionsResponse), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn permissions(
    Checking { app, cx }: Checking,
    PathId(id): PathId<UserId>,
    ApiQuery(q): ApiQuery<PermissionsQuery>,
) -> Result<Json<PermissionsResponse>, ApiError> {
    let user = id.to_string();
    let cx = cx.covering(&app, &user, q.resource.as_deref()).await?;
    let list = app.permissions(&cx, &user, q.resource.as_deref())?;
    let id = id.get();
    Ok(Json(PermissionsResponse {
        user: id,
        resource: q.resource,
        permissions: list
            .into_iter()
            .map(|(permission, o)| PermissionView {
                permission,
                reason: o.reason,
            })
            .collect(),
    }))
}
