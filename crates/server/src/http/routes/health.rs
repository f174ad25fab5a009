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

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(
    State(state): State<AppState>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    use std::fmt::Write;
    use std::sync::atomic::Ordering;
    let m = state.app.outbox_metrics();
    let (waiting, given_up) = {
        let mut conn = state.app.store().conn().await?;
        roster_store::outbox::counts(&mut conn).await?
    };
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "roster_outbox_sent_total",
        "counter",
        "Messages delivered by this process.",
        m.sent.load(Ordering::Relaxed),
    );
    metric(
        "roster_outbox_failed_attempts_total",
        "counter",
        "Failed delivery attempts by this process.",
        m.failed_attempts.load(Ordering::Relaxed),
    );
    metric(
        "roster_outbox_given_up_total",
        "counter",
        "Messages this process gave up delivering.",
        m.given_up.load(Ordering::Relaxed),
    );
    metric(
        "roster_outbox_waiting",
        "gauge",
        "Undelivered messages still being tried.",
        waiting.max(0) as u64,
    );
    metric(
        "roster_outbox_undeliverable",
        "gauge",
        "Messages given up after the last attempt.",
        given_up.max(0) as u64,
    );
    let (deltas, builds, build_ms) = state.app.authz_stats();
    metric(
        "roster_authz_deltas_applied_total",
        "counter",
        "Logged changes this process applied to an org's authorization index in place.",
        deltas,
    );
    metric(
        "roster_authz_full_builds_total",
        "counter",
        "Authorization indexes this process built from the database.",
        builds,
    );
    metric(
        "roster_authz_build_milliseconds_total",
        "counter",
        "Time this process spent building authorization indexes.",
        build_ms,
    );
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    ))
}
