//! Fine-grained access over HTTP: catalog, custom roles, the resource tree,
//! access rules, the check API and review requests.

use crate::both_engines;
use crate::helpers::*;
use crate::smtp::SmtpSink;
use roster_client::{AccessRuleQuery, ResourceQuery};
use roster_proto::{
    AccessRuleRequest, CheckBatchRequest, CheckRequest, CheckResponse, CreateOrgRequest,
    GroupMemberRequest, GroupRequest, NewActionRequest, ResourceRequest, ResourceTypeRequest,
    ResourceUpdateRequest, ResourceView, ReviewDecisionRequest, ReviewPolicyView,
    ReviewRequestRequest, RoleRequest, RoleUpdateRequest, UpdateMemberRequest,
};

both_engines!(
    an_admin_builds_a_tree_and_the_check_api_explains_every_answer,
    every_change_is_seen_by_the_very_next_check,
    bad_input_is_refused_and_changes_nothing,
    nobody_grants_beyond_what_they_hold,
    another_orgs_ids_and_tokens_get_nothing,
    two_reviewers_racing_decide_a_request_once,
    a_viewer_reads_but_cannot_connect_to_clusters_or_host_groups
);

/// The question "may `user` do `action` (on `resource`)?".
fn question(user: &str, action: &str, resource: Option<&str>) -> CheckRequest {
    CheckRequest {
        user: user.into(),
        action: action.into(),
        resource: resource.map(String::from),
    }
}

async fn check(by: &Api, user: &str, action: &str, resource: Option<&str>) -> CheckResponse {
    by.check(ORG, &question(user, action, resource))
        .await
        .unwrap()
}

async fn group(admin: &Api, name: &str, members: &[i64]) {
    admin
        .create_group(ORG, &GroupRequest { name: name.into() })
        .await
        .unwrap();
    admin.answered(201);
    for &user_id in members {
        admin
            .add_group_member(ORG, name, &GroupMemberRequest { user_id })
            .await
            .unwrap();
        admin.answered(204);
    }
}

/// The resource `key`, a root with no groups and no review policy.
fn at(key: &str) -> ResourceRequest {
    ResourceRequest {
        key: key.into(),
        parent: None,
        groups: Vec::new(),
        review: None,
    }
}

/// A review policy: `actions` need `approvals` approvals.
fn review(actions: &[&str], approvals: i64) -> ReviewPolicyView {
    ReviewPolicyView {
        actions: actions.iter().map(|a| a.to_string()).collect(),
        approvals,
    }
}

async fn resource(admin: &Api, body: ResourceRequest) -> ResourceView {
    let created = admin.create_resource(ORG, &body).await.unwrap();
    admin.answered(201);
    created
}

fn role(name: &str, permissions: &[&str]) -> RoleRequest {
    RoleRequest {
        name: name.into(),
        description: None,
        permissions: permissions.iter().map(|p| p.to_string()).collect(),
    }
}

fn permissions(permissions: &[&str]) -> RoleUpdateRequest {
    RoleUpdateRequest {
        description: None,
        permissions: Some(permissions.iter().map(|p| p.to_string()).collect()),
    }
}

/// A rule granting `role` to the member `user`, on `resource` or org-wide.
fn for_user(user: &str, role: &str, resource: Option<&str>) -> AccessRuleRequest {
    AccessRuleRequest {
        user: Some(user.into()),
        group: None,
        role: role.into(),
        resource: resource.map(String::from),
    }
}

/// A rule granting `role` to the group `group`, on `resource` or org-wide.
fn for_group(group: &str, role: &str, resource: Option<&str>) -> AccessRuleRequest {
    AccessRuleRequest {
        user: None,
        group: Some(group.into()),
        role: role.into(),
        resource: resource.map(String::from),
    }
}

fn ask(resource: &str, action: &str, reason: &str, duration_seconds: i64) -> ReviewRequestRequest {
    ReviewRequestRequest {
        resource: resource.into(),
        action: action.into(),
        reason: reason.into(),
        duration_seconds,
    }
}

fn comment(comment: &str) -> ReviewDecisionRequest {
    ReviewDecisionRequest {
        comment: Some(comment.into()),
    }
}

fn resource_type(name: &str, action: &str, class: &str) -> ResourceTypeRequest {
    ResourceTypeRequest {
        name: name.into(),
        actions: vec![NewActionRequest {
            name: action.into(),
            class: class.into(),
        }],
        description: None,
    }
}

/// The tree of the issue: project → environment → cluster, and a target
/// gated to `dev` and `support`; the environment needs review for deploys.
async fn build_tree(owner: &Api) {
    for g in ["dev", "support"] {
        match owner
            .create_group(ORG, &GroupRequest { name: g.into() })
            .await
        {
            Ok(_) => owner.answered(201),
            Err(e) => assert_eq!(e.code(), Some("group_exists")),
        }
    }
    resource(owner, at("projects/payments")).await;
    resource(
        owner,
        ResourceRequest {
            parent: Some("projects/payments".into()),
            review: Some(review(&["clusters:deploy"], 1)),
            ..at("environments/payments-prod")
        },
    )
    .await;
    resource(
        owner,
        ResourceRequest {
            parent: Some("environments/payments-prod".into()),
            ..at("clusters/eu-1")
        },
    )
    .await;
    resource(
        owner,
        ResourceRequest {
            parent: Some("environments/payments-prod".into()),
            groups: vec!["dev".into(), "support".into()],
            ..at("targets/prod-db")
        },
    )
    .await;
}

async fn an_admin_builds_a_tree_and_the_check_api_explains_every_answer(engine: Engine) {
    let sink = SmtpSink::start().await;
    let app = spawn_with(
        engine,
        Spawn {
            bootstrap: true,
            smtp_url: Some(sink.url()),
        },
    )
    .await;
    let owner = app.owner().await;
    let (dwight, dwight_t) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    let (pam, _) = app.member(ORG, &owner, "pam@acme.test", "viewer").await;
    let (_, jim_t) = app.member(ORG, &owner, "jim@acme.test", "viewer").await;
    let (erin, erin_t) = app.member(ORG, &owner, "erin@acme.test", "viewer").await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    group(&admin, "dev", &[dwight]).await;
    group(&admin, "support", &[pam, erin]).await;

    // The worked examples of SPEC §1.
    let platform = RoleRequest {
        description: Some("runs the platform".into()),
        ..role(
            "platform",
            &[
                "cloud-credentials:*",
                "host-groups:*",
                "policies:*",
                "applications:*",
                "environments:*",
            ],
        )
    };
    let platform = admin.create_role(ORG, &platform).await.unwrap();
    admin.answered(201);
    assert!(!platform.builtin);
    assert!(platform.permissions.contains(&"policies:*".to_owned()));
    let devops = role(
        "devops",
        &[
            "application-catalogs:*",
            "applications:*",
            "environments:*",
            "environment-types:*",
            "clusters:*",
            "cluster-types:*",
            "git-credentials:*",
        ],
    );
    admin.create_role(ORG, &devops).await.unwrap();
    admin.answered(201);
    admin
        .create_role(ORG, &role("reviewer", &["requests:approve"]))
        .await
        .unwrap();
    admin.answered(201);
    let roles = jim_t.roles(ORG).await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"owner") && names.contains(&"platform") && names.contains(&"devops"));

    build_tree(&admin).await;
    let rule = admin
        .grant_access(ORG, &for_group("dev", "devops", Some("clusters/eu-1")))
        .await
        .unwrap()
        .rule;
    admin.answered(201);
    admin
        .grant_access(
            ORG,
            &for_user("erin@acme.test", "reviewer", Some("projects/payments")),
        )
        .await
        .unwrap();
    admin.answered(201);
    admin
        .grant_access(ORG, &for_user("pam@acme.test", "platform", None))
        .await
        .unwrap();
    admin.answered(201);

    // A member of `dev` may change the cluster, through the group's rule.
    let d = check(
        &admin,
        "dwight@acme.test",
        "clusters:update",
        Some("clusters/eu-1"),
    )
    .await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.code, "access_rule");
    assert_eq!(d.rule_id, Some(rule.id));
    assert_eq!(
        d.reason,
        format!(
            "allowed by access rule {}: group dev has role devops on clusters/eu-1",
            rule.id
        )
    );
    // Someone outside the group may not; the built-in viewer role reads.
    let d = check(
        &admin,
        "jim@acme.test",
        "clusters:update",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!((d.allowed, d.code.as_str()), (false, "no_grant"));
    let d = check(
        &admin,
        "jim@acme.test",
        "clusters:read",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(d.reason, "allowed by the org-wide role viewer");
    // `platform` holds environments but not clusters.
    let d = check(&admin, "pam@acme.test", "environments:deploy", None).await;
    assert!(d.allowed, "{d:?}");
    let d = check(&admin, "pam@acme.test", "clusters:update", None).await;
    assert!(!d.allowed, "{d:?}");

    // The target admits `dev` and `support` only; administrators pass.
    for (who, allowed) in [
        ("dwight@acme.test", true),
        ("pam@acme.test", true),
        ("jim@acme.test", false),
        (OWNER_EMAIL, true),
        ("admin@acme.test", true),
    ] {
        let d = check(&admin, who, "targets:read", Some("targets/prod-db")).await;
        assert_eq!(d.allowed, allowed, "{who}: {d:?}");
    }
    let d = check(
        &admin,
        "jim@acme.test",
        "targets:read",
        Some("targets/prod-db"),
    )
    .await;
    assert_eq!(d.code, "not_in_groups");
    assert!(d.reason.contains("dev, support"), "{d:?}");

    // Deploying needs review, even for a member the rule allows.
    let d = check(
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(d.code, "review_required", "{d:?}");
    // Dwight may ask about himself without `users:read`... he has it as a
    // viewer anyway; the answer is the same.
    let mine = check(
        &dwight_t,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(mine.code, "review_required");

    let req = dwight_t
        .create_review_request(
            ORG,
            &ask("clusters/eu-1", "clusters:deploy", "hotfix 4521", 3600),
        )
        .await
        .unwrap();
    dwight_t.answered(201);
    assert_eq!(req.status, "pending");
    let id = req.id;
    // Eligible reviewers are told: the owner and the admin (org-wide
    // requests:approve, no group on the cluster) and Erin (rule on the
    // project). Not the requester, not Jim.
    for who in [OWNER_EMAIL, "admin@acme.test", "erin@acme.test"] {
        let mail = sink.wait_for(who, 1).await;
        assert!(mail[0].text().contains("hotfix 4521"), "{who}");
    }
    assert!(sink.mails_to("jim@acme.test").is_empty());
    assert!(sink.mails_to("dwight@acme.test").is_empty());

    // Ineligible reviewers are refused: no requests:approve, and the
    // requester.
    let no_comment = ReviewDecisionRequest::default();
    for reviewer in [&jim_t, &dwight_t] {
        reviewer
            .approve_review_request(ORG, id, &no_comment)
            .await
            .refused(403, "forbidden");
    }
    let still = check(
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert!(!still.allowed);

    let approved = erin_t
        .approve_review_request(ORG, id, &comment("go"))
        .await
        .unwrap();
    erin_t.answered(200);
    assert_eq!(approved.status, "approved");
    assert_eq!(approved.votes[0].reviewer, "erin@acme.test");
    let d = check(
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.request_id, Some(id));
    assert!(d
        .reason
        .contains(&format!("review satisfied by approved request {id}")));
    // Exactly that action on that resource.
    let d = check(
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("environments/payments-prod"),
    )
    .await;
    assert!(!d.allowed);
    let decided = sink.wait_for("dwight@acme.test", 1).await;
    assert!(decided[0].text().contains("approved"));

    // On the gated target, a reviewer must share a group with it: Erin
    // (support) may review, the owner (no group) may not.
    let gated = ResourceUpdateRequest {
        review: Some(Some(review(&["targets:exec"], 1))),
        ..Default::default()
    };
    admin
        .update_resource(ORG, "targets/prod-db", &gated)
        .await
        .unwrap();
    admin.answered(200);
    let t = dwight_t
        .create_review_request(
            ORG,
            &ask("targets/prod-db", "targets:exec", "migration", 600),
        )
        .await
        .unwrap();
    dwight_t.answered(201);
    let tid = t.id;
    owner
        .approve_review_request(ORG, tid, &no_comment)
        .await
        .refused(403, "forbidden");
    erin_t
        .reject_review_request(ORG, tid, &comment("not now"))
        .await
        .unwrap();
    erin_t.answered(200);
    admin
        .approve_review_request(ORG, tid, &no_comment)
        .await
        .refused(409, "request_decided");

    // Effective permissions and the resources a member may act on.
    let perms = admin
        .permissions(ORG, dwight, Some("clusters/eu-1"))
        .await
        .unwrap();
    let names: Vec<&str> = perms
        .permissions
        .iter()
        .map(|p| p.permission.as_str())
        .collect();
    assert!(names.contains(&"clusters:update") && names.contains(&"clusters:deploy"));
    assert!(!names.contains(&"users:invite"));
    let may_update = ResourceQuery {
        user: Some("dwight@acme.test".into()),
        action: Some("clusters:update".into()),
        ..Default::default()
    };
    let allowed = admin.list_resources(ORG, &may_update).await.unwrap();
    assert_eq!(allowed.items.len(), 1);
    assert_eq!(allowed.items[0].key, "clusters/eu-1");

    // Batch: answers in order, a bad query answered with its error.
    let batch = CheckBatchRequest {
        checks: vec![
            question("dwight@acme.test", "clusters:update", Some("clusters/eu-1")),
            question("jim@acme.test", "clusters:update", Some("clusters/eu-1")),
            question("jim@acme.test", "clusters:explode", None),
        ],
    };
    let batch = admin.check_batch(ORG, &batch).await.unwrap();
    let r = &batch.results;
    assert_eq!((r[0].allowed, r[1].allowed), (Some(true), Some(false)));
    assert_eq!(r[2].code.as_deref(), Some("validation_failed"));

    // Every step is in the audit log.
    let events = app.audit(ORG, &owner, "").await;
    for action in [
        "role.create",
        "resource.create",
        "access.grant",
        "request.create",
        "request.approve",
        "request.reject",
    ] {
        assert!(
            events.iter().any(|e| e.action == action),
            "{action} is audited"
        );
    }
}

async fn may_update(owner: &Api) -> CheckResponse {
    check(
        owner,
        "dwight@acme.test",
        "clusters:update",
        Some("clusters/eu-1"),
    )
    .await
}

async fn every_change_is_seen_by_the_very_next_check(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (dwight, _) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    build_tree(&owner).await;
    owner
        .create_role(ORG, &role("deployer", &["clusters:update"]))
        .await
        .unwrap();
    owner.answered(201);
    assert!(!may_update(&owner).await.allowed);

    // A rule for a group he is not in: nothing. Joining the group: allowed.
    let rule = owner
        .grant_access(
            ORG,
            &for_group("dev", "deployer", Some("projects/payments")),
        )
        .await
        .unwrap()
        .rule;
    assert!(!may_update(&owner).await.allowed);
    let join = GroupMemberRequest { user_id: dwight };
    owner.add_group_member(ORG, "dev", &join).await.unwrap();
    owner.answered(204);
    assert!(may_update(&owner).await.allowed);
    // Editing the role takes the permission away at once.
    owner
        .update_role(ORG, "deployer", &permissions(&["clusters:read"]))
        .await
        .unwrap();
    owner.answered(200);
    assert!(!may_update(&owner).await.allowed);
    owner
        .update_role(ORG, "deployer", &permissions(&["clusters:update"]))
        .await
        .unwrap();
    owner.answered(200);
    assert!(may_update(&owner).await.allowed);
    // Leaving the group, revoking the rule: denied.
    owner.remove_group_member(ORG, "dev", dwight).await.unwrap();
    owner.answered(204);
    assert!(!may_update(&owner).await.allowed);
    owner.add_group_member(ORG, "dev", &join).await.unwrap();
    owner.answered(204);
    assert!(may_update(&owner).await.allowed);
    owner.revoke_access(ORG, rule.id).await.unwrap();
    owner.answered(204);
    assert!(!may_update(&owner).await.allowed);
    // The org role: contributor writes everywhere; disabled, nothing.
    let contributor = UpdateMemberRequest {
        role: Some("contributor".into()),
        ..Default::default()
    };
    owner
        .update_member(ORG, dwight, &contributor)
        .await
        .unwrap();
    owner.answered(200);
    assert!(may_update(&owner).await.allowed);
    let disabled = UpdateMemberRequest {
        status: Some("disabled".into()),
        ..Default::default()
    };
    owner.update_member(ORG, dwight, &disabled).await.unwrap();
    owner.answered(200);
    let d = may_update(&owner).await;
    assert_eq!((d.allowed, d.code.as_str()), (false, "inactive"));
    // A new type is covered by built-in roles at once.
    // Batches larger than other bodies are taken, up to 10,000 checks.
    let one = question(OWNER_EMAIL, "clusters:read", Some("clusters/eu-1"));
    let many = CheckBatchRequest {
        checks: vec![one.clone(); 2000],
    };
    let many = owner.check_batch(ORG, &many).await.unwrap();
    assert_eq!(many.results.len(), 2000);
    assert_eq!(many.results[1999].allowed, Some(true));
    let too_many = CheckBatchRequest {
        checks: vec![one; 10_001],
    };
    owner
        .check_batch(ORG, &too_many)
        .await
        .refused(422, "batch_too_large");
    let databases = ResourceTypeRequest {
        description: Some("Managed databases".into()),
        ..resource_type("databases", "backup", "write")
    };
    let types = owner.add_resource_type(ORG, &databases).await.unwrap();
    let db = types
        .iter()
        .find(|t| t.name == "databases")
        .expect("the new type is listed");
    assert_eq!(db.description, "Managed databases");
    assert!(!db.default);
    assert_eq!(db.actions[0].class, "write");
    let d = check(&owner, OWNER_EMAIL, "databases:backup", None).await;
    assert!(d.allowed, "{d:?}");
    // Deleting the resource: it is unknown to the next check.
    owner
        .delete_resource(ORG, "clusters/eu-1", false)
        .await
        .unwrap();
    owner.answered(204);
    owner
        .check(
            ORG,
            &question("dwight@acme.test", "clusters:update", Some("clusters/eu-1")),
        )
        .await
        .refused(422, "validation_failed");
}

async fn bad_input_is_refused_and_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    build_tree(&owner).await;
    let all = ResourceQuery {
        limit: Some(200),
        ..Default::default()
    };
    let before = as_json(&owner.list_resources(ORG, &all).await.unwrap());

    for (body, field) in [
        (at("spaceships/enterprise"), "key"),
        (at("clusters"), "key"),
        (at("clusters/has space"), "key"),
        (
            ResourceRequest {
                parent: Some("projects/nowhere".into()),
                ..at("clusters/eu-2")
            },
            "parent",
        ),
        (
            ResourceRequest {
                groups: vec!["nobody".into()],
                ..at("clusters/eu-2")
            },
            "groups",
        ),
        (
            ResourceRequest {
                review: Some(review(&["clusters:explode"], 1)),
                ..at("clusters/eu-2")
            },
            "review.actions",
        ),
        (
            ResourceRequest {
                review: Some(review(&["clusters:deploy"], 0)),
                ..at("clusters/eu-2")
            },
            "review.approvals",
        ),
    ] {
        let problem = owner
            .create_resource(ORG, &body)
            .await
            .refused(422, "validation_failed");
        assert_eq!(problem.errors[0].field, field, "{body:?}");
    }
    owner
        .create_resource(ORG, &at("projects/payments"))
        .await
        .refused(409, "resource_exists");
    // A cycle: the project under its own cluster.
    let under = |parent: &str| ResourceUpdateRequest {
        parent: Some(Some(parent.into())),
        ..Default::default()
    };
    let problem = owner
        .update_resource(ORG, "projects/payments", &under("clusters/eu-1"))
        .await
        .refused(422, "validation_failed");
    assert!(problem.detail.unwrap().contains("own ancestor"));
    owner
        .update_resource(ORG, "projects/payments", &under("projects/payments"))
        .await
        .refused(422, "validation_failed");
    // Children keep a parent from going, unless cascading.
    owner
        .delete_resource(ORG, "projects/payments", false)
        .await
        .refused(409, "resource_has_children");
    assert_eq!(
        as_json(&owner.list_resources(ORG, &all).await.unwrap()),
        before
    );

    // Roles with unknown permissions; built-in names; checks of nonsense.
    for perms in [["clusters:explode"], ["nosuch:*"], ["*:everything"]] {
        owner
            .create_role(ORG, &role("weird", &perms))
            .await
            .refused(422, "validation_failed");
    }
    owner
        .create_role(ORG, &role("admin", &[]))
        .await
        .refused(409, "role_exists");
    owner
        .delete_role(ORG, "admin", None)
        .await
        .refused(403, "forbidden");
    owner
        .check(ORG, &question(OWNER_EMAIL, "clusters:explode", None))
        .await
        .refused(422, "validation_failed");
    owner
        .check(
            ORG,
            &question(OWNER_EMAIL, "clusters:read", Some("clusters/nowhere")),
        )
        .await
        .refused(422, "validation_failed");
    for bad in [
        resource_type("users", "x", "read"),
        resource_type("clusters", "deploy", "read"),
        resource_type("databases", "backup", "sideways"),
    ] {
        owner
            .add_resource_type(ORG, &bad)
            .await
            .refused(422, "validation_failed");
    }

    // Rules: unknown subject, role, resource; the owner role; both subjects.
    for body in [
        for_user("stranger@else.test", "viewer", None),
        for_group("nobody", "viewer", None),
        for_group("dev", "wizard", None),
        for_group("dev", "viewer", Some("clusters/nowhere")),
        for_group("dev", "owner", None),
    ] {
        owner
            .grant_access(ORG, &body)
            .await
            .refused(422, "validation_failed");
    }
    let both = AccessRuleRequest {
        user: Some(OWNER_EMAIL.into()),
        ..for_group("dev", "viewer", None)
    };
    owner
        .grant_access(ORG, &both)
        .await
        .refused(422, "invalid_input");
    let rules = owner
        .list_access_rules(ORG, &AccessRuleQuery::default())
        .await
        .unwrap();
    assert!(rules.items.is_empty());

    // A role in use is not deleted silently; with a replacement it is.
    owner
        .create_role(ORG, &role("deployer", &["clusters:deploy"]))
        .await
        .unwrap();
    owner.answered(201);
    let rule = owner
        .grant_access(ORG, &for_group("dev", "deployer", Some("clusters/eu-1")))
        .await
        .unwrap()
        .rule;
    owner.answered(201);
    // Granting the same rule again returns it.
    let again = owner
        .grant_access(ORG, &for_group("dev", "deployer", Some("clusters/eu-1")))
        .await
        .unwrap()
        .rule;
    owner.answered(200);
    assert_eq!(again.id, rule.id);
    owner
        .delete_role(ORG, "deployer", None)
        .await
        .refused(409, "role_in_use");
    let gone = owner
        .delete_role(ORG, "deployer", Some("contributor"))
        .await
        .unwrap();
    owner.answered(200);
    assert_eq!(gone.rules, 1);
    let of_dev = AccessRuleQuery {
        group: Some("dev".into()),
        ..Default::default()
    };
    let rules = owner.list_access_rules(ORG, &of_dev).await.unwrap();
    assert_eq!(rules.items[0].role, "contributor");

    // A group that gates a resource cannot be deleted under it.
    let gated = ResourceUpdateRequest {
        groups: Some(vec!["dev".into()]),
        ..Default::default()
    };
    owner
        .update_resource(ORG, "clusters/eu-1", &gated)
        .await
        .unwrap();
    owner.answered(200);
    owner
        .delete_group(ORG, "dev")
        .await
        .refused(409, "group_in_use");

    // Cascading delete takes the subtree and its rules.
    owner
        .delete_resource(ORG, "projects/payments", true)
        .await
        .unwrap();
    owner.answered(204);
    let left = owner
        .list_resources(ORG, &ResourceQuery::default())
        .await
        .unwrap();
    assert!(left.items.is_empty());
    let rules = owner
        .list_access_rules(ORG, &AccessRuleQuery::default())
        .await
        .unwrap();
    assert!(rules.items.is_empty());
}

async fn nobody_grants_beyond_what_they_hold(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    let (_, lead_t) = app.member(ORG, &owner, "lead@acme.test", "viewer").await;
    let (_, contributor) = app.member(ORG, &owner, "c@acme.test", "contributor").await;
    build_tree(&owner).await;

    // Admins do not hold owners:manage or org:manage, so cannot put them
    // in a role.
    admin
        .create_role(ORG, &role("almost-owner", &["owners:manage"]))
        .await
        .refused(403, "privilege_escalation");
    // A cluster lead: may grant access, holds clusters:* only.
    for body in [
        role("cluster-lead", &["access:manage", "clusters:*"]),
        role("deployer", &["clusters:deploy"]),
        role("platform", &["cloud-credentials:*", "clusters:*"]),
    ] {
        owner.create_role(ORG, &body).await.unwrap();
        owner.answered(201);
    }
    owner
        .grant_access(ORG, &for_user("lead@acme.test", "cluster-lead", None))
        .await
        .unwrap();
    owner.answered(201);
    // The lead grants what they hold, not more.
    lead_t
        .grant_access(ORG, &for_group("dev", "deployer", Some("clusters/eu-1")))
        .await
        .unwrap();
    lead_t.answered(201);
    let problem = lead_t
        .grant_access(ORG, &for_group("dev", "platform", Some("clusters/eu-1")))
        .await
        .refused(403, "privilege_escalation");
    assert!(problem.detail.unwrap().contains("cloud-credentials"));
    lead_t
        .grant_access(ORG, &for_group("dev", "admin", None))
        .await
        .refused(403, "privilege_escalation");
    // Without access:manage, no grant at all.
    contributor
        .grant_access(ORG, &for_group("dev", "viewer", None))
        .await
        .refused(403, "forbidden");
    // The lead's org-wide rule gives them access:manage for management
    // endpoints too, but not roles:manage.
    lead_t
        .create_role(ORG, &role("x", &["clusters:read"]))
        .await
        .refused(403, "forbidden");
}

async fn another_orgs_ids_and_tokens_get_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (dwight, _) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    build_tree(&owner).await;

    // Someone else's org, with its own member and group.
    let (_, stranger) = app
        .member(ORG, &owner, "stranger@acme.test", "viewer")
        .await;
    stranger
        .create_org(&CreateOrgRequest {
            slug: "globex".into(),
            name: "Globex".into(),
        })
        .await
        .unwrap();
    stranger.answered(201);
    stranger
        .create_group("globex", &GroupRequest { name: "ops".into() })
        .await
        .unwrap();
    stranger.answered(201);
    // Leave acme, so the stranger holds only globex.
    stranger.leave_org(ORG).await.unwrap();

    // Acme's resources, rules and checks are not found for them.
    stranger
        .list_resources(ORG, &ResourceQuery::default())
        .await
        .refused(404, "not_found");
    stranger
        .resource(ORG, "clusters/eu-1")
        .await
        .refused(404, "not_found");
    stranger
        .list_access_rules(ORG, &AccessRuleQuery::default())
        .await
        .refused(404, "not_found");
    stranger
        .list_review_requests(ORG, &Default::default())
        .await
        .refused(404, "not_found");
    stranger.resource_types(ORG).await.refused(404, "not_found");
    stranger
        .permissions(ORG, dwight, None)
        .await
        .refused(404, "not_found");
    stranger
        .check(ORG, &question("dwight@acme.test", "clusters:read", None))
        .await
        .refused(404, "not_found");
    // Acme's ids mean nothing in globex: rules naming acme's group or a
    // member of acme only are refused there.
    stranger
        .grant_access("globex", &for_user("dwight@acme.test", "viewer", None))
        .await
        .refused(422, "validation_failed");
    stranger
        .grant_access("globex", &for_group("dev", "viewer", None))
        .await
        .refused(422, "validation_failed");
    // And a check in globex about an acme member says "not a member".
    let d = stranger
        .check(
            "globex",
            &question("dwight@acme.test", "clusters:read", None),
        )
        .await
        .unwrap();
    assert_eq!(d.code, "not_member");
    // Acme's resources are unknown in globex.
    stranger
        .check(
            "globex",
            &question("stranger@acme.test", "clusters:read", Some("clusters/eu-1")),
        )
        .await
        .refused(422, "validation_failed");
}

async fn two_reviewers_racing_decide_a_request_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, dwight) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    let (_, a1) = app.member(ORG, &owner, "a1@acme.test", "admin").await;
    let (_, a2) = app.member(ORG, &owner, "a2@acme.test", "admin").await;
    build_tree(&owner).await;
    let no_comment = ReviewDecisionRequest::default();
    for round in 0..3 {
        let req = dwight
            .create_review_request(
                ORG,
                &ask(
                    "clusters/eu-1",
                    "clusters:deploy",
                    &format!("round {round}"),
                    600,
                ),
            )
            .await
            .unwrap();
        let id = req.id;
        let (x, y) = tokio::join!(
            a1.approve_review_request(ORG, id, &no_comment),
            a2.reject_review_request(ORG, id, &no_comment)
        );
        let ok = [x.is_ok(), y.is_ok()];
        assert_eq!(ok.iter().filter(|s| **s).count(), 1, "{x:?} {y:?}");
        let loser = if ok[0] { &y } else { &x };
        assert_eq!(loser.as_ref().unwrap_err().code(), Some("request_decided"));
        let shown = owner.review_request(ORG, id).await.unwrap();
        assert_eq!(shown.votes.len(), 1);
        let expected = if ok[0] { "approved" } else { "rejected" };
        assert_eq!(shown.status, expected);
    }
}

/// Connecting to a cluster or a host group opens a session into
/// infrastructure: a viewer (who holds `read` and `secret`) may look, not
/// connect; a contributor (`write`) may.
async fn a_viewer_reads_but_cannot_connect_to_clusters_or_host_groups(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    app.member(ORG, &owner, "jim@acme.test", "contributor")
        .await;
    for action in ["clusters:connect", "host-groups:connect"] {
        let d = check(&owner, "dwight@acme.test", action, None).await;
        assert_eq!(
            (d.allowed, d.code.as_str()),
            (false, "no_grant"),
            "{action}"
        );
        let d = check(&owner, "jim@acme.test", action, None).await;
        assert!(d.allowed, "{action}: {d:?}");
    }
    for action in ["clusters:read", "host-groups:read", "secrets:reveal"] {
        let d = check(&owner, "dwight@acme.test", action, None).await;
        assert!(d.allowed, "{action}: {d:?}");
    }
}
