//! `roster groups list|create|show|rename|delete|add|remove`: the groups of
//! the current org and their members.

use super::{users, Context};
use crate::cli::input;
use crate::cli::output;
use anyhow::bail;
use clap::Subcommand;
use roster_proto::{GroupDetail, GroupMemberRequest, GroupRequest, GroupView};

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// The organization's groups with their member counts
    List,
    /// Create a group
    Create {
        /// The group's name, e.g. sre (lower-case a-z, 0-9, '-', '_', '.')
        name: String,
    },
    /// A group and its members
    Show {
        /// The group's name
        name: String,
    },
    /// Rename a group; its members follow
    Rename {
        /// The group's current name
        name: String,
        /// The group's new name
        #[arg(value_name = "NEW")]
        new_name: String,
    },
    /// Delete a group (its members stay in the organization)
    Delete {
        /// The group's name
        name: String,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Add a member of the organization to a group
    Add {
        /// The group's name
        name: String,
        /// The user's id
        #[arg(long = "user", value_name = "ID")]
        user_id: i64,
    },
    /// Remove a member from a group (they stay in the organization)
    Remove {
        /// The group's name
        name: String,
        /// The user's id
        #[arg(long = "user", value_name = "ID")]
        user_id: i64,
    },
}

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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::parse;
    use crate::cli::{Command, OutputFormat};

    #[test]
    fn member_counts_read_naturally() {
        assert_eq!(members(0), "0 members");
        assert_eq!(members(1), "1 member");
        assert_eq!(members(12), "12 members");
    }

    #[test]
    fn groups_commands_parse() {
        let cli = parse(&["groups", "list", "--org", "acme", "--output", "json"]).unwrap();
        assert!(matches!(cli.command, Command::Groups(GroupsCommand::List)));
        assert_eq!(cli.global.org.as_deref(), Some("acme"));
        assert_eq!(cli.global.output, OutputFormat::Json);

        let cli = parse(&["groups", "create", "sre"]).unwrap();
        let Command::Groups(GroupsCommand::Create { name }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(name, "sre");

        let cli = parse(&["groups", "show", "sre"]).unwrap();
        let Command::Groups(GroupsCommand::Show { name }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(name, "sre");

        let cli = parse(&["groups", "rename", "sre", "ops"]).unwrap();
        let Command::Groups(GroupsCommand::Rename { name, new_name }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!((name.as_str(), new_name.as_str()), ("sre", "ops"));

        let cli = parse(&["groups", "delete", "sre"]).unwrap();
        let Command::Groups(GroupsCommand::Delete { name, yes }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!((name.as_str(), yes), ("sre", false));
        let cli = parse(&["groups", "delete", "sre", "--yes"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Groups(GroupsCommand::Delete { yes: true, .. })
        ));
        let cli = parse(&["groups", "delete", "-y", "sre"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Groups(GroupsCommand::Delete { yes: true, .. })
        ));

        let cli = parse(&["groups", "add", "sre", "--user", "2"]).unwrap();
        let Command::Groups(GroupsCommand::Add { name, user_id }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!((name.as_str(), user_id), ("sre", 2));

        let cli = parse(&["groups", "remove", "--user", "3", "sre", "--org", "acme"]).unwrap();
        let Command::Groups(GroupsCommand::Remove { name, user_id }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!((name.as_str(), user_id), ("sre", 3));
        assert_eq!(cli.global.org.as_deref(), Some("acme"));
    }

    #[test]
    fn groups_commands_need_their_arguments() {
        assert!(
            parse(&["groups", "create"]).is_err(),
            "the name is required"
        );
        assert!(parse(&["groups", "show"]).is_err());
        assert!(
            parse(&["groups", "rename", "sre"]).is_err(),
            "NEW is required"
        );
        assert!(parse(&["groups", "rename", "sre", "ops", "extra"]).is_err());
        assert!(parse(&["groups", "delete"]).is_err());
        assert!(
            parse(&["groups", "add", "sre"]).is_err(),
            "--user is required"
        );
        assert!(parse(&["groups", "add", "sre", "--user", "seven"]).is_err());
        assert!(
            parse(&["groups", "add", "sre", "2"]).is_err(),
            "the id is a flag"
        );
        assert!(parse(&["groups", "remove", "--user", "2"]).is_err());
        assert!(parse(&["groups", "list", "extra"]).is_err());
    }
}
