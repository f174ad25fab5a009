//! `roster users create|list|show|update|delete|approve|reject`: the
//! members of the current org.

use super::pages;
use super::Context;
use crate::cli::output;
use crate::cli::{input, UserCreateArgs, UserListArgs, UserUpdateArgs, UsersCommand};
use anyhow::bail;
use roster_client::MemberQuery;
use roster_proto::{
    ApproveRequest, CreateMemberRequest, MemberPage, MemberView, UpdateMemberRequest,
};

pub async fn run(ctx: &Context, cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Create(args) => create(ctx, args).await,
        UsersCommand::List(args) => list(ctx, args).await,
        UsersCommand::Show { id } => show(ctx, id).await,
        UsersCommand::Update(args) => update(ctx, args).await,
        UsersCommand::Delete { id, yes } => delete(ctx, id, yes).await,
        UsersCommand::Approve { id, role } => approve(ctx, id, role).await,
        UsersCommand::Reject { id } => reject(ctx, id).await,
        UsersCommand::Permissions { id, resource } => {
            permissions(ctx, id, resource.as_deref()).await
        }
    }
}

async fn create(ctx: &Context, args: UserCreateArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let body = CreateMemberRequest {
        email: args.email.trim().to_string(),
        name: args.name,
        role: args.role,
        team: args.team,
        groups: args.groups.map(|g| g.into_vec()).unwrap_or_default(),
        identity_provider: args.identity_provider,
        mfa_required: args.mfa_required,
        send_welcome: args.send_welcome,
    };
    let resp = ctx.client()?.create_member(&org, &body).await?;
    if ctx.json() {
        return output::json(&resp);
    }
    print_member(&resp.user)?;
    if !resp.account_created {
        output::note(format!(
            "{} already had an account; it was added to {org} as it is.",
            resp.user.email
        ));
    }
    if let Some(password) = &resp.temporary_password {
        output::line("")?;
        output::line(format!("Temporary password (shown once): {password}"))?;
        output::note("They must change it when they first sign in.");
    }
    Ok(())
}

async fn list(ctx: &Context, args: UserListArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let client = ctx.client()?;
    let query = MemberQuery {
        role: args.role,
        name: args.name,
        email: args.email,
        status: args.status,
        team: args.team,
        group: args.group,
        identity_provider: args.identity_provider,
        limit: args.page.limit,
        cursor: args.page.cursor,
    };
    let page = pages::list(query, args.page.all, async |q| {
        client.list_members(&org, q).await
    })
    .await?;
    print_page(ctx, &page)
}

fn print_page(ctx: &Context, page: &MemberPage) -> anyhow::Result<()> {
    if ctx.json() {
        output::json(page)?;
    } else {
        print_members(&page.items)?;
        pages::note_more("users", page.next_cursor.as_deref());
    }
    for w in &page.warnings {
        output::warn(w);
    }
    Ok(())
}

/// Prints members as the table of `roster users list` (also used by
/// `roster groups show`).
pub(super) fn print_members(members: &[MemberView]) -> anyhow::Result<()> {
    let mut t = output::table(&[
        "ID",
        "NAME",
        "EMAIL",
        "ROLE",
        "TEAM",
        "GROUPS",
        "STATUS",
        "JOINED",
        "LAST ACTIVE",
    ]);
    for m in members {
        t.add_row(vec![
            row_id(m),
            output::or_dash(&m.name),
            m.email.clone(),
            m.role.clone(),
            output::or_dash(&m.team),
            output::list(&m.groups),
            m.status.clone(),
            output::time(&m.joined_at),
            output::opt_time(m.last_active_at.as_deref()),
        ]);
    }
    output::print_table(&t)?;
    Ok(())
}

async fn show(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let member = ctx.client()?.member(&org, id).await?;
    if ctx.json() {
        return output::json(&member);
    }
    print_member(&member)?;
    Ok(())
}

async fn update(ctx: &Context, args: UserUpdateArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let body = UpdateMemberRequest {
        name: args.name,
        role: args.role,
        team: args.team,
        groups: args.groups.map(|g| g.into_vec()),
        status: args.status,
        mfa_required: args.mfa_required,
        identity_provider: args.identity_provider,
    };
    let member = ctx.client()?.update_member(&org, args.id, &body).await?;
    if ctx.json() {
        return output::json(&member);
    }
    print_member(&member)?;
    Ok(())
}

/// Removes a member after a confirmation (or `--yes`).
async fn delete(ctx: &Context, id: i64, yes: bool) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let client = ctx.client()?;
    if !yes {
        if !input::interactive() {
            bail!("refusing to remove user {id} from {org} without confirmation; pass --yes");
        }
        let member = client.member(&org, id).await?;
        let question = format!(
            "Remove {} <{}> (id {id}) from {org}?",
            member.name, member.email
        );
        if !input::confirm(&question)? {
            bail!("not removed");
        }
    }
    client.delete_member(&org, id).await?;
    if !ctx.json() {
        output::line(format!("Removed user {id} from {org}."))?;
    }
    Ok(())
}

/// Approves a member waiting for review: status `active`, with `role` or
/// the org's default role.
async fn approve(ctx: &Context, id: i64, role: Option<String>) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let body = ApproveRequest { role };
    let member = ctx.client()?.approve_member(&org, id, &body).await?;
    if ctx.json() {
        return output::json(&member);
    }
    output::line(format!(
        "Approved {} <{}> in {org} as {}.",
        member.name, member.email, member.role
    ))?;
    Ok(())
}

/// Rejects a member waiting for review: their membership is removed (the
/// account remains).
async fn reject(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let org = ctx.org()?;
    ctx.client()?.reject_member(&org, id).await?;
    if !ctx.json() {
        output::line(format!("Rejected user {id}'s request to join {org}."))?;
    }
    Ok(())
}

/// Every permission the member holds in the org, or on a resource, with
/// the reason for each.
async fn permissions(ctx: &Context, id: i64, resource: Option<&str>) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let resp = ctx.client()?.permissions(&org, id, resource).await?;
    if ctx.json() {
        return output::json(&resp);
    }
    let mut t = output::table(&["PERMISSION", "REASON"]);
    for p in &resp.permissions {
        t.add_row(vec![p.permission.clone(), output::or_dash(&p.reason)]);
    }
    output::print_table(&t)?;
    if resp.permissions.is_empty() {
        let on = resource.unwrap_or(org.as_str());
        output::note(format!("User {id} holds no permission on {on}."));
    }
    Ok(())
}

/// A member's user id, or `inv:N` for a pending invitation's row (the id
/// that `roster invitations resend|delete` take).
fn row_id(m: &MemberView) -> String {
    match (m.id, m.invitation_id) {
        (Some(id), _) => id.to_string(),
        (None, Some(inv)) => format!("inv:{inv}"),
        (None, None) => "-".to_owned(),
    }
}

fn print_member(m: &MemberView) -> anyhow::Result<()> {
    output::fields(&[
        ("ID", row_id(m)),
        ("Name", output::or_dash(&m.name)),
        ("Email", m.email.clone()),
        ("Role", m.role.clone()),
        ("Team", output::or_dash(&m.team)),
        ("Groups", output::list(&m.groups)),
        ("Status", m.status.clone()),
        ("Identity provider", m.identity_provider.clone()),
        ("MFA required", output::yes_no(m.mfa_required)),
        ("Joined", output::time(&m.joined_at)),
        ("Last active", output::opt_time(m.last_active_at.as_deref())),
    ])?;
    Ok(())
}
