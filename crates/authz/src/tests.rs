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
