//! The org's Slack connection and linking a Slack account.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{SlackConnectRequest, SlackConnectionView, SlackLinkRequest};

impl Client {
    /// `GET /api/v1/orgs/{org}/integrations/slack`: the org's Slack
    /// connection (its secrets are never shown). `404 not_found` when the org
    /// is not connected.
    pub async fn slack_connection(&self, org: &str) -> Result<SlackConnectionView> {
        self.get(&["orgs", org, "integrations", "slack"]).await
    }

    /// `PUT /api/v1/orgs/{org}/integrations/slack`: connects the org to a
    /// Slack workspace, or replaces its connection.
    pub async fn connect_slack(
        &self,
        org: &str,
        body: &SlackConnectRequest,
    ) -> Result<SlackConnectionView> {
        self.put(&["orgs", org, "integrations", "slack"], body)
            .await
    }

    /// `DELETE /api/v1/orgs/{org}/integrations/slack`: disconnects Slack.
    pub async fn disconnect_slack(&self, org: &str) -> Result<()> {
        self.delete(&["orgs", org, "integrations", "slack"]).await
    }

    /// `POST /api/v1/orgs/{org}/integrations/slack/link`: links the caller's
    /// Slack account with the code `/roster link` gave them. `404
    /// invalid_link` when the code is unknown, used or expired.
    pub async fn link_slack(&self, org: &str, body: &SlackLinkRequest) -> Result<()> {
        self.call(
            Method::POST,
            &["orgs", org, "integrations", "slack", "link"],
        )
        .json(body)
        .send_empty()
        .await
    }
}
