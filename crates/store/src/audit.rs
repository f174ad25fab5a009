//! The append-only audit log.

use crate::sql::{exec, exec_count, fetch_all, fetch_one, fetch_optional, scalar, Sql};
use crate::{Conn, Result};
use roster_domain::{OrgId, Timestamp, UserId};
use sqlx::FromRow;

/// An event to record. The actor's email and name are copied, so the event
/// still says who acted after that user is gone or renamed.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub org_id: Option<OrgId>,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_email: &'a str,
    pub actor_name: &'a str,
    pub channel: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    /// A JSON object.
    pub details: &'a str,
    pub client_addr: &'a str,
    pub request_id: &'a str,
}

/// The `prev_hash` of a chain's first event: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain of an org's events is keyed by the org's id; the events that
/// belong to no org share chain 0.
pub fn chain_of(org: Option<OrgId>) -> i64 {
    org.map_or(0, OrgId::get)
}

/// The newest link of a chain: its position (0 for an empty chain) and
/// hash (the checkpoint's, or [`GENESIS`], when no event remains).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// A chain's state: its head and the checkpoint retention left.
#[derive(Debug, Clone, FromRow)]
pub struct Chain {
    pub head_seq: i64,
    pub head_hash: String,
    /// The position and hash of the last pruned event (0 and [`GENESIS`]
    /// when nothing was pruned).
    pub pruned_seq: i64,
    pub pruned_hash: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub pruned_at: Option<Timestamp>,
}

/// Where a chain's state is kept: an org's on its org row (so that the
/// org's lock, [`crate::orgs::lock`], returns its head), chain 0's in
/// `audit_chains`. Each statement below has its chain's id as its last
/// parameter.
struct Place {
    lock: &'static str,
    set_head: &'static str,
    read: &'static str,
    checkpoint: &'static str,
}

const ORG_CHAIN: Place = Place {
    lock: "UPDATE orgs SET audit_seq = audit_seq WHERE id = $1
           RETURNING audit_seq AS seq, audit_head AS hash",
    set_head: "UPDATE orgs SET audit_seq = $1, audit_head = $2 WHERE id = $3",
    read: "SELECT audit_seq AS head_seq, audit_head AS head_hash, audit_pruned_seq AS pruned_seq,
           audit_pruned_hash AS pruned_hash, audit_pruned_at AS pruned_at FROM orgs WHERE id = $1",
    checkpoint:
        "UPDATE orgs SET audit_pruned_seq = $1, audit_pruned_hash = $2, audit_pruned_at = $3
                 WHERE id = $4",
};

const NO_ORG_CHAIN: Place = Place {
    lock: "INSERT INTO audit_chains (chain_id, head_seq, head_hash, pruned_seq, pruned_hash)
           VALUES ($1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
                   0, '0000000000000000000000000000000000000000000000000000000000000000')
           ON CONFLICT (chain_id) DO UPDATE SET head_seq = audit_chains.head_seq
           RETURNING head_seq AS seq, head_hash AS hash",
    set_head: "UPDATE audit_chains SET head_seq = $1, head_hash = $2 WHERE chain_id = $3",
    read: "SELECT head_seq, head_hash, pruned_seq, pruned_hash, pruned_at FROM audit_chains
           WHERE chain_id = $1",
    checkpoint: "UPDATE audit_chains SET pruned_seq = $1, pruned_hash = $2, pruned_at = $3
                 WHERE chain_id = $4",
};

fn place(chain_id: i64) -> &'static Place {
    if chain_id == 0 {
        &NO_ORG_CHAIN
    } else {
        &ORG_CHAIN
    }
}

/// Takes the chain's lock for the rest of the transaction and returns its
/// head: the org's row lock for an org's chain (a change to the org holds
/// it already, and has the head from [`crate::orgs::lock`]; this is for a
/// transaction that does not, such as one that creates the org), chain
/// 0's row in `audit_chains` (created on its first event) for the events
/// of no org. Concurrent appenders to one chain wait here, on both engines
/// and across replicas.
pub async fn lock_chain(conn: &mut Conn, chain_id: i64) -> Result<ChainHead> {
    fetch_one(conn, place(chain_id).lock, (chain_id,)).await
}

/// Writes the chain's head (in the transaction that holds its lock), on
/// both engines: for events chained after they were written.
pub async fn set_head(conn: &mut Conn, chain_id: i64, head: &ChainHead) -> Result<()> {
    exec(
        conn,
        place(chain_id).set_head,
        (head.seq, &head.hash, chain_id),
    )
    .await
}

/// Stores the head of a chain that the transaction appended to, just
/// before it commits: on PostgreSQL, where inserting an event no longer
/// moves it (migration 20; an org's own chain is written with its revision
/// by [`crate::orgs::commit_revision`]). On SQLite each event's insert
/// moved it already (a trigger).
pub async fn store_head(conn: &mut Conn, chain_id: i64, head: &ChainHead) -> Result<()> {
    if !crate::sql::is_postgres(conn) {
        return Ok(());
    }
    set_head(conn, chain_id, head).await
}

/// A chain's state, if it has ever had an event (an org's: if the org
/// exists).
pub async fn chain(conn: &mut Conn, chain_id: i64) -> Result<Option<Chain>> {
    fetch_optional(conn, place(chain_id).read, (chain_id,)).await
}

/// The canonical encoding of an event after `prev_hash`: each field as a
/// 4-byte big-endian length and its UTF-8 bytes, in this order: the
/// version tag `roster-audit-v1`, `prev_hash` (64 lower-case hex digits),
/// the org id (decimal, empty for no org), `at` (Unix milliseconds,
/// decimal), the actor id (decimal or empty), actor email, actor name,
/// channel, action, target, details (the JSON text as stored), client
/// address and request id. docs/decisions.md ("The audit chain") says the
/// same for outside tools.
pub fn canonical(prev_hash: &str, e: &NewEvent<'_>) -> Vec<u8> {
    let org = e.org_id.map(|o| o.get().to_string()).unwrap_or_default();
    let at = e.at.unix_ms().to_string();
    let actor = e.actor_id.map(|u| u.get().to_string()).unwrap_or_default();
    let fields: [&str; 13] = [
        "roster-audit-v1",
        prev_hash,
        &org,
        &at,
        &actor,
        e.actor_email,
        e.actor_name,
        e.channel,
        e.action,
        e.target,
        e.details,
        e.client_addr,
        e.request_id,
    ];
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.len() + 4).sum());
    for f in fields {
        out.extend_from_slice(&u32::try_from(f.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(f.as_bytes());
    }
    out
}

/// The hash of an event after `prev_hash`: SHA-256 of [`canonical`], in
/// lower-case hex.
pub fn event_hash(prev_hash: &str, e: &NewEvent<'_>) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(canonical(prev_hash, e));
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// Appends an event to the chain whose head is `head` (locked in this
/// transaction: by [`crate::orgs::lock`] or [`lock_chain`]) and moves
/// `head` to it. On SQLite the stored head moves with the insert (a
/// trigger); on PostgreSQL the transaction stores it before it commits
/// ([`store_head`], [`crate::orgs::commit_revision`]), or the insert does
/// when `locked_org_revision` is given: the event belongs to the org whose
/// lock the transaction holds, and the same statement writes the org's new
/// revision and head (one write of the org's row per change, and no
/// statement of its own).
pub async fn insert(
    conn: &mut Conn,
    e: &NewEvent<'_>,
    head: &mut ChainHead,
    locked_org_revision: Option<i64>,
) -> Result<i64> {
    let seq = head.seq + 1;
    let hash = event_hash(&head.hash, e);
    let params = (
        e.org_id,
        e.at,
        e.actor_id,
        e.actor_email,
        e.actor_name,
        e.channel,
        e.action,
        e.target,
        e.details,
        e.client_addr,
        e.request_id,
        seq,
        &head.hash,
        &hash,
    );
    // One text, written once: the statement with and without the org's
    // row (no string is built per event).
    macro_rules! insert_event {
        () => {
            "INSERT INTO audit_events (org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id, seq, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id"
        };
    }
    const WITH_ORG_ROW: &str = concat!(
        "WITH e AS (",
        insert_event!(),
        "), o AS (UPDATE orgs SET revision = $15, audit_seq = $12, audit_head = $14 WHERE id = $1)
         SELECT id FROM e"
    );
    let id = match locked_org_revision {
        Some(revision) if crate::sql::is_postgres(conn) => {
            let (a, b, c, d, e_, f, g, h, i, j, k, l, m, n) = params;
            scalar(
                conn,
                WITH_ORG_ROW,
                (a, b, c, d, e_, f, g, h, i, j, k, l, m, n, revision),
            )
            .await?
        }
        _ => scalar(conn, insert_event!(), params).await?,
    };
    head.seq = seq;
    head.hash = hash;
    Ok(id)
}

#[derive(Debug, Clone, FromRow)]
pub struct Event {
    pub id: i64,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub org_id: Option<OrgId>,
    #[sqlx(try_from = "i64")]
    pub at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub actor_id: Option<UserId>,
    pub actor_email: String,
    pub actor_name: String,
    pub channel: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub client_addr: String,
    pub request_id: String,
    /// The event's position in its chain (none only for an event written
    /// before chains, until the server chains it on start).
    pub seq: Option<i64>,
    pub prev_hash: String,
    pub hash: String,
}

impl Event {
    /// The fields the event's hash covers.
    pub fn fields(&self) -> NewEvent<'_> {
        NewEvent {
            org_id: self.org_id,
            at: self.at,
            actor_id: self.actor_id,
            actor_email: &self.actor_email,
            actor_name: &self.actor_name,
            channel: &self.channel,
            action: &self.action,
            target: &self.target,
            details: &self.details,
            client_addr: &self.client_addr,
            request_id: &self.request_id,
        }
    }
}

const EVENT: &str = "id, org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id, seq, prev_hash, hash";

/// Filters of `GET /orgs/{org}/audit`; they combine with AND.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    /// The actor's email (exact, lower-case).
    pub actor: Option<String>,
    /// An action, or a prefix ending in `.` (`users.` matches `users.create`).
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A page of an org's events, newest first, older than `before` (an id).
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    f: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>> {
    let text = format!("SELECT {EVENT} FROM audit_events WHERE org_id = ");
    let mut q = Sql::new(&text);
    q.bind(org_id)
        .and("id < ", before)
        .and("actor_email = ", f.actor.as_ref());
    match &f.action {
        Some(a) if a.ends_with('.') => {
            q.and("action >= ", Some(a))
                .and("action < ", Some(format!("{a}\u{10FFFF}")));
        }
        a => {
            q.and("action = ", a.as_ref());
        }
    }
    q.and("target = ", f.target.as_ref())
        .and("at >= ", f.since)
        .and("at < ", f.until)
        .push(" ORDER BY id DESC LIMIT ")
        .bind(limit);
    q.fetch_all(conn).await
}

/// The actions of the events that belong to no org about `target`
/// (a person's own events: sign-in steps, second factors), oldest first.
pub async fn actions_without_org(conn: &mut Conn, target: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = crate::sql::fetch_all(
        conn,
        "SELECT action FROM audit_events WHERE org_id IS NULL AND target = $1 ORDER BY id",
        (target,),
    )
    .await?;
    Ok(rows.into_iter().map(|(a,)| a).collect())
}

/// The condition that selects a chain's events, with its id as `$1`.
fn in_chain(chain_id: i64) -> &'static str {
    if chain_id == 0 {
        "org_id IS NULL AND $1 = 0"
    } else {
        "org_id = $1"
    }
}

/// Up to `limit` events of a chain after position `after`, in chain order.
pub async fn chain_page(
    conn: &mut Conn,
    chain_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<Event>> {
    let text = format!(
        "SELECT {EVENT} FROM audit_events WHERE {} AND seq > $2 ORDER BY seq, id LIMIT $3",
        in_chain(chain_id)
    );
    fetch_all(conn, &text, (chain_id, after, limit)).await
}

/// Up to `limit` events written before chains existed, oldest first.
pub async fn unchained(conn: &mut Conn, limit: i64) -> Result<Vec<Event>> {
    let text = format!("SELECT {EVENT} FROM audit_events WHERE seq IS NULL ORDER BY id LIMIT $1");
    fetch_all(conn, &text, (limit,)).await
}

/// Links an event written before chains to its chain, after `head`.
pub async fn chain_existing(conn: &mut Conn, e: &Event, head: &mut ChainHead) -> Result<()> {
    let seq = head.seq + 1;
    let hash = event_hash(&head.hash, &e.fields());
    let n = exec_count(
        conn,
        "UPDATE audit_events SET seq = $1, prev_hash = $2, hash = $3 WHERE id = $4 AND seq IS NULL",
        (seq, &head.hash, &hash, e.id),
    )
    .await?;
    if n == 1 {
        head.seq = seq;
        head.hash = hash;
    }
    Ok(())
}

/// An account's own events (those of no org it acted in or was the target
/// of), newest first, older than `before` (an id).
pub async fn personal(
    conn: &mut Conn,
    user_id: UserId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>> {
    let text = format!("SELECT {EVENT} FROM audit_events WHERE org_id IS NULL AND (actor_id = ");
    let mut q = Sql::new(&text);
    let target = format!("user:{}", user_id.get());
    q.bind(user_id)
        .push(" OR target = ")
        .bind(target)
        .push(")")
        .and("id < ", before)
        .push(" ORDER BY id DESC LIMIT ")
        .bind(limit);
    q.fetch_all(conn).await
}

/// What is wrong with the first event of a chain that does not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// Its contents (or, when the next event records another hash, its
    /// rewritten hash) are not what was written.
    Edited,
    /// It is gone.
    Missing,
    /// It stands in another place than where it was written.
    Reordered,
}

impl BreakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::Edited => "edited",
            BreakKind::Missing => "missing",
            BreakKind::Reordered => "reordered",
        }
    }
}

/// The first event that does not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub kind: BreakKind,
    /// Its position in the chain.
    pub seq: i64,
    /// Its row, when it is still there.
    pub event_id: Option<i64>,
    pub reason: String,
}

/// The outcome of recomputing a chain.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Events ever appended (pruned ones included): the head's position.
    pub count: i64,
    pub head_hash: String,
    /// Events retention pruned, and the checkpoint verification starts from.
    pub pruned: i64,
    pub pruned_hash: String,
    /// Events recomputed.
    pub checked: i64,
    pub first_break: Option<Break>,
}

/// The event of a chain whose stored hash is `hash`, if any: (id, seq).
async fn find_hash(conn: &mut Conn, chain_id: i64, hash: &str) -> Result<Option<(i64, i64)>> {
    let text = format!(
        "SELECT id, COALESCE(seq, 0) FROM audit_events WHERE {} AND hash = $2 ORDER BY id LIMIT 1",
        in_chain(chain_id)
    );
    fetch_optional(conn, &text, (chain_id, hash)).await
}

/// Recomputes a chain from its checkpoint to its head and names the first
/// event that does not match: one whose hash is not that of its contents
/// (edited), one whose predecessor is gone (missing), or one that follows
/// another event than the one before it (reordered). Reads page by page.
pub async fn verify(conn: &mut Conn, chain_id: i64) -> Result<Verdict> {
    let state = chain(conn, chain_id).await?.unwrap_or(Chain {
        head_seq: 0,
        head_hash: GENESIS.to_owned(),
        pruned_seq: 0,
        pruned_hash: GENESIS.to_owned(),
        pruned_at: None,
    });
    let mut verdict = Verdict {
        count: state.head_seq,
        head_hash: state.head_hash.clone(),
        pruned: state.pruned_seq,
        pruned_hash: state.pruned_hash.clone(),
        checked: 0,
        first_break: None,
    };
    let mut expected_seq = state.pruned_seq + 1;
    let mut expected_prev = state.pruned_hash.clone();
    let mut last_id = 0i64;
    let mut after = state.pruned_seq;
    let found = |kind, seq, event_id, reason: String| Break {
        kind,
        seq,
        event_id,
        reason,
    };
    'pages: loop {
        let page = chain_page(conn, chain_id, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq.unwrap_or(after);
        for e in &page {
            let seq = e.seq.unwrap_or(0);
            verdict.checked += 1;
            let b = if event_hash(&e.prev_hash, &e.fields()) != e.hash {
                Some(found(
                    BreakKind::Edited,
                    seq,
                    Some(e.id),
                    format!("event #{seq} does not match its hash: its contents were changed"),
                ))
            } else if e.prev_hash != expected_prev {
                if let Some((_, other)) = find_hash(conn, chain_id, &e.prev_hash).await? {
                    Some(found(
                        BreakKind::Reordered,
                        seq,
                        Some(e.id),
                        format!(
                            "event #{seq} was written after event #{other}, not after event #{}",
                            expected_seq - 1
                        ),
                    ))
                } else if seq > expected_seq {
                    Some(found(
                        BreakKind::Missing,
                        expected_seq,
                        None,
                        format!(
                            "event #{expected_seq} is missing (the next one present is #{seq})"
                        ),
                    ))
                } else {
                    let before = expected_seq - 1;
                    Some(found(
                        BreakKind::Edited,
                        before,
                        None,
                        if before == state.pruned_seq {
                            format!("event #{seq} does not follow the chain's start or checkpoint: the checkpoint was changed")
                        } else {
                            format!("event #{before} was changed and its hash rewritten: event #{seq} recorded another")
                        },
                    ))
                }
            } else if seq != expected_seq {
                Some(found(
                    BreakKind::Edited,
                    expected_seq,
                    Some(e.id),
                    format!("event #{expected_seq} was renumbered #{seq}"),
                ))
            } else if e.id <= last_id {
                Some(found(
                    BreakKind::Reordered,
                    seq,
                    Some(e.id),
                    format!("event #{seq} is stored before event #{}", seq - 1),
                ))
            } else {
                None
            };
            if b.is_some() {
                verdict.first_break = b;
                break 'pages;
            }
            expected_prev = e.hash.clone();
            expected_seq += 1;
            last_id = e.id;
        }
    }
    if verdict.first_break.is_none()
        && (expected_seq - 1 != state.head_seq || expected_prev != state.head_hash)
    {
        verdict.first_break = Some(if expected_seq - 1 < state.head_seq {
            found(
                BreakKind::Missing,
                expected_seq,
                None,
                format!(
                    "events #{expected_seq} to #{} are missing (the chain's head is #{})",
                    state.head_seq, state.head_seq
                ),
            )
        } else {
            found(
                BreakKind::Edited,
                state.head_seq,
                None,
                "the chain's recorded head does not match its newest event".to_owned(),
            )
        });
    }
    Ok(verdict)
}

/// Prunes the chain's events older than `cutoff`, in the transaction that
/// holds its lock: the checkpoint moves to the newest
/// pruned event, so what remains still verifies. Returns how many events
/// were pruned and the checkpoint (position, hash).
pub async fn prune(
    conn: &mut Conn,
    chain_id: i64,
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<Option<(u64, i64, String)>> {
    let text = format!(
        "SELECT seq, hash FROM audit_events WHERE {} AND at < $2 AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
        in_chain(chain_id)
    );
    let last: Option<(i64, String)> = fetch_optional(conn, &text, (chain_id, cutoff)).await?;
    let Some((seq, hash)) = last else {
        return Ok(None);
    };
    let text = format!(
        "DELETE FROM audit_events WHERE {} AND seq <= $2",
        in_chain(chain_id)
    );
    let pruned = exec_count(conn, &text, (chain_id, seq)).await?;
    exec(
        conn,
        place(chain_id).checkpoint,
        (seq, &hash, now, chain_id),
    )
    .await?;
    Ok(Some((pruned, seq, hash)))
}

/// The orgs that keep their audit events for a limited time: (org, days).
pub async fn retention_orgs(conn: &mut Conn) -> Result<Vec<(OrgId, i64)>> {
    let rows: Vec<(i64, i64)> = fetch_all(
        conn,
        "SELECT id, audit_retention_days FROM orgs WHERE audit_retention_days IS NOT NULL ORDER BY id",
        (),
    )
    .await?;
    Ok(rows.into_iter().map(|(o, d)| (OrgId::new(o), d)).collect())
}

/// The org's retention in days (`None`: forever).
pub async fn retention(conn: &mut Conn, org_id: OrgId) -> Result<Option<i64>> {
    let (days,): (Option<i64>,) = fetch_one(
        conn,
        "SELECT audit_retention_days FROM orgs WHERE id = $1",
        (org_id,),
    )
    .await?;
    Ok(days)
}

pub async fn set_retention(conn: &mut Conn, org_id: OrgId, days: Option<i64>) -> Result<()> {
    exec(
        conn,
        "UPDATE orgs SET audit_retention_days = $1 WHERE id = $2",
        (days, org_id),
    )
    .await
}
