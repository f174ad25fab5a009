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
        record(
            &mut self.tx,
            self.meta,
            self.now,
            AuditEntry {
                org_id: org,
                actor: self.actor.as_ref(),
                action,
                target: target.into(),
                details,
            },
        )
        .await?;
        self.audited = true;
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
        roster_store::commit(self.tx).await?;
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
