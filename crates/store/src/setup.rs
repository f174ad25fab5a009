//! One-time setup tokens printed on first start (SPEC §5).

use crate::sql::AsColumn;
use crate::{Conn, Result};
use roster_domain::Timestamp;

pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(now.col())
    .bind(expires_at.col())
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks an unused, unexpired token used. Returns whether it was; as one
/// UPDATE, two concurrent redemptions cannot both succeed.
pub async fn redeem(conn: &mut Conn, token_hash: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now.col())
    .bind(token_hash)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
