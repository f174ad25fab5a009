use super::*;
use roster_domain::{Catalog, RolePermissions};

const ALICE: i64 = 1; // owner
const BOB: i64 = 2; // viewer, in group dev
const CAROL: i64 = 3; // viewer, in no group
const DAVE: i64 = 4; // contributor, disabled
const ERIN: i64 = 5; // viewer, in group support, reviewer via rule
const DEV: i64 = 10;
const SUPPORT: i64 = 11;
const PROJECT: i64 = 100;
const ENV: i64 = 101;
const CLUSTER: i64 = 102;
const TARGET: i64 = 103;

fn member(user_id: i64, role: &str, active: bool) -> MemberFact {
    MemberFact {
        user_id,
        email: format!("u{user_id}@example.com"),
        active,
        role: role.into(),
    }
}

fn resource(id: i64, key: &str, parent: Option<i64>) -> ResourceFact {
    let (t, n) = key.split_once('/').unwrap();
    ResourceFact {
        id,
        resource_type: t.into(),
        name: n.into(),
        parent_id: parent,
        groups: vec![],
        review_actions: vec![],
    }
}

fn state() -> OrgState {
    let catalog = Catalog::default_catalog();
    let devops = RolePermissions::parse(
        &[
            "application-catalogs:*",
            "applications:*",
            "environments:*",
            "environment-types:*",
            "clusters:*",
            "cluster-types:*",
            "git-credentials:*",
        ],
        &catalog,
    )
    .unwrap();
    let reviewer = RolePermissions::parse(&["requests:approve"], &catalog).unwrap();
    let mut target = resource(TARGET, "targets/prod-db", Some(ENV));
    target.groups = vec![DEV, SUPPORT];
    let mut env = resource(ENV, "environments/payments-prod", Some(PROJECT));
    env.review_actions = vec!["clusters:deploy".into()];
    OrgState {
        revision: 7,
        catalog,
        roles: vec![
            RoleFact {
                name: "devops".into(),
                permissions: devops,
            },
            RoleFact {
                name: "reviewer".into(),
                permissions: reviewer,
            },
        ],
        members: vec![
            member(ALICE, "owner", true),
            member(BOB, "viewer", true),
            member(CAROL, "viewer", true),
            member(DAVE, "contributor", false),
            member(ERIN, "viewer", true),
        ],
        groups: vec![
            GroupFact {
                id: DEV,
                name: "dev".into(),
            },
            GroupFact {
                id: SUPPORT,
                name: "support".into(),
            },
        ],
        group_members: vec![(DEV, BOB), (SUPPORT, ERIN)],
        resources: vec![
            resource(PROJECT, "projects/payments", None),
            env,
            resource(CLUSTER, "clusters/eu-1", Some(ENV)),
            target,
        ],
        rules: vec![
            RuleFact {
                id: 500,
                subject: Subject::Group(DEV),
                role: "devops".into(),
                resource_id: Some(PROJECT),
            },
            RuleFact {
                id: 501,
                subject: Subject::User(ERIN),
                role: "reviewer".into(),
                resource_id: Some(PROJECT),
            },
            RuleFact {
                id: 502,
                subject: Subject::User(CAROL),
                role: "no-such-role".into(),
                resource_id: None,
            },
        ],
        grants: vec![],
    }
}

fn check(ix: &OrgIndex, user: i64, action: &str, resource: Option<&str>) -> Decision {
    let a = ix.action(action).unwrap();
    let r = resource.map(|k| ix.resource(k).unwrap());
    ix.check(user, a, r, 1_000)
}

fn why(ix: &OrgIndex, user: i64, action: &str, resource: Option<&str>) -> String {
    let a = ix.action(action).unwrap();
    let r = resource.map(|k| ix.resource(k).unwrap());
    ix.explain(&ix.check(user, a, r, 1_000), a, r)
}

#[test]
fn built_in_roles_follow_the_classes_on_every_type() {
    let ix = OrgIndex::build(state());
    assert!(check(&ix, BOB, "secrets:reveal", None).allowed);
    assert!(!check(&ix, BOB, "secrets:create", None).allowed);
    assert!(check(&ix, ALICE, "policies:enforce", None).allowed);
    assert_eq!(
        check(&ix, ALICE, "clusters:read", None).reason,
        Reason::OrgRole { role: 0 }
    );
    assert_eq!(
        why(&ix, ALICE, "clusters:read", None),
        "allowed by the org-wide role owner"
    );
}

#[test]
fn a_types_added_later_are_covered_by_built_in_roles() {
    let mut s = state();
    s.catalog
        .add("databases", "backup", roster_domain::ActionClass::Write)
        .unwrap();
    let ix = OrgIndex::build(s);
    assert!(check(&ix, ALICE, "databases:backup", None).allowed);
    assert!(!check(&ix, BOB, "databases:backup", None).allowed);
}

#[test]
fn a_rule_on_a_resource_covers_its_descendants_only() {
    let ix = OrgIndex::build(state());
    let d = check(&ix, BOB, "clusters:update", Some("clusters/eu-1"));
    assert!(d.allowed);
    assert_eq!(d.reason.rule_id(), Some(500));
    assert_eq!(
        why(&ix, BOB, "clusters:update", Some("clusters/eu-1")),
        "allowed by access rule 500: group dev has role devops on projects/payments"
    );
    // Not at the org, and not for someone outside the group.
    assert!(!check(&ix, BOB, "clusters:update", None).allowed);
    assert_eq!(
        check(&ix, CAROL, "clusters:update", Some("clusters/eu-1")).reason,
        Reason::NoGrant
    );
}

#[test]
fn a_resource_naming_groups_admits_only_their_members_and_administrators() {
    let ix = OrgIndex::build(state());
    // Bob (dev) and Erin (support) read the target; Carol, in neither, not.
    assert!(check(&ix, BOB, "targets:read", Some("targets/prod-db")).allowed);
    assert!(check(&ix, ERIN, "targets:read", Some("targets/prod-db")).allowed);
    let d = check(&ix, CAROL, "targets:read", Some("targets/prod-db"));
    assert!(!d.allowed);
    assert!(matches!(d.reason, Reason::NotInGroups { .. }));
    assert_eq!(
        why(&ix, CAROL, "targets:read", Some("targets/prod-db")),
        "denied: targets/prod-db admits only members of the groups dev, support, and the user is in none of them"
    );
    // The owner is not locked out.
    assert!(check(&ix, ALICE, "targets:exec", Some("targets/prod-db")).allowed);
    // The gate applies to org-wide grants too: Carol reads other resources.
    assert!(check(&ix, CAROL, "clusters:read", Some("clusters/eu-1")).allowed);
}

#[test]
fn an_action_under_review_needs_an_approved_unexpired_request() {
    let mut s = state();
    let ix = OrgIndex::build(s.clone());
    let d = check(&ix, BOB, "clusters:deploy", Some("clusters/eu-1"));
    assert!(matches!(d.reason, Reason::ReviewRequired { .. }));
    assert!(why(&ix, BOB, "clusters:deploy", Some("clusters/eu-1"))
        .contains("needs an approved review request (policy set on environments/payments-prod)"));
    // Other actions there need no review.
    assert!(check(&ix, BOB, "clusters:update", Some("clusters/eu-1")).allowed);

    s.grants.push(GrantFact {
        request_id: 9,
        user_id: BOB,
        resource_id: CLUSTER,
        action: "clusters:deploy".into(),
        expires_at: 2_000,
    });
    let ix = OrgIndex::build(s);
    let d = check(&ix, BOB, "clusters:deploy", Some("clusters/eu-1"));
    assert!(d.allowed);
    assert_eq!(d.reason.rule_id(), Some(500));
    assert_eq!(d.request_id(), Some(9));
    assert!(why(&ix, BOB, "clusters:deploy", Some("clusters/eu-1"))
        .ends_with("review satisfied by approved request 9, until 1970-01-01T00:00:02Z"));
    // Expired: denied again.
    let a = ix.action("clusters:deploy").unwrap();
    let r = ix.resource("clusters/eu-1");
    assert!(!ix.check(BOB, a, r, 2_000).allowed);
    // Exactly that resource: the request does not cover the environment.
    assert!(
        !check(
            &ix,
            BOB,
            "clusters:deploy",
            Some("environments/payments-prod")
        )
        .allowed
    );
}

#[test]
fn an_approved_request_grants_an_action_no_rule_grants() {
    let mut s = state();
    s.grants.push(GrantFact {
        request_id: 3,
        user_id: CAROL,
        resource_id: CLUSTER,
        action: "clusters:deploy".into(),
        expires_at: 5_000,
    });
    let ix = OrgIndex::build(s);
    let d = check(&ix, CAROL, "clusters:deploy", Some("clusters/eu-1"));
    assert_eq!(
        d.reason,
        Reason::Request {
            request: 3,
            expires_at: 5_000
        }
    );
    assert!(d.allowed);
    assert!(!check(&ix, CAROL, "clusters:delete", Some("clusters/eu-1")).allowed);
}

#[test]
fn inactive_members_and_strangers_get_nothing() {
    let ix = OrgIndex::build(state());
    assert_eq!(
        check(&ix, DAVE, "clusters:read", None).reason,
        Reason::Inactive
    );
    assert_eq!(
        check(&ix, 99, "clusters:read", None).reason,
        Reason::NotMember
    );
    // A rule naming a role that no longer exists grants nothing.
    assert!(!check(&ix, CAROL, "clusters:update", None).allowed);
}

#[test]
fn reviewers_hold_requests_approve_there_share_a_group_and_are_not_the_requester() {
    let ix = OrgIndex::build(state());
    let target = ix.resource("targets/prod-db").unwrap();
    let cluster = ix.resource("clusters/eu-1").unwrap();
    // Erin holds requests:approve on the project, so on the cluster.
    assert!(ix.may_review(ERIN, BOB, cluster));
    assert!(!ix.may_review(ERIN, ERIN, cluster), "not the requester");
    assert!(!ix.may_review(BOB, CAROL, cluster), "viewers do not review");
    // On the target (groups dev, support) Erin shares `support`.
    assert!(ix.may_review(ERIN, BOB, target));
    // The owner holds requests:approve but shares no group with the target.
    assert!(!ix.may_review(ALICE, BOB, target));
    assert!(ix.may_review(ALICE, BOB, cluster));
    let names: Vec<i64> = ix.reviewers(BOB, cluster).iter().map(|r| r.0).collect();
    assert_eq!(names, [ALICE, ERIN]);
}

#[test]
fn permissions_and_resources_list_what_checks_allow() {
    let ix = OrgIndex::build(state());
    let perms: Vec<String> = ix
        .permissions(BOB, ix.resource("clusters/eu-1"), 1_000)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(perms.contains(&"users:read".to_owned()));
    assert!(perms.contains(&"clusters:update".to_owned()));
    assert!(
        !perms.contains(&"clusters:deploy".to_owned()),
        "under review"
    );
    let deployable = ix.resources_allowed(BOB, ix.action("clusters:update").unwrap(), 1_000);
    assert_eq!(deployable, ["clusters/eu-1"]);
    let readable = ix.resources_allowed(CAROL, ix.action("targets:read").unwrap(), 1_000);
    assert!(readable.is_empty());
}

#[test]
fn a_cycle_in_the_facts_does_not_hang_the_build() {
    let mut s = state();
    s.resources[0].parent_id = Some(CLUSTER);
    let ix = OrgIndex::build(s);
    // Every walk up the tree ends: the builder cuts the first link it
    // finds in a cycle (here the project's), and the rest of the tree holds.
    assert!(check(&ix, CAROL, "clusters:read", Some("clusters/eu-1")).allowed);
    let d = check(&ix, BOB, "clusters:update", Some("clusters/eu-1"));
    assert_eq!(
        d.reason.rule_id(),
        Some(500),
        "the rule on the project still covers the cluster"
    );
    assert_eq!(
        check(&ix, CAROL, "clusters:update", Some("projects/payments")).reason,
        Reason::NoGrant
    );
}

/// Property tests: any sequence of changes applied to an index one delta
/// at a time decides exactly as an index built afresh from the facts.
mod incremental {
    use super::*;
    use proptest::prelude::*;

    const USERS: i64 = 8;
    const ROLES: &[&str] = &[
        "owner",
        "admin",
        "contributor",
        "viewer",
        "viewer-no-secrets",
        "devops",
        "reviewer",
        "no-such-role",
    ];
    const ACTIONS: &[&str] = &[
        "clusters:read",
        "clusters:update",
        "clusters:deploy",
        "clusters:delete",
        "environments:read",
        "environments:update",
        "projects:read",
        "targets:read",
        "targets:update",
        "requests:approve",
        "users:manage",
        "owners:manage",
        "access:manage",
    ];
    const TYPES: &[&str] = &["projects", "environments", "clusters", "targets"];

    #[derive(Debug, Clone)]
    enum Op {
        SetMember {
            user: i64,
            role: usize,
            active: bool,
        },
        RemoveMember {
            user: i64,
        },
        SetGroups {
            user: i64,
            mask: u8,
        },
        AddRule {
            user: Option<i64>,
            group: usize,
            role: usize,
            resource: Option<usize>,
        },
        RemoveRule {
            pick: usize,
        },
        NewGroup,
        DeleteGroup {
            pick: usize,
        },
        RenameGroup {
            pick: usize,
            name: u8,
        },
        Approve {
            user: i64,
            resource: usize,
            action: usize,
            expires_at: i64,
        },
        Revoke {
            pick: usize,
        },
        NewResource {
            parent: Option<usize>,
            kind: usize,
            mask: u8,
            review: bool,
        },
        UpdateResource {
            pick: usize,
            parent: Option<usize>,
            mask: u8,
            review: bool,
        },
        DeleteResource {
            pick: usize,
        },
        DefineRole {
            pick: usize,
            mask: u8,
        },
        DeleteRole {
            pick: usize,
            replacement: usize,
        },
    }

    /// The custom roles that ops define, redefine and delete: the two of
    /// [`state`], and one that members and rules may name before it is
    /// defined.
    const CUSTOM: &[&str] = &["devops", "reviewer", "no-such-role"];
    /// Entries of a custom role's stored permission list (the last one is
    /// unknown to the catalog and grants nothing, as a build reads it).
    const PERMISSIONS: &[&str] = &[
        "clusters:read",
        "clusters:deploy",
        "clusters:*",
        "*:read",
        "requests:approve",
        "users:manage",
        "environments:update",
        "gone:away",
    ];

    fn op() -> impl Strategy<Value = Op> {
        let user = 1..=USERS;
        prop_oneof![
            (user.clone(), 0..ROLES.len(), any::<bool>())
                .prop_map(|(user, role, active)| Op::SetMember { user, role, active }),
            user.clone().prop_map(|user| Op::RemoveMember { user }),
            (user.clone(), any::<u8>()).prop_map(|(user, mask)| Op::SetGroups { user, mask }),
            (
                proptest::option::of(user.clone()),
                0..8usize,
                0..ROLES.len(),
                proptest::option::of(0..12usize)
            )
                .prop_map(|(user, group, role, resource)| Op::AddRule {
                    user,
                    group,
                    role,
                    resource
                }),
            (0..64usize).prop_map(|pick| Op::RemoveRule { pick }),
            Just(Op::NewGroup),
            (0..8usize).prop_map(|pick| Op::DeleteGroup { pick }),
            (0..8usize, any::<u8>()).prop_map(|(pick, name)| Op::RenameGroup { pick, name }),
            (
                user,
                0..12usize,
                0..ACTIONS.len(),
                prop_oneof![Just(500i64), Just(5_000i64)]
            )
                .prop_map(|(user, resource, action, expires_at)| Op::Approve {
                    user,
                    resource,
                    action,
                    expires_at
                }),
            (0..16usize).prop_map(|pick| Op::Revoke { pick }),
            (
                proptest::option::of(0..12usize),
                0..TYPES.len(),
                any::<u8>(),
                any::<bool>()
            )
                .prop_map(|(parent, kind, mask, review)| Op::NewResource {
                    parent,
                    kind,
                    mask,
                    review
                }),
            (
                0..12usize,
                proptest::option::of(0..12usize),
                any::<u8>(),
                any::<bool>()
            )
                .prop_map(|(pick, parent, mask, review)| Op::UpdateResource {
                    pick,
                    parent,
                    mask,
                    review
                }),
            (0..12usize).prop_map(|pick| Op::DeleteResource { pick }),
            (0..CUSTOM.len(), any::<u8>()).prop_map(|(pick, mask)| Op::DefineRole { pick, mask }),
            (0..CUSTOM.len(), 0..ROLES.len())
                .prop_map(|(pick, replacement)| Op::DeleteRole { pick, replacement }),
        ]
    }

    /// What the server reads back in the change's transaction.
    fn member_delta(s: &OrgState, user_id: i64) -> Delta {
        Delta::Member {
            user_id,
            member: s.members.iter().find(|m| m.user_id == user_id).cloned(),
            groups: s
                .group_members
                .iter()
                .filter(|(_, u)| *u == user_id)
                .map(|(g, _)| *g)
                .collect(),
            rules: s
                .rules
                .iter()
                .filter(|r| r.subject == Subject::User(user_id))
                .cloned()
                .collect(),
        }
    }

    fn group_delta(s: &OrgState, id: i64) -> Delta {
        Delta::Group {
            id,
            name: s.groups.iter().find(|g| g.id == id).unwrap().name.clone(),
            rules: s
                .rules
                .iter()
                .filter(|r| r.subject == Subject::Group(id))
                .cloned()
                .collect(),
        }
    }

    fn next_id(ids: impl Iterator<Item = i64>) -> i64 {
        ids.max().unwrap_or(1_000) + 1
    }

    /// Changes the facts as a use case would and returns the deltas the
    /// change records.
    fn run(s: &mut OrgState, op: &Op) -> Vec<Delta> {
        match *op {
            Op::SetMember { user, role, active } => {
                s.members.retain(|m| m.user_id != user);
                s.members.push(MemberFact {
                    user_id: user,
                    email: format!("u{user}@example.com"),
                    active,
                    role: ROLES[role].into(),
                });
                vec![member_delta(s, user)]
            }
            Op::RemoveMember { user } => {
                s.members.retain(|m| m.user_id != user);
                vec![member_delta(s, user)]
            }
            Op::SetGroups { user, mask } => {
                s.group_members.retain(|(_, u)| *u != user);
                let ids: Vec<i64> = s.groups.iter().map(|g| g.id).collect();
                for (i, g) in ids.into_iter().enumerate() {
                    if i < 8 && mask & (1 << i) != 0 {
                        s.group_members.push((g, user));
                    }
                }
                vec![member_delta(s, user)]
            }
            Op::AddRule {
                user,
                group,
                role,
                resource,
            } => {
                let subject = match user {
                    Some(u) => Subject::User(u),
                    None if s.groups.is_empty() => return vec![],
                    None => Subject::Group(s.groups[group % s.groups.len()].id),
                };
                if resource.is_some() && s.resources.is_empty() {
                    return vec![];
                }
                let resource_id = resource.map(|r| s.resources[r % s.resources.len()].id);
                let id = next_id(s.rules.iter().map(|r| r.id));
                s.rules.push(RuleFact {
                    id,
                    subject,
                    role: ROLES[role].into(),
                    resource_id,
                });
                vec![subject_delta(s, subject)]
            }
            Op::RemoveRule { pick } => {
                if s.rules.is_empty() {
                    return vec![];
                }
                let r = s.rules.remove(pick % s.rules.len());
                vec![subject_delta(s, r.subject)]
            }
            Op::NewGroup => {
                let id = next_id(s.groups.iter().map(|g| g.id));
                s.groups.push(GroupFact {
                    id,
                    name: format!("g{id}"),
                });
                vec![group_delta(s, id)]
            }
            Op::DeleteGroup { pick } => {
                // The server refuses to delete a group that gates a
                // resource; the rules naming it and its members go with it.
                let Some(i) = (!s.groups.is_empty()).then(|| pick % s.groups.len()) else {
                    return vec![];
                };
                let id = s.groups[i].id;
                if s.resources.iter().any(|r| r.groups.contains(&id)) {
                    return vec![];
                }
                s.groups.remove(i);
                s.rules.retain(|r| r.subject != Subject::Group(id));
                let members = s
                    .group_members
                    .iter()
                    .filter(|(g, _)| *g == id)
                    .map(|(_, u)| *u)
                    .collect();
                s.group_members.retain(|(g, _)| *g != id);
                vec![Delta::GroupRemoved { id, members }]
            }
            Op::RenameGroup { pick, name } => {
                if s.groups.is_empty() {
                    return vec![];
                }
                let i = pick % s.groups.len();
                s.groups[i].name = format!("n{name}");
                vec![group_delta(s, s.groups[i].id)]
            }
            Op::Approve {
                user,
                resource,
                action,
                expires_at,
            } => {
                if s.resources.is_empty() {
                    return vec![];
                }
                let request_id = next_id(s.grants.iter().map(|g| g.request_id));
                let g = GrantFact {
                    request_id,
                    user_id: user,
                    resource_id: s.resources[resource % s.resources.len()].id,
                    action: ACTIONS[action].into(),
                    expires_at,
                };
                s.grants.push(g.clone());
                vec![Delta::Grant {
                    request_id,
                    grant: Some(g),
                }]
            }
            Op::Revoke { pick } => {
                if s.grants.is_empty() {
                    return vec![];
                }
                let g = s.grants.remove(pick % s.grants.len());
                vec![Delta::Grant {
                    request_id: g.request_id,
                    grant: None,
                }]
            }
            Op::NewResource {
                parent,
                kind,
                mask,
                review,
            } => {
                let id = next_id(s.resources.iter().map(|r| r.id));
                let t = TYPES[kind];
                let groups = masked_groups(s, mask);
                let r = ResourceFact {
                    id,
                    resource_type: t.into(),
                    name: format!("r{id}"),
                    parent_id: parent
                        .filter(|_| !s.resources.is_empty())
                        .map(|p| s.resources[p % s.resources.len()].id),
                    groups,
                    review_actions: if review {
                        vec![format!("{t}:update")]
                    } else {
                        vec![]
                    },
                };
                s.resources.push(r.clone());
                vec![Delta::NewResource(r)]
            }
            Op::UpdateResource {
                pick,
                parent,
                mask,
                review,
            } => {
                if s.resources.is_empty() {
                    return vec![];
                }
                let i = pick % s.resources.len();
                let id = s.resources[i].id;
                let parent_id = parent.map(|p| s.resources[p % s.resources.len()].id);
                // Storage refuses a parent below the resource itself.
                if parent_id.is_some_and(|p| subtree(s, id).contains(&p)) {
                    return vec![];
                }
                let groups = masked_groups(s, mask);
                let r = &mut s.resources[i];
                r.parent_id = parent_id;
                r.groups = groups;
                r.review_actions = if review {
                    vec![format!("{}:update", r.resource_type)]
                } else {
                    vec![]
                };
                vec![Delta::Resource(r.clone())]
            }
            Op::DeleteResource { pick } => {
                if s.resources.is_empty() {
                    return vec![];
                }
                // A cascading delete: the resource and everything below.
                let ids = subtree(s, s.resources[pick % s.resources.len()].id);
                s.resources.retain(|r| !ids.contains(&r.id));
                s.rules
                    .retain(|r| !r.resource_id.is_some_and(|id| ids.contains(&id)));
                s.grants.retain(|g| !ids.contains(&g.resource_id));
                vec![Delta::ResourcesRemoved { ids }]
            }
            Op::DefineRole { pick, mask } => {
                let name = CUSTOM[pick];
                let list = PERMISSIONS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, p)| *p)
                    .collect::<Vec<_>>()
                    .join(" ");
                let permissions = RolePermissions::from_stored(&list, &s.catalog);
                match s.roles.iter_mut().find(|r| r.name == name) {
                    Some(role) => role.permissions = permissions,
                    None => s.roles.push(RoleFact {
                        name: name.into(),
                        permissions,
                    }),
                }
                vec![Delta::Role {
                    name: name.into(),
                    permissions: Some(list),
                }]
            }
            Op::DeleteRole { pick, replacement } => {
                let name = CUSTOM[pick];
                if !s.roles.iter().any(|r| r.name == name) {
                    return vec![];
                }
                let in_use = s.members.iter().any(|m| m.role == name)
                    || s.rules.iter().any(|r| r.role == name);
                if !in_use {
                    s.roles.retain(|r| r.name != name);
                    return vec![Delta::Role {
                        name: name.into(),
                        permissions: None,
                    }];
                }
                // Storage deletes a role in use only with a replacement
                // that exists, is not the owner role nor the role itself,
                // and moves every holder to it first.
                let by = ROLES[replacement];
                // The built-in roles always exist.
                let exists = !CUSTOM.contains(&by) || s.roles.iter().any(|r| r.name == by);
                if !exists || by == "owner" || by == name {
                    return vec![];
                }
                for m in s.members.iter_mut().filter(|m| m.role == name) {
                    m.role = by.into();
                }
                for r in s.rules.iter_mut().filter(|r| r.role == name) {
                    r.role = by.into();
                }
                s.roles.retain(|r| r.name != name);
                vec![Delta::RoleReplaced {
                    name: name.into(),
                    by: by.into(),
                }]
            }
        }
    }

    /// The groups among the first eight that `mask` picks.
    fn masked_groups(s: &OrgState, mask: u8) -> Vec<i64> {
        s.groups
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 8 && mask & (1 << i) != 0)
            .map(|(_, g)| g.id)
            .collect()
    }

    /// `id` and the ids of every resource below it.
    fn subtree(s: &OrgState, id: i64) -> Vec<i64> {
        let mut ids = vec![id];
        let mut i = 0;
        while i < ids.len() {
            let p = ids[i];
            ids.extend(
                s.resources
                    .iter()
                    .filter(|r| r.parent_id == Some(p))
                    .map(|r| r.id),
            );
            i += 1;
        }
        ids
    }

    fn subject_delta(s: &OrgState, subject: Subject) -> Delta {
        match subject {
            Subject::User(u) => member_delta(s, u),
            Subject::Group(g) => group_delta(s, g),
        }
    }

    /// A decision as the check API shows it. A group's index is not shown
    /// (its name is): an applied index keeps the slot of a deleted group,
    /// which a fresh build leaves out.
    fn public(
        ix: &OrgIndex,
        d: Decision,
        a: Action,
        r: Option<ResourceId>,
    ) -> (bool, &'static str, Option<i64>, Option<i64>, String) {
        let words = ix.explain(&d, a, r);
        (
            d.allowed,
            d.reason.code(),
            d.reason.rule_id(),
            d.request_id(),
            words,
        )
    }

    /// Every decision the two indexes can make about these users.
    /// Every decision the two indexes can make about these users, on the
    /// org and on every resource `keys` ever named (a deleted one must be
    /// unknown to both). Each index resolves names itself: an applied
    /// index keeps the slots of deleted resources.
    fn assert_same(
        applied: &OrgIndex,
        fresh: &OrgIndex,
        keys: &std::collections::BTreeSet<String>,
    ) {
        let mut keys: Vec<Option<&str>> = keys.iter().map(|k| Some(k.as_str())).collect();
        keys.push(None);
        for user in 1..=USERS + 1 {
            assert_eq!(applied.is_member(user), fresh.is_member(user));
            let email = format!("u{user}@example.com");
            assert_eq!(applied.user_by_email(&email), fresh.user_by_email(&email));
            for &key in &keys {
                let (ra, rf) = match key {
                    Some(k) => match (applied.resource(k), fresh.resource(k)) {
                        (None, None) => continue,
                        (Some(ra), Some(rf)) => (Some(ra), Some(rf)),
                        (ra, rf) => panic!("{k}: applied {ra:?}, fresh {rf:?}"),
                    },
                    None => (None, None),
                };
                if let (Some(ra), Some(rf)) = (ra, rf) {
                    for requester in 1..=USERS {
                        assert_eq!(
                            applied.may_review(user, requester, ra),
                            fresh.may_review(user, requester, rf),
                            "{key:?}"
                        );
                    }
                }
                for name in ACTIONS {
                    let Some(a) = fresh.action(name) else {
                        continue;
                    };
                    for now in [100, 1_000, 10_000] {
                        assert_eq!(
                            public(applied, applied.check(user, a, ra, now), a, ra),
                            public(fresh, fresh.check(user, a, rf, now), a, rf),
                            "user {user} {name} on {key:?} at {now}"
                        );
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn applied_changes_decide_as_a_fresh_build(ops in proptest::collection::vec(op(), 1..40)) {
            let mut s = state();
            let mut applied = OrgIndex::build(s.clone());
            let key_of = |r: &ResourceFact| format!("{}/{}", r.resource_type, r.name);
            let mut keys: std::collections::BTreeSet<String> =
                s.resources.iter().map(key_of).collect();
            for (i, op) in ops.iter().enumerate() {
                let deltas = run(&mut s, op);
                keys.extend(s.resources.iter().map(key_of));
                // Deltas travel through the change log as JSON.
                let text = serde_json::to_string(&deltas).unwrap();
                let deltas: Vec<Delta> = serde_json::from_str(&text).unwrap();
                let revision = s.revision + i as i64 + 1;
                applied = applied
                    .apply(revision, &deltas)
                    .expect("every generated change applies without a full build");
                prop_assert_eq!(applied.revision(), revision);
                let mut now = s.clone();
                now.revision = revision;
                let fresh = OrgIndex::build(now);
                assert_same(&applied, &fresh, &keys);
            }
        }
    }

    #[test]
    fn a_delta_the_index_cannot_place_asks_for_a_full_build() {
        let ix = OrgIndex::build(state());
        // A member in a group the index has never seen.
        let d = Delta::Member {
            user_id: BOB,
            member: Some(member(BOB, "viewer", true)),
            groups: vec![999],
            rules: vec![],
        };
        assert!(ix.apply(8, &[d]).is_none());
        // A resource created before one the index holds.
        let r = resource(1, "projects/old", None);
        assert!(ix.apply(8, &[Delta::NewResource(r)]).is_none());
    }

    #[test]
    fn applying_leaves_the_previous_index_as_it_was() {
        let ix = OrgIndex::build(state());
        let before = check(&ix, BOB, "clusters:update", Some("clusters/eu-1"));
        assert!(before.allowed);
        let demoted = ix
            .apply(
                8,
                &[Delta::Member {
                    user_id: BOB,
                    member: Some(member(BOB, "viewer", true)),
                    groups: vec![],
                    rules: vec![],
                }],
            )
            .unwrap();
        assert!(!check(&demoted, BOB, "clusters:update", Some("clusters/eu-1")).allowed);
        assert_eq!(
            check(&ix, BOB, "clusters:update", Some("clusters/eu-1")),
            before
        );
    }
}
