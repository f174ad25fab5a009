//! API tokens and service accounts: a token acts in one org, with at most
//! what its owner holds there now, and stops at once when revoked or when
//! its owner loses the membership.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{
    CheckRequest, CreateMemberRequest, CreateOrgRequest, GroupRequest, ServiceAccountRequest,
    TokenRequest, UpdateMemberRequest,
};
use serde_json::{json, Value};

both_engines!(
    a_service_accounts_token_calls_the_check_api_and_dies_when_revoked,
    a_narrowed_token_cannot_do_what_its_list_leaves_out,
    a_token_follows_its_owners_rights_on_every_request,
    a_token_never_works_in_another_org,
    a_token_never_touches_its_owners_credentials,
    bad_tokens_and_bad_token_requests_get_clear_errors,
    service_accounts_are_members_that_never_sign_in_and_never_keep_an_org_owned,
    admins_see_and_revoke_every_token_and_owners_are_told,
    a_demotion_racing_with_a_tokens_requests_wins_as_a_whole,
);

fn token_request(name: &str, permissions: Option<&[&str]>) -> TokenRequest {
    TokenRequest {
        name: name.to_owned(),
        permissions: permissions.map(|p| p.iter().map(|s| s.to_string()).collect()),
        expires_at: None,
    }
}

fn check(user: &str, action: &str, resource: Option<&str>) -> CheckRequest {
    CheckRequest {
        user: user.to_owned(),
        action: action.to_owned(),
        resource: resource.map(str::to_owned),
    }
}

fn new_member(email: &str, role: &str) -> CreateMemberRequest {
    serde_json::from_value(json!({ "email": email, "role": role })).unwrap()
}

fn role_update(role: &str) -> UpdateMemberRequest {
    serde_json::from_value(json!({ "role": role })).unwrap()
}

async fn service_account(owner: &Api, name: &str, role: &str) -> i64 {
    owner
        .create_service_account(
            ORG,
            &ServiceAccountRequest {
                name: name.to_owned(),
                role: Some(role.to_owned()),
                description: Some("the deploy platform".to_owned()),
            },
        )
        .await
        .unwrap()
        .id
}

async fn a_service_accounts_token_calls_the_check_api_and_dies_when_revoked(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, _) = app
        .member(ORG, &owner, "dev@acme.test", "contributor")
        .await;
    let sa = service_account(&owner, "platform", "viewer").await;
    let made = owner
        .create_service_account_token(ORG, sa, &token_request("checks", Some(&["users:read"])))
        .await
        .unwrap();
    assert!(made.token.starts_with("rst_"), "scanners recognise it");
    assert!(made.token.len() >= 4 + 22, "at least 128 bits");
    assert_eq!(made.view.owner.email, "platform@acme.service.invalid");
    let platform = app.client_as(&made.token);
    let allowed = platform
        .check(ORG, &check("dev@acme.test", "clusters:update", None))
        .await
        .unwrap();
    assert!(allowed.allowed, "{}", allowed.reason);
    let denied = platform
        .check(ORG, &check("dev@acme.test", "clusters:manage", None))
        .await
        .unwrap();
    assert!(!denied.allowed);
    // Its last use is recorded, without the secret ever being shown again.
    let listed = owner.service_account_tokens(ORG, sa).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(listed.items[0].last_used_at.is_some());
    assert_eq!(listed.items[0].last_used_from.as_deref(), Some("127.0.0.1"));
    assert!(!serde_json::to_string(&listed)
        .unwrap()
        .contains(&made.token));
    // Revoked: the very next request is refused.
    owner.revoke_token(ORG, made.view.id).await.unwrap();
    platform
        .check(ORG, &check("dev@acme.test", "clusters:update", None))
        .await
        .refused(401, "unauthenticated");
    let events = app.audit(ORG, &owner, "action=token.").await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"token.create"), "{actions:?}");
    assert!(actions.contains(&"token.revoke"), "{actions:?}");
    assert!(
        actions.contains(&"token.use_from_new_address"),
        "{actions:?}"
    );
}

async fn a_narrowed_token_cannot_do_what_its_list_leaves_out(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (dev_id, dev) = app
        .member(ORG, &owner, "dev@acme.test", "contributor")
        .await;
    let made = dev
        .create_token(ORG, &token_request("ci", Some(&["clusters:read"])))
        .await
        .unwrap();
    assert_eq!(
        made.view.permissions,
        Some(vec!["clusters:read".to_owned()])
    );
    let ci = app.client_as(&made.token);
    // The contributor may deploy; the token may not.
    let me = dev_id.to_string();
    assert!(
        dev.check(ORG, &check(&me, "clusters:deploy", None))
            .await
            .unwrap()
            .allowed
    );
    let deploy = ci
        .check(ORG, &check(&me, "clusters:deploy", None))
        .await
        .unwrap();
    assert!(!deploy.allowed);
    assert_eq!(deploy.code, "token_limit");
    assert!(
        ci.check(ORG, &check(&me, "clusters:read", None))
            .await
            .unwrap()
            .allowed
    );
    // Its list has no users:read: it may not ask about others, nor read
    // the team.
    ci.check(ORG, &check(OWNER_EMAIL, "clusters:read", None))
        .await
        .refused(403, "forbidden");
    ci.list_members(ORG, &members(""))
        .await
        .refused(403, "forbidden");
    ci.create_group(
        ORG,
        &GroupRequest {
            name: "sneaky".into(),
        },
    )
    .await
    .refused(403, "forbidden");
    // What it holds is what it lists for itself.
    let perms = ci.permissions(ORG, dev_id, None).await.unwrap();
    let names: Vec<&str> = perms
        .permissions
        .iter()
        .map(|p| p.permission.as_str())
        .collect();
    assert_eq!(names, ["clusters:read"]);
}

async fn a_token_follows_its_owners_rights_on_every_request(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (admin_id, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    let made = admin
        .create_token(ORG, &token_request("automation", None))
        .await
        .unwrap();
    let token = app.client_as(&made.token);
    token
        .create_member(ORG, &new_member("one@acme.test", "viewer"))
        .await
        .unwrap();
    // Demoted: the token narrows on its next request.
    owner
        .update_member(ORG, admin_id, &role_update("viewer"))
        .await
        .unwrap();
    token
        .create_member(ORG, &new_member("two@acme.test", "viewer"))
        .await
        .refused(403, "forbidden");
    // Disabled: every token of theirs in the org stops.
    owner
        .update_member(
            ORG,
            admin_id,
            &serde_json::from_value(json!({ "status": "disabled" })).unwrap(),
        )
        .await
        .unwrap();
    token.org(ORG).await.refused(403, "membership_inactive");
    // Removed: the tokens go with the membership, and do not come back if
    // the person is added again.
    owner.delete_member(ORG, admin_id).await.unwrap();
    token.org(ORG).await.refused(401, "unauthenticated");
    owner
        .create_member(ORG, &new_member("admin@acme.test", "admin"))
        .await
        .unwrap();
    token.org(ORG).await.refused(401, "unauthenticated");
}

async fn a_token_never_works_in_another_org(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    owner
        .create_org(&CreateOrgRequest {
            slug: "other".into(),
            name: "Other".into(),
        })
        .await
        .unwrap();
    let made = owner
        .create_token(ORG, &token_request("acme only", None))
        .await
        .unwrap();
    let token = app.client_as(&made.token);
    token.org(ORG).await.unwrap();
    // Every org-scoped route of the API, with the other org's slug: the
    // token's owner is an owner there, yet the token gets nothing.
    let doc: Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut tried = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/orgs/{org}") {
            continue;
        }
        let concrete = path
            .replace("{org}", "other")
            .replace("{id}", "1")
            .replace("{name}", "x")
            .replace("{type}", "clusters")
            .replace("{decision}", "approve");
        for method in ops.as_object().unwrap().keys() {
            let status = raw(&app, method, &concrete, &made.token).await;
            assert!(
                status == 404 || status == 403,
                "{method} {concrete} answered {status} to a token of another org"
            );
            tried += 1;
        }
    }
    assert!(tried > 40, "only {tried} routes tried");
    // The list of orgs shows only the token's org.
    let orgs = token.orgs().await.unwrap();
    let slugs: Vec<&str> = orgs.items.iter().map(|o| o.org.as_str()).collect();
    assert_eq!(slugs, [ORG]);
}

/// Sends a request with a JSON object body and a bearer token; the status.
async fn raw(app: &TestApp, method: &str, path: &str, token: &str) -> u16 {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = app
        .http
        .request(method.clone(), format!("{}{path}", app.base))
        .bearer_auth(token);
    if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
        req = req.json(&json!({}));
    }
    req.send().await.unwrap().status().as_u16()
}

async fn a_token_never_touches_its_owners_credentials(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let made = owner
        .create_token(ORG, &token_request("scripts", None))
        .await
        .unwrap();
    let token = app.client_as(&made.token);
    token
        .change_password(&roster_proto::ChangePasswordRequest {
            current_password: OWNER_PASSWORD.into(),
            new_password: "a-brand-new-password".into(),
        })
        .await
        .refused(403, "session_required");
    token.sessions().await.refused(403, "session_required");
    token.logout().await.refused(403, "session_required");
    token
        .create_token(ORG, &token_request("child", None))
        .await
        .refused(403, "session_required");
    token
        .create_org(&CreateOrgRequest {
            slug: "made-by-token".into(),
            name: "No".into(),
        })
        .await
        .refused(403, "session_required");
    // The password still works: nothing changed.
    app.login(OWNER_EMAIL, OWNER_PASSWORD).await;
}

async fn bad_tokens_and_bad_token_requests_get_clear_errors(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    let (_, contributor) = app
        .member(ORG, &owner, "dev@acme.test", "contributor")
        .await;
    // Viewers may not make tokens (the seed's matrix).
    viewer
        .create_token(ORG, &token_request("nope", None))
        .await
        .refused(403, "forbidden");
    // A token holds no more than its owner.
    contributor
        .create_token(ORG, &token_request("greedy", Some(&["users:manage"])))
        .await
        .refused(403, "privilege_escalation");
    contributor
        .create_token(ORG, &token_request("odd", Some(&["clusters:explode"])))
        .await
        .refused(422, "validation_failed");
    contributor
        .create_token(ORG, &token_request("empty", Some(&[])))
        .await
        .refused(422, "validation_failed");
    contributor
        .create_token(ORG, &token_request("", None))
        .await
        .refused(422, "validation_failed");
    for expires_at in ["2001-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "tomorrow"] {
        let mut req = token_request("when", None);
        req.expires_at = Some(expires_at.to_owned());
        contributor
            .create_token(ORG, &req)
            .await
            .refused(422, "validation_failed");
    }
    assert!(contributor
        .list_tokens(ORG, false)
        .await
        .unwrap()
        .items
        .is_empty());
    // Unknown, malformed and forged tokens.
    for bearer in [
        "rst_not-a-real-token",
        "rst_",
        &format!("rst_{}", "x".repeat(200)),
    ] {
        app.client_as(bearer)
            .org(ORG)
            .await
            .refused(401, "unauthenticated");
    }
    let res = app
        .http
        .get(format!("{}/api/v1/orgs/{ORG}", app.base))
        .header("authorization", "Bearer")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Someone else's token id is not found, whether or not it exists.
    let mine = contributor
        .create_token(ORG, &token_request("mine", None))
        .await
        .unwrap();
    viewer
        .revoke_token(ORG, mine.view.id)
        .await
        .refused(404, "not_found");
    app.client_as(&mine.token).org(ORG).await.unwrap();
}

async fn service_accounts_are_members_that_never_sign_in_and_never_keep_an_org_owned(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let sa = service_account(&owner, "deployer", "owner").await;
    // In the team list, marked as such.
    let page = app.users(ORG, &owner, "").await;
    let row = page
        .items
        .iter()
        .find(|m| m.email == "deployer@acme.service.invalid")
        .unwrap();
    assert!(row.service_account);
    assert_eq!(row.role, "owner");
    // Never signs in with a password.
    app.login_res("deployer@acme.service.invalid", "anything-at-all")
        .await
        .refused(401, "invalid_credentials");
    // A service account never keeps the org owned: the only person who
    // owns it cannot step down.
    let me = owner.me().await.unwrap();
    owner
        .update_member(ORG, me.user.id, &role_update("admin"))
        .await
        .refused(409, "last_owner");
    // Its name is unique in the org; its address is never a person's.
    owner
        .create_service_account(
            ORG,
            &ServiceAccountRequest {
                name: "deployer".into(),
                role: None,
                description: None,
            },
        )
        .await
        .refused(409, "service_account_exists");
    owner
        .create_member(ORG, &new_member("someone@acme.service.invalid", "viewer"))
        .await
        .refused(422, "validation_failed");
    // Deleting it deletes its tokens.
    let made = owner
        .create_service_account_token(ORG, sa, &token_request("t", None))
        .await
        .unwrap();
    app.client_as(&made.token).org(ORG).await.unwrap();
    owner.delete_service_account(ORG, sa).await.unwrap();
    app.client_as(&made.token)
        .org(ORG)
        .await
        .refused(401, "unauthenticated");
    assert!(owner
        .list_service_accounts(ORG)
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn admins_see_and_revoke_every_token_and_owners_are_told(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, dev) = app
        .member(ORG, &owner, "dev@acme.test", "contributor")
        .await;
    let made = dev
        .create_token(ORG, &token_request("laptop", None))
        .await
        .unwrap();
    // The contributor sees only their own; asking for all needs users:manage.
    dev.list_tokens(ORG, true).await.refused(403, "forbidden");
    let all = owner.list_tokens(ORG, true).await.unwrap();
    assert_eq!(all.items.len(), 1);
    assert_eq!(all.items[0].owner.email, "dev@acme.test");
    assert_eq!(all.items[0].name, "laptop");
    owner.revoke_token(ORG, made.view.id).await.unwrap();
    app.client_as(&made.token)
        .org(ORG)
        .await
        .refused(401, "unauthenticated");
    let mail = app.mail_to("dev@acme.test").await;
    let told = mail.iter().find(|m| m.kind == "token_revoked").unwrap();
    assert!(told.body_text.contains("laptop") && told.body_text.contains(OWNER_EMAIL));
}

async fn a_demotion_racing_with_a_tokens_requests_wins_as_a_whole(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (admin_id, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    let made = admin
        .create_token(ORG, &token_request("bulk", None))
        .await
        .unwrap();
    let token = app.client_as(&made.token);
    let creates = (0..12).map(|i| {
        let token = token.clone();
        async move {
            token
                .create_group(
                    ORG,
                    &GroupRequest {
                        name: format!("g{i}"),
                    },
                )
                .await
                .is_ok()
        }
    });
    let demote = async {
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        owner
            .update_member(ORG, admin_id, &role_update("viewer"))
            .await
            .unwrap();
    };
    let (results, ()) = tokio::join!(futures::future::join_all(creates), demote);
    // Every group the token made was made before the demotion (the org's
    // lock orders them), none after: by the audit log's order.
    let events = app.audit(ORG, &owner, "").await;
    let demoted_at = events
        .iter()
        .find(|e| e.action == "member.update")
        .map(|e| e.id)
        .unwrap();
    let made_groups: Vec<i64> = events
        .iter()
        .filter(|e| e.action == "group.create")
        .map(|e| e.id)
        .collect();
    assert_eq!(made_groups.len(), results.iter().filter(|ok| **ok).count());
    assert!(made_groups.iter().all(|id| *id < demoted_at));
    token
        .create_group(
            ORG,
            &GroupRequest {
                name: "after".into(),
            },
        )
        .await
        .refused(403, "forbidden");
}
