//! `/orgs` and `/orgs/{org}`: organizations, their settings, leaving.

use crate::app::orgs::OrgUpdate;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, Authed, Meta, Org};
use crate::http::{views, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use roster_proto::{CreateOrgRequest, MembershipSummary, OrgView, Page, Problem, UpdateOrgRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(show_org, update_org))
        .routes(routes!(leave_org))
}

/// Your organizations (every membership, including your personal org), in
/// one page like every list: `next_cursor` is always `null`.
#[utoipa::path(get, path = "/orgs", tag = "orgs", security(("bearer" = [])),
    responses((status = 200, body = Page<MembershipSummary>), (status = 401, body = Problem)))]
async fn list_orgs(
    State(state): State<AppState>,
    Authed(p): Authed,
) -> Result<Json<Page<MembershipSummary>>, ApiError> {
    let (_, memberships) = state.app.me(&p).await?;
    Ok(Json(Page {
        items: memberships.iter().map(views::membership).collect(),
        next_cursor: None,
    }))
}

/// Create an organization; you become its owner.
#[utoipa::path(post, path = "/orgs", tag = "orgs", security(("bearer" = [])), request_body = CreateOrgRequest,
    responses((status = 201, body = OrgView), (status = 409, description = "`slug_taken`", body = Problem), (status = 422, body = Problem)))]
async fn create_org(
    State(state): State<AppState>,
    Authed(p): Authed,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<CreateOrgRequest>,
) -> Result<(StatusCode, Json<OrgView>), ApiError> {
    let access = state
        .app
        .create_org(&p, &req.slug, &req.name, &meta)
        .await?;
    let owners = state.app.active_owners(access.org.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::org(&access.org, &access.member.role, owners)),
    ))
}

/// An organization you are an active member of.
#[utoipa::path(get, path = "/orgs/{org}", tag = "orgs", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = OrgView), (status = 404, body = Problem)))]
async fn show_org(Org { app, access, .. }: Org) -> Result<Json<OrgView>, ApiError> {
    let owners = app.active_owners(access.org.id).await?;
    Ok(Json(views::org(&access.org, &access.member.role, owners)))
}

/// Change the name (needs `org:manage`) or settings (MFA policy needs
/// `org:manage`; domains, self-registration, invitation lifetime and default
/// role need `users:manage`).
#[utoipa::path(patch, path = "/orgs/{org}", tag = "orgs", security(("bearer" = [])), request_body = UpdateOrgRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = OrgView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn update_org(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<UpdateOrgRequest>,
) -> Result<Json<OrgView>, ApiError> {
    let update = OrgUpdate {
        name: req.name,
        allowed_domains: req.allowed_domains,
        self_registration: req.self_registration,
        invitation_ttl_seconds: req.invitation_ttl_seconds,
        mfa_policy: req.mfa_policy,
        default_role: req.default_role,
    };
    let updated = app.update_org(&access, update, &meta).await?;
    let owners = app.active_owners(updated.id).await?;
    Ok(Json(views::org(&updated, &access.member.role, owners)))
}

/// Leave an organization. The last active owner cannot; a personal org cannot be left.
#[utoipa::path(post, path = "/orgs/{org}/leave", tag = "orgs", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 204), (status = 409, description = "`last_owner` or `personal_org`", body = Problem)))]
async fn leave_org(
    State(state): State<AppState>,
    Authed(p): Authed,
    Meta(meta): Meta,
    ApiPath(org): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.leave_org(&p, &org, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
