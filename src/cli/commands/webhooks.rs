//! `roster webhooks create|list|delete|test`: endpoints that receive the
//! org's audit events, signed as Standard Webhooks says.

use super::Context;
use crate::cli::output::{self, Row};
use clap::{Args, Subcommand};
use roster_proto::{CreateWebhookRequest, WebhookView};

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Add an endpoint; prints its whsec_ signing secret once
    Create(CreateArgs),
    /// The org's endpoints, with deliveries waiting or given up
    List,
    /// Remove an endpoint and what was waiting to be delivered to it
    Delete {
        /// The endpoint's id
        id: i64,
    },
    /// Send a signed test delivery now and say whether it was accepted
    Test {
        /// The endpoint's id
        id: i64,
    },
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// An http or https URL
    pub url: String,
    /// Audit actions or prefixes ending in `.`, comma-separated (default: every event)
    #[arg(long, value_delimiter = ',', value_name = "ACTIONS")]
    pub events: Vec<String>,
    /// Read a whsec_ secret from standard input instead of having one made
    #[arg(long)]
    pub secret_stdin: bool,
}

pub async fn run(ctx: &Context, cmd: WebhooksCommand) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    match cmd {
        WebhooksCommand::Create(args) => {
            let secret = if args.secret_stdin {
                let mut s = String::new();
                std::io::stdin().read_line(&mut s)?;
                Some(s.trim().to_owned())
            } else {
                None
            };
            let made = client
                .create_webhook(
                    &org,
                    &CreateWebhookRequest {
                        url: args.url,
                        events: args
                            .events
                            .into_iter()
                            .map(|e| e.trim().to_owned())
                            .filter(|e| !e.is_empty())
                            .collect(),
                        secret,
                    },
                )
                .await?;
            ctx.show(&made, |m| {
                output::line(format!("Webhook {} sends to {}", m.view.id, m.view.url))?;
                output::line(format!("Signing secret (shown once): {}", m.secret))?;
                Ok(())
            })
        }
        WebhooksCommand::List => {
            let page = client.list_webhooks(&org).await?;
            ctx.show(&page, |p| {
                output::rows(&p.items)?;
                if p.items.is_empty() {
                    output::note(format!("No webhooks in {org}."));
                }
                Ok(())
            })
        }
        WebhooksCommand::Delete { id } => {
            client.delete_webhook(&org, id).await?;
            ctx.done(format!("Deleted webhook {id}."))
        }
        WebhooksCommand::Test { id } => {
            let r = client.test_webhook(&org, id).await?;
            ctx.show(&r, |r| {
                match (&r.status, &r.error) {
                    (Some(s), _) if r.delivered => {
                        output::line(format!("delivered: the endpoint answered {s}"))?
                    }
                    (_, Some(e)) => output::line(format!("not delivered: {e}"))?,
                    _ => output::line("not delivered")?,
                }
                Ok(())
            })?;
            if !r.delivered {
                anyhow::bail!("the test delivery to webhook {id} failed");
            }
            Ok(())
        }
    }
}

impl Row for WebhookView {
    const HEADER: &'static [&'static str] =
        &["ID", "URL", "EVENTS", "PENDING", "FAILED", "CREATED"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.url.clone(),
            if self.events.is_empty() {
                "all".to_owned()
            } else {
                self.events.join(",")
            },
            self.pending.to_string(),
            self.failed.to_string(),
            output::time(&self.created_at),
        ]
    }
}
