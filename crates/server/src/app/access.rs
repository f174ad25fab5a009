//! Fine-grained access (SPEC §1): the org's resource-type catalog, custom
//! roles, the resource tree and access rules.
//!
//! Every change runs under the org's lock and re-reads what the actor holds
//! there, like member changes do; no change grants a permission the actor
//! does not hold at that scope (SPEC §2).

use super::audit::{record, AuditEntry};
use super::error::Result;
use super::orgs::{effective_role, invalid, load_catalog, lock_and_recheck, parse_role, OrgAccess};
use super::time::now_ms;
use super::{App, AppError, RequestMeta};
use roster_domain::policy;
use roster_domain::{
    ActionClass, BuiltinRole, Catalog, DomainError, Email, GroupName, ManagementPermission, Role,
    RoleName, RolePermissions,
};
use roster_store::resources::{self, ResourceFilter, ResourceRow};
use roster_store::roles::{self, ActionRow, RoleRow, RoleUsage};
use roster_store::rules::{self, RuleFilter, RuleRow};
use roster_store::{groups, members, users, Conn, StoreError};
use serde_json::json;

/// The most approvals a review policy may ask for.
pub const MAX_APPROVALS: i64 = 10;

/// A role as listed: built-in or custom, with its permission list.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub name: String,
    pub builtin: bool,
    pub description: String,
    pub permissions: Vec<String>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

impl RoleInfo {
    fn builtin(r: BuiltinRole) -> Self {
        RoleInfo {
            name: r.name().to_owned(),
            builtin: true,
            description: r.description().to_owned(),
            permissions: r.role().permissions().to_strings(),
            created_at: None,
            updated_at: None,
        }
    }

    fn custom(row: RoleRow, catalog: &Catalog) -> Self {
        let perms = super::orgs::stored_permissions(&row.permissions, catalog);
        RoleInfo {
            name: row.name,
            builtin: false,
            description: row.description,
            permissions: perms.to_strings(),
            created_at: Some(row.created_at),
            updated_at: Some(row.updated_at),
        }
    }
}

/// A custom role loaded under the org's lock, with what the actor holds.
struct CustomRole {
    name: RoleName,
    row: RoleRow,
    old: RolePermissions,
    actor: Role,
    catalog: Catalog,
}

/// A resource as shown: the stored row with the groups it admits.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub row: ResourceRow,
    pub groups: Vec<String>,
}

impl ResourceInfo {
    pub fn key(&self) -> String {
        format!("{}/{}", self.row.resource_type, self.row.name)
    }
}

/// A review policy: which actions need approval, and how many approvals.
#[derive(Debug, Clone, Default)]
pub struct ReviewPolicy {
    pub actions: Vec<String>,
    pub approvals: i64,
}

/// A resource to register.
#[derive(Debug, Clone, Default)]
pub struct NewResource {
    /// `type/name`.
    pub key: String,
    pub parent: Option<String>,
    pub groups: Vec<String>,
    pub review: Option<ReviewPolicy>,
}

/// A change to a resource; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ResourceUpdate {
    /// `Some(None)` makes the resource a root.
    pub parent: Option<Option<String>>,
    pub groups: Option<Vec<String>>,
    /// `Some(None)` removes the policy.
    pub review: Option<Option<ReviewPolicy>>,
}

/// Who an access rule is for.
#[derive(Debug, Clone)]
pub enum SubjectRef {
    /// A member, by email or numeric id.
    User(String),
    Group(String),
}

/// Filters for listing rules, as received.
#[derive(Debug, Clone, Default)]
pub struct RuleQuery {
    pub user: Option<String>,
    pub group: Option<String>,
    pub role: Option<String>,
    pub resource: Option<String>,
}

/// A role's description, trimmed: at most 500 characters.
fn role_description(raw: &str) -> Result<&str> {
    let d = raw.trim();
    if d.chars().count() > 500 {
        return Err(invalid("description", "at most 500 characters"));
    }
    Ok(d)
}

/// Splits and checks `type/name`.
pub(crate) fn parse_key<'a>(
    field: &'static str,
    key: &'a str,
    catalog: &Catalog,
) -> Result<(&'a str, &'a str)> {
    let key = key.trim();
    let Some((t, n)) = key.split_once('/') else {
        return Err(invalid(
            field,
            format!(
                "{key:?} is not a resource; resources are written type/name, e.g. clusters/eu-1"
            ),
        ));
    };
    if !catalog.has_type(t) {
        return Err(AppError::Domain(DomainError::Invalid {
            field: roster_domain::Field(field),
            message: format!("unknown resource type {t:?}; see GET /orgs/{{org}}/resource-types"),
        }));
    }
    let name_ok = !n.is_empty()
        && n.len() <= 200
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'));
    if !name_ok {
        return Err(invalid(
            field,
            format!(
                "{n:?} is not a resource name (1-200 of a-z, A-Z, 0-9, '-', '_', '.', ':', '@')"
            ),
        ));
    }
    Ok((t, n))
}

/// Loads a resource by `type/name`, or fails with "not found".
pub(crate) async fn find_resource(
    conn: &mut Conn,
    org_id: i64,
    catalog: &Catalog,
    field: &'static str,
    key: &str,
) -> Result<ResourceRow> {
    let (t, n) = parse_key(field, key, catalog)?;
    resources::find(conn, org_id, t, n)
        .await?
        .ok_or(AppError::NotFound("resource"))
}

/// Loads a resource a request names as a reference (a parent, a rule's
/// scope): one that does not exist is bad input for that field, not a
/// missing page.
async fn named_resource(
    conn: &mut Conn,
    org_id: i64,
    catalog: &Catalog,
    field: &'static str,
    key: &str,
) -> Result<ResourceRow> {
    find_resource(conn, org_id, catalog, field, key)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => {
                invalid(field, format!("no resource {} in this org", key.trim()))
            }
            other => other,
        })
}

/// Finds a member of the org by email or numeric user id.
pub(crate) async fn find_member(
    conn: &mut Conn,
    org_id: i64,
    user: &str,
) -> Result<members::Member> {
    let user = user.trim();
    let user_id = match user.parse::<i64>() {
        Ok(id) => id,
        Err(_) => {
            let email = Email::parse(user)?;
            users::find_by_email(conn, email.as_str())
                .await?
                .ok_or(AppError::NotFound("member"))?
                .id
        }
    };
    members::find(conn, org_id, user_id)
        .await?
        .ok_or(AppError::NotFound("member"))
}

fn check_review(review: &ReviewPolicy, catalog: &Catalog) -> Result<String> {
    if !(1..=MAX_APPROVALS).contains(&review.approvals) {
        return Err(invalid(
            "review.approvals",
            format!("approvals is between 1 and {MAX_APPROVALS}"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for a in &review.actions {
        let a = a.trim();
        let known = a
            .split_once(':')
            .is_some_and(|(t, x)| catalog.class_of(t, x).is_some());
        if !known {
            return Err(invalid(
                "review.actions",
                format!(
                    "unknown action {a:?}; actions are written type:action, e.g. clusters:deploy"
                ),
            ));
        }
        if !out.iter().any(|o| o == a) {
            out.push(a.to_owned());
        }
    }
    if out.is_empty() {
        return Err(invalid(
            "review.actions",
            "a review policy names at least one action",
        ));
    }
    Ok(out.join(" "))
}

async fn group_ids(conn: &mut Conn, org_id: i64, names: &[String]) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for raw in names {
        let name = GroupName::parse(raw)?;
        let g = groups::find(conn, org_id, name.as_str())
            .await?
            .ok_or_else(|| invalid("groups", format!("no group named {name} in this org")))?;
        if !ids.contains(&g.id) {
            ids.push(g.id);
        }
    }
    Ok(ids)
}

impl App {
    async fn audit_access(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        meta: &RequestMeta,
        action: &str,
        target: String,
        details: serde_json::Value,
    ) -> Result<()> {
        record(
            conn,
            meta,
            AuditEntry {
                org_id: Some(access.org.id),
                actor: Some(&access.principal),
                action,
                target,
                details,
            },
        )
        .await
    }

    /// Takes the org's lock, re-reads the actor's rights and requires `p`.
    /// Returns the actor's role and the catalog as they are under the lock.
    async fn locked(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        p: ManagementPermission,
    ) -> Result<(Role, Catalog)> {
        let actor = lock_and_recheck(conn, access).await?;
        policy::require(&actor, p)?;
        let catalog = load_catalog(conn, access.org.id).await?;
        Ok((actor, catalog))
    }

    // ----- catalog -----

    /// The org's resource types and actions. Needs `users:read`.
    pub fn catalog(&self, access: &OrgAccess) -> Result<Catalog> {
        access.require(ManagementPermission::UsersRead)?;
        Ok(access.catalog.clone())
    }

    /// The descriptions the org gave its own types (the first non-empty one
    /// given with any of a type's actions). Needs `users:read`.
    pub async fn type_descriptions(
        &self,
        access: &OrgAccess,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let mut out = std::collections::BTreeMap::new();
        for row in roles::actions(&mut conn, access.org.id).await? {
            if !row.description.is_empty() {
                out.entry(row.resource_type).or_insert(row.description);
            }
        }
        Ok(out)
    }

    /// Adds a type with its actions, or actions to an existing type. Needs
    /// `resources:manage`. Adding what exists with the same class is a
    /// no-op; another class for an existing action is refused.
    pub async fn add_resource_actions(
        &self,
        access: &OrgAccess,
        resource_type: &str,
        actions: &[(String, String)],
        description: &str,
        meta: &RequestMeta,
    ) -> Result<Catalog> {
        access.require(ManagementPermission::ResourcesManage)?;
        if actions.is_empty() {
            return Err(invalid("actions", "name at least one action"));
        }
        let mut tx = self.store().begin().await?;
        let (_, mut catalog) = self
            .locked(&mut tx, access, ManagementPermission::ResourcesManage)
            .await?;
        let mut added = Vec::new();
        for (action, class) in actions {
            let class = ActionClass::parse(class.trim())?;
            let action = action.trim();
            let existed = catalog.class_of(resource_type, action).is_some();
            catalog.add(resource_type, action, class)?;
            if !existed {
                roles::insert_action(
                    &mut tx,
                    access.org.id,
                    &ActionRow {
                        resource_type: resource_type.to_owned(),
                        action: action.to_owned(),
                        class: class.as_str().to_owned(),
                        description: description.to_owned(),
                    },
                    now_ms(),
                )
                .await?;
                added.push(format!("{resource_type}:{action}:{}", class.as_str()));
            }
        }
        if !added.is_empty() {
            self.audit_access(
                &mut tx,
                access,
                meta,
                "resource_type.update",
                format!("resource_type:{resource_type}"),
                json!({ "added": added }),
            )
            .await?;
        }
        self.commit(tx).await?;
        Ok(catalog)
    }

    // ----- roles -----

    /// Built-in and custom roles with what they hold. Needs `users:read`.
    pub async fn list_roles(&self, access: &OrgAccess) -> Result<Vec<RoleInfo>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let mut out: Vec<RoleInfo> = BuiltinRole::ALL
            .into_iter()
            .map(RoleInfo::builtin)
            .collect();
        for row in roles::list(&mut conn, access.org.id).await? {
            out.push(RoleInfo::custom(row, &access.catalog));
        }
        Ok(out)
    }

    /// The names of the roles, built-in and custom, that the caller may
    /// grant (`policy::may_grant` against what they hold org-wide): what a
    /// role picker offers. Needs `users:read`; the change itself is checked
    /// again under the org's lock.
    pub async fn grantable_roles(&self, access: &OrgAccess) -> Result<Vec<String>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let custom = roles::list(&mut conn, access.org.id).await?;
        let all = BuiltinRole::ALL.into_iter().map(BuiltinRole::role).chain(
            custom.into_iter().filter_map(|row| {
                let name = RoleName::parse(&row.name).ok()?;
                let perms = super::orgs::stored_permissions(&row.permissions, &access.catalog);
                Some(Role::custom(name, perms))
            }),
        );
        Ok(all
            .filter(|r| policy::may_grant(&access.role, r, &access.catalog).is_ok())
            .map(|r| r.name().to_string())
            .collect())
    }

    /// One role. Needs `users:read`.
    pub async fn get_role(&self, access: &OrgAccess, name: &str) -> Result<RoleInfo> {
        access.require(ManagementPermission::UsersRead)?;
        let name = RoleName::parse(name).map_err(|_| AppError::NotFound("role"))?;
        if let Some(b) = name.builtin() {
            return Ok(RoleInfo::builtin(b));
        }
        let mut conn = self.store().conn().await?;
        let row = roles::find(&mut conn, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        Ok(RoleInfo::custom(row, &access.catalog))
    }

    /// Creates a custom role. Needs `roles:manage`, and the actor must hold
    /// every permission the role holds (a role is a grant waiting to
    /// happen).
    pub async fn create_role(
        &self,
        access: &OrgAccess,
        name: &str,
        description: &str,
        permissions: &[String],
        meta: &RequestMeta,
    ) -> Result<RoleInfo> {
        access.require(ManagementPermission::RolesManage)?;
        let name = RoleName::parse(name)?;
        if name.builtin().is_some() {
            return Err(AppError::Conflict {
                code: "role_exists",
                message: format!("{name} is a built-in role"),
            });
        }
        let description = role_description(description)?;
        let mut tx = self.store().begin().await?;
        let (actor, catalog) = self
            .locked(&mut tx, access, ManagementPermission::RolesManage)
            .await?;
        let perms = RolePermissions::parse(permissions, &catalog)?;
        let role = Role::custom(name.clone(), perms.clone());
        policy::may_grant(&actor, &role, &catalog)?;
        let list = perms.to_strings().join(" ");
        roles::insert(
            &mut tx,
            access.org.id,
            name.as_str(),
            description,
            &list,
            now_ms(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict {
                code: "role_exists",
                message: format!("a role named {name} exists already"),
            },
            other => other.into(),
        })?;
        self.audit_access(
            &mut tx,
            access,
            meta,
            "role.create",
            format!("role:{name}"),
            json!({ "permissions": perms.to_strings(), "description": description }),
        )
        .await?;
        let row = roles::find(&mut tx, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        self.commit(tx).await?;
        Ok(RoleInfo::custom(row, &catalog))
    }

    /// Loads a custom role to change or delete, under the org's lock.
    /// Needs `roles:manage` and every permission the role holds now:
    /// touching a role that holds more than the actor is itself a way to
    /// reach permissions the actor lacks. Built-in roles are refused.
    async fn locked_custom_role(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        name: &str,
        verb: &str,
    ) -> Result<CustomRole> {
        access.require(ManagementPermission::RolesManage)?;
        let name = RoleName::parse(name).map_err(|_| AppError::NotFound("role"))?;
        if name.builtin().is_some() {
            return Err(AppError::Forbidden(format!(
                "{name} is a built-in role; built-in roles cannot be {verb}"
            )));
        }
        let (actor, catalog) = self
            .locked(conn, access, ManagementPermission::RolesManage)
            .await?;
        let row = roles::find(conn, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        let old = super::orgs::stored_permissions(&row.permissions, &catalog);
        policy::may_grant(&actor, &Role::custom(name.clone(), old.clone()), &catalog)?;
        Ok(CustomRole {
            name,
            row,
            old,
            actor,
            catalog,
        })
    }

    /// Changes a custom role's description or permissions. Needs
    /// `roles:manage` and every permission of the new set: editing a role
    /// changes what everyone holding it may do, so it is a grant.
    pub async fn update_role(
        &self,
        access: &OrgAccess,
        name: &str,
        description: Option<&str>,
        permissions: Option<&[String]>,
        meta: &RequestMeta,
    ) -> Result<RoleInfo> {
        let mut tx = self.store().begin().await?;
        let CustomRole {
            name,
            row,
            old,
            actor,
            catalog,
        } = self
            .locked_custom_role(&mut tx, access, name, "changed")
            .await?;
        let perms = match permissions {
            Some(p) => RolePermissions::parse(p, &catalog)?,
            None => old.clone(),
        };
        policy::may_grant(&actor, &Role::custom(name.clone(), perms.clone()), &catalog)?;
        let description = role_description(description.unwrap_or(&row.description))?;
        let list = perms.to_strings().join(" ");
        roles::update(
            &mut tx,
            access.org.id,
            name.as_str(),
            description,
            &list,
            now_ms(),
        )
        .await?;
        self.audit_access(
            &mut tx,
            access,
            meta,
            "role.update",
            format!("role:{name}"),
            json!({ "from": old.to_strings(), "to": perms.to_strings(), "description": description }),
        )
        .await?;
        let row = roles::find(&mut tx, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        self.commit(tx).await?;
        Ok(RoleInfo::custom(row, &catalog))
    }

    /// Deletes a custom role. A role in use (members, pending invitations,
    /// access rules, the default role for sign-ups) is refused unless a
    /// `replacement` is named, which then takes its place everywhere.
    pub async fn delete_role(
        &self,
        access: &OrgAccess,
        name: &str,
        replacement: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<RoleUsage> {
        let mut tx = self.store().begin().await?;
        let CustomRole {
            name,
            actor,
            catalog,
            ..
        } = self
            .locked_custom_role(&mut tx, access, name, "deleted")
            .await?;
        let usage = roles::usage(&mut tx, access.org.id, name.as_str()).await?;
        let replaced_by = match (usage.in_use(), replacement) {
            (false, _) => None,
            (true, None) => {
                return Err(AppError::Conflict {
                    code: "role_in_use",
                    message: format!(
                        "{name} is in use ({}); name a replacement role to move them to",
                        usage_words(&usage)
                    ),
                })
            }
            (true, Some(r)) => {
                let new = parse_role(&mut tx, access.org.id, &catalog, r).await?;
                if new.name() == &name {
                    return Err(invalid(
                        "replacement",
                        "the replacement is the role being deleted",
                    ));
                }
                if new.is_owner() {
                    return Err(invalid(
                        "replacement",
                        "the owner role cannot replace a custom role",
                    ));
                }
                policy::may_grant(&actor, &new, &catalog)?;
                roles::replace_everywhere(
                    &mut tx,
                    access.org.id,
                    name.as_str(),
                    new.name().as_str(),
                )
                .await?;
                Some(new.name().to_string())
            }
        };
        roles::delete(&mut tx, access.org.id, name.as_str()).await?;
        self.audit_access(
            &mut tx,
            access,
            meta,
            "role.delete",
            format!("role:{name}"),
            json!({
                "replacement": replaced_by,
                "members": usage.members,
                "invitations": usage.pending_invitations,
                "rules": usage.rules,
            }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(usage)
    }

    // ----- resources -----

    async fn resource_info(&self, conn: &mut Conn, row: ResourceRow) -> Result<ResourceInfo> {
        let groups = resources::group_names(conn, row.id).await?;
        Ok(ResourceInfo { row, groups })
    }

    /// Registers a resource. Needs `resources:manage`.
    pub async fn create_resource(
        &self,
        access: &OrgAccess,
        new: NewResource,
        meta: &RequestMeta,
    ) -> Result<ResourceInfo> {
        access.require(ManagementPermission::ResourcesManage)?;
        let mut tx = self.store().begin().await?;
        let (_, catalog) = self
            .locked(&mut tx, access, ManagementPermission::ResourcesManage)
            .await?;
        let (t, n) = parse_key("key", &new.key, &catalog)?;
        let parent = match &new.parent {
            Some(p) => Some(named_resource(&mut tx, access.org.id, &catalog, "parent", p).await?),
            None => None,
        };
        let gids = group_ids(&mut tx, access.org.id, &new.groups).await?;
        let (review_actions, approvals) = match &new.review {
            Some(r) => (check_review(r, &catalog)?, r.approvals),
            None => (String::new(), 1),
        };
        let id = resources::insert(
            &mut tx,
            resources::NewResource {
                org_id: access.org.id,
                resource_type: t,
                name: n,
                parent_id: parent.as_ref().map(|p| p.id),
                review_actions: &review_actions,
                review_approvals: approvals,
                now: now_ms(),
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict {
                code: "resource_exists",
                message: format!("{t}/{n} is registered already"),
            },
            other => other.into(),
        })?;
        resources::set_groups(&mut tx, access.org.id, id, &gids).await?;
        self.audit_access(
            &mut tx,
            access,
            meta,
            "resource.create",
            format!("resource:{t}/{n}"),
            json!({
                "parent": new.parent,
                "groups": new.groups,
                "review": new.review.as_ref().map(|r| json!({"actions": r.actions, "approvals": r.approvals})),
            }),
        )
        .await?;
        let row = resources::find(&mut tx, access.org.id, t, n)
            .await?
            .ok_or(AppError::NotFound("resource"))?;
        let info = self.resource_info(&mut tx, row).await?;
        self.commit(tx).await?;
        Ok(info)
    }

    /// One resource. Needs `users:read`.
    pub async fn get_resource(&self, access: &OrgAccess, key: &str) -> Result<ResourceInfo> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let row = find_resource(&mut conn, access.org.id, &access.catalog, "key", key).await?;
        self.resource_info(&mut conn, row).await
    }

    /// A page of resources, optionally of one type or under one parent.
    /// Needs `users:read`.
    pub async fn list_resources(
        &self,
        access: &OrgAccess,
        resource_type: Option<&str>,
        parent: Option<&str>,
        after_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ResourceInfo>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        if let Some(t) = resource_type {
            if !access.catalog.has_type(t) {
                return Err(invalid("type", format!("unknown resource type {t:?}")));
            }
        }
        let parent_id = match parent {
            Some(p) => Some(
                find_resource(&mut conn, access.org.id, &access.catalog, "parent", p)
                    .await?
                    .id,
            ),
            None => None,
        };
        let rows = resources::list(
            &mut conn,
            access.org.id,
            &ResourceFilter {
                resource_type: resource_type.map(str::to_owned),
                parent_id,
                after_id,
            },
            limit,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.resource_info(&mut conn, row).await?);
        }
        Ok(out)
    }

    /// Changes a resource's parent, groups or review policy. Needs
    /// `resources:manage`. A parent below the resource itself (a cycle) is
    /// refused.
    pub async fn update_resource(
        &self,
        access: &OrgAccess,
        key: &str,
        u: ResourceUpdate,
        meta: &RequestMeta,
    ) -> Result<ResourceInfo> {
        access.require(ManagementPermission::ResourcesManage)?;
        let mut tx = self.store().begin().await?;
        let (_, catalog) = self
            .locked(&mut tx, access, ManagementPermission::ResourcesManage)
            .await?;
        let row = find_resource(&mut tx, access.org.id, &catalog, "key", key).await?;
        let parent_id = match &u.parent {
            None => row.parent_id,
            Some(None) => None,
            Some(Some(p)) => {
                let parent = named_resource(&mut tx, access.org.id, &catalog, "parent", p).await?;
                let above = resources::ancestry(&mut tx, parent.id).await?;
                if above.contains(&row.id) {
                    return Err(invalid(
                        "parent",
                        format!(
                            "{} is below {}/{}; a resource cannot be its own ancestor",
                            p.trim(),
                            row.resource_type,
                            row.name
                        ),
                    ));
                }
                Some(parent.id)
            }
        };
        let (review_actions, approvals) = match &u.review {
            None => (row.review_actions.clone(), row.review_approvals),
            Some(None) => (String::new(), 1),
            Some(Some(r)) => (check_review(r, &catalog)?, r.approvals),
        };
        if let Some(g) = &u.groups {
            let gids = group_ids(&mut tx, access.org.id, g).await?;
            resources::set_groups(&mut tx, access.org.id, row.id, &gids).await?;
        }
        resources::update(
            &mut tx,
            row.id,
            parent_id,
            &review_actions,
            approvals,
            now_ms(),
        )
        .await?;
        let key = format!("{}/{}", row.resource_type, row.name);
        self.audit_access(
            &mut tx,
            access,
            meta,
            "resource.update",
            format!("resource:{key}"),
            json!({
                "parent": u.parent,
                "groups": u.groups,
                "review": u.review.as_ref().map(|r| r.as_ref().map(|r| json!({"actions": r.actions, "approvals": r.approvals}))),
            }),
        )
        .await?;
        let row = resources::find(&mut tx, access.org.id, &row.resource_type, &row.name)
            .await?
            .ok_or(AppError::NotFound("resource"))?;
        let info = self.resource_info(&mut tx, row).await?;
        self.commit(tx).await?;
        Ok(info)
    }

    /// Deletes a resource, and with `cascade` everything below it (with
    /// their rules and requests). Without `cascade`, a resource with
    /// children is refused. Returns how many resources were deleted.
    pub async fn delete_resource(
        &self,
        access: &OrgAccess,
        key: &str,
        cascade: bool,
        meta: &RequestMeta,
    ) -> Result<usize> {
        access.require(ManagementPermission::ResourcesManage)?;
        let mut tx = self.store().begin().await?;
        let (_, catalog) = self
            .locked(&mut tx, access, ManagementPermission::ResourcesManage)
            .await?;
        let row = find_resource(&mut tx, access.org.id, &catalog, "key", key).await?;
        let subtree = resources::subtree(&mut tx, row.id).await?;
        if subtree.len() > 1 && !cascade {
            return Err(AppError::Conflict {
                code: "resource_has_children",
                message: format!(
                    "{}/{} has {} resources below it; delete them first or ask for a cascading delete",
                    row.resource_type,
                    row.name,
                    subtree.len() - 1
                ),
            });
        }
        resources::delete_all(&mut tx, &subtree).await?;
        self.audit_access(
            &mut tx,
            access,
            meta,
            "resource.delete",
            format!("resource:{}/{}", row.resource_type, row.name),
            json!({ "cascade": cascade, "deleted": subtree.len() }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(subtree.len())
    }

    // ----- access rules -----

    /// Grants `role` to a member or group, org-wide or on one resource (and
    /// so its descendants). Needs `access:manage` and every permission of
    /// the role at that scope. The owner role is a member's org role, not a
    /// rule. Granting a rule that exists returns it unchanged.
    pub async fn grant_rule(
        &self,
        access: &OrgAccess,
        subject: SubjectRef,
        role: &str,
        resource: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(RuleRow, bool)> {
        access.require(ManagementPermission::AccessManage)?;
        let mut tx = self.store().begin().await?;
        let (_, catalog) = self
            .locked(&mut tx, access, ManagementPermission::AccessManage)
            .await?;
        let role = parse_role(&mut tx, access.org.id, &catalog, role).await?;
        if role.is_owner() {
            return Err(invalid(
                "role",
                "the owner role is given as a member's org role (roster users update --role owner), not by an access rule",
            ));
        }
        let (user_id, group_id) = match &subject {
            SubjectRef::User(u) => (
                Some(
                    find_member(&mut tx, access.org.id, u)
                        .await
                        .map_err(|e| match e {
                            AppError::NotFound(_) => invalid(
                                "user",
                                format!("{} is not a member of this organization", u.trim()),
                            ),
                            other => other,
                        })?
                        .user_id,
                ),
                None,
            ),
            SubjectRef::Group(g) => {
                let name = GroupName::parse(g)?;
                let group = groups::find(&mut tx, access.org.id, name.as_str())
                    .await?
                    .ok_or_else(|| {
                        invalid("group", format!("no group named {name} in this org"))
                    })?;
                (None, Some(group.id))
            }
        };
        let (resource_id, scope) = match resource {
            Some(key) => {
                let row = named_resource(&mut tx, access.org.id, &catalog, "resource", key).await?;
                let chain = resources::ancestry(&mut tx, row.id).await?;
                (Some(row.id), chain)
            }
            None => (None, Vec::new()),
        };
        // What the actor holds at that scope, under the lock.
        let me = members::find(&mut tx, access.org.id, access.principal.user_id)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let actor = effective_role(
            &mut tx,
            access.org.id,
            access.principal.user_id,
            &me.role,
            &catalog,
            &scope,
        )
        .await?;
        policy::may_grant(&actor, &role, &catalog)?;
        let (id, created) = rules::insert(
            &mut tx,
            rules::NewRule {
                org_id: access.org.id,
                user_id,
                group_id,
                role: role.name().as_str(),
                resource_id,
                created_by: access.principal.user_id,
                now: now_ms(),
            },
        )
        .await?;
        let rule = rules::get(&mut tx, access.org.id, id).await?;
        if created {
            self.audit_access(
                &mut tx,
                access,
                meta,
                "access.grant",
                format!("rule:{id}"),
                rule_details(&rule),
            )
            .await?;
        }
        self.commit(tx).await?;
        Ok((rule, created))
    }

    /// Revokes a rule. Needs `access:manage`.
    pub async fn revoke_rule(&self, access: &OrgAccess, id: i64, meta: &RequestMeta) -> Result<()> {
        access.require(ManagementPermission::AccessManage)?;
        let mut tx = self.store().begin().await?;
        self.locked(&mut tx, access, ManagementPermission::AccessManage)
            .await?;
        let rule = rules::get(&mut tx, access.org.id, id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::NotFound("access rule"),
                other => other.into(),
            })?;
        rules::delete(&mut tx, access.org.id, id).await?;
        self.audit_access(
            &mut tx,
            access,
            meta,
            "access.revoke",
            format!("rule:{id}"),
            rule_details(&rule),
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Rules by subject, role or resource. Needs `users:read`.
    pub async fn list_rules(
        &self,
        access: &OrgAccess,
        q: &RuleQuery,
        after_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RuleRow>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let mut f = RuleFilter {
            after_id,
            ..Default::default()
        };
        if let Some(u) = &q.user {
            f.user_id = Some(find_member(&mut conn, access.org.id, u).await?.user_id);
        }
        if let Some(g) = &q.group {
            let name = GroupName::parse(g)?;
            f.group_id = Some(
                groups::find(&mut conn, access.org.id, name.as_str())
                    .await?
                    .ok_or(AppError::NotFound("group"))?
                    .id,
            );
        }
        if let Some(r) = &q.role {
            f.role = Some(RoleName::parse(r)?.to_string());
        }
        if let Some(r) = &q.resource {
            if r == "org" {
                f.org_wide = true;
            } else {
                f.resource_id = Some(
                    find_resource(&mut conn, access.org.id, &access.catalog, "resource", r)
                        .await?
                        .id,
                );
            }
        }
        Ok(rules::list(&mut conn, access.org.id, &f, limit).await?)
    }
}

/// "2 members, 1 access rule, the default role for sign-ups".
fn usage_words(u: &RoleUsage) -> String {
    let count = |n: i64, one: &str, many: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    };
    [
        count(u.members, "member", "members"),
        count(
            u.pending_invitations,
            "pending invitation",
            "pending invitations",
        ),
        count(u.rules, "access rule", "access rules"),
        u.default_role
            .then(|| "the default role for sign-ups".to_owned()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

fn rule_details(rule: &RuleRow) -> serde_json::Value {
    json!({
        "user": rule.user_email,
        "group": rule.group_name,
        "role": rule.role,
        "resource": rule.resource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys_are_type_slash_name() {
        let c = Catalog::default_catalog();
        assert_eq!(
            parse_key("key", " clusters/eu-1 ", &c).unwrap(),
            ("clusters", "eu-1")
        );
        for bad in [
            "clusters",
            "nosuch/x",
            "clusters/",
            "clusters/a b",
            "clusters/a/b",
        ] {
            assert!(parse_key("key", bad, &c).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_usage_reads_as_words() {
        let u = RoleUsage {
            members: 2,
            pending_invitations: 0,
            rules: 1,
            default_role: true,
        };
        assert_eq!(
            usage_words(&u),
            "2 members, 1 access rule, the default role for sign-ups"
        );
    }

    #[test]
    fn review_policies_name_known_actions() {
        let c = Catalog::default_catalog();
        let ok = ReviewPolicy {
            actions: vec!["clusters:deploy".into(), "clusters:deploy".into()],
            approvals: 2,
        };
        assert_eq!(check_review(&ok, &c).unwrap(), "clusters:deploy");
        for (actions, approvals) in [
            (vec!["clusters:explode".to_owned()], 1),
            (vec![], 1),
            (vec!["clusters:deploy".to_owned()], 0),
            (vec!["clusters:deploy".to_owned()], 11),
        ] {
            assert!(check_review(&ReviewPolicy { actions, approvals }, &c).is_err());
        }
    }
}
