//! Roles: named sets of permissions. The built-in roles of SPEC §1 exist in
//! every organization and cannot be edited or deleted.

use crate::permission::{ActionClass, ClassSet, ManagementPermission, ManagementSet};
use crate::DomainError;
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
            management: self.management(),
            platform_classes: self.platform_classes(),
        }
    }
}

/// A role as the rules see it: its name and the permissions it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    name: RoleName,
    builtin: bool,
    management: ManagementSet,
    platform_classes: ClassSet,
}

impl Role {
    /// Resolves a role name among the built-in roles. Custom roles are
    /// resolved by the caller from storage.
    pub fn builtin_named(name: &RoleName) -> Option<Role> {
        name.builtin().map(BuiltinRole::role)
    }

    /// A role defined by an organization.
    pub fn custom(name: RoleName, management: ManagementSet, platform_classes: ClassSet) -> Role {
        Role {
            name,
            builtin: false,
            management,
            platform_classes,
        }
    }

    /// A role that grants nothing: what an unknown role name resolves to,
    /// so that a dangling name fails closed.
    pub fn nothing(name: RoleName) -> Role {
        Role::custom(name, ManagementSet::empty(), ClassSet::default())
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

    pub fn management(&self) -> ManagementSet {
        self.management
    }

    pub fn platform_classes(&self) -> ClassSet {
        self.platform_classes
    }

    pub fn has(&self, p: ManagementPermission) -> bool {
        self.management.contains(p)
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
}
