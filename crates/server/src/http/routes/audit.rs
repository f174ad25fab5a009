//! `/orgs/{org}/audit`: reading the audit log.

use crate::app::AuditQuery;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery, Authed};
use crate::http::pagination;
use crate::http::{views, AppState};
use axum::extract::State;
use axum::Json;
use roster_proto::{AuditEventView, Page, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Filters of the audit log; they combine.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    /// The actor's email.
    actor: Option<String>,
    /// An action (`member.update`) or a prefix ending in `.` (`member.`).
    action: Option<String>,
    /// A target such as `user:42` or `org:acme`.
    target: Option<String>,
    /// RFC 3339; events at or after.
    since: Option<String>,
    /// RFC 3339; events before.
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The org's audit events, newest first. Needs `audit:read`.
#[utoipa::path(get, path = "/orgs/{org}/audit", tag = "audit", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), AuditListQuery),
    responses((status = 200, body = Page<AuditEventView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    Authed(p): Authed,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<AuditListQuery>,
) -> Result<Json<Page<AuditEventView>>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let before = pagination::decode("a", q.cursor.as_deref())?;
    let access = state.app.org_access(&p, &org).await?;
    let query = AuditQuery {
        actor: q.actor,
        action: q.action,
        target: q.target,
        since: q.since,
        until: q.until,
    };
    let mut rows = state
        .app
        .audit_list(&access, &query, before, limit + 1)
        .await?;
    let next_cursor = pagination::next(&mut rows, limit, "a", |e| e.id);
    Ok(Json(Page {
        items: rows.iter().map(views::audit_event).collect(),
        next_cursor,
    }))
}
