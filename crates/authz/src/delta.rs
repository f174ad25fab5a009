//! Applying one change to an [`OrgIndex`] instead of building it again.
//!
//! A [`Delta`] states the facts of one thing as they are after a change
//! (a member with their groups and every rule naming them, a group with
//! every rule naming it, an approved request, a new resource), read in the
//! change's transaction. [`OrgIndex::apply`] replaces what the index held
//! for that thing and copies only the parts it touched; the result decides
//! exactly as [`OrgIndex::build`] would from the same facts (the property
//! tests in `tests.rs` check it). A custom role's definition, new or
//! changed, and its deletion, with or without a replacement, are deltas
//! too; what a delta cannot express (the catalog) is a full build.

use crate::build::{
    nearest_gate_and_policy, GrantFact, MemberFact, ResourceFact, RuleFact, Subject,
};
use crate::{shard_of, Action, CompiledRole, Member, OrgIndex, Resource, Rule, RuleSubject, NONE};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The facts of one thing after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Delta {
    /// A user as a member of the org: `None` when not (or no longer) a
    /// member; the ids of the groups they are in; every rule naming them.
    Member {
        user_id: i64,
        member: Option<MemberFact>,
        groups: Vec<i64>,
        rules: Vec<RuleFact>,
    },
    /// A group that exists, with every rule naming it.
    Group {
        id: i64,
        name: String,
        rules: Vec<RuleFact>,
    },
    /// A review request: `Some` while it is approved.
    Grant {
        request_id: i64,
        grant: Option<GrantFact>,
    },
    /// A resource just created (no rules name it yet).
    NewResource(ResourceFact),
    /// A resource the index holds, with its parent, groups and review
    /// policy as they are now (its key does not change).
    Resource(ResourceFact),
    /// Resources deleted (a resource with everything below it). The rules
    /// on them and the requests for them went with them.
    ResourcesRemoved { ids: Vec<i64> },
    /// A group deleted, with the users who were in it. The rules naming it
    /// went with it; a group that gates a resource cannot be deleted.
    GroupRemoved { id: i64, members: Vec<i64> },
    /// A custom role with its permissions as stored (the space-separated
    /// list, read against the index's catalog as a build reads it), or
    /// `None` once it is deleted while no member or rule held it.
    Role {
        name: String,
        permissions: Option<String>,
    },
    /// A custom role deleted after every member and rule holding it was
    /// moved to role `by` (which exists).
    RoleReplaced { name: String, by: String },
}

impl OrgIndex {
    /// The index after the change that moved the org to `revision`, made
    /// of `deltas`; `None` when a delta cannot be applied (the caller then
    /// builds afresh). The index itself is left as it was.
    pub fn apply(&self, revision: i64, deltas: &[Delta]) -> Option<OrgIndex> {
        let mut next = self.clone();
        for d in deltas {
            match d {
                Delta::Member {
                    user_id,
                    member,
                    groups,
                    rules,
                } => next.apply_member(*user_id, member.as_ref(), groups, rules)?,
                Delta::Group { id, name, rules } => next.apply_group(*id, name, rules)?,
                Delta::Grant { request_id, grant } => next.apply_grant(*request_id, grant.as_ref()),
                Delta::NewResource(r) => next.apply_new_resource(r)?,
                Delta::GroupRemoved { id, members } => next.apply_group_removed(*id, members)?,
                Delta::Resource(r) => next.apply_resource(r)?,
                Delta::ResourcesRemoved { ids } => next.apply_resources_removed(ids),
                Delta::Role { name, permissions } => {
                    next.apply_role(name, permissions.as_deref())?
                }
                Delta::RoleReplaced { name, by } => next.apply_role_replaced(name, by)?,
            }
        }
        next.revision = revision;
        Some(next)
    }

    /// Gives custom role `name` its new permissions, or none once it is
    /// deleted, in every slot compiled from it (every member and rule
    /// holding the role points at one of them): a new role takes the slot
    /// its name already holds if a member or rule named it before it was
    /// defined, or a new one. A built-in role asks for a full build.
    fn apply_role(&mut self, name: &str, permissions: Option<&str>) -> Option<()> {
        let slot = self.role_slot(name);
        if self.is_builtin_slot(slot) {
            return None;
        }
        let p = permissions
            .map(|list| roster_domain::RolePermissions::from_stored(list, &self.catalog))
            .unwrap_or_default();
        let compiled = crate::build::compile_role(&self.types, name, &p);
        self.recompile(name, &compiled);
        Some(())
    }

    /// Custom role `name` deleted after its holders moved to role `by`:
    /// every slot compiled from `name` becomes a copy of `by`'s (named
    /// `by`, so that `by`'s next definition reaches them too), and the name
    /// is let go, so that a role defined again under it starts with no
    /// holders. `by` must be a role the index holds.
    fn apply_role_replaced(&mut self, name: &str, by: &str) -> Option<()> {
        let &to = self.role_ids.get(by)?;
        let &from = self.role_ids.get(name)?;
        if self.is_builtin_slot(from) || name == by {
            return None;
        }
        let compiled = self.roles[to as usize].clone();
        self.recompile(name, &compiled);
        Arc::make_mut(&mut self.role_ids).remove(name);
        Some(())
    }

    /// The built-in roles hold the first slots (`build`).
    fn is_builtin_slot(&self, slot: u32) -> bool {
        (slot as usize) < roster_domain::BuiltinRole::ALL.len()
    }

    /// Puts `compiled` in every slot compiled from role `name`.
    fn recompile(&mut self, name: &str, compiled: &CompiledRole) {
        let mut roles = self.roles.to_vec();
        for r in roles.iter_mut().filter(|r| &*r.name == name) {
            *r = compiled.clone();
        }
        self.roles = roles.into();
    }

    /// The slot of role `name`: one that grants nothing, made now, when
    /// the index holds no role of that name (as `build` does for a name a
    /// member or rule holds but no role defines), so that the role's
    /// definition, should it come, reaches them.
    fn role_slot(&mut self, name: &str) -> u32 {
        if let Some(&slot) = self.role_ids.get(name) {
            return slot;
        }
        let slot = self.roles.len() as u32;
        let mut roles = self.roles.to_vec();
        roles.push(crate::build::compile_role(
            &self.types,
            name,
            &roster_domain::RolePermissions::default(),
        ));
        self.roles = roles.into();
        Arc::make_mut(&mut self.role_ids).insert(Box::from(name), slot);
        slot
    }

    /// Sorted rules of `rules` that name `subject`, split into org-wide
    /// ones and ones on a resource the index knows, as `build` places them.
    #[allow(clippy::type_complexity)]
    fn place_rules(
        &mut self,
        rules: &[RuleFact],
        subject: Subject,
        as_subject: RuleSubject,
    ) -> (Vec<(u32, i64)>, Vec<(u32, Rule)>) {
        let mut sorted: Vec<&RuleFact> = rules.iter().filter(|r| r.subject == subject).collect();
        sorted.sort_by_key(|r| r.id);
        let (mut org, mut on_resources) = (Vec::new(), Vec::new());
        for r in sorted {
            let role = self.role_slot(&r.role);
            match r.resource_id {
                None => org.push((role, r.id)),
                Some(res) => {
                    if let Some(&ri) = self.resource_ids.get(&res) {
                        on_resources.push((
                            ri,
                            Rule {
                                id: r.id,
                                subject: as_subject,
                                role,
                            },
                        ));
                    }
                }
            }
        }
        (org, on_resources)
    }

    /// Replaces the rules of `subject` on every resource with `new`,
    /// copying only the resources whose rules differ.
    fn replace_resource_rules(&mut self, subject: RuleSubject, new: Vec<(u32, Rule)>) {
        let mut affected: FxHashSet<u32> = new.iter().map(|(ri, _)| *ri).collect();
        for (i, r) in self.resources.iter().enumerate() {
            if r.rules.iter().any(|x| x.subject == subject) {
                affected.insert(i as u32);
            }
        }
        let mut changed: Vec<(u32, Box<[Rule]>)> = Vec::new();
        for ri in affected {
            let current = &self.resources[ri as usize].rules;
            let mut rules: Vec<Rule> = current
                .iter()
                .filter(|x| x.subject != subject)
                .cloned()
                .collect();
            rules.extend(
                new.iter()
                    .filter(|(r, _)| *r == ri)
                    .map(|(_, rule)| rule.clone()),
            );
            rules.sort_by_key(|r| r.id);
            if rules[..] != current[..] {
                changed.push((ri, rules.into_boxed_slice()));
            }
        }
        if changed.is_empty() {
            return;
        }
        let resources = Arc::make_mut(&mut self.resources);
        for (ri, rules) in changed {
            Arc::make_mut(&mut resources[ri as usize]).rules = rules;
        }
    }

    fn apply_member(
        &mut self,
        user_id: i64,
        member: Option<&MemberFact>,
        groups: &[i64],
        rules: &[RuleFact],
    ) -> Option<()> {
        let mut group_indexes = Vec::with_capacity(groups.len());
        for g in groups {
            group_indexes.push(*self.group_ids.get(g)?);
        }
        group_indexes.sort_unstable();
        group_indexes.dedup();
        let (org_rules, on_resources) =
            self.place_rules(rules, Subject::User(user_id), RuleSubject::User(user_id));
        self.replace_resource_rules(RuleSubject::User(user_id), on_resources);

        let shard = Arc::make_mut(&mut self.members[shard_of(&user_id)]);
        if let Some(old) = shard.remove(&user_id) {
            let emails = Arc::make_mut(&mut self.emails[shard_of(&*old.email)]);
            if emails.get(&old.email) == Some(&user_id) {
                emails.remove(&old.email);
            }
        }
        if let Some(m) = member {
            let email: Box<str> = Box::from(m.email.as_str());
            Arc::make_mut(&mut self.emails[shard_of(&*email)]).insert(email.clone(), user_id);
            let role = self.role_slot(&m.role);
            Arc::make_mut(&mut self.members[shard_of(&user_id)]).insert(
                user_id,
                Member {
                    user_id,
                    email,
                    active: m.active,
                    role,
                    groups: group_indexes.into_boxed_slice(),
                    org_rules: org_rules.into_boxed_slice(),
                },
            );
        }
        Some(())
    }

    fn apply_group(&mut self, id: i64, name: &str, rules: &[RuleFact]) -> Option<()> {
        let gi = match self.group_ids.get(&id) {
            Some(&gi) => gi,
            None => {
                // Groups are indexed in id order; a new group comes last.
                if self.group_ids.keys().any(|&k| k > id) {
                    return None;
                }
                let gi = self.groups.len() as u32;
                Arc::make_mut(&mut self.groups).push(crate::Group {
                    name: Box::from(name),
                    org_rules: Box::new([]),
                });
                Arc::make_mut(&mut self.group_ids).insert(id, gi);
                gi
            }
        };
        let (org_rules, on_resources) =
            self.place_rules(rules, Subject::Group(id), RuleSubject::Group(gi));
        self.replace_resource_rules(RuleSubject::Group(gi), on_resources);
        let group = &mut Arc::make_mut(&mut self.groups)[gi as usize];
        group.name = Box::from(name);
        group.org_rules = org_rules.into_boxed_slice();
        Some(())
    }

    /// Forgets group `id`: its rules, and its place in its members' groups.
    /// Its slot stays, unnamed and without rules, so that the indexes of
    /// the groups after it (in members, rules and gates) stay as they are;
    /// a full build leaves it out. `None` when a resource names it as its
    /// gate (the stored facts allow no such deletion).
    fn apply_group_removed(&mut self, id: i64, members: &[i64]) -> Option<()> {
        let Some(&gi) = self.group_ids.get(&id) else {
            return Some(());
        };
        if self.resources.iter().any(|r| r.groups.contains(&gi)) {
            return None;
        }
        self.replace_resource_rules(RuleSubject::Group(gi), Vec::new());
        for user_id in members {
            let shard = &mut self.members[shard_of(user_id)];
            if !shard.get(user_id).is_some_and(|m| m.groups.contains(&gi)) {
                continue;
            }
            if let Some(m) = Arc::make_mut(shard).get_mut(user_id) {
                m.groups = m.groups.iter().copied().filter(|&g| g != gi).collect();
            }
        }
        let group = &mut Arc::make_mut(&mut self.groups)[gi as usize];
        group.name = Box::from("");
        group.org_rules = Box::new([]);
        Arc::make_mut(&mut self.group_ids).remove(&id);
        Some(())
    }

    fn apply_grant(&mut self, request_id: i64, grant: Option<&GrantFact>) {
        let key = grant.and_then(|g| {
            Some((
                g.user_id,
                *self.resource_ids.get(&g.resource_id)?,
                self.action(&g.action)?,
            ))
        });
        let held = self
            .grants
            .iter()
            .any(|(_, v)| v.iter().any(|(id, _)| *id == request_id));
        if !held && key.is_none() {
            return;
        }
        let grants = Arc::make_mut(&mut self.grants);
        if held {
            grants.retain(|_, v| {
                if v.iter().any(|(id, _)| *id == request_id) {
                    *v = v
                        .iter()
                        .filter(|(id, _)| *id != request_id)
                        .copied()
                        .collect();
                }
                !v.is_empty()
            });
        }
        if let (Some(key), Some(g)) = (key, grant) {
            let mut list: Vec<(i64, i64)> = grants.remove(&key).map(Vec::from).unwrap_or_default();
            list.push((request_id, g.expires_at));
            list.sort_unstable();
            grants.insert(key, list.into_boxed_slice());
        }
    }

    /// The groups a resource names, as `build` places them: a list that
    /// names only groups the index lacks still gates (it admits only
    /// administrators).
    fn place_gate(&self, named: &[i64]) -> Vec<u32> {
        let mut groups: Vec<u32> = named
            .iter()
            .filter_map(|g| self.group_ids.get(g).copied())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        if groups.is_empty() && !named.is_empty() {
            groups.push(NONE);
        }
        groups
    }

    /// Changes a resource's parent, groups and review policy, then the
    /// nearest gate and policy of every resource (a move or a new gate
    /// reaches everything below). `None` when the index does not hold the
    /// resource, or the new parent would make a cycle (storage refuses
    /// both).
    fn apply_resource(&mut self, r: &ResourceFact) -> Option<()> {
        if !self.type_ids.contains_key(r.resource_type.as_str()) {
            // `build` leaves out resources of types the catalog lacks.
            return Some(());
        }
        let ri = *self.resource_ids.get(&r.id)?;
        let parent = match r.parent_id {
            Some(p) => *self.resource_ids.get(&p)?,
            None => NONE,
        };
        // The walk up from the new parent is bounded like `build`'s, so
        // that no tree the index holds can keep it going.
        let mut cur = parent;
        let mut steps = 0;
        while cur != NONE {
            if cur == ri || steps > self.resources.len() {
                return None;
            }
            cur = self.resources[cur as usize].parent;
            steps += 1;
        }
        let groups = self.place_gate(&r.groups).into_boxed_slice();
        let review: Box<[Action]> = r
            .review_actions
            .iter()
            .filter_map(|a| self.action(a))
            .collect();
        let resources = Arc::make_mut(&mut self.resources);
        let res = Arc::make_mut(&mut resources[ri as usize]);
        res.parent = parent;
        res.groups = groups;
        res.review = review;
        self.place_gates_and_policies();
        Some(())
    }

    /// Forgets deleted resources: their keys, and the grants for them.
    /// Their slots stay, empty, so that the indexes of the others stay as
    /// they are; nothing left points at them (what was below a deleted
    /// resource was deleted with it, and a full build leaves them out).
    fn apply_resources_removed(&mut self, ids: &[i64]) {
        let gone: FxHashSet<u32> = ids
            .iter()
            .filter_map(|id| self.resource_ids.get(id).copied())
            .collect();
        if gone.is_empty() {
            return;
        }
        let resource_ids = Arc::make_mut(&mut self.resource_ids);
        for id in ids {
            resource_ids.remove(id);
        }
        Arc::make_mut(&mut self.resource_keys).retain(|_, ri| !gone.contains(ri));
        if self.grants.keys().any(|(_, ri, _)| gone.contains(ri)) {
            Arc::make_mut(&mut self.grants).retain(|(_, ri, _), _| !gone.contains(ri));
        }
        let resources = Arc::make_mut(&mut self.resources);
        for &ri in &gone {
            let res = Arc::make_mut(&mut resources[ri as usize]);
            res.parent = NONE;
            res.groups = Box::new([]);
            res.review = Box::new([]);
            res.rules = Box::new([]);
        }
        // A resource below one deleted would have been deleted with it;
        // should one be left, it loses the gate and policy it inherited
        // as a full build would (its parent no longer exists).
        for r in resources.iter_mut() {
            if r.parent != NONE && gone.contains(&r.parent) {
                Arc::make_mut(r).parent = NONE;
            }
        }
        self.place_gates_and_policies();
    }

    /// Sets every resource's nearest gate and policy from the tree, as
    /// `build` does, copying only the resources whose pointers change.
    fn place_gates_and_policies(&mut self) {
        let mut changed: Vec<(usize, u32, u32)> = Vec::new();
        for (i, r) in self.resources.iter().enumerate() {
            let (gate, policy) = nearest_gate_and_policy(&self.resources, i);
            if (gate, policy) != (r.gate_from, r.policy_from) {
                changed.push((i, gate, policy));
            }
        }
        if changed.is_empty() {
            return;
        }
        let resources = Arc::make_mut(&mut self.resources);
        for (i, gate, policy) in changed {
            let res = Arc::make_mut(&mut resources[i]);
            res.gate_from = gate;
            res.policy_from = policy;
        }
    }

    fn apply_new_resource(&mut self, r: &ResourceFact) -> Option<()> {
        if self.resource_ids.contains_key(&r.id) || self.resource_ids.keys().any(|&k| k > r.id) {
            return None;
        }
        let Some(&resource_type) = self.type_ids.get(r.resource_type.as_str()) else {
            // `build` leaves out resources of types the catalog lacks.
            return Some(());
        };
        let groups = self.place_gate(&r.groups);
        let review: Vec<Action> = r
            .review_actions
            .iter()
            .filter_map(|a| self.action(a))
            .collect();
        let parent = r
            .parent_id
            .and_then(|p| self.resource_ids.get(&p).copied())
            .unwrap_or(NONE);
        let index = self.resources.len() as u32;
        let from_parent = |f: fn(&Resource) -> u32| {
            if parent == NONE {
                NONE
            } else {
                f(&self.resources[parent as usize])
            }
        };
        let gate_from = if groups.is_empty() {
            from_parent(|p| p.gate_from)
        } else {
            index
        };
        let policy_from = if review.is_empty() {
            from_parent(|p| p.policy_from)
        } else {
            index
        };
        Arc::make_mut(&mut self.resource_keys).insert(
            format!("{}/{}", r.resource_type, r.name).into_boxed_str(),
            index,
        );
        Arc::make_mut(&mut self.resource_ids).insert(r.id, index);
        Arc::make_mut(&mut self.resources).push(Arc::new(Resource {
            resource_type,
            name: Box::from(r.name.as_str()),
            parent,
            groups: groups.into_boxed_slice(),
            gate_from,
            review: review.into_boxed_slice(),
            policy_from,
            rules: Box::new([]),
        }));
        Some(())
    }
}
