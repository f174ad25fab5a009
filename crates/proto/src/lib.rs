//! Roster's wire types: the JSON bodies of the HTTP API.
//!
//! Architecture invariant: these are plain data. The server converts domain
//! values into them at the edge; the client and the CLI read them. Request
//! bodies deny unknown fields, so a misspelt field is an error rather than
//! silently ignored. Times are RFC 3339 strings in UTC.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RFC 9457 problem document. `code` is stable and meant for programs;
/// `title` and `detail` are for people. The response's `x-request-id`
/// header names the request in the server's logs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The field-level reasons of a validation error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// With `mfa_required`: the second factors the account can give
    /// (`totp`, `recovery_code`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A page of a list. Pass `next_cursor` back as `cursor` for the next page;
/// it is `null` on the last page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// A code from the authenticator app, when the account has one.
    #[serde(default)]
    pub totp_code: Option<String>,
    /// One of the account's recovery codes, instead of `totp_code`.
    #[serde(default)]
    pub recovery_code: Option<String>,
    /// A passkey of the account, instead of a code: the answer to a
    /// challenge from `POST /auth/passkey/challenge`.
    #[serde(default)]
    pub passkey: Option<PasskeyAssertion>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// The session token: send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    pub user: UserView,
    /// True when the password is temporary: every call but
    /// `POST /me/password` and `POST /auth/logout` is refused until it is changed.
    pub password_change_required: bool,
    /// True when the session still owes its second factor (a magic link
    /// for an account with one): send `POST /auth/mfa` first.
    #[serde(default)]
    pub mfa_required: bool,
    /// True when an org requires a second factor the account does not
    /// have: enrol (`POST /me/mfa/totp`) before anything else.
    #[serde(default)]
    pub mfa_enrolment_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub created_at: String,
    pub last_active_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    pub memberships: Vec<MembershipSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MembershipSummary {
    pub org: String,
    pub org_name: String,
    pub personal: bool,
    pub role: String,
    pub status: String,
    pub team: String,
    pub joined_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub id: i64,
    pub current: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub client_addr: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgSettingsView {
    pub allowed_domains: Vec<String>,
    pub self_registration: bool,
    pub invitation_ttl_seconds: i64,
    pub mfa_policy: String,
    pub default_role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgView {
    pub slug: String,
    pub name: String,
    pub personal: bool,
    pub settings: OrgSettingsView,
    pub created_at: String,
    /// The caller's role in this org.
    pub your_role: String,
    pub active_owners: i64,
    /// Advice for administrators, such as the second-owner recommendation.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_registration: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_ttl_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
}

/// A row of the team list: a member, or a pending invitation (status
/// `invited`, with `invitation_id` set and `id` null).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    /// The user's id (the same in every org); null on invitation rows.
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<i64>,
    pub email: String,
    pub name: String,
    pub role: String,
    pub team: String,
    pub groups: Vec<String>,
    /// `reviewing`, `active`, `disabled`, or `invited` for a pending invitation.
    pub status: String,
    pub identity_provider: String,
    pub mfa_required: bool,
    pub joined_at: String,
    pub last_active_at: Option<String>,
    /// A service account (it acts only through API tokens), not a person.
    #[serde(default)]
    pub service_account: bool,
    /// The account has a second factor (an authenticator app).
    #[serde(default)]
    pub mfa_enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<MemberView>,
    pub next_cursor: Option<String>,
    /// Advice for administrators, such as the second-owner recommendation.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemberRequest {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Defaults to the org's default role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    #[serde(default)]
    pub mfa_required: bool,
    /// Email the new person a welcome with a one-time link to set their
    /// password (never the password itself).
    #[serde(default)]
    pub send_welcome: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateMemberResponse {
    /// The new member; or, when the email already had an account, the
    /// invitation sent to it (`status` `invited`, no `id`): an account is
    /// its owner's, and only they join it to another org.
    pub user: MemberView,
    /// Shown once, only when a new password account was created. The user
    /// must change it at first sign-in.
    pub temporary_password: Option<String>,
    /// Whether a new account was made.
    pub account_created: bool,
}

/// Your own account's name: only you change it (an org edits its
/// membership, never the person).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    pub name: String,
    pub builtin: bool,
    pub description: String,
    /// Management permissions, e.g. `users:invite`.
    pub permissions: Vec<String>,
    /// Classes of platform actions granted on every resource type.
    pub platform_classes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActorView {
    pub id: Option<i64>,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    pub id: i64,
    pub at: String,
    pub actor: ActorView,
    pub channel: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
    pub client_addr: String,
    pub request_id: String,
    /// The event's position in its chain (the org's, or that of events of
    /// no org).
    #[serde(default)]
    pub seq: Option<i64>,
    /// The hash of the event before it in its chain.
    #[serde(default)]
    pub prev_hash: String,
    /// SHA-256 of the event's canonical encoding (docs/decisions.md).
    #[serde(default)]
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub token: String,
    pub org_slug: String,
    pub org_name: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// One address to invite.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteItem {
    pub email: String,
    /// Defaults to the org's default role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Invite one or many addresses: a list with a role each, and/or a
/// comma-separated `emails` string sharing `role`, `team` and `groups`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationsRequest {
    #[serde(default)]
    pub invitations: Vec<InviteItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub team: String,
    pub groups: Vec<String>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    pub inviter: ActorView,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
}

/// The outcome for one address of a bulk invitation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationResult {
    pub email: String,
    /// `created` or `refused`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<InvitationView>,
    /// The link to share by hand; shown only here, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Why this address was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateInvitationsResponse {
    pub results: Vec<InvitationResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResendInvitationResponse {
    pub invitation: InvitationView,
    pub link: String,
}

/// What an invitation link shows before it is accepted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicInvitationView {
    pub org: String,
    pub org_name: String,
    pub email: String,
    pub role: String,
    pub inviter: ActorView,
    pub expires_at: String,
    /// Whether an account with this email exists (then sign in to accept).
    pub account_exists: bool,
}

/// Accepting: a signed-in caller sends `{}`; a newcomer sends a name and a
/// password for the account to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AcceptInvitationResponse {
    pub org: String,
    pub user_id: i64,
    pub role: String,
    pub account_created: bool,
}

/// A message that has not been delivered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UndeliveredMessageView {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub created_at: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: String,
    /// Set when delivery was given up after the last attempt.
    pub failed_at: Option<String>,
}

/// Ask to join an org that allows self-registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// The org's slug.
    pub org: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignupResponse {
    /// `confirmation_sent` from `POST /signup` (whatever the address: the
    /// answer reveals nothing), `reviewing` from `POST /signup/confirm`
    /// (an administrator will approve or reject).
    pub status: String,
}

/// The token of the link a sign-up's confirmation email carries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupConfirmRequest {
    pub token: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Defaults to the org's default role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Connect an org to a Slack workspace. The secrets are stored encrypted and
/// never shown again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackConnectRequest {
    pub signing_secret: String,
    /// The bot token (`xoxb-...`).
    pub bot_token: String,
    /// The channel id for review cards.
    pub channel: String,
    /// Slack's Web API base URL; defaults to `https://slack.com/api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlackConnectionView {
    pub team_id: String,
    pub channel: String,
    pub api_base_url: String,
    pub connected_at: String,
}

/// Confirm a code from `/roster link` while signed in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackLinkRequest {
    pub code: String,
}

/// What Roster answers Slack: a message shown only to the user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlackReply {
    pub response_type: String,
    pub text: String,
}

/// Set a password with a one-time link from a welcome email.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    pub name: String,
    pub members: i64,
    pub created_at: String,
}

/// A group and its members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupDetail {
    pub name: String,
    pub created_at: String,
    pub members: Vec<MemberView>,
}

/// Create a group, or rename one (`PATCH`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMemberRequest {
    /// The user's id.
    pub user_id: i64,
}

// ----- fine-grained access -----

/// One action of a resource type.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceActionView {
    pub name: String,
    /// `read`, `write`, `secret` or `admin`.
    pub class: String,
    /// Whether the action is in the default catalog (and so in every org).
    pub default: bool,
}

/// A resource type of the org's catalog.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceTypeView {
    pub name: String,
    /// What the org said the type is, when it added it.
    #[serde(default)]
    pub description: String,
    pub default: bool,
    pub actions: Vec<ResourceActionView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActionRequest {
    pub name: String,
    /// `read`, `write`, `secret` or `admin`.
    pub class: String,
}

/// Adds a type, or actions to an existing type.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceTypeRequest {
    pub name: String,
    pub actions: Vec<NewActionRequest>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Management permissions (`users:invite`), platform actions
    /// (`clusters:deploy`), whole types (`clusters:*`) or classes on every
    /// type (`*:read`).
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdateRequest {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

/// Where a deleted role was in use.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoleDeleted {
    pub members: i64,
    pub pending_invitations: i64,
    pub rules: i64,
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicyView {
    /// `type:action`s that need approval on the resource and below it.
    pub actions: Vec<String>,
    /// How many approvals a request needs (1 to 10).
    #[serde(default = "one")]
    pub approvals: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResourceView {
    pub id: i64,
    /// `type/name`.
    pub key: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    /// `type/name` of the parent.
    pub parent: Option<String>,
    /// The groups the resource admits (empty: it names none).
    pub groups: Vec<String>,
    pub review: Option<ReviewPolicyView>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    /// `type/name`, e.g. `clusters/eu-1`.
    pub key: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub review: Option<ReviewPolicyView>,
}

/// A change to a resource. An absent field stays; `parent: null` makes the
/// resource a root and `review: null` removes its policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceUpdateRequest {
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<ReviewPolicyView>)]
    pub review: Option<Option<ReviewPolicyView>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessRuleView {
    pub id: i64,
    /// The member the rule is for, by email (or the group).
    pub user: Option<String>,
    pub group: Option<String>,
    pub role: String,
    /// `type/name`, or none for the whole org.
    pub resource: Option<String>,
    pub created_at: String,
}

/// Grant a role to a member (`user`: email or id) or a group, org-wide or
/// on one resource and everything below it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRuleRequest {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    pub role: String,
    #[serde(default)]
    pub resource: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The member's email or user id.
    pub user: String,
    /// `type:action`, e.g. `clusters:deploy`, or a management permission.
    pub action: String,
    /// `type/name`; absent for the org as a whole.
    #[serde(default)]
    pub resource: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckResponse {
    pub allowed: bool,
    /// Names the rule, group or request that allowed it, or the step that
    /// denied it.
    pub reason: String,
    /// `org_role`, `access_rule`, `review_request`, `not_member`,
    /// `inactive`, `no_grant`, `not_in_groups` or `review_required`.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBatchRequest {
    pub checks: Vec<CheckRequest>,
}

/// One answer of a batch: a decision, or the problem with that query.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckBatchItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<i64>,
    /// Set when the query itself was bad (unknown action, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckBatchResponse {
    pub results: Vec<CheckBatchItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PermissionView {
    pub permission: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PermissionsResponse {
    pub user: i64,
    pub resource: Option<String>,
    pub permissions: Vec<PermissionView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AllowedResourcesResponse {
    pub user: String,
    pub action: String,
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequestRequest {
    /// `type/name`.
    pub resource: String,
    /// `type:action`.
    pub action: String,
    pub reason: String,
    /// How long the action is allowed once approved (60 s to 30 days).
    pub duration_seconds: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecisionRequest {
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewVoteView {
    pub reviewer: String,
    /// `approve` or `reject`.
    pub decision: String,
    pub comment: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewRequestView {
    pub id: i64,
    pub requester: String,
    pub resource: String,
    pub action: String,
    pub reason: String,
    pub duration_seconds: i64,
    pub approvals_required: i64,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    /// When an approved request stops granting.
    pub expires_at: Option<String>,
    pub votes: Vec<ReviewVoteView>,
}

/// `POST /orgs/{org}/tokens` (a token of your own) and
/// `POST /orgs/{org}/service-accounts/{id}/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for, 1 to 100 characters.
    pub name: String,
    /// At most these permissions (`users:read`, `clusters:read`,
    /// `clusters:*`, `*:read`...); leave it out for everything the owner
    /// holds in the org. The owner's current rights always cap it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// RFC 3339, within a year; 90 days when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// An API token, without its secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// The account the token acts for.
    pub owner: ActorView,
    pub service_account: bool,
    /// `null`: everything the owner holds in the org.
    pub permissions: Option<Vec<String>>,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    /// The client address of the last use.
    pub last_used_from: Option<String>,
}

/// A new token: its secret, shown this once, and what it is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    /// `rst_...`: send it as `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(flatten)]
    pub view: TokenView,
}

/// `POST /orgs/{org}/scim-tokens`: a token for the org's directory
/// (Okta, Entra ID) to provision people and groups under `/scim/v2`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimTokenRequest {
    /// What the token is for ("okta"), 1 to 100 characters.
    pub name: String,
    /// RFC 3339, within a year; a year when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `POST /orgs/{org}/service-accounts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountRequest {
    /// a-z, 0-9 and '-', 1 to 40 characters, unique in the org.
    pub name: String,
    /// The org's default role when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A service account: a member that acts only through API tokens.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceAccountView {
    pub id: i64,
    pub name: String,
    /// The address it is known by (it receives no mail).
    pub email: String,
    pub role: String,
    pub description: String,
    pub status: String,
    pub created_at: String,
}

/// `GET /me/mfa`: the caller's second factors.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaStatusView {
    /// An authenticator app (TOTP) is enrolled and confirmed.
    pub totp: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: i64,
    /// How many passkeys you have (`GET /me/passkeys` lists them).
    pub passkeys: i64,
}

/// `POST /me/mfa/totp`: a new TOTP seed, shown once. Confirm it with a
/// code from the app (`POST /me/mfa/totp/confirm`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrolmentView {
    /// The seed, base32, to type into an app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth://` URI as a QR code (an SVG document).
    pub qr_svg: String,
}

/// A code from the authenticator app.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    pub code: String,
}

/// Ten single-use recovery codes, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodesView {
    pub recovery_codes: Vec<String>,
}

/// `DELETE /me/mfa`: the password and a current code (or a recovery code).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveMfaRequest {
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
    /// A passkey's answer to a challenge, instead of a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PasskeyAssertion>,
}

/// `POST /auth/mfa`: the second factor a session owes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
    /// A passkey's answer to a challenge, instead of a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PasskeyAssertion>,
}

/// A WebAuthn ceremony started: send `options` to
/// `navigator.credentials.create()` (registration) or `.get()` (sign-in),
/// with the base64url fields (`challenge`, `user.id`, credential ids) as
/// bytes, and the answer back with `challenge_id` before `expires_at`.
/// A challenge works once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyChallengeView {
    pub challenge_id: String,
    /// webauthn-rs's `CreationChallengeResponse` or
    /// `RequestChallengeResponse` (`{"publicKey": {...}}`).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub expires_at: String,
}

/// A passkey's answer to a sign-in challenge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAssertion {
    pub challenge_id: String,
    /// What `navigator.credentials.get()` returned, as JSON (binary
    /// fields in base64url, as `PublicKeyCredential.toJSON()` gives them).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `POST /me/passkeys`: the authenticator's answer to a registration
/// challenge, and a name for the passkey.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationRequest {
    pub challenge_id: String,
    /// 1 to 60 characters ("Laptop", "Phone").
    pub name: String,
    /// What `navigator.credentials.create()` returned, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `PATCH /me/passkeys/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenamePasskeyRequest {
    pub name: String,
}

/// One of your passkeys.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// `POST /auth/password-reset`, `POST /auth/magic-link`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    pub email: String,
}

/// The head of an org's audit chain: keep it elsewhere, and a later
/// verification proves nothing before it changed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditHeadView {
    /// Events ever appended to the chain (pruned ones included).
    pub count: i64,
    /// The hash of the newest event (64 zeros for an empty chain).
    pub hash: String,
}

/// The first event of a chain that does not check out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditBreakView {
    /// `edited`, `missing` or `reordered`.
    pub kind: String,
    /// The event's position in the chain.
    pub seq: i64,
    /// The event's id, when its row is still there.
    pub event_id: Option<i64>,
    pub reason: String,
}

/// `GET /orgs/{org}/audit/verify`: the chain recomputed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditVerifyView {
    /// Whether every event from the checkpoint to the head checks out.
    pub ok: bool,
    /// Events ever appended to the chain (pruned ones included).
    pub count: i64,
    pub head_hash: String,
    /// Events pruned by retention, and the hash of the last one: the
    /// checkpoint the remaining events are verified from.
    pub pruned: i64,
    pub checkpoint_hash: String,
    /// Events recomputed.
    pub checked: i64,
    /// The first event that does not check out, when `ok` is false.
    pub first_break: Option<AuditBreakView>,
}

/// `PUT /orgs/{org}/audit/retention`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditRetention {
    /// Days events are kept, 1 to 36500; `null` keeps them forever.
    pub days: Option<i64>,
}

/// `POST /orgs/{org}/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An http or https URL.
    pub url: String,
    /// Audit actions (`member.create`) and prefixes ending in `.`
    /// (`member.`); empty or left out: every event.
    #[serde(default)]
    pub events: Vec<String>,
    /// `whsec_` and base64 of 24 to 64 bytes; made when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    /// Empty: every event.
    pub events: Vec<String>,
    pub created_at: String,
    /// Deliveries still being retried.
    pub pending: i64,
    /// Deliveries given up (listed at `/orgs/{org}/outbox/undelivered`).
    pub failed: i64,
}

/// A new webhook endpoint and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    /// `whsec_...`: verify deliveries' `webhook-signature` with it.
    pub secret: String,
    #[serde(flatten)]
    pub view: WebhookView,
}

/// The outcome of a test delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookTestResult {
    pub delivered: bool,
    /// The HTTP status the endpoint answered, when it answered 2xx.
    pub status: Option<u16>,
    /// Why it was not delivered (never the endpoint's own words).
    pub error: Option<String>,
}

/// `POST /orgs/{org}/sso/connections`: an OpenID Connect provider for
/// some of the org's email domains.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSsoConnectionRequest {
    /// What members' `identity_provider` shows (a-z, 0-9, '-'); `sso`
    /// when left out. Unique in the org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The provider's issuer URL, exactly as its discovery document
    /// (`/.well-known/openid-configuration`) names it.
    pub issuer: String,
    pub client_id: String,
    /// Stored encrypted; never returned.
    pub client_secret: String,
    /// The email domains it serves. A domain belongs to one connection on
    /// the whole server.
    pub domains: Vec<String>,
    /// The ID token claim that lists the person's directory groups
    /// (default `groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
    /// Add people to the org at their first sign-in (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit: Option<bool>,
    /// Members whose email is in these domains cannot use the org with a
    /// password session (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce: Option<bool>,
}

/// `PATCH /orgs/{org}/sso/connections/{id}`: fields left out keep their
/// value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSsoConnectionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jit: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce: Option<bool>,
}

/// An SSO connection. The client secret is never returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoConnectionView {
    pub id: i64,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub domains: Vec<String>,
    pub groups_claim: String,
    pub jit: bool,
    pub enforce: bool,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One group mapping: people whose directory groups (the SSO groups
/// claim, a SCIM Group's displayName) include `claim` are put in `group`
/// and/or given `role` (the first matching mapping with a role wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMappingView {
    pub claim: String,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

/// `GET|PUT /orgs/{org}/group-mappings`: the org's mappings, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMappings {
    pub mappings: Vec<GroupMappingView>,
}

/// `POST /auth/sso/exchange`: the CLI trades the one-time code its
/// loopback receiver got for a session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoExchangeRequest {
    pub code: String,
    /// The PKCE verifier whose S256 challenge began the sign-in.
    pub verifier: String,
}

/// `GET /auth/sso/discover?email=`: whether the email's domain signs in
/// with SSO.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoDiscovery {
    pub sso: bool,
}
