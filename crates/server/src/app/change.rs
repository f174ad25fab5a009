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
//!
//! A change to an org also records, in its transaction, what it did to the
//! org's access state (the change log, `access_changes`): the use case
//! names what it touched ([`Change::touch_member`] and its kin), and at
//! commit the change reads those things back and logs their facts as
//! deltas. A change that names nothing logs "rebuild": correct whatever it
//! did, at the price of a full build of the org's index. At commit the
//! delta is applied to this process's index before the change returns, so
//! the next check here sees it (SPEC §2); other replicas apply it from the
//! log.

use super::audit::{record, AuditEntry};
use super::authz::Logged;
use super::caller::Actor;
use super::error::Result;
use super::notice::Notice;
use super::orgs::{effective_role, limited, OrgAccess};
use super::{App, AppError, RequestMeta};
use roster_authz::Delta;
use roster_domain::{policy, ManagementPermission, MemberStatus, OrgId, Role, Timestamp};
use roster_store::audit::{self, ChainHead};
use roster_store::webhooks::{self, Webhook};
use roster_store::{access_state, members, orgs, Conn, Tx};
use std::collections::BTreeSet;
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
    /// The audit chains this change holds the lock of (its org's, from the
    /// org's lock; others once it records an event in them), with their
    /// heads as it moves them.
    chains: Vec<(i64, ChainHead)>,
    /// The webhook endpoints of the orgs it records events of.
    hooks: Vec<(OrgId, Vec<Webhook>)>,
    /// The org whose lock the change holds and the revision it moves the
    /// org to.
    locked: Option<(OrgId, i64)>,
    /// That org's row as the lock returned it.
    locked_org: Option<orgs::Org>,
    /// An event of the locked org wrote its revision and audit head
    /// (PostgreSQL), so the commit need not.
    locked_org_written: bool,
    touched: Touched,
    /// Set by [`Change::only_adds_members`] and
    /// [`Change::only_moves_access`]: no credential validated before this
    /// change can be affected by it.
    credentials_untouched: bool,
}

/// What a change did to its org's access state, as the use case names it.
#[derive(Default)]
struct Touched {
    /// Only the things below changed; otherwise anything may have.
    precise: bool,
    users: BTreeSet<i64>,
    groups: BTreeSet<i64>,
    requests: BTreeSet<i64>,
    new_resources: BTreeSet<i64>,
    /// Groups the change deleted, with the users who were in them.
    removed_groups: Vec<(i64, Vec<i64>)>,
    /// Resources the index holds whose parent, groups or review policy
    /// the change set.
    resources: BTreeSet<i64>,
    /// Resources the change deleted.
    removed_resources: Vec<i64>,
    /// Members of accounts the change created, with their facts as
    /// written: no group or rule can name an account made in this very
    /// change, so their deltas need no read.
    new_accounts: Vec<access_state::MemberFact>,
    /// Custom roles the change defined, defined again or deleted (by
    /// name).
    roles: BTreeSet<String>,
    /// Custom roles the change deleted after moving their holders to
    /// another role: (deleted, replacement).
    replaced_roles: Vec<(String, String)>,
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
        let me = members::standing(&mut c, access.org.id, access.caller.user_id())
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
        let lock = orgs::lock(&mut tx, org).await?;
        Ok(Change {
            app: self,
            tx,
            org: Some(org),
            actor,
            meta,
            held: None,
            now: self.now(),
            audited: false,
            // The org's lock returned its chain's head.
            chains: vec![(audit::chain_of(Some(org)), lock.audit_head)],
            hooks: Vec::new(),
            locked: Some((org, lock.revision)),
            locked_org: Some(lock.org),
            locked_org_written: false,
            touched: Touched::default(),
            credentials_untouched: false,
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
            locked: None,
            locked_org: None,
            locked_org_written: false,
            touched: Touched::default(),
            credentials_untouched: false,
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

    /// The org `id`: the row its lock returned when this change holds that
    /// org's lock (no read; a change that writes the org's own row reads
    /// it back with [`orgs::get`] instead), else as stored.
    pub(crate) async fn org_row(&mut self, id: OrgId) -> Result<orgs::Org> {
        match &self.locked_org {
            Some(org) if org.id == id => Ok(org.clone()),
            _ => Ok(orgs::get(&mut self.tx, id).await?),
        }
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
        // An event of the locked org writes the org's revision and head
        // with it (PostgreSQL; see `Change::commit`).
        let locked_revision = self
            .locked
            .filter(|(o, _)| Some(*o) == org)
            .map(|(_, revision)| revision);
        let recorded = record(
            &mut self.tx,
            self.meta,
            self.now,
            &entry,
            &details_text,
            &mut self.chains[i].1,
            locked_revision,
        )
        .await?;
        if locked_revision.is_some() {
            self.locked_org_written = true;
        }
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
                    super::webhooks::queue(
                        &mut self.tx,
                        self.app.keys(),
                        at,
                        org,
                        id,
                        action,
                        &payload,
                    )
                    .await?;
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
        super::outbox::queue(&mut self.tx, self.app.keys(), now, org, recipient, &notice).await
    }

    /// Says that the change only added new memberships (with their
    /// accounts, groups and welcome): it ended no session, revoked no
    /// token, disabled or demoted no one who was a member before, so the
    /// credentials this process validated before it stay valid and are not
    /// read again (every other change makes the next request of every
    /// credential go back to the database: a revocation is honoured by the
    /// very next request, SPEC §2). The new member's access reaches the
    /// index through the change log as for any change.
    pub(crate) fn only_adds_members(&mut self) {
        self.credentials_untouched = true;
    }

    /// Says that the change only moved access: group memberships, access
    /// rules, or a member's role, team or groups (an org's access is read
    /// per request, never cached with a credential). No session, token,
    /// account, membership status or org policy changed, so every
    /// credential validated before it stays valid (as for
    /// [`Change::only_adds_members`]); the access it grants or revokes
    /// reaches the index, which the very next check reads. Without this,
    /// every such write made the next request of every credential go back
    /// to the database, and the checks in flight on it waited for that.
    pub(crate) fn only_moves_access(&mut self) {
        self.credentials_untouched = true;
    }

    /// Says that the change only records a sign-in: a second factor used
    /// and a session opened. A new credential is not in any cache yet and
    /// no credential validated before changed, so those stay valid (as for
    /// [`Change::only_adds_members`]). Without this, every sign-in with a
    /// second factor made the next request of every credential go back to
    /// the database.
    pub(crate) fn only_signs_in(&mut self) {
        self.credentials_untouched = true;
    }

    /// Says that the change did (or may have done) something to this
    /// user's membership, groups or the rules naming them.
    pub(crate) fn touch_member(&mut self, user_id: roster_domain::UserId) {
        self.touched.precise = true;
        self.touched.users.insert(user_id.get());
    }

    /// Says that the change made this member of an account it also
    /// created (so in no group and named by no rule yet), with the email,
    /// role and status it wrote: its delta is logged from these facts,
    /// without reading them back. Debug builds read them back anyway and
    /// panic if the two differ. A change that also puts the new member in
    /// groups or rules names it with [`Change::touch_member`] instead.
    pub(crate) fn new_account_member(
        &mut self,
        user_id: roster_domain::UserId,
        email: &str,
        role: &str,
        status: MemberStatus,
    ) {
        self.touched.precise = true;
        self.touched.new_accounts.push(access_state::MemberFact {
            user_id: user_id.get(),
            email: email.to_owned(),
            role: role.to_owned(),
            status: status.as_str().to_owned(),
            disabled: 0,
        });
    }

    /// Says that the change created this custom role, gave it new
    /// permissions, or deleted it while no member or rule held it (and
    /// changed nothing else about access).
    pub(crate) fn touch_role(&mut self, name: &str) {
        self.touched.precise = true;
        self.touched.roles.insert(name.to_owned());
    }

    /// Says that the change moved every member and rule holding custom
    /// role `name` to role `by`, then deleted `name`.
    pub(crate) fn touch_replaced_role(&mut self, name: &str, by: &str) {
        self.touched.precise = true;
        self.touched
            .replaced_roles
            .push((name.to_owned(), by.to_owned()));
    }

    /// Says that the change created or renamed this group, or changed the
    /// rules naming it (a deleted group: [`Change::touch_removed_group`]).
    pub(crate) fn touch_group(&mut self, group_id: roster_domain::GroupId) {
        self.touched.precise = true;
        self.touched.groups.insert(group_id.get());
    }

    /// Says that the change deleted this group, of which `members` were
    /// members (read before the delete).
    pub(crate) fn touch_removed_group(
        &mut self,
        group_id: roster_domain::GroupId,
        members: Vec<roster_domain::UserId>,
    ) {
        self.touched.precise = true;
        self.touched.groups.remove(&group_id.get());
        self.touched.removed_groups.push((
            group_id.get(),
            members.into_iter().map(|u| u.get()).collect(),
        ));
    }

    /// Says that the change approved, revoked or otherwise decided this
    /// review request.
    pub(crate) fn touch_request(&mut self, request_id: roster_domain::RequestId) {
        self.touched.precise = true;
        self.touched.requests.insert(request_id.get());
    }

    /// Says that the change set this resource's parent, groups or review
    /// policy.
    pub(crate) fn touch_resource(&mut self, resource_id: roster_domain::ResourceId) {
        self.touched.precise = true;
        self.touched.resources.insert(resource_id.get());
    }

    /// Says that the change deleted these resources (with the rules on
    /// them and the requests for them).
    pub(crate) fn touch_removed_resources(&mut self, ids: &[roster_domain::ResourceId]) {
        self.touched.precise = true;
        self.touched
            .removed_resources
            .extend(ids.iter().map(|id| id.get()));
    }

    /// Says that the change created this resource (and changed nothing
    /// else about resources).
    pub(crate) fn touch_new_resource(&mut self, resource_id: roster_domain::ResourceId) {
        self.touched.precise = true;
        self.touched.new_resources.insert(resource_id.get());
    }

    /// Says that the change did nothing to the org's access state.
    pub(crate) fn touches_no_access(&mut self) {
        self.touched.precise = true;
    }

    /// Reads back what the change touched, in its transaction.
    async fn logged(&mut self, org: OrgId) -> Result<Logged> {
        let mut t = std::mem::take(&mut self.touched);
        let conn: &mut Conn = &mut self.tx;
        // Setting a member's groups creates the groups it names.
        if t.precise && !t.users.is_empty() {
            t.groups
                .extend(access_state::groups_created_at(conn, org, self.now).await?);
        }
        // A new resource naming a group made in the same change would need
        // both in one step; such a change is rare, so it rebuilds.
        if !t.precise || (!t.groups.is_empty() && !t.new_resources.is_empty()) {
            return Ok(Logged::Rebuild);
        }
        let mut deltas = Vec::new();
        // Roles first: a member or rule of the same change resolves its
        // role by name against the new definitions.
        for name in &t.roles {
            let permissions = roster_store::roles::find(conn, org, name)
                .await?
                .map(|r| r.permissions);
            deltas.push(Delta::Role {
                name: name.clone(),
                permissions,
            });
        }
        for (name, by) in t.replaced_roles {
            deltas.push(Delta::RoleReplaced { name, by });
        }
        for &id in &t.groups {
            let Some(name) = access_state::group(conn, org, id).await? else {
                return Ok(Logged::Rebuild);
            };
            let rules = access_state::rules_of_group(conn, org, id).await?;
            deltas.push(Delta::Group {
                id,
                name,
                rules: rules
                    .into_iter()
                    .filter_map(super::authz::rule_fact)
                    .collect(),
            });
        }
        for (id, members) in t.removed_groups {
            deltas.push(Delta::GroupRemoved { id, members });
        }
        for &id in &t.new_resources {
            let Some((r, groups)) = access_state::resource(conn, org, id).await? else {
                return Ok(Logged::Rebuild);
            };
            deltas.push(Delta::NewResource(super::authz::resource_fact(r, groups)));
        }
        for &id in &t.resources {
            let Some((r, groups)) = access_state::resource(conn, org, id).await? else {
                return Ok(Logged::Rebuild);
            };
            deltas.push(Delta::Resource(super::authz::resource_fact(r, groups)));
        }
        if !t.removed_resources.is_empty() {
            deltas.push(Delta::ResourcesRemoved {
                ids: t.removed_resources,
            });
        }
        for &user_id in &t.users {
            deltas.push(Self::stored_member(conn, org, user_id).await?);
        }
        for fact in t.new_accounts {
            if t.users.contains(&fact.user_id) {
                continue;
            }
            let delta = Delta::Member {
                user_id: fact.user_id,
                member: Some(super::authz::member_fact(fact)),
                groups: Vec::new(),
                rules: Vec::new(),
            };
            #[cfg(debug_assertions)]
            Self::same_as_stored(conn, org, &delta).await?;
            deltas.push(delta);
        }
        for &request_id in &t.requests {
            let grant = access_state::approved_request(conn, org, request_id).await?;
            deltas.push(Delta::Grant {
                request_id,
                grant: grant.map(super::authz::grant_fact),
            });
        }
        Ok(Logged::Deltas(deltas))
    }

    /// A member's delta as the database has it: the membership, the
    /// groups and the rules naming them.
    async fn stored_member(conn: &mut Conn, org: OrgId, user_id: i64) -> Result<Delta> {
        let member = access_state::member(conn, org, user_id).await?;
        let groups = access_state::groups_of(conn, org, user_id).await?;
        let rules = access_state::rules_of_user(conn, org, user_id).await?;
        Ok(Delta::Member {
            user_id,
            member: member.map(super::authz::member_fact),
            groups,
            rules: rules
                .into_iter()
                .filter_map(super::authz::rule_fact)
                .collect(),
        })
    }

    /// Panics unless a member's delta built from what a change wrote is
    /// the one reading it back gives (debug builds: the tests).
    #[cfg(debug_assertions)]
    async fn same_as_stored(conn: &mut Conn, org: OrgId, delta: &Delta) -> Result<()> {
        let Delta::Member { user_id, .. } = *delta else {
            return Ok(());
        };
        let stored = Self::stored_member(conn, org, user_id).await?;
        let (written, stored) = (serde_json::to_value(delta), serde_json::to_value(&stored));
        assert_eq!(
            written.ok(),
            stored.ok(),
            "a new member's delta differs from what is stored"
        );
        Ok(())
    }

    /// Commits the change. A change that recorded no audit event is a bug
    /// and is refused (rolled back).
    pub(crate) async fn commit(mut self) -> Result<()> {
        if !self.audited {
            return Err(AppError::Internal(anyhow::anyhow!(
                "a change must record what it did before it commits"
            )));
        }
        // The heads of the chains this change appended to, and the locked
        // org's new revision unless one of its events wrote them
        // (PostgreSQL writes them here; SQLite's lock and inserts did).
        let locked_chain = self.locked.map(|(org, _)| audit::chain_of(Some(org)));
        for (chain, head) in &self.chains {
            if Some(*chain) != locked_chain {
                audit::store_head(&mut self.tx, *chain, head).await?;
            }
        }
        if let (Some((org, revision)), false) = (self.locked, self.locked_org_written) {
            let head = self
                .chains
                .iter()
                .find(|(c, _)| Some(*c) == locked_chain)
                .map(|(_, h)| h)
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("a locked org without its chain"))
                })?;
            orgs::commit_revision(&mut self.tx, org, revision, head).await?;
        }
        let logged = match self.locked {
            Some((org, revision)) => {
                let mut logged = self.logged(org).await?;
                if self.credentials_untouched {
                    logged = logged.leaving_credentials();
                }
                let payload = serde_json::to_string(&logged)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
                access_state::log_change(&mut self.tx, org, revision, &payload, self.now).await?;
                self.app
                    .notify_access_change(&mut self.tx, org, revision)
                    .await?;
                Some((org, revision, logged))
            }
            None => None,
        };
        roster_store::commit(self.tx).await?;
        if !self.credentials_untouched {
            self.app.invalidate_caches();
        }
        if let Some((org, revision, logged)) = logged {
            self.app.committed(org, revision, logged);
        }
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
