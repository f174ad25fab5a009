//! `roster roles list|show|create|update|delete`: the permission matrix,
//! single roles, and the org's custom roles.
//!
//! The matrix has one row per permission (the management permissions in
//! the order of SPEC §1's table, then any others a role holds, such as a
//! custom role's platform actions, then the platform classes `read`,
//! `secret`, `write`, `admin`) and one column per role, built-in and custom,
//! in the server's order.

use super::{confirm, Context};
use crate::cli::output;
use crate::cli::{parse_comma_list, CommaList, ConfirmArgs};
use anyhow::bail;
use clap::{ArgGroup, Args, Subcommand};
use roster_proto::{RoleDeleted, RoleRequest, RoleUpdateRequest, RoleView};

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// The permission matrix of every role, built-in and custom
    List,
    /// One role's description, permissions and platform classes
    Show {
        /// The role's name
        name: String,
    },
    /// Create a custom role
    Create(RoleCreateArgs),
    /// Change a custom role's permissions or description
    Update(RoleUpdateArgs),
    /// Delete a custom role; one in use needs a --replacement
    Delete {
        /// The role's name
        name: String,
        /// The role that takes its place for members, invitations and access rules
        #[arg(long, value_name = "ROLE")]
        replacement: Option<String>,
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct RoleCreateArgs {
    /// The role's name, e.g. devops
    pub name: String,
    /// Comma-separated: management permissions (users:invite), platform
    /// actions (clusters:deploy), whole types (clusters:*) or a class on
    /// every type (*:read)
    #[arg(long, value_name = "PERMISSIONS", value_parser = parse_comma_list)]
    pub permissions: CommaList,
    /// What the role is for
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true)))]
pub struct RoleUpdateArgs {
    /// The role's name
    pub name: String,
    /// Comma-separated, as for `roster roles create`; replaces the current set
    #[arg(long, group = "changes", value_name = "PERMISSIONS", value_parser = parse_comma_list)]
    pub permissions: Option<CommaList>,
    /// What the role is for
    #[arg(long, group = "changes")]
    pub description: Option<String>,
}

/// Management permissions in the order the matrix prints them (the same
/// order as the server's console).
const MANAGEMENT_ORDER: [&str; 14] = [
    "users:read",
    "tokens:create",
    "integrations:manage",
    "users:invite",
    "users:manage",
    "users:approve",
    "roles:manage",
    "groups:manage",
    "access:manage",
    "resources:manage",
    "audit:read",
    "requests:approve",
    "owners:manage",
    "org:manage",
];

/// Platform action classes, weakest first.
const CLASS_ORDER: [&str; 4] = ["read", "secret", "write", "admin"];

const CHECK: &str = "✓";

pub async fn run(ctx: &Context, cmd: RolesCommand) -> anyhow::Result<()> {
    match cmd {
        RolesCommand::List => list(ctx).await,
        RolesCommand::Show { name } => show(ctx, &name).await,
        RolesCommand::Create(args) => create(ctx, args).await,
        RolesCommand::Update(args) => update(ctx, args).await,
        RolesCommand::Delete {
            name,
            replacement,
            confirm,
        } => delete(ctx, &name, replacement.as_deref(), confirm).await,
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show_list(&client.roles(&org).await?, |roles| {
        let mut header = vec!["PERMISSION"];
        header.extend(roles.iter().map(|r| r.name.as_str()));
        let mut t = output::table(&header);
        for row in matrix(roles) {
            t.add_row(row);
        }
        output::print_table(&t)?;
        Ok(())
    })
}

/// The rows of the permission matrix: a label, then one cell per role.
fn matrix(roles: &[RoleView]) -> Vec<Vec<String>> {
    let mut permissions: Vec<&str> = MANAGEMENT_ORDER.to_vec();
    for role in roles {
        for p in &role.permissions {
            if !permissions.contains(&p.as_str()) {
                permissions.push(p);
            }
        }
    }
    let mut classes: Vec<&str> = CLASS_ORDER.to_vec();
    for role in roles {
        for c in &role.platform_classes {
            if !classes.contains(&c.as_str()) {
                classes.push(c);
            }
        }
    }
    let cell = |held: bool| if held { CHECK } else { "" }.to_string();
    let mut rows = Vec::new();
    for p in permissions {
        let mut row = vec![p.to_string()];
        row.extend(
            roles
                .iter()
                .map(|r| cell(r.permissions.iter().any(|x| x == p))),
        );
        rows.push(row);
    }
    for c in classes {
        let mut row = vec![format!("platform {c}")];
        row.extend(
            roles
                .iter()
                .map(|r| cell(r.platform_classes.iter().any(|x| x == c))),
        );
        rows.push(row);
    }
    rows
}

async fn show(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show(&client.role(&org, name).await?, print_role)
}

async fn create(ctx: &Context, args: RoleCreateArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = RoleRequest {
        name: args.name.trim().to_string(),
        description: args.description,
        permissions: args.permissions.into_vec(),
    };
    ctx.show(&client.create_role(&org, &body).await?, print_role)
}

async fn update(ctx: &Context, args: RoleUpdateArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = RoleUpdateRequest {
        description: args.description,
        permissions: args.permissions.map(CommaList::into_vec),
    };
    let role = client.update_role(&org, &args.name, &body).await?;
    ctx.show(&role, print_role)
}

/// Deletes a custom role after a confirmation (or `--yes`).
async fn delete(
    ctx: &Context,
    name: &str,
    replacement: Option<&str>,
    flag: ConfirmArgs,
) -> anyhow::Result<()> {
    let org = ctx.org().await?;
    let instead = match replacement {
        Some(r) => format!("; whoever has it gets role {r}"),
        None => String::new(),
    };
    let what = format!("delete role {name} of {org}");
    confirm(flag, &what, "not deleted", async || {
        Ok(format!("Delete role {name} of {org}{instead}?"))
    })
    .await?;
    let deleted = match ctx.client()?.delete_role(&org, name, replacement).await {
        Err(e) if e.code() == Some("role_in_use") => bail!("{e} (pass --replacement ROLE)"),
        other => other?,
    };
    ctx.show_line(&deleted, |deleted| deleted_line(name, &org, deleted))
}

/// What deleting a role did, in one line.
fn deleted_line(name: &str, org: &str, d: &RoleDeleted) -> String {
    match &d.replacement {
        Some(r) => format!(
            "Deleted role {name} of {org}; {r} replaces it for {}, {} and {}.",
            output::count(d.members, "member"),
            output::count(d.pending_invitations, "pending invitation"),
            output::count(d.rules, "access rule"),
        ),
        None => format!("Deleted role {name} of {org}."),
    }
}

/// Prints a role.
fn print_role(role: &RoleView) -> anyhow::Result<()> {
    let none = |items: &[String]| {
        if items.is_empty() {
            "(none)".to_string()
        } else {
            items.join(", ")
        }
    };
    output::fields(&[
        ("Name", role.name.clone()),
        ("Built-in", output::yes_no(role.builtin)),
        ("Description", output::or_dash(&role.description)),
        ("Permissions", none(&role.permissions)),
        ("Platform classes", none(&role.platform_classes)),
    ])?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{list, parse, parse_as};
    use crate::cli::Command;

    fn role(name: &str, permissions: &[&str], classes: &[&str]) -> RoleView {
        RoleView {
            name: name.into(),
            builtin: true,
            description: String::new(),
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
            platform_classes: classes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn deleting_says_what_the_replacement_took_over() {
        let d = RoleDeleted {
            members: 1,
            pending_invitations: 0,
            rules: 3,
            replacement: Some("viewer".into()),
        };
        assert_eq!(
            deleted_line("devops", "acme", &d),
            "Deleted role devops of acme; viewer replaces it for 1 member, 0 pending invitations and 3 access rules."
        );
        let d = RoleDeleted {
            replacement: None,
            ..d
        };
        assert_eq!(
            deleted_line("devops", "acme", &d),
            "Deleted role devops of acme."
        );
    }

    #[test]
    fn the_matrix_lists_management_then_platform_rows() {
        let roles = [
            role(
                "admin",
                &["users:read", "users:invite"],
                &["read", "secret", "write", "admin"],
            ),
            role("viewer", &["users:read"], &["read", "secret"]),
            role("custom", &["reports:export"], &[]),
        ];
        let rows = matrix(&roles);
        let labels: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(labels.len(), 14 + 1 + 4);
        assert_eq!(labels[0], "users:read");
        assert_eq!(labels[13], "org:manage");
        assert_eq!(labels[14], "reports:export");
        assert_eq!(
            &labels[15..],
            [
                "platform read",
                "platform secret",
                "platform write",
                "platform admin"
            ]
        );
        assert_eq!(rows[0], vec!["users:read", CHECK, CHECK, ""]);
        assert_eq!(rows[3], vec!["users:invite", CHECK, "", ""]);
        assert_eq!(rows[16], vec!["platform secret", CHECK, CHECK, ""]);
        assert_eq!(rows[18], vec!["platform admin", CHECK, "", ""]);
    }

    #[test]
    fn roles_are_created_updated_and_deleted() {
        let args = parse_as!(
            &[
                "roles",
                "create",
                "devops",
                "--permissions",
                "users:read, clusters:*",
            ],
            Command::Roles(RolesCommand::Create(args)) => args
        );
        assert_eq!(args.permissions, list(&["users:read", "clusters:*"]));
        assert!(
            parse(&["roles", "create", "devops"]).is_err(),
            "no permissions"
        );
        assert!(
            parse(&["roles", "update", "devops"]).is_err(),
            "nothing to change"
        );
        assert!(parse(&["roles", "update", "devops", "--description", "x"]).is_ok());
        let cli = parse(&["roles", "delete", "devops", "--replacement", "viewer"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Roles(RolesCommand::Delete { confirm: ConfirmArgs { yes: false }, replacement: Some(ref r), .. }) if r == "viewer"
        ));
    }
}
