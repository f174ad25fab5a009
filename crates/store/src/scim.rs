//! What SCIM provisioning keeps beside memberships and groups: the
//! directory's userName, externalId and document on a membership, and the
//! directory's displayName and externalId on a group (migration 16).

use crate::members::Member;
use crate::sql::{exec, exec_one, fetch_all, fetch_optional, Sql};
use crate::{Conn, Result};
use roster_domain::{GroupId, MembershipId, OrgId, Timestamp, UserId};
use sqlx::FromRow;
use std::collections::HashMap;

/// A person's membership with what the directory wrote about it.
#[derive(Debug, Clone, FromRow)]
pub struct DirectoryMember {
    #[sqlx(flatten)]
    pub member: Member,
    pub scim_user_name: Option<String>,
    pub scim_external_id: Option<String>,
    /// The JSON document the directory wrote, less what Roster keeps itself.
    pub scim_document: Option<String>,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
}

/// The team list's row and the directory's columns.
static SELECT_MEMBER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::members::SELECT.replacen(
        " FROM memberships m",
        ", m.scim_user_name, m.scim_external_id, m.scim_document, m.updated_at FROM memberships m",
        1,
    )
});

/// Which of an org's people to read; every field narrows (AND).
#[derive(Debug, Default, Clone)]
pub struct MemberLookup<'a> {
    pub user_id: Option<UserId>,
    /// The userName folded to lower case: a directory's userName, or the
    /// email of a member the directory never wrote.
    pub user_name_folded: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

/// The org's people (never service accounts) that match `lookup`, in
/// user id order (the stable order of SCIM pages).
pub async fn members(
    conn: &mut Conn,
    org_id: OrgId,
    lookup: &MemberLookup<'_>,
) -> Result<Vec<DirectoryMember>> {
    let mut q = Sql::new(&SELECT_MEMBER);
    q.push(" WHERE m.org_id = ")
        .bind(org_id)
        .push(" AND u.kind = 'person'");
    q.and("m.user_id = ", lookup.user_id);
    if let Some(name) = lookup.user_name_folded {
        // A member's userName is the directory's, or their email when the
        // directory never wrote one. Both ways in are indexed lookups, and
        // the test that picks between them is a CASE, from which neither
        // engine derives a scan of the org's memberships (an OR here made
        // SQLite read every membership of the org, and PostgreSQL every
        // one the directory never wrote, on each lookup).
        q.push(" AND m.user_id IN (SELECT user_id FROM memberships WHERE org_id = ")
            .bind(org_id)
            .push(" AND scim_user_name_folded = ")
            .bind(name)
            .push(" UNION ALL SELECT id FROM users WHERE email = ")
            .bind(name)
            .push(")");
        q.push(" AND CASE WHEN m.scim_user_name_folded IS NULL THEN u.email = ")
            .bind(name)
            .push(" ELSE m.scim_user_name_folded = ")
            .bind(name)
            .push(" END");
    }
    q.and("m.scim_external_id = ", lookup.external_id);
    q.push(" ORDER BY m.user_id");
    q.fetch_all(conn).await
}

/// One person of the org, if they are a member.
pub async fn member(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
) -> Result<Option<DirectoryMember>> {
    let lookup = MemberLookup {
        user_id: Some(user_id),
        ..MemberLookup::default()
    };
    Ok(members(conn, org_id, &lookup).await?.pop())
}

/// What the directory wrote about a membership.
pub struct DirectoryFields<'a> {
    pub user_name: &'a str,
    pub external_id: Option<&'a str>,
    pub document: &'a str,
}

/// Adds a person the directory provisions: the membership together with
/// what the directory wrote about it, in one statement (one row version
/// and one round of index writes, where [`crate::members::insert`] and
/// [`set_member_fields`] take two). An existing membership and a userName
/// another member has are each a [`crate::StoreError::Conflict`].
pub async fn insert_member(
    conn: &mut Conn,
    m: crate::members::NewMembership<'_>,
    f: &DirectoryFields<'_>,
) -> Result<MembershipId> {
    crate::members::insert_row(conn, m, Some(f)).await
}

/// Records what the directory wrote about a membership. A userName another
/// member has is [`crate::StoreError::Conflict`].
pub async fn set_member_fields(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    f: &DirectoryFields<'_>,
    now: Timestamp,
) -> Result<()> {
    exec_one(
        conn,
        "UPDATE memberships SET scim_user_name = $1, scim_user_name_folded = $2, scim_external_id = $3,
             scim_document = $4, updated_at = $5
         WHERE org_id = $6 AND user_id = $7",
        (
            f.user_name,
            f.user_name.to_lowercase(),
            f.external_id,
            f.document,
            now,
            org_id,
            user_id,
        ),
    )
    .await
}

/// The group ids (with names) each of `user_ids` is in.
pub async fn group_ids_of(
    conn: &mut Conn,
    org_id: OrgId,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, Vec<(GroupId, String)>>> {
    let mut out: HashMap<UserId, Vec<(GroupId, String)>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let mut q = Sql::new(
        "SELECT gm.user_id, g.id, COALESCE(g.scim_display_name, g.name) FROM group_members gm \
         JOIN groups g ON g.id = gm.group_id WHERE gm.org_id = ",
    );
    q.bind(org_id)
        .push(" AND gm.user_id IN ")
        .in_list(user_ids.iter().copied())
        .push(" ORDER BY g.id");
    for (user_id, id, name) in q.fetch_all::<(i64, i64, String)>(conn).await? {
        out.entry(UserId::new(user_id))
            .or_default()
            .push((GroupId::new(id), name));
    }
    Ok(out)
}

/// A group with what the directory wrote about it.
#[derive(Debug, Clone, FromRow)]
pub struct DirectoryGroup {
    #[sqlx(try_from = "i64")]
    pub id: GroupId,
    pub name: String,
    pub scim_display_name: Option<String>,
    pub scim_external_id: Option<String>,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub updated_at: Option<Timestamp>,
}

const SELECT_GROUP: &str = "SELECT g.id, g.name, g.scim_display_name, g.scim_external_id, \
    g.created_at, g.updated_at FROM groups g";

/// The org's groups, in id order (the stable order of SCIM pages).
pub async fn groups(conn: &mut Conn, org_id: OrgId) -> Result<Vec<DirectoryGroup>> {
    let text = format!("{SELECT_GROUP} WHERE g.org_id = $1 ORDER BY g.id");
    fetch_all(conn, &text, (org_id,)).await
}

pub async fn group(conn: &mut Conn, org_id: OrgId, id: GroupId) -> Result<Option<DirectoryGroup>> {
    let text = format!("{SELECT_GROUP} WHERE g.org_id = $1 AND g.id = $2");
    fetch_optional(conn, &text, (org_id, id)).await
}

/// Every group's members (user id and the account's name), in one read.
pub async fn group_members(
    conn: &mut Conn,
    org_id: OrgId,
) -> Result<HashMap<GroupId, Vec<(UserId, String)>>> {
    let rows: Vec<(i64, i64, String)> = fetch_all(
        conn,
        "SELECT gm.group_id, gm.user_id, u.name FROM group_members gm JOIN users u ON u.id = gm.user_id
         WHERE gm.org_id = $1 ORDER BY gm.group_id, gm.user_id",
        (org_id,),
    )
    .await?;
    let mut out: HashMap<GroupId, Vec<(UserId, String)>> = HashMap::new();
    for (g, u, name) in rows {
        out.entry(GroupId::new(g))
            .or_default()
            .push((UserId::new(u), name));
    }
    Ok(out)
}

/// Records the directory's displayName and externalId of a group, and
/// when it changed.
pub async fn set_group_fields(
    conn: &mut Conn,
    group_id: GroupId,
    display_name: &str,
    external_id: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    exec_one(
        conn,
        "UPDATE groups SET scim_display_name = $1, scim_external_id = $2, updated_at = $3 WHERE id = $4",
        (display_name, external_id, now, group_id),
    )
    .await
}

/// Marks a group changed (its members moved).
pub async fn touch_group(conn: &mut Conn, group_id: GroupId, now: Timestamp) -> Result<()> {
    exec(
        conn,
        "UPDATE groups SET updated_at = $1 WHERE id = $2",
        (now, group_id),
    )
    .await
}
