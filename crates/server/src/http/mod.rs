//! The HTTP layer: axum routes, extractors, problem+json and the OpenAPI
//! document.
//!
//! Architecture invariants:
//! - Every API route is registered through `utoipa_axum`'s `routes!`, so a
//!   route cannot exist without its OpenAPI entry.
//! - Handlers parse input into domain types, call one [`crate::app`] use
//!   case, and convert the result with [`views`]. They hold no rules.
//! - Errors become problem+json only in [`error`]; they are logged in the
//!   middleware, inside the request's span, never in `into_response`.

pub mod console;
pub mod error;
pub mod extract;
mod openapi;
mod pagination;
mod routes;
pub mod scim;
pub mod views;

use crate::app::App;
use crate::integrations::slack::SlackApi;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::{ApiError, Code, InternalDetail};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    /// Slack's Web API, for the routes that talk to Slack.
    pub slack: SlackApi,
    /// The OpenID Connect client (single sign-on), with its providers'
    /// cached metadata and keys.
    pub oidc: crate::integrations::oidc::Oidc,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Roster", description = "Organizations, users and access management. Errors are RFC 9457 problem documents with a stable `code`."),
    components(schemas(roster_proto::Problem)),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "me", description = "Your own account"),
        (name = "orgs", description = "Organizations"),
        (name = "users", description = "Members of an organization"),
        (name = "invitations", description = "Invitations by link"),
        (name = "groups", description = "Groups of members"),
        (name = "roles", description = "Roles and permissions"),
        (name = "audit", description = "The audit log"),
        (name = "tokens", description = "API tokens and service accounts"),
        (name = "outbox", description = "Outgoing messages"),
        (name = "signup", description = "Self-registration and approval"),
        (name = "slack", description = "Slack: connection, slash commands, review cards"),
        (name = "sso", description = "Single sign-on (OpenID Connect): connections, group mappings, the sign-in flow"),
        (name = "setup", description = "First start"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

/// The API routes and their OpenAPI document.
fn api() -> (Router<AppState>, serde_json::Value) {
    let v1 = OpenApiRouter::new()
        .merge(routes::auth::router())
        .merge(routes::orgs::router())
        .merge(routes::users::router())
        .merge(routes::invitations::router())
        .merge(routes::groups::router())
        .merge(routes::outbox::router())
        .merge(routes::signup::router())
        .merge(routes::slack::router())
        .merge(routes::roles::router())
        .merge(routes::resources::router())
        .merge(routes::check::router())
        .merge(routes::requests::router())
        .merge(routes::audit::router())
        .merge(routes::tokens::router())
        .merge(routes::scim_tokens::router())
        .merge(routes::mfa::router())
        .merge(routes::passkeys::router())
        .merge(routes::webhooks::router())
        .merge(routes::sso::router())
        .merge(routes::setup::api_router());
    let (router, mut doc) = OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .nest("/api/v1", v1)
        .merge(routes::health::router())
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /api/v1/auth/login, or an API token (rst_...)",
                    ))
                    .build(),
            ),
        );
    }
    (router, openapi::with_refusals(&doc))
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> serde_json::Value {
    api().1
}

/// The whole HTTP application.
pub fn router(app: App, slack: SlackApi) -> Router {
    let (api, doc) = api();
    let doc = std::sync::Arc::new(doc);
    let request_id = HeaderName::from_static("x-request-id");
    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
    .nest("/scim/v2", scim::router())
    .merge(
        console::router()
            .merge(pages())
            .layer(middleware::from_fn(console::security_headers)),
    )
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .with_state(AppState {
        oidc: crate::integrations::oidc::Oidc::new(app.sso_guard()),
        app: app.clone(),
        slack,
    })
    .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
    .layer(middleware::from_fn(baseline_headers))
    .layer(middleware::from_fn_with_state(app, observe))
    .layer(
        // The span names the matched route, never the path: a path may
        // carry a token (`/invite/{token}`, `/set-password/{token}`).
        TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
        }),
    )
    .layer(PropagateRequestIdLayer::new(request_id.clone()))
    .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// The pages that links in messages and start-up output open: first-start
/// setup, invitations and set-password links.
fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/setup",
            get(routes::setup::setup_page).post(routes::setup::setup_submit),
        )
        .route(
            "/invite/{token}",
            get(routes::invite_page::show).post(routes::invite_page::accept),
        )
        .route(
            "/invite/{token}/join",
            axum::routing::post(routes::invite_page::join),
        )
        .route(
            "/set-password/{token}",
            get(routes::password_page::show).post(routes::password_page::submit),
        )
        .route(
            "/signup/confirm/{token}",
            get(routes::signup_page::show).post(routes::signup_page::confirm),
        )
}

async fn not_found() -> ApiError {
    ApiError::request(StatusCode::NOT_FOUND, Code::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::request(
        StatusCode::METHOD_NOT_ALLOWED,
        Code::MethodNotAllowed,
        "this route does not take that method",
    )
}

/// Headers every answer carries unless its handler set them: `nosniff`,
/// and `Cache-Control: no-store`, because API answers are one caller's
/// data and some carry secrets shown once (tokens, temporary passwords,
/// invitation links) that no cache may keep. The console sets its own
/// (with long-lived assets); this only fills what is missing.
async fn baseline_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Per request: the access log line (target `roster::access`, at `info`:
/// method, matched route, status, duration, request id; never the path,
/// which may carry a token, nor any header), the request metrics (by
/// method, matched route and status), and server-side failures logged
/// inside the request's span with the detail the response does not carry.
async fn observe(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let request_id = req.headers().get("x-request-id").cloned();
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    if let Some(InternalDetail(detail)) = res.extensions().get::<InternalDetail>() {
        tracing::error!(error = %detail, "request failed");
    } else if res.status().is_server_error() {
        tracing::warn!(status = %res.status(), "request failed");
    }
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = res.status().as_u16();
    app.observer().http_request(&method, route, status, elapsed);
    let request_id = request_id
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match crate::logging::access_log() {
        Some(log) => {
            if log.enabled() {
                log.record(&crate::logging::AccessLine {
                    method: method.as_str(),
                    route,
                    status,
                    elapsed,
                    request_id,
                });
            }
        }
        None => tracing::info!(
            target: "roster::access",
            method = %method,
            route,
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            request_id,
            "request"
        ),
    }
    res.into_response()
}
