//! `/orgs/{org}/outbox`: messages that have not been delivered, for
//! administrators to see what is stuck and why.

use crate::app::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::Org;
use crate::http::AppState;
use axum::Json;
use roster_proto::{Problem, UndeliveredMessageView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(undelivered))
}

/// The org's undelivered messages (still being retried, or given up), oldest
/// first, with the last error. Needs `integrations:manage`.
#[utoipa::path(get, path = "/orgs/{org}/outbox/undelivered", tag = "outbox", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Vec<UndeliveredMessageView>), (status = 403, body = Problem)))]
async fn undelivered(
    Org { app, access, .. }: Org,
) -> Result<Json<Vec<UndeliveredMessageView>>, ApiError> {
    let rows = app.undelivered(&access).await?;
    Ok(Json(
        rows.iter()
            .map(|m| UndeliveredMessageView {
                id: m.id,
                kind: m.kind.clone(),
                recipient: m.recipient.clone(),
                subject: m.subject.clone(),
                created_at: rfc3339(m.created_at),
                attempts: m.attempts,
                next_attempt_at: m.failed_at.is_none().then(|| rfc3339(m.next_attempt_at)),
                last_error: m.last_error.clone(),
                failed_at: m.failed_at.map(rfc3339),
            })
            .collect(),
    ))
}
