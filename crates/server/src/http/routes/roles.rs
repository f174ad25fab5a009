//! `/orgs/{org}/roles`: built-in and custom roles, and
//! `/orgs/{org}/resource-types`: the catalog their permissions come from.

use crate::app::access::RoleInfo;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Org, PathName};
use crate::http::AppState;
use axum::http::StatusCode;
use axum::Json;
use roster_domain::Catalog;
use roster_proto::{
    Problem, ResourceActionView, ResourceTypeRequest, ResourceTypeView, RoleDeleted, RoleRequest,
    RoleUpdateRequest, RoleView,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_roles, create_role))
        .routes(routes!(show_role, update_role, delete_role))
        .routes(routes!(list_resource_types, add_resource_type))
}

/// The wire view of a role: management permissions and platform grants in
/// `permissions`, classes granted on every type in `platform_classes`.
pub fn role_view(r: RoleInfo) -> RoleView {
    let (classes, permissions): (Vec<String>, Vec<String>) =
        r.permissions.into_iter().partition(|p| p.starts_with("*:"));
    RoleView {
        name: r.name,
        builtin: r.builtin,
        description: r.description,
        permissions,
        platform_classes: classes
            .into_iter()
            .map(|c| c.trim_start_matches("*:").to_owned())
            .collect(),
    }
}

fn catalog_view(
    c: &Catalog,
    descriptions: &std::collections::BTreeMap<String, String>,
) -> Vec<ResourceTypeView> {
    c.types()
        .map(|t| ResourceTypeView {
            name: t.to_owned(),
            description: descriptions.get(t).cloned().unwrap_or_default(),
            default: Catalog::is_default_type(t),
            actions: c
                .actions(t)
                .into_iter()
                .flatten()
                .map(|(a, class)| ResourceActionView {
                    name: a.to_owned(),
                    class: class.as_str().to_owned(),
                    default: Catalog::is_default_action(t, a),
                })
                .collect(),
        })
        .collect()
}

/// Every role of the org with its permissions: the permission matrix.
/// Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/roles", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Vec<RoleView>), (status = 404, body = Problem)))]
async fn list_roles(Org { app, access, .. }: Org) -> Result<Json<Vec<RoleView>>, ApiError> {
    let roles = app.list_roles(&access).await?;
    Ok(Json(roles.into_iter().map(role_view).collect()))
}

/// Create a custom role. Needs `roles:manage` and every permission the
/// role holds.
#[utoipa::path(post, path = "/orgs/{org}/roles", tag = "roles", security(("bearer" = [])), request_body = RoleRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = RoleView), (status = 403, body = Problem), (status = 409, description = "`role_exists`", body = Problem), (status = 422, body = Problem)))]
async fn create_role(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<(StatusCode, Json<RoleView>), ApiError> {
    let role = app
        .create_role(
            &access,
            &req.name,
            req.description.as_deref().unwrap_or(""),
            &req.permissions,
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(role_view(role))))
}

/// One role.
#[utoipa::path(get, path = "/orgs/{org}/roles/{name}", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the role's name")),
    responses((status = 200, body = RoleView), (status = 404, body = Problem)))]
async fn show_role(
    Org { app, access, .. }: Org,
    PathName(name): PathName,
) -> Result<Json<RoleView>, ApiError> {
    Ok(Json(role_view(app.get_role(&access, &name).await?)))
}

/// Change a custom role's description or permissions. Needs
/// `roles:manage` and every permission of the role before and after.
#[utoipa::path(patch, path = "/orgs/{org}/roles/{name}", tag = "roles", security(("bearer" = [])), request_body = RoleUpdateRequest,
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the role's name")),
    responses((status = 200, body = RoleView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_role(
    Org { app, access, meta }: Org,
    PathName(name): PathName,
    ApiJson(req): ApiJson<RoleUpdateRequest>,
) -> Result<Json<RoleView>, ApiError> {
    let role = app
        .update_role(
            &access,
            &name,
            req.description.as_deref(),
            req.permissions.as_deref(),
            &meta,
        )
        .await?;
    Ok(Json(role_view(role)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteRoleQuery {
    /// The role that takes the deleted role's place wherever it is used.
    /// Required when the role is in use.
    replacement: Option<String>,
}

/// Delete a custom role. A role in use is refused (`role_in_use`) unless a
/// `replacement` is named.
#[utoipa::path(delete, path = "/orgs/{org}/roles/{name}", tag = "roles", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the role's name"), DeleteRoleQuery),
    responses((status = 200, body = RoleDeleted), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "`role_in_use`", body = Problem)))]
async fn delete_role(
    Org { app, access, meta }: Org,
    PathName(name): PathName,
    ApiQuery(q): ApiQuery<DeleteRoleQuery>,
) -> Result<Json<RoleDeleted>, ApiError> {
    let usage = app
        .delete_role(&access, &name, q.replacement.as_deref(), &meta)
        .await?;
    Ok(Json(RoleDeleted {
        members: usage.members,
        pending_invitations: usage.pending_invitations,
        rules: usage.rules,
        replacement: usage.in_use().then_some(q.replacement).flatten(),
    }))
}

/// The org's resource-type catalog: the default types and the org's own,
/// each action with its class. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/resource-types", tag = "resources", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Vec<ResourceTypeView>), (status = 404, body = Problem)))]
async fn list_resource_types(
    Org { app, access, .. }: Org,
) -> Result<Json<Vec<ResourceTypeView>>, ApiError> {
    let descriptions = app.type_descriptions(&access).await?;
    Ok(Json(catalog_view(&app.catalog(&access)?, &descriptions)))
}

/// Add a resource type with its actions, or actions to an existing type.
/// Built-in roles cover the new actions by class at once. Needs
/// `resources:manage`.
#[utoipa::path(post, path = "/orgs/{org}/resource-types", tag = "resources", security(("bearer" = [])), request_body = ResourceTypeRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Vec<ResourceTypeView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_resource_type(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<ResourceTypeRequest>,
) -> Result<Json<Vec<ResourceTypeView>>, ApiError> {
    let actions: Vec<(String, String)> =
        req.actions.into_iter().map(|a| (a.name, a.class)).collect();
    let catalog = app
        .add_resource_actions(
            &access,
            req.name.trim(),
            &actions,
            req.description.as_deref().unwrap_or(""),
            &meta,
        )
        .await?;
    let descriptions = app.type_descriptions(&access).await?;
    Ok(Json(catalog_view(&catalog, &descriptions)))
}
