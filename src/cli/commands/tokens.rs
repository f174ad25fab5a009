//! `roster tokens create|list|revoke`, `roster service-accounts
//! create|list|delete|tokens` and `roster scim-tokens create|list|revoke`:
//! API tokens, the service accounts that platforms call Roster as, and the
//! tokens a directory provisions an org with. A token's secret is printed
//! once.

use super::{confirm, Context};
use crate::cli::output::{self, Row};
use crate::cli::{parse_comma_list, CommaList, ConfirmArgs};
use clap::{Args, Subcommand};
use roster_proto::{
    ScimTokenRequest, ServiceAccountRequest, ServiceAccountView, TokenCreated, TokenRequest,
    TokenView,
};

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make an API token of your own in the current organization
    ///
    /// The token is printed once; send it as `Authorization: Bearer TOKEN`,
    /// or run the CLI with ROSTER_TOKEN=TOKEN. It holds at most what you
    /// hold in the organization, now and on every later request.
    ///
    /// Example: roster tokens create --name ci --permissions clusters:read,users:read
    Create(TokenArgs),
    /// Your tokens in the current organization (never their secrets)
    List {
        /// Everyone's tokens in the organization (needs users:manage)
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token: it stops working at once
    Revoke {
        /// The token's id (see `roster tokens list`)
        id: i64,
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
}

/// What a new token is.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// What the token is for
    #[arg(long)]
    name: String,
    /// At most these permissions, comma-separated (users:read,
    /// clusters:read, clusters:*, *:read...) [default: everything you hold]
    #[arg(long, value_name = "LIST", value_parser = parse_comma_list)]
    permissions: Option<CommaList>,
    /// When it expires (RFC 3339, within a year) [default: in 90 days]
    #[arg(long, value_name = "TIME")]
    expires_at: Option<String>,
}

impl TokenArgs {
    fn request(self) -> TokenRequest {
        TokenRequest {
            name: self.name,
            permissions: self.permissions.map(CommaList::into_vec),
            expires_at: self.expires_at,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ScimTokensCommand {
    /// Make a SCIM token for the current organization's directory
    ///
    /// The token is printed once. Give it to Okta or Entra ID with the SCIM
    /// base URL, PUBLIC_URL/scim/v2 (docs/operations.md). It works only
    /// there, and only for this organization. Needs integrations:manage.
    ///
    /// Example: roster scim-tokens create --name okta
    Create {
        /// What the token is for
        #[arg(long)]
        name: String,
        /// When it expires (RFC 3339, within a year) [default: in a year]
        #[arg(long, value_name = "TIME")]
        expires_at: Option<String>,
    },
    /// The organization's SCIM tokens (never their secrets)
    List,
    /// Revoke a SCIM token: the directory's next request with it fails
    Revoke {
        /// The token's id (see `roster scim-tokens list`)
        id: i64,
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
}

pub async fn run_scim(ctx: &Context, cmd: ScimTokensCommand) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    match cmd {
        ScimTokensCommand::Create { name, expires_at } => {
            let body = ScimTokenRequest { name, expires_at };
            let made = client.create_scim_token(&org, &body).await?;
            print_created(ctx, &made)
        }
        ScimTokensCommand::List => {
            let page = client.list_scim_tokens(&org).await?;
            ctx.show(&page, |page| Ok(output::rows(&page.items)?))
        }
        ScimTokensCommand::Revoke { id, confirm: flag } => {
            let what = format!("revoke SCIM token {id} of {org}");
            confirm(flag, &what, "not revoked", async || {
                Ok(format!(
                    "Revoke SCIM token {id} in {org}? The directory using it stops provisioning."
                ))
            })
            .await?;
            client.revoke_scim_token(&org, id).await?;
            ctx.done(format!("Revoked SCIM token {id}."))
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountsCommand {
    /// Make a service account: a member that acts only through API tokens
    ///
    /// Example: roster service-accounts create platform --role viewer
    Create {
        /// a-z, 0-9 and '-'; it is known as NAME@ORG.service.invalid
        name: String,
        /// Its role [default: the organization's default role]
        #[arg(long)]
        role: Option<String>,
        /// What it is for
        #[arg(long)]
        description: Option<String>,
    },
    /// The organization's service accounts
    List,
    /// Delete a service account and its tokens
    Delete {
        /// The service account's id (see `roster service-accounts list`)
        id: i64,
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
    /// A service account's tokens: list them, or make one
    #[command(subcommand)]
    Tokens(ServiceAccountTokensCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountTokensCommand {
    /// The service account's tokens
    List {
        /// The service account's id
        id: i64,
    },
    /// Make a token for the service account (printed once)
    ///
    /// Example: roster service-accounts tokens create 12 --name checks --permissions users:read
    Create {
        /// The service account's id
        id: i64,
        #[command(flatten)]
        token: TokenArgs,
    },
}

pub async fn run(ctx: &Context, cmd: TokensCommand) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    match cmd {
        TokensCommand::Create(args) => {
            let made = client.create_token(&org, &args.request()).await?;
            print_created(ctx, &made)
        }
        TokensCommand::List { all } => {
            let page = client.list_tokens(&org, all).await?;
            ctx.show(&page, |page| Ok(output::rows(&page.items)?))
        }
        TokensCommand::Revoke { id, confirm: flag } => {
            let what = format!("revoke token {id} of {org}");
            confirm(flag, &what, "not revoked", async || {
                Ok(format!(
                    "Revoke token {id} in {org}? Whatever uses it stops."
                ))
            })
            .await?;
            client.revoke_token(&org, id).await?;
            ctx.done(format!("Revoked token {id}."))
        }
    }
}

pub async fn run_service_accounts(
    ctx: &Context,
    cmd: ServiceAccountsCommand,
) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    match cmd {
        ServiceAccountsCommand::Create {
            name,
            role,
            description,
        } => {
            let body = ServiceAccountRequest {
                name,
                role,
                description,
            };
            let sa = client.create_service_account(&org, &body).await?;
            ctx.show_line(&sa, |sa| {
                format!(
                    "Made service account {} ({}) as {}; give it a token with `roster service-accounts tokens create {} --name NAME`.",
                    sa.name, sa.id, sa.role, sa.id
                )
            })
        }
        ServiceAccountsCommand::List => {
            let page = client.list_service_accounts(&org).await?;
            ctx.show(&page, |page| Ok(output::rows(&page.items)?))
        }
        ServiceAccountsCommand::Delete { id, confirm: flag } => {
            let what = format!("delete service account {id} of {org}");
            confirm(flag, &what, "not deleted", async || {
                Ok(format!(
                    "Delete service account {id} of {org} and every token it has?"
                ))
            })
            .await?;
            client.delete_service_account(&org, id).await?;
            ctx.done(format!("Deleted service account {id}."))
        }
        ServiceAccountsCommand::Tokens(ServiceAccountTokensCommand::List { id }) => {
            let page = client.service_account_tokens(&org, id).await?;
            ctx.show(&page, |page| Ok(output::rows(&page.items)?))
        }
        ServiceAccountsCommand::Tokens(ServiceAccountTokensCommand::Create { id, token }) => {
            let made = client
                .create_service_account_token(&org, id, &token.request())
                .await?;
            print_created(ctx, &made)
        }
    }
}

/// Prints a new token's secret (the one time it is shown).
fn print_created(ctx: &Context, made: &TokenCreated) -> anyhow::Result<()> {
    ctx.show(made, |made| {
        output::line(&made.token)?;
        output::note(format!(
            "Token {} \"{}\" for {}, until {}. It is shown only now: keep it somewhere safe.",
            made.view.id,
            made.view.name,
            made.view.owner.email,
            output::time(&made.view.expires_at)
        ));
        Ok(())
    })
}

impl Row for TokenView {
    const HEADER: &'static [&'static str] = &[
        "ID",
        "NAME",
        "OWNER",
        "PERMISSIONS",
        "EXPIRES",
        "LAST USED",
        "FROM",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.owner.email.clone(),
            self.permissions
                .as_ref()
                .map_or_else(|| "all the owner holds".to_owned(), |p| p.join(", ")),
            output::time(&self.expires_at),
            output::opt_time(self.last_used_at.as_deref()),
            self.last_used_from
                .clone()
                .unwrap_or_else(|| "-".to_owned()),
        ]
    }
}

impl Row for ServiceAccountView {
    const HEADER: &'static [&'static str] = &["ID", "NAME", "ROLE", "STATUS", "DESCRIPTION"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.role.clone(),
            self.status.clone(),
            output::or_dash(&self.description),
        ]
    }
}
