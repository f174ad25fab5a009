//! Webhook endpoints that receive an org's audit events.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{CreateWebhookRequest, Page, WebhookCreated, WebhookTestResult, WebhookView};

impl Client {
    /// `GET /api/v1/orgs/{org}/webhooks`.
    pub async fn list_webhooks(&self, org: &str) -> Result<Page<WebhookView>> {
        self.get(&["orgs", org, "webhooks"]).await
    }

    /// `POST /api/v1/orgs/{org}/webhooks`: the answer carries the signing
    /// secret, once.
    pub async fn create_webhook(
        &self,
        org: &str,
        body: &CreateWebhookRequest,
    ) -> Result<WebhookCreated> {
        self.post(&["orgs", org, "webhooks"], body).await
    }

    /// `DELETE /api/v1/orgs/{org}/webhooks/{id}`.
    pub async fn delete_webhook(&self, org: &str, id: i64) -> Result<()> {
        self.delete(&["orgs", org, "webhooks", &id.to_string()])
            .await
    }

    /// `POST /api/v1/orgs/{org}/webhooks/{id}/test`: a signed test delivery now.
    pub async fn test_webhook(&self, org: &str, id: i64) -> Result<WebhookTestResult> {
        self.call(
            Method::POST,
            &["orgs", org, "webhooks", &id.to_string(), "test"],
        )
        .send()
        .await
    }
}
