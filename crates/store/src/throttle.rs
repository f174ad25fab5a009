//! Sign-in attempt counters in windows that lengthen on repeated lockouts,
//! shared by every replica.

use crate::sql::{exec_count, Sql};
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
    let windows = count_attempts(conn, &[(key, limit)], now, base_ms, max_ms).await?;
    Ok(windows[0])
}

/// Counts one attempt for each of `keys` (each with its own `limit`), as
/// [`count_attempt`] does for one, in one statement: one round trip and,
/// outside a transaction, one commit for all of them. The windows come
/// back in the order of `keys`, which must be distinct.
pub async fn count_attempts(
    conn: &mut Conn,
    keys: &[(&str, i64)],
    now: i64,
    base_ms: i64,
    max_ms: i64,
) -> Result<Vec<Window>> {
    debug_assert!(keys
        .iter()
        .enumerate()
        .all(|(i, (k, _))| keys[..i].iter().all(|(other, _)| other != k)));
    let mut q = Sql::new(
        "INSERT INTO login_failures (throttle_key, window_start, failures, window_ms) VALUES ",
    );
    for (i, (key, _)) in keys.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" })
            .bind(*key)
            .push(", ")
            .bind(now)
            .push(", 1, ")
            .bind(base_ms)
            .push(")");
    }
    // `excluded` is the row that would have been inserted: its start is
    // now and its length the base. A window that has ended doubles when
    // its key reached its own limit in it.
    q.push(
        " ON CONFLICT (throttle_key) DO UPDATE SET
             failures = CASE WHEN login_failures.window_start + login_failures.window_ms > excluded.window_start
                 THEN login_failures.failures + 1 ELSE 1 END,
             window_start = CASE WHEN login_failures.window_start + login_failures.window_ms > excluded.window_start
                 THEN login_failures.window_start ELSE excluded.window_start END,
             window_ms = CASE
                 WHEN login_failures.window_start + login_failures.window_ms > excluded.window_start
                     THEN login_failures.window_ms
                 WHEN login_failures.failures < CASE login_failures.throttle_key",
    );
    for (key, limit) in keys {
        q.push(" WHEN ").bind(*key).push(" THEN ").bind(*limit);
    }
    q.push(" END THEN excluded.window_ms WHEN login_failures.window_ms * 2 > ")
        .bind(max_ms)
        .push(" THEN ")
        .bind(max_ms)
        .push(
            " ELSE login_failures.window_ms * 2 END
             RETURNING throttle_key, window_start, window_ms, failures",
        );
    let rows: Vec<(String, i64, i64, i64)> = q.fetch_all(conn).await?;
    keys.iter()
        .map(|(key, _)| {
            rows.iter()
                .find(|(k, ..)| k == key)
                .map(|&(_, started, length_ms, attempts)| Window {
                    started,
                    length_ms,
                    attempts,
                })
                .ok_or(crate::StoreError::Database(sqlx::Error::RowNotFound))
        })
        .collect()
}

/// Forgets `key` (a successful sign-in clears its account and client).
pub async fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    clear_all(conn, &[key]).await
}

/// Takes back one counted attempt of `key` (a success from a client
/// address does not count against the address).
pub async fn uncount(conn: &mut Conn, key: &str) -> Result<()> {
    uncount_all(conn, &[key]).await
}

/// Forgets every one of `keys` (a sign-in with a second factor clears the
/// keys of both credentials), in one statement.
pub async fn clear_all(conn: &mut Conn, keys: &[&str]) -> Result<()> {
    let mut q = Sql::new("DELETE FROM login_failures WHERE throttle_key IN ");
    q.in_list(keys.iter().copied());
    q.execute(conn).await
}

/// Takes back one counted attempt of each of `keys`, in one statement.
pub async fn uncount_all(conn: &mut Conn, keys: &[&str]) -> Result<()> {
    let mut q = Sql::new("UPDATE login_failures SET failures = failures - 1 WHERE failures > 0");
    q.push(" AND throttle_key IN ")
        .in_list(keys.iter().copied());
    q.execute(conn).await
}

/// Drops counters whose window ended at least one window length before
/// `now` (housekeeping): by then a lockout's longer window is forgotten.
pub async fn prune(conn: &mut Conn, now: i64) -> Result<u64> {
    let text = "DELETE FROM login_failures WHERE window_start + 2 * window_ms <= $1";
    exec_count(conn, text, (now,)).await
}
