//! The one way a use case changes state: a [`Change`].
//!
//! A change to an org takes the org's lock first, re-reads the caller's
//! membership under it and checks the permission the change needs, so a
//! demotion racing with the request wins or loses as a whole (SPEC §2). It
//! then writes, records at least one audit event and queues its
//! notifications in the same transaction, and commits, which also makes
//! the next authorization check in this process see the change. A change
//! that records no audit event cannot commit: it either says what it did
//! or rolls back ([`Change::nothing_changed`]).

use super::audit::{record, AuditEntry};
use super::caller::Actor;
use super::error::Result;
use super::notice::Notice;
use super::orgs::{effective_role, limited, OrgAccess};
use super::{App, AppError, RequestMeta};
use roster_domain::{policy, ManagementPermission, MemberStatus, OrgId, Role, Timestamp};
use roster_store::audit::{self, ChainHead};
use roster_store::webhooks::{self, Webhook};
use roster_store::{members, orgs, Conn, Tx};
use std::ops::{Deref, DerefMut};

/// A change in progress: an open transaction that holds the org's lock
/// (when it concerns an org), with the facts the rules need.
pub(crate) struct Change<'a> {
    app: &'a App,
    tx: Tx,
    org: Option<OrgId>,
    actor: Option<Actor>,
    meta: &'a RequestMeta,
    /// What the acting member holds org-wide, as read under the lock.
    held: Option<Role>,
    now: Timestamp,
    audited: bool,
    /// The audit chains this change appends to, locked, with their heads.
    chains: Vec<(i64, ChainHead)>,
    /// The webhook endpoints of the orgs it records events of.
    hooks: Vec<(OrgId, Vec<Webhook>)>,
}

impl App {
    /// Begins a change to the org of `access` by its caller: takes the
    /// org's lock, re-reads the caller's membership (it must still be
    /// active) and requires `needs` of what they hold now.
    pub(crate) async fn change<'a>(
        &'a self,
        access: &OrgAccess,
        needs: Option<ManagementPermission>,
        meta: &'a RequestMeta,
    ) -> Result<Change<'a>> {
        let mut c = self
            .change_org(access.org.id, Some(access.caller.actor.clone()), meta)
            .await?;
        let me = members::find(&mut c, access.org.id, access.caller.user_id())
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        if me.status != MemberStatus::Active {
            return Err(AppError::MembershipInactive { status: me.status });
        }
        let held = effective_role(
            &mut c,
            access.org.id,
            access.caller.user_id(),
            &me.role,
            &access.catalog,
            &[],
        )
        .await?;
        let held = limited(held, &access.caller, &access.catalog);
        if let Some(p) = needs {
            policy::require(&held, p)?;
        }
        c.held = Some(held);
        Ok(c)
    }

    /// Begins a change to an org made by someone who need not be its
    /// member (a sign-up, an accepted invitation, leaving, a Slack click):
    /// takes the org's lock; the use case checks its own rules.
    pub(crate) async fn change_org<'a>(
        &'a self,
        org: OrgId,
        actor: Option<Actor>,
        meta: &'a RequestMeta,
    ) -> Result<Change<'a>> {
        let mut tx = self.store().begin().await?;
        orgs::lock(&mut tx, org).await?;
        Ok(Change {
            app: self,
            tx,
            org: Some(org),
            actor,
            meta,
            held: None,
            now: self.now(),
            audited: false,
            chains: Vec::new(),
            hooks: Vec::new(),
        })
    }

    /// Begins a change that concerns no org until it is made (an account
    /// and its personal org, a first org, one's own password): no lock to
    /// take; [`Change::in_org`] attributes later events to an org it
    /// creates.
    pub(crate) async fn change_account<'a>(
        &'a self,
        actor: Option<Actor>,
        meta: &'a RequestMeta,
    ) -> Result<Change<'a>> {
        Ok(Change {
            app: self,
            tx: self.store().begin().await?,
            org: None,
            actor,
            meta,
            held: None,
            now: self.now(),
            audited: false,
            chains: Vec::new(),
            hooks: Vec::new(),
        })
    }
}

impl Change<'_> {
    /// What the acting member holds org-wide now (read under the lock).
    pub(crate) fn held(&self) -> Result<&Role> {
        self.held
            .as_ref()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("this change has no acting member")))
    }

    /// The time of the change: every row it writes carries it.
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    /// Attributes the events recorded from here on to `org` (one the change
    /// created).
    pub(crate) fn in_org(&mut self, org: OrgId) {
        self.org = Some(org);
    }

    /// Names the actor once it exists (an account the change created).
    pub(crate) fn acting_as(&mut self, actor: Actor) {
        self.actor = Some(actor);
    }

    /// Records an audit event of the change's org (or of no org).
    pub(crate) async fn audit(
        &mut self,
        action: &str,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> Result<()> {
        let org = self.org;
        self.audit_in(org, action, target, details).await
    }

    /// Records an audit event attributed to `org` explicitly (`None`: the
    /// person's own events, such as a password change).
    pub(crate) async fn audit_in(
        &mut self,
        org: Option<OrgId>,
        action: &str,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> Result<()> {
        let chain = audit::chain_of(org);
        let i = match self.chains.iter().position(|(c, _)| *c == chain) {
            Some(i) => i,
            None => {
                let head = audit::lock_chain(&mut self.tx, chain).await?;
                self.chains.push((chain, head));
                self.chains.len() - 1
            }
        };
        let entry = AuditEntry {
            org_id: org,
            actor: self.actor.as_ref(),
            action,
            target: target.into(),
            details,
        };
        let details_text = entry.details.to_string();
        let recorded = record(
            &mut self.tx,
            self.meta,
            self.now,
            &entry,
            &details_text,
            &mut self.chains[i].1,
        )
        .await?;
        self.audited = true;
        if let Some(org) = org {
            let at = self.now;
            let hooks = match self.hooks.iter().position(|(o, _)| *o == org) {
                Some(i) => i,
                None => {
                    let list = webhooks::list(&mut self.tx, org).await?;
                    self.hooks.push((org, list));
                    self.hooks.len() - 1
                }
            };
            let wanted: Vec<i64> = self.hooks[hooks]
                .1
                .iter()
                .filter(|w| w.wants(action))
                .map(|w| w.id)
                .collect();
            if !wanted.is_empty() {
                let payload = super::webhooks::payload(org, at, self.meta, &entry, &recorded);
                for id in wanted {
                    super::webhooks::queue(&mut self.tx, at, org, id, action, &payload).await?;
                }
            }
        }
        Ok(())
    }

    /// Tells `recipient` about the change: the notice is queued in the
    /// change's transaction, so it is sent once the change commits, and
    /// never if it does not.
    pub(crate) async fn notify(&mut self, recipient: &str, notice: Notice) -> Result<()> {
        let (org, now) = (self.org, self.now);
        super::outbox::queue(&mut self.tx, now, org, recipient, &notice).await
    }

    /// Commits the change. A change that recorded no audit event is a bug
    /// and is refused (rolled back).
    pub(crate) async fn commit(self) -> Result<()> {
        if !self.audited {
            return Err(AppError::Internal(anyhow::anyhow!(
                "a change must record what it did before it commits"
            )));
        }
        let mut tx = self.tx;
        for (chain, head) in &self.chains {
            audit::set_head(&mut tx, *chain, head).await?;
        }
        roster_store::commit(tx).await?;
        self.app.invalidate_caches();
        Ok(())
    }

    /// Ends a change that turned out to change nothing: rolls back (the
    /// org's revision does not move).
    pub(crate) fn nothing_changed(self) {}
}

impl Deref for Change<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.tx
    }
}

impl DerefMut for Change<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.tx
    }
}
