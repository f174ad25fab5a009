//! `roster invitations create|list|resend|delete|accept`.
//!
//! Creating invites many addresses in one request; every address gets its
//! own row (its link, or why it was refused), and the command fails when
//! any address was refused. Accepting takes the link as it was shared: it
//! names the server, and the token is its last path segment.

use super::pages;
use super::{normalize_server, Context};
use crate::cli::credentials::Credentials;
use crate::cli::input;
use crate::cli::output::{self, Row};
use crate::cli::{parse_comma_list, CommaList, PageArgs};
use anyhow::{anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use roster_client::{Client, ClientError, InvitationQuery};
use roster_proto::{
    AcceptInvitationRequest, AcceptInvitationResponse, ActorView, CreateInvitationsRequest,
    InvitationResult, InvitationView, InviteItem, LoginRequest, Problem, PublicInvitationView,
};

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

pages::list_args!(InvitationListArgs => InvitationQuery { status });

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

pub async fn run(ctx: &mut Context, cmd: InvitationsCommand) -> anyhow::Result<()> {
    match cmd {
        InvitationsCommand::Create(args) => create(ctx, args).await,
        InvitationsCommand::List(args) => {
            pages::list(ctx, args, "invitations", Client::list_invitations).await
        }
        InvitationsCommand::Resend { id } => resend(ctx, id).await,
        InvitationsCommand::Delete { id } => delete(ctx, id).await,
        InvitationsCommand::Accept(args) => accept(ctx, args).await,
    }
}

// --- create ------------------------------------------------------------------------

async fn create(ctx: &Context, args: InvitationCreateArgs) -> anyhow::Result<()> {
    let org = ctx.org().await?;
    let body = create_request(args)?;
    let resp = ctx.client()?.create_invitations(&org, &body).await?;
    ctx.show(&resp, |resp| print_results(&resp.results, &body))?;
    let refused = resp
        .results
        .iter()
        .filter(|r| r.outcome != "created")
        .count();
    if refused > 0 {
        bail!("{refused} of {} addresses were refused", resp.results.len());
    }
    Ok(())
}

/// The request for `--emails` (sharing `--role`, `--team`, `--groups`) and
/// the `--invite EMAIL[:ROLE]` flags (a role each, else `--role`; the same
/// team and groups).
fn create_request(args: InvitationCreateArgs) -> anyhow::Result<CreateInvitationsRequest> {
    let groups = args.groups.map(CommaList::into_vec).unwrap_or_default();
    let emails = args
        .emails
        .map(|e| e.trim().to_string())
        .filter(|e| split_emails(e).next().is_some());
    if emails.is_none() && args.invite.is_empty() {
        bail!("no addresses to invite; pass --emails A,B or --invite EMAIL[:ROLE]");
    }
    let invitations = args
        .invite
        .into_iter()
        .map(|i| InviteItem {
            email: i.email,
            role: i.role.or_else(|| args.role.clone()),
            team: args.team.clone(),
            groups: groups.clone(),
        })
        .collect();
    let shared = emails.is_some();
    Ok(CreateInvitationsRequest {
        invitations,
        emails,
        role: args.role.filter(|_| shared),
        team: args.team.filter(|_| shared),
        groups: if shared { groups } else { Vec::new() },
    })
}

/// The addresses of an `emails` list, split as the server splits them.
fn split_emails(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
}

/// The role asked for `email`, for the rows of refused addresses (which
/// carry no invitation); `None` for the org's default role.
fn requested_role<'a>(body: &'a CreateInvitationsRequest, email: &str) -> Option<&'a str> {
    let email = email.trim();
    let item = body
        .invitations
        .iter()
        .find(|i| i.email.trim().eq_ignore_ascii_case(email));
    match item {
        Some(item) => item.role.as_deref(),
        None => body.role.as_deref(),
    }
}

fn print_results(
    results: &[InvitationResult],
    body: &CreateInvitationsRequest,
) -> anyhow::Result<()> {
    let mut t = output::table(&["EMAIL", "RESULT", "ROLE", "LINK OR REASON"]);
    for r in results {
        let (role, link_or_reason) = match &r.invitation {
            Some(inv) if r.outcome == "created" => (
                inv.role.clone(),
                r.link.clone().unwrap_or_else(|| "-".to_string()),
            ),
            _ => (
                requested_role(body, &r.email).unwrap_or("-").to_string(),
                r.error
                    .as_ref()
                    .map(reason)
                    .unwrap_or_else(|| "-".to_string()),
            ),
        };
        t.add_row(vec![
            r.email.clone(),
            r.outcome.clone(),
            role,
            link_or_reason,
        ]);
    }
    output::print_table(&t)?;
    if results.iter().any(|r| r.link.is_some()) {
        output::note("Links are shown only once: share each with its person.");
    }
    Ok(())
}

/// Why an address was refused, on one line: the problem's detail, else its
/// field reasons, else its title.
fn reason(problem: &Problem) -> String {
    let text = match &problem.detail {
        Some(detail) if !detail.trim().is_empty() => detail.clone(),
        _ if !problem.errors.is_empty() => problem
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => problem.title.clone(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// --- resend, delete ----------------------------------------------------------

impl Row for InvitationView {
    const HEADER: &'static [&'static str] = &[
        "ID",
        "EMAIL",
        "ROLE",
        "TEAM",
        "GROUPS",
        "STATUS",
        "INVITED BY",
        "EXPIRES",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.email.clone(),
            self.role.clone(),
            output::or_dash(&self.team),
            output::list(&self.groups),
            self.status.clone(),
            actor_email(&self.inviter),
            output::time(&self.expires_at),
        ]
    }
}

async fn resend(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let resp = client.resend_invitation(&org, id).await?;
    ctx.show(&resp, |resp| {
        // The link alone on stdout, for scripts; the rest is a note.
        output::line(&resp.link)?;
        output::note(format!(
            "New link for {}, valid until {}; the old link no longer works.",
            resp.invitation.email,
            output::time(&resp.invitation.expires_at)
        ));
        Ok(())
    })
}

async fn delete(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    client.delete_invitation(&org, id).await?;
    ctx.done(format!(
        "Deleted invitation {id} in {org}; its link no longer works."
    ))
}

// --- accept ------------------------------------------------------------------------

/// An invitation link, taken apart.
#[derive(Debug, PartialEq, Eq)]
struct InvitationLink {
    /// The server the link points at (`scheme://host[:port]`, plus any path
    /// prefix before `/invite/`); `None` for a bare token.
    server: Option<String>,
    token: String,
}

/// Parses `https://host[:port][/prefix]/invite/rsi_...` (the token is the
/// last path segment; a query or fragment is ignored) or a bare token.
fn parse_link(raw: &str) -> anyhow::Result<InvitationLink> {
    let raw = raw.trim();
    let bad = || {
        anyhow!(
            "{raw:?} is not an invitation link or token (expected e.g. https://roster.example.com/invite/rsi_...)"
        )
    };
    if !raw.contains("://") {
        if !is_token(raw) {
            return Err(bad());
        }
        return Ok(InvitationLink {
            server: None,
            token: raw.to_string(),
        });
    }
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let Some((token, before)) = segments.split_last() else {
        return Err(bad());
    };
    if !is_token(token) {
        return Err(bad());
    }
    // The server's public URL may have a path prefix: keep what precedes
    // `/invite/`.
    let prefix = match before.split_last() {
        Some((&"invite", prefix)) => prefix,
        _ => &[],
    };
    let origin = url.origin().ascii_serialization();
    let server = if prefix.is_empty() {
        origin
    } else {
        format!("{origin}/{}", prefix.join("/"))
    };
    Ok(InvitationLink {
        server: Some(server),
        token: token.to_string(),
    })
}

/// Tokens are a prefix and URL-safe base64: letters, digits, `_` and `-`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

async fn accept(ctx: &mut Context, args: InvitationAcceptArgs) -> anyhow::Result<()> {
    let link = parse_link(&args.link)?;
    // The link names its server, unless --server (or ROSTER_SERVER) says
    // otherwise.
    let server = match &link.server {
        Some(server) if !ctx.server_given => normalize_server(server),
        _ => ctx.server.clone(),
    };
    let anonymous = Client::new(&server)?;
    let invitation = anonymous.invitation(&link.token).await?;
    if !ctx.json() {
        print_invitation(&invitation)?;
    }

    let saved_token = ctx.credentials.token.clone().filter(|_| {
        ctx.credentials.server.as_deref().map(normalize_server) == Some(server.clone())
    });
    let accepted = match saved_token {
        Some(token) => {
            let client = anonymous.with_token(token);
            accept_signed_in(ctx, &client, &link.token, &invitation, &args).await?
        }
        None => {
            accept_as_newcomer(ctx, &anonymous, &server, &link.token, &invitation, &args).await?
        }
    };

    if ctx.json() {
        return output::json(&accepted);
    }
    output::line("")?;
    if accepted.account_created {
        output::line(format!(
            "Created your account {} and joined {} ({}) as {}.",
            invitation.email, invitation.org_name, accepted.org, accepted.role
        ))?;
        output::line(format!(
            "Logged in to {server}; current organization: {}",
            accepted.org
        ))?;
    } else {
        output::line(format!(
            "Joined {} ({}) as {}.",
            invitation.org_name, accepted.org, accepted.role
        ))?;
        if ctx.credentials.current_org.as_deref() != Some(accepted.org.as_str()) {
            output::note(format!(
                "Run `roster orgs switch {}` to work in it.",
                accepted.org
            ));
        }
    }
    Ok(())
}

/// What the link offers, before accepting.
fn print_invitation(inv: &PublicInvitationView) -> anyhow::Result<()> {
    output::fields(&[
        ("Organization", format!("{} ({})", inv.org_name, inv.org)),
        ("Email", inv.email.clone()),
        ("Role", inv.role.clone()),
        ("Invited by", actor(&inv.inviter)),
        ("Expires", output::time(&inv.expires_at)),
    ])?;
    Ok(())
}

/// Accepts with the saved session: the server checks that its email is the
/// invited one.
async fn accept_signed_in(
    ctx: &Context,
    client: &Client,
    token: &str,
    invitation: &PublicInvitationView,
    args: &InvitationAcceptArgs,
) -> anyhow::Result<AcceptInvitationResponse> {
    let signed_in_as = ctx.credentials.email.clone().unwrap_or_default();
    if args.name.is_some() || args.password_stdin {
        output::warn(format!(
            "you are logged in as {signed_in_as}; --name and --password-stdin are ignored"
        ));
    }
    match client
        .accept_invitation(token, &AcceptInvitationRequest::default())
        .await
    {
        Ok(resp) => Ok(resp),
        Err(e @ ClientError::Api { status: 403, .. })
            if !signed_in_as.eq_ignore_ascii_case(&invitation.email) =>
        {
            let email = &invitation.email;
            let hint = if invitation.account_exists {
                format!("run `roster login --email {email}`, then accept again")
            } else {
                format!("run `roster logout`, then accept again to create the account for {email}")
            };
            bail!("{e} ({hint})")
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates the account for the invited email with a name and a password,
/// then signs it in and saves the session with the joined org as current.
async fn accept_as_newcomer(
    ctx: &mut Context,
    client: &Client,
    server: &str,
    token: &str,
    invitation: &PublicInvitationView,
    args: &InvitationAcceptArgs,
) -> anyhow::Result<AcceptInvitationResponse> {
    let email = &invitation.email;
    let login_first = || {
        let server_flag = if server == ctx.server {
            String::new()
        } else {
            format!(" --server {server}")
        };
        anyhow!(
            "{email} already has an account: sign in first with `roster login{server_flag} --email {email}`, then accept again"
        )
    };
    if invitation.account_exists {
        return Err(login_first());
    }

    let name = match args.name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_string(),
        Some(_) => bail!("--name must not be empty"),
        None if input::interactive() => {
            let name = input::prompt_line(&format!("Your name (for the account {email}): "))?;
            if name.is_empty() {
                bail!("a name is needed to create your account");
            }
            name
        }
        None => bail!("pass --name NAME: the name of the account to create for {email}"),
    };
    let password = input::password(
        args.password_stdin,
        "no terminal to ask for a password on; pipe it to `roster invitations accept LINK --name NAME --password-stdin`",
        || {
            input::prompt_twice(
                &format!("New password for {email}: "),
                "New password again: ",
                "the passwords do not match",
            )
        },
    )?;

    let body = AcceptInvitationRequest {
        name: Some(name),
        password: Some(password.clone()),
    };
    let accepted = match client.accept_invitation(token, &body).await {
        // The account was created in the meantime.
        Err(ClientError::Api { status: 401, .. }) => return Err(login_first()),
        other => other?,
    };

    let login = client
        .login(&LoginRequest {
            email: email.clone(),
            password,
            totp_code: None,
            recovery_code: None,
            passkey: None,
        })
        .await
        .map_err(|e| {
            anyhow!(
                "you joined {} as {email}, but signing in failed ({e}); run `roster login --email {email}`",
                accepted.org
            )
        })?;
    ctx.credentials = Credentials {
        server: Some(server.to_string()),
        token: Some(login.token),
        email: Some(login.user.email),
        current_org: Some(accepted.org.clone()),
    };
    ctx.server = server.to_string();
    ctx.save()?;
    if login.password_change_required {
        output::note("Your password is temporary: run `roster password change`.");
    }
    Ok(accepted)
}

/// An actor as `Name <email>`, or whichever of the two there is.
fn actor(a: &ActorView) -> String {
    match (a.name.trim(), a.email.trim()) {
        ("", "") => "-".to_string(),
        ("", email) => email.to_string(),
        (name, "") => name.to_string(),
        (name, email) => format!("{name} <{email}>"),
    }
}

/// An actor's email, else their name, else `-`.
fn actor_email(a: &ActorView) -> String {
    if !a.email.is_empty() {
        a.email.clone()
    } else {
        output::or_dash(&a.name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::commands::tests::problem;
    use crate::cli::tests::{list, parse, parse_as, words};
    use crate::cli::Command;

    fn link(server: Option<&str>, token: &str) -> InvitationLink {
        InvitationLink {
            server: server.map(str::to_string),
            token: token.to_string(),
        }
    }

    #[test]
    fn links_give_their_server_and_token() {
        assert_eq!(
            parse_link("http://127.0.0.1:8080/invite/rsi_abc-DEF_1").unwrap(),
            link(Some("http://127.0.0.1:8080"), "rsi_abc-DEF_1")
        );
        assert_eq!(
            parse_link(" https://roster.example.com/invite/rsi_abc/ \n").unwrap(),
            link(Some("https://roster.example.com"), "rsi_abc")
        );
        assert_eq!(
            parse_link("https://roster.example.com:443/invite/rsi_abc?x=1#top").unwrap(),
            link(Some("https://roster.example.com"), "rsi_abc"),
            "the default port, query and fragment are dropped"
        );
        assert_eq!(
            parse_link("https://example.com/roster/invite/rsi_abc").unwrap(),
            link(Some("https://example.com/roster"), "rsi_abc"),
            "a path prefix before /invite/ is the server's"
        );
        assert_eq!(
            parse_link("http://h:9000/somewhere/rsi_abc").unwrap(),
            link(Some("http://h:9000"), "rsi_abc")
        );
    }

    #[test]
    fn bare_tokens_are_accepted() {
        assert_eq!(parse_link("rsi_abc").unwrap(), link(None, "rsi_abc"));
        assert_eq!(parse_link("  rsi_abc\n").unwrap(), link(None, "rsi_abc"));
    }

    #[test]
    fn other_text_is_not_a_link() {
        for bad in [
            "",
            "   ",
            "http://h:1/",
            "http://h:1",
            "ftp://h/invite/rsi_abc",
            "h:1/invite/rsi_abc",
            "rsi abc",
            "mailto:pam@example.com",
            "http://h/invite/rsi_a%20b",
        ] {
            let err = parse_link(bad).unwrap_err().to_string();
            assert!(err.contains("not an invitation link"), "{bad:?}: {err}");
        }
    }

    fn create_args(emails: Option<&str>, invite: &[(&str, Option<&str>)]) -> InvitationCreateArgs {
        InvitationCreateArgs {
            emails: emails.map(str::to_string),
            invite: invite
                .iter()
                .map(|(email, role)| InviteArg {
                    email: email.to_string(),
                    role: role.map(str::to_string),
                })
                .collect(),
            role: Some("viewer".into()),
            team: Some("sales".into()),
            groups: Some(CommaList(vec!["dev".into()])),
        }
    }

    #[test]
    fn invite_flags_become_items_and_emails_share_the_flags() {
        let body = create_request(create_args(
            Some(" a@x.com, b@x.com "),
            &[("c@x.com", Some("admin")), ("d@x.com", None)],
        ))
        .unwrap();
        assert_eq!(body.emails.as_deref(), Some("a@x.com, b@x.com"));
        assert_eq!(body.role.as_deref(), Some("viewer"));
        assert_eq!(body.team.as_deref(), Some("sales"));
        assert_eq!(body.groups, vec!["dev"]);
        assert_eq!(body.invitations.len(), 2);
        assert_eq!(body.invitations[0].role.as_deref(), Some("admin"));
        assert_eq!(
            body.invitations[1].role.as_deref(),
            Some("viewer"),
            "no role after the colon: --role"
        );
        assert_eq!(body.invitations[1].team.as_deref(), Some("sales"));
        assert_eq!(body.invitations[1].groups, vec!["dev"]);
        assert_eq!(requested_role(&body, "C@X.com"), Some("admin"));
        assert_eq!(requested_role(&body, "a@x.com"), Some("viewer"));

        let only_invites = create_request(create_args(None, &[("c@x.com", None)])).unwrap();
        assert_eq!(only_invites.emails, None);
        assert_eq!(only_invites.role, None);
        assert!(only_invites.groups.is_empty());
    }

    #[test]
    fn at_least_one_address_is_needed() {
        assert!(create_request(create_args(Some(" , ;"), &[])).is_err());
        assert!(create_request(create_args(None, &[])).is_err());
    }

    #[test]
    fn reasons_are_one_line() {
        let problem = problem(
            "Conflict",
            409,
            "already_member",
            Some("pam@x.com is already\na member"),
        );
        assert_eq!(reason(&problem), "pam@x.com is already a member");
        let problem = Problem {
            detail: None,
            ..problem
        };
        assert_eq!(reason(&problem), "Conflict");
        let problem = Problem {
            errors: vec![roster_proto::FieldError {
                field: "email".into(),
                message: "is not an email address".into(),
            }],
            ..problem
        };
        assert_eq!(reason(&problem), "email: is not an email address");
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
        let args = parse_as!(
            &[
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
            ],
            Command::Invitations(InvitationsCommand::Create(args)) => args
        );
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
        let args = parse_as!(
            &words("invitations accept http://h:1/invite/rsi_abc --name Pam --password-stdin"),
            Command::Invitations(InvitationsCommand::Accept(args)) => args
        );
        assert_eq!(args.link, "http://h:1/invite/rsi_abc");
        assert_eq!(args.name.as_deref(), Some("Pam"));
        assert!(args.password_stdin);
    }
}
