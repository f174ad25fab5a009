//! The org's resource tree.

use crate::sql::AsColumn;
use crate::sql::Sql;
use crate::{Conn, Result, StoreError};
use roster_domain::{GroupId, OrgId, ResourceId, Timestamp};
use sqlx::{FromRow, Row};

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
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE r.org_id = $1 AND r.resource_type = $2 AND r.name = $3"
    ))
    .bind(org_id.col())
    .bind(resource_type)
    .bind(name)
    .fetch_optional(conn)
    .await?)
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
    q.push(" WHERE r.org_id = ").bind_i64(org_id);
    if let Some(t) = &f.resource_type {
        q.push(" AND r.resource_type = ").bind_text(t.clone());
    }
    if let Some(p) = f.parent_id {
        q.push(" AND r.parent_id = ").bind_i64(p);
    }
    if let Some(a) = f.after_id {
        q.push(" AND r.id > ").bind_i64(a);
    }
    q.push(" ORDER BY r.id LIMIT ").bind_i64(limit);
    let rows = q.query().fetch_all(conn).await?;
    rows.iter()
        .map(|r| ResourceRow::from_row(r).map_err(StoreError::from))
        .collect()
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

/// Registers a resource. A taken `type/name` is [`StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, r: NewResource<'_>) -> Result<ResourceId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO resources (org_id, resource_type, name, parent_id, review_actions,
             review_approvals, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(r.org_id.col())
    .bind(r.resource_type)
    .bind(r.name)
    .bind(r.parent_id.col())
    .bind(r.review_actions)
    .bind(r.review_approvals)
    .bind(r.now.col())
    .fetch_one(conn)
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
    sqlx::query(
        "UPDATE resources SET parent_id = $1, review_actions = $2, review_approvals = $3,
             updated_at = $4 WHERE id = $5",
    )
    .bind(parent_id.col())
    .bind(review_actions)
    .bind(review_approvals)
    .bind(now.col())
    .bind(id.col())
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of `id` and every resource below it, parents before children.
pub async fn subtree(conn: &mut Conn, id: ResourceId) -> Result<Vec<ResourceId>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "WITH RECURSIVE t(id, depth) AS (
             SELECT id, 0 FROM resources WHERE id = $1
             UNION ALL
             SELECT r.id, t.depth + 1 FROM resources r JOIN t ON r.parent_id = t.id
         )
         SELECT id, depth FROM t ORDER BY depth, id",
    )
    .bind(id.col())
    .fetch_all(conn)
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
        sqlx::query("DELETE FROM resources WHERE id = $1")
            .bind(id.col())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The names of the groups each of `ids` admits.
pub async fn group_names(conn: &mut Conn, id: ResourceId) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT g.name FROM resource_groups rg JOIN groups g ON g.id = rg.group_id
         WHERE rg.resource_id = $1 ORDER BY g.name",
    )
    .bind(id.col())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
        .collect()
}

/// Replaces the groups a resource admits.
pub async fn set_groups(
    conn: &mut Conn,
    org_id: OrgId,
    id: ResourceId,
    group_ids: &[GroupId],
) -> Result<()> {
    sqlx::query("DELETE FROM resource_groups WHERE resource_id = $1")
        .bind(id.col())
        .execute(&mut *conn)
        .await?;
    for g in group_ids {
        sqlx::query(
            "INSERT INTO resource_groups (resource_id, group_id, org_id) VALUES ($1, $2, $3)",
        )
        .bind(id.col())
        .bind(g.col())
        .bind(org_id.col())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The resources that name group `group_id`, as `type/name`.
pub async fn gated_by(conn: &mut Conn, group_id: GroupId) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT r.resource_type || '/' || r.name FROM resource_groups rg
         JOIN resources r ON r.id = rg.resource_id WHERE rg.group_id = $1 ORDER BY r.id",
    )
    .bind(group_id.col())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(k,)| k).collect())
}

/// `id` and its ancestors, nearest first.
pub async fn ancestry(conn: &mut Conn, id: ResourceId) -> Result<Vec<ResourceId>> {
    let mut out = vec![id];
    let mut cur = id;
    // Storage never holds a cycle (the service refuses them under the org's
    // lock); the bound guards against one anyway.
    for _ in 0..10_000 {
        let parent: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT parent_id FROM resources WHERE id = $1")
                .bind(cur.col())
                .fetch_optional(&mut *conn)
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
    Ok(
        sqlx::query_as("SELECT review_actions, review_approvals FROM resources WHERE id = $1")
            .bind(id.col())
            .fetch_one(conn)
            .await?,
    )
}
