//! One-time setup tokens printed on first start (SPEC §5).

use crate::sql::{exec, exec_count};
use crate::{Conn, Result};
use roster_domain::Timestamp;

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
        (token_hash, now, expires_at),
    )
    .await
}

/// Marks an unused, unexpired token used. Returns whether it was; as one
/// UPDATE, two concurrent redemptions cannot both succeed.
pub async fn redeem(conn: &mut Conn, token_hash: &str, now: Timestamp) -> Result<bool> {
    let redeemed = exec_count(
        conn,
        "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        (now, token_hash),
    )
    .await?;
    Ok(redeemed == 1)
}
