//! Throttling of failed sign-ins (and of sign-ups), per account and per
//! client address.
//!
//! A fixed window per key: after `limit` failures within the window, further
//! attempts are refused until the window ends, whether or not the password
//! is right. Keys for unknown emails count the same as known ones, so the
//! answers do not reveal which emails exist. The counters live in the
//! database, so several replicas share them.

use super::error::Result;
use roster_domain::Timestamp;
use roster_store::{throttle, Store};

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const ACCOUNT_LIMIT: i64 = 5;
pub const ADDRESS_LIMIT: i64 = 50;

fn keys(account: &str, addr: &str) -> [(String, i64); 2] {
    [
        (format!("account:{account}"), ACCOUNT_LIMIT),
        (format!("addr:{addr}"), ADDRESS_LIMIT),
    ]
}

/// What a check found.
pub struct Standing {
    /// Whether the account has failures counted (a success then clears them).
    pub account_has_failures: bool,
}

/// `Ok(Err(seconds))` when either key is over its limit.
pub async fn check(
    store: &Store,
    now: Timestamp,
    account: &str,
    addr: &str,
) -> Result<std::result::Result<Standing, u64>> {
    let now = now.unix_ms();
    let keys = keys(account, addr);
    let mut conn = store.conn().await?;
    let rows = throttle::failures(
        &mut conn,
        &[keys[0].0.as_str(), keys[1].0.as_str()],
        now - WINDOW_MS,
    )
    .await?;
    for (key, started, failures) in &rows {
        let limit = keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, l)| *l)
            .unwrap_or(i64::MAX);
        if *failures >= limit {
            let left_ms = (started + WINDOW_MS - now).max(1000);
            return Ok(Err((left_ms / 1000) as u64));
        }
    }
    Ok(Ok(Standing {
        account_has_failures: rows.iter().any(|(k, _, _)| *k == keys[0].0),
    }))
}

pub async fn record_failure(
    store: &Store,
    now: Timestamp,
    account: &str,
    addr: &str,
) -> Result<()> {
    let now = now.unix_ms();
    let mut conn = store.conn().await?;
    for (key, _) in keys(account, addr) {
        throttle::record_failure(&mut conn, &key, now, now - WINDOW_MS).await?;
    }
    Ok(())
}

/// A successful sign-in clears the account's count (not the address's).
pub async fn record_success(store: &Store, account: &str) -> Result<()> {
    let mut conn = store.conn().await?;
    Ok(throttle::clear(&mut conn, &format!("account:{account}")).await?)
}

impl super::App {
    /// Deletes ended throttle windows and expired sessions. Run every few
    /// minutes by every replica; it is idempotent.
    pub async fn housekeeping(&self) -> Result<()> {
        let now = self.now();
        let mut conn = self.store().conn().await?;
        let windows = throttle::prune(&mut conn, now.unix_ms() - WINDOW_MS).await?;
        let sessions = roster_store::sessions::prune_expired(&mut conn, now).await?;
        drop(conn);
        let pruned = self.prune_audit().await?;
        if pruned > 0 {
            tracing::info!(
                events = pruned,
                "pruned audit events past their org's retention"
            );
        }
        if windows + sessions > 0 {
            tracing::debug!(windows, sessions, "housekeeping pruned old rows");
        }
        Ok(())
    }
}
