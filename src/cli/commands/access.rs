//! `roster access grant|revoke|list`: access rules, each granting a role to
//! a member or a group, org-wide or on a resource and everything below it.

use super::{pages, Context};
use crate::cli::output;
use crate::cli::{parse_resource_key, PageArgs};
use clap::{ArgGroup, Args, Subcommand};
use roster_client::AccessRuleQuery;
use roster_proto::{AccessRuleRequest, AccessRuleView, Page};

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Grant a role to a member or a group, org-wide or on a resource and
    /// everything below it
    Grant(AccessGrantArgs),
    /// Revoke an access rule
    Revoke {
        /// The rule's id, as `roster access list` shows it
        id: i64,
    },
    /// Access rules, with filters
    List(AccessListArgs),
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("subject").required(true)))]
pub struct AccessGrantArgs {
    /// The role to grant
    #[arg(long)]
    pub role: String,
    /// The member, by email or user id
    #[arg(long, group = "subject", value_name = "EMAIL")]
    pub user: Option<String>,
    /// The group
    #[arg(long, group = "subject", value_name = "GROUP")]
    pub group: Option<String>,
    /// The resource [default: the whole organization]
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub resource: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AccessListArgs {
    /// Rules naming this member (email or id)
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
    /// Rules naming this group
    #[arg(long)]
    pub group: Option<String>,
    /// Rules granting this role
    #[arg(long)]
    pub role: Option<String>,
    /// Rules on this resource, or `org` for org-wide rules
    #[arg(long, value_name = "TYPE/NAME|org", value_parser = parse_rule_scope)]
    pub resource: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Parses the scope of an access rule filter: `org`, or a resource key.
pub fn parse_rule_scope(raw: &str) -> Result<String, String> {
    if raw.trim() == "org" {
        return Ok("org".to_string());
    }
    parse_resource_key(raw).map_err(|e| format!("{e}, or org"))
}

pub async fn run(ctx: &Context, cmd: AccessCommand) -> anyhow::Result<()> {
    match cmd {
        AccessCommand::Grant(args) => grant(ctx, args).await,
        AccessCommand::Revoke { id } => revoke(ctx, id).await,
        AccessCommand::List(args) => list(ctx, args).await,
    }
}

async fn grant(ctx: &Context, args: AccessGrantArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let body = AccessRuleRequest {
        user: args.user.map(|u| u.trim().to_string()),
        group: args.group,
        role: args.role,
        resource: args.resource,
    };
    let granted = ctx.client()?.grant_access(&org, &body).await?;
    if ctx.json() {
        return output::json(&granted.rule);
    }
    let rule = &granted.rule;
    if granted.created {
        output::line(format!("Granted {} (rule {}).", describe(rule), rule.id))?;
    } else {
        output::line(format!(
            "Rule {} grants that already: {}.",
            rule.id,
            describe(rule)
        ))?;
    }
    Ok(())
}

async fn revoke(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let org = ctx.org()?;
    ctx.client()?.revoke_access(&org, id).await?;
    if !ctx.json() {
        output::line(format!("Revoked access rule {id} in {org}."))?;
    }
    Ok(())
}

async fn list(ctx: &Context, args: AccessListArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let client = ctx.client()?;
    let query = AccessRuleQuery {
        user: args.user,
        group: args.group,
        role: args.role,
        resource: args.resource,
        limit: args.page.limit,
        cursor: args.page.cursor,
    };
    let page = pages::list(query, args.page.all, async |q| {
        client.list_access_rules(&org, q).await
    })
    .await?;
    print_page(ctx, &page)
}

fn print_page(ctx: &Context, page: &Page<AccessRuleView>) -> anyhow::Result<()> {
    if ctx.json() {
        return output::json(page);
    }
    let mut t = output::table(&["ID", "SUBJECT", "ROLE", "RESOURCE", "CREATED"]);
    for r in &page.items {
        t.add_row(vec![
            r.id.to_string(),
            subject(r),
            r.role.clone(),
            r.resource.clone().unwrap_or_else(|| "org".to_string()),
            output::time(&r.created_at),
        ]);
    }
    output::print_table(&t)?;
    pages::note_more("rules", page.next_cursor.as_deref());
    Ok(())
}

/// Who a rule is for: `user EMAIL` or `group NAME`.
fn subject(r: &AccessRuleView) -> String {
    match (&r.user, &r.group) {
        (Some(user), _) => format!("user {user}"),
        (None, Some(group)) => format!("group {group}"),
        (None, None) => "-".to_string(),
    }
}

/// A rule in words: `role devops to group dev on projects/payments`.
fn describe(r: &AccessRuleView) -> String {
    let scope = match &r.resource {
        Some(key) => key.clone(),
        None => "the whole organization".to_string(),
    };
    format!("role {} to {} on {scope}", r.role, subject(r))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::parse;
    use crate::cli::Command;

    #[test]
    fn rules_read_as_sentences() {
        let mut rule = AccessRuleView {
            id: 3,
            user: None,
            group: Some("dev".into()),
            role: "devops".into(),
            resource: Some("projects/payments".into()),
            created_at: "2025-01-01T00:00:00Z".into(),
        };
        assert_eq!(
            describe(&rule),
            "role devops to group dev on projects/payments"
        );
        rule.user = Some("pam@dm.test".into());
        rule.group = None;
        rule.resource = None;
        assert_eq!(
            describe(&rule),
            "role devops to user pam@dm.test on the whole organization"
        );
    }

    #[test]
    fn rule_scopes_are_org_or_a_resource_key() {
        assert_eq!(parse_rule_scope("org").unwrap(), "org");
        assert_eq!(parse_rule_scope("projects/p").unwrap(), "projects/p");
        assert!(parse_rule_scope("projects").is_err());
    }

    #[test]
    fn access_grants_name_one_subject() {
        assert!(parse(&["access", "grant", "--role", "devops"]).is_err());
        assert!(parse(&[
            "access", "grant", "--role", "devops", "--user", "a@x.com", "--group", "dev"
        ])
        .is_err());
        let cli = parse(&[
            "access",
            "grant",
            "--role",
            "devops",
            "--group",
            "dev",
            "--resource",
            "projects/payments",
        ])
        .unwrap();
        let Command::Access(AccessCommand::Grant(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.group.as_deref(), Some("dev"));
        assert_eq!(args.resource.as_deref(), Some("projects/payments"));
        assert!(parse(&["access", "list", "--resource", "org"]).is_ok());
        assert!(parse(&["access", "revoke", "three"]).is_err());
    }
}
