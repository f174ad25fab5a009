//! Signing in: tokens, cookies, throttling, temporary passwords, sessions.

use crate::both_engines;
use crate::helpers::*;
use reqwest::Method;
use roster_proto::{ChangePasswordRequest, CreateMemberRequest};
use roster_server::app::ManualClock;
use serde_json::json;

both_engines!(
    bootstrap_owner_signs_in_and_sees_their_orgs,
    wrong_password_and_unknown_email_get_the_same_answer,
    failed_sign_ins_are_throttled_per_account,
    temporary_password_must_be_changed_before_anything_else,
    logout_ends_the_session_and_forged_tokens_are_refused,
    the_api_never_reads_the_session_cookie,
    password_change_ends_other_sessions,
    concurrent_sign_ins_check_only_the_allowed_number,
    the_owner_signs_in_from_a_clean_client_while_another_is_locked_out,
    lockouts_back_off_and_a_success_starts_over,
    attempts_refused_for_their_account_do_not_count_against_the_address,
    forwarding_headers_are_believed_only_from_trusted_proxies,
);

async fn bootstrap_owner_signs_in_and_sees_their_orgs(engine: Engine) {
    let app = spawn_app(engine).await;
    let res = app.login_res(OWNER_EMAIL, OWNER_PASSWORD).await.unwrap();
    assert!(!res.password_change_required);
    assert!(res.token.starts_with("rss_"));
    let me = app.client_as(&res.token).me().await.unwrap();
    assert_eq!(me.user.email, OWNER_EMAIL);
    let orgs: Vec<(String, String, bool)> = me
        .memberships
        .iter()
        .map(|m| (m.org.clone(), m.role.clone(), m.personal))
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
        .refused(401, "invalid_credentials");
    let unknown = app
        .login_res("nobody@acme.test", "not-the-password")
        .await
        .refused(401, "invalid_credentials");
    assert_eq!(as_json(&wrong), as_json(&unknown));
    app.login_res("not an email", "x")
        .await
        .refused(401, "invalid_credentials");
    // Case and spaces in the email do not matter.
    app.login_res("  OWNER@Acme.Test ", OWNER_PASSWORD)
        .await
        .unwrap();
}

async fn failed_sign_ins_are_throttled_per_account(engine: Engine) {
    let app = spawn_app(engine).await;
    for _ in 0..5 {
        app.login_res(OWNER_EMAIL, "wrong-password")
            .await
            .refused(401, "invalid_credentials");
    }
    // A raw request, to read the Retry-After header.
    let locked = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD})),
        )
        .await
        .expect(429, "too_many_attempts");
    assert!(locked.headers.get("retry-after").is_some());
    // Unknown accounts are throttled the same way, revealing nothing.
    for _ in 0..5 {
        app.login_res("ghost@acme.test", "wrong-password")
            .await
            .refused(401, "invalid_credentials");
    }
    app.login_res("ghost@acme.test", "wrong-password")
        .await
        .refused(429, "too_many_attempts");
}

fn new_password(current: &str, new: &str) -> ChangePasswordRequest {
    ChangePasswordRequest {
        current_password: current.into(),
        new_password: new.into(),
    }
}

async fn temporary_password_must_be_changed_before_anything_else(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let body = CreateMemberRequest {
        email: "temp@acme.test".into(),
        name: Some("Temp".into()),
        ..Default::default()
    };
    let created = owner.create_member(ORG, &body).await.unwrap();
    let temp = created
        .temporary_password
        .expect("temporary password shown once");
    assert!(created.account_created);
    let login = app.login_res("temp@acme.test", &temp).await.unwrap();
    assert!(login.password_change_required);
    let temp_session = app.client_as(&login.token);
    temp_session
        .me()
        .await
        .refused(403, "password_change_required");
    temp_session
        .list_members(ORG, &members(""))
        .await
        .refused(403, "password_change_required");
    temp_session
        .change_password(&new_password("wrong", "a-new-password-1"))
        .await
        .refused(401, "invalid_credentials");
    temp_session
        .change_password(&new_password(&temp, "short"))
        .await
        .refused(422, "validation_failed");
    temp_session
        .change_password(&new_password(&temp, "a-new-password-1"))
        .await
        .unwrap();
    temp_session.answered(204);
    temp_session.me().await.unwrap();
    app.login_res("temp@acme.test", &temp)
        .await
        .refused(401, "invalid_credentials");
    app.login_res("temp@acme.test", "a-new-password-1")
        .await
        .unwrap();
}

async fn logout_ends_the_session_and_forged_tokens_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    owner.logout().await.unwrap();
    owner.answered(204);
    owner.me().await.refused(401, "unauthenticated");
    for token in ["rss_forged-token-value", "garbage"] {
        app.client_as(token)
            .me()
            .await
            .refused(401, "unauthenticated");
    }
    app.client().me().await.refused(401, "unauthenticated");
    // A raw request: the typed client sends only bearer tokens.
    let res = app
        .http
        .get(format!("{}/api/v1/me", app.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// The API takes bearer tokens only. A browser sends the console's cookie
/// with any request to this host, also one made by a page on another
/// origin; were the API to read it, such a page could act for the person
/// (here: make a member leave with a POST that needs no body).
async fn the_api_never_reads_the_session_cookie(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, dwight) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    let res = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "the API sets no cookie"
    );
    // The cookie the console would hold for Dwight's session.
    let cookie = format!("roster_session={}", dwight.token());
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/me".to_owned()),
        (reqwest::Method::POST, format!("/api/v1/orgs/{ORG}/leave")),
        (reqwest::Method::POST, "/api/v1/auth/logout".to_owned()),
    ] {
        let res = app
            .http
            .request(method.clone(), format!("{}{path}", app.base))
            .header("cookie", &cookie)
            .header("origin", "http://127.0.0.1:1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{method} {path}");
    }
    // Nothing happened: Dwight is still a member and still signed in.
    assert_eq!(
        emails(&app.users(ORG, &owner, "email=dwight").await),
        ["dwight@acme.test"]
    );
    dwight.me().await.unwrap();
}

async fn password_change_ends_other_sessions(engine: Engine) {
    let app = spawn_app(engine).await;
    let a = app.owner().await;
    let b = app.owner().await;
    assert_eq!(a.sessions().await.unwrap().len(), 2);
    a.change_password(&new_password(OWNER_PASSWORD, "another-password-9"))
        .await
        .unwrap();
    a.answered(204);
    a.me().await.unwrap();
    b.me().await.refused(401, "unauthenticated");
    let events = app.audit(ORG, &a, "").await;
    assert!(
        events.iter().all(|e| e.action != "user.password_change"),
        "account events are not org events"
    );
}

/// Signs in as the client `client` behind the trusted proxy (loopback)
/// through a raw request: the status and the problem code.
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> (u16, String) {
    let res = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

/// Issue 14, finding 1: 40 simultaneous guesses on one account are counted
/// before any password is checked, so exactly five are checked.
async fn concurrent_sign_ins_check_only_the_allowed_number(engine: Engine) {
    let app = spawn_app(engine).await;
    let answers = futures::future::join_all((0..40).map(|i| {
        let app = &app;
        async move {
            let password = format!("wrong-password-{i}");
            app.login_res(OWNER_EMAIL, &password)
                .await
                .err()
                .and_then(|e| e.status())
        }
    }))
    .await;
    let checked = answers.iter().filter(|a| **a == Some(401)).count();
    let refused = answers.iter().filter(|a| **a == Some(429)).count();
    assert_eq!((checked, refused), (5, 35), "{answers:?}");
    // The right password from the same client waits too.
    app.login_res(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .refused(429, "too_many_attempts");
}

/// Issue 14, finding 3: someone who knows the owner's email locks out only
/// their own client; the owner signs in from another.
async fn the_owner_signs_in_from_a_clean_client_while_another_is_locked_out(engine: Engine) {
    let app = spawn_behind_proxy(engine, ManualClock::default()).await;
    let attacker = "203.0.113.66";
    for _ in 0..5 {
        let a = login_from(&app, attacker, OWNER_EMAIL, "wrong-password").await;
        assert_eq!(a, (401, "invalid_credentials".into()));
    }
    let a = login_from(&app, attacker, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(a, (429, "too_many_attempts".into()));
    let owner = login_from(&app, "198.51.100.7", OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(owner.0, 200);
    // The attacker is still refused, with the right password too.
    let a = login_from(&app, attacker, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(a, (429, "too_many_attempts".into()));
}

/// Each lockout of the same account and client doubles the wait; a
/// success starts over.
async fn lockouts_back_off_and_a_success_starts_over(engine: Engine) {
    let clock = ManualClock::default();
    let app = spawn_behind_proxy(engine, clock.clone()).await;
    let me = "192.0.2.10";
    let fail_five = || async {
        for _ in 0..5 {
            let a = login_from(&app, me, OWNER_EMAIL, "wrong-password").await;
            assert_eq!(a.0, 401);
        }
        let a = login_from(&app, me, OWNER_EMAIL, "wrong-password").await;
        assert_eq!(a.0, 429);
    };
    let minute = std::time::Duration::from_secs(60);
    fail_five().await;
    clock.advance(15 * minute);
    // Second lockout: 30 minutes.
    fail_five().await;
    clock.advance(16 * minute);
    assert_eq!(
        login_from(&app, me, OWNER_EMAIL, OWNER_PASSWORD).await.0,
        429
    );
    clock.advance(15 * minute);
    assert_eq!(
        login_from(&app, me, OWNER_EMAIL, OWNER_PASSWORD).await.0,
        200
    );
    // After a success the window is 15 minutes again.
    fail_five().await;
    clock.advance(15 * minute);
    assert_eq!(
        login_from(&app, me, OWNER_EMAIL, OWNER_PASSWORD).await.0,
        200
    );
}

/// The keys of an attempt are counted in one statement, as if one after
/// another: an attempt refused for its account and client stops there and
/// is not counted against its address. Five wrong passwords and 46 refused
/// attempts from one address would be 51 against the address's 50 if they
/// were; the address still tries another account.
async fn attempts_refused_for_their_account_do_not_count_against_the_address(engine: Engine) {
    let app = spawn_behind_proxy(engine, ManualClock::default()).await;
    let me = "192.0.2.44";
    for _ in 0..5 {
        let a = login_from(&app, me, OWNER_EMAIL, "wrong-password").await;
        assert_eq!(a, (401, "invalid_credentials".into()));
    }
    for _ in 0..46 {
        let a = login_from(&app, me, OWNER_EMAIL, OWNER_PASSWORD).await;
        assert_eq!(a, (429, "too_many_attempts".into()));
    }
    let other = login_from(&app, me, "someone-else@acme.test", "wrong-password").await;
    assert_eq!(other, (401, "invalid_credentials".into()));
}

/// Without trusted proxies, X-Forwarded-For is the client's own word and
/// does not get around the throttle.
async fn forwarding_headers_are_believed_only_from_trusted_proxies(engine: Engine) {
    let app = spawn_app(engine).await;
    for i in 0..5 {
        let a = login_from(&app, &format!("198.51.100.{i}"), OWNER_EMAIL, "wrong").await;
        assert_eq!(a.0, 401);
    }
    let a = login_from(&app, "198.51.100.200", OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(a, (429, "too_many_attempts".into()));
    // The audit log and the session list record the real peer.
    let clean = spawn_behind_proxy(engine, ManualClock::default()).await;
    let res = clean
        .http
        .post(format!("{}/api/v1/auth/login", clean.base))
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.9")
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = clean.client_as(&token).sessions().await.unwrap();
    assert_eq!(sessions[0].client_addr, "198.51.100.9");
}
