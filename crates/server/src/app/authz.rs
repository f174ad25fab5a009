//! The authorization index cache: one compiled [`OrgIndex`] per org, kept
//! current so that a check reads memory only.
//!
//! Freshness works by generations. Every committed write in this process
//! bumps a global generation ([`App::commit`]); a background task bumps it
//! too when it sees that another replica changed an org (org revisions move
//! on every write, see `roster_store::orgs::lock`). A check uses an org's
//! index as is when the index was confirmed at the current generation:
//! two atomic loads. Otherwise it confirms it first: one query for the
//! org's revision, and a full reload only if that revision moved. So the
//! check right after a change sees it, and checks in between changes do no
//! I/O at all.

use super::error::Result;
use super::App;
use roster_authz::{GrantFact, GroupFact, MemberFact, OrgIndex, OrgState, ResourceFact, RoleFact};
use roster_authz::{RuleFact, Subject};
use roster_domain::{OrgId, Timestamp};
use roster_store::access_state::AccessFacts;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Default)]
pub(crate) struct AuthzCache {
    generation: AtomicU64,
    /// Validated sessions by token hash, so that a request with a known
    /// token reads no database. An entry serves while no write has
    /// committed in this process since it was validated and for at most
    /// [`SESSION_CACHE_MS`] (the bound for changes made by other replicas).
    sessions: RwLock<HashMap<String, CachedSession>>,
    /// The revisions the replica watcher saw last, per loaded org.
    seen_revisions: std::sync::Mutex<HashMap<OrgId, i64>>,
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
    expires_at: Timestamp,
    generation: u64,
    cached_at: Timestamp,
}

struct Slot {
    /// The index and the generation at which it was last confirmed.
    current: RwLock<Option<(Arc<OrgIndex>, u64)>>,
    /// One loader at a time per org.
    loading: tokio::sync::Mutex<()>,
}

impl AuthzCache {
    /// Marks every index as needing confirmation before its next use.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn revalidating(&self) -> &Stripes {
        &self.revalidating
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn cached_session(&self, token_hash: &str, now: Timestamp) -> Option<super::Caller> {
        let generation = self.generation();
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        let s = sessions.get(token_hash)?;
        (s.generation == generation && now < s.expires_at && now.since(s.cached_at) < SESSION_CACHE)
            .then(|| s.caller.clone())
    }

    /// Remembers a session validated at `generation` (read before the
    /// database was).
    pub(crate) fn cache_session(
        &self,
        token_hash: String,
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
                    loading: tokio::sync::Mutex::new(()),
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
            .filter_map(|(org, s)| {
                s.current
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .map(|(ix, _)| (*org, ix.revision()))
            })
            .collect()
    }
}

impl Slot {
    fn get(&self, generation: u64) -> Option<Arc<OrgIndex>> {
        match &*self.current.read().unwrap_or_else(|e| e.into_inner()) {
            Some((ix, g)) if *g >= generation => Some(ix.clone()),
            _ => None,
        }
    }

    fn set(&self, ix: Arc<OrgIndex>, generation: u64) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some((ix, generation));
    }
}

impl App {
    /// Makes the next authorization check in this process see what was
    /// just committed (every [`super::change::Change`] calls it).
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

    /// The org's current authorization index.
    pub async fn org_index(&self, org_id: OrgId) -> Result<Arc<OrgIndex>> {
        let cache = &self.inner.authz;
        let slot = cache.slot(org_id);
        let generation = cache.generation.load(Ordering::Acquire);
        if let Some(ix) = slot.get(generation) {
            return Ok(ix);
        }
        let _one_loader = slot.loading.lock().await;
        // The generation read before touching the database: a change
        // committed after this point bumps it again.
        let generation = cache.generation.load(Ordering::Acquire);
        if let Some(ix) = slot.get(generation) {
            return Ok(ix);
        }
        let mut conn = self.store().conn().await?;
        let stale = slot
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(ix, _)| ix.clone());
        if let Some(ix) = stale {
            // Approved requests expire by the clock, which the index
            // compares itself: an unchanged revision means nothing to load.
            if roster_store::access_state::revision(&mut conn, org_id).await? == ix.revision() {
                slot.set(ix.clone(), generation);
                return Ok(ix);
            }
        }
        let facts = roster_store::access_state::load(&mut conn, org_id, self.now()).await?;
        tracing::debug!(
            org_id = org_id.get(),
            revision = facts.revision,
            "authorization index loaded"
        );
        let ix = Arc::new(OrgIndex::build(compile(facts)));
        slot.set(ix.clone(), generation);
        Ok(ix)
    }

    /// Notices changes made by other replicas: when an org whose index is
    /// loaded has moved to another revision, the next check reloads it.
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
        // Invalidate when a loaded org's revision differs from its index and
        // from what the last poll saw: an org that moved once invalidates
        // once, not on every poll until someone checks it.
        let mut seen = self
            .inner
            .authz
            .seen_revisions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut moved = false;
        for (org, rev) in loaded {
            let current = now.get(&org).copied().unwrap_or(-1);
            if current != rev && seen.get(&org) != Some(&current) {
                moved = true;
            }
            seen.insert(org, current);
        }
        drop(seen);
        if moved {
            tracing::debug!("an org changed on another replica; authorization caches invalidated");
            self.inner.authz.invalidate();
        }
        Ok(())
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
            permissions: super::orgs::stored_permissions(&r.permissions, &catalog),
        })
        .collect();
    let mut resource_groups: HashMap<i64, Vec<i64>> = HashMap::new();
    for (r, g) in &f.resource_groups {
        resource_groups.entry(*r).or_default().push(*g);
    }
    OrgState {
        revision: f.revision,
        roles,
        members: f
            .members
            .into_iter()
            .map(|m| MemberFact {
                user_id: m.user_id,
                active: m.status == roster_domain::MemberStatus::Active.as_str() && m.disabled == 0,
                email: m.email,
                role: m.role,
            })
            .collect(),
        groups: f
            .groups
            .into_iter()
            .map(|(id, name)| GroupFact { id, name })
            .collect(),
        group_members: f.group_members,
        resources: f
            .resources
            .into_iter()
            .map(|r| ResourceFact {
                groups: resource_groups.remove(&r.id).unwrap_or_default(),
                id: r.id,
                resource_type: r.resource_type,
                name: r.name,
                parent_id: r.parent_id,
                review_actions: r
                    .review_actions
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            })
            .collect(),
        rules: f
            .rules
            .into_iter()
            .filter_map(|r| {
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
            })
            .collect(),
        grants: f
            .grants
            .into_iter()
            .map(|g| GrantFact {
                request_id: g.id,
                user_id: g.requester_id,
                resource_id: g.resource_id,
                action: g.action,
                expires_at: g.expires_at,
            })
            .collect(),
        catalog,
    }
}
