//! Running a parsed command line: resolve the server, the credentials and
//! the org once into a [`Context`], then hand over to one module per noun.
//! Each noun's module holds its clap types (its `XxxCommand` and their
//! flags) beside the code that runs them.
//!
//! Resolution rules:
//! - server: `--server` / `ROSTER_SERVER`, else the saved server, else
//!   [`DEFAULT_SERVER`];
//! - token: `ROSTER_TOKEN` (an API token, like `GH_TOKEN` or `VAULT_TOKEN`),
//!   else the saved one, and only when it belongs to that server (a token
//!   is never sent to a server it was not issued by);
//! - org: `--org` / `ROSTER_ORG`, else the current org saved by
//!   `roster orgs switch` (or chosen at login).

pub mod access;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod check;
pub mod groups;
pub mod invitations;
pub mod mfa;
pub mod orgs;
pub mod outbox;
mod pages;
pub mod requests;
pub mod resource_types;
pub mod resources;
pub mod roles;
pub mod serve;
pub mod slack;
pub mod sso;
pub mod tokens;
pub mod users;
pub mod webhooks;

use super::credentials::{CredentialStore, Credentials};
use super::{input, output};
use super::{Cli, Command, ConfirmArgs, GlobalArgs, OutputFormat, DEFAULT_SERVER};
use anyhow::{anyhow, bail};
use roster_client::{Client, ClientError};
use roster_proto::MembershipSummary;
use serde::Serialize;
use std::fmt::Display;

/// Runs one command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Backup(args) => backup::backup(args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "roster", &mut std::io::stdout());
            Ok(())
        }
        command => run_client(cli.global, command).await,
    }
}

/// Runs a client command: everything but `serve`.
async fn run_client(global: GlobalArgs, command: Command) -> anyhow::Result<()> {
    let store = CredentialStore::locate(std::env::var_os("ROSTER_CONFIG_DIR"))?;
    let credentials = match &command {
        // A broken file must not lock anyone out: logging in replaces it,
        // and signing up needs no credentials.
        Command::Login(_) | Command::Signup(_) => store.load().unwrap_or_else(|e| {
            output::warn(format!("{e:#}"));
            Credentials::default()
        }),
        _ => store.load()?,
    };
    let mut ctx = Context::new(global, store, credentials);
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Login(args) => auth::login(&mut ctx, args).await,
        Command::Signup(args) => auth::signup(&ctx, args).await,
        Command::Logout => auth::logout(&mut ctx).await,
        Command::Password(cmd) => auth::password(&mut ctx, cmd).await,
        Command::Profile(cmd) => auth::profile(&ctx, cmd).await,
        Command::Orgs(cmd) => orgs::run(&mut ctx, cmd).await,
        Command::Users(cmd) => users::run(&ctx, cmd).await,
        Command::Groups(cmd) => groups::run(&ctx, cmd).await,
        Command::Roles(cmd) => roles::run(&ctx, cmd).await,
        Command::ResourceTypes(cmd) => resource_types::run(&ctx, cmd).await,
        Command::Resources(cmd) => resources::run(&ctx, cmd).await,
        Command::Access(cmd) => access::run(&ctx, cmd).await,
        Command::Check(args) => check::run(&ctx, args).await,
        Command::Requests(cmd) => requests::run(&ctx, cmd).await,
        Command::Audit(cmd) => audit::run(&ctx, cmd).await,
        Command::Invitations(cmd) => invitations::run(&mut ctx, cmd).await,
        Command::Outbox(cmd) => outbox::run(&ctx, cmd).await,
        Command::Slack(cmd) => slack::run(&ctx, cmd).await,
        Command::Tokens(cmd) => tokens::run(&ctx, cmd).await,
        Command::ScimTokens(cmd) => tokens::run_scim(&ctx, cmd).await,
        Command::Webhooks(cmd) => webhooks::run(&ctx, cmd).await,
        Command::ServiceAccounts(cmd) => tokens::run_service_accounts(&ctx, cmd).await,
        Command::Backup(args) => backup::backup(args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::Completions { .. } => Ok(()),
        Command::Whoami => whoami(&ctx).await,
        Command::Mfa(cmd) => mfa::run(&ctx, cmd).await,
        Command::Passkeys(cmd) => mfa::run_passkeys(&ctx, cmd).await,
        Command::Sessions(cmd) => mfa::run_sessions(&ctx, cmd).await,
    }
}

/// `roster whoami`: the account the saved session (or ROSTER_TOKEN) acts
/// as, on which server, and the current org.
async fn whoami(ctx: &Context) -> anyhow::Result<()> {
    let me = ctx.client()?.me().await?;
    ctx.show(&me, |me| {
        output::line(format!(
            "{} <{}> (user {}) on {}",
            me.user.name, me.user.email, me.user.id, ctx.server
        ))?;
        let current = ctx
            .org_flag
            .clone()
            .or_else(|| ctx.credentials.current_org.clone());
        if let Some(org) = current {
            output::line(format!("Current organization: {org}"))?;
        }
        Ok(())
    })
}

/// Everything a client command needs, resolved once.
pub struct Context {
    output: OutputFormat,
    store: CredentialStore,
    credentials: Credentials,
    /// The server to talk to, without a trailing slash.
    server: String,
    /// True when `--server` / `ROSTER_SERVER` named the server (rather than
    /// the saved credentials or the default).
    server_given: bool,
    org_flag: Option<String>,
    /// An API token from `ROSTER_TOKEN`, used instead of the saved session.
    env_token: Option<String>,
}

impl Context {
    fn new(global: GlobalArgs, store: CredentialStore, credentials: Credentials) -> Context {
        let server = global
            .server
            .as_deref()
            .or(credentials.server.as_deref())
            .map(normalize_server)
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        Context {
            output: global.output,
            store,
            credentials,
            server,
            server_given: global.server.is_some(),
            org_flag: global.org.filter(|o| !o.trim().is_empty()),
            env_token: std::env::var("ROSTER_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty()),
        }
    }

    /// True when the output is JSON for scripts.
    fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// Prints `value`: the API's JSON, or what `human` makes of it.
    fn show<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce(&T) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if self.json() {
            output::json(value)
        } else {
            human(value)
        }
    }

    /// Prints a whole list: for scripts in the shape of every list,
    /// `{"items": [...], "next_cursor": null}` (one page, nothing after it),
    /// or what `human` makes of the items.
    fn show_list<T: Serialize>(
        &self,
        items: &[T],
        human: impl FnOnce(&[T]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if self.json() {
            output::json(&list_json(items))
        } else {
            human(items)
        }
    }

    /// Prints `value`: the API's JSON, or the one line `line` makes of it.
    fn show_line<T: Serialize + ?Sized>(
        &self,
        value: &T,
        line: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        self.show(value, |value| Ok(output::line(line(value))?))
    }

    /// Says what a command did, in one line for people; JSON output stays
    /// empty for a command whose answer has no body.
    fn done(&self, text: impl Display) -> anyhow::Result<()> {
        if !self.json() {
            output::line(text)?;
        }
        Ok(())
    }

    /// A client without credentials (for logging in).
    fn anonymous(&self) -> anyhow::Result<Client> {
        Ok(Client::new(&self.server)?)
    }

    /// A client with the saved token for this server.
    fn client(&self) -> anyhow::Result<Client> {
        let token = self.token()?;
        Ok(self.anonymous()?.with_token(token))
    }

    fn token(&self) -> anyhow::Result<&str> {
        if let Some(token) = &self.env_token {
            return Ok(token.trim());
        }
        let saved_server = self.credentials.server.as_deref().map(normalize_server);
        match (&self.credentials.token, saved_server) {
            (Some(token), Some(saved)) if saved == self.server => Ok(token),
            (Some(_), Some(saved)) => bail!(
                "not logged in to {} (your session is for {saved}); run `roster login --server {} --email EMAIL`",
                self.server,
                self.server
            ),
            _ => bail!("not logged in; run `roster login --email EMAIL`"),
        }
    }

    /// The org to act in and a client with the saved token, in that order
    /// (a missing org is reported before a missing login).
    async fn org_client(&self) -> anyhow::Result<(String, Client)> {
        Ok((self.org().await?, self.client()?))
    }

    /// The org to act in: `--org`; else, with `ROSTER_TOKEN`, the token's
    /// org (a token works in one org, and `/me` names only that one); else
    /// the current org.
    async fn org(&self) -> anyhow::Result<String> {
        if let Some(org) = &self.org_flag {
            return Ok(org.clone());
        }
        if self.env_token.is_some() {
            let me = self.client()?.me().await?;
            return match me.memberships.as_slice() {
                [only] => Ok(only.org.clone()),
                _ => bail!("ROSTER_TOKEN names no single organization; pass --org SLUG"),
            };
        }
        self.credentials.current_org.clone().ok_or_else(|| {
            anyhow!("no organization selected; pass --org SLUG or run `roster orgs switch SLUG`")
        })
    }

    /// Saves the credentials.
    fn save(&self) -> anyhow::Result<()> {
        self.store.save(&self.credentials)
    }
}

/// Goes ahead with `--yes`; otherwise asks on the terminal the question
/// that `question` builds (it may fetch what it names). Without a terminal
/// it refuses to `what` (e.g. "delete role x of acme"); a "no" stops with
/// `declined` (e.g. "not deleted").
async fn confirm(
    flag: ConfirmArgs,
    what: &str,
    declined: &str,
    question: impl AsyncFnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    if flag.yes {
        return Ok(());
    }
    if !input::interactive() {
        bail!("refusing to {what} without confirmation; pass --yes");
    }
    if !input::confirm(&question().await?)? {
        bail!("{declined}");
    }
    Ok(())
}

/// `http://host:8080/` and `http://host:8080` are the same server.
/// A member as the command line names them: a user id, or an email
/// address (found with the team list's email filter, matched exactly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Id(i64),
    Email(String),
}

/// Parses `42` as an id and `pam@example.com` as an email.
pub fn parse_member_ref(raw: &str) -> Result<MemberRef, String> {
    let raw = raw.trim();
    if let Ok(id) = raw.parse::<i64>() {
        return Ok(MemberRef::Id(id));
    }
    if raw.contains('@') && !raw.starts_with('@') && !raw.ends_with('@') {
        return Ok(MemberRef::Email(raw.to_owned()));
    }
    Err("expected a user id (e.g. 42) or an email address".to_owned())
}

impl MemberRef {
    /// The user id, looking the email up in the current org's team list.
    async fn resolve(&self, ctx: &Context) -> anyhow::Result<i64> {
        let email = match self {
            MemberRef::Id(id) => return Ok(*id),
            MemberRef::Email(email) => email,
        };
        let (org, client) = ctx.org_client().await?;
        let mut query = roster_client::MemberQuery {
            email: Some(email.clone()),
            ..Default::default()
        };
        loop {
            let page = client.list_members(&org, &query).await?;
            if let Some(id) = page
                .items
                .iter()
                .find(|m| m.email.eq_ignore_ascii_case(email))
                .and_then(|m| m.id)
            {
                return Ok(id);
            }
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => anyhow::bail!("no member of {org} has the email {email}"),
            }
        }
    }
}

/// The JSON of a list that fits in one page: the `{items, next_cursor}`
/// of every list of the API, with `next_cursor` null.
fn list_json<T: Serialize>(items: &[T]) -> roster_proto::Page<&T> {
    roster_proto::Page {
        items: items.iter().collect(),
        next_cursor: None,
    }
}

fn normalize_server(raw: &str) -> String {
    raw.trim().trim_end_matches('/').to_string()
}

/// The org a session starts in: the first active shared org, else the first
/// shared one, else the personal org.
fn default_org(memberships: &[MembershipSummary]) -> Option<String> {
    let shared = || memberships.iter().filter(|m| !m.personal);
    shared()
        .find(|m| m.status == "active")
        .or_else(|| shared().next())
        .or_else(|| memberships.iter().find(|m| m.personal))
        .map(|m| m.org.clone())
}

/// The one line printed after `error: `. Adds the field errors of a
/// validation problem and a hint for the usual fixes, and never spans
/// several lines.
pub fn error_line(err: &anyhow::Error) -> String {
    // The causes, outermost first, down to a client error: its message
    // already says what its own sources would (reqwest's are verbose).
    let mut parts = Vec::new();
    for cause in err.chain() {
        parts.push(cause.to_string());
        if cause.downcast_ref::<ClientError>().is_some() {
            break;
        }
    }
    let mut message = parts.join(": ");
    if let Some(ClientError::Api { status, problem }) = err.downcast_ref::<ClientError>() {
        // Name the fields, without repeating a reason the detail already gave.
        let fields: Vec<String> = problem
            .errors
            .iter()
            .map(|e| {
                if problem.detail.as_deref() == Some(e.message.as_str()) {
                    format!("field: {}", e.field)
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect();
        if !fields.is_empty() {
            message = format!("{message} ({})", fields.join("; "));
        }
        if problem.code == "password_change_required" {
            message.push_str(" (run `roster password change`)");
        } else if *status == 401 {
            message.push_str(" (run `roster login`)");
        }
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use roster_proto::{FieldError, Problem};

    fn membership(org: &str, personal: bool, status: &str) -> MembershipSummary {
        MembershipSummary {
            org: org.into(),
            org_name: org.into(),
            personal,
            role: "owner".into(),
            status: status.into(),
            team: String::new(),
            joined_at: "2025-01-01T00:00:00Z".into(),
        }
    }

    /// A session token `t` saved for `server`.
    fn saved(server: &str) -> Credentials {
        Credentials {
            server: Some(server.into()),
            token: Some("t".into()),
            ..Default::default()
        }
    }

    /// A problem with no field errors.
    pub(super) fn problem(title: &str, status: u16, code: &str, detail: Option<&str>) -> Problem {
        Problem {
            type_: "about:blank".into(),
            title: title.into(),
            status,
            code: code.into(),
            detail: detail.map(str::to_string),
            errors: Vec::new(),
            methods: Vec::new(),
        }
    }

    fn context(server: Option<&str>, credentials: Credentials) -> Context {
        let global = GlobalArgs {
            server: server.map(str::to_string),
            org: None,
            output: OutputFormat::Table,
        };
        Context::new(global, CredentialStore::at("/nonexistent"), credentials)
    }

    #[test]
    fn login_prefers_an_active_shared_org() {
        let ms = [
            membership("pam", true, "active"),
            membership("waiting", false, "reviewing"),
            membership("dunder", false, "active"),
        ];
        assert_eq!(default_org(&ms).as_deref(), Some("dunder"));
        assert_eq!(default_org(&ms[..2]).as_deref(), Some("waiting"));
        assert_eq!(default_org(&ms[..1]).as_deref(), Some("pam"));
        assert_eq!(default_org(&[]), None);
    }

    #[test]
    fn the_saved_server_is_used_unless_one_is_given() {
        let saved = saved("http://saved:1/");
        assert_eq!(context(None, saved.clone()).server, "http://saved:1");
        assert_eq!(context(None, Credentials::default()).server, DEFAULT_SERVER);
        assert_eq!(
            context(Some("http://other:2"), saved.clone()).server,
            "http://other:2"
        );
        assert_eq!(context(Some("http://saved:1"), saved).token().unwrap(), "t");
    }

    #[test]
    fn a_token_is_not_sent_to_another_server() {
        let err = context(Some("http://other:2"), saved("http://saved:1"))
            .token()
            .unwrap_err();
        assert!(
            err.to_string().contains("not logged in to http://other:2"),
            "{err}"
        );
        let err = context(None, Credentials::default()).token().unwrap_err();
        assert!(err.to_string().contains("roster login"), "{err}");
    }

    #[test]
    fn context_is_kept_in_error_lines() {
        let err = anyhow::Error::new(std::io::Error::other("disk full")).context("cannot write x");
        assert_eq!(error_line(&err), "cannot write x: disk full");
    }

    #[test]
    fn errors_are_one_line_with_field_reasons() {
        let problem = Problem {
            errors: vec![FieldError {
                field: "email".into(),
                message: "is not an email address".into(),
            }],
            ..problem(
                "Invalid request",
                422,
                "validation",
                Some("check the fields\nbelow"),
            )
        };
        let err = anyhow::Error::new(ClientError::Api {
            status: 422,
            problem,
        });
        assert_eq!(
            error_line(&err),
            "Invalid request: check the fields below (email: is not an email address)"
        );
    }
}
