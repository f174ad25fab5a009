//! Organizations: create, show, settings, leave, personal orgs, first start.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(
    creating_an_org_makes_the_creator_its_owner,
    settings_are_validated_and_audited,
    personal_orgs_cannot_be_left_or_shared,
    members_may_leave_and_the_team_list_forgets_them,
    the_setup_link_creates_the_first_owner_once,
);

async fn creating_an_org_makes_the_creator_its_owner(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let org = app
        .post(
            "/api/v1/orgs",
            &owner,
            json!({"slug": "initech", "name": "Initech"}),
        )
        .await
        .expect(201, "")
        .ok();
    assert_eq!(org["your_role"], "owner");
    assert_eq!(org["settings"]["invitation_ttl_seconds"], 86400);
    let list = app.get("/api/v1/orgs", &owner).await.ok();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["org"] == "initech" && m["role"] == "owner"));
    app.post(
        "/api/v1/orgs",
        &owner,
        json!({"slug": "initech", "name": "Again"}),
    )
    .await
    .expect(409, "slug_taken");
    app.post(
        "/api/v1/orgs",
        &owner,
        json!({"slug": "personal-99", "name": "Sneaky"}),
    )
    .await
    .expect(422, "validation_failed");
    app.post(
        "/api/v1/orgs",
        &owner,
        json!({"slug": "Bad Slug", "name": "x"}),
    )
    .await
    .expect(422, "validation_failed");
    let events = app.audit("initech", &owner, "action=org.create").await;
    assert_eq!(events.len(), 1);
}

async fn settings_are_validated_and_audited(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let path = format!("/api/v1/orgs/{ORG}");
    let org = app
        .patch(&path, &owner, json!({"name": "Acme Corp", "allowed_domains": ["Acme.test", "@acme.io"],
            "self_registration": true, "invitation_ttl_seconds": 3600, "mfa_policy": "required", "default_role": "contributor"}))
        .await
        .ok();
    assert_eq!(org["name"], "Acme Corp");
    assert_eq!(
        org["settings"]["allowed_domains"],
        json!(["acme.io", "acme.test"])
    );
    assert_eq!(org["settings"]["self_registration"], true);
    assert_eq!(org["settings"]["mfa_policy"], "required");
    assert_eq!(org["settings"]["default_role"], "contributor");
    for bad in [
        json!({"allowed_domains": ["not a domain"]}),
        json!({"invitation_ttl_seconds": 5}),
        json!({"mfa_policy": "sometimes"}),
        json!({"default_role": "owner"}),
        json!({"default_role": "wizard"}),
        json!({"name": ""}),
    ] {
        app.patch(&path, &owner, bad)
            .await
            .expect(422, "validation_failed");
    }
    // An admin manages sign-up settings but not the name.
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    app.patch(&path, &admin, json!({"self_registration": false}))
        .await
        .ok();
    app.patch(&path, &admin, json!({"name": "Admin's Acme"}))
        .await
        .expect(403, "forbidden");
    assert_eq!(app.get(&path, &owner).await.ok()["name"], "Acme Corp");
    assert_eq!(app.audit(ORG, &owner, "action=org.update").await.len(), 2);
}

async fn personal_orgs_cannot_be_left_or_shared(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let me = app.get("/api/v1/me", &owner).await.ok();
    let personal = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["personal"] == true)
        .unwrap()["org"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/orgs/{personal}/leave"), &owner, json!({}))
        .await
        .expect(409, "personal_org");
    app.post(
        &format!("/api/v1/orgs/{personal}/users"),
        &owner,
        json!({"email": "friend@acme.test"}),
    )
    .await
    .expect(409, "personal_org");
    let org = app
        .get(&format!("/api/v1/orgs/{personal}"), &owner)
        .await
        .ok();
    assert_eq!(org["personal"], true);
    assert_eq!(
        org["warnings"],
        json!([]),
        "no second-owner advice for a personal org"
    );
}

async fn members_may_leave_and_the_team_list_forgets_them(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, viewer) = app.member(ORG, &owner, "leaver@acme.test", "viewer").await;
    app.post(&format!("/api/v1/orgs/{ORG}/leave"), &viewer, json!({}))
        .await
        .expect(204, "");
    app.get(&format!("/api/v1/orgs/{ORG}"), &viewer)
        .await
        .expect(404, "not_found");
    assert!(emails(&app.users(ORG, &owner, "email=leaver").await).is_empty());
    let events = app.audit(ORG, &owner, "action=member.leave").await;
    assert_eq!(events[0]["actor"]["email"], "leaver@acme.test");
}

async fn the_setup_link_creates_the_first_owner_once(engine: Engine) {
    let app = spawn_with(
        engine,
        Spawn {
            bootstrap: false,
            smtp_url: None,
        },
    )
    .await;
    let token = app.app.new_setup_token().await.unwrap();
    let body = |t: &str| {
        json!({"token": t, "org_slug": "first", "org_name": "First", "email": "boss@first.test",
        "name": "The Boss", "password": "boss-password-1"})
    };
    let res = app
        .send(
            reqwest::Method::POST,
            "/api/v1/setup",
            None,
            Some(body("rsu_wrong")),
        )
        .await;
    res.expect(404, "invalid_link");
    let res = app
        .send(
            reqwest::Method::POST,
            "/api/v1/setup",
            None,
            Some(body(&token)),
        )
        .await;
    res.expect(201, "");
    let again = app
        .send(
            reqwest::Method::POST,
            "/api/v1/setup",
            None,
            Some(body(&token)),
        )
        .await;
    again.expect(404, "invalid_link");
    let boss = app.login("boss@first.test", "boss-password-1").await;
    let org = app.get("/api/v1/orgs/first", &boss).await.ok();
    assert_eq!(org["your_role"], "owner");
    // The HTML form works too, and says when the link is spent.
    let page = app
        .http
        .get(format!("{}/setup?token={token}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<form") && page.contains(&token));
    let fresh = app.app.new_setup_token().await.unwrap();
    let res = app
        .http
        .post(format!("{}/setup", app.base))
        .form(&[
            ("token", fresh.as_str()),
            ("org_slug", "second"),
            ("org_name", "Second"),
            ("email", "x@second.test"),
            ("name", "X"),
            ("password", "x-password-123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("already set up"));
}
