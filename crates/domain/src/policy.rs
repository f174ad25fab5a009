//! The rules of SPEC §2 that decide who may change whom.
//!
//! These functions take facts (roles, counts) and answer yes or no with a
//! reason. They hold no state and touch no storage: the caller loads the
//! facts inside the same transaction that makes the change, so the answer
//! and the change see the same world.

use crate::catalog::Catalog;
use crate::permission::ManagementPermission;
use crate::role::Role;
use crate::{DomainError, MemberStatus};

/// Fails unless `actor` holds `p`.
pub fn require(actor: &Role, p: ManagementPermission) -> Result<(), DomainError> {
    if actor.has(p) {
        Ok(())
    } else {
        Err(DomainError::MissingPermission(
            crate::error::ManagementPermissionName(p.as_str()),
        ))
    }
}

/// May `actor` give `role` to someone (by creating, inviting, approving or
/// changing a member, or by an access rule)? Only owners give the owner
/// role, and nobody gives a role holding a permission they do not hold
/// themselves at that scope: `actor` is everything the actor holds there,
/// and `catalog` expands the role's platform grants into actions.
pub fn may_grant(actor: &Role, role: &Role, catalog: &Catalog) -> Result<(), DomainError> {
    if role.is_owner() && !actor.has(ManagementPermission::OwnersManage) {
        return Err(DomainError::OwnerRoleRequiresOwner);
    }
    if let Some(p) = role.management().missing_from(actor.management()).next() {
        return Err(escalation(role, p.as_str()));
    }
    // A class is covered when the actor holds the class, or holds every
    // action of that class on every type by name.
    for class in role
        .platform_classes()
        .missing_from(actor.platform_classes())
    {
        if let Some((t, a, _)) = catalog
            .all_actions()
            .find(|(t, a, c)| *c == class && !actor.grants_platform(t, a, *c))
        {
            return Err(escalation(role, &format!("{t}:{a}")));
        }
    }
    for grant in &role.permissions().grants {
        let t = grant.resource_type();
        let actions = catalog.actions(t).into_iter().flatten();
        for (a, class) in actions {
            if grant.covers(t, a) && !actor.grants_platform(t, a, class) {
                return Err(escalation(role, &format!("{t}:{a}")));
            }
        }
    }
    Ok(())
}

fn escalation(role: &Role, permission: &str) -> DomainError {
    DomainError::Escalation {
        role: role.name().to_string(),
        permission: permission.to_owned(),
    }
}

/// May `actor` edit, disable or remove a member whose role is `target`?
/// Needs `users:manage`, and `owners:manage` when the member is an owner.
pub fn may_manage_member(actor: &Role, target: &Role) -> Result<(), DomainError> {
    require(actor, ManagementPermission::UsersManage)?;
    if target.is_owner() && !actor.has(ManagementPermission::OwnersManage) {
        return Err(DomainError::OwnerRoleRequiresOwner);
    }
    Ok(())
}

/// May `actor` change a member's role from `current` to `new`?
pub fn may_change_role(
    actor: &Role,
    current: &Role,
    new: &Role,
    catalog: &Catalog,
) -> Result<(), DomainError> {
    may_manage_member(actor, current)?;
    may_grant(actor, new, catalog)
}

/// Whether a member counts as an active owner.
pub fn is_active_owner(role: &Role, status: MemberStatus) -> bool {
    role.is_owner() && status == MemberStatus::Active
}

/// The last-owner rule: a change that takes away a member's active
/// ownership is allowed only when another active owner remains.
/// `other_active_owners` counts the active owners other than this member,
/// read under the org's lock in the transaction making the change.
pub fn ensure_owner_remains(
    was_active_owner: bool,
    stays_active_owner: bool,
    other_active_owners: i64,
) -> Result<(), DomainError> {
    if was_active_owner && !stays_active_owner && other_active_owners < 1 {
        return Err(DomainError::LastOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::BuiltinRole::*;
    use crate::role::{RoleName, RolePermissions};

    fn may_grant(actor: &Role, role: &Role) -> Result<(), DomainError> {
        super::may_grant(actor, role, &Catalog::default_catalog())
    }

    fn may_change_role(actor: &Role, current: &Role, new: &Role) -> Result<(), DomainError> {
        super::may_change_role(actor, current, new, &Catalog::default_catalog())
    }

    fn custom(name: &str, perms: &[&str]) -> Role {
        Role::custom(
            RoleName::parse(name).unwrap(),
            RolePermissions::parse(perms, &Catalog::default_catalog()).unwrap(),
        )
    }

    #[test]
    fn custom_roles_cannot_smuggle_permissions() {
        let platform = custom("platform", &["cloud-credentials:*", "host-groups:*"]);
        // An admin holds every class, so every platform grant.
        assert!(may_grant(&Admin.role(), &platform).is_ok());
        // A granter holding only clusters:* cannot grant more than that.
        let granter = custom("granter", &["access:manage", "clusters:*"]);
        assert!(may_grant(&granter, &custom("c", &["clusters:deploy"])).is_ok());
        assert_eq!(
            may_grant(&granter, &platform),
            Err(DomainError::Escalation {
                role: "platform".into(),
                permission: "cloud-credentials:create".into()
            })
        );
        // Nor a class it holds only in part.
        assert!(may_grant(&granter, &custom("r", &["*:read"])).is_err());
        // A contributor (no admin class) cannot grant `manage` actions.
        assert!(may_grant(&Contributor.role(), &custom("m", &["clusters:manage"])).is_err());
        assert!(may_grant(&Contributor.role(), &custom("d", &["clusters:deploy"])).is_ok());
    }

    #[test]
    fn only_owners_grant_or_touch_the_owner_role() {
        let (owner, admin) = (Owner.role(), Admin.role());
        assert!(may_grant(&owner, &owner).is_ok());
        assert_eq!(
            may_grant(&admin, &owner),
            Err(DomainError::OwnerRoleRequiresOwner)
        );
        assert_eq!(
            may_change_role(&admin, &owner, &Viewer.role()),
            Err(DomainError::OwnerRoleRequiresOwner)
        );
        assert!(may_change_role(&owner, &owner, &Viewer.role()).is_ok());
    }

    #[test]
    fn admins_set_roles_up_to_admin() {
        let admin = Admin.role();
        for r in [Admin, Contributor, Viewer, ViewerNoSecrets] {
            assert!(
                may_change_role(&admin, &Viewer.role(), &r.role()).is_ok(),
                "{r:?}"
            );
        }
    }

    #[test]
    fn members_without_users_manage_change_nobody() {
        let contributor = Contributor.role();
        assert!(matches!(
            may_change_role(&contributor, &Viewer.role(), &Viewer.role()),
            Err(DomainError::MissingPermission(_))
        ));
    }

    #[test]
    fn nobody_grants_beyond_their_own_permissions() {
        // An admin may not grant a role that holds owner-only permissions,
        // even if it is not called "owner"; modelled here by the owner's set.
        let viewer = Viewer.role();
        assert!(matches!(
            may_grant(&viewer, &Contributor.role()),
            Err(DomainError::Escalation { .. })
        ));
        assert!(may_grant(&ViewerNoSecrets.role(), &Viewer.role()).is_err());
    }

    #[test]
    fn the_last_active_owner_stays() {
        assert_eq!(
            ensure_owner_remains(true, false, 0),
            Err(DomainError::LastOwner)
        );
        assert!(ensure_owner_remains(true, false, 1).is_ok());
        assert!(ensure_owner_remains(true, true, 0).is_ok());
        assert!(ensure_owner_remains(false, false, 0).is_ok());
    }
}
