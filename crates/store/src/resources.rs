//! The org's resource tree.

use crate::sql::{exec, fetch_all, fetch_one, fetch_optional, scalar, Sql};
use crate::{Conn, Result};
use roster_domain::{GroupId, OrgId, ResourceId, Timestamp};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct ResourceRow {
    #[sqlx(try_from = "i64")]
    pub id: ResourceId,
    pub resource_type: String,
    pub name: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub parent_id: Option<ResourceId>,
    /// `type/name` of the parent, when there is one.
    pub parent: Option<String>,
    /// Space-separated `type:action`s.
    pub review_actions: String,
    pub review_approvals: i64,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

const SELECT: &str = "SELECT r.id, r.resource_type, r.name, r.parent_id,
        CASE WHEN p.id IS NULL THEN NULL ELSE p.resource_type || '/' || p.name END AS parent,
        r.review_actions, r.review_approvals, r.created_at, r.updated_at
    FROM resources r LEFT JOIN resources p ON p.id = r.parent_id";

pub async fn find(
    conn: &mut Conn,
    org_id: OrgId,
    resource_type: &str,
    name: &str,
) -> Result<Option<ResourceRow>> {
    let text = format!("{SELECT} WHERE r.org_id = $1 AND r.resource_type = $2 AND r.name = $3");
    fetch_optional(conn, &text, (org_id, resource_type, name)).await
}

#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    pub resource_type: Option<String>,
    pub parent_id: Option<ResourceId>,
    pub after_id: Option<i64>,
}

/// A page of resources in registration order.
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    f: &ResourceFilter,
    limit: i64,
) -> Result<Vec<ResourceRow>> {
    let mut q = Sql::new(SELECT);
    q.push(" WHERE r.org_id = ")
        .bind(org_id)
        .and("r.resource_type = ", f.resource_type.as_ref())
        .and("r.parent_id = ", f.parent_id)
        .and("r.id > ", f.after_id)
        .push(" ORDER BY r.id LIMIT ")
        .bind(limit);
    q.fetch_all(conn).await
}

pub struct NewResource<'a> {
    pub org_id: OrgId,
    pub resource_type: &'a str,
    pub name: &'a str,
    pub parent_id: Option<ResourceId>,
    pub review_actions: &'a str,
    pub review_approvals: i64,
    pub now: Timestamp,
}

/// Registers a resource. A taken `type/name` is
/// [`crate::StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, r: NewResource<'_>) -> Result<ResourceId> {
    let id = scalar(
        conn,
        "INSERT INTO resources (org_id, resource_type, name, parent_id, review_actions,
             review_approvals, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        (
            r.org_id,
            r.resource_type,
            r.name,
            r.parent_id,
            r.review_actions,
            r.review_approvals,
            r.now,
        ),
    )
    .await?;
    Ok(ResourceId::new(id))
}

pub async fn update(
    conn: &mut Conn,
    id: ResourceId,
    parent_id: Option<ResourceId>,
    review_actions: &str,
    review_approvals: i64,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "UPDATE resources SET parent_id = $1, review_actions = $2, review_approvals = $3,
             updated_at = $4 WHERE id = $5",
        (parent_id, review_actions, review_approvals, now, id),
    )
    .await
}

/// The ids of `id` and every resource below it, parents before children.
pub async fn subtree(conn: &mut Conn, id: ResourceId) -> Result<Vec<ResourceId>> {
    let rows: Vec<(i64, i64)> = fetch_all(
        conn,
        "WITH RECURSIVE t(id, depth) AS (
             SELECT id, 0 FROM resources WHERE id = $1
             UNION ALL
             SELECT r.id, t.depth + 1 FROM resources r JOIN t ON r.parent_id = t.id
         )
         SELECT id, depth FROM t ORDER BY depth, id",
        (id,),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, _)| ResourceId::new(id))
        .collect())
}

/// Deletes resources given parents first (as [`subtree`] returns them): the
/// children go first so the parent key is never dangling.
pub async fn delete_all(conn: &mut Conn, ids_parents_first: &[ResourceId]) -> Result<()> {
    for id in ids_parents_first.iter().rev() {
        exec(conn, "DELETE FROM resources WHERE id = $1", (*id,)).await?;
    }
    Ok(())
}

/// The names of the groups each of `ids` admits.
pub async fn group_names(conn: &mut Conn, id: ResourceId) -> Result<Vec<String>> {
    names(
        conn,
        "SELECT g.name FROM resource_groups rg JOIN groups g ON g.id = rg.group_id
         WHERE rg.resource_id = $1 ORDER BY g.name",
        id.get(),
    )
    .await
}

/// Replaces the groups a resource admits.
pub async fn set_groups(
    conn: &mut Conn,
    org_id: OrgId,
    id: ResourceId,
    group_ids: &[GroupId],
) -> Result<()> {
    exec(
        conn,
        "DELETE FROM resource_groups WHERE resource_id = $1",
        (id,),
    )
    .await?;
    for g in group_ids {
        exec(
            conn,
            "INSERT INTO resource_groups (resource_id, group_id, org_id) VALUES ($1, $2, $3)",
            (id, *g, org_id),
        )
        .await?;
    }
    Ok(())
}

/// The resources that name group `group_id`, as `type/name`.
pub async fn gated_by(conn: &mut Conn, group_id: GroupId) -> Result<Vec<String>> {
    names(
        conn,
        "SELECT r.resource_type || '/' || r.name FROM resource_groups rg
         JOIN resources r ON r.id = rg.resource_id WHERE rg.group_id = $1 ORDER BY r.id",
        group_id.get(),
    )
    .await
}

/// The one text column of the rows a statement about record `$1` returns.
async fn names(conn: &mut Conn, text: &str, id: i64) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = fetch_all(conn, text, (id,)).await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

/// `id` and its ancestors, nearest first.
pub async fn ancestry(conn: &mut Conn, id: ResourceId) -> Result<Vec<ResourceId>> {
    let mut out = vec![id];
    let mut cur = id;
    // Storage never holds a cycle (the service refuses them under the org's
    // lock); the bound guards against one anyway.
    for _ in 0..10_000 {
        let parent: Option<(Option<i64>,)> = fetch_optional(
            conn,
            "SELECT parent_id FROM resources WHERE id = $1",
            (cur,),
        )
        .await?;
        match parent {
            Some((Some(p),)) if !out.contains(&ResourceId::new(p)) => {
                let p = ResourceId::new(p);
                out.push(p);
                cur = p;
            }
            _ => break,
        }
    }
    Ok(out)
}

/// A resource's own review policy: its actions (space-separated, empty for
/// none) and the approvals it needs.
pub async fn policy(conn: &mut Conn, id: ResourceId) -> Result<(String, i64)> {
    let text = "SELECT review_actions, review_approvals FROM resources WHERE id = $1";
    fetch_one(conn, text, (id,)).await
}
