//! `roster login`, `roster signup`, `roster logout` and
//! `roster password change`.
//!
//! Passwords come from a hidden prompt on the terminal or, for scripts,
//! from stdin with `--password-stdin`; never from a flag, where they would
//! land in the shell history. The session token is saved, never printed.

use super::{default_org, Context};
use crate::cli::input;
use crate::cli::output;
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use roster_client::{Client, ClientError};
use roster_proto::{ChangePasswordRequest, LoginRequest, SignupRequest, UpdateMeRequest};
use serde_json::json;

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Your email address
    #[arg(long, required_unless_present = "sso")]
    pub email: Option<String>,
    /// Read the password from the first line of standard input (and, when
    /// the account has a second factor, the code from the second line)
    #[arg(long)]
    pub password_stdin: bool,
    /// Sign in through your organization's identity provider (single
    /// sign-on) instead of a password: the browser opens the provider, and
    /// the result comes back to this command on a loopback address
    #[arg(long, value_name = "EMAIL", conflicts_with_all = ["email", "password_stdin"])]
    pub sso: Option<String>,
    /// With --sso: print the sign-in URL only; do not try to open a browser
    #[arg(long, requires = "sso")]
    pub no_browser: bool,
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

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Change your display name
    ///
    /// Example: roster profile rename "Pam Halpert"
    Rename {
        /// The new display name
        name: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct PasswordChangeArgs {
    /// Read the current password (line 1) and the new one (line 2) from standard input
    #[arg(long)]
    pub password_stdin: bool,
}

/// `roster login --email E [--password-stdin]`, or `roster login --sso E`.
pub async fn login(ctx: &mut Context, args: LoginArgs) -> anyhow::Result<()> {
    if let Some(email) = &args.sso {
        let client = ctx.anonymous()?;
        let resp = super::sso::login(&client, &ctx.server, email.trim(), !args.no_browser).await?;
        return signed_in(ctx, &client, resp).await;
    }
    let email = args.email.clone().unwrap_or_default();
    let password = input::password(
        args.password_stdin,
        "no terminal to ask for the password on; pipe it to `roster login --password-stdin`",
        || input::prompt_password("Password: "),
    )?;
    let mut request = LoginRequest {
        email: email.trim().to_string(),
        password,
        totp_code: None,
        recovery_code: None,
        passkey: None,
    };
    let client = ctx.anonymous()?;
    // A refused login is not "run roster login" material: show the
    // server's reason as it is.
    let plain = |e: ClientError| match e {
        ClientError::Api { .. } => anyhow!("{e}"),
        other => other.into(),
    };
    let resp = match client.login(&request).await {
        Err(ClientError::Api { ref problem, .. }) if problem.code == "mfa_required" => {
            // The account has a second factor: ask for it and sign in again.
            let code = super::mfa::ask_code(
                args.password_stdin,
                "Code from your authenticator app (or a recovery code): ",
                "this account has a second factor; pipe the password and a code on two lines to `roster login --password-stdin`",
            )?;
            (request.totp_code, request.recovery_code) = super::mfa::code_fields(&code);
            client.login(&request).await.map_err(plain)?
        }
        other => other.map_err(plain)?,
    };
    signed_in(ctx, &client, resp).await
}

/// Saves a new session (and keeps the current org when it is the same
/// account on the same server), then says who is signed in.
async fn signed_in(
    ctx: &mut Context,
    client: &Client,
    resp: roster_proto::LoginResponse,
) -> anyhow::Result<()> {
    let same_account = ctx
        .credentials
        .server
        .as_deref()
        .map(super::normalize_server)
        == Some(ctx.server.clone())
        && ctx
            .credentials
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&resp.user.email));
    let previous_org = if same_account {
        ctx.credentials.current_org.take()
    } else {
        None
    };
    ctx.credentials.server = Some(ctx.server.clone());
    ctx.credentials.token = Some(resp.token.clone());
    ctx.credentials.email = Some(resp.user.email.clone());
    ctx.credentials.current_org = previous_org;
    if !resp.password_change_required && !resp.mfa_enrolment_required {
        // Until the temporary password is changed the server refuses /me;
        // the org is then chosen by `roster password change`.
        choose_org(ctx, &client.clone().with_token(resp.token.clone())).await;
    }
    ctx.save()?;

    if ctx.json() {
        output::json(&json!({
            "server": ctx.server,
            "user": resp.user,
            "expires_at": resp.expires_at,
            "password_change_required": resp.password_change_required,
            "current_org": ctx.credentials.current_org,
        }))?;
    } else {
        output::line(format!(
            "Logged in to {} as {} <{}>.",
            ctx.server, resp.user.name, resp.user.email
        ))?;
        if let Some(org) = &ctx.credentials.current_org {
            output::line(format!("Current organization: {org}"))?;
        }
    }
    if resp.mfa_enrolment_required {
        let msg = "An organization you belong to requires a second factor: run `roster mfa enroll` before doing anything else.";
        if ctx.json() {
            output::note(msg);
        } else {
            output::line(msg)?;
        }
    }
    if resp.password_change_required {
        let msg = "Your password is temporary: run `roster password change` to set your own before doing anything else.";
        if ctx.json() {
            output::note(msg);
        } else {
            output::line(msg)?;
        }
    }
    Ok(())
}

/// `roster signup --org SLUG --email E --name N [--password-stdin]`: asks
/// to join an org that allows self-registration. Needs no credentials and
/// saves none; the request then waits for an administrator's approval.
pub async fn signup(ctx: &Context, args: SignupArgs) -> anyhow::Result<()> {
    let password = input::password(
        args.password_stdin,
        "no terminal to ask for the password on; pipe it to `roster signup --password-stdin`",
        || {
            input::prompt_twice(
                "Password: ",
                "Password again: ",
                "the passwords do not match",
            )
        },
    )?;
    let request = SignupRequest {
        org: args.org.trim().to_string(),
        email: args.email.trim().to_string(),
        name: args.name.trim().to_string(),
        password,
    };
    let resp = ctx.anonymous()?.signup(&request).await?;
    ctx.show_line(&resp, |_| signup_message(&request))
}

/// What a person reads after a successful sign-up.
fn signup_message(request: &SignupRequest) -> String {
    format!(
        "Thanks, {}: if {} takes sign-ups from {}, a link to confirm the request is on its way there \
         (it works for 24 hours). Once you open it, an administrator reviews the request; \
         you can sign in with `roster login --email {}` and the org opens once you are approved.",
        request.name, request.org, request.email, request.email
    )
}

/// `roster logout`: ends the session on the server (best-effort) and
/// forgets the token. The server and current org stay saved.
pub async fn logout(ctx: &mut Context) -> anyhow::Result<()> {
    let Some(token) = ctx.credentials.token.take() else {
        return ctx.done("Not logged in.");
    };
    let server = ctx
        .credentials
        .server
        .clone()
        .unwrap_or_else(|| ctx.server.clone());
    match Client::new(&server) {
        Ok(client) => match client.with_token(token).logout().await {
            Ok(()) | Err(ClientError::Api { status: 401, .. }) => {}
            Err(e) => output::warn(format!("the server did not end the session: {e}")),
        },
        Err(e) => output::warn(format!("the server did not end the session: {e}")),
    }
    ctx.save()?;
    ctx.done(format!("Logged out of {server}."))
}

/// `roster password ...`.
pub async fn password(ctx: &mut Context, cmd: PasswordCommand) -> anyhow::Result<()> {
    match cmd {
        PasswordCommand::Change(args) => change_password(ctx, args).await,
    }
}

/// `roster profile rename NAME`.
pub async fn profile(ctx: &Context, cmd: ProfileCommand) -> anyhow::Result<()> {
    match cmd {
        ProfileCommand::Rename { name } => {
            let user = ctx
                .client()?
                .update_me(&UpdateMeRequest {
                    name: name.trim().to_owned(),
                })
                .await?;
            ctx.show_line(&user, |u| format!("You are now {} <{}>.", u.name, u.email))
        }
    }
}

async fn change_password(ctx: &mut Context, args: PasswordChangeArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let passwords = input::secrets(
        args.password_stdin,
        2,
        "the current and the new password on two lines",
        "no terminal to ask for passwords on; pipe the current and the new password on two lines to `roster password change --password-stdin`",
        || {
            let current = input::prompt_password("Current password: ")?;
            let new = input::prompt_twice(
                "New password: ",
                "New password again: ",
                "the new passwords do not match",
            )?;
            Ok(vec![current, new])
        },
    )?;
    let Ok([current_password, new_password]) = <[String; 2]>::try_from(passwords) else {
        bail!("expected the current and the new password on two lines");
    };
    client
        .change_password(&ChangePasswordRequest {
            current_password,
            new_password,
        })
        .await?;
    if ctx.credentials.current_org.is_none() {
        choose_org(ctx, &client).await;
        ctx.save()?;
    }
    if !ctx.json() {
        output::line("Password changed.")?;
        if let Some(org) = &ctx.credentials.current_org {
            output::line(format!("Current organization: {org}"))?;
        }
    }
    Ok(())
}

/// Keeps the current org if the caller still belongs to it, else picks the
/// default one. Failing to ask is only a warning: the login itself worked.
async fn choose_org(ctx: &mut Context, client: &Client) {
    match client.me().await {
        Ok(me) => {
            let keep = ctx
                .credentials
                .current_org
                .as_ref()
                .filter(|cur| me.memberships.iter().any(|m| &m.org == *cur))
                .cloned();
            ctx.credentials.current_org = keep.or_else(|| default_org(&me.memberships));
        }
        Err(e) => output::warn(format!("cannot choose a current organization: {e}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{parse, parse_as, words};
    use crate::cli::Command;

    #[test]
    fn the_signup_message_names_the_person_the_org_and_the_login() {
        let request = SignupRequest {
            org: "dunder-mifflin".into(),
            email: "kevin@dm.test".into(),
            name: "Kevin".into(),
            password: "secret".into(),
        };
        assert_eq!(
            signup_message(&request),
            "Thanks, Kevin: if dunder-mifflin takes sign-ups from kevin@dm.test, a link to \
             confirm the request is on its way there (it works for 24 hours). Once you open \
             it, an administrator reviews the request; you can sign in with `roster login \
             --email kevin@dm.test` and the org opens once you are approved."
        );
    }

    #[test]
    fn signup_needs_its_own_org_email_and_name() {
        let args = parse_as!(
            &[
                "signup",
                "--org",
                "dunder-mifflin",
                "--email",
                "kevin@dm.test",
                "--name",
                "Kevin Malone",
                "--password-stdin",
            ],
            Command::Signup(args) => args
        );
        assert_eq!(args.org, "dunder-mifflin");
        assert_eq!(args.email, "kevin@dm.test");
        assert_eq!(args.name, "Kevin Malone");
        assert!(args.password_stdin);
        let cli = parse(&words(
            "--server http://h:1 signup --email a@x.com --name A --org x",
        ))
        .unwrap();
        assert_eq!(cli.global.server.as_deref(), Some("http://h:1"));
        assert!(matches!(cli.command, Command::Signup(ref a) if !a.password_stdin && a.org == "x"));
        assert!(parse(&["signup", "--email", "a@x.com", "--name", "A"]).is_err());
        assert!(parse(&["signup", "--org", "x", "--name", "A"]).is_err());
        assert!(parse(&["signup", "--org", "x", "--email", "a@x.com"]).is_err());
    }
}
