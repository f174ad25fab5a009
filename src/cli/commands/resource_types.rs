//! `roster resource-types list|add`: the org's catalog of resource types,
//! their actions and the class of each (what built-in roles grant by).

use super::Context;
use crate::cli::output;
use clap::{Args, Subcommand};
use roster_proto::{NewActionRequest, ResourceTypeRequest, ResourceTypeView};

#[derive(Debug, Subcommand)]
pub enum ResourceTypesCommand {
    /// Every resource type with its actions and their classes
    List,
    /// Add a resource type with its actions, or actions to an existing type
    Add(ResourceTypeAddArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ResourceTypeAddArgs {
    /// The type's name, e.g. queues
    pub name: String,
    /// An action with its class (read, write, secret or admin), e.g.
    /// drain:admin; repeatable, or comma-separated
    #[arg(
        long = "action",
        value_name = "NAME:CLASS",
        required = true,
        value_delimiter = ',',
        value_parser = parse_action
    )]
    pub actions: Vec<NewActionRequest>,
    /// What the type is
    #[arg(long)]
    pub description: Option<String>,
}

/// The classes of platform actions.
const ACTION_CLASSES: [&str; 4] = ["read", "write", "secret", "admin"];

/// Parses one `--action NAME:CLASS`, e.g. `drain:admin`.
pub fn parse_action(raw: &str) -> Result<NewActionRequest, String> {
    let bad = || {
        format!(
            "expected NAME:CLASS with CLASS one of {}, e.g. drain:admin",
            ACTION_CLASSES.join(", ")
        )
    };
    let (name, class) = raw.split_once(':').ok_or_else(bad)?;
    let (name, class) = (name.trim(), class.trim().to_ascii_lowercase());
    if name.is_empty() || !ACTION_CLASSES.contains(&class.as_str()) {
        return Err(bad());
    }
    Ok(NewActionRequest {
        name: name.to_string(),
        class,
    })
}

pub async fn run(ctx: &Context, cmd: ResourceTypesCommand) -> anyhow::Result<()> {
    match cmd {
        ResourceTypesCommand::List => list(ctx).await,
        ResourceTypesCommand::Add(args) => add(ctx, args).await,
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    ctx.show_list(&client.resource_types(&org).await?, |types| {
        print_types(types)
    })
}

/// Adds the type (or its new actions); prints the type as it is now, or the
/// whole catalog the server returns as JSON.
async fn add(ctx: &Context, args: ResourceTypeAddArgs) -> anyhow::Result<()> {
    let (org, client) = ctx.org_client().await?;
    let body = ResourceTypeRequest {
        name: args.name.trim().to_string(),
        actions: args.actions,
        description: args.description,
    };
    let catalog = client.add_resource_type(&org, &body).await?;
    ctx.show(&catalog, |catalog| {
        print_types(catalog.iter().filter(|t| t.name == body.name))
    })
}

/// One row per action: grep-friendly (`roster resource-types list | grep
/// clusters`).
fn print_types<'a>(types: impl IntoIterator<Item = &'a ResourceTypeView>) -> anyhow::Result<()> {
    let mut t = output::table(&["TYPE", "ACTION", "CLASS", "DEFAULT"]);
    for rt in types {
        for a in &rt.actions {
            t.add_row(vec![
                rt.name.clone(),
                format!("{}:{}", rt.name, a.name),
                a.class.clone(),
                output::yes_no(a.default),
            ]);
        }
    }
    output::print_table(&t)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::tests::{parse, parse_as, words};
    use crate::cli::Command;

    #[test]
    fn actions_have_a_class() {
        let a = parse_action(" drain : Admin ").unwrap();
        assert_eq!((a.name.as_str(), a.class.as_str()), ("drain", "admin"));
        for bad in ["drain", "drain:", ":admin", "drain:superuser"] {
            assert!(parse_action(bad).is_err(), "{bad:?}");
        }
        let args = parse_as!(
            &words("resource-types add queues --action drain:admin,peek:read --action purge:write"),
            Command::ResourceTypes(ResourceTypesCommand::Add(args)) => args
        );
        let names: Vec<&str> = args.actions.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["drain", "peek", "purge"]);
        assert!(
            parse(&["resource-types", "add", "queues"]).is_err(),
            "no action"
        );
    }
}
