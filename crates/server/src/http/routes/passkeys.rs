//! `/me/passkeys/*` (your passkeys: register, list, rename, remove) and
//! `/auth/passkey/*` (signing in with one). Credential endpoints need a
//! sign-in session: an API token is refused (`session_required`).

use crate::app::mfa::SecondFactor;
use crate::app::passkeys::{Assertion, Ceremony};
use crate::app::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, AuthedInSignIn, Meta};
use crate::http::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_proto::{
    LoginResponse, PasskeyAssertion, PasskeyChallengeView, PasskeyRegistrationRequest, PasskeyView,
    Problem, RemoveMfaRequest, RenamePasskeyRequest,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_passkeys, add_passkey))
        .routes(routes!(start_registration))
        .routes(routes!(rename_passkey, remove_passkey))
        .routes(routes!(start_sign_in))
        .routes(routes!(sign_in))
}

pub(crate) fn view(p: &roster_store::passkeys::Passkey) -> PasskeyView {
    PasskeyView {
        id: p.id,
        name: p.name.clone(),
        created_at: rfc3339(p.created_at),
        last_used_at: p.last_used_at.map(rfc3339),
    }
}

pub(crate) fn challenge_view(c: Ceremony) -> PasskeyChallengeView {
    PasskeyChallengeView {
        challenge_id: c.challenge_id,
        options: c.options,
        expires_at: rfc3339(c.expires_at),
    }
}

/// A passkey answer as the application takes it.
pub(crate) fn assertion(a: PasskeyAssertion) -> Assertion {
    Assertion {
        challenge_id: a.challenge_id,
        credential: a.credential,
    }
}

/// The second factor a request carries: a passkey, a code or a recovery
/// code.
pub(crate) fn second_factor(
    totp: Option<&str>,
    recovery: Option<&str>,
    passkey: Option<PasskeyAssertion>,
) -> Option<SecondFactor> {
    match passkey {
        Some(a) => Some(SecondFactor::Passkey(assertion(a))),
        None => SecondFactor::from_fields(totp, recovery),
    }
}

fn no_store(status: StatusCode, body: impl IntoResponse) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

/// Your passkeys, oldest first.
#[utoipa::path(get, path = "/me/passkeys", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Vec<PasskeyView>), (status = 401, body = Problem),
        (status = 403, description = "`session_required` (an API token)", body = Problem)))]
async fn list_passkeys(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
) -> Result<Json<Vec<PasskeyView>>, ApiError> {
    let list = state.app.passkeys(&p).await?;
    Ok(Json(list.iter().map(view).collect()))
}

/// Start registering a passkey: options for
/// `navigator.credentials.create()`, bound to your account, for five
/// minutes, once. Open to a session that must enrol a second factor.
#[utoipa::path(post, path = "/me/passkeys/registration", tag = "me", security(("bearer" = [])),
    responses((status = 201, body = PasskeyChallengeView), (status = 401, body = Problem),
        (status = 403, description = "`session_required` (an API token)", body = Problem),
        (status = 501, description = "`passkeys_unavailable`", body = Problem)))]
async fn start_registration(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
) -> Result<Response, ApiError> {
    let c = state.app.start_passkey_registration(&p).await?;
    Ok(no_store(StatusCode::CREATED, Json(challenge_view(c))))
}

/// Finish registering a passkey with the authenticator's answer. It then
/// counts as a second factor (also for an org's `mfa_policy`).
#[utoipa::path(post, path = "/me/passkeys", tag = "me", security(("bearer" = [])), request_body = PasskeyRegistrationRequest,
    responses((status = 201, body = PasskeyView),
        (status = 400, description = "`passkey_challenge_invalid`", body = Problem),
        (status = 401, description = "`passkey_rejected`", body = Problem),
        (status = 403, description = "`session_required`", body = Problem),
        (status = 409, description = "`passkey_already_registered`", body = Problem),
        (status = 422, description = "`validation_failed` (the name), `passkey_malformed`", body = Problem)))]
async fn add_passkey(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<PasskeyRegistrationRequest>,
) -> Result<Response, ApiError> {
    let added = state
        .app
        .finish_passkey_registration(&p, &req.challenge_id, &req.name, &req.credential, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(view(&added))).into_response())
}

/// Rename one of your passkeys.
#[utoipa::path(patch, path = "/me/passkeys/{id}", tag = "me", security(("bearer" = [])), request_body = RenamePasskeyRequest,
    params(("id" = i64, Path, description = "the passkey's id")),
    responses((status = 200, body = PasskeyView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn rename_passkey(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RenamePasskeyRequest>,
) -> Result<Json<PasskeyView>, ApiError> {
    let renamed = state.app.rename_passkey(&p, id, &req.name, &meta).await?;
    Ok(Json(view(&renamed)))
}

/// Remove one of your passkeys, with your password and a current second
/// factor (a code, a recovery code, or a passkey's answer to a challenge
/// from `POST /auth/passkey/challenge`), as removing the authenticator
/// app needs. Ends your other sessions.
#[utoipa::path(delete, path = "/me/passkeys/{id}", tag = "me", security(("bearer" = [])), request_body = RemoveMfaRequest,
    params(("id" = i64, Path, description = "the passkey's id")),
    responses((status = 204),
        (status = 400, description = "`passkey_challenge_invalid`", body = Problem),
        (status = 401, description = "`invalid_credentials`, `invalid_second_factor`, `mfa_required`, `passkey_rejected`, `passkey_unknown`", body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn remove_passkey(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RemoveMfaRequest>,
) -> Result<StatusCode, ApiError> {
    let factor = second_factor(
        req.totp_code.as_deref(),
        req.recovery_code.as_deref(),
        req.passkey,
    );
    state
        .app
        .remove_passkey(&p, id, &req.password, factor, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start a passkey sign-in: options for `navigator.credentials.get()`
/// naming no account (the authenticator offers its passkeys for this
/// site), for five minutes, once. The answer signs in alone
/// (`POST /auth/passkey`) or is the second factor of `POST /auth/login`,
/// `POST /auth/mfa` and the removals.
#[utoipa::path(post, path = "/auth/passkey/challenge", tag = "auth",
    responses((status = 201, body = PasskeyChallengeView),
        (status = 429, description = "`too_many_attempts`: this client started too many", body = Problem),
        (status = 501, description = "`passkeys_unavailable`", body = Problem)))]
async fn start_sign_in(
    State(state): State<AppState>,
    Meta(meta): Meta,
) -> Result<Response, ApiError> {
    let c = state.app.start_passkey_sign_in(&meta).await?;
    Ok(no_store(StatusCode::CREATED, Json(challenge_view(c))))
}

/// Sign in with a passkey alone (it verified its user with a PIN or
/// biometric, so it is both factors). Throttled like passwords.
#[utoipa::path(post, path = "/auth/passkey", tag = "auth", request_body = PasskeyAssertion,
    responses((status = 200, body = LoginResponse),
        (status = 400, description = "`passkey_challenge_invalid`", body = Problem),
        (status = 401, description = "`passkey_unknown`, `passkey_rejected`", body = Problem),
        (status = 422, description = "`passkey_malformed`", body = Problem),
        (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn sign_in(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<PasskeyAssertion>,
) -> Result<Response, ApiError> {
    let login = state
        .app
        .sign_in_with_passkey(&assertion(req), &meta)
        .await?;
    Ok(super::mfa::login_response(&state, login))
}
