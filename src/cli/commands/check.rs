//! `roster check`: may a member do an action, org-wide or on a resource?
//!
//! A denial is an answer, not a failure: the command exits 0 whenever the
//! server answered, and 1 only when it could not (an unknown action or
//! resource, no permission to ask, ...).

use super::Context;
use crate::cli::parse_resource_key;
use clap::Args;
use roster_proto::{CheckRequest, CheckResponse};

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The member, by email or user id
    #[arg(long, value_name = "EMAIL")]
    pub user: String,
    /// TYPE:ACTION, e.g. clusters:deploy, or a management permission such as users:invite
    #[arg(long, value_name = "TYPE:ACTION")]
    pub action: String,
    /// The resource [default: the organization as a whole]
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub resource: Option<String>,
}

pub async fn run(ctx: &Context, args: CheckArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = CheckRequest {
        user: args.user.trim().to_string(),
        action: args.action.trim().to_string(),
        resource: args.resource,
    };
    ctx.show_line(&client.check(&org, &body).await?, decision_line)
}

/// `allowed: REASON` or `denied: REASON`, without repeating a `denied: `
/// the reason starts with.
fn decision_line(answer: &CheckResponse) -> String {
    let word = if answer.allowed { "allowed" } else { "denied" };
    let prefix = format!("{word}: ");
    let reason = answer
        .reason
        .strip_prefix(&prefix)
        .unwrap_or(&answer.reason);
    format!("{prefix}{reason}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{parse, parse_as};
    use crate::cli::Command;

    fn answer(allowed: bool, reason: &str) -> CheckResponse {
        CheckResponse {
            allowed,
            reason: reason.into(),
            code: "x".into(),
            rule_id: None,
            request_id: None,
        }
    }

    #[test]
    fn the_decision_comes_first_once() {
        assert_eq!(
            decision_line(&answer(
                true,
                "allowed by access rule 3: group dev has role devops on projects/payments"
            )),
            "allowed: allowed by access rule 3: group dev has role devops on projects/payments"
        );
        assert_eq!(
            decision_line(&answer(false, "denied: no role grants clusters:deploy")),
            "denied: no role grants clusters:deploy"
        );
        assert_eq!(
            decision_line(&answer(false, "the user is not a member")),
            "denied: the user is not a member"
        );
    }

    #[test]
    fn checks_parse() {
        let args = parse_as!(
            &["check", "--user", "a@x.com", "--action", "clusters:deploy"],
            Command::Check(args) => args
        );
        assert_eq!(args.resource, None);
        assert!(parse(&["check", "--action", "clusters:deploy"]).is_err());
    }
}
