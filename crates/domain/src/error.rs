//! The domain's error type: what went wrong, in the product's terms.
//!
//! Each variant has a meaning, not an HTTP status; the server maps them to
//! problem+json in one table.

use std::fmt;

/// The input field a validation error is about, named as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field(pub &'static str);

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// An input value does not have the required shape.
    #[error("{field}: {message}")]
    Invalid { field: Field, message: String },
    /// The actor lacks a permission the operation needs.
    #[error("this needs the {0} permission")]
    MissingPermission(ManagementPermissionName),
    /// Only owners grant, change or revoke the owner role.
    #[error("only an owner can grant, change or remove the owner role")]
    OwnerRoleRequiresOwner,
    /// Granting a role whose permissions the actor does not hold.
    #[error("role {role} holds {permission}, which you do not hold")]
    Escalation { role: String, permission: String },
    /// The change would leave the organization without an active owner.
    #[error(
        "an organization must keep at least one active owner; make another member owner first"
    )]
    LastOwner,
    /// Personal organizations belong to one user alone.
    #[error("a personal organization has exactly one member and cannot be left or shared")]
    PersonalOrg,
}

/// The name of a management permission, carried by [`DomainError::MissingPermission`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagementPermissionName(pub &'static str);

impl fmt::Display for ManagementPermissionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl DomainError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: Field(field),
            message: message.into(),
        }
    }
}
