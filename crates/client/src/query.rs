//! Query parameters of the list endpoints. Unset filters are left out of the
//! query string.

use serde::Serialize;

/// Filters of `GET /api/v1/orgs/{org}/users`. Filters combine; `name` and
/// `email` match substrings, case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Filters of `GET /api/v1/orgs/{org}/audit`. `since` and `until` are
/// RFC 3339 times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditQuery {
    /// The actor's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Filters of `GET /api/v1/orgs/{org}/invitations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvitationQuery {
    /// `pending`, `accepted`, `revoked` or `expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Filters of `GET /api/v1/orgs/{org}/resources`. `user` and `action` go
/// together: only the resources that member may do the action on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResourceQuery {
    /// Only resources of this type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Only the children of this resource (`type/name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// A member's email or user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `type:action`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Filters of `GET /api/v1/orgs/{org}/access-rules`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccessRuleQuery {
    /// Rules naming this member (email or user id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Rules naming this group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Rules on this resource (`type/name`), or `org` for org-wide rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Filters of `GET /api/v1/orgs/{org}/requests`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReviewRequestQuery {
    /// `pending`, `approved` or `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only the caller's own requests (needs no `users:read`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mine: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}
