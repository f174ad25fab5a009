//! Single sign-on: an org's OpenID Connect connections and the domains they
//! serve, the provider subjects linked to accounts, sign-ins in flight
//! (state), finished sign-ins waiting for the CLI (handoffs), and the org's
//! group mappings (shared with SCIM). Secrets arrive encrypted or hashed by
//! the caller.

use crate::sql::{exec, exec_count, fetch_all, fetch_optional, scalar};
use crate::{Conn, Result};
use roster_domain::{GroupId, OrgId, Timestamp, UserId};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct Connection {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_enc: String,
    pub groups_claim: String,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub jit: bool,
    #[sqlx(try_from = "crate::sql::Flag")]
    pub enforce: bool,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
    /// Read separately, sorted.
    #[sqlx(skip)]
    pub domains: Vec<String>,
}

impl Connection {
    /// Whether the connection serves `domain` (lower-case).
    pub fn serves(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d == domain)
    }
}

const COLUMNS: &str = "id, org_id, name, issuer, client_id, client_secret_enc, groups_claim, jit, \
    enforce, created_at, updated_at";

/// The fields of a connection an administrator sets.
pub struct ConnectionFields<'a> {
    pub name: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret_enc: &'a str,
    pub groups_claim: &'a str,
    pub jit: bool,
    pub enforce: bool,
}

async fn with_domains(conn: &mut Conn, mut list: Vec<Connection>) -> Result<Vec<Connection>> {
    for c in &mut list {
        let rows: Vec<(String,)> = fetch_all(
            conn,
            "SELECT domain FROM sso_domains WHERE connection_id = $1 ORDER BY domain",
            (c.id,),
        )
        .await?;
        c.domains = rows.into_iter().map(|(d,)| d).collect();
    }
    Ok(list)
}

pub async fn insert(
    conn: &mut Conn,
    org_id: OrgId,
    f: &ConnectionFields<'_>,
    now: Timestamp,
) -> Result<i64> {
    scalar(
        conn,
        "INSERT INTO sso_connections (org_id, name, issuer, client_id, client_secret_enc, groups_claim,
             jit, enforce, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        (
            org_id,
            f.name,
            f.issuer,
            f.client_id,
            f.client_secret_enc,
            f.groups_claim,
            f.jit,
            f.enforce,
            now,
        ),
    )
    .await
}

pub async fn update(
    conn: &mut Conn,
    org_id: OrgId,
    id: i64,
    f: &ConnectionFields<'_>,
    now: Timestamp,
) -> Result<()> {
    crate::sql::exec_one(
        conn,
        "UPDATE sso_connections SET name = $1, issuer = $2, client_id = $3, client_secret_enc = $4,
             groups_claim = $5, jit = $6, enforce = $7, updated_at = $8
         WHERE org_id = $9 AND id = $10",
        (
            f.name,
            f.issuer,
            f.client_id,
            f.client_secret_enc,
            f.groups_claim,
            f.jit,
            f.enforce,
            now,
            org_id,
            id,
        ),
    )
    .await
}

/// Replaces the domains a connection serves. A domain served by another
/// connection (of any org) is [`crate::StoreError::Conflict`].
pub async fn set_domains(
    conn: &mut Conn,
    org_id: OrgId,
    id: i64,
    domains: &[String],
) -> Result<()> {
    exec(
        conn,
        "DELETE FROM sso_domains WHERE connection_id = $1",
        (id,),
    )
    .await?;
    for d in domains {
        exec(
            conn,
            "INSERT INTO sso_domains (domain, connection_id, org_id) VALUES ($1, $2, $3)",
            (d.as_str(), id, org_id),
        )
        .await?;
    }
    Ok(())
}

/// The org's connections, oldest first, with their domains.
pub async fn list(conn: &mut Conn, org_id: OrgId) -> Result<Vec<Connection>> {
    let text = format!("SELECT {COLUMNS} FROM sso_connections WHERE org_id = $1 ORDER BY id");
    let list = fetch_all(conn, &text, (org_id,)).await?;
    with_domains(conn, list).await
}

pub async fn get(conn: &mut Conn, org_id: OrgId, id: i64) -> Result<Option<Connection>> {
    let text = format!("SELECT {COLUMNS} FROM sso_connections WHERE org_id = $1 AND id = $2");
    let found: Option<Connection> = fetch_optional(conn, &text, (org_id, id)).await?;
    Ok(with_domains(conn, found.into_iter().collect()).await?.pop())
}

/// A connection by id alone (a sign-in's callback).
pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<Connection>> {
    let text = format!("SELECT {COLUMNS} FROM sso_connections WHERE id = $1");
    let found: Option<Connection> = fetch_optional(conn, &text, (id,)).await?;
    Ok(with_domains(conn, found.into_iter().collect()).await?.pop())
}

/// The connection that serves an email domain, if any.
pub async fn by_domain(conn: &mut Conn, domain: &str) -> Result<Option<Connection>> {
    let text = format!(
        "SELECT {COLUMNS} FROM sso_connections WHERE id =
             (SELECT connection_id FROM sso_domains WHERE domain = $1)"
    );
    let found: Option<Connection> = fetch_optional(conn, &text, (domain,)).await?;
    Ok(with_domains(conn, found.into_iter().collect()).await?.pop())
}

/// The id of the connection of org `org_id` that serves `domain` and
/// enforces SSO, if any: a session not opened through it does not open the
/// org.
pub async fn enforcing(conn: &mut Conn, org_id: OrgId, domain: &str) -> Result<Option<i64>> {
    let rows: Vec<(i64,)> = fetch_all(
        conn,
        "SELECT c.id FROM sso_domains d JOIN sso_connections c ON c.id = d.connection_id
         WHERE d.domain = $1 AND d.org_id = $2 AND c.enforce = 1",
        (domain, org_id),
    )
    .await?;
    Ok(rows.first().map(|(id,)| *id))
}

/// Deletes a connection (its domains, links and sign-ins in flight go
/// with it). Returns whether it existed.
pub async fn delete(conn: &mut Conn, org_id: OrgId, id: i64) -> Result<bool> {
    for table in [
        "sso_domains",
        "sso_identities",
        "sso_states",
        "sso_handoffs",
    ] {
        exec(
            conn,
            &format!("DELETE FROM {table} WHERE connection_id = $1"),
            (id,),
        )
        .await?;
    }
    exec(
        conn,
        "UPDATE sessions SET sso_connection_id = NULL WHERE sso_connection_id = $1",
        (id,),
    )
    .await?;
    let n = exec_count(
        conn,
        "DELETE FROM sso_connections WHERE org_id = $1 AND id = $2",
        (org_id, id),
    )
    .await?;
    Ok(n > 0)
}

/// Renames the identity provider members of the org show (a connection
/// renamed).
pub async fn rename_provider(
    conn: &mut Conn,
    org_id: OrgId,
    old: &str,
    new: &str,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "UPDATE memberships SET identity_provider = $1, updated_at = $2
         WHERE org_id = $3 AND identity_provider = $4",
        (new, now, org_id, old),
    )
    .await
}

/// The account a provider subject is linked to.
pub async fn linked_user(
    conn: &mut Conn,
    connection_id: i64,
    subject: &str,
) -> Result<Option<UserId>> {
    let row: Option<(i64,)> = fetch_optional(
        conn,
        "SELECT user_id FROM sso_identities WHERE connection_id = $1 AND subject = $2",
        (connection_id, subject),
    )
    .await?;
    Ok(row.map(|(id,)| UserId::new(id)))
}

/// Links a provider subject to an account (or notes another sign-in).
pub async fn link(
    conn: &mut Conn,
    connection_id: i64,
    subject: &str,
    user_id: UserId,
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "INSERT INTO sso_identities (connection_id, subject, user_id, created_at, last_sign_in_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (connection_id, subject) DO UPDATE SET last_sign_in_at = $4",
        (connection_id, subject, user_id, now),
    )
    .await
}

/// A sign-in in flight.
#[derive(Debug, Clone, FromRow)]
pub struct State {
    pub connection_id: i64,
    pub browser_hash: String,
    pub nonce_enc: String,
    pub verifier_enc: String,
    pub purpose: String,
    pub return_to: String,
    pub challenge: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub started_by: Option<UserId>,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
}

pub struct NewState<'a> {
    pub state_hash: &'a str,
    pub connection_id: i64,
    pub browser_hash: &'a str,
    pub nonce_enc: &'a str,
    pub verifier_enc: &'a str,
    pub purpose: &'a str,
    pub return_to: &'a str,
    pub challenge: &'a str,
    pub started_by: Option<UserId>,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// Stores a sign-in in flight, and forgets the expired ones.
pub async fn insert_state(conn: &mut Conn, s: &NewState<'_>) -> Result<()> {
    exec(
        conn,
        "DELETE FROM sso_states WHERE expires_at < $1",
        (s.now,),
    )
    .await?;
    exec(
        conn,
        "INSERT INTO sso_states (state_hash, connection_id, browser_hash, nonce_enc, verifier_enc, purpose,
             return_to, challenge, started_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        (
            s.state_hash,
            s.connection_id,
            s.browser_hash,
            s.nonce_enc,
            s.verifier_enc,
            s.purpose,
            s.return_to,
            s.challenge,
            s.started_by,
            s.now,
            s.expires_at,
        ),
    )
    .await
}

/// Takes a sign-in in flight: deletes it and returns it, once. Of two
/// callbacks with one state, one gets it.
pub async fn take_state(conn: &mut Conn, state_hash: &str) -> Result<Option<State>> {
    fetch_optional(
        conn,
        "DELETE FROM sso_states WHERE state_hash = $1
         RETURNING connection_id, browser_hash, nonce_enc, verifier_enc, purpose, return_to, challenge,
                   started_by, expires_at",
        (state_hash,),
    )
    .await
}

/// Stores a finished sign-in for the CLI to exchange.
pub async fn insert_handoff(
    conn: &mut Conn,
    code_hash: &str,
    user_id: UserId,
    connection_id: i64,
    challenge: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "DELETE FROM sso_handoffs WHERE expires_at < $1",
        (now,),
    )
    .await?;
    exec(
        conn,
        "INSERT INTO sso_handoffs (code_hash, user_id, connection_id, challenge, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        (code_hash, user_id, connection_id, challenge, now, expires_at),
    )
    .await
}

/// Takes a handoff once: (user, connection, challenge, expiry).
pub async fn take_handoff(
    conn: &mut Conn,
    code_hash: &str,
) -> Result<Option<(UserId, i64, String, Timestamp)>> {
    let row: Option<(i64, i64, String, i64)> = fetch_optional(
        conn,
        "DELETE FROM sso_handoffs WHERE code_hash = $1 RETURNING user_id, connection_id, challenge, expires_at",
        (code_hash,),
    )
    .await?;
    Ok(row.map(|(u, c, ch, e)| (UserId::new(u), c, ch, Timestamp::from_unix_ms(e))))
}

/// One group mapping, with its group's name.
#[derive(Debug, Clone, FromRow)]
pub struct Mapping {
    pub id: i64,
    pub position: i64,
    pub claim: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub group_id: Option<GroupId>,
    pub group_name: Option<String>,
    pub role: Option<String>,
}

/// The org's group mappings in order.
pub async fn mappings(conn: &mut Conn, org_id: OrgId) -> Result<Vec<Mapping>> {
    fetch_all(
        conn,
        "SELECT m.id, m.position, m.claim, m.group_id, g.name AS group_name, m.role
         FROM group_mappings m LEFT JOIN groups g ON g.id = m.group_id
         WHERE m.org_id = $1 ORDER BY m.position, m.id",
        (org_id,),
    )
    .await
}

/// One mapping to store: (claim, group, role).
pub struct NewMapping<'a> {
    pub claim: &'a str,
    pub group_id: Option<GroupId>,
    pub role: Option<&'a str>,
}

/// Replaces the org's group mappings, in the order given.
pub async fn set_mappings(
    conn: &mut Conn,
    org_id: OrgId,
    list: &[NewMapping<'_>],
    now: Timestamp,
) -> Result<()> {
    exec(
        conn,
        "DELETE FROM group_mappings WHERE org_id = $1",
        (org_id,),
    )
    .await?;
    for (i, m) in list.iter().enumerate() {
        exec(
            conn,
            "INSERT INTO group_mappings (org_id, position, claim, group_id, role, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            (org_id, i as i64, m.claim, m.group_id, m.role, now),
        )
        .await?;
    }
    Ok(())
}
