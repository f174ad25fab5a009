//! Other systems' protocols, at the edge: each integration owns its wire
//! types, signatures and client, turns what the other system sends into
//! typed commands of [`crate::app`], and delivers what the use cases queue
//! for it.
//!
//! Architecture invariant: `app` never sees another system's wire format
//! (no Slack JSON, no SMTP, no HTTP client). `mail` sends the notices the
//! outbox holds; `slack` verifies Slack's requests, calls its Web API and
//! renders Block Kit. SCIM, OpenID Connect and webhooks go here too.

pub mod mail;
pub mod oidc;
pub mod scim;
pub mod slack;
pub mod webhooks;

use crate::app::outbox::Courier;
use crate::app::App;
use roster_store::outbox::Message;

/// Delivers each outbox message by the integration its kind names.
pub struct Couriers {
    pub app: App,
    pub mail: mail::Mailer,
    pub slack: slack::SlackApi,
    pub webhooks: webhooks::WebhookSender,
}

impl Courier for Couriers {
    async fn deliver(&self, m: &Message) -> Result<(), String> {
        if m.kind == roster_store::webhooks::KIND {
            webhooks::deliver(&self.app, &self.webhooks, m).await
        } else if m.kind.starts_with("slack.") {
            slack::deliver(&self.app, &self.slack, m).await
        } else {
            self.mail.deliver(m).await
        }
    }
}
