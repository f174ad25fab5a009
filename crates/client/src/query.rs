//! Query parameters of the list endpoints. Every list query has its own
//! filters, then `limit` and `cursor`; unset filters are left out of the
//! query string. One macro declares them all, so they share one way of
//! becoming name/value pairs.

use serde::{Serialize, Serializer};

/// A filter's value in the query string, or none when it is unset.
trait QueryValue {
    fn query_value(&self) -> Option<String>;
}

impl QueryValue for Option<String> {
    fn query_value(&self) -> Option<String> {
        self.clone()
    }
}

impl QueryValue for Option<u32> {
    fn query_value(&self) -> Option<String> {
        self.map(|n| n.to_string())
    }
}

/// A flag is sent as `true` when set and left out otherwise.
impl QueryValue for bool {
    fn query_value(&self) -> Option<String> {
        self.then(|| "true".to_string())
    }
}

/// Declares a list query: its filters (`field: Type`, or `field as "name":
/// Type` where the query name differs), then `limit` and `cursor`, and a
/// [`Serialize`] that writes the set ones as a map, in order.
macro_rules! list_query {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$field_meta:meta])* $field:ident $(as $key:literal)? : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
            pub limit: Option<u32>,
            /// The `next_cursor` of the previous page.
            pub cursor: Option<String>,
        }

        impl $name {
            /// The set filters as query-string pairs.
            fn pairs(&self) -> Vec<(&'static str, String)> {
                [
                    $( (list_query!(@key $field $($key)?), self.$field.query_value()), )*
                    ("limit", self.limit.query_value()),
                    ("cursor", self.cursor.query_value()),
                ]
                .into_iter()
                .filter_map(|(key, value)| Some((key, value?)))
                .collect()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.pairs())
            }
        }
    };
    (@key $field:ident) => { stringify!($field) };
    (@key $field:ident $key:literal) => { $key };
}

list_query! {
    /// Filters of `GET /api/v1/orgs/{org}/users`. Filters combine; `name` and
    /// `email` match substrings, case-insensitively.
    MemberQuery {
        role: Option<String>,
        name: Option<String>,
        email: Option<String>,
        status: Option<String>,
        team: Option<String>,
        group: Option<String>,
        identity_provider: Option<String>,
        /// `true`: members with a second factor; `false`: without one.
        mfa: Option<String>,
    }
}

list_query! {
    /// Filters of `GET /api/v1/orgs/{org}/audit`. `since` and `until` are
    /// RFC 3339 times.
    AuditQuery {
        /// The actor's email.
        actor: Option<String>,
        action: Option<String>,
        target: Option<String>,
        since: Option<String>,
        until: Option<String>,
    }
}

list_query! {
    /// Filters of `GET /api/v1/orgs/{org}/invitations`.
    InvitationQuery {
        /// `pending`, `accepted`, `revoked` or `expired`.
        status: Option<String>,
    }
}

list_query! {
    /// Filters of `GET /api/v1/orgs/{org}/resources`. `user` and `action` go
    /// together: only the resources that member may do the action on.
    ResourceQuery {
        /// Only resources of this type.
        resource_type as "type": Option<String>,
        /// Only the children of this resource (`type/name`).
        parent: Option<String>,
        /// A member's email or user id.
        user: Option<String>,
        /// `type:action`.
        action: Option<String>,
    }
}

list_query! {
    /// Filters of `GET /api/v1/orgs/{org}/access-rules`.
    AccessRuleQuery {
        /// Rules naming this member (email or user id).
        user: Option<String>,
        /// Rules naming this group.
        group: Option<String>,
        role: Option<String>,
        /// Rules on this resource (`type/name`), or `org` for org-wide rules.
        resource: Option<String>,
    }
}

list_query! {
    /// Filters of `GET /api/v1/orgs/{org}/requests`.
    ReviewRequestQuery {
        /// `pending`, `approved` or `rejected`.
        status: Option<String>,
        /// Only the caller's own requests (needs no `users:read`).
        mine: bool,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The query string a request would carry (reqwest encodes queries
    /// with serde_urlencoded).
    fn query_string<Q: Serialize>(q: &Q) -> String {
        let req = reqwest::Client::new()
            .get("http://localhost/")
            .query(q)
            .build()
            .unwrap();
        req.url().query().unwrap_or("").to_string()
    }

    #[test]
    fn queries_skip_unset_filters() {
        let q = MemberQuery {
            role: Some("admin".into()),
            name: Some("Michael Scott".into()),
            limit: Some(10),
            ..Default::default()
        };
        assert_eq!(query_string(&q), "role=admin&name=Michael+Scott&limit=10");
        assert_eq!(query_string(&AuditQuery::default()), "");
    }

    #[test]
    fn invitation_queries_skip_unset_filters() {
        let q = InvitationQuery {
            status: Some("pending".into()),
            limit: Some(5),
            ..Default::default()
        };
        assert_eq!(query_string(&q), "status=pending&limit=5");
        assert_eq!(query_string(&InvitationQuery::default()), "");
    }

    #[test]
    fn resource_queries_skip_unset_filters() {
        let q = ResourceQuery {
            resource_type: Some("clusters".into()),
            user: Some("pam@dm.test".into()),
            action: Some("clusters:deploy".into()),
            ..Default::default()
        };
        assert_eq!(
            query_string(&q),
            "type=clusters&user=pam%40dm.test&action=clusters%3Adeploy"
        );
        assert_eq!(query_string(&ResourceQuery::default()), "");
        let q = AccessRuleQuery {
            resource: Some("org".into()),
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(query_string(&q), "resource=org&limit=2");
        let q = ReviewRequestQuery {
            status: Some("pending".into()),
            mine: true,
            ..Default::default()
        };
        assert_eq!(query_string(&q), "status=pending&mine=true");
        assert_eq!(query_string(&ReviewRequestQuery::default()), "");
    }

    #[test]
    fn cursors_come_last() {
        let q = AuditQuery {
            actor: Some("pam@dm.test".into()),
            cursor: Some("c2".into()),
            limit: Some(1),
            ..Default::default()
        };
        assert_eq!(query_string(&q), "actor=pam%40dm.test&limit=1&cursor=c2");
    }
}
