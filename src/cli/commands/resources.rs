//! `roster resources create|list|show|update|delete`: the org's registered
//! resources, the tree they form, the groups they admit and their review
//! policies.

use super::{confirm, pages, Context};
use crate::cli::output::{self, Row};
use crate::cli::{parse_comma_list, parse_resource_key, CommaList, ConfirmArgs, PageArgs};
use anyhow::bail;
use clap::{ArgGroup, Args, Subcommand};
use roster_client::{Client, ResourceQuery};
use roster_proto::{ResourceRequest, ResourceUpdateRequest, ResourceView, ReviewPolicyView};

#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// Register a resource, optionally under a parent, admitting only some
    /// groups, with a review policy
    Create(ResourceCreateArgs),
    /// The organization's resources, with filters
    List(ResourceListArgs),
    /// One resource
    Show {
        /// The resource, e.g. clusters/eu-1
        #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
        key: String,
    },
    /// Change a resource's parent, groups or review policy
    Update(ResourceUpdateArgs),
    /// Delete a resource with its access rules and requests
    Delete {
        /// The resource, e.g. clusters/eu-1
        #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
        key: String,
        /// Also delete everything below it
        #[arg(long)]
        cascade: bool,
        #[command(flatten)]
        confirm: ConfirmArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ResourceCreateArgs {
    /// The resource, e.g. clusters/eu-1
    #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub key: String,
    /// The resource it belongs under, e.g. environments/prod
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub parent: Option<String>,
    /// Only members of these groups may act on it and below it, comma-separated
    #[arg(long, value_name = "GROUPS", value_parser = parse_comma_list)]
    pub groups: Option<CommaList>,
    /// Actions that need an approved review request here and below,
    /// comma-separated, e.g. clusters:deploy,clusters:delete
    #[arg(long, value_name = "ACTIONS", value_parser = parse_comma_list)]
    pub review_actions: Option<CommaList>,
    /// How many approvals a review request needs [default: 1]
    #[arg(long, value_name = "N", requires = "review_actions", value_parser = clap::value_parser!(i64).range(1..=10))]
    pub approvals: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct ResourceListArgs {
    /// Only resources of this type
    #[arg(long = "type", value_name = "TYPE")]
    pub resource_type: Option<String>,
    /// Only the children of this resource
    #[arg(long, value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub parent: Option<String>,
    /// With --action: only those this member (email or id) may do the action on
    #[arg(long, value_name = "EMAIL", requires = "action")]
    pub user: Option<String>,
    /// With --user: the action, e.g. clusters:deploy
    #[arg(long, value_name = "TYPE:ACTION", requires = "user")]
    pub action: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

pages::list_args!(ResourceListArgs => ResourceQuery { resource_type, parent, user, action });

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("changes").required(true).multiple(true)))]
pub struct ResourceUpdateArgs {
    /// The resource, e.g. clusters/eu-1
    #[arg(value_name = "TYPE/NAME", value_parser = parse_resource_key)]
    pub key: String,
    /// Move it under this resource
    #[arg(long, group = "changes", value_name = "TYPE/NAME", value_parser = parse_resource_key, conflicts_with = "no_parent")]
    pub parent: Option<String>,
    /// Make it a root, with no parent
    #[arg(long, group = "changes")]
    pub no_parent: bool,
    /// Groups, comma-separated; replaces the current set ("" clears)
    #[arg(long, group = "changes", value_name = "GROUPS", value_parser = parse_comma_list, conflicts_with = "no_groups")]
    pub groups: Option<CommaList>,
    /// Name no groups: every member with a grant may act on it
    #[arg(long, group = "changes")]
    pub no_groups: bool,
    /// Actions that need review, comma-separated; replaces the policy's
    /// actions [default: the current ones]
    #[arg(long, group = "changes", value_name = "ACTIONS", value_parser = parse_comma_list)]
    pub review_actions: Option<CommaList>,
    /// How many approvals a review request needs [default: the current number, else 1]
    #[arg(long, group = "changes", value_name = "N", value_parser = clap::value_parser!(i64).range(1..=10))]
    pub approvals: Option<i64>,
    /// Remove the review policy
    #[arg(long, group = "changes", conflicts_with_all = ["review_actions", "approvals"])]
    pub no_review: bool,
}

pub async fn run(ctx: &Context, cmd: ResourcesCommand) -> anyhow::Result<()> {
    match cmd {
        ResourcesCommand::Create(args) => create(ctx, args).await,
        ResourcesCommand::List(args) => {
            pages::list(ctx, args, "resources", Client::list_resources).await
        }
        ResourcesCommand::Show { key } => show(ctx, &key).await,
        ResourcesCommand::Update(args) => update(ctx, args).await,
        ResourcesCommand::Delete {
            key,
            cascade,
            confirm,
        } => delete(ctx, &key, cascade, confirm).await,
    }
}

async fn create(ctx: &Context, args: ResourceCreateArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = ResourceRequest {
        key: args.key,
        parent: args.parent,
        groups: args.groups.map(CommaList::into_vec).unwrap_or_default(),
        review: args.review_actions.map(|actions| ReviewPolicyView {
            actions: actions.into_vec(),
            approvals: args.approvals.unwrap_or(1),
        }),
    };
    ctx.show(&client.create_resource(&org, &body).await?, print_resource)
}

impl Row for ResourceView {
    const HEADER: &'static [&'static str] = &["KEY", "PARENT", "GROUPS", "REVIEW", "CREATED"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.key.clone(),
            self.parent.clone().unwrap_or_else(|| "-".to_string()),
            output::list(&self.groups),
            review(self.review.as_ref()),
            output::time(&self.created_at),
        ]
    }
}

async fn show(ctx: &Context, key: &str) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show(&client.resource(&org, key).await?, print_resource)
}

async fn update(ctx: &Context, args: ResourceUpdateArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let parent = if args.no_parent {
        Some(None)
    } else {
        args.parent.map(Some)
    };
    let groups = if args.no_groups {
        Some(Vec::new())
    } else {
        args.groups.map(CommaList::into_vec)
    };
    let actions = args.review_actions.map(CommaList::into_vec);
    let review = match (args.no_review, actions, args.approvals) {
        (true, _, _) => Some(None),
        (false, None, None) => None,
        (false, Some(actions), Some(approvals)) => {
            Some(Some(ReviewPolicyView { actions, approvals }))
        }
        // Half a policy: the other half is the current one's.
        (false, actions, approvals) => {
            let current = client.resource(&org, &args.key).await?;
            Some(Some(merge_policy(
                &args.key,
                actions,
                approvals,
                current.review,
            )?))
        }
    };
    let body = ResourceUpdateRequest {
        parent,
        groups,
        review,
    };
    ctx.show(
        &client.update_resource(&org, &args.key, &body).await?,
        print_resource,
    )
}

/// A review policy from the flags given and the current policy: new
/// actions keep the current number of approvals (else 1); a new number
/// keeps the current actions (there must be some).
fn merge_policy(
    key: &str,
    actions: Option<Vec<String>>,
    approvals: Option<i64>,
    current: Option<ReviewPolicyView>,
) -> anyhow::Result<ReviewPolicyView> {
    let current_approvals = current.as_ref().map(|p| p.approvals);
    let actions = match (actions, current) {
        (Some(actions), _) => actions,
        (None, Some(current)) => current.actions,
        (None, None) => {
            bail!("{key} has no review policy; pass --review-actions with --approvals")
        }
    };
    Ok(ReviewPolicyView {
        actions,
        approvals: approvals.or(current_approvals).unwrap_or(1),
    })
}

/// Deletes a resource (and, with `cascade`, everything below it) after a
/// confirmation (or `--yes`).
async fn delete(ctx: &Context, key: &str, cascade: bool, flag: ConfirmArgs) -> anyhow::Result<()> {
    let org = ctx.org().await?;
    let below = if cascade {
        " and everything below it"
    } else {
        ""
    };
    confirm(
        flag,
        &format!("delete {key} of {org}"),
        "not deleted",
        async || {
            Ok(format!(
                "Delete {key} of {org}{below}, with the access rules and requests on it?"
            ))
        },
    )
    .await?;
    match ctx.client()?.delete_resource(&org, key, cascade).await {
        Err(e) if e.code() == Some("resource_has_children") => bail!("{e} (pass --cascade)"),
        other => other?,
    }
    ctx.done(format!("Deleted {key}{below} from {org}."))
}

/// Prints a resource.
fn print_resource(r: &ResourceView) -> anyhow::Result<()> {
    output::fields(&[
        ("Key", r.key.clone()),
        (
            "Parent",
            r.parent.clone().unwrap_or_else(|| "- (a root)".to_string()),
        ),
        ("Groups", output::list(&r.groups)),
        ("Review", review(r.review.as_ref())),
        ("Created", output::time(&r.created_at)),
        ("Updated", output::time(&r.updated_at)),
    ])?;
    Ok(())
}

/// A review policy as `clusters:deploy,clusters:delete (2 approvals)`, `-`
/// for none.
fn review(policy: Option<&ReviewPolicyView>) -> String {
    match policy {
        Some(p) => format!(
            "{} ({})",
            output::list(&p.actions),
            output::count(p.approvals, "approval")
        ),
        None => "-".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{list, parse, parse_as, words};
    use crate::cli::Command;

    fn policy(actions: &[&str], approvals: i64) -> ReviewPolicyView {
        ReviewPolicyView {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            approvals,
        }
    }

    #[test]
    fn half_a_policy_keeps_the_other_half() {
        let current = Some(policy(&["clusters:deploy"], 2));
        let p = merge_policy(
            "c/x",
            Some(vec!["clusters:delete".into()]),
            None,
            current.clone(),
        )
        .unwrap();
        assert_eq!(
            (p.actions, p.approvals),
            (vec!["clusters:delete".into()], 2)
        );
        let p = merge_policy("c/x", None, Some(3), current).unwrap();
        assert_eq!(
            (p.actions, p.approvals),
            (vec!["clusters:deploy".into()], 3)
        );
        let p = merge_policy("c/x", Some(vec!["clusters:deploy".into()]), None, None).unwrap();
        assert_eq!(p.approvals, 1);
        let err = merge_policy("c/x", None, Some(2), None).unwrap_err();
        assert!(err.to_string().contains("--review-actions"), "{err}");
    }

    #[test]
    fn policies_read_on_one_line() {
        assert_eq!(review(None), "-");
        assert_eq!(
            review(Some(&policy(&["clusters:deploy", "clusters:delete"], 2))),
            "clusters:deploy,clusters:delete (2 approvals)"
        );
        assert_eq!(
            review(Some(&policy(&["clusters:deploy"], 1))),
            "clusters:deploy (1 approval)"
        );
    }

    #[test]
    fn resource_updates_take_one_side_of_each_flag_pair() {
        let args = parse_as!(
            &words("resources update clusters/eu-1 --no-parent --groups dev"),
            Command::Resources(ResourcesCommand::Update(args)) => args
        );
        assert!(args.no_parent && !args.no_groups && !args.no_review);
        assert_eq!(args.groups, Some(list(&["dev"])));
        assert!(
            parse(&["resources", "update", "clusters/eu-1"]).is_err(),
            "nothing to change"
        );
        for pair in [
            ["--parent", "projects/p", "--no-parent"],
            ["--groups", "dev", "--no-groups"],
            ["--approvals", "2", "--no-review"],
        ] {
            let mut args = vec!["resources", "update", "clusters/eu-1"];
            args.extend(pair);
            assert!(parse(&args).is_err(), "{pair:?}");
        }
        assert!(parse(&["resources", "update", "clusters/eu-1", "--approvals", "11"]).is_err());
        assert!(parse(&["resources", "update", "clusters", "--no-review"]).is_err());
        assert!(
            parse(&["resources", "create", "clusters/eu-1", "--approvals", "2"]).is_err(),
            "approvals need review actions"
        );
        assert!(
            parse(&["resources", "list", "--user", "a@x.com"]).is_err(),
            "needs --action"
        );
        assert!(parse(&["resources", "list", "--type", "clusters", "--all"]).is_ok());
    }
}
