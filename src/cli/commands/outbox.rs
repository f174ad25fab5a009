//! `roster outbox undelivered`: the org's messages that have not been
//! delivered (still being retried, or given up), with the last error.

use super::Context;
use crate::cli::output::{self, Row};
use clap::Subcommand;
use roster_proto::UndeliveredMessageView;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Messages still being retried or given up, with the last error
    Undelivered,
}

/// Errors longer than this are cut in the table (`--output json` has them
/// whole).
const ERROR_WIDTH: usize = 60;

pub async fn run(ctx: &Context, cmd: OutboxCommand) -> anyhow::Result<()> {
    match cmd {
        OutboxCommand::Undelivered => undelivered(ctx).await,
    }
}

async fn undelivered(ctx: &Context) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show_list(&client.undelivered(&org).await?, |messages| {
        output::rows(messages)?;
        if messages.is_empty() {
            output::note(format!("No undelivered messages in {org}."));
        }
        Ok(())
    })
}

impl Row for UndeliveredMessageView {
    const HEADER: &'static [&'static str] = &[
        "ID",
        "KIND",
        "TO",
        "SUBJECT",
        "ATTEMPTS",
        "LAST ERROR",
        "FAILED AT",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.kind.clone(),
            self.recipient.clone(),
            output::or_dash(&self.subject),
            self.attempts.to_string(),
            output::truncate(&one_line(&self.last_error), ERROR_WIDTH),
            output::opt_time(self.failed_at.as_deref()),
        ]
    }
}

/// An error message on one line, `-` when there is none.
fn one_line(text: &str) -> String {
    output::or_dash(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::parse;

    #[test]
    fn errors_are_shown_on_one_line() {
        assert_eq!(one_line(""), "-");
        assert_eq!(
            one_line("smtp: 451\n  try again later"),
            "smtp: 451 try again later"
        );
    }

    #[test]
    fn undelivered_takes_no_arguments() {
        assert!(parse(&["outbox", "undelivered"]).is_ok());
    }
}
