//! Throttling of sign-in attempts (passwords, second factors, sign-up,
//! one-time links), per account and client, and per client address.
//!
//! Every attempt is counted *before* the credential is checked, by one
//! atomic statement for its keys ([`roster_store::throttle::count_attempts`]), so
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
use roster_store::{throttle, Conn, Store};

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
    /// The client address's key, when this attempt holds its count: the
    /// second of two attempts counted together ([`attempt_with`]) holds it
    /// only once the first has handed it over.
    addr: Option<String>,
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
    let mut conn = store.write_conn().await?;
    let (attempt, _) = attempt_with(&mut conn, now, (what, subject), None, addr).await?;
    Ok(attempt)
}

/// Counts a password attempt as [`attempt`] does and, with `then`, the
/// attempt of the second factor sent with it (`then`'s subject is the
/// account), in one statement: one commit before either credential is
/// checked. The client address counts once for both; its count stays with
/// the first until [`Attempt::hands_address_to`] gives it to the second.
/// When the first credential is wrong the second was never checked:
/// [`Attempt::withdrawn`] takes it back. `conn` holds the write gate
/// ([`Store::write_conn`]): the caller may have read on it first.
///
/// Every key and the address are counted in one statement, one commit,
/// and on SQLite one turn at the write gate. The keys are counted as if
/// one after another, password first and address last, and a refused key
/// stops the count: the keys after it are taken back (on that path only),
/// and what was counted up to the refusal stays counted.
pub async fn attempt_with(
    conn: &mut Conn,
    now: Timestamp,
    first: (Try, &str),
    then: Option<(Try, &str)>,
    addr: &str,
) -> Result<(Attempt, Option<Attempt>)> {
    let now = now.unix_ms();
    let pair = |(what, subject): (Try, &str)| format!("{}:{subject}|{addr}", what.prefix());
    let first = Attempt {
        pair: pair(first),
        addr: Some(format!("addr:{addr}")),
    };
    let then = then.map(|t| Attempt {
        pair: pair(t),
        addr: None,
    });
    let keys: Vec<(&str, i64)> = [
        Some((first.pair.as_str(), PAIR_LIMIT)),
        then.as_ref().map(|t| (t.pair.as_str(), PAIR_LIMIT)),
        first.addr.as_deref().map(|a| (a, ADDRESS_LIMIT)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let windows = throttle::count_attempts(conn, &keys, now, WINDOW_MS, MAX_WINDOW_MS).await?;
    let refused = windows
        .iter()
        .zip(&keys)
        .position(|(w, (_, limit))| w.attempts > *limit);
    if let Some(i) = refused {
        let later: Vec<&str> = keys[i + 1..].iter().map(|(key, _)| *key).collect();
        if !later.is_empty() {
            throttle::uncount_all(conn, &later).await?;
        }
        return Err(refusal(&windows[i], now));
    }
    Ok((first, then))
}

/// The answer to an attempt over its key's limit: the seconds left in
/// the key's window.
fn refusal(w: &throttle::Window, now: i64) -> AppError {
    let left_ms = (w.started + w.length_ms - now).max(1000);
    AppError::TooManyAttempts {
        retry_after_secs: (left_ms as u64).div_ceil(1000),
    }
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
        return Err(refusal(&w, now));
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
        if let Some(addr) = &self.addr {
            throttle::uncount(conn, addr).await?;
        }
        Ok(())
    }

    /// [`Attempt::succeeded_in`] for two attempts counted together whose
    /// credentials were both right (a password and its code): both keys
    /// are cleared in one statement.
    pub async fn both_succeeded_in(
        self,
        other: Attempt,
        conn: &mut roster_store::Conn,
    ) -> Result<()> {
        throttle::clear_all(conn, &[&self.pair, &other.pair]).await?;
        if let Some(addr) = self.addr.as_ref().or(other.addr.as_ref()) {
            throttle::uncount(conn, addr).await?;
        }
        Ok(())
    }

    /// The first of two attempts counted together ([`attempt_with`]) was
    /// right, and the second is checked next: the address's count moves
    /// to the second, so that it is taken back when the second is right
    /// too and stays when it is wrong. Nothing is written; the first's
    /// success is still to be recorded ([`Attempt::succeeded_in`]).
    pub fn hands_address_to(mut self, mut next: Attempt) -> (Attempt, Attempt) {
        next.addr = self.addr.take();
        (self, next)
    }

    /// Takes back the second of two attempts counted together whose first
    /// credential was wrong: the second was never checked, so it does not
    /// count (the address's count stays with the first).
    pub async fn withdrawn(self, store: &Store) -> Result<()> {
        let mut conn = store.write_conn().await?;
        throttle::uncount(&mut conn, &self.pair).await?;
        Ok(())
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
