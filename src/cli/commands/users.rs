//! `roster users create|list|show|update|delete|approve|reject|permissions`:
//! the members of the current org.

use super::{confirm, pages, parse_member_ref, Context, MemberRef};
use crate::cli::output::{self, Row};
use crate::cli::{parse_comma_list, parse_resource_key, CommaList, ConfirmArgs, PageArgs};
use clap::{ArgAction, ArgGroup, Args, Subcommand};
use roster_client::{Client, MemberQuery};
use roster_proto::{ApproveRequest, CreateMemberRequest, MemberView, UpdateMemberRequest};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a member, creating the account if the email has none
    Create(UserCreateArgs),
    /// The team list, with filters
    List(UserListArgs),
    /// One member
    Show {
        /// The member: their user id or email address
        #[arg(value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        id: MemberRef,
    },
    /// Change a member's role, team, groups, status...
    Update(UserUpdateArgs),
    /// Remove a member from the organization (their account remains)
    Delete {
        /// The member: their user id or email address
        #[arg(value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        id: MemberRef,
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
    /// Approve a self-registered member (status reviewing -> active)
    Approve {
        /// The member: their user id or email address
        #[arg(value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        id: MemberRef,
        /// The role to give [default: the org's default role]
        #[arg(long)]
        role: Option<String>,
    },
    /// Reject a self-registered member waiting for review (their account remains)
    Reject {
        /// The member: their user id or email address
        #[arg(value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        id: MemberRef,
    },
    /// Remove a member's second factors (only for an account in no other org); they are emailed
    MfaReset {
        /// The member: their user id or email address
        #[arg(value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        id: MemberRef,
    },
    /// Email a member a link to choose a new password (only for an account in no other org)
    PasswordReset {
        /// The member: their user id or email address
        #[arg(value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        id: MemberRef,
    },
    /// Every permission a member holds, org-wide or on a resource, with the reason
    Permissions {
        /// The member: their user id or email address
        #[arg(value_name = "ID|EMAIL", value_parser = parse_member_ref)]
        id: MemberRef,
        /// A resource [default: the organization as a whole]
        #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
        resource: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct UserCreateArgs {
    /// Email address
    #[arg(long)]
    pub email: String,
    /// Display name
    #[arg(long)]
    pub name: Option<String>,
    /// Org-wide role [default: the org's default role]
    #[arg(long)]
    pub role: Option<String>,
    /// Team label, e.g. engineering
    #[arg(long)]
    pub team: Option<String>,
    /// Groups, comma-separated, e.g. dev,support
    #[arg(long, value_name = "GROUPS", value_parser = parse_comma_list)]
    pub groups: Option<CommaList>,
    /// `password` (a temporary password is generated) or an SSO connection
    #[arg(long, value_name = "PROVIDER")]
    pub identity_provider: Option<String>,
    /// Require a second factor for this member
    #[arg(long)]
    pub mfa_required: bool,
    /// Email them a welcome with a one-time link to choose their password
    /// (the temporary password is still shown here once).
    #[arg(long)]
    pub send_welcome: bool,
}

#[derive(Debug, Clone, Args)]
pub struct UserListArgs {
    /// Only this role
    #[arg(long)]
    pub role: Option<String>,
    /// Names containing this text (case-insensitive)
    #[arg(long)]
    pub name: Option<String>,
    /// Emails containing this text (case-insensitive)
    #[arg(long)]
    pub email: Option<String>,
    /// Only this status: reviewing, active, disabled or invited
    #[arg(long)]
    pub status: Option<String>,
    /// Only this team
    #[arg(long)]
    pub team: Option<String>,
    /// Only members of this group
    #[arg(long)]
    pub group: Option<String>,
    /// Only this identity provider
    #[arg(long, value_name = "PROVIDER")]
    pub identity_provider: Option<String>,
    /// Only members with (true) or without (false) a second factor
    #[arg(long, value_name = "BOOL", value_parser = ["true", "false"])]
    pub mfa: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

pages::list_args!(UserListArgs => MemberQuery {
    role,
    name,
    email,
    status,
    team,
    group,
    identity_provider,
    mfa,
});

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true)))]
pub struct UserUpdateArgs {
    /// The user's id
    #[arg(long, value_name = "ID|EMAIL", value_parser = parse_member_ref)]
    pub id: MemberRef,
    /// Org-wide role
    #[arg(long, group = "changes")]
    pub role: Option<String>,
    /// Team label
    #[arg(long, group = "changes")]
    pub team: Option<String>,
    /// Groups, comma-separated; replaces the current set ("" clears)
    #[arg(long, group = "changes", value_name = "GROUPS", value_parser = parse_comma_list)]
    pub groups: Option<CommaList>,
    /// reviewing, active or disabled
    #[arg(long, group = "changes")]
    pub status: Option<String>,
    /// Require a second factor for this member
    #[arg(long, group = "changes", value_name = "true|false", action = ArgAction::Set)]
    pub mfa_required: Option<bool>,
    /// `password` or an SSO connection
    #[arg(long, group = "changes", value_name = "PROVIDER")]
    pub identity_provider: Option<String>,
}

pub async fn run(ctx: &Context, cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Create(args) => create(ctx, args).await,
        UsersCommand::List(args) => pages::list(ctx, args, "users", Client::list_members).await,
        UsersCommand::Show { id } => show(ctx, id.resolve(ctx).await?).await,
        UsersCommand::Update(args) => update(ctx, args).await,
        UsersCommand::Delete { id, confirm } => delete(ctx, id.resolve(ctx).await?, confirm).await,
        UsersCommand::Approve { id, role } => approve(ctx, id.resolve(ctx).await?, role).await,
        UsersCommand::Reject { id } => reject(ctx, id.resolve(ctx).await?).await,
        UsersCommand::MfaReset { id } => {
            let id = id.resolve(ctx).await?;
            let (org, client) = ctx.org_client().await?;
            client.reset_member_mfa(&org, id).await?;
            ctx.done(format!(
                "The second factors of user {id} are removed; they were told by email."
            ))
        }
        UsersCommand::PasswordReset { id } => {
            let id = id.resolve(ctx).await?;
            let (org, client) = ctx.org_client().await?;
            client.send_member_password_reset(&org, id).await?;
            ctx.done(format!(
                "User {id} was emailed a link to choose a new password."
            ))
        }
        UsersCommand::Permissions { id, resource } => {
            permissions(ctx, id.resolve(ctx).await?, resource.as_deref()).await
        }
    }
}

async fn create(ctx: &Context, args: UserCreateArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
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
    let resp = client.create_member(&org, &body).await?;
    ctx.show(&resp, |resp| {
        print_member(&resp.user)?;
        if resp.user.status == "invited" {
            output::note(format!(
                "{} already has an account, which is theirs: they were invited to {org} by email \
                 and become a member when they accept.",
                resp.user.email
            ));
        }
        if let Some(password) = &resp.temporary_password {
            output::line("")?;
            output::line(format!("Temporary password (shown once): {password}"))?;
            output::note("They must change it when they first sign in.");
        }
        Ok(())
    })
}

/// A member as a row of `roster users list` (and of `roster groups show`).
impl Row for MemberView {
    const HEADER: &'static [&'static str] = &[
        "ID",
        "NAME",
        "EMAIL",
        "ROLE",
        "TEAM",
        "GROUPS",
        "STATUS",
        "MFA",
        "JOINED",
        "LAST ACTIVE",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            row_id(self),
            output::or_dash(&self.name),
            self.email.clone(),
            self.role.clone(),
            output::or_dash(&self.team),
            output::list(&self.groups),
            self.status.clone(),
            output::yes_no(self.mfa_enabled),
            output::time(&self.joined_at),
            output::opt_time(self.last_active_at.as_deref()),
        ]
    }
}

async fn show(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show(&client.member(&org, id).await?, print_member)
}

async fn update(ctx: &Context, args: UserUpdateArgs) -> anyhow::Result<()> {
    let id = args.id.resolve(ctx).await?;
    let (org, client) = ctx.org_client().await?;
    let body = UpdateMemberRequest {
        role: args.role,
        team: args.team,
        groups: args.groups.map(|g| g.into_vec()),
        status: args.status,
        mfa_required: args.mfa_required,
        identity_provider: args.identity_provider,
    };
    ctx.show(&client.update_member(&org, id, &body).await?, print_member)
}

/// Removes a member after a confirmation (or `--yes`).
async fn delete(ctx: &Context, id: i64, flag: ConfirmArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    confirm(
        flag,
        &format!("remove user {id} from {org}"),
        "not removed",
        async || {
            let member = client.member(&org, id).await?;
            Ok(format!(
                "Remove {} <{}> (id {id}) from {org}?",
                member.name, member.email
            ))
        },
    )
    .await?;
    client.delete_member(&org, id).await?;
    ctx.done(format!("Removed user {id} from {org}."))
}

/// Approves a member waiting for review: status `active`, with `role` or
/// the org's default role.
async fn approve(ctx: &Context, id: i64, role: Option<String>) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let member = client
        .approve_member(&org, id, &ApproveRequest { role })
        .await?;
    ctx.show_line(&member, |member| {
        format!(
            "Approved {} <{}> in {org} as {}.",
            member.name, member.email, member.role
        )
    })
}

/// Rejects a member waiting for review: their membership is removed (the
/// account remains).
async fn reject(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    client.reject_member(&org, id).await?;
    ctx.done(format!("Rejected user {id}'s request to join {org}."))
}

/// Every permission the member holds in the org, or on a resource, with
/// the reason for each.
async fn permissions(ctx: &Context, id: i64, resource: Option<&str>) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let resp = client.permissions(&org, id, resource).await?;
    ctx.show(&resp, |resp| {
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
    })
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
        ("MFA enrolled", output::yes_no(m.mfa_enabled)),
        ("Joined", output::time(&m.joined_at)),
        ("Last active", output::opt_time(m.last_active_at.as_deref())),
    ])?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{list, parse, parse_as};
    use crate::cli::Command;

    #[test]
    fn users_create_works_as_the_spec_writes_it() {
        let args = parse_as!(
            &[
                "users",
                "create",
                "--name",
                "Michael Scott",
                "--email",
                "michael@dundermifflin.com",
                "--team",
                "engineering",
                "--groups",
                "dev,support",
            ],
            Command::Users(UsersCommand::Create(args)) => args
        );
        assert_eq!(args.name.as_deref(), Some("Michael Scott"));
        assert_eq!(args.email, "michael@dundermifflin.com");
        assert_eq!(args.team.as_deref(), Some("engineering"));
        assert_eq!(args.groups, Some(list(&["dev", "support"])));
        assert!(!args.mfa_required);
    }

    #[test]
    fn users_update_takes_the_id_as_a_flag() {
        let args = parse_as!(
            &["users", "update", "--id", "2", "--status", "active"],
            Command::Users(UsersCommand::Update(args)) => args
        );
        assert_eq!(args.id, MemberRef::Id(2));
        assert_eq!(args.status.as_deref(), Some("active"));
        assert_eq!(args.mfa_required, None);
        assert_eq!(args.groups, None);

        let args = parse_as!(
            &[
                "users",
                "update",
                "--id",
                "2",
                "--mfa-required",
                "false",
                "--groups",
                "",
            ],
            Command::Users(UsersCommand::Update(args)) => args
        );
        assert_eq!(args.mfa_required, Some(false));
        assert_eq!(args.groups, Some(list(&[])));
    }

    #[test]
    fn bad_user_arguments_are_usage_errors() {
        assert!(parse(&["users", "show", "seven"]).is_err());
        assert!(parse(&["users", "update", "--status", "active"]).is_err());
        assert!(
            parse(&["users", "update", "--id", "2"]).is_err(),
            "nothing to change"
        );
    }

    #[test]
    fn users_approve_and_reject_take_the_id() {
        let (id, role) = parse_as!(
            &["users", "approve", "7", "--role", "viewer"],
            Command::Users(UsersCommand::Approve { id, role }) => (id, role)
        );
        assert_eq!((id, role.as_deref()), (MemberRef::Id(7), Some("viewer")));
        let cli = parse(&["users", "approve", "7"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Users(UsersCommand::Approve {
                id: MemberRef::Id(7),
                role: None
            })
        ));
        let cli = parse(&["users", "reject", "8", "--org", "acme"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Users(UsersCommand::Reject {
                id: MemberRef::Id(8)
            })
        ));
        assert_eq!(cli.global.org.as_deref(), Some("acme"));
        assert!(parse(&["users", "reject"]).is_err());
        let cli = parse(&["users", "approve", "kevin@dundermifflin.com"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Users(UsersCommand::Approve { id: MemberRef::Email(ref e), .. })
                if e == "kevin@dundermifflin.com"
        ));
    }

    #[test]
    fn users_permissions_take_an_optional_resource() {
        let cli = parse(&["users", "permissions", "7", "--resource", "clusters/eu-1"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Users(UsersCommand::Permissions {
                id: MemberRef::Id(7),
                resource: Some(_)
            })
        ));
    }
}
