//! Self-registration: `POST /signup`, and approving or rejecting from
//! `/orgs/{org}/users/{id}/approve|reject`.

use crate::app::signup::Signup;
use crate::http::error::ApiError;
use crate::http::extract::{ActionJson, ApiJson, Meta, Org, PathId};
use crate::http::{views, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use roster_domain::UserId;
use roster_proto::{
    ApproveRequest, MemberView, Problem, SignupConfirmRequest, SignupRequest, SignupResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(confirm_signup))
        .routes(routes!(approve))
        .routes(routes!(reject))
}

/// Ask to join an org. Accepted only when the org allows self-registration
/// and the email's domain is one of its allowed domains. Nothing is created
/// until the link mailed to the address is used (`POST /signup/confirm`);
/// then the new member is `reviewing` until approved. The answer never says
/// whether the email already has an account.
#[utoipa::path(post, path = "/signup", tag = "signup", request_body = SignupRequest,
    responses((status = 202, body = SignupResponse),
        (status = 403, description = "`signup_not_allowed`", body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn signup(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    state
        .app
        .signup(
            Signup {
                org: req.org,
                email: req.email,
                name: req.name,
                password: req.password,
            },
            &meta,
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignupResponse {
            status: "confirmation_sent".into(),
        }),
    ))
}

/// Confirm a sign-up with the token of the link mailed to its address: the
/// account (if the address had none) and a `reviewing` membership are
/// created, and the org's approvers are told. The link works once, for 24
/// hours.
#[utoipa::path(post, path = "/signup/confirm", tag = "signup", request_body = SignupConfirmRequest,
    responses((status = 202, body = SignupResponse),
        (status = 403, description = "the org no longer takes this sign-up (`signup_not_allowed`)", body = Problem),
        (status = 404, description = "the link is invalid, used or expired (`invalid_link`)", body = Problem),
        (status = 422, body = Problem)))]
async fn confirm_signup(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<SignupConfirmRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    state.app.confirm_signup(&req.token, &meta).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignupResponse {
            status: "reviewing".into(),
        }),
    ))
}

/// Approve a member waiting for review, with the org's default role or one
/// you may grant. Needs `users:approve`.
#[utoipa::path(post, path = "/orgs/{org}/users/{id}/approve", tag = "signup", security(("bearer" = [])),
    request_body = Option<ApproveRequest>,
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id")),
    responses((status = 200, body = MemberView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`not_reviewing`", body = Problem)))]
async fn approve(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
    ActionJson(req): ActionJson<ApproveRequest>,
) -> Result<Json<MemberView>, ApiError> {
    let member = app
        .approve_member(&access, id, req.role.as_deref(), &meta)
        .await?;
    Ok(Json(views::member(&member)))
}

/// Reject a member waiting for review: the membership is removed (the
/// account stays) and the applicant is told. Needs `users:approve`.
#[utoipa::path(post, path = "/orgs/{org}/users/{id}/reject", tag = "signup", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`not_reviewing`", body = Problem)))]
async fn reject(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
) -> Result<StatusCode, ApiError> {
    app.reject_member(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
