//! Organizations: the caller's memberships, creating, changing and leaving
//! an org, the org's undelivered messages, and the first start's setup.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{
    CreateOrgRequest, MembershipSummary, OrgView, Page, SetupRequest, UndeliveredMessageView,
    UpdateOrgRequest,
};

impl Client {
    /// `GET /api/v1/orgs`: the caller's memberships, in one page.
    pub async fn orgs(&self) -> Result<Page<MembershipSummary>> {
        self.get(&["orgs"]).await
    }

    /// `POST /api/v1/orgs`: creates an org whose owner is the caller.
    pub async fn create_org(&self, body: &CreateOrgRequest) -> Result<OrgView> {
        self.post(&["orgs"], body).await
    }

    /// `GET /api/v1/orgs/{org}`.
    pub async fn org(&self, org: &str) -> Result<OrgView> {
        self.get(&["orgs", org]).await
    }

    /// `PATCH /api/v1/orgs/{org}`.
    pub async fn update_org(&self, org: &str, body: &UpdateOrgRequest) -> Result<OrgView> {
        self.patch(&["orgs", org], body).await
    }

    /// `POST /api/v1/orgs/{org}/leave`: the caller leaves the org.
    pub async fn leave_org(&self, org: &str) -> Result<()> {
        self.call(Method::POST, &["orgs", org, "leave"])
            .send_empty()
            .await
    }

    /// `GET /api/v1/orgs/{org}/outbox/undelivered`: messages still being
    /// retried or given up, oldest first.
    pub async fn undelivered(&self, org: &str) -> Result<Vec<UndeliveredMessageView>> {
        self.get(&["orgs", org, "outbox", "undelivered"]).await
    }

    /// `POST /api/v1/setup`: creates the first org and its owner with the
    /// one-time setup token of a first start. Needs no sign-in. `404
    /// invalid_link` when the token is wrong or spent.
    pub async fn setup(&self, body: &SetupRequest) -> Result<()> {
        self.call(Method::POST, &["setup"])
            .json(body)
            .send_empty()
            .await
    }
}
