//! The conventions of `gh` and `vault` that scripts lean on: one JSON shape
//! for every list (`{"items": [...], "next_cursor": ...}`, on the API and
//! under `roster --output json`), members named by email as well as id, and
//! action endpoints that take no body.

use crate::both_engines;
use crate::helpers::*;
use reqwest::Method;
use roster_proto::{SignupRequest, UpdateOrgRequest};
use serde_json::{json, Value};
use std::process::Output;

/// Runs `roster ARGS` against `server` with the config dir `config`.
fn roster(server: &Server, config: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    run_cli(&server.url, config, None, args, stdin)
}

#[track_caller]
fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_list_prints_items_and_next_cursor_under_output_json() {
    let server = serve();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();
    ok(roster(
        &server,
        cfg,
        &[
            "login",
            "--email",
            "boss@dundermifflin.com",
            "--password-stdin",
        ],
        "boss-password-1\n",
    ));
    ok(roster(&server, cfg, &["orgs", "switch", "dunder"], ""));
    ok(roster(&server, cfg, &["groups", "create", "sre"], ""));
    let sa: Value = serde_json::from_str(&ok(roster(
        &server,
        cfg,
        &[
            "service-accounts",
            "create",
            "deploy",
            "--role",
            "viewer",
            "--output",
            "json",
        ],
        "",
    )))
    .unwrap();
    let sa_id = sa["id"].as_i64().expect("a service account id").to_string();

    let lists: &[&[&str]] = &[
        &["orgs", "list"],
        &["users", "list"],
        &["groups", "list"],
        &["roles", "list"],
        &["resource-types", "list"],
        &["resources", "list"],
        &["access", "list"],
        &["invitations", "list"],
        &["requests", "list"],
        &["tokens", "list"],
        &["service-accounts", "list"],
        &["service-accounts", "tokens", "list", &sa_id],
        &["audit", "list"],
        &["audit", "me"],
        &["webhooks", "list"],
        &["sessions", "list"],
        &["outbox", "undelivered"],
    ];
    for args in lists {
        let args = [*args, &["--output", "json"]].concat();
        let out = ok(roster(&server, cfg, &args, ""));
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("roster {}: not JSON ({e}): {out}", args.join(" ")));
        assert!(
            v["items"].is_array() && v.get("next_cursor").is_some(),
            "roster {} prints {{items, next_cursor}}: {out}",
            args.join(" ")
        );
    }
    // The lists that are never paged say so with a null cursor.
    for args in [["groups", "list"], ["orgs", "list"]] {
        let args = [&args[..], &["--output", "json"]].concat();
        let v: Value = serde_json::from_str(&ok(roster(&server, cfg, &args, ""))).unwrap();
        assert_eq!(v["next_cursor"], Value::Null, "{v}");
        assert!(!v["items"].as_array().unwrap().is_empty(), "{v}");
    }
}

#[test]
fn members_are_named_by_email_as_well_as_id_on_the_command_line() {
    let server = serve();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();
    ok(roster(
        &server,
        cfg,
        &[
            "login",
            "--email",
            "boss@dundermifflin.com",
            "--password-stdin",
        ],
        "boss-password-1\n",
    ));
    ok(roster(&server, cfg, &["orgs", "switch", "dunder"], ""));
    ok(roster(
        &server,
        cfg,
        &["users", "create", "--email", "pam@dundermifflin.com"],
        "",
    ));
    ok(roster(
        &server,
        cfg,
        &["users", "create", "--email", "pamela@dundermifflin.com"],
        "",
    ));
    ok(roster(&server, cfg, &["groups", "create", "sre"], ""));

    // The email filter matches substrings; the name must match exactly, in
    // any case.
    let shown: Value = serde_json::from_str(&ok(roster(
        &server,
        cfg,
        &["users", "show", "PAM@dundermifflin.com", "--output", "json"],
        "",
    )))
    .unwrap();
    assert_eq!(shown["email"], "pam@dundermifflin.com");
    let pam_id = shown["id"].as_i64().unwrap();
    ok(roster(
        &server,
        cfg,
        &[
            "users",
            "update",
            "--id",
            "pam@dundermifflin.com",
            "--team",
            "sales",
        ],
        "",
    ));
    ok(roster(
        &server,
        cfg,
        &["groups", "add", "sre", "--user", "pam@dundermifflin.com"],
        "",
    ));
    let listed: Value = serde_json::from_str(&ok(roster(
        &server,
        cfg,
        &["users", "list", "--group", "sre", "--output", "json"],
        "",
    )))
    .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["id"], pam_id);
    assert_eq!(listed["items"][0]["team"], "sales");

    // An address nobody in the org has is a clear one-line error.
    let out = roster(
        &server,
        cfg,
        &["users", "delete", "nobody@dundermifflin.com", "--yes"],
        "",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("nobody@dundermifflin.com"),
        "{err}"
    );

    ok(roster(
        &server,
        cfg,
        &["users", "delete", "pam@dundermifflin.com", "--yes"],
        "",
    ));
    let left: Value = serde_json::from_str(&ok(roster(
        &server,
        cfg,
        &["users", "list", "--email", "pam", "--output", "json"],
        "",
    )))
    .unwrap();
    let emails: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["pamela@dundermifflin.com"]);
}

both_engines!(
    the_list_of_orgs_is_a_page_like_every_list,
    action_endpoints_take_no_body_as_well_as_an_empty_object,
);

async fn the_list_of_orgs_is_a_page_like_every_list(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let body = app.get("/api/v1/orgs", &owner).await.ok();
    assert_eq!(body["next_cursor"], Value::Null, "{body}");
    let slugs: Vec<&str> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["org"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&ORG), "{body}");
    let typed = owner.orgs().await.unwrap();
    assert!(typed.items.iter().any(|m| m.org == ORG));
    // The OpenAPI document says so too.
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .ok();
    let schema = doc["paths"]["/api/v1/orgs"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]
        .to_string();
    assert!(
        schema.contains("Page") || schema.contains("next_cursor"),
        "{schema}"
    );
}

async fn action_endpoints_take_no_body_as_well_as_an_empty_object(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    owner
        .update_org(
            ORG,
            &UpdateOrgRequest {
                self_registration: Some(true),
                allowed_domains: Some(vec!["dm.test".into()]),
                default_role: Some("viewer".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for email in ["kevin@dm.test", "oscar@dm.test"] {
        app.client()
            .signup(&SignupRequest {
                org: ORG.into(),
                email: email.into(),
                name: "Applicant".into(),
                password: "applicant-pw-123".into(),
            })
            .await
            .unwrap();
        app.confirm_signup_from_outbox(email).await;
    }
    let waiting = app.users(ORG, &owner, "status=reviewing").await;
    let id = |email: &str| {
        waiting
            .items
            .iter()
            .find(|m| m.email == email)
            .and_then(|m| m.id)
            .unwrap()
    };
    let (kevin, oscar) = (id("kevin@dm.test"), id("oscar@dm.test"));

    // No body and no Content-Type: the action with no options.
    let approved = app
        .send(
            Method::POST,
            &format!("/api/v1/orgs/{ORG}/users/{kevin}/approve"),
            Some(owner.token()),
            None,
        )
        .await
        .ok();
    assert_eq!(
        (approved["status"].as_str(), approved["role"].as_str()),
        (Some("active"), Some("viewer")),
        "{approved}"
    );
    // `{}` says the same.
    let approved = app
        .post(
            &format!("/api/v1/orgs/{ORG}/users/{oscar}/approve"),
            &owner,
            json!({}),
        )
        .await
        .ok();
    assert_eq!(approved["status"], "active");

    // A body that is not JSON is still refused, typed or not.
    app.send(
        Method::POST,
        &format!("/api/v1/orgs/{ORG}/users/{oscar}/approve"),
        Some(owner.token()),
        Some(json!("not an object")),
    )
    .await
    .expect(422, "invalid_body");
    let untyped = app
        .http
        .post(format!("{}/api/v1/orgs/{ORG}/requests/1/approve", app.base))
        .bearer_auth(owner.token())
        .body("comment=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status().as_u16(), 415);

    // Review decisions, resend and reject reach the use case without a
    // body: the answer is about the request (there is none), not the body.
    for action in ["approve", "reject"] {
        let path = format!("/api/v1/orgs/{ORG}/requests/999/{action}");
        app.send(Method::POST, &path, Some(owner.token()), None)
            .await
            .expect(404, "not_found");
        app.post(&path, &owner, json!({}))
            .await
            .expect(404, "not_found");
    }
    // The OpenAPI document says the options are optional.
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .ok();
    for path in [
        "/api/v1/orgs/{org}/users/{id}/approve",
        "/api/v1/orgs/{org}/requests/{id}/approve",
        "/api/v1/orgs/{org}/requests/{id}/reject",
    ] {
        let body = &doc["paths"][path]["post"]["requestBody"];
        assert!(body.is_object(), "{path} documents its body");
        assert_ne!(body["required"], json!(true), "{path}: {body}");
    }

    for path in [
        format!("/api/v1/orgs/{ORG}/invitations/999/resend"),
        format!("/api/v1/orgs/{ORG}/users/999/reject"),
    ] {
        app.send(Method::POST, &path, Some(owner.token()), None)
            .await
            .expect(404, "not_found");
        app.post(&path, &owner, json!({}))
            .await
            .expect(404, "not_found");
    }
}
