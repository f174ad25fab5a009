//! `roster mfa enroll|status|recovery-codes|disable` (your second factor),
//! `roster passkeys list|rename|remove` (your passkeys; adding one needs a
//! browser, the console's profile page) and `roster sessions list|revoke`
//! (your sign-in sessions).
//!
//! Codes and passwords come from the terminal or, with `--stdin`, from
//! lines on standard input; never from flags.

use super::Context;
use crate::cli::input;
use crate::cli::output::{self, Row};
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use roster_proto::{PasskeyView, RemoveMfaRequest, SessionView};

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Enrol an authenticator app: prints its secret, URI and QR code, then
    /// asks for a code from the app and prints your recovery codes (once)
    Enroll(StdinArg),
    /// Whether you have a second factor, and how many recovery codes are left
    Status,
    /// Replace your recovery codes (asks for a current code; the old codes stop working)
    RecoveryCodes(StdinArg),
    /// Remove your second factor (asks for your password and a current code
    /// or a recovery code); ends your other sessions
    Disable(StdinArg),
}

#[derive(Debug, Clone, Args)]
pub struct StdinArg {
    /// Read the answers (code; or password then code) from lines on standard input
    #[arg(long)]
    pub stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum PasskeysCommand {
    /// Your passkeys: id, name, added, last used
    List,
    /// Rename one of your passkeys
    Rename {
        /// The passkey's id (from `roster passkeys list`)
        id: i64,
        /// Its new name
        name: String,
    },
    /// Remove one of your passkeys (asks for your password and a code from
    /// your authenticator app or a recovery code); ends your other sessions
    Remove {
        /// The passkey's id (from `roster passkeys list`)
        id: i64,
        #[command(flatten)]
        stdin: StdinArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Your live sessions: device, client address, created, last seen
    List,
    /// End one of your sessions
    Revoke {
        /// The session's id (from `roster sessions list`)
        id: i64,
    },
}

/// A code as the server takes it: six digits are an authenticator code,
/// anything else a recovery code.
pub fn code_fields(code: &str) -> (Option<String>, Option<String>) {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        (Some(code.to_owned()), None)
    } else {
        (None, Some(code.to_owned()))
    }
}

/// Asks for a code: on the terminal, or the next line of stdin.
pub fn ask_code(from_stdin: bool, prompt: &str, no_terminal: &str) -> anyhow::Result<String> {
    if from_stdin {
        return input::read_stdin_lines(1, "a code")?
            .pop()
            .ok_or_else(|| anyhow!("expected a code on standard input"));
    }
    if !input::interactive() {
        bail!("{no_terminal}");
    }
    input::prompt_line(prompt)
}

/// The QR code of `text` in the terminal (two rows per character).
fn terminal_qr(text: &str) -> anyhow::Result<String> {
    let code = QrCode::new(text.as_bytes())?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

pub async fn run(ctx: &Context, cmd: MfaCommand) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        MfaCommand::Enroll(a) => {
            let e = client.start_totp().await?;
            if ctx.json() {
                output::note(format!("otpauth URI: {}", e.otpauth_uri));
            } else {
                output::line("Scan this QR code with your authenticator app:")?;
                output::line(terminal_qr(&e.otpauth_uri)?)?;
                output::line(format!("Or enter this secret: {}", e.secret))?;
                output::line(format!("URI: {}", e.otpauth_uri))?;
            }
            let code = ask_code(
                a.stdin,
                "Code from the app: ",
                "no terminal to ask for the code on; pipe it to `roster mfa enroll --stdin`",
            )?;
            let codes = client.confirm_totp(&code).await?;
            ctx.show(&codes, |c| {
                output::line("Second factor enrolled. Your recovery codes (shown once; keep them safe, each works once):")?;
                for code in &c.recovery_codes {
                    output::line(format!("  {code}"))?;
                }
                Ok(())
            })
        }
        MfaCommand::Status => {
            let s = client.mfa_status().await?;
            ctx.show(&s, |s| {
                output::fields(&[
                    ("Authenticator app", output::yes_no(s.totp)),
                    ("Recovery codes left", s.recovery_codes_left.to_string()),
                    ("Passkeys", s.passkeys.to_string()),
                ])?;
                Ok(())
            })
        }
        MfaCommand::RecoveryCodes(a) => {
            let code = ask_code(
                a.stdin,
                "Code from the app: ",
                "no terminal to ask for the code on; pipe it to `roster mfa recovery-codes --stdin`",
            )?;
            let codes = client.regenerate_recovery_codes(&code).await?;
            ctx.show(&codes, |c| {
                output::line("New recovery codes (shown once; the old ones no longer work):")?;
                for code in &c.recovery_codes {
                    output::line(format!("  {code}"))?;
                }
                Ok(())
            })
        }
        MfaCommand::Disable(a) => {
            let request = removal_request(a.stdin, "roster mfa disable")?;
            client.remove_mfa(&request).await?;
            ctx.done("Second factor removed; your other sessions were ended.")
        }
    }
}

impl Row for SessionView {
    const HEADER: &'static [&'static str] =
        &["ID", "DEVICE", "FROM", "CREATED", "LAST SEEN", "CURRENT"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            output::truncate(&output::or_dash(&self.user_agent), 40),
            output::or_dash(&self.client_addr),
            output::time(&self.created_at),
            output::time(&self.last_seen_at),
            if self.current {
                "*".into()
            } else {
                String::new()
            },
        ]
    }
}

impl Row for PasskeyView {
    const HEADER: &'static [&'static str] = &["ID", "NAME", "ADDED", "LAST USED"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            output::truncate(&self.name, 40),
            output::time(&self.created_at),
            self.last_used_at
                .as_deref()
                .map_or_else(|| "-".to_owned(), output::time),
        ]
    }
}

/// What removing a second factor needs (`mfa disable`, `passkeys
/// remove`): the password and a code (app or recovery), asked on the
/// terminal or read as two lines of stdin.
fn removal_request(from_stdin: bool, command: &str) -> anyhow::Result<RemoveMfaRequest> {
    let answers = input::secrets(
        from_stdin,
        2,
        "the password and a code on two lines",
        &format!("no terminal to ask on; pipe the password and a code on two lines to `{command} --stdin`"),
        || {
            let password = input::prompt_password("Password: ")?;
            let code = input::prompt_line("Code from the app (or a recovery code): ")?;
            Ok(vec![password, code])
        },
    )?;
    let Ok([password, code]) = <[String; 2]>::try_from(answers) else {
        bail!("expected the password and a code on two lines");
    };
    let (totp_code, recovery_code) = code_fields(&code);
    Ok(RemoveMfaRequest {
        password,
        totp_code,
        recovery_code,
        passkey: None,
    })
}

pub async fn run_passkeys(ctx: &Context, cmd: PasskeysCommand) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        PasskeysCommand::List => {
            let passkeys = client.passkeys().await?;
            ctx.show_list(&passkeys, |p| Ok(output::rows(p)?))
        }
        PasskeysCommand::Rename { id, name } => {
            let p = client.rename_passkey(id, &name).await?;
            ctx.show(&p, |p| {
                ctx.done(format!("Passkey {} is now {:?}.", p.id, p.name))
            })
        }
        PasskeysCommand::Remove { id, stdin } => {
            let request = removal_request(stdin.stdin, "roster passkeys remove ID")?;
            client.remove_passkey(id, &request).await?;
            ctx.done(format!(
                "Passkey {id} removed; your other sessions were ended."
            ))
        }
    }
}

pub async fn run_sessions(ctx: &Context, cmd: SessionsCommand) -> anyhow::Result<()> {
    let client = ctx.client()?;
    match cmd {
        SessionsCommand::List => {
            let sessions = client.sessions().await?;
            ctx.show_list(&sessions, |s| Ok(output::rows(s)?))
        }
        SessionsCommand::Revoke { id } => {
            client.revoke_session(id).await?;
            ctx.done(format!("Session {id} ended."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_are_an_app_code_anything_else_a_recovery_code() {
        assert_eq!(code_fields(" 123456 "), (Some("123456".into()), None));
        assert_eq!(
            code_fields("abcde-fghij"),
            (None, Some("abcde-fghij".into()))
        );
        assert_eq!(code_fields("12345"), (None, Some("12345".into())));
    }
}
