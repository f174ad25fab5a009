//! A typed client for Roster's HTTP API (`/api/v1`).
//!
//! The CLI and the integration tests both talk to the server through this
//! crate, so what the tests prove is what the CLI does. One async method per
//! endpoint, taking and returning the wire types of [`roster_proto`];
//! [`Client::request_json`] is the escape hatch for sending arbitrary (even
//! malformed) bodies.
//!
//! Architecture invariant: this crate knows HTTP and JSON but nothing of the
//! server's internals, and it never prints anything. Errors are values:
//! a problem document from the server becomes [`ClientError::Api`], a
//! transport failure [`ClientError::Http`].
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
// `ClientError::Api` carries the problem document unboxed so callers can
// match on `problem.code` directly; an error costs a network round trip
// anyway, so its size does not matter.
#![allow(clippy::result_large_err)]

mod error;
mod query;

pub use error::ClientError;
pub use query::{
    AccessRuleQuery, AuditQuery, InvitationQuery, MemberQuery, ResourceQuery, ReviewRequestQuery,
};

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use roster_proto::{
    AcceptInvitationRequest, AcceptInvitationResponse, AccessRuleRequest, AccessRuleView,
    ApproveRequest, AuditEventView, ChangePasswordRequest, CheckBatchRequest, CheckBatchResponse,
    CheckRequest, CheckResponse, CreateInvitationsRequest, CreateInvitationsResponse,
    CreateMemberRequest, CreateMemberResponse, CreateOrgRequest, GroupDetail, GroupMemberRequest,
    GroupRequest, GroupView, InvitationView, LoginRequest, LoginResponse, MeResponse, MemberPage,
    MemberView, MembershipSummary, OrgView, Page, PermissionsResponse, Problem,
    PublicInvitationView, ResendInvitationResponse, ResourceRequest, ResourceTypeRequest,
    ResourceTypeView, ResourceUpdateRequest, ResourceView, ReviewDecisionRequest,
    ReviewRequestRequest, ReviewRequestView, RoleDeleted, RoleRequest, RoleUpdateRequest, RoleView,
    SessionView, SignupRequest, SignupResponse, SlackConnectRequest, SlackConnectionView,
    SlackLinkRequest, UndeliveredMessageView, UpdateMemberRequest, UpdateOrgRequest,
};
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

/// The `User-Agent` every request carries. The server records requests whose
/// agent starts with `roster-cli/` under the audit channel `cli`.
pub const USER_AGENT: &str = concat!("roster-cli/", env!("CARGO_PKG_VERSION"));

/// How long to wait for a connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The media type of RFC 9457 problem documents.
const PROBLEM_JSON: &str = "application/problem+json";

/// A connection to one Roster server, optionally authenticated with a
/// session or API token. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`;
    /// a path prefix such as `https://example.com/roster` is kept).
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        let base = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(ClientError::Http)?;
        Ok(Client {
            http,
            base,
            token: None,
        })
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// The server's base URL, as parsed.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    // --- authentication and the caller's own account -----------------------

    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, body: &LoginRequest) -> Result<LoginResponse, ClientError> {
        let req = self.request(Method::POST, &["auth", "login"])?.json(body);
        self.send(req).await
    }

    /// `POST /api/v1/auth/logout`: ends the current session.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let req = self.request(Method::POST, &["auth", "logout"])?;
        self.send_empty(req).await
    }

    /// `GET /api/v1/me`.
    pub async fn me(&self) -> Result<MeResponse, ClientError> {
        let req = self.request(Method::GET, &["me"])?;
        self.send(req).await
    }

    /// `POST /api/v1/me/password`.
    pub async fn change_password(&self, body: &ChangePasswordRequest) -> Result<(), ClientError> {
        let req = self.request(Method::POST, &["me", "password"])?.json(body);
        self.send_empty(req).await
    }

    /// `GET /api/v1/me/sessions`.
    pub async fn sessions(&self) -> Result<Vec<SessionView>, ClientError> {
        let req = self.request(Method::GET, &["me", "sessions"])?;
        self.send(req).await
    }

    /// `DELETE /api/v1/me/sessions/{id}`.
    pub async fn revoke_session(&self, id: i64) -> Result<(), ClientError> {
        let id = id.to_string();
        let req = self.request(Method::DELETE, &["me", "sessions", &id])?;
        self.send_empty(req).await
    }

    // --- organizations -------------------------------------------------------

    /// `GET /api/v1/orgs`: the caller's memberships.
    pub async fn orgs(&self) -> Result<Vec<MembershipSummary>, ClientError> {
        let req = self.request(Method::GET, &["orgs"])?;
        self.send(req).await
    }

    /// `POST /api/v1/orgs`: creates an org whose owner is the caller.
    pub async fn create_org(&self, body: &CreateOrgRequest) -> Result<OrgView, ClientError> {
        let req = self.request(Method::POST, &["orgs"])?.json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}`.
    pub async fn org(&self, org: &str) -> Result<OrgView, ClientError> {
        let req = self.request(Method::GET, &["orgs", org])?;
        self.send(req).await
    }

    /// `PATCH /api/v1/orgs/{org}`.
    pub async fn update_org(
        &self,
        org: &str,
        body: &UpdateOrgRequest,
    ) -> Result<OrgView, ClientError> {
        let req = self.request(Method::PATCH, &["orgs", org])?.json(body);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/leave`: the caller leaves the org.
    pub async fn leave_org(&self, org: &str) -> Result<(), ClientError> {
        let req = self.request(Method::POST, &["orgs", org, "leave"])?;
        self.send_empty(req).await
    }

    // --- members ---------------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/users`: one page of the team list.
    pub async fn list_members(
        &self,
        org: &str,
        query: &MemberQuery,
    ) -> Result<MemberPage, ClientError> {
        let req = self
            .request(Method::GET, &["orgs", org, "users"])?
            .query(query);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/users`: adds a member, creating the account
    /// when the email has none.
    pub async fn create_member(
        &self,
        org: &str,
        body: &CreateMemberRequest,
    ) -> Result<CreateMemberResponse, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "users"])?
            .json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/users/{id}`.
    pub async fn member(&self, org: &str, id: i64) -> Result<MemberView, ClientError> {
        let id = id.to_string();
        let req = self.request(Method::GET, &["orgs", org, "users", &id])?;
        self.send(req).await
    }

    /// `PATCH /api/v1/orgs/{org}/users/{id}`.
    pub async fn update_member(
        &self,
        org: &str,
        id: i64,
        body: &UpdateMemberRequest,
    ) -> Result<MemberView, ClientError> {
        let id = id.to_string();
        let req = self
            .request(Method::PATCH, &["orgs", org, "users", &id])?
            .json(body);
        self.send(req).await
    }

    /// `DELETE /api/v1/orgs/{org}/users/{id}`: removes the member from the
    /// org (their account and personal org remain).
    pub async fn delete_member(&self, org: &str, id: i64) -> Result<(), ClientError> {
        let id = id.to_string();
        let req = self.request(Method::DELETE, &["orgs", org, "users", &id])?;
        self.send_empty(req).await
    }

    // --- groups ----------------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/groups`: the org's groups with their member
    /// counts.
    pub async fn list_groups(&self, org: &str) -> Result<Vec<GroupView>, ClientError> {
        let req = self.request(Method::GET, &["orgs", org, "groups"])?;
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/groups`: creates a group. `409 group_exists`
    /// when the org already has one of that name.
    pub async fn create_group(
        &self,
        org: &str,
        body: &GroupRequest,
    ) -> Result<GroupView, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "groups"])?
            .json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/groups/{name}`: a group and its members.
    pub async fn group(&self, org: &str, name: &str) -> Result<GroupDetail, ClientError> {
        let req = self.request(Method::GET, &["orgs", org, "groups", name])?;
        self.send(req).await
    }

    /// `PATCH /api/v1/orgs/{org}/groups/{name}`: renames the group to
    /// `body.name`; its members follow.
    pub async fn rename_group(
        &self,
        org: &str,
        name: &str,
        body: &GroupRequest,
    ) -> Result<GroupView, ClientError> {
        let req = self
            .request(Method::PATCH, &["orgs", org, "groups", name])?
            .json(body);
        self.send(req).await
    }

    /// `DELETE /api/v1/orgs/{org}/groups/{name}`: deletes the group; its
    /// members stay in the org.
    pub async fn delete_group(&self, org: &str, name: &str) -> Result<(), ClientError> {
        let req = self.request(Method::DELETE, &["orgs", org, "groups", name])?;
        self.send_empty(req).await
    }

    /// `POST /api/v1/orgs/{org}/groups/{name}/members`: adds a member of the
    /// org to the group (adding someone already in it changes nothing).
    pub async fn add_group_member(
        &self,
        org: &str,
        name: &str,
        body: &GroupMemberRequest,
    ) -> Result<(), ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "groups", name, "members"])?
            .json(body);
        self.send_empty(req).await
    }

    /// `DELETE /api/v1/orgs/{org}/groups/{name}/members/{id}`: removes the
    /// user from the group (they stay in the org). `404 not_found` when they
    /// are not in it.
    pub async fn remove_group_member(
        &self,
        org: &str,
        name: &str,
        user_id: i64,
    ) -> Result<(), ClientError> {
        let id = user_id.to_string();
        let req = self.request(
            Method::DELETE,
            &["orgs", org, "groups", name, "members", &id],
        )?;
        self.send_empty(req).await
    }

    // --- self-registration -----------------------------------------------------

    /// `POST /api/v1/signup`: asks to join an org that allows
    /// self-registration. Needs no sign-in (a token, if the client has one,
    /// is sent anyway and ignored). A `202` means the request waits for an
    /// administrator (`status` is `reviewing`); it never says whether the
    /// email already had an account. Refusals: `403 signup_not_allowed`,
    /// `422 validation_failed`, `429 too_many_attempts`.
    pub async fn signup(&self, body: &SignupRequest) -> Result<SignupResponse, ClientError> {
        let req = self.request(Method::POST, &["signup"])?.json(body);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/users/{id}/approve`: makes a member waiting
    /// for review active, with `body.role` or the org's default role. `409
    /// not_reviewing` when the member is not waiting.
    pub async fn approve_member(
        &self,
        org: &str,
        id: i64,
        body: &ApproveRequest,
    ) -> Result<MemberView, ClientError> {
        let id = id.to_string();
        let req = self
            .request(Method::POST, &["orgs", org, "users", &id, "approve"])?
            .json(body);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/users/{id}/reject`: removes a member waiting
    /// for review from the org (their account remains). Sends no body. `409
    /// not_reviewing` when the member is not waiting.
    pub async fn reject_member(&self, org: &str, id: i64) -> Result<(), ClientError> {
        let id = id.to_string();
        let req = self.request(Method::POST, &["orgs", org, "users", &id, "reject"])?;
        self.send_empty(req).await
    }

    // --- invitations -----------------------------------------------------------

    /// `POST /api/v1/orgs/{org}/invitations`: invites one or many addresses.
    /// Each address gets its own result (created, with its link, or
    /// refused, with a problem); a refused address is not an error here.
    pub async fn create_invitations(
        &self,
        org: &str,
        body: &CreateInvitationsRequest,
    ) -> Result<CreateInvitationsResponse, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "invitations"])?
            .json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/invitations`: one page of the org's
    /// invitations.
    pub async fn list_invitations(
        &self,
        org: &str,
        query: &InvitationQuery,
    ) -> Result<Page<InvitationView>, ClientError> {
        let req = self
            .request(Method::GET, &["orgs", org, "invitations"])?
            .query(query);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/invitations/{id}/resend`: a new link and
    /// expiry; the old link stops working.
    pub async fn resend_invitation(
        &self,
        org: &str,
        id: i64,
    ) -> Result<ResendInvitationResponse, ClientError> {
        let id = id.to_string();
        let req = self.request(Method::POST, &["orgs", org, "invitations", &id, "resend"])?;
        self.send(req).await
    }

    /// `DELETE /api/v1/orgs/{org}/invitations/{id}`: revokes the invitation.
    pub async fn delete_invitation(&self, org: &str, id: i64) -> Result<(), ClientError> {
        let id = id.to_string();
        let req = self.request(Method::DELETE, &["orgs", org, "invitations", &id])?;
        self.send_empty(req).await
    }

    /// `GET /api/v1/invitations/{token}`: what an invitation link offers.
    /// Needs no sign-in (a token, if the client has one, is sent anyway and
    /// ignored).
    pub async fn invitation(&self, token: &str) -> Result<PublicInvitationView, ClientError> {
        let req = self.request(Method::GET, &["invitations", token])?;
        self.send(req).await
    }

    /// `POST /api/v1/invitations/{token}/accept`. With a token (see
    /// [`Client::with_token`]) the signed-in account accepts and `body`
    /// should be empty; without one, `body` carries the name and password
    /// of the account to create for the invited email. A `401
    /// unauthenticated` then means that email already has an account: sign
    /// in first.
    pub async fn accept_invitation(
        &self,
        token: &str,
        body: &AcceptInvitationRequest,
    ) -> Result<AcceptInvitationResponse, ClientError> {
        let req = self
            .request(Method::POST, &["invitations", token, "accept"])?
            .json(body);
        self.send(req).await
    }

    // --- outbox ----------------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/outbox/undelivered`: messages still being
    /// retried or given up, oldest first.
    pub async fn undelivered(&self, org: &str) -> Result<Vec<UndeliveredMessageView>, ClientError> {
        let req = self.request(Method::GET, &["orgs", org, "outbox", "undelivered"])?;
        self.send(req).await
    }

    // --- Slack -----------------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/integrations/slack`: the org's Slack
    /// connection (its secrets are never shown). `404 not_found` when the org
    /// is not connected.
    pub async fn slack_connection(&self, org: &str) -> Result<SlackConnectionView, ClientError> {
        let req = self.request(Method::GET, &["orgs", org, "integrations", "slack"])?;
        self.send(req).await
    }

    /// `PUT /api/v1/orgs/{org}/integrations/slack`: connects the org to a
    /// Slack workspace, or replaces its connection.
    pub async fn connect_slack(
        &self,
        org: &str,
        body: &SlackConnectRequest,
    ) -> Result<SlackConnectionView, ClientError> {
        let req = self
            .request(Method::PUT, &["orgs", org, "integrations", "slack"])?
            .json(body);
        self.send(req).await
    }

    /// `DELETE /api/v1/orgs/{org}/integrations/slack`: disconnects Slack.
    pub async fn disconnect_slack(&self, org: &str) -> Result<(), ClientError> {
        let req = self.request(Method::DELETE, &["orgs", org, "integrations", "slack"])?;
        self.send_empty(req).await
    }

    /// `POST /api/v1/orgs/{org}/integrations/slack/link`: links the caller's
    /// Slack account with the code `/roster link` gave them. `404
    /// invalid_link` when the code is unknown, used or expired.
    pub async fn link_slack(&self, org: &str, body: &SlackLinkRequest) -> Result<(), ClientError> {
        let req = self
            .request(
                Method::POST,
                &["orgs", org, "integrations", "slack", "link"],
            )?
            .json(body);
        self.send_empty(req).await
    }

    // --- roles and audit -------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/roles`.
    pub async fn roles(&self, org: &str) -> Result<Vec<RoleView>, ClientError> {
        let req = self.request(Method::GET, &["orgs", org, "roles"])?;
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/roles/{name}`.
    pub async fn role(&self, org: &str, name: &str) -> Result<RoleView, ClientError> {
        let req = self.request(Method::GET, &["orgs", org, "roles", name])?;
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/roles`: creates a custom role. `409
    /// role_exists` when the org has a role of that name.
    pub async fn create_role(
        &self,
        org: &str,
        body: &RoleRequest,
    ) -> Result<RoleView, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "roles"])?
            .json(body);
        self.send(req).await
    }

    /// `PATCH /api/v1/orgs/{org}/roles/{name}`: changes a custom role's
    /// description and/or permissions (unset fields stay).
    pub async fn update_role(
        &self,
        org: &str,
        name: &str,
        body: &RoleUpdateRequest,
    ) -> Result<RoleView, ClientError> {
        let req = self
            .request(Method::PATCH, &["orgs", org, "roles", name])?
            .json(body);
        self.send(req).await
    }

    /// `DELETE /api/v1/orgs/{org}/roles/{name}[?replacement=ROLE]`: deletes
    /// a custom role. A role in use is refused (`409 role_in_use`) unless a
    /// `replacement` takes its place.
    pub async fn delete_role(
        &self,
        org: &str,
        name: &str,
        replacement: Option<&str>,
    ) -> Result<RoleDeleted, ClientError> {
        let mut req = self.request(Method::DELETE, &["orgs", org, "roles", name])?;
        if let Some(replacement) = replacement {
            req = req.query(&[("replacement", replacement)]);
        }
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/resource-types`: the org's catalog of
    /// resource types and their actions.
    pub async fn resource_types(&self, org: &str) -> Result<Vec<ResourceTypeView>, ClientError> {
        let req = self.request(Method::GET, &["orgs", org, "resource-types"])?;
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/resource-types`: adds a type with its
    /// actions, or actions to an existing type. Returns the whole catalog.
    pub async fn add_resource_type(
        &self,
        org: &str,
        body: &ResourceTypeRequest,
    ) -> Result<Vec<ResourceTypeView>, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "resource-types"])?
            .json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/audit`: one page of the audit log.
    pub async fn audit(
        &self,
        org: &str,
        query: &AuditQuery,
    ) -> Result<Page<AuditEventView>, ClientError> {
        let req = self
            .request(Method::GET, &["orgs", org, "audit"])?
            .query(query);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/audit/export?format=csv|jsonl`: every matching
    /// event as text. `limit` and `cursor` of the query are not sent.
    pub async fn audit_export(
        &self,
        org: &str,
        query: &AuditQuery,
        format: &str,
    ) -> Result<String, ClientError> {
        let filters = AuditQuery {
            limit: None,
            cursor: None,
            ..query.clone()
        };
        let req = self
            .request(Method::GET, &["orgs", org, "audit", "export"])?
            .query(&filters)
            .query(&[("format", format)]);
        let resp = req.send().await.map_err(ClientError::Http)?;
        if !resp.status().is_success() {
            return Err(api_error(resp).await);
        }
        resp.text().await.map_err(ClientError::Http)
    }

    // --- resources -------------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/resources`: one page of the org's resources.
    pub async fn list_resources(
        &self,
        org: &str,
        query: &ResourceQuery,
    ) -> Result<Page<ResourceView>, ClientError> {
        let req = self
            .request(Method::GET, &["orgs", org, "resources"])?
            .query(query);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/resources`: registers a resource. `409
    /// resource_exists` when it is registered already.
    pub async fn create_resource(
        &self,
        org: &str,
        body: &ResourceRequest,
    ) -> Result<ResourceView, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "resources"])?
            .json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/resources/{type}/{name}`; `key` is
    /// `type/name` (see [`resource_key_segments`]).
    pub async fn resource(&self, org: &str, key: &str) -> Result<ResourceView, ClientError> {
        let (t, n) = resource_key_segments(key);
        let req = self.request(Method::GET, &["orgs", org, "resources", t, n])?;
        self.send(req).await
    }

    /// `PATCH /api/v1/orgs/{org}/resources/{type}/{name}`. A `None` field
    /// is left out of the body and stays as it is; `parent: Some(None)`
    /// sends `null` (the resource becomes a root) and `review: Some(None)`
    /// removes the review policy.
    pub async fn update_resource(
        &self,
        org: &str,
        key: &str,
        body: &ResourceUpdateRequest,
    ) -> Result<ResourceView, ClientError> {
        let (t, n) = resource_key_segments(key);
        let req = self
            .request(Method::PATCH, &["orgs", org, "resources", t, n])?
            .json(&resource_update_body(body));
        self.send(req).await
    }

    /// `DELETE /api/v1/orgs/{org}/resources/{type}/{name}[?cascade=true]`:
    /// deletes the resource with its rules and requests. One with children
    /// is refused (`409 resource_has_children`) unless `cascade`, which
    /// deletes everything below it too.
    pub async fn delete_resource(
        &self,
        org: &str,
        key: &str,
        cascade: bool,
    ) -> Result<(), ClientError> {
        let (t, n) = resource_key_segments(key);
        let mut req = self.request(Method::DELETE, &["orgs", org, "resources", t, n])?;
        if cascade {
            req = req.query(&[("cascade", "true")]);
        }
        self.send_empty(req).await
    }

    // --- access rules ----------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/access-rules`: one page of access rules.
    pub async fn list_access_rules(
        &self,
        org: &str,
        query: &AccessRuleQuery,
    ) -> Result<Page<AccessRuleView>, ClientError> {
        let req = self
            .request(Method::GET, &["orgs", org, "access-rules"])?
            .query(query);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/access-rules`: grants a role to a member or
    /// a group, org-wide or on a resource. Granting a rule that exists
    /// returns it (`created` is then false).
    pub async fn grant_access(
        &self,
        org: &str,
        body: &AccessRuleRequest,
    ) -> Result<AccessGrant, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "access-rules"])?
            .json(body);
        let (status, rule) = self.send_with_status(req).await?;
        Ok(AccessGrant {
            rule,
            created: status == StatusCode::CREATED,
        })
    }

    /// `DELETE /api/v1/orgs/{org}/access-rules/{id}`: revokes a rule.
    pub async fn revoke_access(&self, org: &str, id: i64) -> Result<(), ClientError> {
        let id = id.to_string();
        let req = self.request(Method::DELETE, &["orgs", org, "access-rules", &id])?;
        self.send_empty(req).await
    }

    // --- checks ----------------------------------------------------------------

    /// `POST /api/v1/orgs/{org}/check`: may a member do an action? A denial
    /// is an answer, not an error; an unknown action or resource is `422`.
    pub async fn check(
        &self,
        org: &str,
        body: &CheckRequest,
    ) -> Result<CheckResponse, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "check"])?
            .json(body);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/check/batch`: many checks, answered in
    /// order; a bad query gets an `error` in its place.
    pub async fn check_batch(
        &self,
        org: &str,
        body: &CheckBatchRequest,
    ) -> Result<CheckBatchResponse, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "check", "batch"])?
            .json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/users/{id}/permissions[?resource=KEY]`: every
    /// permission a member holds in the org, or on a resource, with reasons.
    pub async fn permissions(
        &self,
        org: &str,
        user_id: i64,
        resource: Option<&str>,
    ) -> Result<PermissionsResponse, ClientError> {
        let id = user_id.to_string();
        let mut req = self.request(Method::GET, &["orgs", org, "users", &id, "permissions"])?;
        if let Some(resource) = resource {
            req = req.query(&[("resource", resource)]);
        }
        self.send(req).await
    }

    // --- review requests -------------------------------------------------------

    /// `GET /api/v1/orgs/{org}/requests`: one page of review requests
    /// (without their votes), oldest first.
    pub async fn list_review_requests(
        &self,
        org: &str,
        query: &ReviewRequestQuery,
    ) -> Result<Page<ReviewRequestView>, ClientError> {
        let req = self
            .request(Method::GET, &["orgs", org, "requests"])?
            .query(query);
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/requests`: asks for review of an action on
    /// a resource whose policy needs it (`409 review_not_required` when it
    /// does not).
    pub async fn create_review_request(
        &self,
        org: &str,
        body: &ReviewRequestRequest,
    ) -> Result<ReviewRequestView, ClientError> {
        let req = self
            .request(Method::POST, &["orgs", org, "requests"])?
            .json(body);
        self.send(req).await
    }

    /// `GET /api/v1/orgs/{org}/requests/{id}`: one request with its votes.
    pub async fn review_request(
        &self,
        org: &str,
        id: i64,
    ) -> Result<ReviewRequestView, ClientError> {
        let id = id.to_string();
        let req = self.request(Method::GET, &["orgs", org, "requests", &id])?;
        self.send(req).await
    }

    /// `POST /api/v1/orgs/{org}/requests/{id}/approve`, as an eligible
    /// reviewer. Without a comment the body is `{}`.
    pub async fn approve_review_request(
        &self,
        org: &str,
        id: i64,
        body: &ReviewDecisionRequest,
    ) -> Result<ReviewRequestView, ClientError> {
        self.decide_review_request(org, id, "approve", body).await
    }

    /// `POST /api/v1/orgs/{org}/requests/{id}/reject`, as an eligible
    /// reviewer; one rejection ends the request. Without a comment the body
    /// is `{}`.
    pub async fn reject_review_request(
        &self,
        org: &str,
        id: i64,
        body: &ReviewDecisionRequest,
    ) -> Result<ReviewRequestView, ClientError> {
        self.decide_review_request(org, id, "reject", body).await
    }

    async fn decide_review_request(
        &self,
        org: &str,
        id: i64,
        verb: &str,
        body: &ReviewDecisionRequest,
    ) -> Result<ReviewRequestView, ClientError> {
        let id = id.to_string();
        let body = match &body.comment {
            Some(comment) => serde_json::json!({ "comment": comment }),
            None => serde_json::json!({}),
        };
        let req = self
            .request(Method::POST, &["orgs", org, "requests", &id, verb])?
            .json(&body);
        self.send(req).await
    }

    // --- escape hatch --------------------------------------------------------

    /// Sends `body` (if any) to `path` (e.g. `/api/v1/orgs/acme/users`,
    /// which may carry a query string) and returns the status and the JSON
    /// body, whatever the status. An empty body reads as `null` and a body
    /// that is not JSON as a JSON string. Only transport failures are errors.
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), ClientError> {
        let url = join_raw(&self.base, path)?;
        let mut req = self.authorize(self.http.request(method, url));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(ClientError::Http)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(ClientError::Http)?;
        let value = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        Ok((status, value))
    }

    // --- plumbing ------------------------------------------------------------

    /// A request to `/api/v1/<segments...>`, each segment percent-encoded.
    fn request(&self, method: Method, segments: &[&str]) -> Result<RequestBuilder, ClientError> {
        let url = api_url(&self.base, segments)?;
        Ok(self.authorize(self.http.request(method, url)))
    }

    fn authorize(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends and decodes a JSON body of type `T` from a 2xx response.
    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, ClientError> {
        Ok(self.send_with_status(req).await?.1)
    }

    /// [`Client::send`], also returning which 2xx status the server chose.
    async fn send_with_status<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<(StatusCode, T), ClientError> {
        let resp = req.send().await.map_err(ClientError::Http)?;
        let status = resp.status();
        let url = resp.url().to_string();
        if !status.is_success() {
            return Err(api_error(resp).await);
        }
        let bytes = resp.bytes().await.map_err(ClientError::Http)?;
        let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::InvalidResponse {
            url,
            status: status.as_u16(),
            reason: e.to_string(),
        })?;
        Ok((status, body))
    }

    /// Sends and expects a 2xx response whose body (if any) is ignored.
    async fn send_empty(&self, req: RequestBuilder) -> Result<(), ClientError> {
        let resp = req.send().await.map_err(ClientError::Http)?;
        if !resp.status().is_success() {
            return Err(api_error(resp).await);
        }
        Ok(())
    }
}

/// The answer to [`Client::grant_access`].
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub rule: AccessRuleView,
    /// False when the rule existed already (and was returned unchanged).
    pub created: bool,
}

/// The `{type}` and `{name}` path segments of a resource key `type/name`,
/// split at the first `/` (each is then encoded as one segment). A key
/// without a `/` names no resource route, and the server answers 404.
pub fn resource_key_segments(key: &str) -> (&str, &str) {
    let key = key.trim();
    key.split_once('/').unwrap_or((key, ""))
}

/// The body of a resource change. [`ResourceUpdateRequest`] serializes an
/// absent field and an explicit `null` alike, and the server reads `null`
/// as "make root" or "remove the policy": so absent fields are left out
/// here, and only `Some(None)` becomes `null`.
fn resource_update_body(u: &ResourceUpdateRequest) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    if let Some(parent) = &u.parent {
        body.insert("parent".into(), serde_json::json!(parent));
    }
    if let Some(groups) = &u.groups {
        body.insert("groups".into(), serde_json::json!(groups));
    }
    if let Some(review) = &u.review {
        let review = review
            .as_ref()
            .map(|r| serde_json::json!({ "actions": r.actions, "approvals": r.approvals }));
        body.insert("review".into(), serde_json::json!(review));
    }
    serde_json::Value::Object(body)
}

/// Parses and checks a server base URL.
fn parse_base_url(raw: &str) -> Result<Url, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(invalid("it must name a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment"));
    }
    Ok(url)
}

/// `base` + `/api/v1/` + the segments, each percent-encoded as one path
/// segment (so a slug can never walk to another path).
fn api_url(base: &Url, segments: &[&str]) -> Result<Url, ClientError> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| ClientError::InvalidUrl {
                url: base.to_string(),
                reason: "it cannot be a base URL".to_string(),
            })?;
        path.pop_if_empty().extend(["api", "v1"]).extend(segments);
    }
    Ok(url)
}

/// `base` + a raw path (which should start with `/`), keeping any path
/// prefix of `base`.
fn join_raw(base: &Url, path: &str) -> Result<Url, ClientError> {
    let prefix = base.as_str().trim_end_matches('/');
    let sep = if path.starts_with('/') { "" } else { "/" };
    let joined = format!("{prefix}{sep}{path}");
    Url::parse(&joined).map_err(|e| ClientError::InvalidUrl {
        url: joined.clone(),
        reason: e.to_string(),
    })
}

/// Turns a non-2xx response into [`ClientError::Api`], synthesizing a
/// problem document when the server did not send one.
async fn api_error(resp: reqwest::Response) -> ClientError {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap_or_default();
    let problem = problem_from_body(status, &headers, &body);
    ClientError::Api {
        status: status.as_u16(),
        problem,
    }
}

fn problem_from_body(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Problem {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_json =
        content_type.starts_with(PROBLEM_JSON) || content_type.starts_with("application/json");
    if is_json {
        if let Ok(problem) = serde_json::from_slice::<Problem>(body) {
            return problem;
        }
    }
    synthesize_problem(status, &content_type, body)
}

/// A problem document for a response that did not carry one (a proxy's
/// error page, an empty 404...).
fn synthesize_problem(status: StatusCode, content_type: &str, body: &[u8]) -> Problem {
    let title = status
        .canonical_reason()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP status {}", status.as_u16()));
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let detail = if text.is_empty() || content_type.starts_with("text/html") {
        None
    } else {
        Some(truncate(&text, 200))
    };
    Problem {
        type_: "about:blank".to_string(),
        title,
        status: status.as_u16(),
        code: format!("http_{}", status.as_u16()),
        detail,
        errors: Vec::new(),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The query string a request would carry (reqwest encodes queries
    /// with serde_urlencoded).
    fn query_string<Q: serde::Serialize>(q: &Q) -> String {
        let req = reqwest::Client::new()
            .get("http://localhost/")
            .query(q)
            .build()
            .unwrap();
        req.url().query().unwrap_or("").to_string()
    }

    #[test]
    fn base_urls_must_be_http_with_a_host() {
        assert!(Client::new("http://127.0.0.1:8080").is_ok());
        assert!(Client::new("https://example.com/roster/").is_ok());
        for bad in [
            "",
            "127.0.0.1:8080",
            "ftp://example.com",
            "mailto:a@b.c",
            "http://x/?a=b",
        ] {
            let err = Client::new(bad).err();
            assert!(
                matches!(err, Some(ClientError::InvalidUrl { .. })),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn api_paths_keep_the_prefix_and_encode_segments() {
        let base = parse_base_url("https://example.com/roster/").unwrap();
        let url = api_url(&base, &["orgs", "a/b c", "users"]).unwrap();
        assert_eq!(
            url.as_str(),
            "https://example.com/roster/api/v1/orgs/a%2Fb%20c/users"
        );
        let root = parse_base_url("http://127.0.0.1:8080").unwrap();
        let url = api_url(&root, &["me"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/api/v1/me");
    }

    #[test]
    fn raw_paths_join_onto_the_prefix() {
        let base = parse_base_url("http://h:1/p/").unwrap();
        let joined = join_raw(&base, "/api/v1/orgs?limit=2").unwrap();
        assert_eq!(joined.as_str(), "http://h:1/p/api/v1/orgs?limit=2");
    }

    #[test]
    fn queries_skip_unset_filters() {
        let q = MemberQuery {
            role: Some("admin".into()),
            name: Some("Michael Scott".into()),
            limit: Some(10),
            ..Default::default()
        };
        assert_eq!(query_string(&q), "role=admin&name=Michael+Scott&limit=10");
        assert_eq!(query_string(&AuditQuery::default()), "");
    }

    #[test]
    fn invitation_queries_skip_unset_filters() {
        let q = InvitationQuery {
            status: Some("pending".into()),
            limit: Some(5),
            ..Default::default()
        };
        assert_eq!(query_string(&q), "status=pending&limit=5");
        assert_eq!(query_string(&InvitationQuery::default()), "");
    }

    #[test]
    fn problem_bodies_are_read_and_others_synthesized() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, PROBLEM_JSON.parse().unwrap());
        let body = br#"{"type":"about:blank","title":"Not found","status":404,"code":"not_found","detail":"no user 7"}"#;
        let p = problem_from_body(StatusCode::NOT_FOUND, &headers, body);
        assert_eq!(p.code, "not_found");
        assert_eq!(p.detail.as_deref(), Some("no user 7"));

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        let p = problem_from_body(StatusCode::BAD_GATEWAY, &headers, b"upstream\n down");
        assert_eq!(p.status, 502);
        assert_eq!(p.title, "Bad Gateway");
        assert_eq!(p.detail.as_deref(), Some("upstream down"));
        let err = ClientError::Api {
            status: 502,
            problem: p,
        };
        assert_eq!(err.to_string(), "Bad Gateway: upstream down");
    }

    fn response(status: &str, content_type: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// A one-shot HTTP server on a free port: answers the first request
    /// with `response` and hands back the request it read.
    fn one_shot_server(response: String) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head and, when announced, the body.
            loop {
                let n = stream.read(&mut buf).unwrap();
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_string)
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length || n == 0 {
                        break;
                    }
                }
            }
            stream.write_all(response.as_bytes()).unwrap();
            String::from_utf8_lossy(&request).to_string()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn requests_carry_the_cli_agent_and_the_token() {
        let body = r#"{"type":"about:blank","title":"Not found","status":404,"code":"not_found","detail":"x"}"#;
        let (url, server) =
            one_shot_server(response("404 Not Found", "application/problem+json", body));
        let client = Client::new(&url).unwrap().with_token("tok-123");
        let err = client.member("acme", 7).await.unwrap_err();
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("get /api/v1/orgs/acme/users/7 "),
            "{request}"
        );
        assert!(
            request.contains(&format!("user-agent: {USER_AGENT}")),
            "{request}"
        );
        assert!(
            request.contains("authorization: bearer tok-123"),
            "{request}"
        );
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.code(), Some("not_found"));
        assert_eq!(err.to_string(), "Not found: x");
    }

    #[tokio::test]
    async fn raw_requests_return_any_status_and_body() {
        let (url, server) = one_shot_server(response("400 Bad Request", "text/plain", "not json"));
        let client = Client::new(&url).unwrap();
        let body = serde_json::json!({"emial": "typo@example.com"});
        let (status, value) = client
            .request_json(Method::POST, "/api/v1/orgs/acme/users", Some(&body))
            .await
            .unwrap();
        let request = server.join().unwrap();
        assert!(
            request.contains(r#"{"emial":"typo@example.com"}"#),
            "{request}"
        );
        assert_eq!(status, 400);
        assert_eq!(value, serde_json::Value::String("not json".into()));
    }

    const ACCEPTED: &str = r#"{"org":"acme","user_id":9,"role":"viewer","account_created":true}"#;

    #[tokio::test]
    async fn accepting_signed_in_sends_the_token_and_an_empty_body() {
        let (url, server) = one_shot_server(response("200 OK", "application/json", ACCEPTED));
        let client = Client::new(&url).unwrap().with_token("tok-9");
        let resp = client
            .accept_invitation("rsi_abc", &AcceptInvitationRequest::default())
            .await
            .unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("post /api/v1/invitations/rsi_abc/accept "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-9"), "{request}");
        assert!(request.ends_with("\r\n\r\n{}"), "{request}");
        assert_eq!(resp.org, "acme");
        assert!(resp.account_created);
    }

    #[tokio::test]
    async fn accepting_as_a_newcomer_sends_name_and_password_without_a_token() {
        let (url, server) = one_shot_server(response("200 OK", "application/json", ACCEPTED));
        let client = Client::new(&url).unwrap();
        let body = AcceptInvitationRequest {
            name: Some("Pam".into()),
            password: Some("a long secret".into()),
        };
        client.accept_invitation("rsi_x/y", &body).await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("post /api/v1/invitations/rsi_x%2fy/accept "),
            "the token stays one path segment: {request}"
        );
        assert!(!lower.contains("authorization:"), "{request}");
        assert!(
            request.contains(r#"{"name":"Pam","password":"a long secret"}"#),
            "{request}"
        );
    }

    #[tokio::test]
    async fn signing_up_posts_the_request_without_a_token() {
        let (url, server) = one_shot_server(response(
            "202 Accepted",
            "application/json",
            r#"{"status":"reviewing"}"#,
        ));
        let client = Client::new(&url).unwrap();
        let body = SignupRequest {
            org: "dunder-mifflin".into(),
            email: "kevin@dm.test".into(),
            name: "Kevin".into(),
            password: "a long secret".into(),
        };
        let resp = client.signup(&body).await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(lower.starts_with("post /api/v1/signup "), "{request}");
        assert!(!lower.contains("authorization:"), "{request}");
        assert!(
            request.ends_with(
                r#"{"org":"dunder-mifflin","email":"kevin@dm.test","name":"Kevin","password":"a long secret"}"#
            ),
            "{request}"
        );
        assert_eq!(resp.status, "reviewing");
    }

    #[tokio::test]
    async fn signup_refusals_keep_their_code() {
        let body = r#"{"type":"about:blank","title":"Too many attempts","status":429,"code":"too_many_attempts","detail":"try again later"}"#;
        let (url, server) = one_shot_server(response(
            "429 Too Many Requests",
            "application/problem+json",
            body,
        ));
        let client = Client::new(&url).unwrap();
        let err = client
            .signup(&SignupRequest {
                org: "acme".into(),
                email: "a@acme.test".into(),
                name: "A".into(),
                password: "a-password-123".into(),
            })
            .await
            .unwrap_err();
        server.join().unwrap();
        assert_eq!(err.status(), Some(429));
        assert_eq!(err.code(), Some("too_many_attempts"));
    }

    const APPROVED: &str = r#"{"id":7,"email":"kevin@dm.test","name":"Kevin","role":"contributor","team":"","groups":[],"status":"active","identity_provider":"password","mfa_required":false,"joined_at":"2025-01-01T00:00:00Z","last_active_at":null}"#;

    #[tokio::test]
    async fn approving_posts_the_role_to_the_member() {
        let (url, server) = one_shot_server(response("200 OK", "application/json", APPROVED));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let body = ApproveRequest {
            role: Some("contributor".into()),
        };
        let member = client.approve_member("acme", 7, &body).await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("post /api/v1/orgs/acme/users/7/approve "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with(r#"{"role":"contributor"}"#), "{request}");
        assert_eq!(member.status, "active");
        assert_eq!(member.role, "contributor");
    }

    #[tokio::test]
    async fn approving_with_the_default_role_sends_an_empty_object() {
        let body = r#"{"type":"about:blank","title":"Conflict","status":409,"code":"not_reviewing","detail":"user 7 is not waiting for review"}"#;
        let (url, server) =
            one_shot_server(response("409 Conflict", "application/problem+json", body));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let err = client
            .approve_member("acme", 7, &ApproveRequest::default())
            .await
            .unwrap_err();
        let request = server.join().unwrap();
        assert!(request.ends_with("\r\n\r\n{}"), "{request}");
        assert_eq!(err.status(), Some(409));
        assert_eq!(err.code(), Some("not_reviewing"));
    }

    #[tokio::test]
    async fn rejecting_posts_without_a_body() {
        let (url, server) =
            one_shot_server("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        client.reject_member("acme", 8).await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("post /api/v1/orgs/acme/users/8/reject "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(!lower.contains("content-type:"), "{request}");
        assert!(request.ends_with("\r\n\r\n"), "no body: {request}");
    }

    const SLACK_CONNECTION: &str = r#"{"team_id":"T123","channel":"C456","api_base_url":"https://slack.com/api","connected_at":"2025-01-01T00:00:00Z"}"#;

    #[tokio::test]
    async fn showing_the_slack_connection_gets_it() {
        let (url, server) =
            one_shot_server(response("200 OK", "application/json", SLACK_CONNECTION));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let view = client.slack_connection("acme").await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("get /api/v1/orgs/acme/integrations/slack "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert_eq!(view.team_id, "T123");
        assert_eq!(view.channel, "C456");
    }

    #[tokio::test]
    async fn an_org_without_slack_answers_not_found() {
        let body = r#"{"type":"about:blank","title":"Not found","status":404,"code":"not_found","detail":"acme is not connected to Slack"}"#;
        let (url, server) =
            one_shot_server(response("404 Not Found", "application/problem+json", body));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let err = client.slack_connection("acme").await.unwrap_err();
        server.join().unwrap();
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.code(), Some("not_found"));
    }

    #[tokio::test]
    async fn connecting_slack_puts_the_secrets_and_the_channel() {
        let (url, server) =
            one_shot_server(response("200 OK", "application/json", SLACK_CONNECTION));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let body = SlackConnectRequest {
            signing_secret: "s3cret".into(),
            bot_token: "xoxb-1".into(),
            channel: "C456".into(),
            api_base_url: None,
        };
        let view = client.connect_slack("acme", &body).await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("put /api/v1/orgs/acme/integrations/slack "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(
            request
                .ends_with(r#"{"signing_secret":"s3cret","bot_token":"xoxb-1","channel":"C456"}"#),
            "an unset api_base_url is left out: {request}"
        );
        assert_eq!(view.api_base_url, "https://slack.com/api");
    }

    #[tokio::test]
    async fn disconnecting_slack_deletes_the_connection() {
        let (url, server) =
            one_shot_server("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        client.disconnect_slack("acme").await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("delete /api/v1/orgs/acme/integrations/slack "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with("\r\n\r\n"), "no body: {request}");
    }

    #[tokio::test]
    async fn linking_slack_posts_the_code() {
        let (url, server) =
            one_shot_server("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let body = SlackLinkRequest {
            code: "ABC-123".into(),
        };
        client.link_slack("acme", &body).await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("post /api/v1/orgs/acme/integrations/slack/link "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with(r#"{"code":"ABC-123"}"#), "{request}");
    }

    #[tokio::test]
    async fn a_bad_link_code_keeps_its_code() {
        let body = r#"{"type":"about:blank","title":"Not found","status":404,"code":"invalid_link","detail":"unknown, used or expired code"}"#;
        let (url, server) =
            one_shot_server(response("404 Not Found", "application/problem+json", body));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let err = client
            .link_slack("acme", &SlackLinkRequest { code: "x".into() })
            .await
            .unwrap_err();
        server.join().unwrap();
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.code(), Some("invalid_link"));
    }

    const NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";

    const GROUP: &str = r#"{"name":"dev","members":2,"created_at":"2025-01-01T00:00:00Z"}"#;

    #[tokio::test]
    async fn listing_groups_gets_them() {
        let (url, server) = one_shot_server(response(
            "200 OK",
            "application/json",
            &format!("[{GROUP}]"),
        ));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let groups = client.list_groups("acme").await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("get /api/v1/orgs/acme/groups "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].name, "dev");
        assert_eq!(groups[0].members, 2);
    }

    #[tokio::test]
    async fn creating_a_group_posts_its_name_and_keeps_a_conflict_code() {
        let body = r#"{"type":"about:blank","title":"Conflict","status":409,"code":"group_exists","detail":"acme already has a group dev"}"#;
        let (url, server) =
            one_shot_server(response("409 Conflict", "application/problem+json", body));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let err = client
            .create_group("acme", &GroupRequest { name: "dev".into() })
            .await
            .unwrap_err();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("post /api/v1/orgs/acme/groups "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with(r#"{"name":"dev"}"#), "{request}");
        assert_eq!(err.status(), Some(409));
        assert_eq!(err.code(), Some("group_exists"));
    }

    #[tokio::test]
    async fn a_created_group_is_decoded() {
        let (url, server) = one_shot_server(response("201 Created", "application/json", GROUP));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let group = client
            .create_group("acme", &GroupRequest { name: "Dev".into() })
            .await
            .unwrap();
        let request = server.join().unwrap();
        assert!(request.ends_with(r#"{"name":"Dev"}"#), "{request}");
        assert_eq!(group.name, "dev");
        assert_eq!(group.members, 2);
    }

    #[tokio::test]
    async fn showing_a_group_gets_it_with_its_members() {
        let body = format!(
            r#"{{"name":"dev","created_at":"2025-01-01T00:00:00Z","members":[{APPROVED}]}}"#
        );
        let (url, server) = one_shot_server(response("200 OK", "application/json", &body));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let group = client.group("acme", "dev/ops").await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("get /api/v1/orgs/acme/groups/dev%2fops "),
            "the name stays one path segment: {request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert_eq!(group.name, "dev");
        assert_eq!(group.members.len(), 1);
        assert_eq!(group.members[0].email, "kevin@dm.test");
    }

    #[tokio::test]
    async fn renaming_a_group_patches_the_new_name() {
        let (url, server) = one_shot_server(response(
            "200 OK",
            "application/json",
            &GROUP.replace("dev", "ops"),
        ));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let group = client
            .rename_group("acme", "dev", &GroupRequest { name: "ops".into() })
            .await
            .unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("patch /api/v1/orgs/acme/groups/dev "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with(r#"{"name":"ops"}"#), "{request}");
        assert_eq!(group.name, "ops");
    }

    #[tokio::test]
    async fn deleting_a_group_sends_no_body() {
        let (url, server) = one_shot_server(NO_CONTENT.to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        client.delete_group("acme", "dev").await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("delete /api/v1/orgs/acme/groups/dev "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with("\r\n\r\n"), "no body: {request}");
    }

    #[tokio::test]
    async fn adding_a_group_member_posts_the_user_id() {
        let (url, server) = one_shot_server(NO_CONTENT.to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        client
            .add_group_member("acme", "dev", &GroupMemberRequest { user_id: 7 })
            .await
            .unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("post /api/v1/orgs/acme/groups/dev/members "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with(r#"{"user_id":7}"#), "{request}");
    }

    #[tokio::test]
    async fn removing_a_group_member_deletes_by_user_id() {
        let (url, server) = one_shot_server(NO_CONTENT.to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        client.remove_group_member("acme", "dev", 7).await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("delete /api/v1/orgs/acme/groups/dev/members/7 "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert!(request.ends_with("\r\n\r\n"), "no body: {request}");
    }

    const RESOURCE: &str = r#"{"id":3,"key":"clusters/eu-1","type":"clusters","name":"eu-1","parent":"environments/prod","groups":["dev"],"review":{"actions":["clusters:deploy"],"approvals":2},"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}"#;

    const RULE: &str = r#"{"id":4,"user":null,"group":"dev","role":"devops","resource":"projects/payments","created_at":"2025-01-01T00:00:00Z"}"#;

    const REQUEST: &str = r#"{"id":5,"requester":"jim@dm.test","resource":"clusters/eu-1","action":"clusters:deploy","reason":"hotfix","duration_seconds":7200,"approvals_required":1,"status":"approved","created_at":"2025-01-01T00:00:00Z","decided_at":"2025-01-01T00:01:00Z","expires_at":"2025-01-01T02:01:00Z","votes":[]}"#;

    #[test]
    fn resource_queries_skip_unset_filters() {
        let q = ResourceQuery {
            resource_type: Some("clusters".into()),
            user: Some("pam@dm.test".into()),
            action: Some("clusters:deploy".into()),
            ..Default::default()
        };
        assert_eq!(
            query_string(&q),
            "type=clusters&user=pam%40dm.test&action=clusters%3Adeploy"
        );
        assert_eq!(query_string(&ResourceQuery::default()), "");
        let q = AccessRuleQuery {
            resource: Some("org".into()),
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(query_string(&q), "resource=org&limit=2");
        let q = ReviewRequestQuery {
            status: Some("pending".into()),
            mine: true,
            ..Default::default()
        };
        assert_eq!(query_string(&q), "status=pending&mine=true");
        assert_eq!(query_string(&ReviewRequestQuery::default()), "");
    }

    #[test]
    fn resource_keys_split_at_the_first_slash() {
        assert_eq!(
            resource_key_segments(" clusters/eu-1 "),
            ("clusters", "eu-1")
        );
        assert_eq!(resource_key_segments("a/b/c"), ("a", "b/c"));
        assert_eq!(resource_key_segments("clusters"), ("clusters", ""));
    }

    #[test]
    fn resource_changes_leave_out_what_stays_and_send_null_to_clear() {
        let body = resource_update_body(&ResourceUpdateRequest {
            groups: Some(vec!["dev".into()]),
            ..Default::default()
        });
        assert_eq!(body, serde_json::json!({"groups": ["dev"]}));
        let body = resource_update_body(&ResourceUpdateRequest {
            parent: Some(None),
            review: Some(None),
            groups: None,
        });
        assert_eq!(body, serde_json::json!({"parent": null, "review": null}));
        let body = resource_update_body(&ResourceUpdateRequest {
            parent: Some(Some("projects/p".into())),
            groups: Some(Vec::new()),
            review: Some(Some(roster_proto::ReviewPolicyView {
                actions: vec!["clusters:deploy".into()],
                approvals: 2,
            })),
        });
        assert_eq!(
            body,
            serde_json::json!({
                "parent": "projects/p",
                "groups": [],
                "review": {"actions": ["clusters:deploy"], "approvals": 2},
            })
        );
        assert_eq!(
            resource_update_body(&ResourceUpdateRequest::default()),
            serde_json::json!({})
        );
    }

    #[tokio::test]
    async fn a_resource_key_becomes_two_path_segments() {
        let (url, server) = one_shot_server(response("200 OK", "application/json", RESOURCE));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let r = client.resource("acme", "clusters/eu-1").await.unwrap();
        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.starts_with("get /api/v1/orgs/acme/resources/clusters/eu-1 "),
            "{request}"
        );
        assert!(lower.contains("authorization: bearer tok-1"), "{request}");
        assert_eq!(r.key, "clusters/eu-1");
        assert_eq!(r.resource_type, "clusters");
        assert_eq!(r.review.unwrap().approvals, 2);
    }

    #[tokio::test]
    async fn updating_a_resource_patches_only_what_changes() {
        let (url, server) = one_shot_server(response("200 OK", "application/json", RESOURCE));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let body = ResourceUpdateRequest {
            parent: Some(None),
            ..Default::default()
        };
        client
            .update_resource("acme", "clusters/eu-1", &body)
            .await
            .unwrap();
        let request = server.join().unwrap();
        assert!(
            request
                .to_ascii_lowercase()
                .starts_with("patch /api/v1/orgs/acme/resources/clusters/eu-1 "),
            "{request}"
        );
        assert!(request.ends_with(r#"{"parent":null}"#), "{request}");
    }

    #[tokio::test]
    async fn deleting_a_resource_asks_for_a_cascade_only_when_wanted() {
        let (url, server) = one_shot_server(NO_CONTENT.to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        client
            .delete_resource("acme", "projects/p", true)
            .await
            .unwrap();
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("delete /api/v1/orgs/acme/resources/projects/p?cascade=true "),
            "{request}"
        );
        let (url, server) = one_shot_server(NO_CONTENT.to_string());
        let client = Client::new(&url).unwrap().with_token("tok-1");
        client
            .delete_resource("acme", "projects/p", false)
            .await
            .unwrap();
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("delete /api/v1/orgs/acme/resources/projects/p "),
            "{request}"
        );
    }

    #[tokio::test]
    async fn deleting_a_role_names_the_replacement() {
        let body = r#"{"members":2,"pending_invitations":0,"rules":1,"replacement":"viewer"}"#;
        let (url, server) = one_shot_server(response("200 OK", "application/json", body));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let deleted = client
            .delete_role("acme", "devops", Some("viewer"))
            .await
            .unwrap();
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("delete /api/v1/orgs/acme/roles/devops?replacement=viewer "),
            "{request}"
        );
        assert_eq!(deleted.members, 2);
        assert_eq!(deleted.replacement.as_deref(), Some("viewer"));
    }

    #[tokio::test]
    async fn a_grant_says_whether_the_rule_is_new() {
        for (status, created) in [("201 Created", true), ("200 OK", false)] {
            let (url, server) = one_shot_server(response(status, "application/json", RULE));
            let client = Client::new(&url).unwrap().with_token("tok-1");
            let body = AccessRuleRequest {
                user: None,
                group: Some("dev".into()),
                role: "devops".into(),
                resource: Some("projects/payments".into()),
            };
            let grant = client.grant_access("acme", &body).await.unwrap();
            let request = server.join().unwrap();
            assert!(
                request
                    .to_ascii_lowercase()
                    .starts_with("post /api/v1/orgs/acme/access-rules "),
                "{request}"
            );
            assert_eq!(grant.created, created, "{status}");
            assert_eq!(grant.rule.id, 4);
            assert_eq!(grant.rule.group.as_deref(), Some("dev"));
        }
    }

    #[tokio::test]
    async fn a_check_posts_the_question_and_reads_the_answer() {
        let answer = r#"{"allowed":false,"reason":"denied: no grant","code":"no_grant"}"#;
        let (url, server) = one_shot_server(response("200 OK", "application/json", answer));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let body = CheckRequest {
            user: "pam@dm.test".into(),
            action: "clusters:deploy".into(),
            resource: Some("clusters/eu-1".into()),
        };
        let resp = client.check("acme", &body).await.unwrap();
        let request = server.join().unwrap();
        assert!(
            request
                .to_ascii_lowercase()
                .starts_with("post /api/v1/orgs/acme/check "),
            "{request}"
        );
        assert!(
            request.ends_with(
                r#"{"user":"pam@dm.test","action":"clusters:deploy","resource":"clusters/eu-1"}"#
            ),
            "{request}"
        );
        assert!(!resp.allowed);
        assert_eq!(resp.code, "no_grant");
        assert_eq!(resp.rule_id, None);
    }

    #[tokio::test]
    async fn permissions_ask_about_one_resource() {
        let answer = r#"{"user":7,"resource":"clusters/eu-1","permissions":[{"permission":"clusters:read","reason":"allowed by the org-wide role viewer"}]}"#;
        let (url, server) = one_shot_server(response("200 OK", "application/json", answer));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let resp = client
            .permissions("acme", 7, Some("clusters/eu-1"))
            .await
            .unwrap();
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(
            request
                .starts_with("get /api/v1/orgs/acme/users/7/permissions?resource=clusters%2feu-1 "),
            "{request}"
        );
        assert_eq!(resp.permissions.len(), 1);
    }

    #[tokio::test]
    async fn a_decision_without_a_comment_sends_an_empty_object() {
        let (url, server) = one_shot_server(response("200 OK", "application/json", REQUEST));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let view = client
            .approve_review_request("acme", 5, &ReviewDecisionRequest::default())
            .await
            .unwrap();
        let request = server.join().unwrap();
        assert!(
            request
                .to_ascii_lowercase()
                .starts_with("post /api/v1/orgs/acme/requests/5/approve "),
            "{request}"
        );
        assert!(request.ends_with("\r\n\r\n{}"), "{request}");
        assert_eq!(view.status, "approved");

        let (url, server) = one_shot_server(response("200 OK", "application/json", REQUEST));
        let client = Client::new(&url).unwrap().with_token("tok-1");
        let body = ReviewDecisionRequest {
            comment: Some("not now".into()),
        };
        client
            .reject_review_request("acme", 5, &body)
            .await
            .unwrap();
        let request = server.join().unwrap();
        assert!(
            request
                .to_ascii_lowercase()
                .starts_with("post /api/v1/orgs/acme/requests/5/reject "),
            "{request}"
        );
        assert!(request.ends_with(r#"{"comment":"not now"}"#), "{request}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_in_the_error() {
        // Bind then drop: nothing listens on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = client.me().await.unwrap_err();
        assert!(matches!(err, ClientError::Http(_)));
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot reach the Roster server at http://127.0.0.1:{port}"
            )),
            "{message}"
        );
    }
}
