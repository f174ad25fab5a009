//! `roster requests create|list|show|approve|reject`: review requests for
//! actions a resource's review policy holds back until approved.

use super::{pages, Context};
use crate::cli::output::{self, Row};
use crate::cli::{parse_resource_key, PageArgs};
use clap::{Args, Subcommand};
use roster_client::{Client, ReviewRequestQuery};
use roster_proto::{
    ReviewDecisionRequest, ReviewRequestRequest, ReviewRequestView, ReviewVoteView,
};

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Ask for review of an action on a resource whose policy needs it
    Create(RequestCreateArgs),
    /// Review requests, oldest first
    List(RequestListArgs),
    /// One request with its votes
    Show {
        /// The request's id
        id: i64,
    },
    /// Approve a pending request, as an eligible reviewer
    Approve(DecisionArgs),
    /// Reject a pending request, as an eligible reviewer; one rejection ends it
    Reject(DecisionArgs),
}

/// A reviewer's vote on a request.
#[derive(Debug, Clone, Args)]
pub struct DecisionArgs {
    /// The request's id
    pub id: i64,
    /// A word for the requester
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RequestCreateArgs {
    /// The resource, e.g. clusters/eu-1
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub resource: String,
    /// The action, e.g. clusters:deploy
    #[arg(long, value_name = "TYPE:ACTION")]
    pub action: String,
    /// Why you need it
    #[arg(long)]
    pub reason: String,
    /// How long the action stays allowed once approved: 30m, 2h, 1d, 1h30m
    /// or a number of seconds
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: i64,
}

#[derive(Debug, Clone, Args)]
pub struct RequestListArgs {
    /// Only this status
    #[arg(long, value_parser = ["pending", "approved", "rejected"])]
    pub status: Option<String>,
    /// Only your own requests
    #[arg(long)]
    pub mine: bool,
    #[command(flatten)]
    pub page: PageArgs,
}

pages::list_args!(RequestListArgs => ReviewRequestQuery { status, mine });

/// Parses a duration into seconds: `3600`, `90s`, `30m`, `2h`, `1d`, or a
/// sum such as `1h30m`.
pub fn parse_duration(raw: &str) -> Result<i64, String> {
    let bad =
        || format!("expected a duration such as 30m, 2h, 1d or a number of seconds, not {raw:?}");
    let text = raw.trim();
    if let Ok(n) = text.parse::<i64>() {
        return if n > 0 { Ok(n) } else { Err(bad()) };
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || total <= 0 {
        return Err(bad());
    }
    Ok(total)
}

pub async fn run(ctx: &Context, cmd: RequestsCommand) -> anyhow::Result<()> {
    match cmd {
        RequestsCommand::Create(args) => create(ctx, args).await,
        RequestsCommand::List(args) => {
            pages::list(ctx, args, "requests", Client::list_review_requests).await
        }
        RequestsCommand::Show { id } => show(ctx, id).await,
        RequestsCommand::Approve(args) => decide(ctx, args, true).await,
        RequestsCommand::Reject(args) => decide(ctx, args, false).await,
    }
}

async fn create(ctx: &Context, args: RequestCreateArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = ReviewRequestRequest {
        resource: args.resource,
        action: args.action.trim().to_string(),
        reason: args.reason,
        duration_seconds: args.duration,
    };
    let request = client.create_review_request(&org, &body).await?;
    ctx.show(&request, |request| {
        print_request(request)?;
        output::note(format!(
            "Request {} waits for {}; the reviewers have been told. See it with `roster requests show {}`.",
            request.id,
            output::count(request.approvals_required, "approval"),
            request.id
        ));
        Ok(())
    })
}

impl Row for ReviewRequestView {
    const HEADER: &'static [&'static str] = &[
        "ID",
        "REQUESTER",
        "ACTION",
        "RESOURCE",
        "STATUS",
        "DURATION",
        "CREATED",
        "EXPIRES",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.requester.clone(),
            self.action.clone(),
            self.resource.clone(),
            self.status.clone(),
            output::seconds(self.duration_seconds),
            output::time(&self.created_at),
            output::opt_time(self.expires_at.as_deref()),
        ]
    }
}

async fn show(ctx: &Context, id: i64) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show(&client.review_request(&org, id).await?, print_request)
}

/// Approves (`approve`) or rejects a request, then says where it stands.
async fn decide(ctx: &Context, args: DecisionArgs, approve: bool) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = ReviewDecisionRequest {
        comment: args.comment,
    };
    let request = if approve {
        client.approve_review_request(&org, args.id, &body).await?
    } else {
        client.reject_review_request(&org, args.id, &body).await?
    };
    ctx.show_line(&request, standing)
}

/// Where a request stands after a vote, in one line.
fn standing(r: &ReviewRequestView) -> String {
    match r.status.as_str() {
        "approved" => format!(
            "Request {} is approved: {} may do {} on {} until {}.",
            r.id,
            r.requester,
            r.action,
            r.resource,
            output::opt_time(r.expires_at.as_deref())
        ),
        "pending" => format!(
            "Approval recorded; request {} has {} of the {} it needs.",
            r.id,
            r.votes.iter().filter(|v| v.decision == "approve").count(),
            output::count(r.approvals_required, "approval")
        ),
        status => format!("Request {} is {status}.", r.id),
    }
}

fn print_request(r: &ReviewRequestView) -> anyhow::Result<()> {
    output::fields(&[
        ("ID", r.id.to_string()),
        ("Requester", r.requester.clone()),
        ("Action", r.action.clone()),
        ("Resource", r.resource.clone()),
        ("Reason", r.reason.clone()),
        ("Duration", output::seconds(r.duration_seconds)),
        ("Approvals needed", r.approvals_required.to_string()),
        ("Status", r.status.clone()),
        ("Created", output::time(&r.created_at)),
        ("Decided", output::opt_time(r.decided_at.as_deref())),
        ("Expires", output::opt_time(r.expires_at.as_deref())),
    ])?;
    if r.votes.is_empty() {
        return Ok(());
    }
    output::line("")?;
    output::rows(&r.votes)?;
    Ok(())
}

impl Row for ReviewVoteView {
    const HEADER: &'static [&'static str] = &["REVIEWER", "DECISION", "COMMENT", "AT"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.reviewer.clone(),
            self.decision.clone(),
            output::or_dash(&self.comment),
            output::time(&self.at),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{parse, parse_as, words};
    use crate::cli::Command;

    fn request(status: &str, required: i64, approvals: usize) -> ReviewRequestView {
        ReviewRequestView {
            id: 5,
            requester: "jim@dm.test".into(),
            resource: "clusters/eu-1".into(),
            action: "clusters:deploy".into(),
            reason: "hotfix".into(),
            duration_seconds: 7200,
            approvals_required: required,
            status: status.into(),
            created_at: "2025-01-01T00:00:00Z".into(),
            decided_at: None,
            expires_at: (status == "approved").then(|| "2025-01-01T02:00:00Z".into()),
            votes: (0..approvals)
                .map(|_| ReviewVoteView {
                    reviewer: "boss@dm.test".into(),
                    decision: "approve".into(),
                    comment: String::new(),
                    at: "2025-01-01T00:00:00Z".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_standing_says_what_is_left() {
        assert_eq!(
            standing(&request("approved", 1, 1)),
            "Request 5 is approved: jim@dm.test may do clusters:deploy on clusters/eu-1 until 2025-01-01 02:00:00."
        );
        assert_eq!(
            standing(&request("pending", 2, 1)),
            "Approval recorded; request 5 has 1 of the 2 approvals it needs."
        );
        assert_eq!(
            standing(&request("rejected", 1, 0)),
            "Request 5 is rejected."
        );
    }

    #[test]
    fn durations_take_units_or_seconds() {
        assert_eq!(parse_duration("3600").unwrap(), 3600);
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration(" 2h ").unwrap(), 7200);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400);
        assert_eq!(parse_duration("2H").unwrap(), 7200);
        for bad in ["", "0", "-5", "h", "2x", "2h30", "1.5h", "two hours", "0m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("99999999999999999d").is_err(), "overflow");
    }

    #[test]
    fn requests_parse() {
        let args = parse_as!(
            &words(
                "requests create --resource clusters/eu-1 \
                 --action clusters:deploy --reason hotfix --duration 2h"
            ),
            Command::Requests(RequestsCommand::Create(args)) => args
        );
        assert_eq!(args.duration, 7200);
        assert!(parse(&["requests", "list", "--status", "lost"]).is_err());
        assert!(parse(&["requests", "list", "--mine", "--all"]).is_ok());
        let cli = parse(&["requests", "reject", "4", "--comment", "not now"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Requests(RequestsCommand::Reject(DecisionArgs {
                id: 4,
                comment: Some(_)
            }))
        ));
    }
}
