//! Single sign-on with OpenID Connect (SPEC §3 way 4, §3a, the SSO rule of
//! §2): an org's connections and the domains they serve, its group
//! mappings (shared with SCIM), sign-ins in flight, and signing a person
//! in from what a provider asserted.
//!
//! The protocol itself (discovery, the code exchange, the ID token's
//! validation) is the integration's (`integrations::oidc`); it hands this
//! module a verified identity. Rules kept here:
//! - a provider signs in only emails in its connection's domains, and
//!   links an existing account only when it asserts `email_verified`
//!   (SPEC §2), so it cannot take over accounts it does not own;
//! - a sign-in's state is single use, short-lived and bound to the browser
//!   that began it;
//! - role and mapped groups follow the mappings on every sign-in, never
//!   demoting the last owner;
//! - with `enforce`, the org opens only to sessions opened through the
//!   connection for accounts in its domains ([`App::sso_gate`]).

use super::auth::{create_account, Login};
use super::caller::{Actor, Caller, Credential};
use super::error::{Result, StoreResultExt};
use super::orgs::{invalid, parse_role, OrgAccess};
use super::{App, AppError, RequestMeta, SsoFailure};
use crate::crypto;
use roster_domain::{
    policy, BuiltinRole, Conflict, DisplayName, Email, GroupId, GroupName, IdentityProvider,
    ManagementPermission, MemberStatus, OrgId, Timestamp, UserId,
};
use roster_store::sso::{self, Connection, ConnectionFields, Mapping, NewMapping, NewState};
use roster_store::{groups, members, orgs, users, Conn};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a sign-in may take at the provider.
pub const STATE_TTL: Duration = Duration::from_secs(600);
/// How long the CLI has to exchange a finished sign-in.
pub const HANDOFF_TTL: Duration = Duration::from_secs(120);
/// The most connections an org may have, domains a connection may serve,
/// and mappings an org may keep.
const MAX_CONNECTIONS: usize = 20;
const MAX_DOMAINS: usize = 50;
const MAX_MAPPINGS: usize = 200;

/// A connection as an administrator sends it. On update, `None` keeps the
/// stored value (the client secret, above all, is never sent back).
#[derive(Debug, Clone, Default)]
pub struct ConnectionInput {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub domains: Option<Vec<String>>,
    pub groups_claim: Option<String>,
    pub jit: Option<bool>,
    pub enforce: Option<bool>,
}

/// A group mapping as received: a directory group name gives a group
/// and/or a role.
#[derive(Debug, Clone)]
pub struct MappingInput {
    pub claim: String,
    pub group: Option<String>,
    pub role: Option<String>,
}

/// Where a finished sign-in goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Back to the API caller as JSON (a session token).
    Api,
    /// The console: a session cookie, then this local path.
    Console { next: String },
    /// The CLI's loopback receiver, with a one-time code it exchanges with
    /// the verifier whose S256 challenge this is.
    Cli { redirect: String, challenge: String },
    /// An administrator's test of the connection: show the claims, sign
    /// nobody in.
    Test,
}

impl Purpose {
    fn kind(&self) -> &'static str {
        match self {
            Purpose::Api => "api",
            Purpose::Console { .. } => "console",
            Purpose::Cli { .. } => "cli",
            Purpose::Test => "test",
        }
    }
}

/// A sign-in taken back from its state at the callback.
#[derive(Debug)]
pub struct Pending {
    pub connection: Connection,
    pub client: crate::integrations::oidc::ClientConfig,
    pub nonce: String,
    pub pkce_verifier: String,
    pub purpose: Purpose,
    pub started_by: Option<UserId>,
}

/// What a provider asserted, verified (the integration's output, in the
/// terms of this module).
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

/// Who an SSO sign-in signed in, and what it made.
pub struct SignedIn {
    pub user: users::User,
    pub connection_id: i64,
    pub account_created: bool,
    pub member_created: bool,
}

/// What the mappings would give a person (the console's test button).
pub struct Preview {
    pub org_slug: String,
    pub role: Option<String>,
    pub groups: Vec<String>,
}

/// What the mappings give a person with these directory groups.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Every group a mapping names: the ones the directory manages.
    pub managed: Vec<GroupId>,
    /// The mapped groups the person belongs in.
    pub groups: Vec<GroupId>,
    /// The role of the first matching mapping that gives one.
    pub role: Option<String>,
}

/// Resolves the org's mappings for a person's directory group names
/// (SSO's groups claim, SCIM's Group displayNames): one rule for both.
pub fn resolve(mappings: &[Mapping], names: &[String]) -> Mapped {
    let mut out = Mapped::default();
    for m in mappings {
        let matches = names.contains(&m.claim);
        if let Some(g) = m.group_id {
            if !out.managed.contains(&g) {
                out.managed.push(g);
            }
            if matches && !out.groups.contains(&g) {
                out.groups.push(g);
            }
        }
        if matches && out.role.is_none() {
            out.role.clone_from(&m.role);
        }
    }
    out
}

/// What applying the mappings to a member changed.
#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub role_from: Option<String>,
    pub role_to: Option<String>,
    /// A demotion of the last owner the mappings asked for and the rule
    /// refused.
    pub kept_last_owner: bool,
    pub groups_added: Vec<String>,
    pub groups_removed: Vec<String>,
}

/// Sets a member's role and mapped groups from their directory group
/// names, in the caller's transaction (after the org's lock). Groups no
/// mapping names are left alone; the last owner is never demoted (the
/// demotion is skipped and reported).
pub(crate) async fn apply_mappings(
    conn: &mut Conn,
    org: OrgId,
    user: UserId,
    names: &[String],
    now: Timestamp,
) -> Result<Applied> {
    let mappings = sso::mappings(conn, org).await?;
    let mapped = resolve(&mappings, names);
    let mut out = Applied::default();
    let member = members::find(conn, org, user)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if let Some(role) = mapped.role.as_deref().filter(|r| *r != member.role) {
        let was_owner = member.role == BuiltinRole::Owner.name();
        let stays = role == BuiltinRole::Owner.name();
        let active = member.status == MemberStatus::Active;
        if super::orgs::owner_remains(conn, org, user, was_owner && active, stays)
            .await
            .is_err()
        {
            out.kept_last_owner = true;
        } else {
            members::update(
                conn,
                org,
                user,
                &members::MemberFields {
                    role,
                    team: &member.team,
                    status: member.status,
                    identity_provider: &member.identity_provider,
                    mfa_required: member.mfa_required,
                },
                now,
            )
            .await?;
            out.role_from = Some(member.role.clone());
            out.role_to = Some(role.to_owned());
        }
    }
    let names_of: std::collections::HashMap<GroupId, String> = mappings
        .iter()
        .filter_map(|m| Some((m.group_id?, m.group_name.clone()?)))
        .collect();
    for g in &mapped.managed {
        let Some(name) = names_of.get(g) else {
            continue;
        };
        let belongs = mapped.groups.contains(g);
        let is_in = member.groups.iter().any(|n| n == name);
        if belongs && !is_in {
            groups::add_member(conn, org, *g, user, now).await?;
            out.groups_added.push(name.clone());
        } else if !belongs && is_in {
            groups::remove_member(conn, *g, user).await?;
            out.groups_removed.push(name.clone());
        }
    }
    Ok(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A domain a connection serves: `x@domain` must be a valid email.
fn parse_domain(raw: &str) -> Result<String> {
    let d = raw.trim().trim_start_matches('@').to_lowercase();
    Email::parse(&format!("x@{d}")).map(|_| d).map_err(|_| {
        invalid(
            "domains",
            format!("{raw:?} is not a domain like example.com"),
        )
    })
}

fn parse_claim_name(raw: &str) -> Result<String> {
    let c = raw.trim();
    if c.is_empty() || c.len() > 100 || c.chars().any(char::is_control) {
        return Err(invalid(
            "groups_claim",
            "groups_claim is the name of a claim, 1 to 100 characters",
        ));
    }
    Ok(c.to_owned())
}

fn parse_text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > max || t.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("{field} is 1 to {max} characters without control characters"),
        ));
    }
    Ok(t.to_owned())
}

/// S256 of a PKCE verifier, as RFC 7636 writes it.
pub fn s256(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether a CLI's redirect is a loopback receiver on this machine:
/// `http://127.0.0.1:PORT/...`, `http://[::1]:PORT/...` or
/// `http://localhost:PORT/...`, nothing else (RFC 8252 §7.3).
pub fn loopback_redirect(raw: &str) -> Result<String> {
    let bad = || {
        invalid(
            "redirect_uri",
            "redirect_uri must be a loopback address of this machine with a port, like http://127.0.0.1:8250/callback",
        )
    };
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    let host_ok = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if url.scheme() != "http"
        || !host_ok
        || url.port().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || url.query().is_some()
    {
        return Err(bad());
    }
    Ok(url.to_string())
}

impl App {
    fn sso_client(&self, c: &Connection) -> Result<crate::integrations::oidc::ClientConfig> {
        Ok(crate::integrations::oidc::ClientConfig {
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            client_secret: self.keys().decrypt(&c.client_secret_enc)?,
            groups_claim: c.groups_claim.clone(),
        })
    }

    /// The guard on provider addresses (`ROSTER_OUTBOUND_ALLOW_PRIVATE`).
    pub fn sso_guard(&self) -> crate::outbound::Guard {
        crate::outbound::Guard {
            allow_private: self.settings().outbound_allow_private,
        }
    }

    /// Where providers send people back to.
    pub fn sso_redirect_uri(&self) -> String {
        format!("{}/api/v1/auth/sso/callback", self.settings().public_url)
    }

    /// The org's connections. Needs `integrations:manage`.
    pub async fn sso_connections(&self, access: &OrgAccess) -> Result<Vec<Connection>> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        Ok(sso::list(&mut conn, access.org.id).await?)
    }

    /// One connection of the org. Needs `integrations:manage`.
    pub async fn sso_connection(&self, access: &OrgAccess, id: i64) -> Result<Connection> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        sso::get(&mut conn, access.org.id, id)
            .await?
            .ok_or(AppError::NotFound("SSO connection"))
    }

    /// Parses and checks a connection's fields against what is stored
    /// (`current`, on update).
    async fn sso_fields(
        &self,
        input: &ConnectionInput,
        current: Option<&Connection>,
    ) -> Result<(ParsedConnection, Vec<String>)> {
        let need = |v: &Option<String>, field: &'static str, cur: Option<&str>| -> Result<String> {
            match (v, cur) {
                (Some(v), _) => Ok(v.clone()),
                (None, Some(c)) => Ok(c.to_owned()),
                (None, None) => Err(invalid(field, format!("{field} is required"))),
            }
        };
        let name = match (&input.name, current) {
            (Some(n), _) => n.clone(),
            (None, Some(c)) => c.name.clone(),
            (None, None) => "sso".to_owned(),
        };
        let name = IdentityProvider::parse(&name).map_err(|_| {
            invalid(
                "name",
                "name is 1 to 63 characters: a-z, 0-9 and '-' (members' identity_provider shows it)",
            )
        })?;
        if name == IdentityProvider::password() || name.as_str() == "token" {
            return Err(invalid(
                "name",
                "password and token are not connection names",
            ));
        }
        let issuer = need(&input.issuer, "issuer", current.map(|c| c.issuer.as_str()))?;
        if issuer.len() > 500 {
            return Err(invalid("issuer", "issuer is at most 500 characters"));
        }
        let issuer_url = self
            .sso_guard()
            .check_url_resolved(&issuer)
            .await
            .map_err(|e| invalid("issuer", e.to_string()))?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(invalid("issuer", "issuer has no query or fragment"));
        }
        // The issuer is kept as written: the provider's `iss` must match it.
        let issuer = issuer.trim().to_owned();
        let client_id = parse_text(
            "client_id",
            &need(
                &input.client_id,
                "client_id",
                current.map(|c| c.client_id.as_str()),
            )?,
            500,
        )?;
        let secret_enc = match (&input.client_secret, current) {
            (Some(s), _) => {
                let s = parse_text("client_secret", s, 2000)?;
                self.keys().encrypt(&s)?
            }
            (None, Some(c)) => c.client_secret_enc.clone(),
            (None, None) => return Err(invalid("client_secret", "client_secret is required")),
        };
        let groups_claim = match (&input.groups_claim, current) {
            (Some(g), _) => parse_claim_name(g)?,
            (None, Some(c)) => c.groups_claim.clone(),
            (None, None) => "groups".to_owned(),
        };
        let domains = match (&input.domains, current) {
            (Some(list), _) => {
                if list.is_empty() || list.len() > MAX_DOMAINS {
                    return Err(invalid(
                        "domains",
                        format!("a connection serves 1 to {MAX_DOMAINS} email domains"),
                    ));
                }
                let mut out: Vec<String> = Vec::new();
                for d in list {
                    let d = parse_domain(d)?;
                    if !out.contains(&d) {
                        out.push(d);
                    }
                }
                out.sort();
                out
            }
            (None, Some(c)) => c.domains.clone(),
            (None, None) => return Err(invalid("domains", "domains is required")),
        };
        Ok((
            ParsedConnection {
                name: name.as_str().to_owned(),
                issuer,
                client_id,
                secret_enc,
                groups_claim,
                jit: input.jit.or(current.map(|c| c.jit)).unwrap_or(true),
                enforce: input
                    .enforce
                    .or(current.map(|c| c.enforce))
                    .unwrap_or(false),
            },
            domains,
        ))
    }

    /// Adds a connection. Needs `integrations:manage`. A domain another
    /// connection serves (in any org) is `sso_domain_taken`.
    pub async fn create_sso_connection(
        &self,
        access: &OrgAccess,
        input: ConnectionInput,
        meta: &RequestMeta,
    ) -> Result<Connection> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let (p, domains) = self.sso_fields(&input, None).await?;
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let org = access.org.id;
        if sso::list(&mut c, org).await?.len() >= MAX_CONNECTIONS {
            return Err(invalid(
                "name",
                format!("an org has at most {MAX_CONNECTIONS} SSO connections"),
            ));
        }
        let now = c.now();
        let id = sso::insert(&mut c, org, &p.fields(), now)
            .await
            .on_conflict(Conflict::SsoConnectionExists, || {
                format!(
                    "this org has an SSO connection named {:?} already; give this one another name",
                    p.name
                )
            })?;
        set_domains(&mut c, org, id, &domains).await?;
        c.touches_no_access();
        c.audit(
            "sso.connection.create",
            format!("sso_connection:{id}"),
            json!({ "name": p.name, "issuer": p.issuer, "client_id": p.client_id,
                "domains": domains, "groups_claim": p.groups_claim, "jit": p.jit, "enforce": p.enforce }),
        )
        .await?;
        let made = sso::get(&mut c, org, id)
            .await?
            .ok_or(AppError::NotFound("SSO connection"))?;
        c.commit().await?;
        Ok(made)
    }

    /// Changes a connection: fields left out keep their value. Needs
    /// `integrations:manage`.
    pub async fn update_sso_connection(
        &self,
        access: &OrgAccess,
        id: i64,
        input: ConnectionInput,
        meta: &RequestMeta,
    ) -> Result<Connection> {
        let current = self.sso_connection(access, id).await?;
        let (p, domains) = self.sso_fields(&input, Some(&current)).await?;
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let org = access.org.id;
        let now = c.now();
        sso::update(&mut c, org, id, &p.fields(), now)
            .await
            .on_conflict(Conflict::SsoConnectionExists, || {
                format!("this org has an SSO connection named {:?} already", p.name)
            })?;
        if current.name != p.name {
            // Members signed in through it keep showing it.
            roster_store::sso::rename_provider(&mut c, org, &current.name, &p.name, now).await?;
        }
        set_domains(&mut c, org, id, &domains).await?;
        c.touches_no_access();
        c.audit(
            "sso.connection.update",
            format!("sso_connection:{id}"),
            json!({ "name": p.name, "issuer": p.issuer, "client_id": p.client_id,
                "client_secret_changed": input.client_secret.is_some(),
                "domains": domains, "groups_claim": p.groups_claim, "jit": p.jit, "enforce": p.enforce }),
        )
        .await?;
        let made = sso::get(&mut c, org, id)
            .await?
            .ok_or(AppError::NotFound("SSO connection"))?;
        c.commit().await?;
        Ok(made)
    }

    /// Removes a connection; its members keep their accounts and
    /// memberships. Needs `integrations:manage`.
    pub async fn delete_sso_connection(
        &self,
        access: &OrgAccess,
        id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let found = sso::get(&mut c, access.org.id, id)
            .await?
            .ok_or(AppError::NotFound("SSO connection"))?;
        sso::delete(&mut c, access.org.id, id).await?;
        c.touches_no_access();
        c.audit(
            "sso.connection.delete",
            format!("sso_connection:{id}"),
            json!({ "name": found.name, "issuer": found.issuer, "domains": found.domains }),
        )
        .await?;
        c.commit().await
    }

    /// The org's group mappings. Needs `integrations:manage`.
    pub async fn group_mappings(&self, access: &OrgAccess) -> Result<Vec<Mapping>> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        Ok(sso::mappings(&mut conn, access.org.id).await?)
    }

    /// Replaces the org's group mappings. Groups named are created when
    /// missing; roles must exist and be ones the caller may grant (a
    /// mapping cannot hand out more than its author holds). Needs
    /// `integrations:manage`.
    pub async fn set_group_mappings(
        &self,
        access: &OrgAccess,
        list: Vec<MappingInput>,
        meta: &RequestMeta,
    ) -> Result<Vec<Mapping>> {
        access.require(ManagementPermission::IntegrationsManage)?;
        if list.len() > MAX_MAPPINGS {
            return Err(invalid(
                "mappings",
                format!("an org has at most {MAX_MAPPINGS} group mappings"),
            ));
        }
        let mut parsed = Vec::with_capacity(list.len());
        for m in &list {
            let claim = parse_text("claim", &m.claim, 200)?;
            let group = match m.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
                Some(g) => Some(GroupName::parse(g)?),
                None => None,
            };
            let role = m
                .role
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned);
            if group.is_none() && role.is_none() {
                return Err(invalid(
                    "mappings",
                    format!("the mapping of {claim:?} gives neither a group nor a role"),
                ));
            }
            parsed.push((claim, group, role));
        }
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let org = access.org.id;
        let now = c.now();
        let held = c.held()?.clone();
        let mut rows: Vec<(String, Option<GroupId>, Option<String>)> = Vec::new();
        for (claim, group, role) in parsed {
            if let Some(r) = &role {
                let role = parse_role(&mut c, org, &access.catalog, r).await?;
                policy::may_grant(&held, &role, &access.catalog)?;
            }
            let gid = match &group {
                Some(g) => Some(match groups::find(&mut c, org, g.as_str()).await? {
                    Some(found) => found.id,
                    None => {
                        let id = groups::insert(&mut c, org, g.as_str(), now).await?;
                        c.touch_group(id);
                        id
                    }
                }),
                None => None,
            };
            rows.push((claim, gid, role));
        }
        let news: Vec<NewMapping<'_>> = rows
            .iter()
            .map(|(claim, g, r)| NewMapping {
                claim,
                group_id: *g,
                role: r.as_deref(),
            })
            .collect();
        sso::set_mappings(&mut c, org, &news, now).await?;
        c.touches_no_access();
        c.audit(
            "sso.mappings.update",
            "group_mappings",
            json!({ "mappings": list.iter().map(|m| json!({
                "claim": m.claim, "group": m.group, "role": m.role })).collect::<Vec<_>>() }),
        )
        .await?;
        let out = sso::mappings(&mut c, org).await?;
        c.commit().await?;
        Ok(out)
    }

    /// The connection a sign-in starts with: the one serving the email's
    /// domain, or the org's (its only one, or the one named).
    pub async fn sso_discover(
        &self,
        email: Option<&str>,
        org: Option<&str>,
        name: Option<&str>,
    ) -> Result<Connection> {
        let none = || {
            AppError::sso(
                SsoFailure::NotConfigured,
                "no single sign-on is set up for this address; sign in with your password or an email link",
            )
        };
        let mut conn = self.store().conn().await?;
        if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
            let email = Email::parse(email)?;
            return sso::by_domain(&mut conn, email.domain())
                .await?
                .ok_or_else(none);
        }
        let Some(slug) = org.map(str::trim).filter(|o| !o.is_empty()) else {
            return Err(invalid(
                "email",
                "give the email to sign in with, or the org",
            ));
        };
        let org = orgs::find_by_slug(&mut conn, slug)
            .await?
            .ok_or_else(none)?;
        let list = sso::list(&mut conn, org.id).await?;
        match (list.len(), name) {
            (0, _) => Err(none()),
            (_, Some(n)) => list.into_iter().find(|c| c.name == n).ok_or_else(none),
            (1, None) => list.into_iter().next().ok_or_else(none),
            (_, None) => Err(invalid(
                "email",
                "this org has several SSO connections: give your email (or the connection's name)",
            )),
        }
    }

    /// Whether an email's domain has single sign-on (the console's
    /// sign-in page offers the button).
    pub async fn sso_available(&self, email: &str) -> Result<bool> {
        let Ok(email) = Email::parse(email) else {
            return Ok(false);
        };
        let mut conn = self.store().conn().await?;
        Ok(sso::by_domain(&mut conn, email.domain()).await?.is_some())
    }

    /// What the integration needs to begin a sign-in with `connection`.
    pub fn sso_client_config(
        &self,
        connection: &Connection,
    ) -> Result<crate::integrations::oidc::ClientConfig> {
        self.sso_client(connection)
    }

    /// The connection an administrator tests. Needs `integrations:manage`.
    pub async fn sso_test_connection(&self, access: &OrgAccess, id: i64) -> Result<Connection> {
        self.sso_connection(access, id).await
    }

    /// Stores a sign-in in flight. Returns nothing secret: the state went
    /// to the provider in the URL, and `browser` to the browser in a
    /// cookie; only their keyed hashes are kept.
    #[allow(clippy::too_many_arguments)]
    pub async fn sso_save_state(
        &self,
        connection: &Connection,
        state: &str,
        nonce: &str,
        pkce_verifier: &str,
        browser: &str,
        purpose: &Purpose,
        started_by: Option<UserId>,
    ) -> Result<()> {
        let now = self.now();
        let (return_to, challenge) = match purpose {
            Purpose::Console { next } => (next.clone(), String::new()),
            Purpose::Cli {
                redirect,
                challenge,
            } => (redirect.clone(), challenge.clone()),
            Purpose::Api | Purpose::Test => (String::new(), String::new()),
        };
        let mut conn = self.store().write_conn().await?;
        sso::insert_state(
            &mut conn,
            &NewState {
                state_hash: &self.keys().hash_token(state),
                connection_id: connection.id,
                browser_hash: &self.keys().hash_token(browser),
                nonce_enc: &self.keys().encrypt(nonce)?,
                verifier_enc: &self.keys().encrypt(pkce_verifier)?,
                purpose: purpose.kind(),
                return_to: &return_to,
                challenge: &challenge,
                started_by,
                now,
                expires_at: now.plus(STATE_TTL),
            },
        )
        .await?;
        Ok(())
    }

    /// Takes a sign-in in flight back, once: the state must be known,
    /// unused, unexpired and come with the cookie of the browser that
    /// began it. Anything else is `sso_state_invalid`, and the state is
    /// used up either way.
    pub async fn sso_take_state(&self, state: &str, browser: Option<&str>) -> Result<Pending> {
        let bad = || {
            AppError::sso(
                SsoFailure::StateInvalid,
                "this sign-in is unknown, was already used, has expired or was begun in another browser; start again",
            )
        };
        if state.is_empty() || state.len() > 200 {
            return Err(bad());
        }
        let mut conn = self.store().conn().await?;
        let taken = sso::take_state(&mut conn, &self.keys().hash_token(state))
            .await?
            .ok_or_else(bad)?;
        let browser_ok = browser.is_some_and(|b| {
            constant_time_eq(
                self.keys().hash_token(b).as_bytes(),
                taken.browser_hash.as_bytes(),
            )
        });
        if !browser_ok || taken.expires_at <= self.now() {
            return Err(bad());
        }
        let connection = sso::by_id(&mut conn, taken.connection_id)
            .await?
            .ok_or_else(bad)?;
        let purpose = match taken.purpose.as_str() {
            "console" => Purpose::Console {
                next: taken.return_to,
            },
            "cli" => Purpose::Cli {
                redirect: taken.return_to,
                challenge: taken.challenge,
            },
            "test" => Purpose::Test,
            _ => Purpose::Api,
        };
        Ok(Pending {
            client: self.sso_client(&connection)?,
            connection,
            nonce: self.keys().decrypt(&taken.nonce_enc)?,
            pkce_verifier: self.keys().decrypt(&taken.verifier_enc)?,
            purpose,
            started_by: taken.started_by,
        })
    }

    /// What the org's mappings would give a person with these directory
    /// groups (shown by the console's test button; nothing is changed).
    pub async fn sso_preview(&self, connection: &Connection, names: &[String]) -> Result<Preview> {
        let mut conn = self.store().conn().await?;
        let org = orgs::get(&mut conn, connection.org_id).await?;
        let maps = sso::mappings(&mut conn, connection.org_id).await?;
        let mapped = resolve(&maps, names);
        let groups = maps
            .iter()
            .filter(|m| m.group_id.is_some_and(|g| mapped.groups.contains(&g)))
            .filter_map(|m| m.group_name.clone())
            .fold(Vec::new(), |mut acc: Vec<String>, g| {
                if !acc.contains(&g) {
                    acc.push(g);
                }
                acc
            });
        Ok(Preview {
            org_slug: org.slug,
            role: mapped.role,
            groups,
        })
    }

    /// Opens a session for an SSO sign-in, bound to its connection. An
    /// account with a second factor still owes it (as after an email
    /// link): the provider vouches for the email, not for the account's
    /// other factor; an org's `mfa_policy` applies as after a password.
    pub async fn sso_session(&self, signed: SignedIn, meta: &RequestMeta) -> Result<Login> {
        self.open_session_through(signed.user, true, Some(signed.connection_id), meta)
            .await
    }

    /// Signs a person in from what the provider asserted (verified), under
    /// the SSO rule of SPEC §2; creates the account and, with `jit`, the
    /// membership; sets role and mapped groups; records `sso.sign_in` in
    /// the org (channel `sso`). The session is opened by
    /// [`App::sso_session`] (or, for the CLI, at the exchange).
    pub async fn sso_sign_in(
        &self,
        connection: &Connection,
        id: Identity,
        meta: &RequestMeta,
    ) -> Result<SignedIn> {
        let email_raw = id.email.clone().unwrap_or_default();
        let email = Email::parse(&email_raw).map_err(|_| {
            AppError::sso(
                SsoFailure::TokenInvalid,
                "the identity provider sent no usable email address (ask for the `email` scope)",
            )
        })?;
        if !connection.serves(email.domain()) {
            return Err(AppError::sso(
                SsoFailure::EmailDomainNotServed,
                format!(
                    "the identity provider asserted {email}, whose domain this connection does not serve; nobody was signed in"
                ),
            ));
        }
        let org = connection.org_id;
        let mut c = self.change_org(org, None, meta).await?;
        let now = c.now();
        // The account: the one this subject is linked to, else the one
        // with this email (linked only under the SSO rule), else a new one.
        let linked = sso::linked_user(&mut c, connection.id, &id.subject).await?;
        let by_email = users::find_by_email(&mut c, email.as_str()).await?;
        let existing = match linked {
            Some(uid) => Some(users::get(&mut c, uid).await?),
            None => by_email,
        };
        let (user, account_created) = match existing {
            Some(u) => {
                if linked.is_none() && !id.email_verified {
                    return Err(AppError::sso(
                        SsoFailure::AccountNotLinked,
                        format!(
                            "an account for {email} exists, and the identity provider does not say the address is verified; nothing was linked. Sign in with your password, or ask the provider's administrator to verify the address"
                        ),
                    ));
                }
                if u.disabled || u.service_account {
                    return Err(AppError::Unauthenticated);
                }
                (u, false)
            }
            None => {
                if !connection.jit {
                    return Err(AppError::sso(
                        SsoFailure::NotAMember,
                        format!(
                            "{email} has no account here and this connection does not add people by itself; ask an administrator of the org"
                        ),
                    ));
                }
                let name = id
                    .name
                    .as_deref()
                    .and_then(|n| DisplayName::parse(n).ok())
                    .or_else(|| DisplayName::parse(email.local_part()).ok())
                    .ok_or_else(|| invalid("name", "the provider sent no usable name"))?;
                let uid = create_account(&mut c, now, &email, &name, None, false).await?;
                (users::get(&mut c, uid).await?, true)
            }
        };
        c.acting_as(Actor::new(user.id, &user.email, &user.name));
        let member = members::find(&mut c, org, user.id).await?;
        let member_created = match &member {
            Some(_) => false,
            None if connection.jit => {
                let o = c.org_row(org).await?;
                members::insert(
                    &mut c,
                    members::NewMembership {
                        org_id: org,
                        user_id: user.id,
                        role: &o.settings.default_role,
                        team: "",
                        status: MemberStatus::Active,
                        identity_provider: &connection.name,
                        mfa_required: false,
                        now,
                    },
                )
                .await?;
                true
            }
            None => {
                return Err(AppError::sso(
                    SsoFailure::NotAMember,
                    format!(
                        "{email} is not a member of this org and its connection does not add people by itself; ask an administrator"
                    ),
                ))
            }
        };
        if let Some(m) = &member {
            if m.identity_provider != connection.name {
                members::update(
                    &mut c,
                    org,
                    user.id,
                    &members::MemberFields {
                        role: &m.role,
                        team: &m.team,
                        status: m.status,
                        identity_provider: &connection.name,
                        mfa_required: m.mfa_required,
                    },
                    now,
                )
                .await?;
            }
        }
        let applied = apply_mappings(&mut c, org, user.id, &id.groups, now).await?;
        sso::link(&mut c, connection.id, &id.subject, user.id, now).await?;
        c.touch_member(user.id);
        c.audit(
            "sso.sign_in",
            format!("user:{}", user.id),
            json!({
                "connection": connection.name,
                "subject": id.subject,
                "email": email.as_str(),
                "account_created": account_created,
                "member_created": member_created,
                "role_from": applied.role_from,
                "role_to": applied.role_to,
                "last_owner_kept": applied.kept_last_owner,
                "groups_added": applied.groups_added,
                "groups_removed": applied.groups_removed,
            }),
        )
        .await?;
        c.commit().await?;
        Ok(SignedIn {
            user,
            connection_id: connection.id,
            account_created,
            member_created,
        })
    }

    /// Keeps a finished sign-in for the CLI: returns the one-time code
    /// that goes to its loopback receiver.
    pub async fn sso_handoff(
        &self,
        user: UserId,
        connection: &Connection,
        challenge: &str,
    ) -> Result<String> {
        let code = crypto::new_token("rsh_");
        let now = self.now();
        let mut conn = self.store().write_conn().await?;
        sso::insert_handoff(
            &mut conn,
            &self.keys().hash_token(&code),
            user,
            connection.id,
            challenge,
            now,
            now.plus(HANDOFF_TTL),
        )
        .await?;
        Ok(code)
    }

    /// Exchanges the CLI's one-time code and verifier for a session: the
    /// code works once, for two minutes, and only with the verifier whose
    /// S256 challenge began the sign-in.
    pub async fn sso_exchange(
        &self,
        code: &str,
        verifier: &str,
        meta: &RequestMeta,
    ) -> Result<Login> {
        if !code.starts_with("rsh_") || code.len() > 100 || verifier.len() > 200 {
            return Err(AppError::InvalidLink);
        }
        let taken = {
            let mut conn = self.store().conn().await?;
            sso::take_handoff(&mut conn, &self.keys().hash_token(code)).await?
        };
        let Some((user_id, connection_id, challenge, expires_at)) = taken else {
            return Err(AppError::InvalidLink);
        };
        if expires_at <= self.now()
            || !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes())
        {
            return Err(AppError::InvalidLink);
        }
        let user = {
            let mut conn = self.store().conn().await?;
            users::get(&mut conn, user_id).await?
        };
        if user.disabled {
            return Err(AppError::Unauthenticated);
        }
        self.open_session_through(user, true, Some(connection_id), meta)
            .await
    }

    /// Refuses a session that was not opened through the connection the
    /// org enforces for the caller's email domain (SPEC §3a `enforce`).
    /// API tokens are not sessions: they were made by a session that got
    /// in, and act in their one org until revoked.
    pub(crate) async fn sso_gate(
        &self,
        conn: &mut Conn,
        org: OrgId,
        slug: &str,
        caller: &Caller,
    ) -> Result<()> {
        let Credential::Session { sso: through, .. } = &caller.credential else {
            return Ok(());
        };
        let Ok(email) = Email::parse(&caller.actor.email) else {
            return Ok(());
        };
        match sso::enforcing(conn, org, email.domain()).await? {
            Some(id) if *through != Some(id) => Err(AppError::sso(
                SsoFailure::Required,
                format!(
                    "{slug} requires single sign-on for {}: sign in through it (/api/v1/auth/sso/start?email=..., or the console's Continue with SSO)",
                    email.domain()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// A connection's fields, parsed.
struct ParsedConnection {
    name: String,
    issuer: String,
    client_id: String,
    secret_enc: String,
    groups_claim: String,
    jit: bool,
    enforce: bool,
}

impl ParsedConnection {
    fn fields(&self) -> ConnectionFields<'_> {
        ConnectionFields {
            name: &self.name,
            issuer: &self.issuer,
            client_id: &self.client_id,
            client_secret_enc: &self.secret_enc,
            groups_claim: &self.groups_claim,
            jit: self.jit,
            enforce: self.enforce,
        }
    }
}

/// Sets a connection's domains; a domain another connection serves is
/// `sso_domain_taken`, named (the org that has it is not). Read first,
/// so the answer can name it; the unique index decides a race.
async fn set_domains(conn: &mut Conn, org: OrgId, id: i64, domains: &[String]) -> Result<()> {
    let mut taken = Vec::new();
    for d in domains {
        if let Some(c) = sso::by_domain(conn, d).await? {
            if c.id != id {
                taken.push(d.clone());
            }
        }
    }
    let words = |taken: &[String]| {
        format!(
            "{} is served by another SSO connection already (a domain belongs to one connection on this server)",
            if taken.is_empty() { "an email domain".to_owned() } else { taken.join(", ") }
        )
    };
    if !taken.is_empty() {
        return Err(AppError::conflict(Conflict::SsoDomainTaken, words(&taken)));
    }
    sso::set_domains(conn, org, id, domains)
        .await
        .on_conflict(Conflict::SsoDomainTaken, || words(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(claim: &str, group: Option<i64>, role: Option<&str>) -> Mapping {
        Mapping {
            id: 0,
            position: 0,
            claim: claim.to_owned(),
            group_id: group.map(GroupId::new),
            group_name: group.map(|g| format!("g{g}")),
            role: role.map(str::to_owned),
        }
    }

    #[test]
    fn the_first_matching_mapping_with_a_role_gives_the_role_and_every_match_a_group() {
        let maps = [
            m("eng", Some(1), None),
            m("admins", None, Some("admin")),
            m("eng", None, Some("contributor")),
            m("ops", Some(2), Some("viewer")),
        ];
        let r = resolve(&maps, &["eng".into(), "admins".into()]);
        assert_eq!(r.role.as_deref(), Some("admin"));
        assert_eq!(r.groups, vec![GroupId::new(1)]);
        assert_eq!(r.managed, vec![GroupId::new(1), GroupId::new(2)]);
        let r = resolve(&maps, &["nothing".into()]);
        assert_eq!(r.role, None);
        assert!(r.groups.is_empty());
    }

    #[test]
    fn only_loopback_receivers_with_a_port_are_cli_redirects() {
        assert!(loopback_redirect("http://127.0.0.1:8250/callback").is_ok());
        assert!(loopback_redirect("http://localhost:8250/cb").is_ok());
        assert!(loopback_redirect("http://[::1]:9/cb").is_ok());
        for bad in [
            "https://evil.example/cb",
            "http://127.0.0.1/cb",
            "http://evil.example:8250/cb",
            "http://127.0.0.1.evil.example:80/cb",
            "http://u:p@127.0.0.1:8250/cb",
            "javascript:alert(1)",
            "//evil.example/cb",
        ] {
            assert!(loopback_redirect(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn s256_is_the_pkce_challenge_of_the_verifier() {
        let v = openidconnect::PkceCodeVerifier::new(
            "a-verifier-of-the-cli-1234567890abcdefghijklmnop".into(),
        );
        let c = openidconnect::PkceCodeChallenge::from_code_verifier_sha256(&v);
        assert_eq!(s256(v.secret()), c.as_str());
    }
}
