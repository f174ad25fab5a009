//! `roster audit list|export`: the org's audit log as a table, with filters,
//! or downloaded whole as CSV or JSON Lines.

use super::{pages, Context};
use crate::cli::output::{self, Row};
use crate::cli::PageArgs;
use clap::{Args, Subcommand};
use roster_client::{AuditQuery, Client};
use roster_proto::{AuditEventView, AuditVerifyView};
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit events, newest first
    List(AuditListArgs),
    /// Every matching event as CSV or JSON Lines (to stdout, or --file), with the chain's head
    Export(AuditExportArgs),
    /// Recompute the org's hash chain: `ok` with the count and head hash, or
    /// the first edited, missing or reordered event (exit status 1)
    ///
    /// With --no-org, the chain of the events that belong to no org
    /// (everyone's password, second-factor and session events) instead: an
    /// operator's check, run on the server's machine against its database
    /// (the same --config, ROSTER_* and flags as `roster serve`), not
    /// through the API.
    Verify(VerifyArgs),
    /// Your own events: those of no org (password changes and the like)
    Me(MyAuditArgs),
    /// Show how long the org keeps its events, or set it (needs org:manage)
    Retention(RetentionArgs),
}

#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("config", |a| a.requires("no_org")),
    mut_arg("data_dir", |a| a.requires("no_org")),
    mut_arg("database_url", |a| a.requires("no_org")),
    after_help = "Examples:
  roster audit verify                                   # the current org's chain, through the API
  roster audit verify --no-org --data-dir /var/lib/roster
  roster audit verify --no-org --database-url postgres://roster@db/roster"
)]
pub struct VerifyArgs {
    /// Verify the chain of events of no org, against the server's database
    #[arg(long)]
    pub no_org: bool,
    #[command(flatten)]
    pub server: super::backup::LocalServerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MyAuditArgs {
    /// At most N events
    #[arg(long, value_name = "N")]
    pub limit: Option<i64>,
    /// Continue from a previous page's cursor
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct RetentionArgs {
    /// Keep events this many days (1 to 36500); older ones are pruned
    #[arg(long, value_name = "N")]
    pub days: Option<i64>,
    /// Keep events forever
    #[arg(long)]
    pub forever: bool,
}

/// The filters of `roster audit list` and `roster audit export`.
#[derive(Debug, Clone, Args)]
pub struct AuditFilterArgs {
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
}

impl AuditFilterArgs {
    /// The query of these filters, from the first page.
    fn into_query(self) -> AuditQuery {
        AuditQuery {
            actor: self.actor,
            action: self.action,
            target: self.target,
            since: self.since,
            until: self.until,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Args)]
// An export names the action filter's other form, the prefix.
#[command(mut_arg("action", |a| a.help("Only this action, or a prefix ending in `.`")))]
pub struct AuditExportArgs {
    /// csv or jsonl
    #[arg(long, value_parser = ["csv", "jsonl"], default_value = "csv")]
    pub format: String,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub filter: AuditFilterArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AuditListArgs {
    #[command(flatten)]
    pub filter: AuditFilterArgs,
    #[command(flatten)]
    pub page: PageArgs,
}

impl pages::ListArgs for AuditListArgs {
    type Query = AuditQuery;

    fn into_query(self) -> (AuditQuery, PageArgs) {
        (self.filter.into_query(), self.page)
    }
}

/// Details longer than this are cut in the table (`--output json` has them
/// whole).
const DETAILS_WIDTH: usize = 80;

pub async fn run(ctx: &Context, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::List(args) => pages::list(ctx, args, "events", Client::audit).await,
        AuditCommand::Export(args) => export(ctx, args).await,
        AuditCommand::Verify(args) if args.no_org => verify_no_org(ctx, args).await,
        AuditCommand::Verify(_) => verify(ctx).await,
        AuditCommand::Me(args) => mine(ctx, args).await,
        AuditCommand::Retention(args) => retention(ctx, args).await,
    }
}

async fn verify(ctx: &Context) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let v = client.audit_verify(&org).await?;
    show_verdict(ctx, &v)?;
    if !v.ok {
        anyhow::bail!("the audit log of {org} does not verify");
    }
    Ok(())
}

async fn verify_no_org(ctx: &Context, args: VerifyArgs) -> anyhow::Result<()> {
    let config = args.server.config()?;
    let v = roster_server::operator::verify_no_org_chain(&config).await?;
    show_verdict(ctx, &v)?;
    if !v.ok {
        anyhow::bail!("the audit log of events of no org does not verify");
    }
    Ok(())
}

/// `ok: N events, head H`, or the first break: `KIND: event #N: REASON`.
fn show_verdict(ctx: &Context, v: &AuditVerifyView) -> anyhow::Result<()> {
    ctx.show(v, |v| {
        match &v.first_break {
            None => output::line(format!(
                "ok: {} events, head {}{}",
                v.count,
                v.head_hash,
                if v.pruned > 0 {
                    format!(" ({} pruned; checkpoint {})", v.pruned, v.checkpoint_hash)
                } else {
                    String::new()
                }
            ))?,
            Some(b) => output::line(format!("{}: event #{}: {}", b.kind, b.seq, b.reason))?,
        }
        Ok(())
    })
}

async fn mine(ctx: &Context, args: MyAuditArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let page = client.my_audit(args.limit, args.cursor.as_deref()).await?;
    ctx.show(&page, |page| {
        output::rows(&page.items)?;
        if page.items.is_empty() {
            output::note("No events of your own yet.");
        }
        if let Some(c) = &page.next_cursor {
            output::note(format!("More: --cursor {c}"));
        }
        Ok(())
    })
}

async fn retention(ctx: &Context, args: RetentionArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let r = if args.forever {
        client.set_audit_retention(&org, None).await?
    } else if let Some(days) = args.days {
        client.set_audit_retention(&org, Some(days)).await?
    } else {
        client.audit_retention(&org).await?
    };
    ctx.show_line(&r, |r| match r.days {
        Some(d) => format!("{org} keeps its audit events {d} days"),
        None => format!("{org} keeps its audit events forever"),
    })
}

async fn export(ctx: &Context, args: AuditExportArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let query = args.filter.into_query();
    let text = client.audit_export(&org, &query, &args.format).await?;
    match args.file {
        Some(path) => {
            std::fs::write(&path, text.as_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            output::note(format!(
                "Wrote {} events to {}.",
                // Less the head line (and the CSV's column names).
                text.lines()
                    .count()
                    .saturating_sub(if args.format == "csv" { 2 } else { 1 }),
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

impl Row for AuditEventView {
    const HEADER: &'static [&'static str] =
        &["TIME", "ACTOR", "CHANNEL", "ACTION", "TARGET", "DETAILS"];

    fn cells(&self) -> Vec<String> {
        vec![
            output::time(&self.at),
            actor(self),
            self.channel.clone(),
            self.action.clone(),
            output::or_dash(&self.target),
            output::truncate(&details(&self.details), DETAILS_WIDTH),
        ]
    }
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
