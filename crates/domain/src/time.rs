//! Points in time as the product reasons about them: Unix milliseconds in
//! UTC, compared and shifted by whole durations.
//!
//! Architecture invariant: nothing here reads a clock. The server hands its
//! use cases a clock; the domain only compares the times it is given.

use std::fmt;
use std::time::Duration;

/// A point in time, in Unix milliseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch: before anything Roster stores.
    pub const EPOCH: Timestamp = Timestamp(0);

    pub const fn from_unix_ms(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// This time moved `d` later (saturating at the end of time).
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_ms(d)))
    }

    /// This time moved `d` earlier.
    pub fn minus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(duration_ms(d)))
    }

    /// How long after `earlier` this is; zero when it is not after.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl From<i64> for Timestamp {
    fn from(ms: i64) -> Self {
        Timestamp(ms)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_shift_and_measure_in_whole_durations() {
        let t = Timestamp::from_unix_ms(10_000);
        assert_eq!(t.plus(Duration::from_secs(2)).unix_ms(), 12_000);
        assert_eq!(t.minus(Duration::from_secs(2)).unix_ms(), 8_000);
        assert_eq!(
            t.plus(Duration::from_secs(5)).since(t),
            Duration::from_secs(5)
        );
        assert_eq!(t.since(t.plus(Duration::from_secs(5))), Duration::ZERO);
        assert_eq!(
            Timestamp::from_unix_ms(i64::MAX).plus(Duration::from_secs(1)),
            Timestamp::from_unix_ms(i64::MAX)
        );
    }
}
