//! `roster outbox undelivered`: the org's messages that have not been
//! delivered (still being retried, or given up), with the last error.

use super::Context;
use crate::cli::output;
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
    let org = ctx.org()?;
    let messages = ctx.client()?.undelivered(&org).await?;
    if ctx.json() {
        return output::json(&messages);
    }
    print_messages(&messages)?;
    if messages.is_empty() {
        output::note(format!("No undelivered messages in {org}."));
    }
    Ok(())
}

fn print_messages(messages: &[UndeliveredMessageView]) -> anyhow::Result<()> {
    let mut t = output::table(&[
        "ID",
        "KIND",
        "TO",
        "SUBJECT",
        "ATTEMPTS",
        "LAST ERROR",
        "FAILED AT",
    ]);
    for m in messages {
        t.add_row(vec![
            m.id.to_string(),
            m.kind.clone(),
            m.recipient.clone(),
            output::or_dash(&m.subject),
            m.attempts.to_string(),
            output::truncate(&one_line(&m.last_error), ERROR_WIDTH),
            output::opt_time(m.failed_at.as_deref()),
        ]);
    }
    output::print_table(&t)?;
    Ok(())
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
