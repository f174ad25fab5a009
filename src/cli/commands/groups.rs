//! `roster groups list|create|show|rename|delete|add|remove`: the groups of
//! the current org and their members.

use super::{confirm, parse_member_ref, Context, MemberRef};
use crate::cli::output::{self, Row};
use crate::cli::ConfirmArgs;
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
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
    /// Add a member of the organization to a group
    Add {
        /// The group's name
        name: String,
        /// The member: their user id or email address
        #[arg(long = "user", value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        user_id: MemberRef,
    },
    /// Remove a member from a group (they stay in the organization)
    Remove {
        /// The group's name
        name: String,
        /// The member: their user id or email address
        #[arg(long = "user", value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        user_id: MemberRef,
    },
}

pub async fn run(ctx: &Context, cmd: GroupsCommand) -> anyhow::Result<()> {
    match cmd {
        GroupsCommand::List => list(ctx).await,
        GroupsCommand::Create { name } => create(ctx, name).await,
        GroupsCommand::Show { name } => show(ctx, &name).await,
        GroupsCommand::Rename { name, new_name } => rename(ctx, &name, new_name).await,
        GroupsCommand::Delete { name, confirm } => delete(ctx, &name, confirm).await,
        GroupsCommand::Add { name, user_id } => add(ctx, &name, user_id.resolve(ctx).await?).await,
        GroupsCommand::Remove { name, user_id } => {
            remove(ctx, &name, user_id.resolve(ctx).await?).await
        }
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show_list(&client.list_groups(&org).await?, |groups| {
        output::rows(groups)?;
        if groups.is_empty() {
            output::note(format!(
                "No groups in {org}; create one with `roster groups create NAME`."
            ));
        }
        Ok(())
    })
}

impl Row for GroupView {
    const HEADER: &'static [&'static str] = &["NAME", "MEMBERS", "CREATED"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.members.to_string(),
            output::time(&self.created_at),
        ]
    }
}

async fn create(ctx: &Context, name: String) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let group = client.create_group(&org, &GroupRequest { name }).await?;
    ctx.show(&group, print_group)
}

/// The group's details, then its members as `roster users list` shows them.
async fn show(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show(&client.group(&org, name).await?, print_detail)
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
    output::rows(&group.members)?;
    Ok(())
}

async fn rename(ctx: &Context, name: &str, new_name: String) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = GroupRequest { name: new_name };
    ctx.show(&client.rename_group(&org, name, &body).await?, print_group)
}

/// Deletes a group after a confirmation (or `--yes`).
async fn delete(ctx: &Context, name: &str, flag: ConfirmArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let what = format!("delete group {name} of {org}");
    confirm(flag, &what, "not deleted", async || {
        let group = client.group(&org, name).await?;
        Ok(format!(
            "Delete group {} of {org} ({}; they stay in {org})?",
            group.name,
            members(group.members.len())
        ))
    })
    .await?;
    client.delete_group(&org, name).await?;
    ctx.done(format!("Deleted group {name} of {org}."))
}

async fn add(ctx: &Context, name: &str, user_id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = GroupMemberRequest { user_id };
    client.add_group_member(&org, name, &body).await?;
    ctx.done(format!("Added user {user_id} to group {name}."))
}

async fn remove(ctx: &Context, name: &str, user_id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    client.remove_group_member(&org, name, user_id).await?;
    ctx.done(format!(
        "Removed user {user_id} from group {name} (they stay in {org})."
    ))
}

/// Prints a group.
fn print_group(group: &GroupView) -> anyhow::Result<()> {
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
    use crate::cli::tests::{parse, parse_as};
    use crate::cli::Command;

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

        let name = parse_as!(
            &["groups", "create", "sre"],
            Command::Groups(GroupsCommand::Create { name }) => name
        );
        assert_eq!(name, "sre");

        let name = parse_as!(
            &["groups", "show", "sre"],
            Command::Groups(GroupsCommand::Show { name }) => name
        );
        assert_eq!(name, "sre");

        let (name, new_name) = parse_as!(
            &["groups", "rename", "sre", "ops"],
            Command::Groups(GroupsCommand::Rename { name, new_name }) => (name, new_name)
        );
        assert_eq!((name.as_str(), new_name.as_str()), ("sre", "ops"));

        let (name, confirm) = parse_as!(
            &["groups", "delete", "sre"],
            Command::Groups(GroupsCommand::Delete { name, confirm }) => (name, confirm)
        );
        assert_eq!((name.as_str(), confirm.yes), ("sre", false));
        let cli = parse(&["groups", "delete", "sre", "--yes"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Groups(GroupsCommand::Delete {
                confirm: ConfirmArgs { yes: true },
                ..
            })
        ));
        let cli = parse(&["groups", "delete", "-y", "sre"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Groups(GroupsCommand::Delete {
                confirm: ConfirmArgs { yes: true },
                ..
            })
        ));

        let (name, user_id) = parse_as!(
            &["groups", "add", "sre", "--user", "2"],
            Command::Groups(GroupsCommand::Add { name, user_id }) => (name, user_id)
        );
        assert_eq!((name.as_str(), user_id), ("sre", MemberRef::Id(2)));

        let cli = parse(&[
            "groups",
            "remove",
            "--user",
            "dwight@dm.test",
            "sre",
            "--org",
            "acme",
        ])
        .unwrap();
        let Command::Groups(GroupsCommand::Remove { name, user_id }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(
            (name.as_str(), user_id),
            ("sre", MemberRef::Email("dwight@dm.test".into()))
        );
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
