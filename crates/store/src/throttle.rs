//! Failed sign-in counters in fixed windows, shared by every replica.

use crate::sql::{exec, exec_count, fetch_all};
use crate::{Conn, Result};

/// The current windows of `keys` (windows that started after
/// `window_start_after`): (key, window start, failures), in one query.
pub async fn failures(
    conn: &mut Conn,
    keys: &[&str; 2],
    window_start_after: i64,
) -> Result<Vec<(String, i64, i64)>> {
    fetch_all(
        conn,
        "SELECT throttle_key, window_start, failures FROM login_failures
         WHERE throttle_key IN ($1, $2) AND window_start > $3",
        (keys[0], keys[1], window_start_after),
    )
    .await
}

/// Counts one failure for `key`: a new window if the current one started
/// at or before `window_start_after`. One statement, so concurrent failures
/// from several replicas all count.
pub async fn record_failure(
    conn: &mut Conn,
    key: &str,
    now: i64,
    window_start_after: i64,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO login_failures (throttle_key, window_start, failures) VALUES ($1, $2, 1)
         ON CONFLICT (throttle_key) DO UPDATE SET
             failures = CASE WHEN login_failures.window_start > $3 THEN login_failures.failures + 1 ELSE 1 END,
             window_start = CASE WHEN login_failures.window_start > $3 THEN login_failures.window_start ELSE $2 END",
        (key, now, window_start_after),
    )
    .await
}

pub async fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    exec(
        conn,
        "DELETE FROM login_failures WHERE throttle_key = $1",
        (key,),
    )
    .await
}

/// Drops counters whose window ended (housekeeping).
pub async fn prune(conn: &mut Conn, window_start_before: i64) -> Result<u64> {
    let text = "DELETE FROM login_failures WHERE window_start <= $1";
    exec_count(conn, text, (window_start_before,)).await
}
