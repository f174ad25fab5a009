//! `/orgs/{org}/scim-tokens`: the tokens an org's directory (Okta, Entra
//! ID) provisions people and groups with, under `/scim/v2`.

use crate::app::scim::NewScimToken;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Org, PathId};
use crate::http::{views, AppState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::TokenId;
use roster_proto::{Page, Problem, ScimTokenRequest, TokenCreated, TokenView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scim_tokens, create_scim_token))
        .routes(routes!(revoke_scim_token))
}

/// The org's SCIM tokens (never their secrets). Needs `integrations:manage`.
#[utoipa::path(get, path = "/orgs/{org}/scim-tokens", tag = "tokens", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Page<TokenView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_scim_tokens(Org { app, access, .. }: Org) -> Result<Json<Page<TokenView>>, ApiError> {
    let tokens = app.list_scim_tokens(&access).await?;
    Ok(Json(Page {
        items: tokens.iter().map(|t| views::token(t, None)).collect(),
        next_cursor: None,
    }))
}

/// Make a SCIM token (`rsc_...`) for the org's directory. Needs
/// `integrations:manage` and a signed-in session. The answer shows the
/// token once; the directory sends it as `Authorization: Bearer` to
/// `/scim/v2`, and it works nowhere else.
#[utoipa::path(post, path = "/orgs/{org}/scim-tokens", tag = "tokens", security(("bearer" = [])), request_body = ScimTokenRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = TokenCreated),
        (status = 403, description = "`forbidden`, `session_required`", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`personal_org`", body = Problem),
        (status = 422, body = Problem)))]
async fn create_scim_token(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<ScimTokenRequest>,
) -> Result<Response, ApiError> {
    let new = NewScimToken {
        name: req.name,
        expires_at: req.expires_at,
    };
    let (token, secret) = app.create_scim_token(&access, new, &meta).await?;
    let body = TokenCreated {
        token: secret,
        view: views::token(&token, None),
    };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Revoke a SCIM token: the directory's next request with it fails.
/// Needs `integrations:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/scim-tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the SCIM token's id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_scim_token(
    Org { app, access, meta }: Org,
    PathId(id): PathId<TokenId>,
) -> Result<StatusCode, ApiError> {
    app.revoke_scim_token(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
