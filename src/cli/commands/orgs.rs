//! `roster orgs list|create|switch|show|update|leave`.

use super::{default_org, Context};
use crate::cli::output;
use crate::cli::{parse_comma_list, CommaList};
use clap::{ArgAction, ArgGroup, Args, Subcommand};
use roster_proto::{CreateOrgRequest, OrgView, Page, UpdateOrgRequest};

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// The organizations you belong to
    List,
    /// Create an organization; you become its owner
    Create(OrgCreateArgs),
    /// Make SLUG the current organization of later commands
    Switch {
        /// The organization's slug
        slug: String,
    },
    /// An organization's details and settings
    Show {
        /// The organization's slug [default: the current one]
        slug: Option<String>,
    },
    /// Change the current organization's name or settings
    Update(OrgUpdateArgs),
    /// Leave an organization
    Leave {
        /// The organization's slug [default: the current one]
        slug: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct OrgCreateArgs {
    /// URL-safe identifier, e.g. dunder-mifflin
    #[arg(long)]
    pub slug: String,
    /// Display name
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true)))]
pub struct OrgUpdateArgs {
    /// Display name
    #[arg(long, group = "changes")]
    pub name: Option<String>,
    /// Email domains for self-registration and SSO discovery, comma-separated ("" clears)
    #[arg(long, group = "changes", value_name = "DOMAINS", value_parser = parse_comma_list)]
    pub allowed_domains: Option<CommaList>,
    /// Whether people with an allowed domain may sign up
    #[arg(long, group = "changes", value_name = "true|false", action = ArgAction::Set)]
    pub self_registration: Option<bool>,
    /// How long invitations stay valid, in seconds
    #[arg(long, group = "changes", value_name = "N")]
    pub invitation_ttl_seconds: Option<i64>,
    /// Whether members must use a second factor
    #[arg(long, group = "changes", value_name = "POLICY", value_parser = ["optional", "required"])]
    pub mfa_policy: Option<String>,
    /// The role of approved sign-ups
    #[arg(long, group = "changes", value_name = "ROLE")]
    pub default_role: Option<String>,
}

pub async fn run(ctx: &mut Context, cmd: OrgsCommand) -> anyhow::Result<()> {
    match cmd {
        OrgsCommand::List => list(ctx).await,
        OrgsCommand::Create(args) => create(ctx, args).await,
        OrgsCommand::Switch { slug } => switch(ctx, &slug).await,
        OrgsCommand::Show { slug } => show(ctx, slug).await,
        OrgsCommand::Update(args) => update(ctx, args).await,
        OrgsCommand::Leave { slug } => leave(ctx, slug).await,
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let orgs = ctx.client()?.orgs().await?;
    let current = ctx.credentials.current_org.as_deref();
    ctx.show(&orgs, |Page { items: orgs, .. }| {
        let mut t = output::table(&[
            "CURRENT", "SLUG", "NAME", "ROLE", "STATUS", "TEAM", "PERSONAL", "JOINED",
        ]);
        for m in orgs {
            let mark = if Some(m.org.as_str()) == current {
                "*"
            } else {
                ""
            };
            t.add_row(vec![
                mark.to_string(),
                m.org.clone(),
                m.org_name.clone(),
                m.role.clone(),
                m.status.clone(),
                output::or_dash(&m.team),
                output::yes_no(m.personal),
                output::time(&m.joined_at),
            ]);
        }
        output::print_table(&t)?;
        Ok(())
    })
}

async fn create(ctx: &Context, args: OrgCreateArgs) -> anyhow::Result<()> {
    let org = ctx
        .client()?
        .create_org(&CreateOrgRequest {
            slug: args.slug,
            name: args.name,
        })
        .await?;
    print_org(ctx, &org)?;
    if !ctx.json() && ctx.credentials.current_org.as_deref() != Some(org.slug.as_str()) {
        output::note(format!(
            "Run `roster orgs switch {}` to work in it.",
            org.slug
        ));
    }
    Ok(())
}

/// Checks that the caller belongs to `slug`, then makes it current.
async fn switch(ctx: &mut Context, slug: &str) -> anyhow::Result<()> {
    let org = ctx.client()?.org(slug.trim()).await?;
    ctx.credentials.current_org = Some(org.slug.clone());
    ctx.save()?;
    ctx.show_line(&org, |org| {
        format!(
            "Switched to {} ({}); your role: {}.",
            org.name, org.slug, org.your_role
        )
    })
}

async fn show(ctx: &Context, slug: Option<String>) -> anyhow::Result<()> {
    let slug = org_or_current(ctx, slug).await?;
    let org = ctx.client()?.org(&slug).await?;
    print_org(ctx, &org)
}

async fn update(ctx: &Context, args: OrgUpdateArgs) -> anyhow::Result<()> {
    let (slug, client) = ctx.org_client().await?;
    let body = UpdateOrgRequest {
        name: args.name,
        allowed_domains: args.allowed_domains.map(|d| d.into_vec()),
        self_registration: args.self_registration,
        invitation_ttl_seconds: args.invitation_ttl_seconds,
        mfa_policy: args.mfa_policy,
        default_role: args.default_role,
    };
    print_org(ctx, &client.update_org(&slug, &body).await?)
}

/// Leaves an org; when it was the current one, another becomes current.
async fn leave(ctx: &mut Context, slug: Option<String>) -> anyhow::Result<()> {
    let slug = org_or_current(ctx, slug).await?;
    let client = ctx.client()?;
    client.leave_org(&slug).await?;
    let was_current = ctx.credentials.current_org.as_deref() == Some(slug.as_str());
    if was_current {
        ctx.credentials.current_org = match client.me().await {
            Ok(me) => default_org(&me.memberships),
            Err(e) => {
                output::warn(format!("cannot choose another current organization: {e}"));
                None
            }
        };
        ctx.save()?;
    }
    if !ctx.json() {
        output::line(format!("You left {slug}."))?;
        if was_current {
            match &ctx.credentials.current_org {
                Some(org) => output::line(format!("Current organization: {org}"))?,
                None => output::line("No current organization; run `roster orgs switch SLUG`.")?,
            }
        }
    }
    Ok(())
}

/// `slug`, else the org to act in.
async fn org_or_current(ctx: &Context, slug: Option<String>) -> anyhow::Result<String> {
    match slug {
        Some(slug) => Ok(slug),
        None => ctx.org().await,
    }
}

/// Prints an org's details (or its JSON) and its warnings on stderr.
fn print_org(ctx: &Context, org: &OrgView) -> anyhow::Result<()> {
    ctx.show(org, |org| {
        let s = &org.settings;
        output::fields(&[
            ("Slug", org.slug.clone()),
            ("Name", org.name.clone()),
            ("Personal", output::yes_no(org.personal)),
            ("Your role", org.your_role.clone()),
            ("Active owners", org.active_owners.to_string()),
            ("Created", output::time(&org.created_at)),
            ("Allowed domains", output::list(&s.allowed_domains)),
            ("Self-registration", output::yes_no(s.self_registration)),
            (
                "Invitation lifetime",
                output::seconds(s.invitation_ttl_seconds),
            ),
            ("MFA policy", s.mfa_policy.clone()),
            ("Default role", s.default_role.clone()),
        ])?;
        Ok(())
    })?;
    for w in &org.warnings {
        output::warn(w);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{list, parse, parse_as};
    use crate::cli::Command;

    #[test]
    fn bad_org_updates_are_usage_errors() {
        assert!(parse(&["orgs", "update"]).is_err(), "nothing to change");
        assert!(parse(&["orgs", "update", "--mfa-policy", "sometimes"]).is_err());
        assert!(parse(&["orgs", "update", "--self-registration", "maybe"]).is_err());
    }

    #[test]
    fn org_settings_parse() {
        let args = parse_as!(
            &[
                "orgs",
                "update",
                "--allowed-domains",
                "a.com, b.com",
                "--self-registration",
                "true",
                "--invitation-ttl-seconds",
                "3600",
                "--mfa-policy",
                "required",
            ],
            Command::Orgs(OrgsCommand::Update(args)) => args
        );
        assert_eq!(args.allowed_domains, Some(list(&["a.com", "b.com"])));
        assert_eq!(args.self_registration, Some(true));
        assert_eq!(args.invitation_ttl_seconds, Some(3600));
        assert_eq!(args.mfa_policy.as_deref(), Some("required"));
    }
}
