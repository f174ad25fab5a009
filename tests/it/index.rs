//! The in-memory authorization index under changes (issue 15): changes
//! are applied to it in place from the change log, not by reloading the
//! org, and the very next check still sees each one.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{
    AccessRuleRequest, CheckRequest, GroupMemberRequest, GroupRequest, NewActionRequest,
    ResourceRequest, ResourceTypeRequest, ResourceUpdateRequest, ReviewDecisionRequest,
    ReviewPolicyView, ReviewRequestRequest, RoleRequest, RoleUpdateRequest, UpdateMemberRequest,
};
use roster_store::access_state::{GrantFact, MemberFact, ResourceFact, RuleFact};
use sqlx::Row;

both_engines!(
    changes_are_applied_in_place_and_the_next_check_sees_each,
    the_access_state_is_read_as_its_rows_hold_it,
    a_slice_decides_as_the_whole_org,
    the_first_checks_after_a_start_do_not_wait_for_the_org,
    a_role_redefined_is_applied_in_place,
    a_change_only_a_build_can_apply_does_not_make_checks_wait
);

async fn org_id(app: &TestApp, slug: &str) -> roster_domain::OrgId {
    let id: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
        .bind(slug)
        .fetch_one(app.app.store().pool())
        .await
        .unwrap();
    roster_domain::OrgId::new(id)
}

fn may_update() -> CheckRequest {
    CheckRequest {
        user: "dwight@acme.test".into(),
        action: "clusters:update".into(),
        resource: Some("clusters/eu-1".into()),
    }
}

/// The kinds of the org's logged changes, in revision order.
async fn logged_kinds(app: &TestApp) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT c.payload FROM access_changes c JOIN orgs o ON o.id = c.org_id
         WHERE o.slug = $1 ORDER BY c.revision",
    )
    .bind(ORG)
    .fetch_all(app.app.store().pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let payload: String = r.get(0);
            let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
            v["kind"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// An access rule for a user (by email) or a group, org-wide or on a
/// resource.
fn rule(
    user: Option<&str>,
    group: Option<&str>,
    role: &str,
    resource: Option<&str>,
) -> AccessRuleRequest {
    AccessRuleRequest {
        user: user.map(Into::into),
        group: group.map(Into::into),
        role: role.into(),
        resource: resource.map(Into::into),
    }
}

/// Registers `clusters/eu-1`: no parent, group or review policy.
async fn create_cluster(owner: &Api) {
    owner
        .create_resource(ORG, &root_resource("clusters/eu-1"))
        .await
        .unwrap();
}

async fn changes_are_applied_in_place_and_the_next_check_sees_each(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (dwight, _) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    create_cluster(&owner).await;
    let allowed = || async { owner.check(ORG, &may_update()).await.unwrap().allowed };
    // The first check starts building the index in the background (it is
    // answered from a slice of the org meanwhile); wait for the build.
    assert!(!allowed().await);
    app.app.org_index(org_id(&app, ORG).await).await.unwrap();
    let before = app.app.authz_stats();
    let logged_before = logged_kinds(&app).await.len();

    let granted = owner
        .grant_access(
            ORG,
            &rule(
                Some("dwight@acme.test"),
                None,
                "contributor",
                Some("clusters/eu-1"),
            ),
        )
        .await
        .unwrap()
        .rule;
    assert!(allowed().await, "a rule granted is seen at once");
    owner.revoke_access(ORG, granted.id).await.unwrap();
    assert!(!allowed().await, "a rule revoked is seen at once");

    owner
        .create_group(ORG, &GroupRequest { name: "dev".into() })
        .await
        .unwrap();
    owner
        .grant_access(ORG, &rule(None, Some("dev"), "contributor", None))
        .await
        .unwrap();
    assert!(!allowed().await, "not in the group yet");
    let join = GroupMemberRequest { user_id: dwight };
    owner.add_group_member(ORG, "dev", &join).await.unwrap();
    assert!(allowed().await, "joining the group is seen at once");
    owner.remove_group_member(ORG, "dev", dwight).await.unwrap();
    assert!(!allowed().await, "leaving the group is seen at once");

    let role = |r: &str| UpdateMemberRequest {
        role: Some(r.into()),
        ..Default::default()
    };
    owner
        .update_member(ORG, dwight, &role("contributor"))
        .await
        .unwrap();
    assert!(allowed().await, "a promotion is seen at once");
    owner
        .update_member(ORG, dwight, &role("viewer"))
        .await
        .unwrap();
    assert!(!allowed().await, "a demotion is seen at once");
    // Groups named in a member update are made on the way.
    let groups = UpdateMemberRequest {
        groups: Some(vec!["dev".into(), "ops".into()]),
        ..Default::default()
    };
    owner.update_member(ORG, dwight, &groups).await.unwrap();
    assert!(allowed().await, "back in dev through the member update");
    owner.delete_group(ORG, "dev").await.unwrap();
    assert!(!allowed().await, "a group deleted is seen at once");

    // A rule on a project reaches the cluster moved below it.
    owner
        .create_resource(ORG, &root_resource("projects/apollo"))
        .await
        .unwrap();
    owner
        .grant_access(
            ORG,
            &rule(
                Some("dwight@acme.test"),
                None,
                "contributor",
                Some("projects/apollo"),
            ),
        )
        .await
        .unwrap();
    assert!(!allowed().await, "the cluster is not below the project yet");
    let parent = |p: Option<&str>| ResourceUpdateRequest {
        parent: Some(p.map(Into::into)),
        ..Default::default()
    };
    owner
        .update_resource(ORG, "clusters/eu-1", &parent(Some("projects/apollo")))
        .await
        .unwrap();
    assert!(allowed().await, "a resource moved is seen at once");
    owner
        .update_resource(ORG, "clusters/eu-1", &parent(None))
        .await
        .unwrap();
    assert!(!allowed().await, "a resource moved away is seen at once");
    let on_project = || async {
        owner
            .check(
                ORG,
                &CheckRequest {
                    resource: Some("projects/apollo".into()),
                    action: "projects:update".into(),
                    ..may_update()
                },
            )
            .await
    };
    assert!(on_project().await.unwrap().allowed);
    owner
        .delete_resource(ORG, "projects/apollo", false)
        .await
        .unwrap();
    let d = on_project().await;
    assert!(
        d.is_err() || !d.unwrap().allowed,
        "a resource deleted is seen at once"
    );
    owner.delete_member(ORG, dwight).await.unwrap();
    let d = owner.check(ORG, &may_update()).await;
    assert!(
        d.is_err() || !d.unwrap().allowed,
        "a removed member gets nothing"
    );

    // Every change was logged with its facts; the ones that only moved
    // access (rules, groups, roles) say so, and other replicas keep their
    // validated credentials when they apply them.
    let kinds = logged_kinds(&app).await;
    assert_eq!(
        kinds[logged_before..],
        [
            "access", // rule granted
            "access", // rule revoked
            "deltas", // group created
            "access", // group's rule granted
            "access", // joined the group
            "access", // left the group
            "access", // promoted
            "access", // demoted
            "access", // groups set by a member update
            "access", // group deleted
            "deltas", // project created
            "access", // rule on the project granted
            "access", // cluster moved below the project
            "access", // cluster moved away
            "access", // project deleted
            "deltas", // removed
        ],
        "every change was logged with its facts"
    );
    let changes = kinds.len() - logged_before;
    let after = app.app.authz_stats();
    assert_eq!(
        after.full_builds, before.full_builds,
        "no change made the org load again"
    );
    assert_eq!(after.deltas_applied - before.deltas_applied, changes as u64);
}

/// An org with every kind of fact: members active, disabled and of each
/// role (one with an email JSON must escape), groups, a resource tree
/// with a gate and a review policy, rules of each kind, an approved
/// request; and another org beside it.
async fn seed_every_kind_of_fact(app: &TestApp, owner: &Api) {
    let (dwight, dwight_t) = app.member(ORG, owner, "dwight@acme.test", "viewer").await;
    let (zoe, _) = app
        .member(ORG, owner, "zoë.o'hara@acme.test", "contributor")
        .await;
    let (pam, _) = app.member(ORG, owner, "pam@acme.test", "admin").await;
    owner
        .update_member(
            ORG,
            pam,
            &UpdateMemberRequest {
                status: Some("disabled".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for g in ["dev", "ops"] {
        owner
            .create_group(ORG, &GroupRequest { name: g.into() })
            .await
            .unwrap();
    }
    // The owner reviews requests on the gated cluster: in one of its
    // groups.
    let me = app.users(ORG, owner, "role=owner").await.items[0]
        .id
        .unwrap();
    for (g, u) in [("dev", dwight), ("dev", zoe), ("ops", zoe), ("ops", me)] {
        let join = GroupMemberRequest { user_id: u };
        owner.add_group_member(ORG, g, &join).await.unwrap();
    }
    let resource =
        |key: &str, parent: Option<&str>, groups: &[&str], review: bool| ResourceRequest {
            key: key.into(),
            parent: parent.map(Into::into),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            review: review.then(|| ReviewPolicyView {
                actions: vec!["clusters:deploy".into(), "clusters:delete".into()],
                approvals: 1,
            }),
        };
    for r in [
        resource("projects/payments", None, &[], true),
        resource(
            "clusters/eu-1",
            Some("projects/payments"),
            &["dev", "ops"],
            false,
        ),
        resource("clusters/us-1", None, &[], false),
    ] {
        owner.create_resource(ORG, &r).await.unwrap();
    }
    for r in [
        rule(
            Some("dwight@acme.test"),
            None,
            "contributor",
            Some("clusters/eu-1"),
        ),
        rule(None, Some("ops"), "viewer", None),
        rule(None, Some("dev"), "contributor", Some("projects/payments")),
    ] {
        owner.grant_access(ORG, &r).await.unwrap();
    }
    let asked = dwight_t
        .create_review_request(
            ORG,
            &ReviewRequestRequest {
                resource: "clusters/eu-1".into(),
                action: "clusters:deploy".into(),
                reason: "hotfix \"4521\"".into(),
                duration_seconds: 3600,
            },
        )
        .await
        .unwrap();
    owner
        .approve_review_request(ORG, asked.id, &ReviewDecisionRequest::default())
        .await
        .unwrap();
    // Another org's rows must not come along.
    owner
        .create_org(&roster_proto::CreateOrgRequest {
            slug: "other".into(),
            name: "Other".into(),
        })
        .await
        .unwrap();
    owner
        .create_group("other", &GroupRequest { name: "dev".into() })
        .await
        .unwrap();
}

/// The org's access state is read in one value per list on SQLite (JSON built
/// by the database); it must hold exactly what the rows hold, read here one by
/// one: every kind of member, group, resource, rule and approved request,
/// text that JSON escapes, and no row of another org.
async fn the_access_state_is_read_as_its_rows_hold_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    seed_every_kind_of_fact(&app, &owner).await;

    let store = app.app.store();
    let org: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
        .bind(ORG)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let facts = roster_store::access_state::load_snapshot(
        store,
        roster_domain::OrgId::new(org),
        app.app.now(),
    )
    .await
    .unwrap();

    // The same, row by row.
    let pool = store.pool();
    let mut members: Vec<MemberFact> = sqlx::query_as(
        "SELECT m.user_id, u.email, m.role, m.status, u.disabled
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1",
    )
    .bind(org)
    .fetch_all(pool)
    .await
    .unwrap();
    let pairs = |text: &'static str| async move {
        let mut rows: Vec<(i64, i64)> = sqlx::query_as(text)
            .bind(org)
            .fetch_all(pool)
            .await
            .unwrap();
        rows.sort_unstable();
        rows
    };
    let groups: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM groups WHERE org_id = $1 ORDER BY id")
            .bind(org)
            .fetch_all(pool)
            .await
            .unwrap();
    let resources: Vec<ResourceFact> = sqlx::query_as(
        "SELECT id, resource_type, name, parent_id, review_actions, review_approvals
         FROM resources WHERE org_id = $1 ORDER BY id",
    )
    .bind(org)
    .fetch_all(pool)
    .await
    .unwrap();
    let rules: Vec<RuleFact> = sqlx::query_as(
        "SELECT id, user_id, group_id, role, resource_id FROM access_rules
         WHERE org_id = $1 ORDER BY id",
    )
    .bind(org)
    .fetch_all(pool)
    .await
    .unwrap();
    let grants: Vec<GrantFact> = sqlx::query_as(
        "SELECT id, requester_id, resource_id, action, expires_at FROM review_requests
         WHERE org_id = $1 AND status = 'approved'",
    )
    .bind(org)
    .fetch_all(pool)
    .await
    .unwrap();

    members.sort_by_key(|m| m.user_id);
    let mut loaded_members = facts.members.clone();
    loaded_members.sort_by_key(|m| m.user_id);
    assert_eq!(loaded_members, members);
    assert!(members.iter().any(|m| m.email == "zoë.o'hara@acme.test"));
    assert!(members.iter().any(|m| m.status == "disabled"));
    assert_eq!(facts.groups, groups);
    let mut loaded = facts.group_members.clone();
    loaded.sort_unstable();
    assert_eq!(
        loaded,
        pairs("SELECT group_id, user_id FROM group_members WHERE org_id = $1").await
    );
    assert_eq!(loaded.len(), 4);
    assert_eq!(facts.resources, resources);
    assert!(resources.iter().any(|r| r.parent_id.is_none()));
    assert!(resources.iter().any(|r| r.parent_id.is_some()));
    assert!(resources.iter().any(|r| !r.review_actions.is_empty()));
    let mut loaded = facts.resource_groups.clone();
    loaded.sort_unstable();
    assert_eq!(
        loaded,
        pairs("SELECT resource_id, group_id FROM resource_groups WHERE org_id = $1").await
    );
    assert_eq!(loaded.len(), 2);
    assert_eq!(facts.rules, rules);
    assert_eq!(rules.len(), 3);
    assert_eq!(facts.grants, grants);
    assert_eq!(grants.len(), 1);
}

/// Every check about every member (by id and by email, in any case), an
/// unknown user, and every action on every resource and on the org, is
/// decided by a slice of the org (what the first checks after a start are
/// answered from) exactly as by the whole org's index: the same answer,
/// reason, rule and request.
async fn a_slice_decides_as_the_whole_org(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    seed_every_kind_of_fact(&app, &owner).await;
    let org = org_id(&app, ORG).await;
    let whole = app.app.org_index(org).await.unwrap();
    let now = app.app.now().unix_ms();

    let mut actions: Vec<String> = roster_domain::ManagementPermission::ALL
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    for t in owner.resource_types(ORG).await.unwrap() {
        actions.extend(t.actions.iter().map(|a| format!("{}:{}", t.name, a.name)));
    }
    let resources: Vec<String> = owner
        .list_resources(ORG, &roster_client::ResourceQuery::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(resources.len(), 3);
    let members = app.users(ORG, &owner, "").await.items;
    let mut users: Vec<String> = Vec::new();
    for m in &members {
        users.push(m.id.expect("a member").to_string());
        users.push(m.email.clone());
        users.push(m.email.to_uppercase());
    }
    users.extend(["nobody@acme.test".to_owned(), "999999".to_owned()]);

    let mut compared = 0;
    let mut allowed = 0;
    for user in &users {
        let (id, email) = match user.parse::<i64>() {
            Ok(id) => (Some(id), None),
            Err(_) => (None, Some(user.to_lowercase())),
        };
        for resource in resources.iter().map(Some).chain([None]) {
            let slice = roster_store::access_state::Slice {
                user_ids: id.into_iter().collect(),
                emails: email.clone().into_iter().collect(),
                resource: resource.cloned(),
            };
            let part = app.app.slice_index(org, &slice).await.unwrap();
            let uid = |ix: &roster_authz::OrgIndex| match (id, &email) {
                (Some(id), _) => id,
                (None, Some(e)) => ix.user_by_email(e).unwrap_or(0),
                (None, None) => 0,
            };
            assert_eq!(uid(&part), uid(&whole), "{user}");
            for action in &actions {
                let answer = |ix: &roster_authz::OrgIndex| {
                    let a = ix.action(action).expect("every action is in the catalog");
                    let r = resource.map(|k| ix.resource(k).expect("the resource is there"));
                    let d = ix.check(uid(ix), a, r, now);
                    (
                        d.allowed,
                        d.reason.code(),
                        d.reason.rule_id(),
                        d.request_id(),
                        ix.explain(&d, a, r),
                    )
                };
                let expected = answer(&whole);
                assert_eq!(answer(&part), expected, "{user} {action} on {resource:?}");
                compared += 1;
                allowed += usize::from(expected.0);
            }
        }
    }
    // The comparison covered both answers, and every kind of reason.
    assert!(allowed > 0 && allowed < compared, "{allowed} of {compared}");
}

/// The first checks in an org after a start are answered before its index
/// is built (from slices of the org), and answered right: a check right
/// after a change this process made sees it, whether the index is built
/// yet or not.
async fn the_first_checks_after_a_start_do_not_wait_for_the_org(engine: Engine) {
    let first = spawn_app(engine).await;
    seed_every_kind_of_fact(&first, &first.owner().await).await;
    let org = org_id(&first, ORG).await;
    // A server started now, on the same database.
    let (app, base) = first.second_server().await;
    let owner = login_to(&base, OWNER_EMAIL, OWNER_PASSWORD).await;
    let before = app.authz_stats();
    assert!(!app.has_index(org), "nothing has checked yet");

    let eu = |user: &str, action: &str| CheckRequest {
        user: user.into(),
        action: action.into(),
        resource: Some("clusters/eu-1".into()),
    };
    // Dwight: a rule on the cluster and in its group; deploying needs a
    // request, which he has.
    let d = owner
        .check(ORG, &eu("dwight@acme.test", "clusters:update"))
        .await
        .unwrap();
    assert!(d.allowed, "{d:?}");
    let d = owner
        .check(ORG, &eu("DWIGHT@acme.test", "clusters:deploy"))
        .await
        .unwrap();
    assert!(d.allowed && d.request_id.is_some(), "{d:?}");
    // Pam is disabled.
    let d = owner
        .check(ORG, &eu("pam@acme.test", "clusters:read"))
        .await
        .unwrap();
    assert_eq!(d.code, "inactive");
    let d = owner
        .check(
            ORG,
            &CheckRequest {
                user: "nobody@acme.test".into(),
                action: "clusters:read".into(),
                resource: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(d.code, "not_member");
    owner
        .check(ORG, &eu("dwight@acme.test", "clusters:fly"))
        .await
        .refused(422, "validation_failed");
    owner
        .check(
            ORG,
            &CheckRequest {
                resource: Some("clusters/nowhere".into()),
                ..eu("dwight@acme.test", "clusters:update")
            },
        )
        .await
        .refused(422, "validation_failed");
    assert!(
        app.authz_stats().slices > before.slices,
        "answered from slices"
    );

    // A change through this server, and the very next check, while the
    // index may or may not be built: either way the check sees it.
    let dwight = first
        .users(ORG, &owner, "email=dwight%40acme.test")
        .await
        .items[0]
        .id
        .unwrap();
    owner.remove_group_member(ORG, "dev", dwight).await.unwrap();
    let d = owner
        .check(ORG, &eu("dwight@acme.test", "clusters:update"))
        .await
        .unwrap();
    assert!(
        !d.allowed,
        "leaving the cluster's group is seen at once: {d:?}"
    );

    // The build finishes in the background; checks are then answered
    // from the index.
    app.org_index(org).await.unwrap();
    let built = app.authz_stats();
    assert_eq!(built.full_builds, before.full_builds + 1, "one build");
    let d = owner
        .check(ORG, &eu("dwight@acme.test", "clusters:update"))
        .await
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(
        app.authz_stats().slices,
        built.slices,
        "no slice once built"
    );
}

/// The setup of the role tests: dwight, a viewer, holds custom role
/// `operator` (`clusters:read`) on cluster eu-1 by a rule, beside the
/// custom roles `others` names (each holding `clusters:read` and what it
/// lists); the org's index is built.
async fn operator_on_the_cluster(app: &TestApp, owner: &Api, others: &[(&str, &[&str])]) {
    app.member(ORG, owner, "dwight@acme.test", "viewer").await;
    create_cluster(owner).await;
    let roles = [("operator", &[][..])]
        .into_iter()
        .chain(others.iter().copied());
    for (name, more) in roles {
        let mut permissions = vec!["clusters:read".to_owned()];
        permissions.extend(more.iter().map(|p| p.to_string()));
        owner
            .create_role(
                ORG,
                &RoleRequest {
                    name: name.into(),
                    description: None,
                    permissions,
                },
            )
            .await
            .unwrap();
    }
    owner
        .grant_access(
            ORG,
            &rule(
                Some("dwight@acme.test"),
                None,
                "operator",
                Some("clusters/eu-1"),
            ),
        )
        .await
        .unwrap();
    assert!(!owner.check(ORG, &may_update()).await.unwrap().allowed);
    app.app.org_index(org_id(app, ORG).await).await.unwrap();
}

/// Every change to a custom role is applied to the index in place: a
/// new definition, a deletion while no one holds it, a new role, and a
/// deletion that moves the role's holders to a replacement. The very next
/// check sees each, both ways, and the org is not loaded again.
async fn a_role_redefined_is_applied_in_place(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    operator_on_the_cluster(&app, &owner, &[("spare", &[])]).await;
    let allowed = || async { owner.check(ORG, &may_update()).await.unwrap().allowed };
    let before = app.app.authz_stats();
    let redefine = |permissions: &[&str]| RoleUpdateRequest {
        description: None,
        permissions: Some(permissions.iter().map(|p| p.to_string()).collect()),
    };
    for (permissions, expected) in [
        (&["clusters:read", "clusters:update"][..], true),
        (&["clusters:read"][..], false),
        (&["clusters:*"][..], true),
        (&[][..], false),
    ] {
        owner
            .update_role(ORG, "operator", &redefine(permissions))
            .await
            .unwrap();
        assert_eq!(
            allowed().await,
            expected,
            "the very next check sees the role's new definition {permissions:?}"
        );
    }
    owner.delete_role(ORG, "spare", None).await.unwrap();
    assert!(!allowed().await);

    // A new role, then the rule moved to it by deleting the role it named.
    let role = |name: &str, permissions: &[&str]| RoleRequest {
        name: name.into(),
        description: None,
        permissions: permissions.iter().map(|p| p.to_string()).collect(),
    };
    owner
        .create_role(ORG, &role("deployer", &["clusters:update"]))
        .await
        .unwrap();
    assert!(!allowed().await, "no one holds the new role yet");
    owner
        .delete_role(ORG, "operator", Some("deployer"))
        .await
        .unwrap();
    assert!(allowed().await, "the rule moved to the replacement");
    // The replacement's next definition reaches the rule it took over.
    owner
        .update_role(ORG, "deployer", &redefine(&["clusters:read"]))
        .await
        .unwrap();
    assert!(!allowed().await, "the moved rule follows its new role");
    owner
        .update_role(ORG, "deployer", &redefine(&["clusters:update"]))
        .await
        .unwrap();
    assert!(allowed().await);
    // A role defined again under the deleted name has no holders.
    owner
        .create_role(ORG, &role("operator", &[]))
        .await
        .unwrap();
    assert!(allowed().await, "the rule still holds the replacement");

    let after = app.app.authz_stats();
    assert_eq!(
        after.full_builds, before.full_builds,
        "no role change made the org load again"
    );
    assert_eq!(after.deltas_applied - before.deltas_applied, 10);
}

/// A change the log cannot apply in place (actions added to the catalog,
/// which every role is compiled against) is built afresh in the
/// background; the checks of the process that made it do not wait for the
/// build: they are answered from slices, and see the change at once, both
/// ways.
async fn a_change_only_a_build_can_apply_does_not_make_checks_wait(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    operator_on_the_cluster(&app, &owner, &[]).await;
    owner
        .update_role(
            ORG,
            "operator",
            &RoleUpdateRequest {
                description: None,
                permissions: Some(vec!["clusters:*".into()]),
            },
        )
        .await
        .unwrap();
    let org = org_id(&app, ORG).await;
    app.app.org_index(org).await.unwrap();
    // dwight: a viewer, with `clusters:*` on cluster eu-1 by a rule.
    for (resource_type, action, class, resource, expected) in [
        ("clusters", "restart", "admin", Some("clusters/eu-1"), true),
        ("queues", "purge", "admin", None, false),
        ("queues", "peek", "read", None, true),
    ] {
        let before = app.app.authz_stats();
        owner
            .add_resource_type(
                ORG,
                &ResourceTypeRequest {
                    name: resource_type.into(),
                    actions: vec![NewActionRequest {
                        name: action.into(),
                        class: class.into(),
                    }],
                    description: None,
                },
            )
            .await
            .unwrap();
        let request = CheckRequest {
            user: "dwight@acme.test".into(),
            action: format!("{resource_type}:{action}"),
            resource: resource.map(Into::into),
        };
        let allowed = || async { owner.check(ORG, &request).await.unwrap().allowed };
        assert_eq!(
            allowed().await,
            expected,
            "the very next check knows {resource_type}:{action}"
        );
        // From a slice while the org is built afresh. On PostgreSQL the
        // catch-up that the change's own notification starts may have
        // rebuilt the index first; SQLite has no such race.
        let after = app.app.authz_stats();
        if engine == Engine::Sqlite {
            assert!(after.slices > before.slices, "answered from a slice");
        } else {
            assert!(
                after.slices > before.slices || after.full_builds > before.full_builds,
                "the change was applied by a build"
            );
        }
        app.app.org_index(org).await.unwrap();
        assert!(app.app.authz_stats().full_builds > before.full_builds);
        assert_eq!(allowed().await, expected, "and by the rebuilt index");
    }
}
