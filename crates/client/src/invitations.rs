//! Invitations: inviting, listing, resending and revoking them, and what
//! an invitation link offers and accepting it.

use crate::{Client, InvitationQuery, Result};
use reqwest::Method;
use roster_proto::{
    AcceptInvitationRequest, AcceptInvitationResponse, CreateInvitationsRequest,
    CreateInvitationsResponse, InvitationView, Page, PublicInvitationView,
    ResendInvitationResponse,
};

impl Client {
    /// `POST /api/v1/orgs/{org}/invitations`: invites one or many addresses.
    /// Each address gets its own result (created, with its link, or
    /// refused, with a problem); a refused address is not an error here.
    pub async fn create_invitations(
        &self,
        org: &str,
        body: &CreateInvitationsRequest,
    ) -> Result<CreateInvitationsResponse> {
        self.post(&["orgs", org, "invitations"], body).await
    }

    /// `GET /api/v1/orgs/{org}/invitations`: one page of the org's
    /// invitations.
    pub async fn list_invitations(
        &self,
        org: &str,
        query: &InvitationQuery,
    ) -> Result<Page<InvitationView>> {
        self.get_with(&["orgs", org, "invitations"], query).await
    }

    /// `POST /api/v1/orgs/{org}/invitations/{id}/resend`: a new link and
    /// expiry; the old link stops working.
    pub async fn resend_invitation(&self, org: &str, id: i64) -> Result<ResendInvitationResponse> {
        self.call(
            Method::POST,
            &["orgs", org, "invitations", &id.to_string(), "resend"],
        )
        .send()
        .await
    }

    /// `DELETE /api/v1/orgs/{org}/invitations/{id}`: revokes the invitation.
    pub async fn delete_invitation(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "invitations", &id.to_string()])
            .await
    }

    /// `GET /api/v1/invitations/{token}`: what an invitation link offers.
    /// Needs no sign-in (a token, if the client has one, is sent anyway and
    /// ignored).
    pub async fn invitation(&self, token: &str) -> Result<PublicInvitationView> {
        self.get(&["invitations", token]).await
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
    ) -> Result<AcceptInvitationResponse> {
        self.post(&["invitations", token, "accept"], body).await
    }
}
