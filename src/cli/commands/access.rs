//! `roster access grant|revoke|list`: access rules, each granting a role to
//! a member or a group, org-wide or on a resource and everything below it.

use super::{pages, Context};
use crate::cli::output::{self, Row};
use crate::cli::{parse_resource_key, PageArgs};
use clap::{ArgGroup, Args, Subcommand};
use roster_client::{AccessRuleQuery, Client};
use roster_proto::{AccessRuleRequest, AccessRuleView};

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

pages::list_args!(AccessListArgs => AccessRuleQuery { user, group, role, resource });

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
        AccessCommand::List(args) => {
            pages::list(ctx, args, "rules", Client::list_access_rules).await
        }
    }
}

async fn grant(ctx: &Context, args: AccessGrantArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = AccessRuleRequest {
        user: args.user.map(|u| u.trim().to_string()),
        group: args.group,
        role: args.role,
        resource: args.resource,
    };
    let granted = client.grant_access(&org, &body).await?;
    ctx.show_line(&granted.rule, |rule| {
        if granted.created {
            format!("Granted {} (rule {}).", describe(rule), rule.id)
        } else {
            format!("Rule {} grants that already: {}.", rule.id, describe(rule))
        }
    })
}

async fn revoke(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    client.revoke_access(&org, id).await?;
    ctx.done(format!("Revoked access rule {id} in {org}."))
}

impl Row for AccessRuleView {
    const HEADER: &'static [&'static str] = &["ID", "SUBJECT", "ROLE", "RESOURCE", "CREATED"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            subject(self),
            self.role.clone(),
            self.resource.clone().unwrap_or_else(|| "org".to_string()),
            output::time(&self.created_at),
        ]
    }
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
    use crate::cli::tests::{parse, parse_as, words};
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
        let args = parse_as!(
            &words("access grant --role devops --group dev --resource projects/payments"),
            Command::Access(AccessCommand::Grant(args)) => args
        );
        assert_eq!(args.group.as_deref(), Some("dev"));
        assert_eq!(args.resource.as_deref(), Some("projects/payments"));
        assert!(parse(&["access", "list", "--resource", "org"]).is_ok());
        assert!(parse(&["access", "revoke", "three"]).is_err());
    }
}
