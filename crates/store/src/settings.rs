//! Settings of the whole instance, one row per name in
//! `instance_settings`: the key check value.

use crate::sql::{exec, fetch_optional};
use crate::{Conn, Result};
use roster_domain::Timestamp;

/// The keyed hash that tells whether a server runs with the key this
/// database was made with.
pub const KEY_CHECK: &str = "key_check";

/// The value of a setting, if it was ever set.
pub async fn get(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = fetch_optional(
        conn,
        "SELECT value FROM instance_settings WHERE name = $1",
        (name,),
    )
    .await?;
    Ok(row.map(|(v,)| v))
}

/// Sets `name` to `value` unless it is set already; returns the value it
/// has afterwards. Replicas starting together agree on the first one.
pub async fn init(conn: &mut Conn, name: &str, value: &str, now: Timestamp) -> Result<String> {
    exec(
        conn,
        "INSERT INTO instance_settings (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
        (name, value, now),
    )
    .await?;
    Ok(get(conn, name).await?.unwrap_or_else(|| value.to_owned()))
}
