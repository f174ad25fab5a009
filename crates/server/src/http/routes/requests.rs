//! `/orgs/{org}/requests`: review requests.

use crate::app::requests::{NewRequest, RequestInfo};
use crate::app::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{ActionJson, ApiJson, ApiQuery, Org, PathId};
use crate::http::pagination;
use crate::http::AppState;
use axum::http::StatusCode;
use axum::Json;
use roster_domain::{RequestId, Timestamp};
use roster_proto::{
    Page, Problem, ReviewDecisionRequest, ReviewRequestRequest, ReviewRequestView, ReviewVoteView,
};
use roster_store::requests::RequestRow;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, create_request))
        .routes(routes!(show_request))
        .routes(routes!(approve_request))
        .routes(routes!(reject_request))
}

fn view(
    row: RequestRow,
    votes: Vec<roster_store::requests::VoteRow>,
    now: Timestamp,
) -> ReviewRequestView {
    let status = row.effective_status(now);
    ReviewRequestView {
        id: row.id.get(),
        requester: row.requester_email,
        resource: row.resource,
        action: row.action,
        reason: row.reason,
        duration_seconds: row.duration_seconds,
        approvals_required: row.approvals_required,
        status: status.as_str().to_owned(),
        created_at: rfc3339(row.created_at),
        decided_at: row.decided_at.map(rfc3339),
        expires_at: row.expires_at.map(rfc3339),
        votes: votes
            .into_iter()
            .map(|v| ReviewVoteView {
                reviewer: v.reviewer_email,
                decision: v.decision,
                comment: v.comment,
                at: rfc3339(v.at),
            })
            .collect(),
    }
}

fn info_view(i: RequestInfo, now: Timestamp) -> ReviewRequestView {
    view(i.row, i.votes, now)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestListQuery {
    /// `pending`, `approved` or `rejected`.
    status: Option<String>,
    /// Only the caller's own requests (needs no `users:read`).
    mine: Option<bool>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Review requests, oldest first. Listing others' requests needs
/// `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/requests", tag = "requests", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), RequestListQuery),
    responses((status = 200, body = Page<ReviewRequestView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_requests(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<RequestListQuery>,
) -> Result<Json<Page<ReviewRequestView>>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let after = pagination::decode("q", q.cursor.as_deref())?;
    let mut rows = app
        .list_requests(
            &access,
            q.status.as_deref(),
            q.mine.unwrap_or(false),
            after,
            limit + 1,
        )
        .await?;
    let next = pagination::next(&mut rows, limit, "q", |r| r.id.get());
    Ok(Json(Page {
        items: rows
            .into_iter()
            .map(|r| view(r, Vec::new(), app.now()))
            .collect(),
        next_cursor: next,
    }))
}

/// Ask to do an action on a resource whose review policy requires it.
/// Eligible reviewers are notified by email.
#[utoipa::path(post, path = "/orgs/{org}/requests", tag = "requests", security(("bearer" = [])), request_body = ReviewRequestRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = ReviewRequestView), (status = 409, description = "`review_not_required`", body = Problem), (status = 422, body = Problem)))]
async fn create_request(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<ReviewRequestRequest>,
) -> Result<(StatusCode, Json<ReviewRequestView>), ApiError> {
    let info = app
        .create_request(
            &access,
            NewRequest {
                resource: req.resource,
                action: req.action,
                reason: req.reason,
                duration_seconds: req.duration_seconds,
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(info_view(info, app.now()))))
}

/// One request with its votes.
#[utoipa::path(get, path = "/orgs/{org}/requests/{id}", tag = "requests", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the request's id")),
    responses((status = 200, body = ReviewRequestView), (status = 404, body = Problem)))]
async fn show_request(
    Org { app, access, .. }: Org,
    PathId(id): PathId<RequestId>,
) -> Result<Json<ReviewRequestView>, ApiError> {
    let info = app.get_request(&access, id).await?;
    Ok(Json(info_view(info, app.now())))
}

async fn decide(
    org: Org,
    id: RequestId,
    approve: bool,
    req: ReviewDecisionRequest,
) -> Result<Json<ReviewRequestView>, ApiError> {
    let comment = req.comment.unwrap_or_default();
    let info = org
        .app
        .review_request(&org.access, id, approve, &comment, &org.meta)
        .await?;
    Ok(Json(info_view(info, org.app.now())))
}

/// Approve a pending request as an eligible reviewer: holding
/// `requests:approve` on the resource, sharing a group with it when it
/// names groups, and not the requester.
#[utoipa::path(post, path = "/orgs/{org}/requests/{id}/approve", tag = "requests", security(("bearer" = [])), request_body = Option<ReviewDecisionRequest>,
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the request's id")),
    responses((status = 200, body = ReviewRequestView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "`request_decided`, `already_reviewed`", body = Problem)))]
async fn approve_request(
    org: Org,
    PathId(id): PathId<RequestId>,
    ActionJson(req): ActionJson<ReviewDecisionRequest>,
) -> Result<Json<ReviewRequestView>, ApiError> {
    decide(org, id, true, req).await
}

/// Reject a pending request as an eligible reviewer; one rejection ends it.
#[utoipa::path(post, path = "/orgs/{org}/requests/{id}/reject", tag = "requests", security(("bearer" = [])), request_body = Option<ReviewDecisionRequest>,
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the request's id")),
    responses((status = 200, body = ReviewRequestView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "`request_decided`, `already_reviewed`", body = Problem)))]
async fn reject_request(
    org: Org,
    PathId(id): PathId<RequestId>,
    ActionJson(req): ActionJson<ReviewDecisionRequest>,
) -> Result<Json<ReviewRequestView>, ApiError> {
    decide(org, id, false, req).await
}
