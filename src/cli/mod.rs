//! The command line of `roster`: `roster <noun> <verb> [flags]`.
//!
//! This module holds the top of the command line (the global flags and the
//! nouns) and the argument pieces several commands share; each noun's
//! verbs, flags and small parsers live beside the code that runs them in
//! [`commands`]. Usage errors are clap's and exit with status 2; every other
//! failure is one `error: ...` line on stderr and status 1.

pub mod commands;
pub mod credentials;
pub mod input;
pub mod output;

use clap::{Args, Parser, Subcommand, ValueEnum};
use commands::access::AccessCommand;
use commands::audit::AuditCommand;
use commands::auth::{LoginArgs, PasswordCommand, ProfileCommand, SignupArgs};
use commands::check::CheckArgs;
use commands::groups::GroupsCommand;
use commands::invitations::InvitationsCommand;
use commands::mfa::{MfaCommand, PasskeysCommand, SessionsCommand};
use commands::orgs::OrgsCommand;
use commands::outbox::OutboxCommand;
use commands::requests::RequestsCommand;
use commands::resource_types::ResourceTypesCommand;
use commands::resources::ResourcesCommand;
use commands::roles::RolesCommand;
use commands::serve::ServeArgs;
use commands::slack::SlackCommand;
use commands::tokens::{ScimTokensCommand, ServiceAccountsCommand, TokensCommand};
use commands::users::UsersCommand;
use commands::webhooks::WebhooksCommand;

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
    #[command(after_help = "Examples:
  roster login --email you@example.com                  # asks for the password (and a code)
  printf '%s\\n' \"$PASSWORD\" | roster login --email ci@example.com --password-stdin")]
    Login(LoginArgs),
    /// Ask to join an organization that allows self-registration
    Signup(SignupArgs),
    /// End the session and forget its token
    Logout,
    /// Your password
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Your own account: only you change your name (orgs change memberships)
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Organizations you belong to
    #[command(
        subcommand,
        after_help = "Examples:
  roster orgs list
  roster orgs switch default
  roster orgs update --self-registration true --allowed-domains example.com"
    )]
    Orgs(OrgsCommand),
    /// Members of the current organization
    #[command(
        subcommand,
        after_help = "Members are named by user id or email address.

Examples:
  roster users create --email pam@example.com --role viewer --team sales
  roster users list --role admin --team sales
  roster users update --id pam@example.com --role contributor
  roster users approve kevin@example.com --role viewer
  roster users delete 4 --yes
  roster users list --output json | jq -r '.items[].email'"
    )]
    Users(UsersCommand),
    /// Groups of members in the current organization
    #[command(
        subcommand,
        after_help = "Examples:
  roster groups create sre
  roster groups add sre --user pam@example.com
  roster groups show sre"
    )]
    Groups(GroupsCommand),
    /// Roles and their permissions
    #[command(
        subcommand,
        after_help = "Examples:
  roster roles list
  roster roles create devops --permissions \"clusters:*,environments:*\""
    )]
    Roles(RolesCommand),
    /// Resource types and their actions: what platform permissions name
    #[command(subcommand)]
    ResourceTypes(ResourceTypesCommand),
    /// Registered resources (projects, environments, clusters...) and their tree
    #[command(
        subcommand,
        after_help = "Examples:
  roster resources create projects/payments
  roster resources create clusters/eu-1 --parent projects/payments
  roster resources list"
    )]
    Resources(ResourcesCommand),
    /// Access rules: roles granted to members and groups, org-wide or on a resource
    #[command(
        subcommand,
        after_help = "Examples:
  roster access grant --group dev --role devops --resource clusters/eu-1
  roster access grant --user pam@example.com --role viewer
  roster access list --resource clusters/eu-1"
    )]
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
    #[command(after_help = "Examples:
  roster check --user pam@example.com --action clusters:deploy --resource clusters/eu-1
  roster check --user pam@example.com --action users:read --output json")]
    Check(CheckArgs),
    /// Review requests: ask for an action that needs approval, approve or reject
    #[command(
        subcommand,
        after_help = "Examples:
  roster requests create --resource clusters/eu-1 --action clusters:deploy --reason \"hotfix\" --duration 2h
  roster requests list --status pending
  roster requests approve 1"
    )]
    Requests(RequestsCommand),
    /// The audit log
    #[command(
        subcommand,
        after_help = "Examples:
  roster audit list --action member. --since 2026-01-01T00:00:00Z
  roster audit export --format jsonl --file audit.jsonl
  roster audit verify"
    )]
    Audit(AuditCommand),
    /// Invite people to the current organization, and accept invitations
    #[command(
        subcommand,
        after_help = "Examples:
  roster invitations create --emails \"pam@example.com, jim@example.com\" --role viewer
  roster invitations list --status pending
  roster invitations accept https://roster.example.com/invite/rsi_..."
    )]
    Invitations(InvitationsCommand),
    /// Messages the server has not delivered
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The current organization's Slack connection, and linking your Slack account
    #[command(subcommand)]
    Slack(SlackCommand),
    /// API tokens: how scripts and platforms call Roster (ROSTER_TOKEN runs the CLI with one)
    #[command(
        subcommand,
        after_help = "Examples:
  roster tokens create --name ci --permissions clusters:read
  roster tokens list --all
  ROSTER_TOKEN=rst_... roster check --user pam@example.com --action clusters:read --resource clusters/eu-1"
    )]
    Tokens(TokensCommand),
    /// Service accounts: members that act only through API tokens
    #[command(subcommand)]
    ServiceAccounts(ServiceAccountsCommand),
    /// SCIM tokens: how a directory (Okta, Entra ID) provisions the current organization
    #[command(subcommand)]
    ScimTokens(ScimTokensCommand),
    /// Copy the embedded database (and the server key) while the server runs
    ///
    /// Runs on the server's machine against its data directory. PostgreSQL
    /// is backed up with pg_dump instead (docs/operations.md).
    Backup(commands::backup::BackupArgs),
    /// Check a backup and restore it into a data directory
    ///
    /// Refuses a file that fails SQLite's integrity check or whose server key
    /// does not match, a data directory a server is running on, and an
    /// existing database unless --force.
    Restore(commands::backup::RestoreArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    #[command(after_help = "Examples:
  roster completions bash > /etc/bash_completion.d/roster
  roster completions zsh > \"${fpath[1]}/_roster\"
  roster completions fish > ~/.config/fish/completions/roster.fish")]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Who you are signed in as, on which server, in which organization
    Whoami,
    /// Your second factor: an authenticator app and recovery codes
    #[command(subcommand)]
    Mfa(MfaCommand),
    /// Your passkeys (add one from the console's profile page)
    #[command(subcommand)]
    Passkeys(PasskeysCommand),
    /// Your sign-in sessions
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Webhooks: endpoints that receive the org's audit events, signed
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

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

/// The `--yes` of commands that ask before they delete.
#[derive(Debug, Clone, Copy, Args)]
pub struct ConfirmArgs {
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Parses `roster ARGS` as the binary would.
    pub(crate) fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("roster").chain(args.iter().copied()))
    }

    /// The words of a command line as typed, for lines without quotes.
    pub(crate) fn words(line: &str) -> Vec<&str> {
        line.split_whitespace().collect()
    }

    /// The comma list of `items`.
    pub(crate) fn list(items: &[&str]) -> CommaList {
        CommaList(items.iter().map(|s| s.to_string()).collect())
    }

    /// Parses `roster ARGS` into a command that matches `pattern` and
    /// returns `bound` (what the pattern binds); any other command fails the
    /// test.
    macro_rules! parse_as {
        ($args:expr, $pattern:pat => $bound:expr) => {
            match $crate::cli::tests::parse($args).unwrap().command {
                $pattern => $bound,
                other => panic!("parsed as {other:?}"),
            }
        };
    }
    pub(crate) use parse_as;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_main_commands_show_examples_in_their_help() {
        let mut cli = Cli::command();
        for name in [
            "login",
            "orgs",
            "users",
            "groups",
            "roles",
            "resources",
            "access",
            "check",
            "requests",
            "audit",
            "invitations",
            "tokens",
            "completions",
        ] {
            let help = cli
                .find_subcommand_mut(name)
                .unwrap_or_else(|| panic!("no command {name}"))
                .render_long_help()
                .to_string();
            assert!(
                help.contains("Examples:\n  roster "),
                "`roster {name} --help` shows examples:\n{help}"
            );
        }
    }

    #[test]
    fn members_are_named_by_id_or_email() {
        use commands::{parse_member_ref, MemberRef};
        assert_eq!(parse_member_ref(" 42 "), Ok(MemberRef::Id(42)));
        assert_eq!(
            parse_member_ref("Pam@Example.com"),
            Ok(MemberRef::Email("Pam@Example.com".into()))
        );
        for bad in ["", "pam", "@example.com", "pam@"] {
            assert!(parse_member_ref(bad).is_err(), "{bad:?}");
        }
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
    fn bad_arguments_are_usage_errors() {
        assert!(parse(&["users", "list", "--all", "--cursor", "x"]).is_err());
        assert!(parse(&["--output", "yaml", "orgs", "list"]).is_err());
    }

    #[test]
    fn global_flags_go_anywhere() {
        for noun_verb in [["users", "list"], ["groups", "list"], ["slack", "show"]] {
            let args = [&noun_verb[..], &["--org", "acme", "--output", "json"]].concat();
            let cli = parse(&args).unwrap();
            assert_eq!(cli.global.org.as_deref(), Some("acme"));
            assert_eq!(cli.global.output, OutputFormat::Json);
        }
        let cli = parse(&["--server", "http://h:1", "orgs", "list"]).unwrap();
        assert_eq!(cli.global.server.as_deref(), Some("http://h:1"));
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
    }
}
