//! Throttling of failed sign-ins, per account and per client address.
//!
//! A fixed window per key: after `limit` failures within the window, further
//! attempts are refused until the window ends, whether or not the password
//! is right. Keys for unknown emails count the same as known ones, so the
//! answers do not reveal which emails exist. Kept in memory: with several
//! replicas each keeps its own count (see docs/operations.md).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const ACCOUNT_LIMIT: u32 = 5;
pub const ADDRESS_LIMIT: u32 = 50;

#[derive(Default)]
pub struct LoginThrottle {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginThrottle {
    fn keys(email: &str, addr: &str) -> [(String, u32); 2] {
        [
            (format!("account:{email}"), ACCOUNT_LIMIT),
            (format!("addr:{addr}"), ADDRESS_LIMIT),
        ]
    }

    /// `Err(seconds)` when either key is over its limit.
    pub fn check(&self, email: &str, addr: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        for (key, limit) in Self::keys(email, addr) {
            if let Some((started, failures)) = map.get(&key) {
                let elapsed = now.duration_since(*started);
                if elapsed >= WINDOW {
                    map.remove(&key);
                } else if *failures >= limit {
                    return Err((WINDOW - elapsed).as_secs().max(1));
                }
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, email: &str, addr: &str) {
        let now = Instant::now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        for (key, _) in Self::keys(email, addr) {
            let entry = map.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub fn record_success(&self, email: &str) {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("account:{email}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_the_limit_and_clears_on_success() {
        let t = LoginThrottle::default();
        for _ in 0..ACCOUNT_LIMIT {
            assert!(t.check("a@x.com", "1.1.1.1").is_ok());
            t.record_failure("a@x.com", "1.1.1.1");
        }
        assert!(
            t.check("a@x.com", "2.2.2.2").is_err(),
            "another address does not help"
        );
        assert!(t.check("b@x.com", "2.2.2.2").is_ok());
        t.record_success("a@x.com");
        assert!(t.check("a@x.com", "2.2.2.2").is_ok());
    }

    #[test]
    fn locks_an_address_spraying_many_accounts() {
        let t = LoginThrottle::default();
        for i in 0..ADDRESS_LIMIT {
            t.record_failure(&format!("u{i}@x.com"), "9.9.9.9");
        }
        assert!(t.check("fresh@x.com", "9.9.9.9").is_err());
        assert!(t.check("fresh@x.com", "8.8.8.8").is_ok());
    }
}
