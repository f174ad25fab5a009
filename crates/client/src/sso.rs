//! Single sign-on: an org's connections and group mappings, and the CLI's
//! side of the sign-in (discovery, the code exchange).

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{
    CreateSsoConnectionRequest, GroupMappings, LoginResponse, Page, SsoConnectionView,
    SsoDiscovery, SsoExchangeRequest, UpdateSsoConnectionRequest,
};

impl Client {
    /// `GET /api/v1/orgs/{org}/sso/connections`.
    pub async fn list_sso_connections(&self, org: &str) -> Result<Page<SsoConnectionView>> {
        self.get(&["orgs", org, "sso", "connections"]).await
    }

    /// `POST /api/v1/orgs/{org}/sso/connections`.
    pub async fn create_sso_connection(
        &self,
        org: &str,
        body: &CreateSsoConnectionRequest,
    ) -> Result<SsoConnectionView> {
        self.post(&["orgs", org, "sso", "connections"], body).await
    }

    /// `GET /api/v1/orgs/{org}/sso/connections/{id}`.
    pub async fn get_sso_connection(&self, org: &str, id: i64) -> Result<SsoConnectionView> {
        self.get(&["orgs", org, "sso", "connections", &id.to_string()])
            .await
    }

    /// `PATCH /api/v1/orgs/{org}/sso/connections/{id}`.
    pub async fn update_sso_connection(
        &self,
        org: &str,
        id: i64,
        body: &UpdateSsoConnectionRequest,
    ) -> Result<SsoConnectionView> {
        self.patch(&["orgs", org, "sso", "connections", &id.to_string()], body)
            .await
    }

    /// `DELETE /api/v1/orgs/{org}/sso/connections/{id}`.
    pub async fn delete_sso_connection(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "sso", "connections", &id.to_string()])
            .await
    }

    /// `GET /api/v1/orgs/{org}/group-mappings`.
    pub async fn group_mappings(&self, org: &str) -> Result<GroupMappings> {
        self.get(&["orgs", org, "group-mappings"]).await
    }

    /// `PUT /api/v1/orgs/{org}/group-mappings`.
    pub async fn set_group_mappings(
        &self,
        org: &str,
        body: &GroupMappings,
    ) -> Result<GroupMappings> {
        self.put(&["orgs", org, "group-mappings"], body).await
    }

    /// `GET /api/v1/auth/sso/discover?email=`.
    pub async fn sso_discover(&self, email: &str) -> Result<SsoDiscovery> {
        self.call(Method::GET, &["auth", "sso", "discover"])
            .query(&[("email", email)])
            .send()
            .await
    }

    /// `POST /api/v1/auth/sso/exchange`: the CLI's one-time code and PKCE
    /// verifier for a session.
    pub async fn sso_exchange(&self, body: &SsoExchangeRequest) -> Result<LoginResponse> {
        self.post(&["auth", "sso", "exchange"], body).await
    }
}
