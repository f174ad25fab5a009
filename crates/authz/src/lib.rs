//! Roster's authorization engine (SPEC §1, "Authorization decision").
//!
//! An [`OrgIndex`] is an immutable, compiled copy of one org's access state:
//! its catalog, roles, members, groups, resource tree, access rules and
//! approved review requests. It is built from plain facts ([`OrgState`]) and
//! answers [`OrgIndex::check`] with no I/O and no allocation: names are
//! interned to small integers at build time, roles become one bit set per
//! resource type, and a resource knows its nearest ancestor that names
//! groups and its nearest ancestor with a review policy.
//!
//! Architecture invariant: this crate knows nothing of SQL, HTTP or clocks.
//! The server loads an [`OrgState`] in one consistent read, builds an index
//! and swaps it in whole; callers pass the current time to `check`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod build;
mod delta;
mod explain;

pub use build::{
    GrantFact, GroupFact, MemberFact, OrgState, ResourceFact, RoleFact, RuleFact, Subject,
};
pub use delta::Delta;

use roster_domain::{ActionClass, ManagementPermission};
use rustc_hash::FxHashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A sentinel for "none" in the `u32` indexes below.
const NONE: u32 = u32::MAX;

/// An action as the index knows it, resolved once from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Management(ManagementPermission),
    Platform {
        resource_type: u16,
        action: u8,
        class: ActionClass,
    },
}

/// A resource, by its position in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceId(u32);

/// Where a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Org,
    Resource(ResourceId),
}

/// Why a check was allowed or denied. Indexes point into the [`OrgIndex`]
/// that made the decision; [`OrgIndex::explain`] turns one into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Allowed by the member's org-wide role.
    OrgRole { role: u32 },
    /// Allowed by an access rule naming the user.
    UserRule { rule: i64, role: u32, scope: Scope },
    /// Allowed by an access rule naming one of the user's groups.
    GroupRule {
        rule: i64,
        group: u32,
        role: u32,
        scope: Scope,
    },
    /// Allowed by an approved, unexpired review request for exactly this
    /// action on this resource.
    Request { request: i64, expires_at: i64 },
    /// Denied: the user is not a member of the org.
    NotMember,
    /// Denied: the membership is not active, or the account is disabled.
    Inactive,
    /// Denied: no rule or request grants the action.
    NoGrant,
    /// Denied: the resource (or the ancestor named) admits only members of
    /// its groups.
    NotInGroups { gate: ResourceId },
    /// Denied: the action needs an approved review request on the resource
    /// (the policy comes from the resource named).
    ReviewRequired { policy: ResourceId },
}

/// The answer to a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: Reason,
    /// When an action that needs review was allowed, the approved request
    /// that satisfied the review (the grant itself is in `reason`).
    pub reviewed_by_request: Option<(i64, i64)>,
}

impl Decision {
    fn deny(reason: Reason) -> Decision {
        Decision {
            allowed: false,
            reason,
            reviewed_by_request: None,
        }
    }
}

#[derive(Clone)]
struct CompiledRole {
    name: Box<str>,
    management: u32,
    /// Per resource type, the bit set of actions granted.
    actions: Box<[u64]>,
}

impl CompiledRole {
    #[inline]
    fn grants(&self, action: Action) -> bool {
        match action {
            Action::Management(m) => self.management & m.bit() != 0,
            Action::Platform {
                resource_type,
                action,
                ..
            } => self
                .actions
                .get(resource_type as usize)
                .is_some_and(|bits| bits & (1u64 << action) != 0),
        }
    }
}

struct TypeInfo {
    name: Box<str>,
    actions: Box<[(Box<str>, ActionClass)]>,
}

#[derive(Clone)]
struct Member {
    user_id: i64,
    email: Box<str>,
    active: bool,
    /// The org-wide role, or NONE when the stored name resolves to nothing.
    role: u32,
    /// Group indexes, sorted.
    groups: Box<[u32]>,
    /// Org-scoped rules naming this user: (role, rule id).
    org_rules: Box<[(u32, i64)]>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RuleSubject {
    User(i64),
    Group(u32),
}

#[derive(Clone, PartialEq, Eq, Debug)]
struct Rule {
    id: i64,
    subject: RuleSubject,
    role: u32,
}

#[derive(Clone)]
struct Resource {
    resource_type: u16,
    name: Box<str>,
    parent: u32,
    /// Group indexes this resource names, sorted (empty: no gate of its own).
    groups: Box<[u32]>,
    /// The nearest resource, itself included, that names groups.
    gate_from: u32,
    /// Actions that need review here, with the number of approvals.
    review: Box<[Action]>,
    /// The nearest resource, itself included, with a review policy.
    policy_from: u32,
    rules: Box<[Rule]>,
}

#[derive(Clone)]
struct Group {
    name: Box<str>,
    /// Org-scoped rules naming this group: (role, rule id).
    org_rules: Box<[(u32, i64)]>,
}

/// (user, resource, action) of an approved request.
type GrantKey = (i64, u32, Action);

/// Approved requests by what they allow: (request id, expiry), by id.
type Grants = FxHashMap<GrantKey, Box<[(i64, i64)]>>;

/// Members and emails are split into this many shards, so that applying a
/// change to one member copies one shard (a few hundred members), not the
/// whole org.
const SHARDS: usize = 256;

fn shard_of<K: Hash + ?Sized>(key: &K) -> usize {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    (h.finish() >> 32) as usize % SHARDS
}

type Shards<K, V> = Box<[Arc<FxHashMap<K, V>>]>;

fn empty_shards<K, V>() -> Shards<K, V> {
    (0..SHARDS)
        .map(|_| Arc::new(FxHashMap::default()))
        .collect()
}

/// One org's compiled access state. See the crate documentation.
///
/// Its parts sit behind reference counts: [`OrgIndex::apply`] makes the
/// next index by copying only the parts a change touched, and readers of
/// the previous index keep theirs.
#[derive(Clone)]
pub struct OrgIndex {
    revision: i64,
    /// The catalog the index was built with: a role's new definition is
    /// read against it ([`Delta::Role`]).
    catalog: Arc<roster_domain::Catalog>,
    types: Arc<[TypeInfo]>,
    type_ids: Arc<FxHashMap<Box<str>, u16>>,
    /// `type:action` and management permission names to actions.
    actions: Arc<FxHashMap<Box<str>, Action>>,
    roles: Arc<[CompiledRole]>,
    role_ids: Arc<FxHashMap<Box<str>, u32>>,
    /// By user id, sharded by [`shard_of`].
    members: Shards<i64, Member>,
    /// By email, sharded by [`shard_of`].
    emails: Shards<Box<str>, i64>,
    groups: Arc<Vec<Group>>,
    /// Stored group ids to group indexes.
    group_ids: Arc<FxHashMap<i64, u32>>,
    resources: Arc<Vec<Arc<Resource>>>,
    /// Stored resource ids to resource indexes.
    resource_ids: Arc<FxHashMap<i64, u32>>,
    /// `type/name` to resource.
    resource_keys: Arc<FxHashMap<Box<str>, u32>>,
    /// Approved requests: (user, resource, action) to (request id, expiry),
    /// by request id.
    grants: Arc<Grants>,
}

impl OrgIndex {
    /// The org revision the facts were read at.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Resolves `type:action` (or a management permission name).
    #[inline]
    pub fn action(&self, name: &str) -> Option<Action> {
        self.actions.get(name).copied()
    }

    /// Resolves `type/name`.
    #[inline]
    pub fn resource(&self, key: &str) -> Option<ResourceId> {
        self.resource_keys.get(key).map(|&i| ResourceId(i))
    }

    /// The user id of the member with this email (lower-cased, trimmed).
    #[inline]
    pub fn user_by_email(&self, email: &str) -> Option<i64> {
        self.emails[shard_of(email)].get(email).copied()
    }

    pub fn is_member(&self, user_id: i64) -> bool {
        self.member(user_id).is_some()
    }

    #[inline]
    fn member(&self, user_id: i64) -> Option<&Member> {
        self.members[shard_of(&user_id)].get(&user_id)
    }

    /// How many members the index holds.
    pub fn member_count(&self) -> usize {
        self.members.iter().map(|s| s.len()).sum()
    }

    /// Decides whether `user_id` may do `action` in the org, or on
    /// `resource` when given, at time `now_ms`. The four steps of SPEC §1
    /// in order; the first that fails names the reason.
    pub fn check(
        &self,
        user_id: i64,
        action: Action,
        resource: Option<ResourceId>,
        now_ms: i64,
    ) -> Decision {
        let Some(member) = self.member(user_id) else {
            return Decision::deny(Reason::NotMember);
        };
        if !member.active {
            return Decision::deny(Reason::Inactive);
        }
        let r = resource.map(|r| r.0);
        let request = r.and_then(|r| self.approved_request(user_id, r, action, now_ms));
        let Some(reason) = self.grant(member, action, r).or_else(|| {
            request.map(|(request, expires_at)| Reason::Request {
                request,
                expires_at,
            })
        }) else {
            return Decision::deny(Reason::NoGrant);
        };
        let Some(r) = r else {
            return Decision {
                allowed: true,
                reason,
                reviewed_by_request: None,
            };
        };
        let res = &self.resources[r as usize];
        if res.gate_from != NONE {
            let gate = &self.resources[res.gate_from as usize].groups;
            if !intersects(&member.groups, gate) && !self.org_bypass(member) {
                return Decision::deny(Reason::NotInGroups {
                    gate: ResourceId(res.gate_from),
                });
            }
        }
        if res.policy_from != NONE
            && self.resources[res.policy_from as usize]
                .review
                .contains(&action)
        {
            match request {
                Some(req) => {
                    return Decision {
                        allowed: true,
                        reason,
                        reviewed_by_request: Some(req),
                    }
                }
                None => {
                    return Decision::deny(Reason::ReviewRequired {
                        policy: ResourceId(res.policy_from),
                    })
                }
            }
        }
        Decision {
            allowed: true,
            reason,
            reviewed_by_request: None,
        }
    }

    /// The first rule granting `action` to `member` at the org or at `r`
    /// and its ancestors: the org role first, then org rules for the user
    /// and their groups, then rules on the resource, nearest first.
    #[inline]
    fn grant(&self, member: &Member, action: Action, r: Option<u32>) -> Option<Reason> {
        if let Some(role) = self.roles.get(member.role as usize) {
            if role.grants(action) {
                return Some(Reason::OrgRole { role: member.role });
            }
        }
        for &(role, rule) in member.org_rules.iter() {
            if self.roles[role as usize].grants(action) {
                return Some(Reason::UserRule {
                    rule,
                    role,
                    scope: Scope::Org,
                });
            }
        }
        for &g in member.groups.iter() {
            for &(role, rule) in self.groups[g as usize].org_rules.iter() {
                if self.roles[role as usize].grants(action) {
                    return Some(Reason::GroupRule {
                        rule,
                        group: g,
                        role,
                        scope: Scope::Org,
                    });
                }
            }
        }
        let mut cur = r.unwrap_or(NONE);
        while cur != NONE {
            let res = &self.resources[cur as usize];
            for rule in res.rules.iter() {
                let subject_ok = match rule.subject {
                    RuleSubject::User(u) => u == member.user_id,
                    RuleSubject::Group(g) => member.groups.binary_search(&g).is_ok(),
                };
                if subject_ok && self.roles[rule.role as usize].grants(action) {
                    let scope = Scope::Resource(ResourceId(cur));
                    return Some(match rule.subject {
                        RuleSubject::User(_) => Reason::UserRule {
                            rule: rule.id,
                            role: rule.role,
                            scope,
                        },
                        RuleSubject::Group(group) => Reason::GroupRule {
                            rule: rule.id,
                            group,
                            role: rule.role,
                            scope,
                        },
                    });
                }
            }
            cur = res.parent;
        }
        None
    }

    /// Administrators are not locked out of their own resources: holding
    /// `owners:manage` or `access:manage` org-wide passes every gate.
    fn org_bypass(&self, member: &Member) -> bool {
        let bypass = Action::Management(ManagementPermission::OwnersManage);
        let access = Action::Management(ManagementPermission::AccessManage);
        let no_resource = None;
        self.grant(member, bypass, no_resource).is_some()
            || self.grant(member, access, no_resource).is_some()
    }

    fn approved_request(
        &self,
        user_id: i64,
        r: u32,
        action: Action,
        now_ms: i64,
    ) -> Option<(i64, i64)> {
        if self.grants.is_empty() {
            return None;
        }
        self.grants
            .get(&(user_id, r, action))?
            .iter()
            .find(|(_, expires)| *expires > now_ms)
            .copied()
    }

    /// Every permission `user_id` holds in the org, or on `resource`, by
    /// name: management permissions first, then platform actions in
    /// catalog order. Review and gates apply as in [`OrgIndex::check`].
    pub fn permissions(
        &self,
        user_id: i64,
        resource: Option<ResourceId>,
        now_ms: i64,
    ) -> Vec<(String, Decision)> {
        let mut out = Vec::new();
        for m in ManagementPermission::ALL {
            let d = self.check(user_id, Action::Management(m), resource, now_ms);
            if d.allowed {
                out.push((m.as_str().to_owned(), d));
            }
        }
        for (ti, t) in self.types.iter().enumerate() {
            for (ai, (a, class)) in t.actions.iter().enumerate() {
                let action = Action::Platform {
                    resource_type: ti as u16,
                    action: ai as u8,
                    class: *class,
                };
                let d = self.check(user_id, action, resource, now_ms);
                if d.allowed {
                    out.push((format!("{}:{a}", t.name), d));
                }
            }
        }
        out
    }

    /// The resources on which `user_id` may do `action`, in registration
    /// order, as `type/name`. For a platform action only resources of the
    /// action's type are considered.
    pub fn resources_allowed(&self, user_id: i64, action: Action, now_ms: i64) -> Vec<String> {
        let wanted_type = match action {
            Action::Platform { resource_type, .. } => Some(resource_type),
            Action::Management(_) => None,
        };
        self.resources
            .iter()
            .enumerate()
            .filter(|(_, r)| wanted_type.is_none_or(|t| t == r.resource_type))
            .filter(|(i, _)| {
                self.check(user_id, action, Some(ResourceId(*i as u32)), now_ms)
                    .allowed
            })
            .map(|(i, _)| self.resource_key(ResourceId(i as u32)))
            .collect()
    }

    /// `type/name` of a resource.
    pub fn resource_key(&self, r: ResourceId) -> String {
        let res = &self.resources[r.0 as usize];
        format!(
            "{}/{}",
            self.types[res.resource_type as usize].name, res.name
        )
    }

    /// Whether `user_id` may review a request by `requester` for something
    /// on `resource`: holds `requests:approve` there, shares a group with
    /// the resource when it names groups (no administrator bypass here),
    /// and is not the requester.
    pub fn may_review(&self, user_id: i64, requester: i64, resource: ResourceId) -> bool {
        if user_id == requester {
            return false;
        }
        let Some(member) = self.member(user_id) else {
            return false;
        };
        if !member.active {
            return false;
        }
        let approve = Action::Management(ManagementPermission::RequestsApprove);
        if self.grant(member, approve, Some(resource.0)).is_none() {
            return false;
        }
        let res = &self.resources[resource.0 as usize];
        res.gate_from == NONE
            || intersects(
                &member.groups,
                &self.resources[res.gate_from as usize].groups,
            )
    }

    /// The members who may review a request by `requester` on `resource`.
    pub fn reviewers(&self, requester: i64, resource: ResourceId) -> Vec<(i64, &str)> {
        let mut out: Vec<(i64, &str)> = self
            .members
            .iter()
            .flat_map(|s| s.values())
            .filter(|m| self.may_review(m.user_id, requester, resource))
            .map(|m| (m.user_id, &*m.email))
            .collect();
        out.sort_unstable();
        out
    }
}

/// Whether two sorted slices share an element.
#[inline]
fn intersects(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests;
