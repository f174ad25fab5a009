//! Writing and reading the audit log.

use super::caller::Actor;
use super::error::Result;
use super::orgs::{invalid, OrgAccess};
use super::time::parse_rfc3339;
use super::{App, RequestMeta};
use roster_domain::{Email, ManagementPermission, OrgId, Timestamp};
use roster_store::audit::{self, ChainHead, Event, EventFilter, NewEvent, Verdict};
use roster_store::Conn;

/// One event to record, inside the transaction of the change it describes.
pub struct AuditEntry<'a> {
    pub org_id: Option<OrgId>,
    pub actor: Option<&'a Actor>,
    pub action: &'a str,
    pub target: String,
    pub details: serde_json::Value,
}

/// An event as recorded: its row, position and hash, for the webhooks
/// queued with it.
pub(super) struct Recorded {
    pub id: i64,
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// Writes one event after `head` (its chain, locked in this transaction);
/// only [`super::change::Change`] calls it, so every event is part of the
/// change it describes.
pub(super) async fn record(
    conn: &mut Conn,
    meta: &RequestMeta,
    at: Timestamp,
    e: &AuditEntry<'_>,
    details: &str,
    head: &mut ChainHead,
    locked_org_revision: Option<i64>,
) -> Result<Recorded> {
    let prev_hash = head.hash.clone();
    let id = audit::insert(
        conn,
        &NewEvent {
            org_id: e.org_id,
            at,
            actor_id: e.actor.map(|p| p.user_id),
            actor_email: e.actor.map(|p| &*p.email).unwrap_or(""),
            actor_name: e.actor.map(|p| &*p.name).unwrap_or(""),
            channel: meta.channel.as_str(),
            action: e.action,
            target: &e.target,
            details,
            client_addr: &meta.client_addr,
            request_id: &meta.request_id,
        },
        head,
        locked_org_revision,
    )
    .await?;
    Ok(Recorded {
        id,
        seq: head.seq,
        prev_hash,
        hash: head.hash.clone(),
    })
}

/// Every action the audit log records, so that a webhook's event filter
/// can refuse a name that never occurs. `every_recorded_action_is_known`
/// keeps it complete.
pub const ACTIONS: &[&str] = &[
    "access.grant",
    "access.revoke",
    "audit.prune",
    "audit.retention",
    "group.create",
    "group.delete",
    "group.member_add",
    "group.member_remove",
    "group.rename",
    "group.update",
    "integration.slack.connect",
    "integration.slack.disconnect",
    "integration.slack.link",
    "invitation.accept",
    "invitation.create",
    "invitation.delete",
    "invitation.resend",
    "member.approve",
    "member.create",
    "member.leave",
    "member.reject",
    "member.remove",
    "member.signup",
    "member.update",
    "org.bootstrap",
    "org.create",
    "org.update",
    "request.approve",
    "request.create",
    "request.reject",
    "resource.create",
    "resource.delete",
    "resource.update",
    "resource_type.update",
    "role.create",
    "role.delete",
    "role.update",
    "scim_token.create",
    "scim_token.revoke",
    "service_account.create",
    "service_account.delete",
    "sso.connection.create",
    "sso.connection.delete",
    "sso.connection.update",
    "sso.mappings.update",
    "sso.sign_in",
    "token.create",
    "token.revoke",
    "token.use_from_new_address",
    "user.magic_link_used",
    "user.mfa_enrolled",
    "user.mfa_enrolment_started",
    "user.mfa_removed",
    "user.mfa_reset",
    "user.passkey_added",
    "user.passkey_removed",
    "user.passkey_renamed",
    "user.passkey_sign_in",
    "user.password_change",
    "user.password_set",
    "user.recovery_code_used",
    "user.recovery_codes_regenerated",
    "user.rename",
    "user.second_factor",
    "user.second_factor_failed",
    "webhook.create",
    "webhook.delete",
];

/// Whether `filter` names a known action, or is a prefix ending in `.` of
/// one.
pub fn known_filter(filter: &str) -> bool {
    if filter.ends_with('.') {
        ACTIONS.iter().any(|a| a.starts_with(filter))
    } else {
        ACTIONS.contains(&filter)
    }
}

/// The filters of `GET /orgs/{org}/audit`, as received.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl App {
    /// A page of the org's audit log, newest first. Needs `audit:read`.
    pub async fn audit_list(
        &self,
        access: &OrgAccess,
        q: &AuditQuery,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Event>> {
        access.require(ManagementPermission::AuditRead)?;
        let time = |field: &'static str, v: &Option<String>| -> Result<Option<Timestamp>> {
            v.as_deref()
                .map(|s| {
                    parse_rfc3339(s)
                        .ok_or_else(|| invalid(field, "a time looks like 2026-01-31T12:00:00Z"))
                })
                .transpose()
        };
        let filter = EventFilter {
            actor: q
                .actor
                .as_deref()
                .map(|a| Email::parse(a).map(|e| e.as_str().to_owned()))
                .transpose()
                .map_err(|_| invalid("actor", "actor is the email of the person who acted"))?,
            action: q.action.clone(),
            target: q.target.clone(),
            since: time("since", &q.since)?,
            until: time("until", &q.until)?,
        };
        let mut conn = self.store().conn().await?;
        Ok(audit::list(&mut conn, access.org.id, &filter, before, limit).await?)
    }
}

impl App {
    /// Recomputes the org's chain. Needs `audit:read`.
    pub async fn audit_verify(&self, access: &OrgAccess) -> Result<Verdict> {
        access.require(ManagementPermission::AuditRead)?;
        let mut conn = self.store().conn().await?;
        Ok(audit::verify(&mut conn, audit::chain_of(Some(access.org.id))).await?)
    }

    /// The org chain's head: (events ever appended, hash of the newest).
    /// Needs `audit:read`.
    pub async fn audit_head(&self, access: &OrgAccess) -> Result<(i64, String)> {
        access.require(ManagementPermission::AuditRead)?;
        let mut conn = self.store().conn().await?;
        Ok(
            match audit::chain(&mut conn, audit::chain_of(Some(access.org.id))).await? {
                Some(c) => (c.head_seq, c.head_hash),
                None => (0, audit::GENESIS.to_owned()),
            },
        )
    }

    /// Recomputes the chain of events that belong to no org (operators).
    pub async fn audit_verify_accounts(&self) -> Result<Verdict> {
        let mut conn = self.store().conn().await?;
        Ok(audit::verify(&mut conn, audit::chain_of(None)).await?)
    }

    /// The caller's own events (password, sessions: those of no org),
    /// newest first, older than `before`.
    pub async fn personal_audit(
        &self,
        caller: &super::Caller,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Event>> {
        let mut conn = self.store().conn().await?;
        Ok(audit::personal(&mut conn, caller.user_id(), before, limit).await?)
    }

    /// Chains the events written before chains existed, oldest first, each
    /// after its chain's head. Runs on start; does nothing afterwards.
    pub async fn chain_unchained_events(&self) -> Result<u64> {
        let mut done = 0u64;
        loop {
            let mut tx = self.store().begin().await?;
            let page = audit::unchained(&mut tx, 500).await?;
            if page.is_empty() {
                return Ok(done);
            }
            let mut heads: Vec<(i64, ChainHead)> = Vec::new();
            for e in &page {
                let chain = audit::chain_of(e.org_id);
                let i = match heads.iter().position(|(c, _)| *c == chain) {
                    Some(i) => i,
                    None => {
                        heads.push((chain, audit::lock_chain(&mut tx, chain).await?));
                        heads.len() - 1
                    }
                };
                audit::chain_existing(&mut tx, e, &mut heads[i].1).await?;
                done += 1;
            }
            for (chain, head) in &heads {
                audit::set_head(&mut tx, *chain, head).await?;
            }
            roster_store::commit(tx).await?;
        }
    }
}

/// The longest retention an org may set (about a hundred years).
pub const MAX_RETENTION_DAYS: i64 = 36500;

impl App {
    /// How long the org keeps its audit events (`None`: forever). Needs
    /// `audit:read`.
    pub async fn audit_retention(&self, access: &OrgAccess) -> Result<Option<i64>> {
        access.require(ManagementPermission::AuditRead)?;
        let mut conn = self.store().conn().await?;
        Ok(audit::retention(&mut conn, access.org.id).await?)
    }

    /// Sets how long the org keeps its audit events. Needs `org:manage`.
    pub async fn set_audit_retention(
        &self,
        access: &OrgAccess,
        days: Option<i64>,
        meta: &RequestMeta,
    ) -> Result<Option<i64>> {
        if let Some(d) = days {
            if !(1..=MAX_RETENTION_DAYS).contains(&d) {
                return Err(invalid(
                    "days",
                    "days is between 1 and 36500, or null for forever",
                ));
            }
        }
        let mut c = self
            .change(access, Some(ManagementPermission::OrgManage), meta)
            .await?;
        let before = audit::retention(&mut c, access.org.id).await?;
        if before == days {
            c.nothing_changed();
            return Ok(days);
        }
        audit::set_retention(&mut c, access.org.id, days).await?;
        c.audit(
            "audit.retention",
            format!("org:{}", access.org.slug),
            serde_json::json!({ "from": before, "to": days }),
        )
        .await?;
        c.commit().await?;
        Ok(days)
    }

    /// Prunes every org's audit events older than its retention: each
    /// pruning moves the chain's checkpoint to the last pruned event (so
    /// what remains verifies) and is itself recorded as `audit.prune`.
    /// Returns how many events were pruned. Housekeeping runs it.
    pub async fn prune_audit(&self) -> Result<u64> {
        let orgs = {
            let mut conn = self.store().conn().await?;
            audit::retention_orgs(&mut conn).await?
        };
        let meta = RequestMeta::system();
        let mut total = 0;
        for (org, days) in orgs {
            let mut c = self.change_org(org, None, &meta).await?;
            let now = c.now();
            let cutoff = Timestamp::from_unix_ms(now.unix_ms().saturating_sub(days * 86_400_000));
            // The org's lock (the change's) is the chain's.
            let chain = audit::chain_of(Some(org));
            let Some((pruned, seq, hash)) = audit::prune(&mut c, chain, cutoff, now).await? else {
                c.nothing_changed();
                continue;
            };
            c.audit(
                "audit.prune",
                format!("org:{}", org.get()),
                serde_json::json!({
                    "pruned": pruned,
                    "retention_days": days,
                    "checkpoint_seq": seq,
                    "checkpoint_hash": hash,
                }),
            )
            .await?;
            c.commit().await?;
            total += pruned;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action literal that follows `.audit(` or `audit_in(` in the
    /// use cases is in [`ACTIONS`], so a webhook filter can name it.
    #[test]
    fn every_recorded_action_is_known() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app");
        let mut files = vec![dir.clone()];
        let mut missing = Vec::new();
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, _) in text.match_indices(".audit") {
                // The literals of the call's first lines.
                let window: String = text[i..].chars().take(160).collect();
                for lit in window.split('"').skip(1).step_by(2) {
                    let is_action = lit.contains('.')
                        && lit
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
                    if is_action && !ACTIONS.contains(&lit) {
                        missing.push(format!("{} ({})", lit, p.display()));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "actions missing from ACTIONS: {missing:?}"
        );
    }

    #[test]
    fn filters_name_actions_or_their_prefixes() {
        assert!(known_filter("member.create"));
        assert!(known_filter("member."));
        assert!(!known_filter("member.explode"));
        assert!(!known_filter("nothing."));
    }
}
