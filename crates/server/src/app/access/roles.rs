//! Custom roles: any set of permissions an org names, next to the
//! built-in roles (SPEC §1). Creating or editing a role is a grant waiting
//! to happen, so the actor must hold everything the role holds.

use super::super::change::Change;
use super::super::error::{Result, StoreResultExt};
use super::super::orgs::{invalid, parse_role, OrgAccess};
use super::super::{App, AppError, RequestMeta};
use roster_domain::policy;
use roster_domain::{
    BuiltinRole, Catalog, Conflict, ManagementPermission, Role, RoleName, RolePermissions,
    Timestamp,
};
use roster_store::roles::{self, RoleRow, RoleUsage};
use serde_json::json;

/// A role as listed: built-in or custom, with its permission list.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub name: String,
    pub builtin: bool,
    pub description: String,
    pub permissions: Vec<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
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
        let perms = RolePermissions::from_stored(&row.permissions, catalog);
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

/// A custom role loaded in a change, with the catalog under the lock.
struct CustomRole {
    name: RoleName,
    row: RoleRow,
    old: RolePermissions,
    catalog: Catalog,
}

/// A role's description, trimmed: at most 500 characters.
fn role_description(raw: &str) -> Result<&str> {
    let d = raw.trim();
    if d.chars().count() > 500 {
        return Err(invalid("description", "at most 500 characters"));
    }
    Ok(d)
}

impl App {
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
                let perms = RolePermissions::from_stored(&row.permissions, &access.catalog);
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
            return Err(AppError::conflict(
                Conflict::RoleExists,
                format!("{name} is a built-in role"),
            ));
        }
        let description = role_description(description)?;
        let (mut c, catalog) = self
            .change_access(access, ManagementPermission::RolesManage, meta)
            .await?;
        let perms = RolePermissions::parse(permissions, &catalog)?;
        let role = Role::custom(name.clone(), perms.clone());
        policy::may_grant(c.held()?, &role, &catalog)?;
        let list = perms.to_strings().join(" ");
        let now = c.now();
        roles::insert(
            &mut c,
            access.org.id,
            name.as_str(),
            description,
            &list,
            now,
        )
        .await
        .on_conflict(Conflict::RoleExists, || {
            format!("a role named {name} exists already")
        })?;
        c.touch_role(name.as_str());
        c.audit(
            "role.create",
            format!("role:{name}"),
            json!({ "permissions": perms.to_strings(), "description": description }),
        )
        .await?;
        let row = roles::find(&mut c, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        c.commit().await?;
        Ok(RoleInfo::custom(row, &catalog))
    }

    /// Begins a change to a custom role. Needs `roles:manage` and every
    /// permission the role holds now: touching a role that holds more than
    /// the actor is itself a way to reach permissions the actor lacks.
    /// Built-in roles are refused.
    async fn change_custom_role<'a>(
        &'a self,
        access: &OrgAccess,
        name: &str,
        verb: &str,
        meta: &'a RequestMeta,
    ) -> Result<(Change<'a>, CustomRole)> {
        access.require(ManagementPermission::RolesManage)?;
        let name = RoleName::parse(name).map_err(|_| AppError::NotFound("role"))?;
        if name.builtin().is_some() {
            return Err(AppError::Forbidden(format!(
                "{name} is a built-in role; built-in roles cannot be {verb}"
            )));
        }
        let (mut c, catalog) = self
            .change_access(access, ManagementPermission::RolesManage, meta)
            .await?;
        let row = roles::find(&mut c, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        let old = RolePermissions::from_stored(&row.permissions, &catalog);
        policy::may_grant(
            c.held()?,
            &Role::custom(name.clone(), old.clone()),
            &catalog,
        )?;
        Ok((
            c,
            CustomRole {
                name,
                row,
                old,
                catalog,
            },
        ))
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
        let (
            mut c,
            CustomRole {
                name,
                row,
                old,
                catalog,
            },
        ) = self
            .change_custom_role(access, name, "changed", meta)
            .await?;
        let perms = match permissions {
            Some(p) => RolePermissions::parse(p, &catalog)?,
            None => old.clone(),
        };
        policy::may_grant(
            c.held()?,
            &Role::custom(name.clone(), perms.clone()),
            &catalog,
        )?;
        let description = role_description(description.unwrap_or(&row.description))?;
        let list = perms.to_strings().join(" ");
        let now = c.now();
        roles::update(
            &mut c,
            access.org.id,
            name.as_str(),
            description,
            &list,
            now,
        )
        .await?;
        c.touch_role(name.as_str());
        c.audit(
            "role.update",
            format!("role:{name}"),
            json!({ "from": old.to_strings(), "to": perms.to_strings(), "description": description }),
        )
        .await?;
        let row = roles::find(&mut c, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("role"))?;
        c.commit().await?;
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
        let (mut c, CustomRole { name, catalog, .. }) = self
            .change_custom_role(access, name, "deleted", meta)
            .await?;
        let usage = roles::usage(&mut c, access.org.id, name.as_str()).await?;
        let replaced_by = match (usage.in_use(), replacement) {
            (false, _) => None,
            (true, None) => {
                return Err(AppError::conflict(
                    Conflict::RoleInUse,
                    format!(
                        "{name} is in use ({}); name a replacement role to move them to",
                        usage_words(&usage)
                    ),
                ))
            }
            (true, Some(r)) => {
                let new = parse_role(&mut c, access.org.id, &catalog, r).await?;
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
                policy::may_grant(c.held()?, &new, &catalog)?;
                roles::replace_everywhere(
                    &mut c,
                    access.org.id,
                    name.as_str(),
                    new.name().as_str(),
                )
                .await?;
                Some(new.name().to_string())
            }
        };
        roles::delete(&mut c, access.org.id, name.as_str()).await?;
        match &replaced_by {
            Some(by) => c.touch_replaced_role(name.as_str(), by),
            None => c.touch_role(name.as_str()),
        }
        c.audit(
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
        c.commit().await?;
        Ok(usage)
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
        count(u.mappings, "group mapping", "group mappings"),
        u.default_role
            .then(|| "the default role for sign-ups".to_owned()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_usage_reads_as_words() {
        let u = RoleUsage {
            members: 2,
            pending_invitations: 0,
            rules: 1,
            mappings: 0,
            default_role: true,
        };
        assert_eq!(
            usage_words(&u),
            "2 members, 1 access rule, the default role for sign-ups"
        );
    }
}
