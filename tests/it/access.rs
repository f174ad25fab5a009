//! Fine-grained access over HTTP: catalog, custom roles, the resource tree,
//! access rules, the check API and review requests.

use crate::both_engines;
use crate::helpers::*;
use crate::smtp::SmtpSink;
use serde_json::{json, Value};

both_engines!(
    an_admin_builds_a_tree_and_the_check_api_explains_every_answer,
    every_change_is_seen_by_the_very_next_check,
    bad_input_is_refused_and_changes_nothing,
    nobody_grants_beyond_what_they_hold,
    another_orgs_ids_and_tokens_get_nothing,
    two_reviewers_racing_decide_a_request_once
);

fn path(rest: &str) -> String {
    format!("/api/v1/orgs/{ORG}/{rest}")
}

async fn check(
    app: &TestApp,
    token: &str,
    user: &str,
    action: &str,
    resource: Option<&str>,
) -> Value {
    let mut body = json!({"user": user, "action": action});
    if let Some(r) = resource {
        body["resource"] = json!(r);
    }
    app.post(&path("check"), token, body).await.ok()
}

async fn group(app: &TestApp, admin: &str, name: &str, members: &[i64]) {
    app.post(&path("groups"), admin, json!({"name": name}))
        .await
        .expect(201, "");
    for m in members {
        app.post(
            &path(&format!("groups/{name}/members")),
            admin,
            json!({"user_id": m}),
        )
        .await
        .expect(204, "");
    }
}

async fn resource(app: &TestApp, admin: &str, body: Value) -> Value {
    app.post(&path("resources"), admin, body)
        .await
        .expect(201, "")
        .ok()
}

/// The tree of the issue: project → environment → cluster, and a target
/// gated to `dev` and `support`; the environment needs review for deploys.
async fn build_tree(app: &TestApp, owner: &str) {
    for g in ["dev", "support"] {
        let res = app.post(&path("groups"), owner, json!({"name": g})).await;
        assert!(res.status.as_u16() == 201 || res.code() == "group_exists");
    }
    resource(app, owner, json!({"key": "projects/payments"})).await;
    resource(
        app,
        owner,
        json!({"key": "environments/payments-prod", "parent": "projects/payments",
               "review": {"actions": ["clusters:deploy"], "approvals": 1}}),
    )
    .await;
    resource(
        app,
        owner,
        json!({"key": "clusters/eu-1", "parent": "environments/payments-prod"}),
    )
    .await;
    resource(
        app,
        owner,
        json!({"key": "targets/prod-db", "parent": "environments/payments-prod",
               "groups": ["dev", "support"]}),
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
    group(&app, &admin, "dev", &[dwight]).await;
    group(&app, &admin, "support", &[pam, erin]).await;

    // The worked examples of SPEC §1.
    let platform = app
        .post(
            &path("roles"),
            &admin,
            json!({"name": "platform", "description": "runs the platform",
                   "permissions": ["cloud-credentials:*", "host-groups:*", "policies:*",
                                   "applications:*", "environments:*"]}),
        )
        .await
        .expect(201, "")
        .ok();
    assert_eq!(platform["builtin"], false);
    assert!(platform["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("policies:*")));
    app.post(
        &path("roles"),
        &admin,
        json!({"name": "devops", "permissions": ["application-catalogs:*", "applications:*",
               "environments:*", "environment-types:*", "clusters:*", "cluster-types:*",
               "git-credentials:*"]}),
    )
    .await
    .expect(201, "");
    app.post(
        &path("roles"),
        &admin,
        json!({"name": "reviewer", "permissions": ["requests:approve"]}),
    )
    .await
    .expect(201, "");
    let roles = app.get(&path("roles"), &jim_t).await.ok();
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"owner") && names.contains(&"platform") && names.contains(&"devops"));

    build_tree(&app, &admin).await;
    let rule = app
        .post(
            &path("access-rules"),
            &admin,
            json!({"group": "dev", "role": "devops", "resource": "clusters/eu-1"}),
        )
        .await
        .expect(201, "")
        .ok();
    app.post(
        &path("access-rules"),
        &admin,
        json!({"user": "erin@acme.test", "role": "reviewer", "resource": "projects/payments"}),
    )
    .await
    .expect(201, "");
    app.post(
        &path("access-rules"),
        &admin,
        json!({"user": "pam@acme.test", "role": "platform"}),
    )
    .await
    .expect(201, "");

    // A member of `dev` may change the cluster, through the group's rule.
    let d = check(
        &app,
        &admin,
        "dwight@acme.test",
        "clusters:update",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(d["allowed"], true, "{d}");
    assert_eq!(d["code"], "access_rule");
    assert_eq!(d["rule_id"], rule["id"]);
    assert_eq!(
        d["reason"],
        format!(
            "allowed by access rule {}: group dev has role devops on clusters/eu-1",
            rule["id"]
        )
    );
    // Someone outside the group may not; the built-in viewer role reads.
    let d = check(
        &app,
        &admin,
        "jim@acme.test",
        "clusters:update",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(
        (d["allowed"].clone(), d["code"].clone()),
        (json!(false), json!("no_grant"))
    );
    let d = check(
        &app,
        &admin,
        "jim@acme.test",
        "clusters:read",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(d["reason"], "allowed by the org-wide role viewer");
    // `platform` holds environments but not clusters.
    let d = check(&app, &admin, "pam@acme.test", "environments:deploy", None).await;
    assert_eq!(d["allowed"], true, "{d}");
    let d = check(&app, &admin, "pam@acme.test", "clusters:update", None).await;
    assert_eq!(d["allowed"], false, "{d}");

    // The target admits `dev` and `support` only; administrators pass.
    for (who, allowed) in [
        ("dwight@acme.test", true),
        ("pam@acme.test", true),
        ("jim@acme.test", false),
        (OWNER_EMAIL, true),
        ("admin@acme.test", true),
    ] {
        let d = check(&app, &admin, who, "targets:read", Some("targets/prod-db")).await;
        assert_eq!(d["allowed"], allowed, "{who}: {d}");
    }
    let d = check(
        &app,
        &admin,
        "jim@acme.test",
        "targets:read",
        Some("targets/prod-db"),
    )
    .await;
    assert_eq!(d["code"], "not_in_groups");
    assert!(
        d["reason"].as_str().unwrap().contains("dev, support"),
        "{d}"
    );

    // Deploying needs review, even for a member the rule allows.
    let d = check(
        &app,
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(d["code"], "review_required", "{d}");
    // Dwight may ask about himself without `users:read`... he has it as a
    // viewer anyway; the answer is the same.
    let mine = check(
        &app,
        &dwight_t,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(mine["code"], "review_required");

    let req = app
        .post(
            &path("requests"),
            &dwight_t,
            json!({"resource": "clusters/eu-1", "action": "clusters:deploy",
                   "reason": "hotfix 4521", "duration_seconds": 3600}),
        )
        .await
        .expect(201, "")
        .ok();
    assert_eq!(req["status"], "pending");
    let id = req["id"].as_i64().unwrap();
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
    app.post(&path(&format!("requests/{id}/approve")), &jim_t, json!({}))
        .await
        .expect(403, "forbidden");
    app.post(
        &path(&format!("requests/{id}/approve")),
        &dwight_t,
        json!({}),
    )
    .await
    .expect(403, "forbidden");
    let still = check(
        &app,
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(still["allowed"], false);

    let approved = app
        .post(
            &path(&format!("requests/{id}/approve")),
            &erin_t,
            json!({"comment": "go"}),
        )
        .await
        .expect(200, "")
        .ok();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["votes"][0]["reviewer"], "erin@acme.test");
    let d = check(
        &app,
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("clusters/eu-1"),
    )
    .await;
    assert_eq!(d["allowed"], true, "{d}");
    assert_eq!(d["request_id"], id);
    assert!(d["reason"]
        .as_str()
        .unwrap()
        .contains(&format!("review satisfied by approved request {id}")));
    // Exactly that action on that resource.
    let d = check(
        &app,
        &admin,
        "dwight@acme.test",
        "clusters:deploy",
        Some("environments/payments-prod"),
    )
    .await;
    assert_eq!(d["allowed"], false);
    let decided = sink.wait_for("dwight@acme.test", 1).await;
    assert!(decided[0].text().contains("approved"));

    // On the gated target, a reviewer must share a group with it: Erin
    // (support) may review, the owner (no group) may not.
    app.patch(
        &path("resources/targets/prod-db"),
        &admin,
        json!({"review": {"actions": ["targets:exec"]}}),
    )
    .await
    .expect(200, "");
    let t = app
        .post(
            &path("requests"),
            &dwight_t,
            json!({"resource": "targets/prod-db", "action": "targets:exec",
                   "reason": "migration", "duration_seconds": 600}),
        )
        .await
        .expect(201, "")
        .ok();
    let tid = t["id"].as_i64().unwrap();
    app.post(&path(&format!("requests/{tid}/approve")), &owner, json!({}))
        .await
        .expect(403, "forbidden");
    app.post(
        &path(&format!("requests/{tid}/reject")),
        &erin_t,
        json!({"comment": "not now"}),
    )
    .await
    .expect(200, "");
    app.post(&path(&format!("requests/{tid}/approve")), &admin, json!({}))
        .await
        .expect(409, "request_decided");

    // Effective permissions and the resources a member may act on.
    let perms = app
        .get(
            &path(&format!(
                "users/{dwight}/permissions?resource=clusters/eu-1"
            )),
            &admin,
        )
        .await
        .ok();
    let names: Vec<&str> = perms["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["permission"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"clusters:update") && names.contains(&"clusters:deploy"));
    assert!(!names.contains(&"users:invite"));
    let allowed = app
        .get(
            &path("resources?user=dwight@acme.test&action=clusters:update"),
            &admin,
        )
        .await
        .ok();
    assert_eq!(allowed["items"].as_array().unwrap().len(), 1);
    assert_eq!(allowed["items"][0]["key"], "clusters/eu-1");

    // Batch: answers in order, a bad query answered with its error.
    let batch = app
        .post(
            &path("check/batch"),
            &admin,
            json!({"checks": [
                {"user": "dwight@acme.test", "action": "clusters:update", "resource": "clusters/eu-1"},
                {"user": "jim@acme.test", "action": "clusters:update", "resource": "clusters/eu-1"},
                {"user": "jim@acme.test", "action": "clusters:explode"},
            ]}),
        )
        .await
        .ok();
    let r = batch["results"].as_array().unwrap();
    assert_eq!(
        (r[0]["allowed"].clone(), r[1]["allowed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(r[2]["code"], "validation_failed");

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
            events.iter().any(|e| e["action"] == action),
            "{action} is audited"
        );
    }
}

async fn may_update(app: &TestApp, owner: &str) -> Value {
    check(
        app,
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
    build_tree(&app, &owner).await;
    app.post(
        &path("roles"),
        &owner,
        json!({"name": "deployer", "permissions": ["clusters:update"]}),
    )
    .await
    .expect(201, "");
    let allowed = |d: Value| d["allowed"].as_bool().unwrap();
    assert!(!allowed(may_update(&app, &owner).await));

    // A rule for a group he is not in: nothing. Joining the group: allowed.
    let rule = app
        .post(
            &path("access-rules"),
            &owner,
            json!({"group": "dev", "role": "deployer", "resource": "projects/payments"}),
        )
        .await
        .ok();
    assert!(!allowed(may_update(&app, &owner).await));
    app.post(
        &path("groups/dev/members"),
        &owner,
        json!({"user_id": dwight}),
    )
    .await
    .expect(204, "");
    assert!(allowed(may_update(&app, &owner).await));
    // Editing the role takes the permission away at once.
    app.patch(
        &path("roles/deployer"),
        &owner,
        json!({"permissions": ["clusters:read"]}),
    )
    .await
    .expect(200, "");
    assert!(!allowed(may_update(&app, &owner).await));
    app.patch(
        &path("roles/deployer"),
        &owner,
        json!({"permissions": ["clusters:update"]}),
    )
    .await
    .expect(200, "");
    assert!(allowed(may_update(&app, &owner).await));
    // Leaving the group, revoking the rule: denied.
    app.delete(&path(&format!("groups/dev/members/{dwight}")), &owner)
        .await
        .expect(204, "");
    assert!(!allowed(may_update(&app, &owner).await));
    app.post(
        &path("groups/dev/members"),
        &owner,
        json!({"user_id": dwight}),
    )
    .await
    .expect(204, "");
    assert!(allowed(may_update(&app, &owner).await));
    app.delete(&path(&format!("access-rules/{}", rule["id"])), &owner)
        .await
        .expect(204, "");
    assert!(!allowed(may_update(&app, &owner).await));
    // The org role: contributor writes everywhere; disabled, nothing.
    app.patch(
        &path(&format!("users/{dwight}")),
        &owner,
        json!({"role": "contributor"}),
    )
    .await
    .expect(200, "");
    assert!(allowed(may_update(&app, &owner).await));
    app.patch(
        &path(&format!("users/{dwight}")),
        &owner,
        json!({"status": "disabled"}),
    )
    .await
    .expect(200, "");
    let d = may_update(&app, &owner).await;
    assert_eq!(
        (d["allowed"].clone(), d["code"].clone()),
        (json!(false), json!("inactive"))
    );
    // A new type is covered by built-in roles at once.
    // Batches larger than other bodies are taken, up to 10,000 checks.
    let one = json!({"user": OWNER_EMAIL, "action": "clusters:read", "resource": "clusters/eu-1"});
    let many = app
        .post(
            &path("check/batch"),
            &owner,
            json!({"checks": vec![one.clone(); 2000]}),
        )
        .await
        .ok();
    assert_eq!(many["results"].as_array().unwrap().len(), 2000);
    assert_eq!(many["results"][1999]["allowed"], true);
    app.post(
        &path("check/batch"),
        &owner,
        json!({"checks": vec![one; 10_001]}),
    )
    .await
    .expect(422, "batch_too_large");
    let types = app
        .post(
            &path("resource-types"),
            &owner,
            json!({"name": "databases", "description": "Managed databases",
                   "actions": [{"name": "backup", "class": "write"}]}),
        )
        .await
        .ok();
    let db = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "databases")
        .expect("the new type is listed")
        .clone();
    assert_eq!(db["description"], "Managed databases");
    assert_eq!(db["default"], false);
    assert_eq!(db["actions"][0]["class"], "write");
    let d = check(&app, &owner, OWNER_EMAIL, "databases:backup", None).await;
    assert_eq!(d["allowed"], true, "{d}");
    // Deleting the resource: it is unknown to the next check.
    app.delete(&path("resources/clusters/eu-1"), &owner)
        .await
        .expect(204, "");
    app.post(
        &path("check"),
        &owner,
        json!({"user": "dwight@acme.test", "action": "clusters:update", "resource": "clusters/eu-1"}),
    )
    .await
    .expect(422, "validation_failed");
}

async fn bad_input_is_refused_and_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    build_tree(&app, &owner).await;
    let before = app.get(&path("resources?limit=200"), &owner).await.ok();

    for (body, field) in [
        (json!({"key": "spaceships/enterprise"}), "key"),
        (json!({"key": "clusters"}), "key"),
        (json!({"key": "clusters/has space"}), "key"),
        (
            json!({"key": "clusters/eu-2", "parent": "projects/nowhere"}),
            "parent",
        ),
        (
            json!({"key": "clusters/eu-2", "groups": ["nobody"]}),
            "groups",
        ),
        (
            json!({"key": "clusters/eu-2", "review": {"actions": ["clusters:explode"]}}),
            "review.actions",
        ),
        (
            json!({"key": "clusters/eu-2", "review": {"actions": ["clusters:deploy"], "approvals": 0}}),
            "review.approvals",
        ),
    ] {
        let res = app
            .post(&path("resources"), &owner, body.clone())
            .await
            .expect(422, "validation_failed");
        assert_eq!(res.body["errors"][0]["field"], field, "{body}");
    }
    app.post(
        &path("resources"),
        &owner,
        json!({"key": "projects/payments"}),
    )
    .await
    .expect(409, "resource_exists");
    // A cycle: the project under its own cluster.
    let res = app
        .patch(
            &path("resources/projects/payments"),
            &owner,
            json!({"parent": "clusters/eu-1"}),
        )
        .await
        .expect(422, "validation_failed");
    assert!(res.body["detail"]
        .as_str()
        .unwrap()
        .contains("own ancestor"));
    app.patch(
        &path("resources/projects/payments"),
        &owner,
        json!({"parent": "projects/payments"}),
    )
    .await
    .expect(422, "validation_failed");
    // Children keep a parent from going, unless cascading.
    app.delete(&path("resources/projects/payments"), &owner)
        .await
        .expect(409, "resource_has_children");
    assert_eq!(
        app.get(&path("resources?limit=200"), &owner).await.ok(),
        before
    );

    // Roles with unknown permissions; built-in names; checks of nonsense.
    for perms in [
        json!(["clusters:explode"]),
        json!(["nosuch:*"]),
        json!(["*:everything"]),
    ] {
        app.post(
            &path("roles"),
            &owner,
            json!({"name": "weird", "permissions": perms}),
        )
        .await
        .expect(422, "validation_failed");
    }
    app.post(
        &path("roles"),
        &owner,
        json!({"name": "admin", "permissions": []}),
    )
    .await
    .expect(409, "role_exists");
    app.delete(&path("roles/admin"), &owner)
        .await
        .expect(403, "forbidden");
    app.post(
        &path("check"),
        &owner,
        json!({"user": OWNER_EMAIL, "action": "clusters:explode"}),
    )
    .await
    .expect(422, "validation_failed");
    app.post(
        &path("check"),
        &owner,
        json!({"user": OWNER_EMAIL, "action": "clusters:read", "resource": "clusters/nowhere"}),
    )
    .await
    .expect(422, "validation_failed");
    app.post(
        &path("resource-types"),
        &owner,
        json!({"name": "users", "actions": [{"name": "x", "class": "read"}]}),
    )
    .await
    .expect(422, "validation_failed");
    app.post(
        &path("resource-types"),
        &owner,
        json!({"name": "clusters", "actions": [{"name": "deploy", "class": "read"}]}),
    )
    .await
    .expect(422, "validation_failed");
    app.post(
        &path("resource-types"),
        &owner,
        json!({"name": "databases", "actions": [{"name": "backup", "class": "sideways"}]}),
    )
    .await
    .expect(422, "validation_failed");

    // Rules: unknown subject, role, resource; the owner role; both subjects.
    for body in [
        json!({"user": "stranger@else.test", "role": "viewer"}),
        json!({"group": "nobody", "role": "viewer"}),
        json!({"group": "dev", "role": "wizard"}),
        json!({"group": "dev", "role": "viewer", "resource": "clusters/nowhere"}),
        json!({"group": "dev", "role": "owner"}),
    ] {
        app.post(&path("access-rules"), &owner, body.clone())
            .await
            .expect(422, "validation_failed");
    }
    app.post(
        &path("access-rules"),
        &owner,
        json!({"group": "dev", "user": OWNER_EMAIL, "role": "viewer"}),
    )
    .await
    .expect(422, "invalid_input");
    let rules = app.get(&path("access-rules"), &owner).await.ok();
    assert_eq!(rules["items"], json!([]));

    // A role in use is not deleted silently; with a replacement it is.
    app.post(
        &path("roles"),
        &owner,
        json!({"name": "deployer", "permissions": ["clusters:deploy"]}),
    )
    .await
    .expect(201, "");
    let rule = app
        .post(
            &path("access-rules"),
            &owner,
            json!({"group": "dev", "role": "deployer", "resource": "clusters/eu-1"}),
        )
        .await
        .expect(201, "")
        .ok();
    // Granting the same rule again returns it.
    let again = app
        .post(
            &path("access-rules"),
            &owner,
            json!({"group": "dev", "role": "deployer", "resource": "clusters/eu-1"}),
        )
        .await
        .expect(200, "")
        .ok();
    assert_eq!(again["id"], rule["id"]);
    app.delete(&path("roles/deployer"), &owner)
        .await
        .expect(409, "role_in_use");
    let gone = app
        .delete(&path("roles/deployer?replacement=contributor"), &owner)
        .await
        .expect(200, "")
        .ok();
    assert_eq!(gone["rules"], 1);
    let rules = app.get(&path("access-rules?group=dev"), &owner).await.ok();
    assert_eq!(rules["items"][0]["role"], "contributor");

    // A group that gates a resource cannot be deleted under it.
    app.patch(
        &path("resources/clusters/eu-1"),
        &owner,
        json!({"groups": ["dev"]}),
    )
    .await
    .expect(200, "");
    app.delete(&path("groups/dev"), &owner)
        .await
        .expect(409, "group_in_use");

    // Cascading delete takes the subtree and its rules.
    app.delete(&path("resources/projects/payments?cascade=true"), &owner)
        .await
        .expect(204, "");
    let left = app.get(&path("resources"), &owner).await.ok();
    assert_eq!(left["items"], json!([]));
    let rules = app.get(&path("access-rules"), &owner).await.ok();
    assert_eq!(rules["items"], json!([]));
}

async fn nobody_grants_beyond_what_they_hold(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    let (_, lead_t) = app.member(ORG, &owner, "lead@acme.test", "viewer").await;
    let (_, contributor) = app.member(ORG, &owner, "c@acme.test", "contributor").await;
    build_tree(&app, &owner).await;

    // Admins do not hold owners:manage or org:manage, so cannot put them
    // in a role.
    app.post(
        &path("roles"),
        &admin,
        json!({"name": "almost-owner", "permissions": ["owners:manage"]}),
    )
    .await
    .expect(403, "privilege_escalation");
    // A cluster lead: may grant access, holds clusters:* only.
    app.post(
        &path("roles"),
        &owner,
        json!({"name": "cluster-lead", "permissions": ["access:manage", "clusters:*"]}),
    )
    .await
    .expect(201, "");
    for (name, perms) in [
        ("deployer", json!(["clusters:deploy"])),
        ("platform", json!(["cloud-credentials:*", "clusters:*"])),
    ] {
        app.post(
            &path("roles"),
            &owner,
            json!({"name": name, "permissions": perms}),
        )
        .await
        .expect(201, "");
    }
    app.post(
        &path("access-rules"),
        &owner,
        json!({"user": "lead@acme.test", "role": "cluster-lead"}),
    )
    .await
    .expect(201, "");
    // The lead grants what they hold, not more.
    app.post(
        &path("access-rules"),
        &lead_t,
        json!({"group": "dev", "role": "deployer", "resource": "clusters/eu-1"}),
    )
    .await
    .expect(201, "");
    let res = app
        .post(
            &path("access-rules"),
            &lead_t,
            json!({"group": "dev", "role": "platform", "resource": "clusters/eu-1"}),
        )
        .await
        .expect(403, "privilege_escalation");
    assert!(res.body["detail"]
        .as_str()
        .unwrap()
        .contains("cloud-credentials"));
    app.post(
        &path("access-rules"),
        &lead_t,
        json!({"group": "dev", "role": "admin"}),
    )
    .await
    .expect(403, "privilege_escalation");
    // Without access:manage, no grant at all.
    app.post(
        &path("access-rules"),
        &contributor,
        json!({"group": "dev", "role": "viewer"}),
    )
    .await
    .expect(403, "forbidden");
    // The lead's org-wide rule gives them access:manage for management
    // endpoints too, but not roles:manage.
    app.post(
        &path("roles"),
        &lead_t,
        json!({"name": "x", "permissions": ["clusters:read"]}),
    )
    .await
    .expect(403, "forbidden");
}

async fn another_orgs_ids_and_tokens_get_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (dwight, _) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    build_tree(&app, &owner).await;

    // Someone else's org, with its own member and group.
    let (_, stranger) = app
        .member(ORG, &owner, "stranger@acme.test", "viewer")
        .await;
    app.post(
        "/api/v1/orgs",
        &stranger,
        json!({"slug": "globex", "name": "Globex"}),
    )
    .await
    .expect(201, "");
    app.post(
        "/api/v1/orgs/globex/groups",
        &stranger,
        json!({"name": "ops"}),
    )
    .await
    .expect(201, "");
    // Leave acme, so the stranger holds only globex.
    app.post(&path("leave"), &stranger, json!({})).await.ok();

    // Acme's resources, rules and checks are not found for them.
    for p in [
        path("resources"),
        path("resources/clusters/eu-1"),
        path("access-rules"),
        path("requests"),
        path("resource-types"),
        path(&format!("users/{dwight}/permissions")),
    ] {
        app.get(&p, &stranger).await.expect(404, "not_found");
    }
    app.post(
        &path("check"),
        &stranger,
        json!({"user": "dwight@acme.test", "action": "clusters:read"}),
    )
    .await
    .expect(404, "not_found");
    // Acme's ids mean nothing in globex: rules naming acme's group or a
    // member of acme only are refused there.
    app.post(
        "/api/v1/orgs/globex/access-rules",
        &stranger,
        json!({"user": "dwight@acme.test", "role": "viewer"}),
    )
    .await
    .expect(422, "validation_failed");
    app.post(
        "/api/v1/orgs/globex/access-rules",
        &stranger,
        json!({"group": "dev", "role": "viewer"}),
    )
    .await
    .expect(422, "validation_failed");
    // And a check in globex about an acme member says "not a member".
    let d = app
        .post(
            "/api/v1/orgs/globex/check",
            &stranger,
            json!({"user": "dwight@acme.test", "action": "clusters:read"}),
        )
        .await
        .ok();
    assert_eq!(d["code"], "not_member");
    // Acme's resources are unknown in globex.
    app.post(
        "/api/v1/orgs/globex/check",
        &stranger,
        json!({"user": "stranger@acme.test", "action": "clusters:read", "resource": "clusters/eu-1"}),
    )
    .await
    .expect(422, "validation_failed");
}

async fn two_reviewers_racing_decide_a_request_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, dwight) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    let (_, a1) = app.member(ORG, &owner, "a1@acme.test", "admin").await;
    let (_, a2) = app.member(ORG, &owner, "a2@acme.test", "admin").await;
    build_tree(&app, &owner).await;
    for round in 0..3 {
        let req = app
            .post(
                &path("requests"),
                &dwight,
                json!({"resource": "clusters/eu-1", "action": "clusters:deploy",
                       "reason": format!("round {round}"), "duration_seconds": 600}),
            )
            .await
            .ok();
        let id = req["id"].as_i64().unwrap();
        let approve = path(&format!("requests/{id}/approve"));
        let reject = path(&format!("requests/{id}/reject"));
        let (x, y) = tokio::join!(
            app.post(&approve, &a1, json!({})),
            app.post(&reject, &a2, json!({}))
        );
        let ok = [x.status.is_success(), y.status.is_success()];
        assert_eq!(
            ok.iter().filter(|s| **s).count(),
            1,
            "{:?} {:?}",
            x.body,
            y.body
        );
        let loser = if ok[0] { &y } else { &x };
        assert_eq!(loser.code(), "request_decided");
        let shown = app.get(&path(&format!("requests/{id}")), &owner).await.ok();
        assert_eq!(shown["votes"].as_array().unwrap().len(), 1);
        let expected = if ok[0] { "approved" } else { "rejected" };
        assert_eq!(shown["status"], expected);
    }
}
