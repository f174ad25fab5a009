//! One consistent read of everything the authorization engine needs about
//! an org.

use crate::sql::{fetch_all, scalar, Sql};
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
    scalar(conn, "SELECT revision FROM orgs WHERE id = $1", (org_id,)).await
}

/// Reads the org's access state. Every write to an org bumps its revision
/// in the same transaction (see [`crate::orgs::lock`]), so when the revision
/// read before and after the statements is the same, the statements saw
/// one state, whatever the isolation level; otherwise the read is retried.
pub async fn load(conn: &mut Conn, org_id: OrgId, now: Timestamp) -> Result<AccessFacts> {
    // Every statement here reads the rows of this org, `$1`.
    macro_rules! of_org {
        ($text:expr) => {
            fetch_all(conn, $text, (org_id,)).await?
        };
    }
    loop {
        let before = revision(conn, org_id).await?;
        let facts = AccessFacts {
            revision: before,
            actions: crate::roles::actions(conn, org_id).await?,
            roles: crate::roles::list(conn, org_id).await?,
            members: of_org!(
                "SELECT m.user_id, u.email, m.role, m.status, u.disabled
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1"
            ),
            groups: of_org!("SELECT id, name FROM groups WHERE org_id = $1 ORDER BY id"),
            group_members: of_org!("SELECT group_id, user_id FROM group_members WHERE org_id = $1"),
            resources: of_org!(
                "SELECT id, resource_type, name, parent_id, review_actions, review_approvals
                 FROM resources WHERE org_id = $1 ORDER BY id"
            ),
            resource_groups: of_org!(
                "SELECT resource_id, group_id FROM resource_groups WHERE org_id = $1"
            ),
            rules: of_org!(
                "SELECT id, user_id, group_id, role, resource_id FROM access_rules
                 WHERE org_id = $1 ORDER BY id"
            ),
            grants: fetch_all(
                conn,
                "SELECT id, requester_id, resource_id, action, expires_at FROM review_requests
                 WHERE org_id = $1 AND status = 'approved' AND expires_at > $2",
                (org_id, now),
            )
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
        let mut q = Sql::new("SELECT id, revision FROM orgs WHERE id IN ");
        q.in_list(chunk.iter().copied());
        for (id, revision) in q.fetch_all::<(i64, i64)>(conn).await? {
            out.push((OrgId::new(id), revision));
        }
    }
    Ok(out)
}
