//! Permissions: `<resource-type>:<action>` (SPEC §1).
//!
//! Two families. Management permissions are fixed by Roster and listed in
//! [`ManagementPermission`]. Platform permissions name a type from the org's
//! resource-type catalog and one of its actions; each action has an
//! [`ActionClass`], which is what built-in roles are defined by.

use crate::DomainError;
use std::fmt;

/// The permissions Roster itself defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ManagementPermission {
    OrgManage,
    OwnersManage,
    UsersRead,
    UsersInvite,
    UsersManage,
    UsersApprove,
    RolesManage,
    GroupsManage,
    ResourcesManage,
    AccessManage,
    IntegrationsManage,
    AuditRead,
    TokensCreate,
    RequestsApprove,
}

impl ManagementPermission {
    /// Every management permission, in the order the matrix prints them.
    pub const ALL: [ManagementPermission; 14] = [
        ManagementPermission::UsersRead,
        ManagementPermission::TokensCreate,
        ManagementPermission::IntegrationsManage,
        ManagementPermission::UsersInvite,
        ManagementPermission::UsersManage,
        ManagementPermission::UsersApprove,
        ManagementPermission::RolesManage,
        ManagementPermission::GroupsManage,
        ManagementPermission::AccessManage,
        ManagementPermission::ResourcesManage,
        ManagementPermission::AuditRead,
        ManagementPermission::RequestsApprove,
        ManagementPermission::OwnersManage,
        ManagementPermission::OrgManage,
    ];

    pub fn as_str(self) -> &'static str {
        use ManagementPermission::*;
        match self {
            OrgManage => "org:manage",
            OwnersManage => "owners:manage",
            UsersRead => "users:read",
            UsersInvite => "users:invite",
            UsersManage => "users:manage",
            UsersApprove => "users:approve",
            RolesManage => "roles:manage",
            GroupsManage => "groups:manage",
            ResourcesManage => "resources:manage",
            AccessManage => "access:manage",
            IntegrationsManage => "integrations:manage",
            AuditRead => "audit:read",
            TokensCreate => "tokens:create",
            RequestsApprove => "requests:approve",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for ManagementPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of management permissions, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ManagementSet(u32);

impl ManagementSet {
    pub const fn empty() -> Self {
        ManagementSet(0)
    }

    pub fn of(perms: &[ManagementPermission]) -> Self {
        ManagementSet(perms.iter().fold(0, |acc, p| acc | p.bit()))
    }

    pub fn contains(self, p: ManagementPermission) -> bool {
        self.0 & p.bit() != 0
    }

    #[must_use]
    pub fn with(self, p: ManagementPermission) -> Self {
        ManagementSet(self.0 | p.bit())
    }

    #[must_use]
    pub fn union(self, other: ManagementSet) -> Self {
        ManagementSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits, for compact indexes.
    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn iter(self) -> impl Iterator<Item = ManagementPermission> {
        ManagementPermission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// The permissions in `self` that are not in `other`.
    pub fn missing_from(self, other: ManagementSet) -> impl Iterator<Item = ManagementPermission> {
        ManagementSet(self.0 & !other.0).iter()
    }
}

/// The class of a platform action (SPEC §1), which built-in roles grant by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionClass {
    Read,
    Write,
    Secret,
    Admin,
}

impl ActionClass {
    pub const ALL: [ActionClass; 4] = [
        ActionClass::Read,
        ActionClass::Secret,
        ActionClass::Write,
        ActionClass::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionClass::Read => "read",
            ActionClass::Write => "write",
            ActionClass::Secret => "secret",
            ActionClass::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| {
                DomainError::invalid("class", "class is one of read, write, secret, admin")
            })
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of action classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ClassSet(u8);

impl ClassSet {
    pub fn of(classes: &[ActionClass]) -> Self {
        ClassSet(classes.iter().fold(0, |acc, c| acc | c.bit()))
    }

    pub fn contains(self, c: ActionClass) -> bool {
        self.0 & c.bit() != 0
    }

    #[must_use]
    pub fn with(self, c: ActionClass) -> Self {
        ClassSet(self.0 | c.bit())
    }

    #[must_use]
    pub fn union(self, other: ClassSet) -> Self {
        ClassSet(self.0 | other.0)
    }

    pub fn missing_from(self, other: ClassSet) -> impl Iterator<Item = ActionClass> {
        let rest = self.0 & !other.0;
        ActionClass::ALL
            .into_iter()
            .filter(move |c| rest & c.bit() != 0)
    }
}

/// A platform permission: a resource type from the catalog and one of its
/// actions, e.g. `clusters:deploy`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformPermission {
    resource_type: String,
    action: String,
}

impl PlatformPermission {
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    pub fn action(&self) -> &str {
        &self.action
    }
}

/// Any permission, management or platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Permission {
    Management(ManagementPermission),
    Platform(PlatformPermission),
}

impl Permission {
    /// Parses `type:action`. Names known to Roster become management
    /// permissions; anything else of the right shape is a platform
    /// permission, to be checked against the org's catalog by the caller.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let s = raw.trim();
        if let Some(m) = ManagementPermission::parse(s) {
            return Ok(Permission::Management(m));
        }
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 63
                && p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        };
        match s.split_once(':') {
            Some((t, a)) if part_ok(t) && part_ok(a) => {
                Ok(Permission::Platform(PlatformPermission {
                    resource_type: t.to_owned(),
                    action: a.to_owned(),
                }))
            }
            _ => Err(DomainError::invalid(
                "permission",
                format!("{raw:?} is not a permission; permissions look like `clusters:deploy`"),
            )),
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permission::Management(m) => f.write_str(m.as_str()),
            Permission::Platform(p) => write!(f, "{}:{}", p.resource_type, p.action),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_names_round_trip() {
        for p in ManagementPermission::ALL {
            assert_eq!(ManagementPermission::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn permissions_parse_into_their_family() {
        assert_eq!(
            Permission::parse("users:invite").unwrap(),
            Permission::Management(ManagementPermission::UsersInvite)
        );
        match Permission::parse("clusters:deploy").unwrap() {
            Permission::Platform(p) => {
                assert_eq!((p.resource_type(), p.action()), ("clusters", "deploy"))
            }
            other => panic!("unexpected {other:?}"),
        }
        for bad in ["clusters", ":deploy", "Clusters:deploy", "a:b:c", "x y:z"] {
            assert!(Permission::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sets_report_what_is_missing() {
        let small = ManagementSet::of(&[ManagementPermission::UsersRead]);
        let big = ManagementSet::of(&[
            ManagementPermission::UsersRead,
            ManagementPermission::AuditRead,
        ]);
        assert_eq!(
            big.missing_from(small).collect::<Vec<_>>(),
            [ManagementPermission::AuditRead]
        );
        assert_eq!(small.missing_from(big).count(), 0);
    }
}
