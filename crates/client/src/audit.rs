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
