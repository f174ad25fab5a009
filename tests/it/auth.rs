//! Signing in: tokens, cookies, throttling, temporary passwords, sessions.

use crate::both_engines;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

both_engines!(
    bootstrap_owner_signs_in_and_sees_their_orgs,
    wrong_password_and_unknown_email_get_the_same_answer,
    failed_sign_ins_are_throttled_per_account,
    temporary_password_must_be_changed_before_anything_else,
    logout_ends_the_session_and_forged_tokens_are_refused,
    session_cookie_authenticates_like_the_bearer_header,
    password_change_ends_other_sessions,
);

async fn bootstrap_owner_signs_in_and_sees_their_orgs(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.login_res(OWNER_EMAIL, OWNER_PASSWORD).await.ok();
    assert_eq!(res["password_change_required"], false);
    assert!(res["token"].as_str().unwrap().starts_with("rss_"));
    let token = res["token"].as_str().unwrap();
    let me = app.get("/api/v1/me", token).await.ok();
    assert_eq!(me["user"]["email"], OWNER_EMAIL);
    let orgs: Vec<(String, String, bool)> = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["org"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
                m["personal"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        orgs.contains(&(ORG.into(), "owner".into(), false)),
        "{orgs:?}"
    );
    assert!(orgs
        .iter()
        .any(|(slug, role, personal)| slug.starts_with("personal-")
            && role == "owner"
            && *personal));
}

async fn wrong_password_and_unknown_email_get_the_same_answer(engine: Engine) {
    let app = spawn_app(engine).await;
    let wrong = app
        .login_res(OWNER_EMAIL, "not-the-password")
        .await
        .expect(401, "invalid_credentials");
    let unknown = app
        .login_res("nobody@acme.test", "not-the-password")
        .await
        .expect(401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
    app.login_res("not an email", "x")
        .await
        .expect(401, "invalid_credentials");
    // Case and spaces in the email do not matter.
    app.login_res("  OWNER@Acme.Test ", OWNER_PASSWORD)
        .await
        .ok();
}

async fn failed_sign_ins_are_throttled_per_account(engine: Engine) {
    let app = spawn_app(engine).await;
    for _ in 0..5 {
        app.login_res(OWNER_EMAIL, "wrong-password")
            .await
            .expect(401, "invalid_credentials");
    }
    let locked = app
        .login_res(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .expect(429, "too_many_attempts");
    assert!(locked.headers.get("retry-after").is_some());
    // Unknown accounts are throttled the same way, revealing nothing.
    for _ in 0..5 {
        app.login_res("ghost@acme.test", "wrong-password")
            .await
            .expect(401, "invalid_credentials");
    }
    app.login_res("ghost@acme.test", "wrong-password")
        .await
        .expect(429, "too_many_attempts");
}

async fn temporary_password_must_be_changed_before_anything_else(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let created = app
        .post(
            &format!("/api/v1/orgs/{ORG}/users"),
            &owner,
            json!({"email": "temp@acme.test", "name": "Temp"}),
        )
        .await
        .ok();
    let temp = created["temporary_password"]
        .as_str()
        .expect("temporary password shown once")
        .to_owned();
    assert_eq!(created["account_created"], true);
    let login = app.login_res("temp@acme.test", &temp).await.ok();
    assert_eq!(login["password_change_required"], true);
    let token = login["token"].as_str().unwrap();
    app.get("/api/v1/me", token)
        .await
        .expect(403, "password_change_required");
    app.get(&format!("/api/v1/orgs/{ORG}/users"), token)
        .await
        .expect(403, "password_change_required");
    app.post(
        "/api/v1/me/password",
        token,
        json!({"current_password": "wrong", "new_password": "a-new-password-1"}),
    )
    .await
    .expect(401, "invalid_credentials");
    app.post(
        "/api/v1/me/password",
        token,
        json!({"current_password": temp, "new_password": "short"}),
    )
    .await
    .expect(422, "validation_failed");
    app.post(
        "/api/v1/me/password",
        token,
        json!({"current_password": temp, "new_password": "a-new-password-1"}),
    )
    .await
    .expect(204, "");
    app.get("/api/v1/me", token).await.ok();
    app.login_res("temp@acme.test", &temp)
        .await
        .expect(401, "invalid_credentials");
    app.login_res("temp@acme.test", "a-new-password-1")
        .await
        .ok();
}

async fn logout_ends_the_session_and_forged_tokens_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.owner().await;
    app.send(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await
        .expect(204, "");
    app.get("/api/v1/me", &token)
        .await
        .expect(401, "unauthenticated");
    app.get("/api/v1/me", "rss_forged-token-value")
        .await
        .expect(401, "unauthenticated");
    app.get("/api/v1/me", "garbage")
        .await
        .expect(401, "unauthenticated");
    app.send(Method::GET, "/api/v1/me", None, None)
        .await
        .expect(401, "unauthenticated");
    let res = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn session_cookie_authenticates_like_the_bearer_header(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

async fn password_change_ends_other_sessions(engine: Engine) {
    let app = spawn_app(engine).await;
    let a = app.owner().await;
    let b = app.owner().await;
    let sessions = app.get("/api/v1/me/sessions", &a).await.ok();
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    app.post(
        "/api/v1/me/password",
        &a,
        json!({"current_password": OWNER_PASSWORD, "new_password": "another-password-9"}),
    )
    .await
    .expect(204, "");
    app.get("/api/v1/me", &a).await.ok();
    app.get("/api/v1/me", &b)
        .await
        .expect(401, "unauthenticated");
    let events = app.audit(ORG, &a, "").await;
    assert!(
        events.iter().all(|e| e["action"] != "user.password_change"),
        "account events are not org events"
    );
}
