//! `roster slack show|connect|disconnect|link`: the current org's Slack
//! connection, and linking your own Slack account.
//!
//! The signing secret and the bot token come from hidden prompts on the
//! terminal or, for scripts, from two lines on stdin with
//! `--secrets-stdin`; never from flags, where they would land in the shell
//! history. The server never shows them again.

use super::{confirm, Context};
use crate::cli::{input, output, ConfirmArgs};
use anyhow::bail;
use clap::{Args, Subcommand};
use roster_proto::{SlackConnectRequest, SlackConnectionView, SlackLinkRequest};

#[derive(Debug, Subcommand)]
pub enum SlackCommand {
    /// The organization's Slack connection (its secrets are never shown)
    Show,
    /// Connect the organization to a Slack workspace, or replace its connection
    /// (asks for the signing secret and the bot token)
    Connect(SlackConnectArgs),
    /// Disconnect the organization from Slack
    Disconnect {
        #[command(flatten)]
        confirm: ConfirmArgs,
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

pub async fn run(ctx: &Context, cmd: SlackCommand) -> anyhow::Result<()> {
    match cmd {
        SlackCommand::Show => show(ctx).await,
        SlackCommand::Connect(args) => connect(ctx, args).await,
        SlackCommand::Disconnect { confirm } => disconnect(ctx, confirm).await,
        SlackCommand::Link { code } => link(ctx, code).await,
    }
}

async fn show(ctx: &Context) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show(&client.slack_connection(&org).await?, print_connection)
}

/// `roster slack connect --channel C [--api-base-url URL] [--secrets-stdin]`.
async fn connect(ctx: &Context, args: SlackConnectArgs) -> anyhow::Result<()> {
    // Fail on a missing login before asking for secrets.
    let (org, client) = ctx.org_client().await?;
    let channel = args.channel.trim().to_string();
    if channel.is_empty() {
        bail!("--channel must name a channel id, e.g. C0123456789");
    }
    let (signing_secret, bot_token) = secrets(input::secrets(
        args.secrets_stdin,
        2,
        "the signing secret and the bot token on two lines",
        "no terminal to ask for the secrets on; pipe the signing secret and the bot token on two lines to `roster slack connect --secrets-stdin`",
        || {
            Ok(vec![
                input::prompt_password("Signing secret: ")?,
                input::prompt_password("Bot token (xoxb-...): ")?,
            ])
        },
    )?)?;
    let body = SlackConnectRequest {
        signing_secret,
        bot_token,
        channel,
        api_base_url: args
            .api_base_url
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty()),
    };
    ctx.show(&client.connect_slack(&org, &body).await?, |connection| {
        print_connection(connection)?;
        output::note(format!(
            "Connected {org} to Slack workspace {}. Members link their accounts with `/roster link` in Slack, then `roster slack link CODE`.",
            connection.team_id
        ));
        Ok(())
    })
}

/// The signing secret and the bot token from two answers or lines, trimmed
/// (neither ever holds spaces; a pasted one often ends with some).
fn secrets(values: Vec<String>) -> anyhow::Result<(String, String)> {
    let mut values = values.into_iter().map(|v| v.trim().to_string());
    let (Some(signing_secret), Some(bot_token)) = (values.next(), values.next()) else {
        bail!("expected the signing secret and the bot token");
    };
    if signing_secret.is_empty() {
        bail!("the signing secret is empty");
    }
    if bot_token.is_empty() {
        bail!("the bot token is empty");
    }
    Ok((signing_secret, bot_token))
}

/// Disconnects Slack after a confirmation (or `--yes`).
async fn disconnect(ctx: &Context, flag: ConfirmArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let what = format!("disconnect {org} from Slack");
    confirm(flag, &what, "not disconnected", async || {
        let connection = client.slack_connection(&org).await?;
        Ok(format!(
            "Disconnect {org} from Slack workspace {} (channel {})?",
            connection.team_id, connection.channel
        ))
    })
    .await?;
    client.disconnect_slack(&org).await?;
    ctx.done(format!("Disconnected {org} from Slack."))
}

/// `roster slack link CODE`: confirms the code `/roster link` gave you.
async fn link(ctx: &Context, code: String) -> anyhow::Result<()> {
    let org = ctx.org().await?;
    let code = code.trim().to_string();
    if code.is_empty() {
        bail!("the code is empty; run `/roster link` in Slack to get one");
    }
    ctx.client()?
        .link_slack(&org, &SlackLinkRequest { code })
        .await?;
    ctx.done(format!("Linked your Slack account in {org}."))
}

fn print_connection(c: &SlackConnectionView) -> anyhow::Result<()> {
    output::fields(&[
        ("Workspace", c.team_id.clone()),
        ("Channel", c.channel.clone()),
        ("API base URL", c.api_base_url.clone()),
        ("Connected", output::time(&c.connected_at)),
    ])?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{parse, parse_as, words};
    use crate::cli::Command;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secrets_are_trimmed_and_both_required() {
        assert_eq!(
            secrets(lines(&[" s3cret ", "xoxb-1\t"])).unwrap(),
            ("s3cret".to_string(), "xoxb-1".to_string())
        );
        let err = secrets(lines(&["  ", "xoxb-1"])).unwrap_err();
        assert!(err.to_string().contains("signing secret"), "{err}");
        let err = secrets(lines(&["s3cret", ""])).unwrap_err();
        assert!(err.to_string().contains("bot token"), "{err}");
        assert!(secrets(lines(&["s3cret"])).is_err());
    }

    #[test]
    fn two_stdin_lines_are_the_secret_then_the_token() {
        let mut stdin = std::io::Cursor::new("s3cret\r\nxoxb-1\n");
        let read = input::read_lines(&mut stdin, 2, "two secrets").unwrap();
        assert_eq!(
            secrets(read).unwrap(),
            ("s3cret".to_string(), "xoxb-1".to_string())
        );
    }

    #[test]
    fn slack_commands_parse() {
        let cli = parse(&["slack", "show", "--org", "acme", "--output", "json"]).unwrap();
        assert!(matches!(cli.command, Command::Slack(SlackCommand::Show)));

        let args = parse_as!(
            &["slack", "connect", "--channel", "C0123"],
            Command::Slack(SlackCommand::Connect(args)) => args
        );
        assert_eq!(args.channel, "C0123");
        assert_eq!(args.api_base_url, None);
        assert!(!args.secrets_stdin);
        let args = parse_as!(
            &words(
                "slack connect --channel C0123 \
                 --api-base-url http://127.0.0.1:9/api --secrets-stdin"
            ),
            Command::Slack(SlackCommand::Connect(args)) => args
        );
        assert_eq!(args.api_base_url.as_deref(), Some("http://127.0.0.1:9/api"));
        assert!(args.secrets_stdin);

        let cli = parse(&["slack", "disconnect"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Slack(SlackCommand::Disconnect {
                confirm: ConfirmArgs { yes: false }
            })
        ));
        let cli = parse(&["slack", "disconnect", "-y"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Slack(SlackCommand::Disconnect {
                confirm: ConfirmArgs { yes: true }
            })
        ));
        let code = parse_as!(
            &["slack", "link", "ABC-123"],
            Command::Slack(SlackCommand::Link { code }) => code
        );
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
}
