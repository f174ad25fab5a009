//! Memberships: users in organizations, with their role, team, groups and
//! status, and the filtered, paginated team list.

use crate::sql::{
    exec, exec_one, fetch_all, fetch_one, fetch_optional, like_contains, scalar, Sql,
};
use crate::{Conn, Result};
use roster_domain::{MemberStatus, MembershipId, OrgId, Timestamp, UserId};
use sqlx::FromRow;
use std::collections::HashMap;
use std::time::Duration;

/// A membership joined with its user and groups: one row of the team list.
#[derive(Debug, Clone, FromRow)]
pub struct Member {
    #[sqlx(try_from = "i64")]
    pub membership_id: MembershipId,
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    #[sqlx(try_from = "i64")]
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: String,
    pub team: String,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    pub identity_provider: String,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub mfa_required: bool,
    #[sqlx(try_from = "i64")]
    pub joined_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub last_active_at: Option<Timestamp>,
    /// A service account (acts only through API tokens), not a person.
    #[sqlx(try_from = "crate::sql::Flag")]
    pub service_account: bool,
    /// The account has a confirmed second factor.
    #[sqlx(try_from = "crate::sql::Flag")]
    pub mfa_enabled: bool,
    /// The member's groups in the org, by name.
    #[sqlx(try_from = "crate::sql::LineList")]
    pub groups: Vec<String>,
}

/// A member's standing in an org: what authorizing a request needs of
/// the caller's own membership (every management request reads it, and
/// every change reads it again under the org's lock), without the account,
/// second-factor and group columns of a team list row.
#[derive(Debug, Clone, FromRow)]
pub struct Standing {
    pub role: String,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub last_active_at: Option<Timestamp>,
}

/// `user_id`'s standing in the org; `None` if they are not a member.
pub async fn standing(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<Option<Standing>> {
    fetch_optional(
        conn,
        "SELECT role, status, last_active_at FROM memberships WHERE org_id = $1 AND user_id = $2",
        (org_id, user_id),
    )
    .await
}

/// The head of every statement that reads [`Member`] rows (public so that
/// `examples/member_list_bench.rs` explains the very statement).
pub const SELECT: &str = "SELECT m.id AS membership_id, m.org_id, m.user_id, u.email, u.name, m.role, \
    m.team, m.status, m.identity_provider, m.mfa_required, m.joined_at, m.last_active_at, \
    CASE WHEN u.kind = 'service' THEN 1 ELSE 0 END AS service_account, \
    CASE WHEN EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = m.user_id AND t.confirmed_at IS NOT NULL) \
    OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = m.user_id) \
    THEN 1 ELSE 0 END AS mfa_enabled, \
    (SELECT string_agg(g.name, '\n' ORDER BY g.name) FROM group_members gm JOIN groups g ON g.id = gm.group_id \
    WHERE gm.org_id = m.org_id AND gm.user_id = m.user_id) AS \"groups\" \
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

/// Adds a user to an org. An existing membership is
/// [`crate::StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, m: NewMembership<'_>) -> Result<MembershipId> {
    insert_row(conn, m, None).await
}

/// Inserts the membership row, with what a directory wrote about it when
/// `directory` says (`crate::scim::insert_member`).
pub(crate) async fn insert_row(
    conn: &mut Conn,
    m: NewMembership<'_>,
    directory: Option<&crate::scim::DirectoryFields<'_>>,
) -> Result<MembershipId> {
    let folded = directory.map(|d| d.user_name.to_lowercase());
    let (id, name_folded): (i64, String) = fetch_one(
        conn,
        "INSERT INTO memberships (org_id, user_id, role, team, status, identity_provider, mfa_required,
             joined_at, updated_at, name_folded, email,
             scim_user_name, scim_user_name_folded, scim_external_id, scim_document)
         SELECT $1, u.id, $3, $4, $5, $6, $7, $8, $8, u.name_folded, u.email, $9, $10, $11, $12
         FROM users u WHERE u.id = $2
         RETURNING id, name_folded",
        (
            m.org_id,
            m.user_id,
            m.role,
            m.team,
            m.status,
            m.identity_provider,
            m.mfa_required,
            m.now,
            directory.map(|d| d.user_name),
            folded.as_deref(),
            directory.and_then(|d| d.external_id),
            directory.map(|d| d.document),
        ),
    )
    .await?;
    index_name(conn, m.org_id, id, &name_folded).await?;
    Ok(MembershipId::new(id))
}

/// Writes the grams of membership `id`'s folded name into
/// `member_name_grams`, each with the grams near it ([`name_grams_near`]),
/// in one statement.
async fn index_name(conn: &mut Conn, org_id: OrgId, id: i64, name_folded: &str) -> Result<()> {
    let grams = name_grams_near(name_folded);
    if grams.is_empty() {
        return Ok(());
    }
    let mut q =
        Sql::new("INSERT INTO member_name_grams (org_id, gram, membership_id, near) SELECT ");
    q.bind(org_id)
        .push(", column1, ")
        .bind(id)
        .push(", column2 FROM (VALUES ");
    for (i, (gram, near)) in grams.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(")
            .bind(gram.as_str())
            .push(", ")
            .bind(*near)
            .push(")");
    }
    q.push(") v");
    q.execute(conn).await
}

/// Indexes the names of `user_id`'s memberships again, after their
/// folded name became `name_folded` (`users::set_name`).
pub(crate) async fn reindex_names_of_user(
    conn: &mut Conn,
    user_id: UserId,
    name_folded: &str,
) -> Result<()> {
    let memberships: Vec<(i64, i64)> = fetch_all(
        conn,
        "SELECT id, org_id FROM memberships WHERE user_id = $1",
        (user_id,),
    )
    .await?;
    exec(
        conn,
        "DELETE FROM member_name_grams WHERE membership_id IN (SELECT id FROM memberships WHERE user_id = $1)",
        (user_id,),
    )
    .await?;
    for (id, org_id) in memberships {
        index_name(conn, OrgId::new(org_id), id, name_folded).await?;
    }
    Ok(())
}

/// Indexes the names of every membership of `org_id` again, in SQL: for
/// rows written without the store (the benchmarks' set-based seeding).
/// Grams and their neighbours are cut as [`name_grams_near`] cuts them:
/// SQL's `substr` and `length` count characters on both engines, and
/// [`NEAR_BIT_SQL`] is [`gram_bit`]. The test
/// `store::the_name_filter_finds_what_a_substring_search_finds` checks
/// this path against the other. Migration 0022 filled the table with the
/// same statement.
pub async fn reindex_names_of_org(conn: &mut Conn, org_id: OrgId) -> Result<()> {
    exec(
        conn,
        "DELETE FROM member_name_grams WHERE org_id = $1",
        (org_id,),
    )
    .await?;
    let code_point = crate::sql::code_point_function(if crate::sql::is_postgres(conn) {
        crate::Engine::Postgres
    } else {
        crate::Engine::Sqlite
    });
    let text = format!(
        "WITH RECURSIVE g (id, org_id, name, i) AS (
            SELECT id, org_id, name_folded, 1 FROM memberships WHERE org_id = $1 AND length(name_folded) >= 3
            UNION ALL
            SELECT id, org_id, name, i + 1 FROM g WHERE i + 3 <= length(name))
         INSERT INTO member_name_grams (org_id, gram, membership_id, near)
         SELECT g.org_id, substr(g.name, g.i, 3), g.id,
                CAST(COALESCE(SUM(DISTINCT CAST(1 AS BIGINT) << {bit}), 0) AS BIGINT)
         FROM g LEFT JOIN (SELECT -2 AS o UNION ALL SELECT -1 UNION ALL SELECT 1 UNION ALL SELECT 2) d
             ON g.i + d.o >= 1 AND g.i + d.o + 2 <= length(g.name)
         GROUP BY g.org_id, g.id, substr(g.name, g.i, 3)",
        bit = NEAR_BIT_SQL.replace("{{CODE_POINT}}", code_point)
    );
    exec(conn, &text, (org_id,)).await
}

/// [`gram_bit`] in SQL, of the gram at character `g.i + d.o` of `g.name`;
/// `{{CODE_POINT}}` is the engine's code point function (SQLite's
/// `unicode`, PostgreSQL's `ascii`). Every product fits in 64 bits: a
/// code point is below 2^21.
const NEAR_BIT_SQL: &str = "CAST(((
    {{CODE_POINT}}(substr(g.name, g.i + d.o, 1)) * 961
    + {{CODE_POINT}}(substr(g.name, g.i + d.o + 1, 1)) * 31
    + {{CODE_POINT}}(substr(g.name, g.i + d.o + 2, 1))) * 2654435761) % 4294967291 % 62 AS INTEGER)";

/// How far from a gram (in characters, either way) the grams in its
/// `near` set start.
const NEAR: usize = 2;

/// A gram's bit in a `near` set: its three code points hashed into 0..62
/// (a multiplicative hash modulo a prime, then modulo 62; [`NEAR_BIT_SQL`]
/// computes the same in SQL).
fn gram_bit(gram: &[char]) -> u32 {
    let h = i64::from(u32::from(gram[0])) * 961
        + i64::from(u32::from(gram[1])) * 31
        + i64::from(u32::from(gram[2]));
    ((h * 2_654_435_761) % 4_294_967_291 % 62) as u32
}

/// The grams starting within [`NEAR`] characters of position `at` of
/// `chars` (not the one at `at`), as a set of [`gram_bit`]s.
fn near_bits(chars: &[char], at: usize) -> i64 {
    let last = chars.len().saturating_sub(3);
    (at.saturating_sub(NEAR)..=(at + NEAR).min(last))
        .filter(|&j| j != at)
        .fold(0, |set, j| set | 1i64 << gram_bit(&chars[j..j + 3]))
}

/// The distinct grams (every three characters) of a folded name or a
/// search, in the order they first occur (none when it has fewer than
/// three characters), each with the grams near any of its occurrences
/// ([`near_bits`]): the rows of `member_name_grams`.
pub(crate) fn name_grams_near(name: &str) -> Vec<(String, i64)> {
    let chars: Vec<char> = name.chars().collect();
    let mut grams: Vec<(String, i64)> = Vec::new();
    let mut at_of: HashMap<String, usize> = HashMap::new();
    for i in 0..chars.len().saturating_sub(2) {
        let gram: String = chars[i..i + 3].iter().collect();
        let near = near_bits(&chars, i);
        match at_of.get(&gram) {
            Some(&k) => grams[k].1 |= near,
            None => {
                at_of.insert(gram.clone(), grams.len());
                grams.push((gram, near));
            }
        }
    }
    grams
}

/// What a name holding `needle` must have in the `near` set of `gram`
/// (one of the needle's grams): the grams beside the gram's first
/// occurrence in the needle. Every occurrence of the needle in a name puts
/// them there, so a row without them cannot match.
fn near_mask(needle: &str, gram: &str) -> i64 {
    let chars: Vec<char> = needle.chars().collect();
    let gram: Vec<char> = gram.chars().collect();
    chars
        .windows(3)
        .position(|w| w == gram.as_slice())
        .map_or(0, |at| near_bits(&chars, at))
}

/// Grams of a search probed for their memberships, at most.
const GRAM_PROBES: usize = 6;
/// Memberships after the cursor counted per gram, at most: past it a
/// gram is "common", and which common gram is rarest is not worth reading
/// their lists to know.
const GRAM_PROBE_LIMIT: i64 = 500;

/// The gram of `needle` held by the fewest memberships of the org after
/// `after` (counted up to [`GRAM_PROBE_LIMIT`]; when every one reaches
/// it, the first probed), or `None` when the needle is shorter than a
/// gram: a name search reads that gram's memberships, in id order,
/// instead of the org's. Up to [`GRAM_PROBES`] grams are probed, spread
/// over the needle, last first.
async fn rarest_gram(
    conn: &mut Conn,
    org_id: OrgId,
    needle: &str,
    after: Option<i64>,
) -> Result<Option<String>> {
    let grams: Vec<String> = name_grams_near(needle)
        .into_iter()
        .map(|(gram, _)| gram)
        .collect();
    let n = grams.len();
    // From the end of the search: what is typed last usually narrows it
    // most ("user 12"), and a rare gram found first bounds the counts of
    // the others.
    let probed: Vec<&String> = if n <= GRAM_PROBES {
        grams.iter().rev().collect()
    } else {
        (0..GRAM_PROBES)
            .rev()
            .map(|k| &grams[k * (n - 1) / (GRAM_PROBES - 1)])
            .collect()
    };
    // Once a gram is under the limit, the next ones are counted only up
    // to its count: only a rarer one matters.
    let mut best: Option<(i64, &String)> = None;
    let first = probed.first().copied();
    for gram in probed {
        let limit = best.map_or(GRAM_PROBE_LIMIT, |(held, _)| held);
        let held: i64 = scalar(
            conn,
            "SELECT count(*) FROM (SELECT 1 FROM member_name_grams
               WHERE org_id = $1 AND gram = $2 AND membership_id > $3 LIMIT $4) p",
            (org_id, gram.as_str(), after.unwrap_or(0), limit),
        )
        .await?;
        if held < limit {
            best = Some((held, gram));
            if held == 0 {
                break;
            }
        }
    }
    // Every gram is that common: still one of them (the first probed).
    // Its memberships are a subset of the org's in the same order, so the
    // page never reads more rows than the scan would, and it skips the
    // runs of ids without the gram (a search whose matches cluster).
    Ok(best.map(|(_, g)| g).or(first).cloned())
}

/// One member of an org, with groups; `None` if the user is not a member.
pub async fn find(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<Option<Member>> {
    let text = format!("{SELECT} WHERE m.org_id = $1 AND m.user_id = $2");
    fetch_optional(conn, &text, (org_id, user_id)).await
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
    /// Whether the account has a confirmed second factor.
    pub mfa: Option<bool>,
}

fn list_sql<'a>(
    org_id: OrgId,
    f: &'a MemberFilter,
    after: Option<i64>,
    limit: i64,
    gram: Option<(&'a str, i64)>,
    driver: Option<&'static str>,
) -> Sql<'a> {
    let mut q = Sql::new(SELECT);
    if let Some((gram, near)) = gram {
        // The memberships holding the name's rarest gram, in id order
        // (the gram index's own order), with the grams the search puts
        // beside it ([`near_mask`], read from the gram's row: a
        // membership without them is not read), each checked against
        // every filter.
        q.push(" WHERE m.id IN (SELECT ng.membership_id FROM member_name_grams ng JOIN memberships s ON s.id = ng.membership_id WHERE ng.org_id = ")
            .bind(org_id)
            .push(" AND ng.gram = ")
            .bind(gram);
        if near != 0 {
            q.push(" AND (ng.near & ")
                .bind(near)
                .push(") = ")
                .bind(near);
        }
        q.and("ng.membership_id > ", after);
        q.push(" AND ");
        push_filters(&mut q, "s", org_id, f, None);
        q.push(" ORDER BY ng.membership_id LIMIT ")
            .bind(limit)
            .push(") ORDER BY m.id");
    } else if f.name.is_some() || f.email.is_some() {
        // The page's membership ids are found first by scanning
        // `memberships_org_search_idx` (org, id, name, email) alone, then
        // only those rows are read and joined.
        q.push(" WHERE m.id IN (SELECT s.id FROM memberships s WHERE ");
        push_page(&mut q, "s", org_id, f, None, after, limit);
        q.push(") ORDER BY m.id");
    } else {
        q.push(" WHERE ");
        push_page(&mut q, "m", org_id, f, driver, after, limit);
    }
    q
}

/// The filters on columns that have an index (org, column, id) of their
/// own (migration 0001), in the order [`page_driver`] prefers them.
fn indexed_filters(f: &MemberFilter) -> [(&'static str, Option<&String>); 4] {
    [
        ("team", f.team.as_ref()),
        ("role", f.role.as_ref()),
        ("identity_provider", f.identity_provider.as_ref()),
        ("status", f.status.as_ref()),
    ]
}

/// On PostgreSQL, with two column filters or more, the column whose index
/// drives the page: the first set of team, role, identity provider and status
/// (usually the most values, so each the fewest members). PostgreSQL's
/// generic plan for such a page walks the primary key from the cursor
/// and drops every row that fails a filter (about twenty read for one
/// kept in a 100,000-member org), because it prices the column indexes'
/// scattered reads above the primary key's ordered ones; any one filter's
/// index reads a subset of those rows, in the same order. The driving
/// column is compared as a range of one value, `team >= $v AND team <=
/// $v`, and the page ordered by (team, id): the same rows in the same
/// order as `team = $v ... ORDER BY id`, but an equality would let the
/// planner drop the column from the order, and a range lets only that
/// column's index give it (docs/benchmarks.md, "The team list: one
/// filter's index drives a page of several filters"). One filter alone
/// needs none: its plan walks its index, or the primary key when the
/// value is most of the org, which is then as good.
fn page_driver(f: &MemberFilter) -> Option<&'static str> {
    let mut set = indexed_filters(f)
        .into_iter()
        .filter_map(|(col, val)| val.map(|_| col));
    let first = set.next()?;
    set.next().map(|_| first)
}

/// The conditions, order and limit of a page, on memberships aliased `m`,
/// driven by the index of `driver` ([`page_driver`]) if one is given.
fn push_page<'a>(
    q: &mut Sql<'a>,
    m: &str,
    org_id: OrgId,
    f: &'a MemberFilter,
    driver: Option<&'static str>,
    after: Option<i64>,
    limit: i64,
) {
    push_filters(q, m, org_id, f, driver);
    q.and(&format!("{m}.id > "), after);
    match driver {
        Some(col) => q.push(&format!(" ORDER BY {m}.{col}, {m}.id LIMIT ")),
        None => q.push(&format!(" ORDER BY {m}.id LIMIT ")),
    }
    .bind(limit);
}

/// The org and the filters' conditions, on memberships aliased `m`; the
/// `driver` column's value as a range of one value ([`page_driver`]).
fn push_filters<'a>(
    q: &mut Sql<'a>,
    m: &str,
    org_id: OrgId,
    f: &'a MemberFilter,
    driver: Option<&'static str>,
) {
    q.push(&format!("{m}.org_id = ")).bind(org_id);
    for (col, val) in indexed_filters(f) {
        let Some(val) = val else {
            continue;
        };
        if driver == Some(col) {
            q.and(&format!("{m}.{col} >= "), Some(val))
                .and(&format!("{m}.{col} <= "), Some(val));
        } else {
            q.and(&format!("{m}.{col} = "), Some(val));
        }
    }
    for (col, val) in [("name_folded", &f.name), ("email", &f.email)] {
        if let Some(v) = val {
            q.and(&format!("{m}.{col} LIKE "), Some(like_contains(v)))
                .push(" ESCAPE '\\'");
        }
    }
    if let Some(mfa) = f.mfa {
        let not = if mfa { "" } else { "NOT " };
        q.push(&format!(
            " AND {not}(EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = {m}.user_id AND t.confirmed_at IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = {m}.user_id))"
        ));
    }
    if let Some(group) = &f.group {
        // The group's id is found once (an uncorrelated subquery); each
        // membership is then one probe of group_members' primary key, so
        // the scan in id order stops as soon as the page is full.
        q.push(&format!(" AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = {m}.user_id AND gm.group_id = (SELECT g.id FROM groups g WHERE g.org_id = "))
            .bind(org_id)
            .push(" AND g.name = ")
            .bind(group)
            .push("))");
    }
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
    let gram = match &filter.name {
        Some(name) => rarest_gram(conn, org_id, name, after).await?.map(|gram| {
            let near = near_mask(name, &gram);
            (gram, near)
        }),
        None => None,
    };
    // SQLite already walks one filter's index for such a page; given the
    // range it chose worse (docs/benchmarks.md).
    let driver = if crate::sql::is_postgres(conn) {
        page_driver(filter)
    } else {
        None
    };
    list_sql(
        org_id,
        filter,
        after,
        limit,
        gram.as_ref().map(|(g, near)| (g.as_str(), *near)),
        driver,
    )
    .fetch_all(conn)
    .await
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
    q.bind(org_id)
        .push(" AND gm.user_id IN ")
        .in_list(user_ids.iter().copied())
        .push(" ORDER BY g.name");
    for (user_id, name) in q.fetch_all::<(i64, String)>(conn).await? {
        out.entry(UserId::new(user_id)).or_default().push(name);
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
    exec(
        conn,
        "DELETE FROM group_members WHERE org_id = $1 AND user_id = $2",
        (org_id, user_id),
    )
    .await?;
    for name in groups {
        exec(
            conn,
            "INSERT INTO groups (org_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (org_id, name) DO NOTHING",
            (org_id, name, now),
        )
        .await?;
        exec(
            conn,
            "INSERT INTO group_members (group_id, user_id, org_id, created_at)
             SELECT id, $1, $2, $3 FROM groups WHERE org_id = $2 AND name = $4",
            (user_id, org_id, now, name),
        )
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
    exec_one(
        conn,
        "UPDATE memberships SET role = $1, team = $2, status = $3, identity_provider = $4, mfa_required = $5, updated_at = $6
         WHERE org_id = $7 AND user_id = $8",
        (
            f.role,
            f.team,
            f.status,
            f.identity_provider,
            f.mfa_required,
            now,
            org_id,
            user_id,
        ),
    )
    .await
}

/// Removes a membership, the member's groups in that org, the access rules
/// naming them there and their API tokens for it.
pub async fn delete(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<()> {
    exec(
        conn,
        "DELETE FROM group_members WHERE org_id = $1 AND user_id = $2",
        (org_id, user_id),
    )
    .await?;
    crate::rules::delete_for_user(conn, org_id, user_id).await?;
    // Their tokens for the org go too: a member added back later does not
    // find old tokens working again.
    crate::tokens::delete_for_member(conn, org_id, user_id).await?;
    exec_one(
        conn,
        "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
        (org_id, user_id),
    )
    .await
}

/// The org's service accounts, in the order they were made.
pub async fn service_accounts(conn: &mut Conn, org_id: OrgId) -> Result<Vec<Member>> {
    let text = format!("{SELECT} WHERE m.org_id = $1 AND u.kind = 'service' ORDER BY m.id");
    crate::sql::fetch_all(conn, &text, (org_id,)).await
}

/// Whether the org has an active owner other than `user_id`, counting
/// people only: a service account never keeps an org owned. It stops at
/// the first one found, so it costs the same in an org of any size. Read
/// it after [`crate::orgs::lock`] so that concurrent demotions see each
/// other.
pub async fn another_active_owner(conn: &mut Conn, org_id: OrgId, user_id: UserId) -> Result<bool> {
    let found: i64 = scalar(
        conn,
        "SELECT COUNT(*) FROM (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND m.user_id <> $2
           AND u.kind = 'person'
         LIMIT 1) AS owners",
        (org_id, user_id),
    )
    .await?;
    Ok(found > 0)
}

/// Active owners (people) of the org: the count the org's page shows.
pub async fn count_active_owners(conn: &mut Conn, org_id: OrgId) -> Result<i64> {
    scalar(
        conn,
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.kind = 'person'",
        (org_id,),
    )
    .await
}

/// Active owners (people) of the org, counted up to two: enough to tell
/// "no owner", "one owner" and "more than one" without visiting every
/// owner of a big org. The team list asks this on every page.
pub async fn active_owners_up_to_two(conn: &mut Conn, org_id: OrgId) -> Result<i64> {
    scalar(
        conn,
        "SELECT COUNT(*) FROM (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.kind = 'person'
         LIMIT 2) AS owners",
        (org_id,),
    )
    .await
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
    fetch_all(
        conn,
        "SELECT o.id AS org_id, o.slug, o.name AS org_name, o.personal_user_id, m.role, m.status, m.team, m.joined_at
         FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.slug",
        (user_id,),
    )
    .await
}

/// Records activity in an org, at most once per `resolution_ms`.
pub async fn touch_activity(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    now: Timestamp,
    resolution: Duration,
) -> Result<()> {
    exec(
        conn,
        "UPDATE memberships SET last_active_at = $1
         WHERE org_id = $2 AND user_id = $3 AND (last_active_at IS NULL OR last_active_at < $4)",
        (now, org_id, user_id, now.minus(resolution)),
    )
    .await
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
    q.bind(org_id)
        .push(" AND m.role IN ")
        .in_list(roles.iter().copied())
        .push(" ORDER BY m.id");
    q.fetch_all(conn).await
}

/// `user`'s (role, status) in every org that is not a personal org: what
/// decides whether they may create orgs.
pub async fn shared_memberships(conn: &mut Conn, user: UserId) -> Result<Vec<(String, String)>> {
    fetch_all(
        conn,
        "SELECT m.role, m.status FROM memberships m JOIN orgs o ON o.id = m.org_id
         WHERE m.user_id = $1 AND o.personal_user_id IS NULL",
        (user,),
    )
    .await
}

/// How many orgs other than `org_id` (and other than the account's own
/// personal org) the account is a member of, in any status: an org's
/// admins change a member's credentials only when this is zero (SPEC §2).
pub async fn other_org_count(conn: &mut Conn, user_id: UserId, org_id: OrgId) -> Result<i64> {
    scalar(
        conn,
        "SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id
         WHERE m.user_id = $1 AND m.org_id <> $2
           AND (o.personal_user_id IS NULL OR o.personal_user_id <> $1)",
        (user_id, org_id),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::{name_grams_near, near_mask};

    /// Every name holding a search keeps, in the `near` set of each of the
    /// search's grams, what the search's mask asks for: the filter never
    /// drops a match. Names and searches from a small alphabet (with
    /// letters of two and three bytes), so grams repeat within a name.
    #[test]
    fn a_name_holding_the_search_passes_its_near_filter() {
        let alphabet: Vec<char> = "ab é語".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut checked = 0;
        for _ in 0..2_000 {
            let len = 3 + next(14);
            let name: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let chars: Vec<char> = name.chars().collect();
            let from = next(len - 2);
            let to = from + 3 + next(len - from - 2);
            let needle: String = chars[from..to].iter().collect();
            let rows = name_grams_near(&name);
            for (gram, _) in name_grams_near(&needle) {
                let mask = near_mask(&needle, &gram);
                let near = rows.iter().find(|(g, _)| *g == gram).expect("gram").1;
                assert_eq!(near & mask, mask, "{needle:?} in {name:?}, gram {gram:?}");
                checked += usize::from(mask != 0);
            }
        }
        assert!(checked > 1_000);
    }

    /// The filter rejects what it was made for: a name holding each gram
    /// of "an so", never together.
    #[test]
    fn grams_that_are_never_together_fail_the_near_filter() {
        let rows = name_grams_near("user 7 jan stone sonnet");
        let near = rows.iter().find(|(g, _)| g == " so").expect("gram").1;
        let mask = near_mask("an so", " so");
        assert_ne!(near & mask, mask);
    }
}
