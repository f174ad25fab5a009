//! `/healthz` (the process is up) and `/readyz` (it can serve: the database
//! answers).

use crate::app::AppError;
use crate::http::error::ApiError;
use crate::http::AppState;
use axum::extract::State;
use axum::Json;
use roster_proto::{Health, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness: answers while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: answers 200 when the database does, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Problem)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state
        .app
        .store()
        .ping()
        .await
        .map_err(|_| AppError::Unavailable)?;
    Ok(Json(Health {
        status: "ready".into(),
    }))
}
