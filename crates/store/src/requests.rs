//! Review requests and the votes on them.

use crate::sql::AsColumn;
use crate::sql::Sql;
use crate::{Conn, Result, StoreError};
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
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO review_requests (org_id, requester_id, resource_id, action, reason,
             duration_seconds, approvals_required, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
    )
    .bind(r.org_id.col())
    .bind(r.requester_id.col())
    .bind(r.resource_id.col())
    .bind(r.action)
    .bind(r.reason)
    .bind(r.duration_seconds)
    .bind(r.approvals_required)
    .bind(r.now.col())
    .fetch_one(conn)
    .await?;
    Ok(RequestId::new(id))
}

pub async fn get(conn: &mut Conn, org_id: OrgId, id: RequestId) -> Result<RequestRow> {
    sqlx::query_as(&format!("{SELECT} WHERE q.org_id = $1 AND q.id = $2"))
        .bind(org_id.col())
        .bind(id.col())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)
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
    q.push(" WHERE q.org_id = ").bind_i64(org_id);
    match f.status {
        Some((RequestStatus::Approved, now)) => {
            q.push(" AND q.status = 'approved' AND q.expires_at > ")
                .bind_i64(now);
        }
        Some((RequestStatus::Expired, now)) => {
            q.push(" AND q.status = 'approved' AND q.expires_at <= ")
                .bind_i64(now);
        }
        Some((other, _)) => {
            q.push(" AND q.status = ").bind_text(other.as_str());
        }
        None => {}
    }
    if let Some(u) = f.requester_id {
        q.push(" AND q.requester_id = ").bind_i64(u);
    }
    if let Some(a) = f.after_id {
        q.push(" AND q.id > ").bind_i64(a);
    }
    q.push(" ORDER BY q.id LIMIT ").bind_i64(limit);
    let rows = q.query().fetch_all(conn).await?;
    rows.iter()
        .map(|r| RequestRow::from_row(r).map_err(StoreError::from))
        .collect()
}

/// Records a reviewer's vote. A second vote by the same reviewer is
/// [`StoreError::Conflict`].
pub async fn vote(
    conn: &mut Conn,
    request_id: RequestId,
    reviewer_id: UserId,
    decision: &str,
    comment: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO review_votes (request_id, reviewer_id, decision, comment, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(request_id.col())
    .bind(reviewer_id.col())
    .bind(decision)
    .bind(comment)
    .bind(now.col())
    .execute(conn)
    .await?;
    Ok(())
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
    Ok(sqlx::query_as(
        "SELECT v.reviewer_id, u.email AS reviewer_email, v.decision, v.comment, v.at
         FROM review_votes v JOIN users u ON u.id = v.reviewer_id
         WHERE v.request_id = $1 ORDER BY v.at, v.reviewer_id",
    )
    .bind(request_id.col())
    .fetch_all(conn)
    .await?)
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
    let done = sqlx::query(
        "UPDATE review_requests SET status = $1, decided_at = $2, expires_at = $3
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(now.col())
    .bind(expires_at.col())
    .bind(id.col())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
