//! `roster groups list|create|show|rename|delete|add|remove`: the groups of
//! the current org and their members.

use super::{users, Context};
use crate::cli::output;
use crate::cli::{input, GroupsCommand};
use anyhow::bail;
use roster_proto::{GroupDetail, GroupMemberRequest, GroupRequest, GroupView};

pub async fn run(ctx: &Context, cmd: GroupsCommand) -> anyhow::Result<()> {
    match cmd {
        GroupsCommand::List => list(ctx).await,
        GroupsCommand::Create { name } => create(ctx, name).await,
        GroupsCommand::Show { name } => show(ctx, &name).await,
        GroupsCommand::Rename { name, new_name } => rename(ctx, &name, new_name).await,
        GroupsCommand::Delete { name, yes } => delete(ctx, &name, yes).await,
        GroupsCommand::Add { name, user_id } => add(ctx, &name, user_id).await,
        GroupsCommand::Remove { name, user_id } => remove(ctx, &name, user_id).await,
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let groups = ctx.client()?.list_groups(&org).await?;
    if ctx.json() {
        return output::json(&groups);
    }
    let mut t = output::table(&["NAME", "MEMBERS", "CREATED"]);
    for g in &groups {
        t.add_row(vec![
            g.name.clone(),
            g.members.to_string(),
            output::time(&g.created_at),
        ]);
    }
    output::print_table(&t)?;
    if groups.is_empty() {
        output::note(format!(
            "No groups in {org}; create one with `roster groups create NAME`."
        ));
    }
    Ok(())
}

async fn create(ctx: &Context, name: String) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let group = ctx
        .client()?
        .create_group(&org, &GroupRequest { name })
        .await?;
    print_group(ctx, &group)
}

/// The group's details, then its members as `roster users list` shows them.
async fn show(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let group = ctx.client()?.group(&org, name).await?;
    if ctx.json() {
        return output::json(&group);
    }
    print_detail(&group)
}

fn print_detail(group: &GroupDetail) -> anyhow::Result<()> {
    output::fields(&[
        ("Name", group.name.clone()),
        ("Members", group.members.len().to_string()),
        ("Created", output::time(&group.created_at)),
    ])?;
    if group.members.is_empty() {
        output::note(format!(
            "No members; add one with `roster groups add {} --user ID`.",
            group.name
        ));
        return Ok(());
    }
    output::line("")?;
    users::print_members(&group.members)
}

async fn rename(ctx: &Context, name: &str, new_name: String) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let group = ctx
        .client()?
        .rename_group(&org, name, &GroupRequest { name: new_name })
        .await?;
    print_group(ctx, &group)
}

/// Deletes a group after a confirmation (or `--yes`).
async fn delete(ctx: &Context, name: &str, yes: bool) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let client = ctx.client()?;
    if !yes {
        if !input::interactive() {
            bail!("refusing to delete group {name} of {org} without confirmation; pass --yes");
        }
        let group = client.group(&org, name).await?;
        let question = format!(
            "Delete group {} of {org} ({}; they stay in {org})?",
            group.name,
            members(group.members.len())
        );
        if !input::confirm(&question)? {
            bail!("not deleted");
        }
    }
    client.delete_group(&org, name).await?;
    if !ctx.json() {
        output::line(format!("Deleted group {name} of {org}."))?;
    }
    Ok(())
}

async fn add(ctx: &Context, name: &str, user_id: i64) -> anyhow::Result<()> {
    let org = ctx.org()?;
    ctx.client()?
        .add_group_member(&org, name, &GroupMemberRequest { user_id })
        .await?;
    if !ctx.json() {
        output::line(format!("Added user {user_id} to group {name}."))?;
    }
    Ok(())
}

async fn remove(ctx: &Context, name: &str, user_id: i64) -> anyhow::Result<()> {
    let org = ctx.org()?;
    ctx.client()?
        .remove_group_member(&org, name, user_id)
        .await?;
    if !ctx.json() {
        output::line(format!(
            "Removed user {user_id} from group {name} (they stay in {org})."
        ))?;
    }
    Ok(())
}

/// Prints a group (or its JSON).
fn print_group(ctx: &Context, group: &GroupView) -> anyhow::Result<()> {
    if ctx.json() {
        return output::json(group);
    }
    output::fields(&[
        ("Name", group.name.clone()),
        ("Members", group.members.to_string()),
        ("Created", output::time(&group.created_at)),
    ])?;
    Ok(())
}

/// `1 member`, `3 members`.
fn members(n: usize) -> String {
    output::count(n as i64, "member")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_counts_read_naturally() {
        assert_eq!(members(0), "0 members");
        assert_eq!(members(1), "1 member");
        assert_eq!(members(12), "12 members");
    }
}
