//! The states a membership, an invitation and a review request can be in,
//! and what they read as at a given time.
//!
//! Stored statuses are what was last written; an invitation or a granted
//! request also runs out with time. `effective` answers what a record *is*
//! at a moment, so every reader (API, console, CLI, checks) agrees.

use crate::error::DomainError;
use crate::time::Timestamp;
use std::fmt;

macro_rules! status_enum {
    (
        $(#[$doc:meta])* $name:ident, $field:literal {
            $($(#[$vdoc:meta])* $variant:ident => $text:literal,)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in the order the docs list them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// Parses a status named in a request (any case, trimmed).
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                let lower = raw.trim().to_ascii_lowercase();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|s| s.as_str() == lower)
                    .ok_or_else(|| {
                        DomainError::invalid(
                            $field,
                            format!("{} is one of {}", $field, Self::names()),
                        )
                    })
            }

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The values, comma-separated: `a, b, c`.
            pub fn names() -> String {
                let all: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                all.join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Statuses are stored as their names; a stored value that is not
        /// one is a fault of the database, reported as such.
        impl TryFrom<String> for $name {
            type Error = DomainError;

            fn try_from(raw: String) -> Result<Self, DomainError> {
                Self::parse(&raw)
            }
        }
    };
}

status_enum! {
    /// A membership's status (SPEC §1). A pending invitation shows as
    /// `invited` in the team list but is not a membership, so it is not here.
    MemberStatus, "status" {
        /// Self-registered, waiting for approval.
        Reviewing => "reviewing",
        Active => "active",
        Disabled => "disabled",
    }
}

status_enum! {
    /// Where an invitation stands.
    InvitationStatus, "status" {
        Pending => "pending",
        Accepted => "accepted",
        Revoked => "revoked",
        /// Past its expiry (stored when replaced, else read from the time).
        Expired => "expired",
    }
}

impl InvitationStatus {
    /// What an invitation stored as `self`, running until `expires_at`, is
    /// at `now`: a pending one past its expiry is expired.
    pub fn effective(self, expires_at: Timestamp, now: Timestamp) -> InvitationStatus {
        match self {
            InvitationStatus::Pending if expires_at <= now => InvitationStatus::Expired,
            other => other,
        }
    }

    /// Whether a new link may be issued for it (pending or expired).
    pub fn resendable(self) -> bool {
        matches!(self, InvitationStatus::Pending | InvitationStatus::Expired)
    }
}

status_enum! {
    /// Where a review request stands.
    RequestStatus, "status" {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
        /// Approved, and its grant has run out.
        Expired => "expired",
    }
}

impl RequestStatus {
    /// What a request stored as `self`, whose grant (if approved) runs
    /// until `expires_at`, is at `now`.
    pub fn effective(self, expires_at: Option<Timestamp>, now: Timestamp) -> RequestStatus {
        match (self, expires_at) {
            (RequestStatus::Approved, Some(end)) if end <= now => RequestStatus::Expired,
            (other, _) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_any_case_and_list_their_names() {
        assert_eq!(
            InvitationStatus::parse(" Pending ").unwrap(),
            InvitationStatus::Pending
        );
        assert_eq!(MemberStatus::parse("ACTIVE").unwrap(), MemberStatus::Active);
        let e = RequestStatus::parse("done").unwrap_err();
        assert_eq!(
            e.to_string(),
            "status: status is one of pending, approved, rejected, expired"
        );
        assert_eq!(
            MemberStatus::parse("x").unwrap_err().to_string(),
            "status: status is one of reviewing, active, disabled"
        );
    }

    #[test]
    fn a_pending_invitation_expires_with_time_and_others_stay() {
        let end = Timestamp::from_unix_ms(1_000);
        let before = Timestamp::from_unix_ms(999);
        use InvitationStatus::*;
        assert_eq!(Pending.effective(end, before), Pending);
        assert_eq!(Pending.effective(end, end), Expired);
        assert_eq!(Accepted.effective(end, end), Accepted);
        assert_eq!(Revoked.effective(end, end), Revoked);
        assert!(Expired.resendable() && Pending.resendable() && !Accepted.resendable());
    }

    #[test]
    fn an_approved_request_expires_when_its_grant_runs_out() {
        let end = Timestamp::from_unix_ms(1_000);
        use RequestStatus::*;
        assert_eq!(
            Approved.effective(Some(end), Timestamp::from_unix_ms(999)),
            Approved
        );
        assert_eq!(Approved.effective(Some(end), end), Expired);
        assert_eq!(Pending.effective(None, end), Pending);
        assert_eq!(Rejected.effective(Some(end), end), Rejected);
    }
}
