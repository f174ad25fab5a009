//! Members of an org: the team list, adding, changing and removing members,
//! and self-registration with its review (sign up, approve, reject).

use crate::{Client, MemberQuery, Result};
use reqwest::Method;
use roster_proto::{
    ApproveRequest, CreateMemberRequest, CreateMemberResponse, MemberPage, MemberView,
    SignupConfirmRequest, SignupRequest, SignupResponse, UpdateMemberRequest,
};

impl Client {
    /// `GET /api/v1/orgs/{org}/users`: one page of the team list.
    pub async fn list_members(&self, org: &str, query: &MemberQuery) -> Result<MemberPage> {
        self.get_with(&["orgs", org, "users"], query).await
    }

    /// `POST /api/v1/orgs/{org}/users`: adds a member, creating the account
    /// when the email has none.
    pub async fn create_member(
        &self,
        org: &str,
        body: &CreateMemberRequest,
    ) -> Result<CreateMemberResponse> {
        self.post(&["orgs", org, "users"], body).await
    }

    /// `GET /api/v1/orgs/{org}/users/{id}`.
    pub async fn member(&self, org: &str, id: i64) -> Result<MemberView> {
        self.get(&["orgs", org, "users", &id.to_string()]).await
    }

    /// `PATCH /api/v1/orgs/{org}/users/{id}`.
    pub async fn update_member(
        &self,
        org: &str,
        id: i64,
        body: &UpdateMemberRequest,
    ) -> Result<MemberView> {
        self.patch(&["orgs", org, "users", &id.to_string()], body)
            .await
    }

    /// `DELETE /api/v1/orgs/{org}/users/{id}`: removes the member from the
    /// org (their account and personal org remain).
    pub async fn delete_member(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "users", &id.to_string()]).await
    }

    /// `POST /api/v1/signup`: asks to join an org that allows
    /// self-registration. Needs no sign-in (a token, if the client has one,
    /// is sent anyway and ignored). A `202` (`status` is
    /// `confirmation_sent`) means a link went to the address, if the org
    /// takes it; it never says whether the email already had an account.
    /// Refusals: `403 signup_not_allowed`, `422 validation_failed`,
    /// `429 too_many_attempts`.
    pub async fn signup(&self, body: &SignupRequest) -> Result<SignupResponse> {
        self.post(&["signup"], body).await
    }

    /// `POST /api/v1/signup/confirm`: confirms a sign-up with its link's
    /// token; the request then waits for an administrator (`status` is
    /// `reviewing`). `404 invalid_link` when the link is used or expired.
    pub async fn confirm_signup(&self, body: &SignupConfirmRequest) -> Result<SignupResponse> {
        self.post(&["signup", "confirm"], body).await
    }

    /// `POST /api/v1/orgs/{org}/users/{id}/approve`: makes a member waiting
    /// for review active, with `body.role` or the org's default role. `409
    /// not_reviewing` when the member is not waiting.
    pub async fn approve_member(
        &self,
        org: &str,
        id: i64,
        body: &ApproveRequest,
    ) -> Result<MemberView> {
        self.post(&["orgs", org, "users", &id.to_string(), "approve"], body)
            .await
    }

    /// `POST /api/v1/orgs/{org}/users/{id}/reject`: removes a member waiting
    /// for review from the org (their account remains). Sends no body. `409
    /// not_reviewing` when the member is not waiting.
    pub async fn reject_member(&self, org: &str, id: i64) -> Result<()> {
        self.call(
            Method::POST,
            &["orgs", org, "users", &id.to_string(), "reject"],
        )
        .send_empty()
        .await
    }
}
