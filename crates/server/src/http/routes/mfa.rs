//! `/me/mfa/*` (second factors), `/auth/mfa` (the second factor a session
//! owes), `/auth/password-reset`, `/auth/magic-link*` and what an org's
//! admins may do about a member's credentials.

use crate::app::time::rfc3339;
use crate::app::SessionStage;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, AuthedInSignIn, Meta, Org, PathId};
use crate::http::{views, AppState};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::UserId;
use roster_proto::{
    EmailRequest, LoginResponse, MfaStatusView, Problem, RecoveryCodesView, RemoveMfaRequest,
    SecondFactorRequest, TotpCodeRequest, TotpEnrolmentView,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mfa_status, remove_mfa))
        .routes(routes!(start_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(regenerate_recovery_codes))
        .routes(routes!(give_second_factor))
        .routes(routes!(password_reset))
        .routes(routes!(magic_link))
        .routes(routes!(sign_in_with_link))
        .routes(routes!(admin_reset_mfa))
        .routes(routes!(admin_password_reset))
}

/// Your second factors. Open to a session that must enrol one.
#[utoipa::path(get, path = "/me/mfa", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MfaStatusView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn mfa_status(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
) -> Result<Json<MfaStatusView>, ApiError> {
    let s = state.app.mfa_status(&p).await?;
    Ok(Json(MfaStatusView {
        totp: s.totp,
        recovery_codes_left: s.recovery_codes_left,
        passkeys: s.passkeys,
    }))
}

/// Start enrolling an authenticator app: a new secret (shown once), its
/// `otpauth://` URI and QR code. Confirm with a code to finish.
#[utoipa::path(post, path = "/me/mfa/totp", tag = "me", security(("bearer" = [])),
    responses((status = 201, body = TotpEnrolmentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`mfa_already_enrolled`", body = Problem)))]
async fn start_totp(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
) -> Result<Response, ApiError> {
    let e = state.app.start_totp(&p, &meta).await?;
    Ok(secret(
        StatusCode::CREATED,
        Json(TotpEnrolmentView {
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
        }),
    ))
}

/// An answer that carries a secret: never cached.
fn secret(status: StatusCode, body: impl IntoResponse) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

/// Finish enrolling with a code from the app; answers ten single-use
/// recovery codes, shown once.
#[utoipa::path(post, path = "/me/mfa/totp/confirm", tag = "me", security(("bearer" = [])), request_body = TotpCodeRequest,
    responses((status = 200, body = RecoveryCodesView), (status = 401, description = "`invalid_second_factor`", body = Problem),
        (status = 403, body = Problem), (status = 409, description = "`mfa_not_enrolled`, `mfa_already_enrolled`", body = Problem),
        (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn confirm_totp(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<TotpCodeRequest>,
) -> Result<Response, ApiError> {
    let codes = state.app.confirm_totp(&p, &req.code, &meta).await?;
    Ok(secret(
        StatusCode::OK,
        Json(RecoveryCodesView {
            recovery_codes: codes,
        }),
    ))
}

/// New recovery codes (the old ones stop working), with a current code.
#[utoipa::path(post, path = "/me/mfa/recovery-codes", tag = "me", security(("bearer" = [])), request_body = TotpCodeRequest,
    responses((status = 200, body = RecoveryCodesView), (status = 401, description = "`invalid_second_factor`", body = Problem),
        (status = 403, body = Problem), (status = 409, description = "`mfa_not_enrolled`", body = Problem),
        (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<TotpCodeRequest>,
) -> Result<Response, ApiError> {
    let codes = state
        .app
        .regenerate_recovery_codes(&p, &req.code, &meta)
        .await?;
    Ok(secret(
        StatusCode::OK,
        Json(RecoveryCodesView {
            recovery_codes: codes,
        }),
    ))
}

/// Remove your second factors, with your password and a current code (or
/// a recovery code). Ends your other sessions.
#[utoipa::path(delete, path = "/me/mfa", tag = "me", security(("bearer" = [])), request_body = RemoveMfaRequest,
    responses((status = 204), (status = 401, description = "`invalid_credentials`, `invalid_second_factor`, `mfa_required`", body = Problem),
        (status = 403, body = Problem), (status = 409, description = "`mfa_not_enrolled`", body = Problem),
        (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn remove_mfa(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<RemoveMfaRequest>,
) -> Result<StatusCode, ApiError> {
    let factor = super::passkeys::second_factor(
        req.totp_code.as_deref(),
        req.recovery_code.as_deref(),
        req.passkey,
    );
    state
        .app
        .remove_mfa(&p, &req.password, factor, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give the second factor this session owes (after a magic link): a code
/// from the app, a recovery code or a passkey. Throttled like passwords.
#[utoipa::path(post, path = "/auth/mfa", tag = "auth", security(("bearer" = [])), request_body = SecondFactorRequest,
    responses((status = 204), (status = 400, description = "`passkey_challenge_invalid`", body = Problem),
        (status = 401, description = "`invalid_second_factor`, `mfa_required`, `passkey_unknown`, `passkey_rejected`", body = Problem),
        (status = 409, description = "the session owes no second factor (`conflict`)", body = Problem),
        (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn give_second_factor(
    State(state): State<AppState>,
    AuthedInSignIn(p): AuthedInSignIn,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<SecondFactorRequest>,
) -> Result<StatusCode, ApiError> {
    let Some(factor) = super::passkeys::second_factor(
        req.totp_code.as_deref(),
        req.recovery_code.as_deref(),
        req.passkey,
    ) else {
        let methods = state.app.own_mfa_methods(&p).await?;
        return Err(crate::app::AppError::MfaRequired(methods).into());
    };
    state.app.give_second_factor(&p, factor, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a single-use link (30 minutes) to choose a new password. Always
/// 202, whether or not the address has an account. Using the link ends
/// every session; the second factor is still asked at the next sign-in.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = EmailRequest,
    responses((status = 202), (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn password_reset(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<EmailRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.request_password_reset(&req.email, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Mail a single-use sign-in link (15 minutes). Always 202, whether or not
/// the address has an account.
#[utoipa::path(post, path = "/auth/magic-link", tag = "auth", request_body = EmailRequest,
    responses((status = 202), (status = 429, description = "`too_many_attempts`", body = Problem)))]
async fn magic_link(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<EmailRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.request_magic_link(&req.email, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sign in with a magic link's token. Works once. When the account has a
/// second factor, the session owes it (`mfa_required: true`): send
/// `POST /auth/mfa` next.
#[utoipa::path(post, path = "/auth/magic-link/{token}", tag = "auth",
    params(("token" = String, Path, description = "the secret from the link")),
    responses((status = 200, body = LoginResponse), (status = 404, description = "`invalid_link`", body = Problem)))]
async fn sign_in_with_link(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    let login = state.app.sign_in_with_link(&token, &meta).await?;
    Ok(login_response(&state, login))
}

/// The answer to a sign-in: the session token (for the bearer header; the
/// API sets no cookie) and what it must do first.
pub(crate) fn login_response(_state: &AppState, login: crate::app::auth::Login) -> Response {
    let body = LoginResponse {
        password_change_required: login.stage == SessionStage::PasswordChangeRequired,
        mfa_required: login.stage == SessionStage::MfaRequired,
        mfa_enrolment_required: login.stage == SessionStage::MfaEnrolmentRequired,
        expires_at: rfc3339(login.expires_at),
        user: views::user(&login.user),
        token: login.token,
    };
    secret(StatusCode::OK, Json(body))
}

/// Reset a member's second factors (they enrol again). Needs
/// `users:manage`, and only for an account that belongs to no other org
/// (`shared_account` otherwise). Ends their sessions; audited; they are
/// emailed.
#[utoipa::path(post, path = "/orgs/{org}/users/{id}/mfa-reset", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`shared_account`, `mfa_not_enrolled`", body = Problem)))]
async fn admin_reset_mfa(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
) -> Result<StatusCode, ApiError> {
    app.admin_reset_mfa(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a member the password-reset link (you never see or set their
/// password). Needs `users:manage`, and only for an account that belongs
/// to no other org (`shared_account` otherwise).
#[utoipa::path(post, path = "/orgs/{org}/users/{id}/password-reset", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id")),
    responses((status = 202), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`shared_account`", body = Problem)))]
async fn admin_password_reset(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
) -> Result<StatusCode, ApiError> {
    app.admin_send_password_reset(&access, id, &meta).await?;
    Ok(StatusCode::ACCEPTED)
}
