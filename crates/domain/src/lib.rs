//! Roster's domain: the vocabulary of the product and the rules that always
//! hold (SPEC §1 and §2), as plain Rust.
//!
//! Architecture invariant: this crate knows nothing of HTTP, SQL, JSON or
//! time sources. Values enter it through `parse` constructors that refuse bad
//! input, so code holding an [`Email`] or an [`OrgSlug`] never re-checks it.
//! The rules in [`policy`] are pure functions over roles and counts; callers
//! load the facts (inside a transaction) and ask.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod catalog;
mod error;
mod names;
pub mod permission;
pub mod policy;
pub mod role;

pub use catalog::Catalog;
pub use error::{DomainError, Field, ManagementPermissionName};
pub use names::{
    DisplayName, Email, GroupName, IdentityProvider, MemberStatus, OrgName, OrgSlug, Password, Team,
};
pub use permission::{
    ActionClass, ClassSet, ManagementPermission, ManagementSet, Permission, PlatformPermission,
};
pub use role::{BuiltinRole, PlatformGrant, Role, RoleName, RolePermissions};
