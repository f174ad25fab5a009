//! `/orgs/{org}/groups`: groups and their members.

use crate::app::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, Org, PathName};
use crate::http::{views, AppState};
use axum::http::StatusCode;
use axum::Json;
use roster_proto::{GroupDetail, GroupMemberRequest, GroupRequest, GroupView, Problem};
use roster_store::groups::Group;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(show_group, rename_group, delete_group))
        .routes(routes!(add_member))
        .routes(routes!(remove_member))
}

fn view(g: &Group) -> GroupView {
    GroupView {
        name: g.name.clone(),
        members: g.members,
        created_at: rfc3339(g.created_at),
    }
}

/// The org's groups with member counts. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/groups", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Vec<GroupView>), (status = 404, body = Problem)))]
async fn list_groups(Org { app, access, .. }: Org) -> Result<Json<Vec<GroupView>>, ApiError> {
    Ok(Json(
        app.list_groups(&access).await?.iter().map(view).collect(),
    ))
}

/// Create a group. Needs `groups:manage`.
#[utoipa::path(post, path = "/orgs/{org}/groups", tag = "groups", security(("bearer" = [])), request_body = GroupRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = GroupView), (status = 409, description = "`group_exists`", body = Problem), (status = 422, body = Problem)))]
async fn create_group(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let group = app.create_group(&access, &req.name, &meta).await?;
    Ok((StatusCode::CREATED, Json(view(&group))))
}

/// A group and its members. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/groups/{name}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the group's name")),
    responses((status = 200, body = GroupDetail), (status = 404, body = Problem)))]
async fn show_group(
    Org { app, access, .. }: Org,
    PathName(name): PathName,
) -> Result<Json<GroupDetail>, ApiError> {
    let (group, members) = app.get_group(&access, &name).await?;
    Ok(Json(GroupDetail {
        name: group.name,
        created_at: rfc3339(group.created_at),
        members: members.iter().map(views::member).collect(),
    }))
}

/// Rename a group. Needs `groups:manage`.
#[utoipa::path(patch, path = "/orgs/{org}/groups/{name}", tag = "groups", security(("bearer" = [])), request_body = GroupRequest,
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the group's name")),
    responses((status = 200, body = GroupView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn rename_group(
    Org { app, access, meta }: Org,
    PathName(name): PathName,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<Json<GroupView>, ApiError> {
    Ok(Json(view(
        &app.rename_group(&access, &name, &req.name, &meta).await?,
    )))
}

/// Delete a group; its members stay in the org. Needs `groups:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/groups/{name}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the group's name")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_group(
    Org { app, access, meta }: Org,
    PathName(name): PathName,
) -> Result<StatusCode, ApiError> {
    app.delete_group(&access, &name, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a member of the org to the group. Needs `groups:manage`.
#[utoipa::path(post, path = "/orgs/{org}/groups/{name}/members", tag = "groups", security(("bearer" = [])),
    request_body = GroupMemberRequest,
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the group's name")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn add_member(
    Org { app, access, meta }: Org,
    PathName(name): PathName,
    ApiJson(req): ApiJson<GroupMemberRequest>,
) -> Result<StatusCode, ApiError> {
    app.add_group_member(
        &access,
        &name,
        roster_domain::UserId::new(req.user_id),
        &meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member from the group. Needs `groups:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/groups/{name}/members/{id}", tag = "groups", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("name" = String, Path, description = "the group's name"),
        ("id" = i64, Path, description = "the user's id")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_member(
    Org { app, access, meta }: Org,
    ApiPath((_org, name, id)): ApiPath<(String, String, i64)>,
) -> Result<StatusCode, ApiError> {
    app.remove_group_member(&access, &name, roster_domain::UserId::new(id), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
