//! One consistent read of everything the authorization engine needs about
//! an org.

use crate::sql::{fetch_all, fetch_bulk, scalar, Sql};
use crate::{Conn, Engine, Result};
use roster_domain::{OrgId, Timestamp};
use serde::Deserialize;
use sqlx::FromRow;

// Every statement reads a fact's columns from the one list beside it. On
// SQLite, [`load`] reads the facts from JSON arrays (see [`fetch_bulk`]),
// so their fields are declared in the order of those columns.

/// [`MemberFact`]'s columns, and the tables they come from (the org is
/// `m.org_id`).
macro_rules! member_columns {
    () => {
        "m.user_id, u.email, m.role, m.status, u.disabled"
    };
}
macro_rules! member_from {
    () => {
        "FROM memberships m JOIN users u ON u.id = m.user_id"
    };
}
/// [`ResourceFact`]'s columns, of `resources`.
macro_rules! resource_columns {
    () => {
        "id, resource_type, name, parent_id, review_actions, review_approvals"
    };
}
/// [`RuleFact`]'s columns, of `access_rules`.
macro_rules! rule_columns {
    () => {
        "id, user_id, group_id, role, resource_id"
    };
}
/// [`GrantFact`]'s columns, of `review_requests`.
macro_rules! grant_columns {
    () => {
        "id, requester_id, resource_id, action, expires_at"
    };
}

#[derive(Debug, Clone, PartialEq, FromRow, Deserialize)]
pub struct MemberFact {
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub status: String,
    pub disabled: i64,
}

#[derive(Debug, Clone, PartialEq, FromRow, Deserialize)]
pub struct ResourceFact {
    pub id: i64,
    pub resource_type: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub review_actions: String,
    pub review_approvals: i64,
}

#[derive(Debug, Clone, PartialEq, FromRow, Deserialize)]
pub struct RuleFact {
    pub id: i64,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub role: String,
    pub resource_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, FromRow, Deserialize)]
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
///
/// On SQLite each list is read in one value ([`fetch_bulk`]): at 100,000
/// members, row by row through the driver took five times as long.
async fn load(
    conn: &mut Conn,
    engine: Engine,
    org_id: OrgId,
    now: Timestamp,
) -> Result<AccessFacts> {
    // Every statement here reads the rows of this org, `$1`.
    macro_rules! of_org {
        ($columns:expr, $from:expr, $order:expr) => {
            fetch_bulk(conn, engine, $columns, $from, $order, (org_id,)).await?
        };
    }
    loop {
        let before = revision(conn, org_id).await?;
        let facts = AccessFacts {
            revision: before,
            actions: crate::roles::actions(conn, org_id).await?,
            roles: crate::roles::list(conn, org_id).await?,
            members: of_org!(
                member_columns!(),
                concat!(member_from!(), " WHERE m.org_id = $1"),
                ""
            ),
            groups: of_org!("id, name", "FROM groups WHERE org_id = $1", "id"),
            group_members: of_org!(
                "group_id, user_id",
                "FROM group_members WHERE org_id = $1",
                ""
            ),
            resources: of_org!(
                resource_columns!(),
                "FROM resources WHERE org_id = $1",
                "id"
            ),
            resource_groups: of_org!(
                "resource_id, group_id",
                "FROM resource_groups WHERE org_id = $1",
                ""
            ),
            rules: of_org!(rule_columns!(), "FROM access_rules WHERE org_id = $1", "id"),
            grants: fetch_bulk(
                conn,
                engine,
                grant_columns!(),
                "FROM review_requests
                 WHERE org_id = $1 AND status = 'approved' AND expires_at > $2",
                "",
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

/// Reads the org's access state in one read-only transaction, which sees
/// one snapshot on both engines (PostgreSQL at REPEATABLE READ, SQLite in
/// WAL mode from its first read), so a load never restarts because
/// writers keep committing: the facts are those of the revision read
/// first, and later changes come from the change log.
pub async fn load_snapshot(
    store: &crate::Store,
    org_id: OrgId,
    now: Timestamp,
) -> Result<AccessFacts> {
    let mut tx = begin_snapshot(store).await?;
    let facts = load(&mut tx, store.engine(), org_id, now).await;
    tx.rollback().await?;
    facts
}

/// A read-only transaction that sees one snapshot.
async fn begin_snapshot(store: &crate::Store) -> Result<crate::Tx> {
    let mut tx = store.begin_read().await?;
    if store.engine() == crate::Engine::Postgres {
        crate::sql::exec(
            &mut tx,
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            (),
        )
        .await?;
    }
    Ok(tx)
}

/// The checks a [`load_slice`] is read for: about these users (ids, and
/// emails as stored: lower case), on this resource (`type/name`) or on the
/// org as a whole.
#[derive(Debug, Clone, Default)]
pub struct Slice {
    pub user_ids: Vec<i64>,
    pub emails: Vec<String>,
    pub resource: Option<String>,
}

/// The part of the org's access state that the checks `slice` names need,
/// in one snapshot: the catalog, roles and groups; those users'
/// memberships and groups; every rule naming them or their groups; the
/// resource with its ancestors and the groups they name; the users'
/// approved requests. An index built from it decides those checks as one
/// built from the whole org does: a check reads nothing else (see
/// `OrgIndex::check`). A handful of small statements, whatever the org's
/// size: what a check is answered from while the org's index is still
/// being built.
pub async fn load_slice(
    store: &crate::Store,
    org_id: OrgId,
    slice: &Slice,
    now: Timestamp,
) -> Result<AccessFacts> {
    let mut tx = begin_snapshot(store).await?;
    let facts = read_slice(&mut tx, org_id, slice, now).await;
    tx.rollback().await?;
    facts
}

async fn read_slice(
    conn: &mut Conn,
    org_id: OrgId,
    slice: &Slice,
    now: Timestamp,
) -> Result<AccessFacts> {
    const MEMBER: &str = concat!(
        "SELECT ",
        member_columns!(),
        " ",
        member_from!(),
        " WHERE m.org_id = "
    );
    let mut members: Vec<MemberFact> = Vec::new();
    if !slice.user_ids.is_empty() {
        let mut q = Sql::new(MEMBER);
        q.bind(org_id).push(" AND m.user_id IN ");
        q.in_list(slice.user_ids.iter().copied());
        members.extend(q.fetch_all::<MemberFact>(conn).await?);
    }
    if !slice.emails.is_empty() {
        let mut q = Sql::new(MEMBER);
        q.bind(org_id).push(" AND u.email IN ");
        q.in_list(slice.emails.iter());
        for m in q.fetch_all::<MemberFact>(conn).await? {
            if !members.iter().any(|have| have.user_id == m.user_id) {
                members.push(m);
            }
        }
    }
    let ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();

    let mut group_members: Vec<(i64, i64)> = Vec::new();
    if !ids.is_empty() {
        let mut q = Sql::new("SELECT group_id, user_id FROM group_members WHERE org_id = ");
        q.bind(org_id).push(" AND user_id IN ");
        q.in_list(ids.iter().copied());
        group_members = q.fetch_all(conn).await?;
    }

    let mut resources: Vec<ResourceFact> = Vec::new();
    let mut resource_groups: Vec<(i64, i64)> = Vec::new();
    if let Some((resource_type, name)) = slice.resource.as_deref().and_then(|k| k.split_once('/')) {
        // The resource and its ancestors (UNION stops at a cycle, which
        // storage refuses anyway).
        resources = fetch_all(
            conn,
            concat!(
                "WITH RECURSIVE chain(id) AS (
                 SELECT id FROM resources WHERE org_id = $1 AND resource_type = $2 AND name = $3
                 UNION
                 SELECT r.parent_id FROM resources r JOIN chain c ON r.id = c.id
                 WHERE r.parent_id IS NOT NULL
             )
             SELECT ",
                resource_columns!(),
                " FROM resources WHERE org_id = $1 AND id IN (SELECT id FROM chain) ORDER BY id"
            ),
            (org_id, resource_type, name),
        )
        .await?;
        if !resources.is_empty() {
            let mut q =
                Sql::new("SELECT resource_id, group_id FROM resource_groups WHERE org_id = ");
            q.bind(org_id).push(" AND resource_id IN ");
            q.in_list(resources.iter().map(|r| r.id));
            resource_groups = q.fetch_all(conn).await?;
        }
    }

    let mut rules: Vec<RuleFact> = Vec::new();
    let mut grants: Vec<GrantFact> = Vec::new();
    if !ids.is_empty() {
        let mut q = Sql::new(concat!(
            "SELECT ",
            rule_columns!(),
            " FROM access_rules WHERE org_id = "
        ));
        q.bind(org_id).push(" AND (user_id IN ");
        q.in_list(ids.iter().copied());
        if !group_members.is_empty() {
            q.push(" OR group_id IN ");
            q.in_list(group_members.iter().map(|(g, _)| *g));
        }
        q.push(") ORDER BY id");
        rules = q.fetch_all(conn).await?;

        let mut q = Sql::new(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM review_requests WHERE status = 'approved' AND org_id = "
        ));
        q.bind(org_id)
            .push(" AND expires_at > ")
            .bind(now)
            .push(" AND requester_id IN ");
        q.in_list(ids.iter().copied());
        grants = q.fetch_all(conn).await?;
    }

    Ok(AccessFacts {
        revision: revision(conn, org_id).await?,
        actions: crate::roles::actions(conn, org_id).await?,
        roles: crate::roles::list(conn, org_id).await?,
        members,
        groups: fetch_all(
            conn,
            "SELECT id, name FROM groups WHERE org_id = $1 ORDER BY id",
            (org_id,),
        )
        .await?,
        group_members,
        resources,
        resource_groups,
        rules,
        grants,
    })
}

// ------------------------------------------------------------ the change log

/// Keep this many revisions of an org's change log; a replica further
/// behind builds its index afresh.
pub const LOG_KEEP: i64 = 1_000;

/// Records what the change that moved `org_id` to `revision` did (in the
/// change's transaction). Every 100th revision prunes rows older than
/// [`LOG_KEEP`] revisions.
pub async fn log_change(
    conn: &mut Conn,
    org_id: OrgId,
    revision: i64,
    payload: &str,
    now: Timestamp,
) -> Result<()> {
    crate::sql::exec(
        conn,
        "INSERT INTO access_changes (org_id, revision, payload, created_at) VALUES ($1, $2, $3, $4)",
        (org_id, revision, payload, now),
    )
    .await?;
    if revision % 100 == 0 {
        crate::sql::exec(
            conn,
            "DELETE FROM access_changes WHERE org_id = $1 AND revision <= $2",
            (org_id, revision - LOG_KEEP),
        )
        .await?;
    }
    Ok(())
}

/// What [`changes_since`] read: the logged changes after a revision, in
/// order, and the org's revision in the same snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRead {
    pub changes: Vec<(i64, String)>,
    /// The org's revision when the changes were read (`None`: there is no
    /// such org). The log holds every change up to it.
    pub org_revision: Option<i64>,
}

/// The logged changes of `org_id` after `revision`, in order, at most
/// `limit`, with the org's revision, in one statement: a replica catching
/// up learns in one round trip both what to apply and whether that
/// brings it up to date.
pub async fn changes_since(
    conn: &mut Conn,
    org_id: OrgId,
    revision: i64,
    limit: i64,
) -> Result<LogRead> {
    // The org's row comes with a NULL payload (a change's is NOT NULL).
    let rows: Vec<(i64, Option<String>)> = fetch_all(
        conn,
        "SELECT revision, payload FROM (
             SELECT revision, payload FROM access_changes
             WHERE org_id = $1 AND revision > $2
             ORDER BY revision LIMIT $3
         ) AS logged
         UNION ALL
         SELECT revision, NULL FROM orgs WHERE id = $1",
        (org_id, revision, limit),
    )
    .await?;
    let mut read = LogRead {
        changes: Vec::with_capacity(rows.len()),
        org_revision: None,
    };
    for (rev, payload) in rows {
        match payload {
            Some(payload) => read.changes.push((rev, payload)),
            None => read.org_revision = Some(rev),
        }
    }
    // UNION ALL keeps each part's rows, not necessarily their order.
    read.changes.sort_unstable_by_key(|(rev, _)| *rev);
    Ok(read)
}

// ------------------------------------------------- facts of one thing, for deltas

/// A user's membership of the org, if any.
pub async fn member(conn: &mut Conn, org_id: OrgId, user_id: i64) -> Result<Option<MemberFact>> {
    crate::sql::fetch_optional(
        conn,
        concat!(
            "SELECT ",
            member_columns!(),
            " ",
            member_from!(),
            " WHERE m.org_id = $1 AND m.user_id = $2"
        ),
        (org_id, user_id),
    )
    .await
}

/// The ids of the org's groups the user is in.
pub async fn groups_of(conn: &mut Conn, org_id: OrgId, user_id: i64) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = fetch_all(
        conn,
        "SELECT group_id FROM group_members WHERE org_id = $1 AND user_id = $2",
        (org_id, user_id),
    )
    .await?;
    Ok(rows.into_iter().map(|(g,)| g).collect())
}

/// Every rule of the org naming the user.
pub async fn rules_of_user(conn: &mut Conn, org_id: OrgId, user_id: i64) -> Result<Vec<RuleFact>> {
    fetch_all(
        conn,
        concat!(
            "SELECT ",
            rule_columns!(),
            " FROM access_rules WHERE org_id = $1 AND user_id = $2 ORDER BY id"
        ),
        (org_id, user_id),
    )
    .await
}

/// A group's name, if the group exists in the org.
pub async fn group(conn: &mut Conn, org_id: OrgId, group_id: i64) -> Result<Option<String>> {
    let row: Option<(String,)> = crate::sql::fetch_optional(
        conn,
        "SELECT name FROM groups WHERE org_id = $1 AND id = $2",
        (org_id, group_id),
    )
    .await?;
    Ok(row.map(|(n,)| n))
}

/// Every rule of the org naming the group.
pub async fn rules_of_group(
    conn: &mut Conn,
    org_id: OrgId,
    group_id: i64,
) -> Result<Vec<RuleFact>> {
    fetch_all(
        conn,
        concat!(
            "SELECT ",
            rule_columns!(),
            " FROM access_rules WHERE org_id = $1 AND group_id = $2 ORDER BY id"
        ),
        (org_id, group_id),
    )
    .await
}

/// A review request while it is approved.
pub async fn approved_request(
    conn: &mut Conn,
    org_id: OrgId,
    request_id: i64,
) -> Result<Option<GrantFact>> {
    crate::sql::fetch_optional(
        conn,
        concat!(
            "SELECT ",
            grant_columns!(),
            " FROM review_requests WHERE org_id = $1 AND id = $2 AND status = 'approved'"
        ),
        (org_id, request_id),
    )
    .await
}

/// A resource with the ids of the groups it names.
pub async fn resource(
    conn: &mut Conn,
    org_id: OrgId,
    resource_id: i64,
) -> Result<Option<(ResourceFact, Vec<i64>)>> {
    let Some(r): Option<ResourceFact> = crate::sql::fetch_optional(
        conn,
        concat!(
            "SELECT ",
            resource_columns!(),
            " FROM resources WHERE org_id = $1 AND id = $2"
        ),
        (org_id, resource_id),
    )
    .await?
    else {
        return Ok(None);
    };
    let groups: Vec<(i64,)> = fetch_all(
        conn,
        "SELECT group_id FROM resource_groups WHERE org_id = $1 AND resource_id = $2",
        (org_id, resource_id),
    )
    .await?;
    Ok(Some((r, groups.into_iter().map(|(g,)| g).collect())))
}

/// The PostgreSQL channel on which committed access changes are announced
/// as `org_id:revision`.
pub const CHANNEL: &str = "roster_access_changes";

/// Announces (PostgreSQL only; delivered at commit) that `org_id` moved to
/// `revision`.
pub async fn notify(conn: &mut Conn, org_id: OrgId, revision: i64) -> Result<()> {
    let payload = format!("{}:{revision}", org_id.get());
    let _: Vec<(String,)> = fetch_all(
        conn,
        "SELECT CAST(pg_notify($1, $2) AS TEXT)",
        (CHANNEL, payload),
    )
    .await?;
    Ok(())
}

/// The org's groups created at `at` (by the change being committed).
pub async fn groups_created_at(conn: &mut Conn, org_id: OrgId, at: Timestamp) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = fetch_all(
        conn,
        "SELECT id FROM groups WHERE org_id = $1 AND created_at = $2",
        (org_id, at),
    )
    .await?;
    Ok(rows.into_iter().map(|(g,)| g).collect())
}
