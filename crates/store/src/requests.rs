//! Review requests and the votes on them.

use crate::sql::{exec, exec_count, fetch_all, fetch_one, scalar, Sql};
use crate::{Conn, Result};
use roster_domain::{OrgId, RequestId, RequestStatus, ResourceId, Timestamp, UserId};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    #[sqlx(try_from = "i64")]
    pub id: RequestId,
    #[sqlx(try_from = "i64")]
    pub requester_id: UserId,
    pub requester_email: String,
    #[sqlx(try_from = "i64")]
    pub resource_id: ResourceId,
    /// `type/name`.
    pub resource: String,
    pub action: String,
    pub reason: String,
    pub duration_seconds: i64,
    pub approvals_required: i64,
    /// The stored status; see [`RequestRow::effective_status`].
    #[sqlx(try_from = "String")]
    pub status: RequestStatus,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub decided_at: Option<Timestamp>,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub expires_at: Option<Timestamp>,
}

impl RequestRow {
    /// What the request is at `now`: an approved one whose grant ran out
    /// is expired.
    pub fn effective_status(&self, now: Timestamp) -> RequestStatus {
        self.status.effective(self.expires_at, now)
    }
}

const SELECT: &str = "SELECT q.id, q.requester_id, u.email AS requester_email, q.resource_id,
        r.resource_type || '/' || r.name AS resource, q.action, q.reason, q.duration_seconds,
        q.approvals_required, q.status, q.created_at, q.decided_at, q.expires_at
    FROM review_requests q
    JOIN users u ON u.id = q.requester_id
    JOIN resources r ON r.id = q.resource_id";

pub struct NewRequest<'a> {
    pub org_id: OrgId,
    pub requester_id: UserId,
    pub resource_id: ResourceId,
    pub action: &'a str,
    pub reason: &'a str,
    pub duration_seconds: i64,
    pub approvals_required: i64,
    pub now: Timestamp,
}

pub async fn insert(conn: &mut Conn, r: NewRequest<'_>) -> Result<RequestId> {
    let id = scalar(
        conn,
        "INSERT INTO review_requests (org_id, requester_id, resource_id, action, reason,
             duration_seconds, approvals_required, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
        (
            r.org_id,
            r.requester_id,
            r.resource_id,
            r.action,
            r.reason,
            r.duration_seconds,
            r.approvals_required,
            r.now,
        ),
    )
    .await?;
    Ok(RequestId::new(id))
}

pub async fn get(conn: &mut Conn, org_id: OrgId, id: RequestId) -> Result<RequestRow> {
    let text = format!("{SELECT} WHERE q.org_id = $1 AND q.id = $2");
    fetch_one(conn, &text, (org_id, id)).await
}

#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// The effective status at `now` (see [`RequestRow::effective_status`]).
    pub status: Option<(RequestStatus, Timestamp)>,
    pub requester_id: Option<UserId>,
    pub after_id: Option<i64>,
}

pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    f: &RequestFilter,
    limit: i64,
) -> Result<Vec<RequestRow>> {
    let mut q = Sql::new(SELECT);
    q.push(" WHERE q.org_id = ").bind(org_id);
    match f.status {
        Some((RequestStatus::Approved, now)) => {
            q.push(" AND q.status = 'approved' AND q.expires_at > ")
                .bind(now);
        }
        Some((RequestStatus::Expired, now)) => {
            q.push(" AND q.status = 'approved' AND q.expires_at <= ")
                .bind(now);
        }
        other => {
            q.and("q.status = ", other.map(|(status, _)| status));
        }
    }
    q.and("q.requester_id = ", f.requester_id)
        .and("q.id > ", f.after_id)
        .push(" ORDER BY q.id LIMIT ")
        .bind(limit);
    q.fetch_all(conn).await
}

/// Records a reviewer's vote. A second vote by the same reviewer is
/// [`crate::StoreError::Conflict`].
pub async fn vote(
    conn: &mut Conn,
    request_id: RequestId,
    reviewer_id: UserId,
    decision: &str,
    comment: &str,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO review_votes (request_id, reviewer_id, decision, comment, at)
         VALUES ($1, $2, $3, $4, $5)",
        (request_id, reviewer_id, decision, comment, now),
    )
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct VoteRow {
    #[sqlx(try_from = "i64")]
    pub reviewer_id: UserId,
    pub reviewer_email: String,
    pub decision: String,
    pub comment: String,
    #[sqlx(try_from = "i64")]
    pub at: Timestamp,
}

pub async fn votes(conn: &mut Conn, request_id: RequestId) -> Result<Vec<VoteRow>> {
    fetch_all(
        conn,
        "SELECT v.reviewer_id, u.email AS reviewer_email, v.decision, v.comment, v.at
         FROM review_votes v JOIN users u ON u.id = v.reviewer_id
         WHERE v.request_id = $1 ORDER BY v.at, v.reviewer_id",
        (request_id,),
    )
    .await
}

/// Ends a pending request: approved (with its expiry) or rejected or
/// cancelled. Returns false when it was no longer pending.
pub async fn decide(
    conn: &mut Conn,
    id: RequestId,
    status: RequestStatus,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<bool> {
    let changed = exec_count(
        conn,
        "UPDATE review_requests SET status = $1, decided_at = $2, expires_at = $3
         WHERE id = $4 AND status = 'pending'",
        (status, now, expires_at, id),
    )
    .await?;
    Ok(changed == 1)
}
