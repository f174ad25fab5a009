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

/// What a refused change collided with: a uniqueness rule of the store, or
/// a state that forbids the change. The server maps each to a stable
/// problem code in one table; the store maps its constraints to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conflict {
    /// An account with this email exists.
    EmailTaken,
    /// An org with this slug exists.
    SlugTaken,
    /// The person is a member of the org already.
    AlreadyMember,
    /// A pending invitation for this email exists in the org.
    AlreadyInvited,
    /// The invitation is accepted or revoked.
    InvitationNotPending,
    /// The membership is not waiting for approval.
    NotReviewing,
    /// A group with this name exists in the org.
    GroupExists,
    /// The group gates resources.
    GroupInUse,
    /// A role with this name exists (or it is a built-in one).
    RoleExists,
    /// Members, invitations or rules hold the role.
    RoleInUse,
    /// The resource is registered already.
    ResourceExists,
    /// The resource has resources below it.
    ResourceHasChildren,
    /// The resource's policy does not ask for review of this action.
    ReviewNotRequired,
    /// The review request was decided already.
    RequestDecided,
    /// This reviewer voted on the request already.
    AlreadyReviewed,
    /// The Slack workspace is connected to another org.
    SlackWorkspaceTaken,
    /// The server has its first org already.
    AlreadySetUp,
    /// The org has a service account of this name.
    ServiceAccountExists,
    /// The account has a confirmed second factor already.
    MfaAlreadyEnrolled,
    /// The account has no second factor (to confirm, remove or use).
    MfaNotEnrolled,
    /// A member of the org has this SCIM userName already.
    UserNameTaken,
    /// The account belongs to other orgs too: one org's admins cannot
    /// change its credentials (SPEC §2).
    SharedAccount,
    /// The org has an SSO connection of this name.
    SsoConnectionExists,
    /// The email domain is served by an SSO connection already (of this
    /// org or another: a domain belongs to one connection).
    SsoDomainTaken,
    /// A rule of the store that has no meaning of its own here (a
    /// reference to something deleted meanwhile, say).
    Other,
}

impl Conflict {
    /// A sentence for when nothing more specific is known.
    pub fn describe(self) -> &'static str {
        match self {
            Conflict::EmailTaken => "an account with this email already exists",
            Conflict::SlugTaken => "this slug is taken",
            Conflict::AlreadyMember => "this person is already a member",
            Conflict::AlreadyInvited => "this email has a pending invitation already",
            Conflict::InvitationNotPending => "this invitation is no longer pending",
            Conflict::NotReviewing => "this membership is not waiting for approval",
            Conflict::GroupExists => "a group with this name already exists",
            Conflict::GroupInUse => "this group gates resources",
            Conflict::RoleExists => "a role with this name already exists",
            Conflict::RoleInUse => "this role is in use",
            Conflict::ResourceExists => "this resource is registered already",
            Conflict::ResourceHasChildren => "this resource has resources below it",
            Conflict::ReviewNotRequired => "this action does not need review here",
            Conflict::RequestDecided => "this request was decided already",
            Conflict::AlreadyReviewed => "you have reviewed this request already",
            Conflict::MfaAlreadyEnrolled => "this account has a second factor already",
            Conflict::MfaNotEnrolled => "this account has no second factor",
            Conflict::SharedAccount => {
                "this account belongs to other organizations too; only its owner can change its credentials"
            }
            Conflict::SlackWorkspaceTaken => {
                "this Slack workspace is connected to another organization"
            }
            Conflict::AlreadySetUp => "this server is set up already",
            Conflict::ServiceAccountExists => "a service account of this name exists already",
            Conflict::SsoConnectionExists => "an SSO connection of this name exists already",
            Conflict::SsoDomainTaken => {
                "this email domain is served by another SSO connection already"
            }
            Conflict::UserNameTaken => "a member of this org has this userName already",
            Conflict::Other => "the change conflicts with existing data",
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}
