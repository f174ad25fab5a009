//! Sign-in attempt counters in windows that lengthen on repeated lockouts,
//! shared by every replica.

use crate::sql::{exec, exec_count, fetch_one};
use crate::{Conn, Result};

/// A key's window after one attempt was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub started: i64,
    pub length_ms: i64,
    /// Attempts counted in this window, this one included.
    pub attempts: i64,
}

/// Counts one attempt for `key` and returns its window, in one statement,
/// so that concurrent attempts through any replica each get their own
/// count and exactly `limit` of them can be within it.
///
/// A window that has ended starts again at `now`; its length doubles (up
/// to `max_ms`) when the one that ended reached `limit`, and goes back to
/// `base_ms` otherwise.
pub async fn count_attempt(
    conn: &mut Conn,
    key: &str,
    now: i64,
    limit: i64,
    base_ms: i64,
    max_ms: i64,
) -> Result<Window> {
    let (started, length_ms, attempts): (i64, i64, i64) = fetch_one(
        conn,
        "INSERT INTO login_failures (throttle_key, window_start, failures, window_ms)
         VALUES ($1, $2, 1, $4)
         ON CONFLICT (throttle_key) DO UPDATE SET
             failures = CASE WHEN login_failures.window_start + login_failures.window_ms > $2
                 THEN login_failures.failures + 1 ELSE 1 END,
             window_start = CASE WHEN login_failures.window_start + login_failures.window_ms > $2
                 THEN login_failures.window_start ELSE $2 END,
             window_ms = CASE
                 WHEN login_failures.window_start + login_failures.window_ms > $2
                     THEN login_failures.window_ms
                 WHEN login_failures.failures < $3 THEN $4
                 WHEN login_failures.window_ms * 2 > $5 THEN $5
                 ELSE login_failures.window_ms * 2 END
         RETURNING window_start, window_ms, failures",
        (key, now, limit, base_ms, max_ms),
    )
    .await?;
    Ok(Window {
        started,
        length_ms,
        attempts,
    })
}

/// Forgets `key` (a successful sign-in clears its account and client).
pub async fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    exec(
        conn,
        "DELETE FROM login_failures WHERE throttle_key = $1",
        (key,),
    )
    .await
}

/// Takes back one counted attempt of `key` (a success from a client
/// address does not count against the address).
pub async fn uncount(conn: &mut Conn, key: &str) -> Result<()> {
    exec(
        conn,
        "UPDATE login_failures SET failures = failures - 1 WHERE throttle_key = $1 AND failures > 0",
        (key,),
    )
    .await
}

/// Drops counters whose window ended at least one window length before
/// `now` (housekeeping): by then a lockout's longer window is forgotten.
pub async fn prune(conn: &mut Conn, now: i64) -> Result<u64> {
    let text = "DELETE FROM login_failures WHERE window_start + 2 * window_ms <= $1";
    exec_count(conn, text, (now,)).await
}
