//! `roster roles list|show`: the permission matrix and single roles.
//!
//! The matrix has one row per permission (the management permissions in
//! the order of SPEC §1's table, then any others a role holds, then the
//! platform classes `read`, `secret`, `write`, `admin`) and one column per
//! role, in the server's order.

use super::Context;
use crate::cli::output;
use crate::cli::RolesCommand;
use roster_proto::RoleView;

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
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let roles = ctx.client()?.roles(&org).await?;
    if ctx.json() {
        return output::json(&roles);
    }
    let mut header = vec!["PERMISSION"];
    header.extend(roles.iter().map(|r| r.name.as_str()));
    let mut t = output::table(&header);
    for row in matrix(&roles) {
        t.add_row(row);
    }
    output::print_table(&t)?;
    Ok(())
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
    let org = ctx.org()?;
    let role = ctx.client()?.role(&org, name).await?;
    if ctx.json() {
        return output::json(&role);
    }
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
mod tests {
    use super::*;

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
}
