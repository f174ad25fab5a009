//! Fine-grained access: the org's catalog (roles, built-in and custom, and
//! resource types with their actions), its resources (named by their key
//! `type/name`), access rules granting roles org-wide or on a resource, and
//! the questions asked of them: checks and a member's permissions.

use crate::{AccessRuleQuery, Client, ResourceQuery, Result};
use reqwest::{Method, StatusCode};
use roster_proto::{
    AccessRuleRequest, AccessRuleView, CheckBatchRequest, CheckBatchResponse, CheckRequest,
    CheckResponse, Page, PermissionsResponse, ResourceRequest, ResourceTypeRequest,
    ResourceTypeView, ResourceUpdateRequest, ResourceView, RoleDeleted, RoleRequest,
    RoleUpdateRequest, RoleView,
};

/// The answer to [`Client::grant_access`].
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub rule: AccessRuleView,
    /// False when the rule existed already (and was returned unchanged).
    pub created: bool,
}

/// The `{type}` and `{name}` path segments of a resource key `type/name`,
/// split at the first `/` (each is then encoded as one segment). A key
/// without a `/` names no resource route, and the server answers 404.
pub fn resource_key_segments(key: &str) -> (&str, &str) {
    let key = key.trim();
    key.split_once('/').unwrap_or((key, ""))
}

/// The path of one resource.
fn resource_path<'a>(org: &'a str, key: &'a str) -> [&'a str; 5] {
    let (resource_type, name) = resource_key_segments(key);
    ["orgs", org, "resources", resource_type, name]
}

impl Client {
    // --- the catalog: roles and resource types ------------------------------

    /// `GET /api/v1/orgs/{org}/roles`.
    pub async fn roles(&self, org: &str) -> Result<Vec<RoleView>> {
        self.get(&["orgs", org, "roles"]).await
    }

    /// `GET /api/v1/orgs/{org}/roles/{name}`.
    pub async fn role(&self, org: &str, name: &str) -> Result<RoleView> {
        self.get(&["orgs", org, "roles", name]).await
    }

    /// `POST /api/v1/orgs/{org}/roles`: creates a custom role. `409
    /// role_exists` when the org has a role of that name.
    pub async fn create_role(&self, org: &str, body: &RoleRequest) -> Result<RoleView> {
        self.post(&["orgs", org, "roles"], body).await
    }

    /// `PATCH /api/v1/orgs/{org}/roles/{name}`: changes a custom role's
    /// description and/or permissions (unset fields stay).
    pub async fn update_role(
        &self,
        org: &str,
        name: &str,
        body: &RoleUpdateRequest,
    ) -> Result<RoleView> {
        self.patch(&["orgs", org, "roles", name], body).await
    }

    /// `DELETE /api/v1/orgs/{org}/roles/{name}[?replacement=ROLE]`: deletes
    /// a custom role. A role in use is refused (`409 role_in_use`) unless a
    /// `replacement` takes its place.
    pub async fn delete_role(
        &self,
        org: &str,
        name: &str,
        replacement: Option<&str>,
    ) -> Result<RoleDeleted> {
        self.call(Method::DELETE, &["orgs", org, "roles", name])
            .param("replacement", replacement)
            .send()
            .await
    }

    /// `GET /api/v1/orgs/{org}/resource-types`: the org's catalog of
    /// resource types and their actions.
    pub async fn resource_types(&self, org: &str) -> Result<Vec<ResourceTypeView>> {
        self.get(&["orgs", org, "resource-types"]).await
    }

    /// `POST /api/v1/orgs/{org}/resource-types`: adds a type with its
    /// actions, or actions to an existing type. Returns the whole catalog.
    pub async fn add_resource_type(
        &self,
        org: &str,
        body: &ResourceTypeRequest,
    ) -> Result<Vec<ResourceTypeView>> {
        self.post(&["orgs", org, "resource-types"], body).await
    }

    // --- resources -------------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/resources`: one page of the org's resources.
    pub async fn list_resources(
        &self,
        org: &str,
        query: &ResourceQuery,
    ) -> Result<Page<ResourceView>> {
        self.get_with(&["orgs", org, "resources"], query).await
    }

    /// `POST /api/v1/orgs/{org}/resources`: registers a resource. `409
    /// resource_exists` when it is registered already.
    pub async fn create_resource(&self, org: &str, body: &ResourceRequest) -> Result<ResourceView> {
        self.post(&["orgs", org, "resources"], body).await
    }

    /// `GET /api/v1/orgs/{org}/resources/{type}/{name}`; `key` is
    /// `type/name` (see [`resource_key_segments`]).
    pub async fn resource(&self, org: &str, key: &str) -> Result<ResourceView> {
        self.get(&resource_path(org, key)).await
    }

    /// `PATCH /api/v1/orgs/{org}/resources/{type}/{name}`. A `None` field
    /// is left out of the body and stays as it is; `parent: Some(None)`
    /// sends `null` (the resource becomes a root) and `review: Some(None)`
    /// removes the review policy.
    pub async fn update_resource(
        &self,
        org: &str,
        key: &str,
        body: &ResourceUpdateRequest,
    ) -> Result<ResourceView> {
        self.patch(&resource_path(org, key), body).await
    }

    /// `DELETE /api/v1/orgs/{org}/resources/{type}/{name}[?cascade=true]`:
    /// deletes the resource with its rules and requests. One with children
    /// is refused (`409 resource_has_children`) unless `cascade`, which
    /// deletes everything below it too.
    pub async fn delete_resource(&self, org: &str, key: &str, cascade: bool) -> Result<()> {
        self.call(Method::DELETE, &resource_path(org, key))
            .param("cascade", cascade.then_some("true"))
            .send_empty()
            .await
    }

    // --- access rules and checks -----------------------------------------------

    /// `GET /api/v1/orgs/{org}/access-rules`: one page of access rules.
    pub async fn list_access_rules(
        &self,
        org: &str,
        query: &AccessRuleQuery,
    ) -> Result<Page<AccessRuleView>> {
        self.get_with(&["orgs", org, "access-rules"], query).await
    }

    /// `POST /api/v1/orgs/{org}/access-rules`: grants a role to a member or
    /// a group, org-wide or on a resource. Granting a rule that exists
    /// returns it (`created` is then false).
    pub async fn grant_access(&self, org: &str, body: &AccessRuleRequest) -> Result<AccessGrant> {
        let (status, rule) = self
            .call(Method::POST, &["orgs", org, "access-rules"])
            .json(body)
            .send_with_status()
            .await?;
        Ok(AccessGrant {
            rule,
            created: status == StatusCode::CREATED,
        })
    }

    /// `DELETE /api/v1/orgs/{org}/access-rules/{id}`: revokes a rule.
    pub async fn revoke_access(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "access-rules", &id.to_string()])
            .await
    }

    /// `POST /api/v1/orgs/{org}/check`: may a member do an action? A denial
    /// is an answer, not an error; an unknown action or resource is `422`.
    pub async fn check(&self, org: &str, body: &CheckRequest) -> Result<CheckResponse> {
        self.post(&["orgs", org, "check"], body).await
    }

    /// `POST /api/v1/orgs/{org}/check/batch`: many checks, answered in
    /// order; a bad query gets an `error` in its place.
    pub async fn check_batch(
        &self,
        org: &str,
        body: &CheckBatchRequest,
    ) -> Result<CheckBatchResponse> {
        self.post(&["orgs", org, "check", "batch"], body).await
    }

    /// `GET /api/v1/orgs/{org}/users/{id}/permissions[?resource=KEY]`: every
    /// permission a member holds in the org, or on a resource, with reasons.
    pub async fn permissions(
        &self,
        org: &str,
        user_id: i64,
        resource: Option<&str>,
    ) -> Result<PermissionsResponse> {
        let id = user_id.to_string();
        self.call(Method::GET, &["orgs", org, "users", &id, "permissions"])
            .param("resource", resource)
            .send()
            .await
    }
}
