//! `/orgs/{org}/roles`: the roles of an org and what they hold.

use crate::app::AppError;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, Authed};
use crate::http::{views, AppState};
use axum::extract::State;
use axum::Json;
use roster_domain::{BuiltinRole, ManagementPermission, RoleName};
use roster_proto::{Problem, RoleView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_roles))
        .routes(routes!(show_role))
}

/// Every role of the org with its permissions: the permission matrix.
/// Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/roles", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Vec<RoleView>), (status = 404, body = Problem)))]
async fn list_roles(
    State(state): State<AppState>,
    Authed(p): Authed,
    ApiPath(org): ApiPath<String>,
) -> Result<Json<Vec<RoleView>>, ApiError> {
    let access = state.app.org_access(&p, &org).await?;
    access.require(ManagementPermission::UsersRead)?;
    Ok(Json(
        BuiltinRole::ALL
            .into_iter()
            .map(views::builtin_role)
            .collect(),
    ))
}

/// One role.
#[utoipa::path(get, path = "/orgs/{org}/roles/{name}", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the role's name")),
    responses((status = 200, body = RoleView), (status = 404, body = Problem)))]
async fn show_role(
    State(state): State<AppState>,
    Authed(p): Authed,
    ApiPath((org, name)): ApiPath<(String, String)>,
) -> Result<Json<RoleView>, ApiError> {
    let access = state.app.org_access(&p, &org).await?;
    access.require(ManagementPermission::UsersRead)?;
    let role = RoleName::parse(&name)
        .ok()
        .and_then(|n| n.builtin())
        .ok_or(AppError::NotFound("role"))?;
    Ok(Json(views::builtin_role(role)))
}
