//! What an operator checks on the server's machine, against its database
//! and not through the API (like `roster backup`): the audit chain of the
//! events that belong to no org. That chain holds everyone's own events
//! (password changes, second factors, sessions), so no org role, and no
//! person, may read all of it; whoever can read the server's
//! configuration and database can (docs/decisions.md, "The audit chain").

use crate::config::Config;
use anyhow::Context;
use roster_proto::AuditVerifyView;
use roster_store::{audit, Store, StoreOptions};

/// Recomputes the chain of events of no org in the database `config`
/// names, which a server of this version must have migrated. Reads only.
pub async fn verify_no_org_chain(config: &Config) -> anyhow::Result<AuditVerifyView> {
    let store = Store::open_migrated(&StoreOptions {
        url: config.database_url.clone(),
        max_connections: 1,
    })
    .await
    .context("cannot open the database")?;
    let verdict = async {
        let mut conn = store.conn().await?;
        audit::verify(&mut conn, audit::chain_of(None)).await
    }
    .await;
    store.close().await;
    let verdict = verdict.context("cannot read the audit log")?;
    Ok(crate::http::views::audit_verdict(&verdict))
}
