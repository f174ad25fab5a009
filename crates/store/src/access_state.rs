//! One consistent read of everything the authorization engine needs about
//! an org.

use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct MemberFact {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub status: String,
    pub disabled: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ResourceFact {
    pub id: i64,
    pub resource_type: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub review_actions: String,
    pub review_approvals: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct RuleFact {
    pub id: i64,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub role: String,
    pub resource_id: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct GrantFact {
    pub id: i64,
    pub requester_id: i64,
    pub resource_id: i64,
    pub action: String,
    pub expires_at: i64,
}

/// The raw facts; the server compiles them into an index.
#[derive(Debug, Clone, Default)]
pub struct AccessFacts {
    pub revision: i64,
    pub actions: Vec<crate::roles::ActionRow>,
    pub roles: Vec<crate::roles::RoleRow>,
    pub members: Vec<MemberFact>,
    pub groups: Vec<(i64, String)>,
    pub group_members: Vec<(i64, i64)>,
    pub resources: Vec<ResourceFact>,
    pub resource_groups: Vec<(i64, i64)>,
    pub rules: Vec<RuleFact>,
    pub grants: Vec<GrantFact>,
}

/// The org's current revision.
pub async fn revision(conn: &mut Conn, org_id: OrgId) -> Result<i64> {
    let (r,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = $1")
        .bind(org_id.get())
        .fetch_one(conn)
        .await?;
    Ok(r)
}

/// Reads the org's access state. Every write to an org bumps its revision
/// in the same transaction (see [`crate::orgs::lock`]), so when the revision
/// read before and after the statements is the same, the statements saw
/// one state, whatever the isolation level; otherwise the read is retried.
pub async fn load(conn: &mut Conn, org_id: OrgId, now: Timestamp) -> Result<AccessFacts> {
    loop {
        let before = revision(conn, org_id).await?;
        let facts = AccessFacts {
            revision: before,
            actions: crate::roles::actions(conn, org_id).await?,
            roles: crate::roles::list(conn, org_id).await?,
            members: sqlx::query_as(
                "SELECT m.user_id, u.email, m.role, m.status, u.disabled
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1",
            )
            .bind(org_id.get())
            .fetch_all(&mut *conn)
            .await?,
            groups: sqlx::query_as("SELECT id, name FROM groups WHERE org_id = $1 ORDER BY id")
                .bind(org_id.get())
                .fetch_all(&mut *conn)
                .await?,
            group_members: sqlx::query_as(
                "SELECT group_id, user_id FROM group_members WHERE org_id = $1",
            )
            .bind(org_id.get())
            .fetch_all(&mut *conn)
            .await?,
            resources: sqlx::query_as(
                "SELECT id, resource_type, name, parent_id, review_actions, review_approvals
                 FROM resources WHERE org_id = $1 ORDER BY id",
            )
            .bind(org_id.get())
            .fetch_all(&mut *conn)
            .await?,
            resource_groups: sqlx::query_as(
                "SELECT resource_id, group_id FROM resource_groups WHERE org_id = $1",
            )
            .bind(org_id.get())
            .fetch_all(&mut *conn)
            .await?,
            rules: sqlx::query_as(
                "SELECT id, user_id, group_id, role, resource_id FROM access_rules
                 WHERE org_id = $1 ORDER BY id",
            )
            .bind(org_id.get())
            .fetch_all(&mut *conn)
            .await?,
            grants: sqlx::query_as(
                "SELECT id, requester_id, resource_id, action, expires_at FROM review_requests
                 WHERE org_id = $1 AND status = 'approved' AND expires_at > $2",
            )
            .bind(org_id.get())
            .bind(now.unix_ms())
            .fetch_all(&mut *conn)
            .await?,
        };
        if revision(conn, org_id).await? == before {
            return Ok(facts);
        }
    }
}

/// The current revisions of the orgs `ids`, for replicas to notice changes
/// made elsewhere. Asks in chunks, so the statement stays small however
/// many orgs a replica holds (every user has a personal org: reading all
/// orgs four times a second would not scale).
pub async fn revisions(conn: &mut Conn, ids: &[OrgId]) -> Result<Vec<(OrgId, i64)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut q = crate::sql::Sql::new("SELECT id, revision FROM orgs WHERE id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind_i64(*id);
        }
        q.push(")");
        for row in q.query().fetch_all(&mut *conn).await? {
            use sqlx::Row;
            out.push((OrgId::new(row.try_get(0)?), row.try_get::<i64, _>(1)?));
        }
    }
    Ok(out)
}
