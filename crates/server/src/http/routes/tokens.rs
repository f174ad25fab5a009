//! `/orgs/{org}/tokens` and `/orgs/{org}/service-accounts`: API tokens and
//! the service accounts that act through them.

use crate::app::tokens::{permission_list, NewServiceAccount, NewTokenRequest};
use crate::app::OrgAccess;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Org, PathId};
use crate::http::{views, AppState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::{TokenId, UserId};
use roster_proto::{
    Page, Problem, ServiceAccountRequest, ServiceAccountView, TokenCreated, TokenRequest, TokenView,
};
use roster_store::tokens::Token;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_service_accounts, create_service_account))
        .routes(routes!(delete_service_account))
        .routes(routes!(
            list_service_account_tokens,
            create_service_account_token
        ))
}

fn page(tokens: &[Token], access: &OrgAccess) -> Json<Page<TokenView>> {
    Json(Page {
        items: tokens
            .iter()
            .map(|t| views::token(t, permission_list(t, access)))
            .collect(),
        next_cursor: None,
    })
}

/// A new token's answer: 201, never cached (it carries the secret).
fn created(made: (Token, String), access: &OrgAccess) -> Response {
    let (token, secret) = made;
    let body = TokenCreated {
        token: secret,
        view: views::token(&token, permission_list(&token, access)),
    };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn request(req: TokenRequest) -> NewTokenRequest {
    NewTokenRequest {
        name: req.name,
        permissions: req.permissions,
        expires_at: req.expires_at,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenListQuery {
    /// Every member's tokens in the org (needs `users:manage`), not only yours.
    #[serde(default)]
    all: bool,
}

/// Your API tokens in the org, or with `all=true` everyone's (needs
/// `users:manage`). Secrets are never shown again.
#[utoipa::path(get, path = "/orgs/{org}/tokens", tag = "tokens", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), TokenListQuery),
    responses((status = 200, body = Page<TokenView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_tokens(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<TokenListQuery>,
) -> Result<Json<Page<TokenView>>, ApiError> {
    Ok(page(&app.list_tokens(&access, q.all).await?, &access))
}

/// Make an API token of your own in the org (needs `tokens:create` and a
/// signed-in session). The answer shows the token once.
#[utoipa::path(post, path = "/orgs/{org}/tokens", tag = "tokens", security(("bearer" = [])), request_body = TokenRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = TokenCreated),
        (status = 403, description = "`forbidden`, `privilege_escalation`, `session_required`", body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let made = app.create_token(&access, request(req), &meta).await?;
    Ok(created(made, &access))
}

/// Revoke a token: yours, or anyone's with `users:manage` (its owner is
/// told by email). It stops working at once.
#[utoipa::path(delete, path = "/orgs/{org}/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the token's id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_token(
    Org { app, access, meta }: Org,
    PathId(id): PathId<TokenId>,
) -> Result<StatusCode, ApiError> {
    app.revoke_token(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org's service accounts. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/service-accounts", tag = "tokens", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Page<ServiceAccountView>), (status = 404, body = Problem)))]
async fn list_service_accounts(
    Org { app, access, .. }: Org,
) -> Result<Json<Page<ServiceAccountView>>, ApiError> {
    let all = app.list_service_accounts(&access).await?;
    Ok(Json(Page {
        items: all.iter().map(views::service_account).collect(),
        next_cursor: None,
    }))
}

/// Make a service account: a member that acts only through API tokens
/// (what a platform uses to call the check API). Needs `users:manage`.
#[utoipa::path(post, path = "/orgs/{org}/service-accounts", tag = "tokens", security(("bearer" = [])), request_body = ServiceAccountRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = ServiceAccountView), (status = 403, body = Problem),
        (status = 409, description = "`service_account_exists`", body = Problem), (status = 422, body = Problem)))]
async fn create_service_account(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<ServiceAccountRequest>,
) -> Result<(StatusCode, Json<ServiceAccountView>), ApiError> {
    let new = NewServiceAccount {
        name: req.name,
        role: req.role,
        description: req.description,
    };
    let sa = app.create_service_account(&access, new, &meta).await?;
    Ok((StatusCode::CREATED, Json(views::service_account(&sa))))
}

/// Delete a service account and its tokens. Needs `users:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/service-accounts/{id}", tag = "tokens", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the service account's user id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_service_account(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
) -> Result<StatusCode, ApiError> {
    app.delete_service_account(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A service account's tokens. Needs `users:manage`.
#[utoipa::path(get, path = "/orgs/{org}/service-accounts/{id}/tokens", tag = "tokens", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the service account's user id")),
    responses((status = 200, body = Page<TokenView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_service_account_tokens(
    Org { app, access, .. }: Org,
    PathId(id): PathId<UserId>,
) -> Result<Json<Page<TokenView>>, ApiError> {
    Ok(page(
        &app.service_account_tokens(&access, id).await?,
        &access,
    ))
}

/// Make a token for a service account (needs `users:manage` and a signed-in
/// session). The answer shows the token once.
#[utoipa::path(post, path = "/orgs/{org}/service-accounts/{id}/tokens", tag = "tokens", security(("bearer" = [])), request_body = TokenRequest,
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the service account's user id")),
    responses((status = 201, body = TokenCreated),
        (status = 403, description = "`forbidden`, `privilege_escalation`, `session_required`", body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_service_account_token(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let made = app
        .create_service_account_token(&access, id, request(req), &meta)
        .await?;
    Ok(created(made, &access))
}
