//! Roster's domain: the vocabulary of the product and the rules that always
//! hold (SPEC §1 and §2), as plain Rust.
//!
//! Architecture invariant: this crate knows nothing of HTTP, SQL, JSON or
//! clocks (it compares the [`Timestamp`]s it is given). Values enter it
//! through `parse` constructors that refuse bad input, so code holding an
//! [`Email`] or an [`OrgSlug`] never re-checks it. Records are named by typed
//! ids ([`OrgId`], [`UserId`], ...) and their states are enums
//! ([`InvitationStatus`], [`RequestStatus`], ...), never bare numbers and
//! strings.
//! The rules in [`policy`] are pure functions over roles and counts; callers
//! load the facts (inside a transaction) and ask.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod catalog;
mod error;
mod ids;
mod names;
pub mod permission;
pub mod policy;
pub mod role;
mod status;
mod time;

pub use catalog::Catalog;
pub use error::{Conflict, DomainError, Field, ManagementPermissionName};
pub use ids::{
    GroupId, InvitationId, MembershipId, OrgId, RequestId, ResourceId, RuleId, SessionId, TokenId,
    UserId,
};
pub use names::{
    DisplayName, Email, GroupName, IdentityProvider, OrgName, OrgSlug, Password, Team,
};
pub use permission::{
    ActionClass, ClassSet, ManagementPermission, ManagementSet, Permission, PlatformPermission,
};
pub use role::{BuiltinRole, PlatformGrant, Role, RoleName, RolePermissions};
pub use status::{InvitationStatus, MemberStatus, RequestStatus};
pub use time::Timestamp;
