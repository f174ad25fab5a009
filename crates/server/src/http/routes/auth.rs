//! `/auth/*` and `/me/*`: signing in and out, the signed-in user's account.

use crate::app::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, Authed, AuthedInSignIn, Meta};
use crate::http::{views, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_proto::{
    ChangePasswordRequest, LoginRequest, LoginResponse, MeResponse, Problem, SessionView,
    SetPasswordRequest, UpdateMeRequest, UserView,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
        .routes(routes!(set_password_with_link))
}

/// Sign in with email and password. The answer's token is the bearer
/// token for later calls (the API sets no cookie: the console signs in on
/// its own pages).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "wrong email or password (`invalid_credentials`), second factor missing (`mfa_required`) or wrong (`invalid_second_factor`)", body = Problem),
        (status = 429, description = "too many failed attempts (`too_many_attempts`)", body = Problem),
    ))]
async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let second = super::passkeys::second_factor(
        req.totp_code.as_deref(),
        req.recovery_code.as_deref(),
        req.passkey,
    );
    let login = state
        .app
        .login(&req.email, &req.password, second, &meta)
        .await?;
    Ok(super::mfa::login_response(&state, login))
}

/// End the current session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
) -> Result<Response, ApiError> {
    state.app.logout(&p).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The signed-in user and their memberships.
#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn me(
    State(state): State<AppState>,
    Authed(p): Authed,
) -> Result<Json<MeResponse>, ApiError> {
    let (user, memberships) = state.app.me(&p).await?;
    Ok(Json(MeResponse {
        user: views::user(&user),
        memberships: memberships.iter().map(views::membership).collect(),
    }))
}

/// Change your own name. Only you can: an org edits its membership of you,
/// never your account. Needs a sign-in session, not an API token.
#[utoipa::path(patch, path = "/me", tag = "me", security(("bearer" = [])), request_body = UpdateMeRequest,
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn update_me(
    State(state): State<AppState>,
    Authed(p): Authed,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<UpdateMeRequest>,
) -> Result<Json<UserView>, ApiError> {
    let user = state.app.rename_me(&p, &req.name, &meta).await?;
    Ok(Json(views::user(&user)))
}

/// Change your password. Allowed with a temporary password; ends your other sessions.
#[utoipa::path(post, path = "/me/password", tag = "me", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn change_password(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .change_password(&p, &req.current_password, &req.new_password, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your live sessions.
#[utoipa::path(get, path = "/me/sessions", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionView>), (status = 401, body = Problem)))]
async fn list_sessions(
    State(state): State<AppState>,
    Authed(p): Authed,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let sessions = state.app.sessions(&p).await?;
    Ok(Json(
        sessions
            .iter()
            .map(|s| SessionView {
                id: s.id.get(),
                current: Some(s.id) == p.session_id(),
                created_at: rfc3339(s.created_at),
                last_seen_at: rfc3339(s.last_seen_at),
                expires_at: rfc3339(s.expires_at),
                client_addr: s.client_addr.clone(),
                user_agent: s.user_agent.clone(),
            })
            .collect(),
    ))
}

/// End one of your sessions.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = i64, Path, description = "session id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn end_session(
    State(state): State<AppState>,
    Authed(p): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .end_session(&p, roster_domain::SessionId::new(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a password with the one-time link of a welcome email. No sign-in
/// needed; the link works once. Ends the user's sessions.
#[utoipa::path(post, path = "/password-links/{token}", tag = "auth", request_body = SetPasswordRequest,
    params(("token" = String, Path, description = "the secret from the link")),
    responses((status = 204), (status = 404, description = "`invalid_link`", body = Problem), (status = 422, body = Problem)))]
async fn set_password_with_link(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<SetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_password_with_link(&token, &req.password, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
