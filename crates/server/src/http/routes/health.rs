//! `/healthz` (the process is up) and `/readyz` (it can serve: the database
//! answers).

use crate::app::AppError;
use crate::http::error::{ApiError, Code};
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
        .routes(routes!(metrics))
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
    // Probes expect a quick answer: two seconds without the database is
    // "not ready".
    let ping =
        tokio::time::timeout(std::time::Duration::from_secs(2), state.app.store().ping()).await;
    if !matches!(ping, Ok(Ok(()))) {
        return Err(AppError::Unavailable.into());
    }
    Ok(Json(Health {
        status: "ready".into(),
    }))
}

/// Prometheus metrics in the text exposition format: HTTP requests by
/// method, matched route and status, checks, sign-ins, the outbox, the
/// replica watch, build info and process figures. A scrape reads no
/// database. Not served (404) when `ROSTER_METRICS=false`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 404, description = "metrics are turned off", body = Problem)))]
async fn metrics(
    State(state): State<AppState>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    use std::sync::atomic::Ordering;
    let app = &state.app;
    let m = app.outbox_metrics();
    app.observer().record(|| {
        metrics::counter!("roster_outbox_sent_total").absolute(m.sent.load(Ordering::Relaxed));
        metrics::counter!("roster_outbox_failed_attempts_total")
            .absolute(m.failed_attempts.load(Ordering::Relaxed));
        metrics::counter!("roster_outbox_given_up_total")
            .absolute(m.given_up.load(Ordering::Relaxed));
    });
    let Some(text) = app.observer().render() else {
        return Err(ApiError::request(
            axum::http::StatusCode::NOT_FOUND,
            Code::NotFound,
            "metrics are turned off (ROSTER_METRICS=false)",
        ));
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}
