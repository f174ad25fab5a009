//! The authorization index cache: one compiled [`OrgIndex`] per org, kept
//! current so that a check reads memory only.
//!
//! Freshness works by revisions and the change log. Every committed change
//! to an org moves its revision by one and logs what it did in the same
//! transaction ([`super::change::Change::commit`]). The process that made
//! the change applies it to its index before the change returns
//! ([`App::committed`]), and records that its checks must now see that
//! revision: a check in this process never sees an index older than a
//! change this process committed (SPEC §2). Other replicas learn of changes
//! from PostgreSQL notifications or, as the fallback, by polling the orgs'
//! revisions, and apply the logged changes in revision order
//! ([`App::catch_up`]). A full build from the database happens at first use
//! and when the log cannot bridge the gap (a "rebuild" entry, pruned rows),
//! always in the background: on another replica's change checks use the
//! index they have meanwhile; at first use, or after a change made here
//! that only a build can apply, each single check is answered from a slice
//! of the org read for it ([`App::slice_index`]), so no check waits for a
//! whole org to be read.

use super::error::Result;
use super::App;
use roster_authz::{
    Delta, GrantFact, GroupFact, MemberFact, OrgIndex, OrgState, ResourceFact, RoleFact,
};
use roster_authz::{RuleFact, Subject};
use roster_domain::{OrgId, Timestamp};
use roster_store::access_state::AccessFacts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

#[derive(Default)]
pub(crate) struct AuthzCache {
    generation: AtomicU64,
    /// Validated sessions by token hash, so that a request with a known
    /// token reads no database. An entry serves while no write has
    /// committed in this process since it was validated and for at most
    /// [`SESSION_CACHE_MS`] (the bound for changes made by other replicas).
    sessions: RwLock<HashMap<String, CachedSession>>,
    /// Counters for the benchmark and the logs.
    pub(crate) stats: AuthzStats,
    /// Striped locks so that when a cached session runs out, one request
    /// per token goes to the database and the others wait for its answer,
    /// instead of every request in flight asking at once.
    revalidating: Stripes,
    /// Org slugs to ids. Slugs never change, so entries never go stale.
    slug_ids: RwLock<HashMap<String, OrgId>>,
    slots: RwLock<HashMap<OrgId, Arc<Slot>>>,
}

/// 64 async locks, picked by a token hash's first hex digits.
pub(crate) struct Stripes(Vec<tokio::sync::Mutex<()>>);

impl Default for Stripes {
    fn default() -> Self {
        Stripes((0..64).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl Stripes {
    pub(crate) async fn lock(&self, token_hash: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let i = token_hash.bytes().take(2).fold(0usize, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        self.0[i % self.0.len()].lock().await
    }
}

/// How long a validated session serves from memory at most.
pub(crate) const SESSION_CACHE: std::time::Duration = std::time::Duration::from_secs(1);
/// Past this many cached sessions the cache starts over.
const SESSION_CACHE_MAX: usize = 100_000;

struct CachedSession {
    caller: super::Caller,
    /// The client address an API token was validated from (its last use
    /// is recorded per address); empty for sessions, which do not record
    /// it.
    from: Box<str>,
    expires_at: Timestamp,
    generation: u64,
    cached_at: Timestamp,
}

/// What a committed change did to an org's access state, as logged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "deltas", rename_all = "snake_case")]
pub(crate) enum Logged {
    /// Anything may have changed: build the index afresh.
    Rebuild,
    /// What changed, from a change that may also have ended a session,
    /// revoked a token or changed someone's membership: the replicas that
    /// apply it drop the credentials they validated before.
    Deltas(Vec<Delta>),
    /// What changed, from a change that left every credential as it was
    /// ([`super::change::Change::only_adds_members`],
    /// [`super::change::Change::only_moves_access`]): the replicas that
    /// apply it keep their validated credentials. Logged as kind `access`;
    /// a build that does not know the kind reads it as [`Logged::Rebuild`].
    Access(Vec<Delta>),
}

impl Logged {
    /// The same change, said to leave every credential as it was.
    pub(crate) fn leaving_credentials(self) -> Self {
        match self {
            Logged::Deltas(deltas) => Logged::Access(deltas),
            other => other,
        }
    }
}

/// What [`Slot::offer`] applied.
#[derive(Debug, Default, Clone, Copy)]
struct Applied {
    changes: u64,
    /// Whether one of them may have touched a credential.
    credentials: bool,
}

/// How the indexes have been kept current since the process started.
#[derive(Default)]
pub(crate) struct AuthzStats {
    pub(crate) deltas_applied: AtomicU64,
    pub(crate) full_builds: AtomicU64,
    pub(crate) build_ms_total: AtomicU64,
    /// Slices read for checks while an org's index was being built
    /// ([`App::slice_index`]).
    pub(crate) slices: AtomicU64,
}

struct Slot {
    current: RwLock<Option<Arc<OrgIndex>>>,
    /// The latest revision this process committed to the org: its checks
    /// wait until the index has reached it.
    required: AtomicI64,
    /// Logged changes not yet applied, by revision (they arrive out of
    /// order when changes commit side by side).
    pending: Mutex<BTreeMap<i64, Logged>>,
    /// One full build or log read at a time per org.
    loading: tokio::sync::Mutex<()>,
    /// Requests to catch up with other replicas, and whether a task is on
    /// it ([`App::request_catch_up`]).
    wanted: AtomicU64,
    running: AtomicBool,
    /// Whether a task started by [`App::warm`] is bringing the index up to
    /// date in the background.
    warming: AtomicBool,
}

/// Past this many unapplied changes an org's queue starts over (the next
/// check or poll reads the log or builds afresh).
const PENDING_MAX: usize = 10_000;

impl Slot {
    fn current(&self) -> Option<Arc<OrgIndex>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn revision(&self) -> i64 {
        self.current().map_or(-1, |ix| ix.revision())
    }

    /// The index, if it has reached every change this process committed.
    fn ready(&self) -> Option<Arc<OrgIndex>> {
        self.current()
            .filter(|ix| ix.revision() >= self.required.load(Ordering::Acquire))
    }

    /// Installs a freshly built index unless the one held is as new.
    fn install(&self, ix: Arc<OrgIndex>) {
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        if cur.as_ref().is_none_or(|c| c.revision() < ix.revision()) {
            *cur = Some(ix);
        }
    }

    /// Queues logged changes and applies every one that follows the index
    /// without a gap.
    fn offer(&self, changes: impl IntoIterator<Item = (i64, Logged)>) -> Applied {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend(changes);
        let mut applied = Applied::default();
        while let Some(ix) = self.current() {
            // What the index already has.
            let have = ix.revision();
            while pending
                .first_key_value()
                .is_some_and(|(&rev, _)| rev <= have)
            {
                pending.pop_first();
            }
            let Some(entry) = pending.first_entry() else {
                break;
            };
            if *entry.key() != have + 1 {
                break;
            }
            let (next, credentials) = match entry.get() {
                Logged::Deltas(deltas) => (ix.apply(have + 1, deltas), true),
                Logged::Access(deltas) => (ix.apply(have + 1, deltas), false),
                Logged::Rebuild => (None, true),
            };
            let Some(next) = next else { break };
            entry.remove();
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(next));
            applied.changes += 1;
            applied.credentials |= credentials;
        }
        if pending.len() > PENDING_MAX {
            pending.clear();
        }
        applied
    }
}

impl AuthzCache {
    /// Makes every cached credential go back to the database on its next
    /// use.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn revalidating(&self) -> &Stripes {
        &self.revalidating
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A credential validated less than [`SESSION_CACHE`] ago, at the
    /// current generation, from the client address `from` (empty when the
    /// address does not matter).
    pub(crate) fn cached_session(
        &self,
        token_hash: &str,
        from: &str,
        now: Timestamp,
    ) -> Option<super::Caller> {
        let generation = self.generation();
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        let s = sessions.get(token_hash)?;
        (s.generation == generation
            && now < s.expires_at
            && now.since(s.cached_at) < SESSION_CACHE
            && *s.from == *from)
            .then(|| s.caller.clone())
    }

    /// Remembers a session validated at `generation` (read before the
    /// database was).
    pub(crate) fn cache_session(
        &self,
        token_hash: String,
        from: &str,
        caller: super::Caller,
        expires_at: Timestamp,
        generation: u64,
        now: Timestamp,
    ) {
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        if sessions.len() >= SESSION_CACHE_MAX {
            sessions.clear();
        }
        sessions.insert(
            token_hash,
            CachedSession {
                caller,
                from: from.into(),
                expires_at,
                generation,
                cached_at: now,
            },
        );
    }

    fn slot(&self, org_id: OrgId) -> Arc<Slot> {
        if let Some(s) = self
            .slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&org_id)
        {
            return s.clone();
        }
        self.slots
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(org_id)
            .or_insert_with(|| {
                Arc::new(Slot {
                    current: RwLock::new(None),
                    required: AtomicI64::new(-1),
                    pending: Mutex::new(BTreeMap::new()),
                    loading: tokio::sync::Mutex::new(()),
                    wanted: AtomicU64::new(0),
                    running: AtomicBool::new(false),
                    warming: AtomicBool::new(false),
                })
            })
            .clone()
    }

    /// The revisions of the loaded indexes.
    fn loaded_revisions(&self) -> Vec<(OrgId, i64)> {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(org, s)| s.current().map(|ix| (*org, ix.revision())))
            .collect()
    }
}

impl App {
    /// Makes the next request in this process see the credentials as just
    /// committed (every [`super::change::Change`] calls it, but for one
    /// that [`super::change::Change::only_adds_members`]).
    pub(crate) fn invalidate_caches(&self) {
        self.inner.authz.invalidate();
    }

    /// The id of the org named `slug`, from memory after the first time.
    pub(crate) async fn org_id_by_slug(&self, slug: &str) -> Result<OrgId> {
        let cache = &self.inner.authz;
        if let Some(id) = cache
            .slug_ids
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(slug)
        {
            return Ok(*id);
        }
        let mut conn = self.store().conn().await?;
        let org = roster_store::orgs::find_by_slug(&mut conn, slug)
            .await?
            .ok_or(super::AppError::NotFound("organization"))?;
        cache
            .slug_ids
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(slug.to_owned(), org.id);
        Ok(org.id)
    }

    /// The org's current authorization index: the one in memory, unless
    /// this process committed a change it has not applied yet (then the
    /// change log or a full build brings it up to date first) or none is
    /// loaded.
    pub async fn org_index(&self, org_id: OrgId) -> Result<Arc<OrgIndex>> {
        let slot = self.inner.authz.slot(org_id);
        if let Some(ix) = slot.current() {
            if ix.revision() >= slot.required.load(Ordering::Acquire) {
                return Ok(ix);
            }
        }
        let _one = slot.loading.lock().await;
        let required = slot.required.load(Ordering::Acquire);
        if let Some(ix) = slot.current() {
            if ix.revision() >= required {
                return Ok(ix);
            }
            // Behind a change made here: what the log holds since.
            self.read_log(org_id, &slot).await?;
            if let Some(ix) = slot.current() {
                if ix.revision() >= required {
                    return Ok(ix);
                }
            }
        }
        self.build(org_id, &slot).await?;
        slot.current()
            .ok_or_else(|| super::AppError::Internal(anyhow::anyhow!("no index after a build")))
    }

    /// Whether this process holds an index of the org (perhaps behind a
    /// change; [`App::org_index`] brings it up to date from the log).
    pub fn has_index(&self, org_id: OrgId) -> bool {
        self.inner.authz.slot(org_id).current().is_some()
    }

    /// The org's index when it can be had without waiting for a build:
    /// the one held, brought up to the changes this process committed from
    /// the change log if need be. `None` when no index is loaded, or a log
    /// read or build is under way (its lock is taken: waiting for it could
    /// mean waiting for a whole org to be read), or only a build can catch
    /// up (a change the log cannot apply, such as a role's new definition):
    /// the caller then starts one in the background ([`App::warm`]) and
    /// answers from a slice.
    pub(crate) async fn index_without_build(&self, org_id: OrgId) -> Result<Option<Arc<OrgIndex>>> {
        let slot = self.inner.authz.slot(org_id);
        if let Some(ix) = slot.ready() {
            return Ok(Some(ix));
        }
        if slot.current().is_none() {
            return Ok(None);
        }
        let Ok(_one) = slot.loading.try_lock() else {
            return Ok(None);
        };
        if slot.ready().is_none() {
            self.read_log(org_id, &slot).await?;
        }
        Ok(slot.ready())
    }

    /// Starts bringing the org's index up to date in the background (a
    /// first build, or a build after a change the log cannot apply),
    /// unless it is up to date or a task is on it.
    pub(crate) fn warm(&self, org_id: OrgId) {
        let slot = self.inner.authz.slot(org_id);
        if slot.ready().is_some() || slot.warming.swap(true, Ordering::AcqRel) {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = app.org_index(org_id).await {
                tracing::warn!(error = %e, org_id = org_id.get(), "building an org's authorization index failed");
            }
            slot.warming.store(false, Ordering::Release);
        });
    }

    /// An index of the part of the org that checks about `slice`'s users
    /// on its resource need, read from the database now: what a check is
    /// answered from while the org's own index is being built, so that
    /// the first checks in a big org after a start do not wait for it.
    /// It decides those checks as the whole index would (the property
    /// test `a_slice_decides_as_the_whole_org` holds it to that); it is
    /// not kept.
    pub async fn slice_index(
        &self,
        org_id: OrgId,
        slice: &roster_store::access_state::Slice,
    ) -> Result<Arc<OrgIndex>> {
        let facts =
            roster_store::access_state::load_slice(self.store(), org_id, slice, self.now()).await?;
        self.inner
            .authz
            .stats
            .slices
            .fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(OrgIndex::build(compile(facts))))
    }

    /// Offers logged changes to the org's index ([`Slot::offer`]) and
    /// returns how many it applied. When one of them may have touched a
    /// credential (another replica's change: this process's own changes
    /// did so at commit), the credentials validated before are read
    /// again on their next use.
    fn offer(&self, slot: &Slot, changes: impl IntoIterator<Item = (i64, Logged)>) -> u64 {
        let applied = slot.offer(changes);
        let cache = &self.inner.authz;
        cache
            .stats
            .deltas_applied
            .fetch_add(applied.changes, Ordering::Relaxed);
        if applied.credentials {
            cache.invalidate();
        }
        applied.changes
    }

    /// Reads the logged changes after the index's revision and applies
    /// what follows it without a gap. Returns the org's revision as of
    /// the last read (`None`: the org is gone).
    async fn read_log(&self, org_id: OrgId, slot: &Slot) -> Result<Option<i64>> {
        let mut conn = self.store().conn().await?;
        loop {
            let have = slot.revision();
            let read =
                roster_store::access_state::changes_since(&mut conn, org_id, have, 500).await?;
            let n = read.changes.len();
            let changes = read.changes.into_iter().map(|(rev, payload)| {
                // A payload this build cannot read is a full build.
                (
                    rev,
                    serde_json::from_str(&payload).unwrap_or(Logged::Rebuild),
                )
            });
            let applied = self.offer(slot, changes);
            if n < 500 || applied == 0 {
                return Ok(read.org_revision);
            }
        }
    }

    /// Builds the org's index afresh from one snapshot, installs it, and
    /// applies the changes logged since.
    async fn build(&self, org_id: OrgId, slot: &Slot) -> Result<()> {
        let started = std::time::Instant::now();
        let facts =
            roster_store::access_state::load_snapshot(self.store(), org_id, self.now()).await?;
        let read_ms = started.elapsed().as_millis() as u64;
        let revision = facts.revision;
        let ix = Arc::new(OrgIndex::build(compile(facts)));
        let stats = &self.inner.authz.stats;
        stats.full_builds.fetch_add(1, Ordering::Relaxed);
        stats
            .build_ms_total
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        tracing::debug!(
            org_id = org_id.get(),
            revision,
            members = ix.member_count(),
            read_ms,
            ms = started.elapsed().as_millis() as u64,
            "authorization index built"
        );
        let replaced = slot.current().is_some();
        slot.install(ix);
        if replaced {
            // What changed since the old index is not known: credentials
            // too, perhaps.
            self.inner.authz.invalidate();
        }
        self.offer(slot, []);
        self.read_log(org_id, slot).await.map(drop)
    }

    /// A change this process made to `org_id` committed at `revision`:
    /// applies it to the loaded index, if any, before the change returns.
    pub(crate) fn committed(&self, org_id: OrgId, revision: i64, logged: Logged) {
        let cache = &self.inner.authz;
        let Some(slot) = cache
            .slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&org_id)
            .cloned()
        else {
            return;
        };
        // Offered before it is required: while the delta is applied (a
        // shard copied), checks go on with the index as it was, which is
        // right until this change returns. Required first, each of them
        // found the index behind and read the log or, when another task
        // held the log's lock, a slice of the org.
        self.offer(&slot, [(revision, logged)]);
        slot.required.fetch_max(revision, Ordering::AcqRel);
    }

    /// Tells other replicas, on PostgreSQL, that `org_id` moved to
    /// `revision` (delivered when the change's transaction commits).
    pub(crate) async fn notify_access_change(
        &self,
        conn: &mut roster_store::Conn,
        org_id: OrgId,
        revision: i64,
    ) -> Result<()> {
        if self.store().engine() == roster_store::Engine::Postgres {
            roster_store::access_state::notify(conn, org_id, revision).await?;
        }
        Ok(())
    }

    /// The revision of the org's index in this process (-1 when it has
    /// none).
    fn index_revision(&self, org_id: OrgId) -> i64 {
        self.inner
            .authz
            .slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&org_id)
            .map_or(-1, |slot| slot.revision())
    }

    /// Asks for a loaded org's index to catch up with changes made
    /// elsewhere, in the background: one task per org at a time, which
    /// goes round again when more requests came in meanwhile.
    pub(crate) fn request_catch_up(&self, org_id: OrgId) {
        let Some(slot) = self
            .inner
            .authz
            .slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&org_id)
            .cloned()
        else {
            return;
        };
        slot.wanted.fetch_add(1, Ordering::AcqRel);
        if slot.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                let wanted = slot.wanted.load(Ordering::Acquire);
                if let Err(e) = app.catch_up(org_id, &slot).await {
                    tracing::warn!(error = %e, org_id = org_id.get(), "catching up with an org's changes failed");
                }
                if slot.wanted.load(Ordering::Acquire) != wanted {
                    continue;
                }
                slot.running.store(false, Ordering::Release);
                // A request that came in between the two lines above.
                if slot.wanted.load(Ordering::Acquire) == wanted
                    || slot.running.swap(true, Ordering::AcqRel)
                {
                    return;
                }
            }
        });
    }

    /// Brings the index up to the org's current revision from the change
    /// log, or builds it afresh when the log cannot. Checks meanwhile go on
    /// with the index they have (they wait only for changes made here).
    async fn catch_up(&self, org_id: OrgId, slot: &Slot) -> Result<()> {
        let _one = slot.loading.lock().await;
        // Changes keep committing while the log is read: go round while
        // the log brings the index forward, and build afresh only when a
        // round makes no progress twice although the org has moved (a gap,
        // or a change the log cannot apply).
        let mut stalled = 0;
        loop {
            let round = slot.revision();
            // The org's revision comes with the log's last read, from the
            // same snapshot.
            let now = self
                .read_log(org_id, slot)
                .await?
                .ok_or(roster_store::StoreError::NotFound)?;
            if slot.revision() >= now {
                break;
            }
            if slot.revision() == round {
                stalled += 1;
                if stalled >= 2 {
                    self.build(org_id, slot).await?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Polls the revisions of the loaded orgs and catches up with the ones
    /// that moved (the fallback when notifications are not available).
    pub(crate) async fn watch_revisions(&self) -> Result<()> {
        let loaded = self.inner.authz.loaded_revisions();
        if loaded.is_empty() {
            return Ok(());
        }
        let mut conn = self.store().conn().await?;
        let ids: Vec<OrgId> = loaded.iter().map(|(org, _)| *org).collect();
        let now: HashMap<OrgId, i64> = roster_store::access_state::revisions(&mut conn, &ids)
            .await?
            .into_iter()
            .collect();
        drop(conn);
        for (org, rev) in loaded {
            if now.get(&org).is_some_and(|&current| current > rev) {
                self.request_catch_up(org);
            }
        }
        Ok(())
    }

    /// How the indexes have been kept current since the process started.
    pub fn authz_stats(&self) -> AuthzCounts {
        let s = &self.inner.authz.stats;
        AuthzCounts {
            deltas_applied: s.deltas_applied.load(Ordering::Relaxed),
            full_builds: s.full_builds.load(Ordering::Relaxed),
            build_ms: s.build_ms_total.load(Ordering::Relaxed),
            slices: s.slices.load(Ordering::Relaxed),
            credential_cache_resets: self.inner.authz.generation(),
        }
    }
}

/// [`App::authz_stats`]: counters since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthzCounts {
    /// Logged changes applied to an index in place.
    pub deltas_applied: u64,
    /// Indexes built from the whole org.
    pub full_builds: u64,
    /// Milliseconds spent on those builds.
    pub build_ms: u64,
    /// Slices read for checks while an org's index was being built.
    pub slices: u64,
    /// Times every credential validated before had to be read again
    /// from the database on its next use (a change that may have touched
    /// one, here or on another replica).
    pub credential_cache_resets: u64,
}

pub(crate) fn member_fact(m: roster_store::access_state::MemberFact) -> MemberFact {
    MemberFact {
        user_id: m.user_id,
        active: m.status == roster_domain::MemberStatus::Active.as_str() && m.disabled == 0,
        email: m.email,
        role: m.role,
    }
}

pub(crate) fn rule_fact(r: roster_store::access_state::RuleFact) -> Option<RuleFact> {
    let subject = match (r.user_id, r.group_id) {
        (Some(u), _) => Subject::User(u),
        (None, Some(g)) => Subject::Group(g),
        (None, None) => return None,
    };
    Some(RuleFact {
        id: r.id,
        subject,
        role: r.role,
        resource_id: r.resource_id,
    })
}

pub(crate) fn resource_fact(
    r: roster_store::access_state::ResourceFact,
    groups: Vec<i64>,
) -> ResourceFact {
    ResourceFact {
        groups,
        id: r.id,
        resource_type: r.resource_type,
        name: r.name,
        parent_id: r.parent_id,
        review_actions: r
            .review_actions
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    }
}

pub(crate) fn grant_fact(g: roster_store::access_state::GrantFact) -> GrantFact {
    GrantFact {
        request_id: g.id,
        user_id: g.requester_id,
        resource_id: g.resource_id,
        action: g.action,
        expires_at: g.expires_at,
    }
}

/// Turns stored facts into the engine's input.
pub(crate) fn compile(f: AccessFacts) -> OrgState {
    let catalog = super::orgs::catalog_from_rows(&f.actions);
    let roles = f
        .roles
        .iter()
        .map(|r| RoleFact {
            name: r.name.clone(),
            permissions: roster_domain::RolePermissions::from_stored(&r.permissions, &catalog),
        })
        .collect();
    let mut resource_groups: HashMap<i64, Vec<i64>> = HashMap::new();
    for (r, g) in &f.resource_groups {
        resource_groups.entry(*r).or_default().push(*g);
    }
    OrgState {
        revision: f.revision,
        roles,
        members: f.members.into_iter().map(member_fact).collect(),
        groups: f
            .groups
            .into_iter()
            .map(|(id, name)| GroupFact { id, name })
            .collect(),
        group_members: f.group_members,
        resources: f
            .resources
            .into_iter()
            .map(|r| {
                let groups = resource_groups.remove(&r.id).unwrap_or_default();
                resource_fact(r, groups)
            })
            .collect(),
        rules: f.rules.into_iter().filter_map(rule_fact).collect(),
        grants: f.grants.into_iter().map(grant_fact).collect(),
        catalog,
    }
}

impl App {
    /// Listens on PostgreSQL for changes committed by other replicas and
    /// catches up with each as it is announced. Polling
    /// ([`App::watch_revisions`]) goes on beside it, for notifications
    /// lost while the listener reconnects.
    pub(crate) async fn listen_for_changes(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.store().engine() != roster_store::Engine::Postgres {
            return;
        }
        loop {
            let listener = async {
                let mut l = sqlx::postgres::PgListener::connect(self.store().url()).await?;
                l.listen(roster_store::access_state::CHANNEL).await?;
                Ok::<_, sqlx::Error>(l)
            };
            let mut listener = match listener.await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for access changes failed; polling meanwhile");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            loop {
                tokio::select! {
                    n = listener.try_recv() => match n {
                        Ok(Some(n)) => {
                            let (org, revision) = notified(n.payload());
                            if let Some(org) = org {
                                let org = OrgId::new(org);
                                // This process's own changes (applied at
                                // commit) come back too: nothing to read.
                                if revision.is_none_or(|r| self.index_revision(org) < r) {
                                    self.request_catch_up(org);
                                }
                            }
                        }
                        // The connection dropped: notifications may have
                        // been lost; the poll will find those changes.
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "the access change listener failed; reconnecting");
                            break;
                        }
                    },
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// The org and revision of an access change notification (`org:revision`);
/// a payload without a readable revision still names its org.
fn notified(payload: &str) -> (Option<i64>, Option<i64>) {
    match payload.split_once(':') {
        Some((org, revision)) => (org.parse().ok(), revision.parse().ok()),
        None => (payload.parse().ok(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::notified;

    #[test]
    fn a_notification_names_its_org_and_revision() {
        assert_eq!(notified("12:345"), (Some(12), Some(345)));
        assert_eq!(notified("12"), (Some(12), None));
        assert_eq!(notified("12:x"), (Some(12), None));
        assert_eq!(notified("x:3"), (None, Some(3)));
        assert_eq!(notified(""), (None, None));
    }
}
