//! Memberships: users in organizations, with their role, team, groups and
//! status, and the filtered, paginated team list.

use crate::sql::AsColumn;
use crate::sql::{like_contains, Sql};
use crate::{flag, Conn, Result, StoreError};
use roster_domain::{MemberStatus, MembershipId, OrgId, Timestamp, UserId};
use sqlx::{FromRow, Row};
use std::collections::HashMap;
use std::time::Duration;

/// A membership joined with its user and groups: one row of the team list.
#[derive(Debug, Clone)]
pub struct Member {
    pub membership_id: MembershipId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: String,
    pub team: String,
    pub status: MemberStatus,
    pub identity_provider: String,
    pub mfa_required: bool,
    pub joined_at: Timestamp,
    pub last_active_at: Option<Timestamp>,
    pub groups: Vec<String>,
}

#[derive(FromRow)]
struct MemberRow {
    #[sqlx(try_from = "i64")]
    membership_id: MembershipId,
    #[sqlx(try_from = "i64")]
    org_id: OrgId,
    #[sqlx(try_from = "i64")]
    user_id: UserId,
    email: String,
    name: String,
    role: String,
    team: String,
    #[sqlx(try_from = "String")]
    status: MemberStatus,
    identity_provider: String,
    mfa_required: i64,
    #[sqlx(try_from = "i64")]
    joined_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    last_active_at: Option<Timestamp>,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Member {
            membership_id: r.membership_id,
            org_id: r.org_id,
            user_id: r.user_id,
            email: r.email,
            name: r.name,
            role: r.role,
            team: r.team,
            status: r.status,
            identity_provider: r.identity_provider,
            mfa_required: flag(r.mfa_required),
            joined_at: r.joined_at,
            last_active_at: r.last_active_at,
            groups: Vec::new(),
        }
    }
}

const SELECT: &str = "SELECT m.id AS membership_id, m.org_id, m.user_id, u.email, u.name, m.role, \
    m.team, m.status, m.identity_provider, m.mfa_required, m.joined_at, m.last_active_at \
    FROM memberships m JOIN users u ON u.id = m.user_id";

pub struct NewMembership<'a> {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: &'a str,
    pub team: &'a str,
    pub status: MemberStatus,
    pub identity_provider: &'a str,
    pub mfa_required: bool,
    pub now: Timestamp,
}

/// Adds a user to an org. An existing membership is [`StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, m: NewMembership<'_>) -> Result<MembershipId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO memberships (org_id, user_id, role, team, status, identity_provider, mfa_required,
             joined_at, updated_at, name_folded, email)
         SELECT $1, u.id, $3, $4, $5, $6, $7, $8, $8, u.name_folded, u.email FROM users u WHERE u.id = $2
         RETURNING id",
    )
    .bind(m.org_id.col())
    .bind(m.user_id.col())
    .bind(m.role)
    .bind(m.team)
    .bind(m.status.as_str())
    .bind(m.identity_provider)
    .bind(i64::from(m.mfa_required))
    .bind(m.now.col())
    .fetch_one(conn)
    .await?;
    Ok(MembershipId::new(id))
}

/// One member of an org, with groups; `None` if the user is not a member.
pub async fn find(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<Option<Member>> {
    let row: Option<MemberRow> =
        sqlx::query_as(&format!("{SELECT} WHERE m.org_id = $1 AND m.user_id = $2"))
            .bind(org_id.col())
            .bind(user_id.col())
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let mut member = Member::from(row);
    member.groups = groups_of(conn, org_id, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    Ok(Some(member))
}

/// The filters of `GET /orgs/{org}/users`. They combine with AND; `name` and
/// `email` are lower-cased substrings, the rest exact values.
#[derive(Debug, Default, Clone)]
pub struct MemberFilter {
    pub role: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub status: Option<String>,
    pub team: Option<String>,
    pub group: Option<String>,
    pub identity_provider: Option<String>,
}

fn list_sql(org_id: OrgId, f: &MemberFilter, after: Option<i64>, limit: i64) -> Sql {
    if f.name.is_some() || f.email.is_some() {
        return search_sql(org_id, f, after, limit);
    }
    let mut q = Sql::new(SELECT);
    q.push(" WHERE m.org_id = ").bind_i64(org_id);
    if let Some(after) = after {
        q.push(" AND m.id > ").bind_i64(after);
    }
    for (col, val) in [
        ("m.role", &f.role),
        ("m.status", &f.status),
        ("m.team", &f.team),
        ("m.identity_provider", &f.identity_provider),
    ] {
        if let Some(v) = val {
            q.push(&format!(" AND {col} = ")).bind_text(v.clone());
        }
    }
    push_filters(&mut q, "m", org_id, f);
    q.push(" ORDER BY m.id LIMIT ").bind_i64(limit);
    q
}

/// The substring filters and the group filter, on memberships aliased `m`.
fn push_filters(q: &mut Sql, m: &str, org_id: OrgId, f: &MemberFilter) {
    if let Some(name) = &f.name {
        q.push(&format!(" AND {m}.name_folded LIKE "))
            .bind_text(like_contains(name))
            .push(" ESCAPE '\\'");
    }
    if let Some(email) = &f.email {
        q.push(&format!(" AND {m}.email LIKE "))
            .bind_text(like_contains(email))
            .push(" ESCAPE '\\'");
    }
    if let Some(group) = &f.group {
        // The group's id is found once (an uncorrelated subquery); each
        // membership is then one probe of group_members' primary key, so
        // the scan in id order stops as soon as the page is full.
        q.push(&format!(" AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = {m}.user_id AND gm.group_id = (SELECT g.id FROM groups g WHERE g.org_id = "))
            .bind_i64(org_id)
            .push(" AND g.name = ")
            .bind_text(group.clone())
            .push("))");
    }
}

/// A page filtered by `name` or `email` substrings: the page's membership
/// ids are found first by scanning `memberships_org_search_idx` (org, id,
/// name, email) alone, then only those rows are read and joined.
fn search_sql(org_id: OrgId, f: &MemberFilter, after: Option<i64>, limit: i64) -> Sql {
    let mut q = Sql::new(SELECT);
    q.push(" WHERE m.id IN (SELECT s.id FROM memberships s WHERE s.org_id = ")
        .bind_i64(org_id);
    if let Some(after) = after {
        q.push(" AND s.id > ").bind_i64(after);
    }
    for (col, val) in [
        ("s.role", &f.role),
        ("s.status", &f.status),
        ("s.team", &f.team),
        ("s.identity_provider", &f.identity_provider),
    ] {
        if let Some(v) = val {
            q.push(&format!(" AND {col} = ")).bind_text(v.clone());
        }
    }
    push_filters(&mut q, "s", org_id, f);
    q.push(" ORDER BY s.id LIMIT ").bind_i64(limit);
    q.push(") ORDER BY m.id");
    q
}

/// A page of the team list in join order: members whose membership id is
/// greater than `after`, at most `limit`. Keyset pagination, so rows
/// inserted while someone pages never shift or repeat a page.
#[tracing::instrument(skip(conn))]
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    filter: &MemberFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Member>> {
    let sql = list_sql(org_id, filter, after, limit);
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut members = rows
        .iter()
        .map(|r| MemberRow::from_row(r).map(Member::from))
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
    let mut groups = groups_of(conn, org_id, &ids).await?;
    for m in &mut members {
        m.groups = groups.remove(&m.user_id).unwrap_or_default();
    }
    Ok(members)
}

/// Group names of each of `user_ids` in the org, sorted.
pub async fn groups_of(
    conn: &mut Conn,
    org_id: OrgId,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, Vec<String>>> {
    let mut out: HashMap<UserId, Vec<String>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let mut q = Sql::new(
        "SELECT gm.user_id, g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE gm.org_id = ",
    );
    q.bind_i64(org_id).push(" AND gm.user_id IN (");
    for (i, id) in user_ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind_i64(*id);
    }
    q.push(") ORDER BY g.name");
    for row in q.query().fetch_all(conn).await? {
        let user_id = UserId::new(row.try_get(0)?);
        let name: String = row.try_get(1)?;
        out.entry(user_id).or_default().push(name);
    }
    Ok(out)
}

/// Replaces a member's groups, creating groups that do not exist yet.
pub async fn set_groups(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    groups: &[String],
    now: Timestamp,
) -> Result<()> {
    sqlx::query("DELETE FROM group_members WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.col())
        .bind(user_id.col())
        .execute(&mut *conn)
        .await?;
    for name in groups {
        sqlx::query(
            "INSERT INTO groups (org_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (org_id, name) DO NOTHING",
        )
        .bind(org_id.col())
        .bind(name.as_str())
        .bind(now.col())
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id, org_id, created_at)
             SELECT id, $1, $2, $3 FROM groups WHERE org_id = $2 AND name = $4",
        )
        .bind(user_id.col())
        .bind(org_id.col())
        .bind(now.col())
        .bind(name.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The columns of a membership that an update may change.
#[derive(Debug, Clone)]
pub struct MemberFields<'a> {
    pub role: &'a str,
    pub team: &'a str,
    pub status: MemberStatus,
    pub identity_provider: &'a str,
    pub mfa_required: bool,
}

pub async fn update(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    f: &MemberFields<'_>,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE memberships SET role = $1, team = $2, status = $3, identity_provider = $4, mfa_required = $5, updated_at = $6
         WHERE org_id = $7 AND user_id = $8",
    )
    .bind(f.role)
    .bind(f.team)
    .bind(f.status.as_str())
    .bind(f.identity_provider)
    .bind(i64::from(f.mfa_required))
    .bind(now.col())
    .bind(org_id.col())
    .bind(user_id.col())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Removes a membership, the member's groups in that org and the access
/// rules naming them there.
pub async fn delete(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<()> {
    sqlx::query("DELETE FROM group_members WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.col())
        .bind(user_id.col())
        .execute(&mut *conn)
        .await?;
    crate::rules::delete_for_user(conn, org_id, user_id).await?;
    let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org_id.col())
        .bind(user_id.col())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Active owners of the org other than `user_id`. Read it after
/// [`crate::orgs::lock`] so that concurrent demotions see each other.
pub async fn count_active_owners_except(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner' AND status = 'active' AND user_id <> $2",
    )
    .bind(org_id.col())
    .bind(user_id.col())
    .fetch_one(conn)
    .await?;
    Ok(n)
}

pub async fn count_active_owners(conn: &mut Conn, org_id: OrgId) -> Result<i64> {
    count_active_owners_except(conn, org_id, UserId::new(0)).await
}

/// One of a user's memberships, with its org, for `GET /me` and `GET /orgs`.
#[derive(Debug, Clone, FromRow)]
pub struct UserMembership {
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    pub slug: String,
    pub org_name: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub personal_user_id: Option<UserId>,
    pub role: String,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    pub team: String,
    #[sqlx(try_from = "i64")]
    pub joined_at: Timestamp,
}

pub async fn of_user(conn: &mut Conn, user_id: UserId) -> Result<Vec<UserMembership>> {
    Ok(sqlx::query_as(
        "SELECT o.id AS org_id, o.slug, o.name AS org_name, o.personal_user_id, m.role, m.status, m.team, m.joined_at
         FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.slug",
    )
    .bind(user_id.col())
    .fetch_all(conn)
    .await?)
}

/// Records activity in an org, at most once per `resolution_ms`.
pub async fn touch_activity(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    now: Timestamp,
    resolution: Duration,
) -> Result<()> {
    sqlx::query(
        "UPDATE memberships SET last_active_at = $1
         WHERE org_id = $2 AND user_id = $3 AND (last_active_at IS NULL OR last_active_at < $4)",
    )
    .bind(now.col())
    .bind(org_id.col())
    .bind(user_id.col())
    .bind(now.minus(resolution).col())
    .execute(conn)
    .await?;
    Ok(())
}

/// Emails and names of the org's active members whose role is one of
/// `roles` (for notifying, e.g., everyone who may approve sign-ups).
pub async fn active_with_roles(
    conn: &mut Conn,
    org_id: OrgId,
    roles: &[&str],
) -> Result<Vec<(String, String)>> {
    let mut q = Sql::new(
        "SELECT u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.status = 'active' AND m.org_id = ",
    );
    q.bind_i64(org_id).push(" AND m.role IN (");
    for (i, r) in roles.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind_text(*r);
    }
    q.push(") ORDER BY m.id");
    let mut out = Vec::new();
    for row in q.query().fetch_all(conn).await? {
        out.push((row.try_get(0)?, row.try_get(1)?));
    }
    Ok(out)
}
