//! Review requests and the votes on them.

use crate::sql::Sql;
use crate::{Conn, Result, StoreError};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub requester_id: i64,
    pub requester_email: String,
    pub resource_id: i64,
    /// `type/name`.
    pub resource: String,
    pub action: String,
    pub reason: String,
    pub duration_seconds: i64,
    pub approvals_required: i64,
    pub status: String,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub expires_at: Option<i64>,
}

const SELECT: &str = "SELECT q.id, q.requester_id, u.email AS requester_email, q.resource_id,
        r.resource_type || '/' || r.name AS resource, q.action, q.reason, q.duration_seconds,
        q.approvals_required, q.status, q.created_at, q.decided_at, q.expires_at
    FROM review_requests q
    JOIN users u ON u.id = q.requester_id
    JOIN resources r ON r.id = q.resource_id";

pub struct NewRequest<'a> {
    pub org_id: i64,
    pub requester_id: i64,
    pub resource_id: i64,
    pub action: &'a str,
    pub reason: &'a str,
    pub duration_seconds: i64,
    pub approvals_required: i64,
    pub now: i64,
}

pub async fn insert(conn: &mut Conn, r: NewRequest<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO review_requests (org_id, requester_id, resource_id, action, reason,
             duration_seconds, approvals_required, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
    )
    .bind(r.org_id)
    .bind(r.requester_id)
    .bind(r.resource_id)
    .bind(r.action)
    .bind(r.reason)
    .bind(r.duration_seconds)
    .bind(r.approvals_required)
    .bind(r.now)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn get(conn: &mut Conn, org_id: i64, id: i64) -> Result<RequestRow> {
    sqlx::query_as(&format!("{SELECT} WHERE q.org_id = $1 AND q.id = $2"))
        .bind(org_id)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)
}

#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<String>,
    pub requester_id: Option<i64>,
    pub after_id: Option<i64>,
}

pub async fn list(
    conn: &mut Conn,
    org_id: i64,
    f: &RequestFilter,
    limit: i64,
) -> Result<Vec<RequestRow>> {
    let mut q = Sql::new(SELECT);
    q.push(" WHERE q.org_id = ").bind_i64(org_id);
    if let Some(s) = &f.status {
        q.push(" AND q.status = ").bind_text(s.clone());
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
    request_id: i64,
    reviewer_id: i64,
    decision: &str,
    comment: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO review_votes (request_id, reviewer_id, decision, comment, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(request_id)
    .bind(reviewer_id)
    .bind(decision)
    .bind(comment)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct VoteRow {
    pub reviewer_id: i64,
    pub reviewer_email: String,
    pub decision: String,
    pub comment: String,
    pub at: i64,
}

pub async fn votes(conn: &mut Conn, request_id: i64) -> Result<Vec<VoteRow>> {
    Ok(sqlx::query_as(
        "SELECT v.reviewer_id, u.email AS reviewer_email, v.decision, v.comment, v.at
         FROM review_votes v JOIN users u ON u.id = v.reviewer_id
         WHERE v.request_id = $1 ORDER BY v.at, v.reviewer_id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await?)
}

/// Ends a pending request: approved (with its expiry) or rejected or
/// cancelled. Returns false when it was no longer pending.
pub async fn decide(
    conn: &mut Conn,
    id: i64,
    status: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE review_requests SET status = $1, decided_at = $2, expires_at = $3
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(status)
    .bind(now)
    .bind(expires_at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
