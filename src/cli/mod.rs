//! The command line of `roster`: `roster <noun> <verb> [flags]`.
//!
//! This module holds only the clap types (the raw arguments) and the small
//! parsers they use; [`commands`] turns them into API calls and output.
//! Usage errors are clap's and exit with status 2; every other failure is
//! one `error: ...` line on stderr and status 1.

pub mod commands;
pub mod credentials;
pub mod input;
pub mod output;

use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand, ValueEnum};
use roster_proto::NewActionRequest;
use std::path::PathBuf;

/// The server used when neither `--server`, `ROSTER_SERVER` nor saved
/// credentials name one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Roster: organizations, users and access for your platform.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The Roster server [default: the one you logged in to, else http://127.0.0.1:8080]
    #[arg(long, global = true, env = "ROSTER_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// The organization to act in [default: the current one, see `roster orgs switch`]
    #[arg(long, global = true, env = "ROSTER_ORG", value_name = "SLUG")]
    pub org: Option<String>,

    /// How to print results: human tables or the JSON of the API
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Roster server
    Serve(ServeArgs),
    /// Sign in and save a session token for later commands
    Login(LoginArgs),
    /// Ask to join an organization that allows self-registration
    Signup(SignupArgs),
    /// End the session and forget its token
    Logout,
    /// Your password
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Organizations you belong to
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Members of the current organization
    #[command(subcommand)]
    Users(UsersCommand),
    /// Groups of members in the current organization
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Roles and their permissions
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Resource types and their actions: what platform permissions name
    #[command(subcommand)]
    ResourceTypes(ResourceTypesCommand),
    /// Registered resources (projects, environments, clusters...) and their tree
    #[command(subcommand)]
    Resources(ResourcesCommand),
    /// Access rules: roles granted to members and groups, org-wide or on a resource
    #[command(subcommand)]
    Access(AccessCommand),
    /// Ask whether a member may do an action, and why
    ///
    /// Prints `allowed: REASON` or `denied: REASON`, the reason naming the
    /// role, access rule, group or review request that decided. The exit
    /// status is 0 whenever the server answers, allowed or denied: a denial
    /// is an answer, not a failure. It is 1 only when there is no answer (an
    /// unknown action, resource or member reference, no permission to ask
    /// about others, a server that cannot be reached). Scripts read the
    /// first word, or `allowed` of `--output json`.
    Check(CheckArgs),
    /// Review requests: ask for an action that needs approval, approve or reject
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// The audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Invite people to the current organization, and accept invitations
    #[command(subcommand)]
    Invitations(InvitationsCommand),
    /// Messages the server has not delivered
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The current organization's Slack connection, and linking your Slack account
    #[command(subcommand)]
    Slack(SlackCommand),
}

// --- serve ---------------------------------------------------------------------

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (also ROSTER_CONFIG)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free port
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Where the embedded SQLite database and the mail log live
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A database URL, e.g. postgres://user@host/roster
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// The base URL of links the server prints and sends
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Create the first org with this owner on an empty database
    #[arg(long = "bootstrap-owner", value_name = "EMAIL")]
    pub bootstrap_owner: Option<String>,
    /// The log format
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

// --- login and password ----------------------------------------------------------

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Your email address
    #[arg(long)]
    pub email: String,
    /// Read the password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SignupArgs {
    /// The slug of the organization to join
    // Overrides the global `--org` for this command: here it is required
    // and neither ROSTER_ORG nor the current org stands in for it.
    #[arg(long, value_name = "SLUG")]
    pub org: String,
    /// Your email address (its domain must be one the organization allows)
    #[arg(long)]
    pub email: String,
    /// Your display name
    #[arg(long)]
    pub name: String,
    /// Read the password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Change your password (prompts for the current one and the new one twice)
    Change(PasswordChangeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct PasswordChangeArgs {
    /// Read the current password (line 1) and the new one (line 2) from standard input
    #[arg(long)]
    pub password_stdin: bool,
}

// --- orgs --------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// The organizations you belong to
    List,
    /// Create an organization; you become its owner
    Create(OrgCreateArgs),
    /// Make SLUG the current organization of later commands
    Switch {
        /// The organization's slug
        slug: String,
    },
    /// An organization's details and settings
    Show {
        /// The organization's slug [default: the current one]
        slug: Option<String>,
    },
    /// Change the current organization's name or settings
    Update(OrgUpdateArgs),
    /// Leave an organization
    Leave {
        /// The organization's slug [default: the current one]
        slug: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct OrgCreateArgs {
    /// URL-safe identifier, e.g. dunder-mifflin
    #[arg(long)]
    pub slug: String,
    /// Display name
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true)))]
pub struct OrgUpdateArgs {
    /// Display name
    #[arg(long, group = "changes")]
    pub name: Option<String>,
    /// Email domains for self-registration and SSO discovery, comma-separated ("" clears)
    #[arg(long, group = "changes", value_name = "DOMAINS", value_parser = parse_comma_list)]
    pub allowed_domains: Option<CommaList>,
    /// Whether people with an allowed domain may sign up
    #[arg(long, group = "changes", value_name = "true|false", action = ArgAction::Set)]
    pub self_registration: Option<bool>,
    /// How long invitations stay valid, in seconds
    #[arg(long, group = "changes", value_name = "N")]
    pub invitation_ttl_seconds: Option<i64>,
    /// Whether members must use a second factor
    #[arg(long, group = "changes", value_name = "POLICY", value_parser = ["optional", "required"])]
    pub mfa_policy: Option<String>,
    /// The role of approved sign-ups
    #[arg(long, group = "changes", value_name = "ROLE")]
    pub default_role: Option<String>,
}

// --- users -------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a member, creating the account if the email has none
    Create(UserCreateArgs),
    /// The team list, with filters
    List(UserListArgs),
    /// One member
    Show {
        /// The user's id
        id: i64,
    },
    /// Change a member's role, team, groups, status...
    Update(UserUpdateArgs),
    /// Remove a member from the organization (their account remains)
    Delete {
        /// The user's id
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Approve a self-registered member (status reviewing -> active)
    Approve {
        /// The user's id
        id: i64,
        /// The role to give [default: the org's default role]
        #[arg(long)]
        role: Option<String>,
    },
    /// Reject a self-registered member waiting for review (their account remains)
    Reject {
        /// The user's id
        id: i64,
    },
    /// Every permission a member holds, org-wide or on a resource, with the reason
    Permissions {
        /// The user's id
        id: i64,
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
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true)))]
pub struct UserUpdateArgs {
    /// The user's id
    #[arg(long)]
    pub id: i64,
    /// Display name
    #[arg(long, group = "changes")]
    pub name: Option<String>,
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

// --- groups ------------------------------------------------------------------------

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

// --- roles and audit -------------------------------------------------------------

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
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
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

// --- resource types, resources, access rules, checks and requests ----------------

#[derive(Debug, Subcommand)]
pub enum ResourceTypesCommand {
    /// Every resource type with its actions and their classes
    List,
    /// Add a resource type with its actions, or actions to an existing type
    Add(ResourceTypeAddArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ResourceTypeAddArgs {
    /// The type's name, e.g. queues
    pub name: String,
    /// An action with its class (read, write, secret or admin), e.g.
    /// drain:admin; repeatable, or comma-separated
    #[arg(
        long = "action",
        value_name = "NAME:CLASS",
        required = true,
        value_delimiter = ',',
        value_parser = parse_action
    )]
    pub actions: Vec<NewActionRequest>,
    /// What the type is
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// Register a resource, optionally under a parent, admitting only some
    /// groups, with a review policy
    Create(ResourceCreateArgs),
    /// The organization's resources, with filters
    List(ResourceListArgs),
    /// One resource
    Show {
        /// The resource, e.g. clusters/eu-1
        #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
        key: String,
    },
    /// Change a resource's parent, groups or review policy
    Update(ResourceUpdateArgs),
    /// Delete a resource with its access rules and requests
    Delete {
        /// The resource, e.g. clusters/eu-1
        #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
        key: String,
        /// Also delete everything below it
        #[arg(long)]
        cascade: bool,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ResourceCreateArgs {
    /// The resource, e.g. clusters/eu-1
    #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub key: String,
    /// The resource it belongs under, e.g. environments/prod
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub parent: Option<String>,
    /// Only members of these groups may act on it and below it, comma-separated
    #[arg(long, value_name = "GROUPS", value_parser = parse_comma_list)]
    pub groups: Option<CommaList>,
    /// Actions that need an approved review request here and below,
    /// comma-separated, e.g. clusters:deploy,clusters:delete
    #[arg(long, value_name = "ACTIONS", value_parser = parse_comma_list)]
    pub review_actions: Option<CommaList>,
    /// How many approvals a review request needs [default: 1]
    #[arg(long, value_name = "N", requires = "review_actions", value_parser = clap::value_parser!(i64).range(1..=10))]
    pub approvals: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct ResourceListArgs {
    /// Only resources of this type
    #[arg(long = "type", value_name = "TYPE")]
    pub resource_type: Option<String>,
    /// Only the children of this resource
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub parent: Option<String>,
    /// With --action: only those this member (email or id) may do the action on
    #[arg(long, value_name = "EMAIL", requires = "action")]
    pub user: Option<String>,
    /// With --user: the action, e.g. clusters:deploy
    #[arg(long, value_name = "TYPE:ACTION", requires = "user")]
    pub action: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true)))]
pub struct ResourceUpdateArgs {
    /// The resource, e.g. clusters/eu-1
    #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub key: String,
    /// Move it under this resource
    #[arg(long, group = "changes", value_name = "TYPE/NAME", value_parser = parse_resource_key, conflicts_with = "no_parent")]
    pub parent: Option<String>,
    /// Make it a root, with no parent
    #[arg(long, group = "changes")]
    pub no_parent: bool,
    /// Groups, comma-separated; replaces the current set ("" clears)
    #[arg(long, group = "changes", value_name = "GROUPS", value_parser = parse_comma_list, conflicts_with = "no_groups")]
    pub groups: Option<CommaList>,
    /// Name no groups: every member with a grant may act on it
    #[arg(long, group = "changes")]
    pub no_groups: bool,
    /// Actions that need review, comma-separated; replaces the policy's
    /// actions [default: the current ones]
    #[arg(long, group = "changes", value_name = "ACTIONS", value_parser = parse_comma_list)]
    pub review_actions: Option<CommaList>,
    /// How many approvals a review request needs [default: the current number, else 1]
    #[arg(long, group = "changes", value_name = "N", value_parser = clap::value_parser!(i64).range(1..=10))]
    pub approvals: Option<i64>,
    /// Remove the review policy
    #[arg(long, group = "changes", conflicts_with_all = ["review_actions", "approvals"])]
    pub no_review: bool,
}

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

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The member, by email or user id
    #[arg(long, value_name = "EMAIL")]
    pub user: String,
    /// TYPE:ACTION, e.g. clusters:deploy, or a management permission such as users:invite
    #[arg(long, value_name = "TYPE:ACTION")]
    pub action: String,
    /// The resource [default: the organization as a whole]
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub resource: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Ask for review of an action on a resource whose policy needs it
    Create(RequestCreateArgs),
    /// Review requests, oldest first
    List(RequestListArgs),
    /// One request with its votes
    Show {
        /// The request's id
        id: i64,
    },
    /// Approve a pending request, as an eligible reviewer
    Approve {
        /// The request's id
        id: i64,
        /// A word for the requester
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject a pending request, as an eligible reviewer; one rejection ends it
    Reject {
        /// The request's id
        id: i64,
        /// A word for the requester
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct RequestCreateArgs {
    /// The resource, e.g. clusters/eu-1
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub resource: String,
    /// The action, e.g. clusters:deploy
    #[arg(long, value_name = "TYPE:ACTION")]
    pub action: String,
    /// Why you need it
    #[arg(long)]
    pub reason: String,
    /// How long the action stays allowed once approved: 30m, 2h, 1d, 1h30m
    /// or a number of seconds
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: i64,
}

#[derive(Debug, Clone, Args)]
pub struct RequestListArgs {
    /// Only this status
    #[arg(long, value_parser = ["pending", "approved", "rejected"])]
    pub status: Option<String>,
    /// Only your own requests
    #[arg(long)]
    pub mine: bool,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit events, newest first
    List(AuditListArgs),
    /// Every matching event as CSV or JSON Lines (to stdout, or --file)
    Export(AuditExportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AuditExportArgs {
    /// csv or jsonl
    #[arg(long, value_parser = ["csv", "jsonl"], default_value = "csv")]
    pub format: String,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    /// Only events by this actor (email)
    #[arg(long, value_name = "EMAIL")]
    pub actor: Option<String>,
    /// Only this action, or a prefix ending in `.`
    #[arg(long)]
    pub action: Option<String>,
    /// Only events about this target
    #[arg(long)]
    pub target: Option<String>,
    /// Only events at or after this time (RFC 3339)
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339)
    #[arg(long, value_name = "RFC3339")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AuditListArgs {
    /// Only events by this actor (email)
    #[arg(long, value_name = "EMAIL")]
    pub actor: Option<String>,
    /// Only this action, e.g. member.created
    #[arg(long)]
    pub action: Option<String>,
    /// Only events about this target
    #[arg(long)]
    pub target: Option<String>,
    /// Only events at or after this time (RFC 3339)
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339)
    #[arg(long, value_name = "RFC3339")]
    pub until: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

// --- invitations and outbox ------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum InvitationsCommand {
    /// Invite one or many addresses; prints each one's link or why it was refused
    Create(InvitationCreateArgs),
    /// The organization's invitations
    List(InvitationListArgs),
    /// Issue a new link for an invitation (the old one stops working)
    Resend {
        /// The invitation's id (N or inv:N)
        #[arg(value_parser = parse_invitation_id)]
        id: i64,
    },
    /// Delete (revoke) an invitation: its link stops working
    Delete {
        /// The invitation's id (N or inv:N)
        #[arg(value_parser = parse_invitation_id)]
        id: i64,
    },
    /// Accept an invitation, creating your account if you have none
    Accept(InvitationAcceptArgs),
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("addresses").required(true).multiple(true)))]
pub struct InvitationCreateArgs {
    /// Addresses sharing --role, --team and --groups, comma-separated
    #[arg(long, group = "addresses", value_name = "EMAILS")]
    pub emails: Option<String>,
    /// One address with its own role, e.g. pam@example.com:admin (repeatable;
    /// without a role: --role, else the org's default role)
    #[arg(long, group = "addresses", value_name = "EMAIL[:ROLE]", value_parser = parse_invite)]
    pub invite: Vec<InviteArg>,
    /// The role of addresses that name none [default: the org's default role]
    #[arg(long)]
    pub role: Option<String>,
    /// Team label for every address, e.g. engineering
    #[arg(long)]
    pub team: Option<String>,
    /// Groups for every address, comma-separated, e.g. dev,support
    #[arg(long, value_name = "GROUPS", value_parser = parse_comma_list)]
    pub groups: Option<CommaList>,
}

#[derive(Debug, Clone, Args)]
pub struct InvitationListArgs {
    /// Only this status
    #[arg(long, value_parser = ["pending", "accepted", "revoked", "expired"])]
    pub status: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InvitationAcceptArgs {
    /// The invitation link (e.g. https://roster.example.com/invite/rsi_...) or its token
    pub link: String,
    /// Your name, for a new account [default: asked on the terminal]
    #[arg(long)]
    pub name: Option<String>,
    /// Read the new account's password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Messages still being retried or given up, with the last error
    Undelivered,
}

// --- slack -------------------------------------------------------------------------

#[derive(Debug, Subcommand)]
pub enum SlackCommand {
    /// The organization's Slack connection (its secrets are never shown)
    Show,
    /// Connect the organization to a Slack workspace, or replace its connection
    /// (asks for the signing secret and the bot token)
    Connect(SlackConnectArgs),
    /// Disconnect the organization from Slack
    Disconnect {
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Link your Slack account with the code `/roster link` gave you in Slack
    Link {
        /// The code shown by `/roster link`
        code: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct SlackConnectArgs {
    /// The id of the channel for review cards, e.g. C0123456789
    #[arg(long, value_name = "CHANNEL")]
    pub channel: String,
    /// Slack's Web API base URL [default: https://slack.com/api]
    #[arg(long, value_name = "URL")]
    pub api_base_url: Option<String>,
    /// Read the signing secret (line 1) and the bot token (line 2) from standard input
    #[arg(long)]
    pub secrets_stdin: bool,
}

// --- shared flags ------------------------------------------------------------------

/// The paging flags of every list.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// At most N rows per page
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Continue from a previous page
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Fetch every page
    #[arg(long)]
    pub all: bool,
}

// --- parsers -----------------------------------------------------------------------

/// A comma-separated list as given on the command line: items trimmed,
/// empty items and repeats dropped. `""` is the empty list (to clear a set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommaList(pub Vec<String>);

impl CommaList {
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

/// Parses `dev, support,,dev` into `[dev, support]`.
pub fn parse_comma_list(raw: &str) -> Result<CommaList, String> {
    let mut items: Vec<String> = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !items.iter().any(|seen| seen == item) {
            items.push(item.to_string());
        }
    }
    Ok(CommaList(items))
}

/// One `--invite EMAIL[:ROLE]`: an address and, optionally, its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteArg {
    pub email: String,
    pub role: Option<String>,
}

/// Parses `pam@example.com:admin` (or `pam@example.com`, or
/// `pam@example.com:` for the default role). The role is what follows the
/// last colon: role names never contain one.
pub fn parse_invite(raw: &str) -> Result<InviteArg, String> {
    let (email, role) = match raw.rsplit_once(':') {
        Some((email, role)) => (email.trim(), Some(role.trim())),
        None => (raw.trim(), None),
    };
    if email.is_empty() {
        return Err("expected EMAIL or EMAIL:ROLE, e.g. pam@example.com:admin".to_string());
    }
    Ok(InviteArg {
        email: email.to_string(),
        role: role.filter(|r| !r.is_empty()).map(str::to_string),
    })
}

/// Parses a resource key `TYPE/NAME`, e.g. `clusters/eu-1` (trimmed; the
/// server checks the names themselves).
pub fn parse_resource_key(raw: &str) -> Result<String, String> {
    let key = raw.trim();
    match key.split_once('/') {
        Some((t, n)) if !t.trim().is_empty() && !n.trim().is_empty() && !n.contains('/') => {
            Ok(key.to_string())
        }
        _ => Err("expected TYPE/NAME, e.g. clusters/eu-1".to_string()),
    }
}

/// Parses the scope of an access rule filter: `org`, or a resource key.
pub fn parse_rule_scope(raw: &str) -> Result<String, String> {
    if raw.trim() == "org" {
        return Ok("org".to_string());
    }
    parse_resource_key(raw).map_err(|e| format!("{e}, or org"))
}

/// The classes of platform actions.
const ACTION_CLASSES: [&str; 4] = ["read", "write", "secret", "admin"];

/// Parses one `--action NAME:CLASS`, e.g. `drain:admin`.
pub fn parse_action(raw: &str) -> Result<NewActionRequest, String> {
    let bad = || {
        format!(
            "expected NAME:CLASS with CLASS one of {}, e.g. drain:admin",
            ACTION_CLASSES.join(", ")
        )
    };
    let (name, class) = raw.split_once(':').ok_or_else(bad)?;
    let (name, class) = (name.trim(), class.trim().to_ascii_lowercase());
    if name.is_empty() || !ACTION_CLASSES.contains(&class.as_str()) {
        return Err(bad());
    }
    Ok(NewActionRequest {
        name: name.to_string(),
        class,
    })
}

/// Parses a duration into seconds: `3600`, `90s`, `30m`, `2h`, `1d`, or a
/// sum such as `1h30m`.
pub fn parse_duration(raw: &str) -> Result<i64, String> {
    let bad =
        || format!("expected a duration such as 30m, 2h, 1d or a number of seconds, not {raw:?}");
    let text = raw.trim();
    if let Ok(n) = text.parse::<i64>() {
        return if n > 0 { Ok(n) } else { Err(bad()) };
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || total <= 0 {
        return Err(bad());
    }
    Ok(total)
}

/// Parses an invitation id: `7` or `inv:7`, as `roster users list` shows
/// pending invitations.
pub fn parse_invitation_id(raw: &str) -> Result<i64, String> {
    let raw = raw.trim();
    let digits = raw
        .strip_prefix("inv:")
        .or_else(|| raw.strip_prefix("INV:"))
        .unwrap_or(raw);
    match digits.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err("expected an invitation id such as 7 or inv:7".to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("roster").chain(args.iter().copied()))
    }

    fn list(items: &[&str]) -> CommaList {
        CommaList(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn comma_lists_are_trimmed_and_deduplicated() {
        assert_eq!(
            parse_comma_list("dev,support").unwrap(),
            list(&["dev", "support"])
        );
        assert_eq!(
            parse_comma_list(" dev , support,,dev ").unwrap(),
            list(&["dev", "support"])
        );
        assert_eq!(parse_comma_list("").unwrap(), list(&[]));
        assert_eq!(parse_comma_list("solo").unwrap(), list(&["solo"]));
    }

    #[test]
    fn users_create_works_as_the_spec_writes_it() {
        let cli = parse(&[
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
        ])
        .unwrap();
        let Command::Users(UsersCommand::Create(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.name.as_deref(), Some("Michael Scott"));
        assert_eq!(args.email, "michael@dundermifflin.com");
        assert_eq!(args.team.as_deref(), Some("engineering"));
        assert_eq!(args.groups, Some(list(&["dev", "support"])));
        assert!(!args.mfa_required);
    }

    #[test]
    fn users_update_takes_the_id_as_a_flag() {
        let cli = parse(&["users", "update", "--id", "2", "--status", "active"]).unwrap();
        let Command::Users(UsersCommand::Update(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.id, 2);
        assert_eq!(args.status.as_deref(), Some("active"));
        assert_eq!(args.mfa_required, None);
        assert_eq!(args.groups, None);

        let cli = parse(&[
            "users",
            "update",
            "--id",
            "2",
            "--mfa-required",
            "false",
            "--groups",
            "",
        ])
        .unwrap();
        let Command::Users(UsersCommand::Update(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.mfa_required, Some(false));
        assert_eq!(args.groups, Some(list(&[])));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert!(parse(&["users", "show", "seven"]).is_err());
        assert!(parse(&["users", "update", "--status", "active"]).is_err());
        assert!(
            parse(&["users", "update", "--id", "2"]).is_err(),
            "nothing to change"
        );
        assert!(parse(&["orgs", "update"]).is_err(), "nothing to change");
        assert!(parse(&["orgs", "update", "--mfa-policy", "sometimes"]).is_err());
        assert!(parse(&["orgs", "update", "--self-registration", "maybe"]).is_err());
        assert!(parse(&["users", "list", "--all", "--cursor", "x"]).is_err());
        assert!(parse(&["--output", "yaml", "orgs", "list"]).is_err());
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&["users", "list", "--org", "acme", "--output", "json"]).unwrap();
        assert_eq!(cli.global.org.as_deref(), Some("acme"));
        assert_eq!(cli.global.output, OutputFormat::Json);
        let cli = parse(&["--server", "http://h:1", "orgs", "list"]).unwrap();
        assert_eq!(cli.global.server.as_deref(), Some("http://h:1"));
    }

    #[test]
    fn org_settings_parse() {
        let cli = parse(&[
            "orgs",
            "update",
            "--allowed-domains",
            "a.com, b.com",
            "--self-registration",
            "true",
            "--invitation-ttl-seconds",
            "3600",
            "--mfa-policy",
            "required",
        ])
        .unwrap();
        let Command::Orgs(OrgsCommand::Update(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.allowed_domains, Some(list(&["a.com", "b.com"])));
        assert_eq!(args.self_registration, Some(true));
        assert_eq!(args.invitation_ttl_seconds, Some(3600));
        assert_eq!(args.mfa_policy.as_deref(), Some("required"));
    }

    fn invite(email: &str, role: Option<&str>) -> InviteArg {
        InviteArg {
            email: email.into(),
            role: role.map(str::to_string),
        }
    }

    #[test]
    fn invite_flags_take_an_optional_role_after_the_colon() {
        assert_eq!(
            parse_invite("pam@example.com:admin").unwrap(),
            invite("pam@example.com", Some("admin"))
        );
        assert_eq!(
            parse_invite(" pam@example.com : viewer ").unwrap(),
            invite("pam@example.com", Some("viewer"))
        );
        assert_eq!(
            parse_invite("pam@example.com").unwrap(),
            invite("pam@example.com", None)
        );
        assert_eq!(
            parse_invite("pam@example.com:").unwrap(),
            invite("pam@example.com", None),
            "an empty role is the default role"
        );
        assert!(parse_invite("").is_err());
        assert!(parse_invite(":admin").is_err());
        assert!(parse_invite("  ").is_err());
    }

    #[test]
    fn invitation_ids_may_carry_the_inv_prefix() {
        assert_eq!(parse_invitation_id("7").unwrap(), 7);
        assert_eq!(parse_invitation_id("inv:7").unwrap(), 7);
        assert_eq!(parse_invitation_id(" inv:12 ").unwrap(), 12);
        for bad in ["", "inv:", "inv:x", "seven", "-3", "0", "user:7"] {
            assert!(parse_invitation_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn invitations_create_needs_an_address() {
        assert!(parse(&["invitations", "create"]).is_err());
        assert!(parse(&["invitations", "create", "--role", "viewer"]).is_err());
        let cli = parse(&[
            "invitations",
            "create",
            "--emails",
            "a@x.com, b@x.com",
            "--role",
            "viewer",
            "--invite",
            "c@x.com:admin",
            "--invite",
            "d@x.com",
            "--groups",
            "dev,support",
        ])
        .unwrap();
        let Command::Invitations(InvitationsCommand::Create(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.emails.as_deref(), Some("a@x.com, b@x.com"));
        assert_eq!(
            args.invite,
            vec![invite("c@x.com", Some("admin")), invite("d@x.com", None)]
        );
        assert_eq!(args.role.as_deref(), Some("viewer"));
        assert_eq!(args.groups, Some(list(&["dev", "support"])));
        let cli = parse(&["invitations", "create", "--invite", "e@x.com"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Invitations(InvitationsCommand::Create(_))
        ));
    }

    #[test]
    fn signup_needs_its_own_org_email_and_name() {
        let cli = parse(&[
            "signup",
            "--org",
            "dunder-mifflin",
            "--email",
            "kevin@dm.test",
            "--name",
            "Kevin Malone",
            "--password-stdin",
        ])
        .unwrap();
        let Command::Signup(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.org, "dunder-mifflin");
        assert_eq!(args.email, "kevin@dm.test");
        assert_eq!(args.name, "Kevin Malone");
        assert!(args.password_stdin);
        let cli = parse(&[
            "--server",
            "http://h:1",
            "signup",
            "--email",
            "a@x.com",
            "--name",
            "A",
            "--org",
            "x",
        ])
        .unwrap();
        assert_eq!(cli.global.server.as_deref(), Some("http://h:1"));
        assert!(matches!(cli.command, Command::Signup(ref a) if !a.password_stdin && a.org == "x"));
        assert!(parse(&["signup", "--email", "a@x.com", "--name", "A"]).is_err());
        assert!(parse(&["signup", "--org", "x", "--name", "A"]).is_err());
        assert!(parse(&["signup", "--org", "x", "--email", "a@x.com"]).is_err());
    }

    #[test]
    fn users_approve_and_reject_take_the_id() {
        let cli = parse(&["users", "approve", "7", "--role", "viewer"]).unwrap();
        let Command::Users(UsersCommand::Approve { id, role }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!((id, role.as_deref()), (7, Some("viewer")));
        let cli = parse(&["users", "approve", "7"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Users(UsersCommand::Approve { id: 7, role: None })
        ));
        let cli = parse(&["users", "reject", "8", "--org", "acme"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Users(UsersCommand::Reject { id: 8 })
        ));
        assert_eq!(cli.global.org.as_deref(), Some("acme"));
        assert!(parse(&["users", "reject"]).is_err());
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

    #[test]
    fn slack_commands_parse() {
        let cli = parse(&["slack", "show", "--org", "acme", "--output", "json"]).unwrap();
        assert!(matches!(cli.command, Command::Slack(SlackCommand::Show)));
        assert_eq!(cli.global.org.as_deref(), Some("acme"));
        assert_eq!(cli.global.output, OutputFormat::Json);

        let cli = parse(&["slack", "connect", "--channel", "C0123"]).unwrap();
        let Command::Slack(SlackCommand::Connect(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.channel, "C0123");
        assert_eq!(args.api_base_url, None);
        assert!(!args.secrets_stdin);
        let cli = parse(&[
            "slack",
            "connect",
            "--channel",
            "C0123",
            "--api-base-url",
            "http://127.0.0.1:9/api",
            "--secrets-stdin",
        ])
        .unwrap();
        let Command::Slack(SlackCommand::Connect(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.api_base_url.as_deref(), Some("http://127.0.0.1:9/api"));
        assert!(args.secrets_stdin);

        let cli = parse(&["slack", "disconnect"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Slack(SlackCommand::Disconnect { yes: false })
        ));
        let cli = parse(&["slack", "disconnect", "-y"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Slack(SlackCommand::Disconnect { yes: true })
        ));
        let cli = parse(&["slack", "link", "ABC-123"]).unwrap();
        let Command::Slack(SlackCommand::Link { code }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(code, "ABC-123");
    }

    #[test]
    fn slack_secrets_are_never_flags() {
        assert!(
            parse(&["slack", "connect"]).is_err(),
            "--channel is required"
        );
        for flag in ["--signing-secret", "--bot-token", "--token", "--secret"] {
            assert!(
                parse(&["slack", "connect", "--channel", "C1", flag, "x"]).is_err(),
                "{flag}"
            );
        }
        assert!(parse(&["slack", "link"]).is_err(), "the code is required");
        assert!(parse(&["slack", "show", "extra"]).is_err());
    }

    #[test]
    fn durations_take_units_or_seconds() {
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration(" 2h ").unwrap(), 7200);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400);
        assert_eq!(parse_duration("2H").unwrap(), 7200);
        for bad in ["", "0", "-5", "h", "2x", "2h30", "1.5h", "two hours", "0m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("99999999999999999d").is_err(), "overflow");
    }

    #[test]
    fn resource_keys_are_type_slash_name() {
        assert_eq!(
            parse_resource_key(" clusters/eu-1 ").unwrap(),
            "clusters/eu-1"
        );
        for bad in ["", "clusters", "clusters/", "/eu-1", "a/b/c"] {
            assert!(parse_resource_key(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_rule_scope("org").unwrap(), "org");
        assert_eq!(parse_rule_scope("projects/p").unwrap(), "projects/p");
        assert!(parse_rule_scope("projects").is_err());
    }

    #[test]
    fn actions_have_a_class() {
        let a = parse_action(" drain : Admin ").unwrap();
        assert_eq!((a.name.as_str(), a.class.as_str()), ("drain", "admin"));
        for bad in ["drain", "drain:", ":admin", "drain:superuser"] {
            assert!(parse_action(bad).is_err(), "{bad:?}");
        }
        let cli = parse(&[
            "resource-types",
            "add",
            "queues",
            "--action",
            "drain:admin,peek:read",
            "--action",
            "purge:write",
        ])
        .unwrap();
        let Command::ResourceTypes(ResourceTypesCommand::Add(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        let names: Vec<&str> = args.actions.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["drain", "peek", "purge"]);
        assert!(
            parse(&["resource-types", "add", "queues"]).is_err(),
            "no action"
        );
    }

    #[test]
    fn roles_are_created_updated_and_deleted() {
        let cli = parse(&[
            "roles",
            "create",
            "devops",
            "--permissions",
            "users:read, clusters:*",
        ])
        .unwrap();
        let Command::Roles(RolesCommand::Create(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
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
            Command::Roles(RolesCommand::Delete { yes: false, replacement: Some(ref r), .. }) if r == "viewer"
        ));
    }

    #[test]
    fn resource_updates_take_one_side_of_each_flag_pair() {
        let cli = parse(&[
            "resources",
            "update",
            "clusters/eu-1",
            "--no-parent",
            "--groups",
            "dev",
        ])
        .unwrap();
        let Command::Resources(ResourcesCommand::Update(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert!(args.no_parent && !args.no_groups && !args.no_review);
        assert_eq!(args.groups, Some(list(&["dev"])));
        assert!(
            parse(&["resources", "update", "clusters/eu-1"]).is_err(),
            "nothing to change"
        );
        for pair in [
            ["--parent", "projects/p", "--no-parent"],
            ["--groups", "dev", "--no-groups"],
            ["--approvals", "2", "--no-review"],
        ] {
            let mut args = vec!["resources", "update", "clusters/eu-1"];
            args.extend(pair);
            assert!(parse(&args).is_err(), "{pair:?}");
        }
        assert!(parse(&["resources", "update", "clusters/eu-1", "--approvals", "11"]).is_err());
        assert!(parse(&["resources", "update", "clusters", "--no-review"]).is_err());
        assert!(
            parse(&["resources", "create", "clusters/eu-1", "--approvals", "2"]).is_err(),
            "approvals need review actions"
        );
        assert!(
            parse(&["resources", "list", "--user", "a@x.com"]).is_err(),
            "needs --action"
        );
        assert!(parse(&["resources", "list", "--type", "clusters", "--all"]).is_ok());
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

    #[test]
    fn checks_and_requests_parse() {
        let cli = parse(&["check", "--user", "a@x.com", "--action", "clusters:deploy"]).unwrap();
        let Command::Check(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.resource, None);
        assert!(parse(&["check", "--action", "clusters:deploy"]).is_err());
        let cli = parse(&[
            "requests",
            "create",
            "--resource",
            "clusters/eu-1",
            "--action",
            "clusters:deploy",
            "--reason",
            "hotfix",
            "--duration",
            "2h",
        ])
        .unwrap();
        let Command::Requests(RequestsCommand::Create(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.duration, 7200);
        assert!(parse(&["requests", "list", "--status", "lost"]).is_err());
        assert!(parse(&["requests", "list", "--mine", "--all"]).is_ok());
        let cli = parse(&["requests", "reject", "4", "--comment", "not now"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Requests(RequestsCommand::Reject {
                id: 4,
                comment: Some(_)
            })
        ));
        let cli = parse(&["users", "permissions", "7", "--resource", "clusters/eu-1"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Users(UsersCommand::Permissions {
                id: 7,
                resource: Some(_)
            })
        ));
    }

    #[test]
    fn invitation_commands_parse() {
        let cli = parse(&["invitations", "delete", "inv:4"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Invitations(InvitationsCommand::Delete { id: 4 })
        ));
        let cli = parse(&["invitations", "resend", "5"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Invitations(InvitationsCommand::Resend { id: 5 })
        ));
        assert!(parse(&["invitations", "resend", "user:5"]).is_err());
        assert!(parse(&["invitations", "list", "--status", "lost"]).is_err());
        assert!(parse(&["invitations", "list", "--status", "expired", "--all"]).is_ok());
        let cli = parse(&[
            "invitations",
            "accept",
            "http://h:1/invite/rsi_abc",
            "--name",
            "Pam",
            "--password-stdin",
        ])
        .unwrap();
        let Command::Invitations(InvitationsCommand::Accept(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.link, "http://h:1/invite/rsi_abc");
        assert_eq!(args.name.as_deref(), Some("Pam"));
        assert!(args.password_stdin);
        assert!(parse(&["outbox", "undelivered"]).is_ok());
    }
}
