//! `roster audit list|export`: the org's audit log as a table, with filters,
//! or downloaded whole as CSV or JSON Lines.

use super::pages;
use super::Context;
use crate::cli::output;
use crate::cli::PageArgs;
use clap::{Args, Subcommand};
use roster_client::AuditQuery;
use roster_proto::{AuditEventView, Page};
use serde_json::Value;

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

/// Details longer than this are cut in the table (`--output json` has them
/// whole).
const DETAILS_WIDTH: usize = 80;

pub async fn run(ctx: &Context, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::List(args) => list(ctx, args).await,
        AuditCommand::Export(args) => export(ctx, args).await,
    }
}

async fn export(ctx: &Context, args: AuditExportArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let query = AuditQuery {
        actor: args.actor,
        action: args.action,
        target: args.target,
        since: args.since,
        until: args.until,
        limit: None,
        cursor: None,
    };
    let text = ctx
        .client()?
        .audit_export(&org, &query, &args.format)
        .await?;
    match args.file {
        Some(path) => {
            std::fs::write(&path, text.as_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            output::note(format!(
                "Wrote {} events to {}.",
                text.lines()
                    .count()
                    .saturating_sub(usize::from(args.format == "csv")),
                path.display()
            ));
            Ok(())
        }
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(())
        }
    }
}

async fn list(ctx: &Context, args: AuditListArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let client = ctx.client()?;
    let query = AuditQuery {
        actor: args.actor,
        action: args.action,
        target: args.target,
        since: args.since,
        until: args.until,
        limit: args.page.limit,
        cursor: args.page.cursor,
    };
    let page = pages::list(query, args.page.all, async |q| client.audit(&org, q).await).await?;
    print_page(ctx, &page)
}

fn print_page(ctx: &Context, page: &Page<AuditEventView>) -> anyhow::Result<()> {
    if ctx.json() {
        return output::json(page);
    }
    let mut t = output::table(&["TIME", "ACTOR", "CHANNEL", "ACTION", "TARGET", "DETAILS"]);
    for e in &page.items {
        t.add_row(vec![
            output::time(&e.at),
            actor(e),
            e.channel.clone(),
            e.action.clone(),
            output::or_dash(&e.target),
            output::truncate(&details(&e.details), DETAILS_WIDTH),
        ]);
    }
    output::print_table(&t)?;
    pages::note_more("events", page.next_cursor.as_deref());
    Ok(())
}

/// Who did it: their email as it was then, else their name, else `system`.
fn actor(e: &AuditEventView) -> String {
    if !e.actor.email.is_empty() {
        e.actor.email.clone()
    } else if !e.actor.name.is_empty() {
        e.actor.name.clone()
    } else {
        "system".to_string()
    }
}

/// An event's details on one line: `key=value` pairs for an object (strings
/// unquoted), compact JSON for anything else, nothing for null or `{}`.
fn details(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_read_as_key_value_pairs() {
        assert_eq!(details(&json!(null)), "");
        assert_eq!(details(&json!({})), "");
        assert_eq!(
            details(&json!({"groups": ["dev"], "mfa": false, "role": "admin"})),
            r#"groups=["dev"] mfa=false role=admin"#
        );
        assert_eq!(details(&json!([1, 2])), "[1,2]");
    }
}
