//! Review requests: asking for an action that a resource's policy puts
//! under review, and eligible reviewers approving or rejecting it.

use crate::{Client, Result, ReviewRequestQuery};
use roster_proto::{Page, ReviewDecisionRequest, ReviewRequestRequest, ReviewRequestView};

impl Client {
    /// `GET /api/v1/orgs/{org}/requests`: one page of review requests
    /// (without their votes), oldest first.
    pub async fn list_review_requests(
        &self,
        org: &str,
        query: &ReviewRequestQuery,
    ) -> Result<Page<ReviewRequestView>> {
        self.get_with(&["orgs", org, "requests"], query).await
    }

    /// `POST /api/v1/orgs/{org}/requests`: asks for review of an action on
    /// a resource whose policy needs it (`409 review_not_required` when it
    /// does not).
    pub async fn create_review_request(
        &self,
        org: &str,
        body: &ReviewRequestRequest,
    ) -> Result<ReviewRequestView> {
        self.post(&["orgs", org, "requests"], body).await
    }

    /// `GET /api/v1/orgs/{org}/requests/{id}`: one request with its votes.
    pub async fn review_request(&self, org: &str, id: i64) -> Result<ReviewRequestView> {
        self.get(&["orgs", org, "requests", &id.to_string()]).await
    }

    /// `POST /api/v1/orgs/{org}/requests/{id}/approve`, as an eligible
    /// reviewer. Without a comment the body is `{}`.
    pub async fn approve_review_request(
        &self,
        org: &str,
        id: i64,
        body: &ReviewDecisionRequest,
    ) -> Result<ReviewRequestView> {
        self.decide_review_request(org, id, "approve", body).await
    }

    /// `POST /api/v1/orgs/{org}/requests/{id}/reject`, as an eligible
    /// reviewer; one rejection ends the request. Without a comment the body
    /// is `{}`.
    pub async fn reject_review_request(
        &self,
        org: &str,
        id: i64,
        body: &ReviewDecisionRequest,
    ) -> Result<ReviewRequestView> {
        self.decide_review_request(org, id, "reject", body).await
    }

    async fn decide_review_request(
        &self,
        org: &str,
        id: i64,
        verb: &str,
        body: &ReviewDecisionRequest,
    ) -> Result<ReviewRequestView> {
        let body = match &body.comment {
            Some(comment) => serde_json::json!({ "comment": comment }),
            None => serde_json::json!({}),
        };
        self.post(&["orgs", org, "requests", &id.to_string(), verb], &body)
            .await
    }
}
