//! `roster resource-types list|add`: the org's catalog of resource types,
//! their actions and the class of each (what built-in roles grant by).

use super::Context;
use crate::cli::output;
use crate::cli::{ResourceTypeAddArgs, ResourceTypesCommand};
use roster_proto::{ResourceTypeRequest, ResourceTypeView};

pub async fn run(ctx: &Context, cmd: ResourceTypesCommand) -> anyhow::Result<()> {
    match cmd {
        ResourceTypesCommand::List => list(ctx).await,
        ResourceTypesCommand::Add(args) => add(ctx, args).await,
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let types = ctx.client()?.resource_types(&org).await?;
    if ctx.json() {
        return output::json(&types);
    }
    print_types(&types)
}

/// Adds the type (or its new actions); prints the type as it is now, or the
/// whole catalog the server returns as JSON.
async fn add(ctx: &Context, args: ResourceTypeAddArgs) -> anyhow::Result<()> {
    let org = ctx.org()?;
    let body = ResourceTypeRequest {
        name: args.name.trim().to_string(),
        actions: args.actions,
        description: args.description,
    };
    let catalog = ctx.client()?.add_resource_type(&org, &body).await?;
    if ctx.json() {
        return output::json(&catalog);
    }
    let added: Vec<ResourceTypeView> = catalog
        .into_iter()
        .filter(|t| t.name == body.name)
        .collect();
    print_types(&added)
}

/// One row per action: grep-friendly (`roster resource-types list | grep
/// clusters`).
fn print_types(types: &[ResourceTypeView]) -> anyhow::Result<()> {
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
