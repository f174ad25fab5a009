//! The org's audit log, by page or exported whole.

use crate::{AuditQuery, Client, Result};
use reqwest::Method;
use roster_proto::{AuditEventView, Page};

impl Client {
    /// `GET /api/v1/orgs/{org}/audit`: one page of the audit log.
    pub async fn audit(&self, org: &str, query: &AuditQuery) -> Result<Page<AuditEventView>> {
        self.get_with(&["orgs", org, "audit"], query).await
    }

    /// `GET /api/v1/orgs/{org}/audit/export?format=csv|jsonl`: every matching
    /// event as text. `limit` and `cursor` of the query are not sent.
    pub async fn audit_export(
        &self,
        org: &str,
        query: &AuditQuery,
        format: &str,
    ) -> Result<String> {
        let filters = AuditQuery {
            limit: None,
            cursor: None,
            ..query.clone()
        };
        self.call(Method::GET, &["orgs", org, "audit", "export"])
            .query(&filters)
            .param("format", Some(format))
            .text()
            .await
    }
}

impl Client {
    /// `GET /api/v1/orgs/{org}/audit/verify`: the org's chain recomputed.
    pub async fn audit_verify(&self, org: &str) -> Result<roster_proto::AuditVerifyView> {
        self.get(&["orgs", org, "audit", "verify"]).await
    }

    /// `GET /api/v1/orgs/{org}/audit/retention`.
    pub async fn audit_retention(&self, org: &str) -> Result<roster_proto::AuditRetention> {
        self.get(&["orgs", org, "audit", "retention"]).await
    }

    /// `PUT /api/v1/orgs/{org}/audit/retention` (`None`: forever).
    pub async fn set_audit_retention(
        &self,
        org: &str,
        days: Option<i64>,
    ) -> Result<roster_proto::AuditRetention> {
        self.put(
            &["orgs", org, "audit", "retention"],
            &roster_proto::AuditRetention { days },
        )
        .await
    }

    /// `GET /api/v1/me/audit`: one page of your own events (those of no org).
    pub async fn my_audit(
        &self,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEventView>> {
        let limit = limit.map(|l| l.to_string());
        self.call(Method::GET, &["me", "audit"])
            .param("limit", limit.as_deref())
            .param("cursor", cursor)
            .send()
            .await
    }
}
