//! `/orgs/{org}/resources`: the resource tree, and
//! `/orgs/{org}/access-rules`: who holds which role where.

use crate::app::access::{
    NewResource, ResourceInfo, ResourceUpdate, ReviewPolicy, RuleQuery, SubjectRef,
};
use crate::app::time::rfc3339;
use crate::http::error::{ApiError, Code};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Org, PathId};
use crate::http::pagination;
use crate::http::AppState;
use axum::http::StatusCode;
use axum::Json;
use roster_domain::RuleId;
use roster_proto::{
    AccessRuleRequest, AccessRuleView, Page, Problem, ResourceRequest, ResourceUpdateRequest,
    ResourceView, ReviewPolicyView,
};
use roster_store::rules::RuleRow;
use serde::Deserialize;
use std::collections::HashSet;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_resources, create_resource))
        .routes(routes!(show_resource, update_resource, delete_resource))
        .routes(routes!(list_rules, grant_rule))
        .routes(routes!(revoke_rule))
}

pub fn resource_view(r: ResourceInfo) -> ResourceView {
    let key = r.key();
    let review = (!r.row.review_actions.is_empty()).then(|| ReviewPolicyView {
        actions: r
            .row
            .review_actions
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        approvals: r.row.review_approvals,
    });
    ResourceView {
        id: r.row.id.get(),
        key,
        resource_type: r.row.resource_type,
        name: r.row.name,
        parent: r.row.parent,
        groups: r.groups,
        review,
        created_at: rfc3339(r.row.created_at),
        updated_at: rfc3339(r.row.updated_at),
    }
}

fn policy(v: ReviewPolicyView) -> ReviewPolicy {
    ReviewPolicy {
        actions: v.actions,
        approvals: v.approvals,
    }
}

pub fn rule_view(r: RuleRow) -> AccessRuleView {
    AccessRuleView {
        id: r.id.get(),
        user: r.user_email,
        group: r.group_name,
        role: r.role,
        resource: r.resource,
        created_at: rfc3339(r.created_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResourceListQuery {
    /// Only resources of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    resource_type: Option<String>,
    /// Only the children of this resource (`type/name`).
    parent: Option<String>,
    /// With `action`: only the resources this member (email or id) may do
    /// the action on.
    user: Option<String>,
    /// With `user`: the action (`type:action`).
    action: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The org's resources in registration order. With `user` and `action`,
/// only those the member may do the action on (decided as the check API
/// decides). Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/resources", tag = "resources", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ResourceListQuery),
    responses((status = 200, body = Page<ResourceView>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_resources(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<ResourceListQuery>,
) -> Result<Json<Page<ResourceView>>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let mut after = pagination::decode("r", q.cursor.as_deref())?;
    let allowed: Option<HashSet<String>> = match (&q.user, &q.action) {
        (None, None) => None,
        (Some(u), Some(a)) => Some(
            app.resources_allowed(&access.caller, &access.org.slug, u, a)
                .await?
                .into_iter()
                .collect(),
        ),
        _ => {
            return Err(ApiError::request(
                StatusCode::BAD_REQUEST,
                Code::InvalidQuery,
                "user and action go together",
            ))
        }
    };
    // Fill the page, skipping what the member may not act on.
    let mut items: Vec<ResourceInfo> = Vec::new();
    loop {
        let rows = app
            .list_resources(
                &access,
                q.resource_type.as_deref(),
                q.parent.as_deref(),
                after,
                limit + 1,
            )
            .await?;
        let exhausted = rows.len() as i64 <= limit;
        after = rows.last().map(|r| r.row.id.get()).or(after);
        items.extend(
            rows.into_iter()
                .filter(|r| allowed.as_ref().is_none_or(|a| a.contains(&r.key()))),
        );
        if exhausted || items.len() as i64 > limit {
            break;
        }
    }
    let next = pagination::next(&mut items, limit, "r", |r| r.row.id.get());
    Ok(Json(Page {
        items: items.into_iter().map(resource_view).collect(),
        next_cursor: next,
    }))
}

/// Register a resource, with an optional parent, groups and review policy.
/// Needs `resources:manage`.
#[utoipa::path(post, path = "/orgs/{org}/resources", tag = "resources", security(("bearer" = [])), request_body = ResourceRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = ResourceView), (status = 403, body = Problem), (status = 409, description = "`resource_exists`", body = Problem), (status = 422, body = Problem)))]
async fn create_resource(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<ResourceRequest>,
) -> Result<(StatusCode, Json<ResourceView>), ApiError> {
    let r = app
        .create_resource(
            &access,
            NewResource {
                key: req.key,
                parent: req.parent,
                groups: req.groups,
                review: req.review.map(policy),
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(resource_view(r))))
}

/// One resource. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/resources/{type}/{name}", tag = "resources", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("type" = String, Path, description = "the resource type"), ("name" = String, Path, description = "the resource's name")),
    responses((status = 200, body = ResourceView), (status = 404, body = Problem)))]
async fn show_resource(
    Org { app, access, .. }: Org,
    ApiPath((_org, t, n)): ApiPath<(String, String, String)>,
) -> Result<Json<ResourceView>, ApiError> {
    let r = app.get_resource(&access, &format!("{t}/{n}")).await?;
    Ok(Json(resource_view(r)))
}

/// Change a resource's parent, groups or review policy. Needs
/// `resources:manage`; a parent below the resource is refused.
#[utoipa::path(patch, path = "/orgs/{org}/resources/{type}/{name}", tag = "resources", security(("bearer" = [])), request_body = ResourceUpdateRequest,
    params(("org" = String, Path, description = "the org's slug"), ("type" = String, Path, description = "the resource type"), ("name" = String, Path, description = "the resource's name")),
    responses((status = 200, body = ResourceView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_resource(
    Org { app, access, meta }: Org,
    ApiPath((_org, t, n)): ApiPath<(String, String, String)>,
    ApiJson(req): ApiJson<ResourceUpdateRequest>,
) -> Result<Json<ResourceView>, ApiError> {
    let r = app
        .update_resource(
            &access,
            &format!("{t}/{n}"),
            ResourceUpdate {
                parent: req.parent,
                groups: req.groups,
                review: req.review.map(|r| r.map(policy)),
            },
            &meta,
        )
        .await?;
    Ok(Json(resource_view(r)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteResourceQuery {
    /// Also delete everything below the resource.
    cascade: Option<bool>,
}

/// Delete a resource, with its access rules and requests. One with
/// children is refused (`resource_has_children`) unless `cascade=true`.
#[utoipa::path(delete, path = "/orgs/{org}/resources/{type}/{name}", tag = "resources", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("type" = String, Path, description = "the resource type"), ("name" = String, Path, description = "the resource's name"), DeleteResourceQuery),
    responses((status = 204, description = "deleted"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "`resource_has_children`", body = Problem)))]
async fn delete_resource(
    Org { app, access, meta }: Org,
    ApiPath((_org, t, n)): ApiPath<(String, String, String)>,
    ApiQuery(q): ApiQuery<DeleteResourceQuery>,
) -> Result<StatusCode, ApiError> {
    app.delete_resource(
        &access,
        &format!("{t}/{n}"),
        q.cascade.unwrap_or(false),
        &meta,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RuleListQuery {
    /// Rules naming this member (email or id).
    user: Option<String>,
    /// Rules naming this group.
    group: Option<String>,
    role: Option<String>,
    /// Rules on this resource (`type/name`), or `org` for org-wide rules.
    resource: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Access rules, by subject, role or resource. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/access-rules", tag = "access", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), RuleListQuery),
    responses((status = 200, body = Page<AccessRuleView>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_rules(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<RuleListQuery>,
) -> Result<Json<Page<AccessRuleView>>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let after = pagination::decode("a", q.cursor.as_deref())?;
    let mut rows = app
        .list_rules(
            &access,
            &RuleQuery {
                user: q.user,
                group: q.group,
                role: q.role,
                resource: q.resource,
            },
            after,
            limit + 1,
        )
        .await?;
    let next = pagination::next(&mut rows, limit, "a", |r| r.id.get());
    Ok(Json(Page {
        items: rows.into_iter().map(rule_view).collect(),
        next_cursor: next,
    }))
}

/// Grant a role to a member or a group, org-wide or on a resource (and
/// everything below it). Needs `access:manage` and every permission of the
/// role at that scope. Granting an existing rule returns it (200).
#[utoipa::path(post, path = "/orgs/{org}/access-rules", tag = "access", security(("bearer" = [])), request_body = AccessRuleRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = AccessRuleView), (status = 200, description = "the rule existed", body = AccessRuleView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn grant_rule(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<AccessRuleRequest>,
) -> Result<(StatusCode, Json<AccessRuleView>), ApiError> {
    let subject = match (req.user, req.group) {
        (Some(u), None) => SubjectRef::User(u),
        (None, Some(g)) => SubjectRef::Group(g),
        _ => {
            return Err(ApiError::request(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::InvalidInput,
                "name exactly one of user and group",
            ))
        }
    };
    let (rule, created) = app
        .grant_rule(&access, subject, &req.role, req.resource.as_deref(), &meta)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(rule_view(rule))))
}

/// Revoke an access rule. Needs `access:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/access-rules/{id}", tag = "access", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the rule's id")),
    responses((status = 204, description = "revoked"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_rule(
    Org { app, access, meta }: Org,
    PathId(id): PathId<RuleId>,
) -> Result<StatusCode, ApiError> {
    app.revoke_rule(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
