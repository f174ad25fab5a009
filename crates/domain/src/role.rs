//! Roles: named sets of permissions. The built-in roles of SPEC §1 exist in
//! every organization and cannot be edited or deleted.

use crate::catalog::Catalog;
use crate::permission::{ActionClass, ClassSet, ManagementPermission, ManagementSet};
use crate::DomainError;
use std::collections::BTreeSet;
use std::fmt;

/// A role's name: a built-in one or a custom role's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim().to_ascii_lowercase();
        // Accept the vendor spelling VIEWERNOSECRETS and viewer_no_secrets too.
        let s = match s.as_str() {
            "viewernosecrets" | "viewer_no_secrets" => "viewer-no-secrets".to_owned(),
            _ => s,
        };
        let ok = s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(DomainError::invalid(
                "role",
                format!("{raw:?} is not a role name (a-z, 0-9 and '-', starting with a letter)"),
            ));
        }
        Ok(RoleName(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn builtin(&self) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.name() == self.0)
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<BuiltinRole> for RoleName {
    fn from(r: BuiltinRole) -> Self {
        RoleName(r.name().to_owned())
    }
}

/// The five built-in roles, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    Owner,
    Admin,
    Contributor,
    Viewer,
    ViewerNoSecrets,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 5] = [
        BuiltinRole::Owner,
        BuiltinRole::Admin,
        BuiltinRole::Contributor,
        BuiltinRole::Viewer,
        BuiltinRole::ViewerNoSecrets,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Owner => "owner",
            BuiltinRole::Admin => "admin",
            BuiltinRole::Contributor => "contributor",
            BuiltinRole::Viewer => "viewer",
            BuiltinRole::ViewerNoSecrets => "viewer-no-secrets",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::Owner => "Full control, including the owner role and the organization itself.",
            BuiltinRole::Admin => "Manages members, roles, groups, access, integrations and the audit log; cannot touch owners.",
            BuiltinRole::Contributor => "Reads and changes platform resources, reads secrets, creates API tokens.",
            BuiltinRole::Viewer => "Reads platform resources and secrets.",
            BuiltinRole::ViewerNoSecrets => "Reads platform resources, but not secrets.",
        }
    }

    /// The table of SPEC §1, management half.
    pub fn management(self) -> ManagementSet {
        use ManagementPermission::*;
        match self {
            BuiltinRole::Owner => ManagementSet::of(&ManagementPermission::ALL),
            BuiltinRole::Admin => ManagementSet::of(&[
                UsersRead,
                TokensCreate,
                IntegrationsManage,
                UsersInvite,
                UsersManage,
                UsersApprove,
                RolesManage,
                GroupsManage,
                AccessManage,
                ResourcesManage,
                AuditRead,
                RequestsApprove,
            ]),
            BuiltinRole::Contributor => ManagementSet::of(&[UsersRead, TokensCreate]),
            BuiltinRole::Viewer | BuiltinRole::ViewerNoSecrets => ManagementSet::of(&[UsersRead]),
        }
    }

    /// The table of SPEC §1, platform half: the classes of actions granted
    /// on every platform resource type, including types added later.
    pub fn platform_classes(self) -> ClassSet {
        use ActionClass::*;
        match self {
            BuiltinRole::Owner | BuiltinRole::Admin => ClassSet::of(&[Read, Write, Secret, Admin]),
            BuiltinRole::Contributor => ClassSet::of(&[Read, Write, Secret]),
            BuiltinRole::Viewer => ClassSet::of(&[Read, Secret]),
            BuiltinRole::ViewerNoSecrets => ClassSet::of(&[Read]),
        }
    }

    pub fn role(self) -> Role {
        Role {
            name: self.into(),
            builtin: true,
            permissions: RolePermissions {
                management: self.management(),
                classes: self.platform_classes(),
                grants: BTreeSet::new(),
            },
        }
    }
}

/// A grant of platform actions on one resource type: one action, or every
/// action of the type (`clusters:*`), including actions added later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformGrant {
    resource_type: String,
    action: Option<String>,
}

impl PlatformGrant {
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The action, or `None` for every action of the type.
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    pub fn covers(&self, resource_type: &str, action: &str) -> bool {
        self.resource_type == resource_type && self.action.as_deref().is_none_or(|a| a == action)
    }
}

impl fmt::Display for PlatformGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.resource_type,
            self.action.as_deref().unwrap_or("*")
        )
    }
}

/// What a role holds: management permissions, platform action classes on
/// every type (`*:read`), and platform grants on named types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolePermissions {
    pub management: ManagementSet,
    pub classes: ClassSet,
    pub grants: BTreeSet<PlatformGrant>,
}

impl RolePermissions {
    /// Parses a custom role's permission list against the org's catalog.
    /// Each entry is a management permission (`users:invite`), a platform
    /// action (`clusters:deploy`), every action of a type (`clusters:*`) or
    /// every action of a class on every type (`*:read`). Unknown entries are
    /// refused, naming the first one.
    pub fn parse<S: AsRef<str>>(list: &[S], catalog: &Catalog) -> Result<Self, DomainError> {
        let mut out = RolePermissions::default();
        for raw in list {
            let raw = raw.as_ref().trim();
            if raw.is_empty() {
                continue;
            }
            if let Some(m) = ManagementPermission::parse(raw) {
                out.management = out.management.with(m);
                continue;
            }
            let unknown = || {
                DomainError::invalid(
                    "permissions",
                    format!("unknown permission {raw:?}; permissions look like users:invite, clusters:deploy, clusters:* or *:read"),
                )
            };
            let (t, a) = raw.split_once(':').ok_or_else(unknown)?;
            if t == "*" {
                let class = ActionClass::parse(a).map_err(|_| unknown())?;
                out.classes = out.classes.with(class);
            } else if a == "*" {
                if !catalog.has_type(t) {
                    return Err(unknown());
                }
                out.grants.insert(PlatformGrant {
                    resource_type: t.to_owned(),
                    action: None,
                });
            } else {
                catalog.class_of(t, a).ok_or_else(unknown)?;
                out.grants.insert(PlatformGrant {
                    resource_type: t.to_owned(),
                    action: Some(a.to_owned()),
                });
            }
        }
        // A named grant already covered by a whole-type grant is redundant.
        let whole: Vec<String> = out
            .grants
            .iter()
            .filter(|g| g.action.is_none())
            .map(|g| g.resource_type.clone())
            .collect();
        out.grants
            .retain(|g| g.action.is_none() || !whole.contains(&g.resource_type));
        Ok(out)
    }

    /// The permission list, in a stable order: management first, then
    /// classes, then grants.
    pub fn to_strings(&self) -> Vec<String> {
        self.management
            .iter()
            .map(|m| m.as_str().to_owned())
            .chain(
                ActionClass::ALL
                    .into_iter()
                    .filter(|c| self.classes.contains(*c))
                    .map(|c| format!("*:{}", c.as_str())),
            )
            .chain(self.grants.iter().map(|g| g.to_string()))
            .collect()
    }

    /// Whether these permissions include platform action `type:action` of
    /// class `class`.
    pub fn grants_platform(&self, resource_type: &str, action: &str, class: ActionClass) -> bool {
        self.classes.contains(class) || self.grants.iter().any(|g| g.covers(resource_type, action))
    }

    /// A custom role's permissions as stored (a space-separated list),
    /// read leniently against the org's catalog: an entry the catalog no
    /// longer has (a type or action removed since) grants nothing, and the
    /// rest still count.
    pub fn from_stored(list: &str, catalog: &Catalog) -> RolePermissions {
        let mut out = RolePermissions::default();
        for p in list.split_whitespace() {
            if let Ok(one) = RolePermissions::parse(&[p], catalog) {
                out.merge(&one);
            }
        }
        out
    }

    /// Adds everything `other` holds.
    pub fn merge(&mut self, other: &RolePermissions) {
        self.management = self.management.union(other.management);
        self.classes = self.classes.union(other.classes);
        self.grants.extend(other.grants.iter().cloned());
    }
}

/// A role as the rules see it: its name and the permissions it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    name: RoleName,
    builtin: bool,
    permissions: RolePermissions,
}

impl Role {
    /// Resolves a role name among the built-in roles. Custom roles are
    /// resolved by the caller from storage.
    pub fn builtin_named(name: &RoleName) -> Option<Role> {
        name.builtin().map(BuiltinRole::role)
    }

    /// A role defined by an organization.
    pub fn custom(name: RoleName, permissions: RolePermissions) -> Role {
        Role {
            name,
            builtin: false,
            permissions,
        }
    }

    /// A role that grants nothing: what an unknown role name resolves to,
    /// so that a dangling name fails closed.
    pub fn nothing(name: RoleName) -> Role {
        Role::custom(name, RolePermissions::default())
    }

    pub fn name(&self) -> &RoleName {
        &self.name
    }

    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    pub fn is_owner(&self) -> bool {
        self.builtin && self.name.as_str() == BuiltinRole::Owner.name()
    }

    pub fn permissions(&self) -> &RolePermissions {
        &self.permissions
    }

    pub fn management(&self) -> ManagementSet {
        self.permissions.management
    }

    pub fn platform_classes(&self) -> ClassSet {
        self.permissions.classes
    }

    pub fn has(&self, p: ManagementPermission) -> bool {
        self.permissions.management.contains(p)
    }

    pub fn grants_platform(&self, resource_type: &str, action: &str, class: ActionClass) -> bool {
        self.permissions
            .grants_platform(resource_type, action, class)
    }

    /// What this role and `limit` both hold: what a member may do through an
    /// API token narrowed to `limit`. Computed against the org's catalog as
    /// it is now, so a type or action added later is weighed when it
    /// exists. Keeps this role's name; the result is never the owner role.
    pub fn limited_to(&self, limit: &RolePermissions, catalog: &Catalog) -> Role {
        let mine = &self.permissions;
        let mut out = RolePermissions {
            management: ManagementSet::of(
                &self
                    .management()
                    .iter()
                    .filter(|p| limit.management.contains(*p))
                    .collect::<Vec<_>>(),
            ),
            classes: ClassSet::of(
                &ActionClass::ALL
                    .into_iter()
                    .filter(|c| mine.classes.contains(*c) && limit.classes.contains(*c))
                    .collect::<Vec<_>>(),
            ),
            grants: BTreeSet::new(),
        };
        for t in catalog.types() {
            let whole = |p: &RolePermissions| {
                p.grants
                    .iter()
                    .any(|g| g.resource_type == t && g.action.is_none())
            };
            if whole(mine) && whole(limit) {
                out.grants.insert(PlatformGrant {
                    resource_type: t.to_owned(),
                    action: None,
                });
                continue;
            }
            for (action, class) in catalog.actions(t).into_iter().flatten() {
                let both = mine.grants_platform(t, action, class)
                    && limit.grants_platform(t, action, class);
                if both && !out.grants_platform(t, action, class) {
                    out.grants.insert(PlatformGrant {
                        resource_type: t.to_owned(),
                        action: Some(action.to_owned()),
                    });
                }
            }
        }
        Role {
            name: self.name.clone(),
            builtin: false,
            permissions: out,
        }
    }

    /// This role with everything `other` holds added: what a member holds
    /// when their org role and access rules apply together. Keeps this
    /// role's name and built-in status.
    pub fn merged_with(mut self, other: &Role) -> Role {
        self.permissions.merge(&other.permissions);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ManagementPermission::*;

    #[test]
    fn the_matrix_matches_the_spec() {
        let owner = BuiltinRole::Owner.role();
        let admin = BuiltinRole::Admin.role();
        let contributor = BuiltinRole::Contributor.role();
        let viewer = BuiltinRole::Viewer.role();
        let vns = BuiltinRole::ViewerNoSecrets.role();
        for r in [&owner, &admin, &contributor, &viewer, &vns] {
            assert!(r.has(UsersRead), "{} reads users", r.name());
            assert!(r.platform_classes().contains(ActionClass::Read));
        }
        assert!(owner.has(OwnersManage) && owner.has(OrgManage));
        assert!(!admin.has(OwnersManage) && !admin.has(OrgManage));
        for p in [
            UsersInvite,
            UsersManage,
            UsersApprove,
            RolesManage,
            AuditRead,
            IntegrationsManage,
        ] {
            assert!(admin.has(p));
            assert!(!contributor.has(p));
        }
        assert!(contributor.has(TokensCreate) && !viewer.has(TokensCreate));
        assert!(viewer.platform_classes().contains(ActionClass::Secret));
        assert!(!vns.platform_classes().contains(ActionClass::Secret));
        assert!(contributor.platform_classes().contains(ActionClass::Write));
        assert!(!contributor.platform_classes().contains(ActionClass::Admin));
        assert!(!viewer.platform_classes().contains(ActionClass::Write));
    }

    #[test]
    fn a_limited_role_holds_only_what_both_hold() {
        let c = Catalog::default_catalog();
        let limit =
            RolePermissions::parse(&["users:read", "clusters:read", "tokens:create"], &c).unwrap();
        let viewer = BuiltinRole::Viewer.role().limited_to(&limit, &c);
        assert!(viewer.has(UsersRead));
        assert!(!viewer.has(TokensCreate), "the viewer never held it");
        assert!(viewer.grants_platform("clusters", "read", ActionClass::Read));
        assert!(!viewer.grants_platform("projects", "read", ActionClass::Read));
        assert!(!viewer.grants_platform("clusters", "deploy", ActionClass::Write));
        assert!(!viewer.is_owner());
        let owner = BuiltinRole::Owner.role();
        let whole = RolePermissions::parse(&["clusters:*", "*:read"], &c).unwrap();
        let narrowed = owner.limited_to(&whole, &c);
        assert!(narrowed.grants_platform("clusters", "deploy", ActionClass::Write));
        assert!(narrowed.grants_platform("projects", "read", ActionClass::Read));
        assert!(!narrowed.grants_platform("projects", "update", ActionClass::Write));
        assert!(!narrowed.has(UsersRead));
        assert!(
            !narrowed.is_owner(),
            "a narrowed owner is not the owner role"
        );
        let contributor = BuiltinRole::Contributor.role().limited_to(&whole, &c);
        assert!(contributor.grants_platform("clusters", "deploy", ActionClass::Write));
        assert!(!contributor.grants_platform("clusters", "drain", ActionClass::Admin));
    }

    #[test]
    fn role_names_accept_vendor_spellings() {
        assert_eq!(
            RoleName::parse("VIEWERNOSECRETS").unwrap().builtin(),
            Some(BuiltinRole::ViewerNoSecrets)
        );
        assert_eq!(
            RoleName::parse(" Admin ").unwrap().builtin(),
            Some(BuiltinRole::Admin)
        );
        assert!(RoleName::parse("platform").unwrap().builtin().is_none());
        assert!(RoleName::parse("no spaces").is_err());
    }

    #[test]
    fn custom_permissions_parse_against_the_catalog() {
        let c = Catalog::default_catalog();
        let p = RolePermissions::parse(
            &[
                "users:read",
                "clusters:*",
                "clusters:deploy",
                "*:read",
                "targets:exec",
            ],
            &c,
        )
        .unwrap();
        assert!(p.management.contains(UsersRead));
        assert!(p.classes.contains(ActionClass::Read));
        assert!(p.grants_platform("clusters", "drain", ActionClass::Admin));
        assert!(p.grants_platform("targets", "exec", ActionClass::Write));
        assert!(!p.grants_platform("targets", "delete", ActionClass::Write));
        assert_eq!(
            p.to_strings(),
            ["users:read", "*:read", "clusters:*", "targets:exec"]
        );
        for bad in [
            "clusters:explode",
            "nosuch:*",
            "*:everything",
            "users:fly",
            "x",
        ] {
            assert!(RolePermissions::parse(&[bad], &c).is_err(), "{bad}");
        }
    }
}
