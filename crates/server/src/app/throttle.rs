//! Throttling of sign-in attempts (passwords, second factors, sign-up,
//! one-time links), per account and client, and per client address.
//!
//! Every attempt is counted *before* the credential is checked, by one
//! atomic statement per key ([`roster_store::throttle::count_attempt`]), so
//! concurrent attempts through any number of replicas cannot slip past the
//! limit: of 40 simultaneous guesses exactly [`PAIR_LIMIT`] are checked.
//!
//! Following OWASP's guidance, an account is locked only for the client
//! that failed (the pair of account and client address), with a window
//! that doubles each time the limit is reached again, so someone who
//! knows an email cannot lock its owner out: the owner signs in from any
//! other client. A client address has its own, larger limit over every
//! account it tries. Keys for unknown emails count the same as known
//! ones, so the answers do not reveal which emails exist. A success clears
//! its account-and-client key and does not count against its address.

use super::error::Result;
use super::AppError;
use roster_domain::Timestamp;
use roster_store::{throttle, Store};

/// The first window of a key.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// The longest window a key's backoff reaches.
pub const MAX_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// Attempts per account (or email, or link address) and client, per window.
pub const PAIR_LIMIT: i64 = 5;
/// Attempts per client address over every account, per window.
pub const ADDRESS_LIMIT: i64 = 50;
/// Unauthenticated ceremonies that store state (passkey sign-in
/// challenges) started per client address, per window: twenty a minute,
/// room for an office behind one address, not for filling a table.
pub const CEREMONY_LIMIT: i64 = 300;

/// What is being tried, for the keys it is counted under.
#[derive(Debug, Clone, Copy)]
pub enum Try {
    /// A password for an email.
    Password,
    /// A second factor (code, recovery code) for an account.
    SecondFactor,
    /// A sign-up for an email.
    Signup,
    /// A magic link or password reset link mailed to an address.
    MailedLink,
}

impl Try {
    fn prefix(self) -> &'static str {
        match self {
            Try::Password => "account",
            Try::SecondFactor => "mfa",
            Try::Signup => "signup",
            Try::MailedLink => "mail",
        }
    }
}

/// An attempt that was counted and may go ahead.
#[derive(Debug)]
pub struct Attempt {
    pair: String,
    addr: String,
}

/// Counts an attempt of `what` for `subject` (an email or an account id)
/// from client `addr`. Refused with the seconds to wait when either key
/// is over its limit; the credential must then not be checked at all.
pub async fn attempt(
    store: &Store,
    now: Timestamp,
    what: Try,
    subject: &str,
    addr: &str,
) -> Result<Attempt> {
    // Both keys in one transaction: one commit, and on SQLite one turn at
    // the write gate.
    let tx = store.begin().await?;
    counted(tx, now, what, subject, addr).await
}

/// Counts an attempt as [`attempt`] does, in `tx`, and commits it: also
/// when the attempt is refused, since what was counted must stay counted.
async fn counted(
    mut tx: roster_store::Tx,
    now: Timestamp,
    what: Try,
    subject: &str,
    addr: &str,
) -> Result<Attempt> {
    let now = now.unix_ms();
    let attempt = Attempt {
        pair: format!("{}:{subject}|{addr}", what.prefix()),
        addr: format!("addr:{addr}"),
    };
    for (key, limit) in [(&attempt.pair, PAIR_LIMIT), (&attempt.addr, ADDRESS_LIMIT)] {
        match count(&mut tx, key, now, limit).await {
            Ok(()) => {}
            // A refusal still counts: what was counted is committed.
            Err(refused @ AppError::TooManyAttempts { .. }) => {
                roster_store::commit(tx).await?;
                return Err(refused);
            }
            // Anything else rolls back (the transaction is dropped).
            Err(e) => return Err(e),
        }
    }
    roster_store::commit(tx).await?;
    Ok(attempt)
}

/// Counts the start of an unauthenticated ceremony from client `addr`
/// (it has no account yet, and no success clears it): refused when the
/// address started more than [`CEREMONY_LIMIT`] in its window.
pub async fn ceremony_started(store: &Store, now: Timestamp, addr: &str) -> Result<()> {
    let mut conn = store.write_conn().await?;
    count(
        &mut conn,
        &format!("ceremony:{addr}"),
        now.unix_ms(),
        CEREMONY_LIMIT,
    )
    .await
}

/// Counts one attempt under `key`; over `limit`, the seconds to wait.
async fn count(conn: &mut roster_store::Conn, key: &str, now: i64, limit: i64) -> Result<()> {
    let w = throttle::count_attempt(conn, key, now, limit, WINDOW_MS, MAX_WINDOW_MS).await?;
    if w.attempts > limit {
        let left_ms = (w.started + w.length_ms - now).max(1000);
        return Err(AppError::TooManyAttempts {
            retry_after_secs: (left_ms as u64).div_ceil(1000),
        });
    }
    Ok(())
}

impl Attempt {
    /// The credential was right: the account-and-client key starts over
    /// and the attempt does not count against the address.
    pub async fn succeeded(self, store: &Store) -> Result<()> {
        let mut tx = store.begin().await?;
        self.succeeded_in(&mut tx).await?;
        roster_store::commit(tx).await?;
        Ok(())
    }

    /// [`Attempt::succeeded`] as part of the caller's transaction, which
    /// commits it with what the credential was for (a sign-in's session):
    /// one commit instead of two.
    pub async fn succeeded_in(self, conn: &mut roster_store::Conn) -> Result<()> {
        throttle::clear(conn, &self.pair).await?;
        throttle::uncount(conn, &self.addr).await?;
        Ok(())
    }

    /// [`Attempt::succeeded`], then [`attempt`] for the next credential
    /// of the same sign-in (the second factor after the password), in one
    /// transaction. A refusal of the next attempt still commits this
    /// one's success.
    pub async fn succeeded_then(
        self,
        store: &Store,
        now: Timestamp,
        what: Try,
        subject: &str,
        addr: &str,
    ) -> Result<Attempt> {
        let mut tx = store.begin().await?;
        self.succeeded_in(&mut tx).await?;
        counted(tx, now, what, subject, addr).await
    }
}

impl super::App {
    /// Deletes ended throttle windows and expired sessions. Run every few
    /// minutes by every replica; it is idempotent.
    pub async fn housekeeping(&self) -> Result<()> {
        let now = self.now();
        let mut conn = self.store().write_conn().await?;
        let windows = throttle::prune(&mut conn, now.unix_ms()).await?;
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
