//! Building an [`OrgIndex`] from plain facts.

use crate::{
    empty_shards, shard_of, Action, CompiledRole, Group, Member, OrgIndex, Resource, Rule,
    RuleSubject, TypeInfo, NONE,
};
use roster_domain::{BuiltinRole, Catalog, ManagementPermission, RolePermissions};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::sync::Arc;

/// Everything the engine needs to know about one org, as read from storage.
#[derive(Debug, Clone, Default)]
pub struct OrgState {
    /// The org's revision when the facts were read.
    pub revision: i64,
    pub catalog: Catalog,
    /// Custom roles (built-in roles are always present).
    pub roles: Vec<RoleFact>,
    pub members: Vec<MemberFact>,
    pub groups: Vec<GroupFact>,
    /// (group id, user id).
    pub group_members: Vec<(i64, i64)>,
    pub resources: Vec<ResourceFact>,
    pub rules: Vec<RuleFact>,
    /// Approved review requests that have not expired.
    pub grants: Vec<GrantFact>,
}

#[derive(Debug, Clone)]
pub struct RoleFact {
    pub name: String,
    pub permissions: RolePermissions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberFact {
    pub user_id: i64,
    pub email: String,
    /// The membership is active and the account is not disabled.
    pub active: bool,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFact {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceFact {
    pub id: i64,
    pub resource_type: String,
    pub name: String,
    pub parent_id: Option<i64>,
    /// Group ids the resource names.
    pub groups: Vec<i64>,
    /// Actions (`type:action`) that need review on this resource and its
    /// descendants that have no policy of their own. (How many approvals
    /// a request needs is decided with the request, in the database.)
    pub review_actions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    User(i64),
    Group(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFact {
    pub id: i64,
    pub subject: Subject,
    pub role: String,
    /// `None` for an org-wide rule.
    pub resource_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantFact {
    pub request_id: i64,
    pub user_id: i64,
    pub resource_id: i64,
    /// `type:action`.
    pub action: String,
    pub expires_at: i64,
}

/// The nearest resource, `i` itself included, that names groups, and the
/// nearest with a review policy (`NONE` when there is none): a walk up the
/// tree of at most as many steps as there are resources, so that facts
/// holding a cycle cannot hold it.
pub(crate) fn nearest_gate_and_policy<R: Borrow<Resource>>(
    resources: &[R],
    i: usize,
) -> (u32, u32) {
    let limit = resources.len();
    let (mut gate, mut policy) = (NONE, NONE);
    let mut cur = i as u32;
    let mut steps = 0;
    while cur != NONE && steps <= limit && (gate == NONE || policy == NONE) {
        let res: &Resource = resources[cur as usize].borrow();
        if gate == NONE && !res.groups.is_empty() {
            gate = cur;
        }
        if policy == NONE && !res.review.is_empty() {
            policy = cur;
        }
        cur = res.parent;
        steps += 1;
    }
    (gate, policy)
}

impl OrgIndex {
    /// Compiles `state`. Facts that point nowhere (a rule on a deleted
    /// resource, a role name that no longer exists) grant nothing: the
    /// index fails closed.
    pub fn build(state: OrgState) -> OrgIndex {
        let catalog = state.catalog;

        // Types and actions, interned in catalog order.
        let mut types = Vec::new();
        let mut actions: FxHashMap<Box<str>, Action> = FxHashMap::default();
        let mut type_ids: FxHashMap<&str, u16> = FxHashMap::default();
        for (ti, t) in catalog.types().enumerate() {
            let list: Vec<(Box<str>, roster_domain::ActionClass)> = catalog
                .actions(t)
                .into_iter()
                .flatten()
                .map(|(a, c)| (Box::from(a), c))
                .collect();
            for (ai, (a, class)) in list.iter().enumerate() {
                actions.insert(
                    format!("{t}:{a}").into_boxed_str(),
                    Action::Platform {
                        resource_type: ti as u16,
                        action: ai as u8,
                        class: *class,
                    },
                );
            }
            type_ids.insert(t, ti as u16);
            types.push(TypeInfo {
                name: Box::from(t),
                actions: list.into_boxed_slice(),
            });
        }
        for m in ManagementPermission::ALL {
            actions.insert(Box::from(m.as_str()), Action::Management(m));
        }

        // Roles: the built-in ones, then the org's own, then a slot that
        // grants nothing for each name a member or rule holds that is not
        // defined (`role_slot`).
        let compile = |name: &str, p: &RolePermissions| compile_role(&types, name, p);
        let mut roles: Vec<CompiledRole> = BuiltinRole::ALL
            .iter()
            .map(|b| compile(b.name(), b.role().permissions()))
            .collect();
        roles.extend(state.roles.iter().map(|r| compile(&r.name, &r.permissions)));
        let mut role_ids: FxHashMap<Box<str>, u32> = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i as u32))
            .collect();
        let mut role_id = |name: &str| match role_ids.get(name) {
            Some(&i) => i,
            None => {
                let i = roles.len() as u32;
                roles.push(compile_role(&types, name, &RolePermissions::default()));
                role_ids.insert(Box::from(name), i);
                i
            }
        };

        // Groups.
        let group_ids: FxHashMap<i64, u32> = state
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id, i as u32))
            .collect();
        let mut group_org_rules: Vec<Vec<(u32, i64)>> = vec![Vec::new(); state.groups.len()];

        // Members.
        let mut member_groups: FxHashMap<i64, Vec<u32>> = FxHashMap::default();
        for &(g, u) in &state.group_members {
            if let Some(&gi) = group_ids.get(&g) {
                member_groups.entry(u).or_default().push(gi);
            }
        }
        let mut member_org_rules: FxHashMap<i64, Vec<(u32, i64)>> = FxHashMap::default();

        // Resources, then their derived gate and policy pointers.
        let resource_db_ids: FxHashMap<i64, u32> = state
            .resources
            .iter()
            .filter(|r| type_ids.contains_key(r.resource_type.as_str()))
            .enumerate()
            .map(|(i, r)| (r.id, i as u32))
            .collect();
        let mut resource_rules: Vec<Vec<Rule>> =
            (0..resource_db_ids.len()).map(|_| Vec::new()).collect();
        for rule in &state.rules {
            let role = role_id(&rule.role);
            match (rule.resource_id, rule.subject) {
                (None, Subject::User(u)) => {
                    member_org_rules.entry(u).or_default().push((role, rule.id))
                }
                (None, Subject::Group(g)) => {
                    if let Some(&gi) = group_ids.get(&g) {
                        group_org_rules[gi as usize].push((role, rule.id));
                    }
                }
                (Some(r), subject) => {
                    let Some(&ri) = resource_db_ids.get(&r) else {
                        continue;
                    };
                    let subject = match subject {
                        Subject::User(u) => RuleSubject::User(u),
                        Subject::Group(g) => match group_ids.get(&g) {
                            Some(&gi) => RuleSubject::Group(gi),
                            None => continue,
                        },
                    };
                    resource_rules[ri as usize].push(Rule {
                        id: rule.id,
                        subject,
                        role,
                    });
                }
            }
        }

        let mut resources: Vec<Resource> = Vec::with_capacity(resource_db_ids.len());
        let mut resource_keys: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut rules_iter = resource_rules.into_iter();
        for r in state
            .resources
            .iter()
            .filter(|r| type_ids.contains_key(r.resource_type.as_str()))
        {
            let resource_type = type_ids.get(r.resource_type.as_str()).copied().unwrap_or(0);
            let mut groups: Vec<u32> = r
                .groups
                .iter()
                .filter_map(|g| group_ids.get(g).copied())
                .collect();
            groups.sort_unstable();
            groups.dedup();
            let review: Vec<Action> = r
                .review_actions
                .iter()
                .filter_map(|a| actions.get(a.as_str()).copied())
                .collect();
            let index = resources.len() as u32;
            resource_keys.insert(
                format!("{}/{}", r.resource_type, r.name).into_boxed_str(),
                index,
            );
            resources.push(Resource {
                resource_type,
                name: Box::from(r.name.as_str()),
                parent: r
                    .parent_id
                    .and_then(|p| resource_db_ids.get(&p).copied())
                    .unwrap_or(NONE),
                // A group list that names only deleted groups still gates:
                // it admits nobody but administrators.
                gate_from: NONE,
                groups: if groups.is_empty() && !r.groups.is_empty() {
                    vec![NONE].into_boxed_slice()
                } else {
                    groups.into_boxed_slice()
                },
                policy_from: NONE,
                review: review.into_boxed_slice(),
                rules: rules_iter.next().unwrap_or_default().into_boxed_slice(),
            });
        }
        // Storage refuses cycles; should facts hold one anyway, cut it so
        // that every walk up the tree ends.
        let limit = resources.len();
        for i in 0..resources.len() {
            let mut cur = resources[i].parent;
            let mut steps = 0;
            while cur != NONE && steps <= limit {
                cur = resources[cur as usize].parent;
                steps += 1;
            }
            if cur != NONE {
                resources[i].parent = NONE;
            }
        }
        // Nearest gate and policy.
        for i in 0..resources.len() {
            let (gate, policy) = nearest_gate_and_policy(&resources, i);
            resources[i].gate_from = gate;
            resources[i].policy_from = policy;
        }

        let mut members = empty_shards::<i64, Member>();
        let mut emails = empty_shards::<Box<str>, i64>();
        for m in state.members {
            let mut groups = member_groups.remove(&m.user_id).unwrap_or_default();
            groups.sort_unstable();
            groups.dedup();
            let email: Box<str> = m.email.into_boxed_str();
            Arc::make_mut(&mut emails[shard_of(&*email)]).insert(email.clone(), m.user_id);
            Arc::make_mut(&mut members[shard_of(&m.user_id)]).insert(
                m.user_id,
                Member {
                    user_id: m.user_id,
                    email,
                    active: m.active,
                    role: role_id(&m.role),
                    groups: groups.into_boxed_slice(),
                    org_rules: member_org_rules
                        .remove(&m.user_id)
                        .unwrap_or_default()
                        .into_boxed_slice(),
                },
            );
        }

        let mut grants: FxHashMap<crate::GrantKey, Vec<(i64, i64)>> = FxHashMap::default();
        for g in &state.grants {
            let (Some(&r), Some(&a)) = (
                resource_db_ids.get(&g.resource_id),
                actions.get(g.action.as_str()),
            ) else {
                continue;
            };
            grants
                .entry((g.user_id, r, a))
                .or_default()
                .push((g.request_id, g.expires_at));
        }

        let groups = state
            .groups
            .into_iter()
            .zip(group_org_rules)
            .map(|(g, rules)| Group {
                name: g.name.into_boxed_str(),
                org_rules: rules.into_boxed_slice(),
            })
            .collect();
        let type_ids = type_ids
            .into_iter()
            .map(|(t, i)| (Box::from(t), i))
            .collect();

        OrgIndex {
            revision: state.revision,
            catalog: Arc::new(catalog),
            types: types.into(),
            type_ids: Arc::new(type_ids),
            actions: Arc::new(actions),
            roles: roles.into(),
            role_ids: Arc::new(role_ids),
            members,
            emails,
            groups: Arc::new(groups),
            group_ids: Arc::new(group_ids),
            resources: Arc::new(resources.into_iter().map(Arc::new).collect()),
            resource_ids: Arc::new(resource_db_ids),
            resource_keys: Arc::new(resource_keys),
            grants: Arc::new(
                grants
                    .into_iter()
                    .map(|(k, mut v)| {
                        v.sort_unstable();
                        (k, v.into_boxed_slice())
                    })
                    .collect(),
            ),
        }
    }
}

/// A role's permissions as bit sets over the index's actions: management
/// permissions, and per resource type (in `types`' order) the actions it
/// grants.
pub(crate) fn compile_role(types: &[TypeInfo], name: &str, p: &RolePermissions) -> CompiledRole {
    CompiledRole {
        name: Box::from(name),
        management: p.management.bits(),
        actions: types
            .iter()
            .map(|t| {
                t.actions
                    .iter()
                    .enumerate()
                    .filter(|(_, (a, c))| p.grants_platform(&t.name, a, *c))
                    .fold(0u64, |bits, (i, _)| bits | (1u64 << i))
            })
            .collect(),
    }
}
