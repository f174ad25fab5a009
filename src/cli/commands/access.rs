//! `roster access grant|revoke|list`: access rules, each granting a role to
//! a member or a group, org-wide or on a resource and everything below it.

use super::{pages, Context};
use crate::cli::output;
use crate::cli::{AccessCommand, AccessGrantArgs, AccessListArgs};
use roster_client::AccessRuleQuery;
use roster_proto::{AccessRuleRequest, AccessRuleView, Page};

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
mod tests {
    use super::*;

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
}
