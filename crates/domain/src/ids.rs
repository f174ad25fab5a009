//! Identifiers of stored records, one type per kind of record, so that a
//! user's id cannot be passed where an org's is meant.
//!
//! Ids are assigned by the database. They enter the program at the store's
//! edge (rows) and at the HTTP edge (paths), and leave it as plain numbers on
//! the wire; in between they are these types.

use std::fmt;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// The id with this number, as the database or a request named it.
            pub const fn new(raw: i64) -> Self {
                $name(raw)
            }

            /// The number, for SQL parameters and the wire.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(raw: i64) -> Self {
                $name(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// An organization.
    OrgId;
    /// A person's account (global, across orgs).
    UserId;
    /// One account's membership of one org.
    MembershipId;
    /// A sign-in session.
    SessionId;
    /// An invitation to join an org.
    InvitationId;
    /// A review request.
    RequestId;
    /// A registered resource.
    ResourceId;
    /// An access rule.
    RuleId;
    /// A group of members.
    GroupId;
    /// An API token (a person's or a service account's).
    TokenId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_show_and_return_their_number() {
        let id = UserId::new(42);
        assert_eq!(id.get(), 42);
        assert_eq!(id.to_string(), "42");
        assert_eq!(UserId::from(42), id);
    }
}
