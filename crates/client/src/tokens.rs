//! API tokens and service accounts.

use crate::{Client, Result};
use roster_proto::{
    Page, ScimTokenRequest, ServiceAccountRequest, ServiceAccountView, TokenCreated, TokenRequest,
    TokenView,
};

impl Client {
    /// `GET /api/v1/orgs/{org}/tokens`: your tokens in the org, or with
    /// `all` everyone's (needs `users:manage`).
    pub async fn list_tokens(&self, org: &str, all: bool) -> Result<Page<TokenView>> {
        self.get_with(&["orgs", org, "tokens"], &[("all", all)])
            .await
    }

    /// `POST /api/v1/orgs/{org}/tokens`: a token of your own; the answer
    /// carries its secret, once.
    pub async fn create_token(&self, org: &str, body: &TokenRequest) -> Result<TokenCreated> {
        self.post(&["orgs", org, "tokens"], body).await
    }

    /// `DELETE /api/v1/orgs/{org}/tokens/{id}`: revokes a token at once.
    pub async fn revoke_token(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "tokens", &id.to_string()]).await
    }

    /// `GET /api/v1/orgs/{org}/service-accounts`.
    pub async fn list_service_accounts(&self, org: &str) -> Result<Page<ServiceAccountView>> {
        self.get(&["orgs", org, "service-accounts"]).await
    }

    /// `POST /api/v1/orgs/{org}/service-accounts`.
    pub async fn create_service_account(
        &self,
        org: &str,
        body: &ServiceAccountRequest,
    ) -> Result<ServiceAccountView> {
        self.post(&["orgs", org, "service-accounts"], body).await
    }

    /// `DELETE /api/v1/orgs/{org}/service-accounts/{id}`: deletes it and
    /// its tokens.
    pub async fn delete_service_account(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "service-accounts", &id.to_string()])
            .await
    }

    /// `GET /api/v1/orgs/{org}/service-accounts/{id}/tokens`.
    pub async fn service_account_tokens(&self, org: &str, id: i64) -> Result<Page<TokenView>> {
        self.get(&["orgs", org, "service-accounts", &id.to_string(), "tokens"])
            .await
    }

    /// `POST /api/v1/orgs/{org}/service-accounts/{id}/tokens`: the answer
    /// carries the token's secret, once.
    pub async fn create_service_account_token(
        &self,
        org: &str,
        id: i64,
        body: &TokenRequest,
    ) -> Result<TokenCreated> {
        let id = id.to_string();
        self.post(&["orgs", org, "service-accounts", &id, "tokens"], body)
            .await
    }

    /// `GET /api/v1/orgs/{org}/scim-tokens`: the org's SCIM tokens.
    pub async fn list_scim_tokens(&self, org: &str) -> Result<Page<TokenView>> {
        self.get(&["orgs", org, "scim-tokens"]).await
    }

    /// `POST /api/v1/orgs/{org}/scim-tokens`: a token for the org's
    /// directory; the answer carries the secret, once.
    pub async fn create_scim_token(
        &self,
        org: &str,
        body: &ScimTokenRequest,
    ) -> Result<TokenCreated> {
        self.post(&["orgs", org, "scim-tokens"], body).await
    }

    /// `DELETE /api/v1/orgs/{org}/scim-tokens/{id}`: revokes a SCIM token.
    pub async fn revoke_scim_token(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "scim-tokens", &id.to_string()])
            .await
    }
}
