//! Self-registration with approval: the org's rules, the review, and who is
//! told.

use crate::both_engines;
use crate::helpers::*;
use crate::smtp::SmtpSink;
use reqwest::Method;
use serde_json::{json, Value};

both_engines!(
    signups_wait_for_review_and_are_approved_or_rejected,
    signups_are_refused_unless_the_org_allows_the_domain,
    signup_answers_reveal_nothing_about_existing_accounts,
);

async fn open_signups(app: &TestApp, owner: &str) {
    app.patch(
        &format!("/api/v1/orgs/{ORG}"),
        owner,
        json!({"self_registration": true, "allowed_domains": ["dm.test"], "default_role": "viewer"}),
    )
    .await
    .ok();
}

async fn signup(app: &TestApp, email: &str, password: &str) -> crate::helpers::Res {
    app.send(
        Method::POST,
        "/api/v1/signup",
        None,
        Some(json!({"org": ORG, "email": email, "name": "Applicant", "password": password})),
    )
    .await
}

fn member<'a>(page: &'a Value, email: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .unwrap()
}

async fn signups_wait_for_review_and_are_approved_or_rejected(engine: Engine) {
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
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    let (_, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    open_signups(&app, &owner).await;

    let res = signup(&app, "Kevin@DM.test", "kevin-password-1")
        .await
        .expect(202, "");
    assert_eq!(res.body["status"], "reviewing");
    signup(&app, "oscar@dm.test", "oscar-password-1")
        .await
        .expect(202, "");

    // Listed as reviewing; able to sign in, but the org is closed to them.
    let page = app.users(ORG, &owner, "status=reviewing").await;
    assert_eq!(emails(&page), ["kevin@dm.test", "oscar@dm.test"]);
    let kevin_id = member(&page, "kevin@dm.test")["id"].as_i64().unwrap();
    let oscar_id = member(&page, "oscar@dm.test")["id"].as_i64().unwrap();
    let kevin = app.login("kevin@dm.test", "kevin-password-1").await;
    app.get(&format!("/api/v1/orgs/{ORG}/users"), &kevin)
        .await
        .expect(403, "membership_inactive");

    // Everyone who may approve is told; a viewer is not, and may not approve.
    for approver in [OWNER_EMAIL, "admin@acme.test"] {
        let mails = sink.wait_for(approver, 2).await;
        assert!(
            mails.iter().any(|m| m.text().contains("kevin@dm.test")),
            "{approver}"
        );
    }
    assert!(sink.mails_to("viewer@acme.test").is_empty());
    let approve = format!("/api/v1/orgs/{ORG}/users/{kevin_id}/approve");
    app.post(&approve, &viewer, json!({}))
        .await
        .expect(403, "forbidden");
    // An admin may not approve someone as owner.
    app.post(&approve, &admin, json!({"role": "owner"}))
        .await
        .expect(403, "owner_role_requires_owner");

    let approved = app
        .post(&approve, &admin, json!({"role": "contributor"}))
        .await
        .ok();
    assert_eq!(
        (approved["status"].as_str(), approved["role"].as_str()),
        (Some("active"), Some("contributor"))
    );
    app.get(&format!("/api/v1/orgs/{ORG}/users"), &kevin)
        .await
        .ok();
    app.post(&approve, &admin, json!({}))
        .await
        .expect(409, "not_reviewing");

    app.post(
        &format!("/api/v1/orgs/{ORG}/users/{oscar_id}/reject"),
        &admin,
        json!({}),
    )
    .await
    .expect(204, "");
    assert!(emails(&app.users(ORG, &owner, "email=oscar").await).is_empty());
    // Oscar's account remains; he just is not a member.
    app.login("oscar@dm.test", "oscar-password-1").await;

    // Both applicants were told.
    assert!(sink
        .wait_for("kevin@dm.test", 1)
        .await
        .iter()
        .any(|m| m.text().contains("approved")));
    assert!(sink
        .wait_for("oscar@dm.test", 1)
        .await
        .iter()
        .any(|m| m.text().contains("not approved")));
    let actions: Vec<String> = app
        .audit(ORG, &owner, "action=member.")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in ["member.signup", "member.approve", "member.reject"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

async fn signups_are_refused_unless_the_org_allows_the_domain(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    // Closed by default.
    signup(&app, "early@dm.test", "early-password-1")
        .await
        .expect(403, "signup_not_allowed");
    open_signups(&app, &owner).await;
    signup(&app, "outsider@evil.test", "outsider-password-1")
        .await
        .expect(403, "signup_not_allowed");
    signup(&app, "sub@x.dm.test", "outsider-password-1")
        .await
        .expect(403, "signup_not_allowed");
    let unknown = app
        .send(Method::POST, "/api/v1/signup", None, Some(json!({"org": "nope", "email": "a@dm.test", "name": "A", "password": "a-password-123"})))
        .await
        .expect(403, "signup_not_allowed");
    assert_eq!(
        unknown.body["detail"],
        signup(&app, "x@evil.test", "x-password-1234").await.body["detail"]
    );
    signup(&app, "weak@dm.test", "short")
        .await
        .expect(422, "validation_failed");
    assert!(emails(&app.users(ORG, &owner, "status=reviewing").await).is_empty());
}

async fn signup_answers_reveal_nothing_about_existing_accounts(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    // jan has an account (her personal org), but is not in acme.
    let (jan_id, _) = app.member(ORG, &owner, "jan@dm.test", "viewer").await;
    app.delete(&format!("/api/v1/orgs/{ORG}/users/{jan_id}"), &owner)
        .await
        .ok();
    open_signups(&app, &owner).await;
    let wrong = signup(&app, "jan@dm.test", "not-jans-password")
        .await
        .expect(202, "");
    let fresh = signup(&app, "new@dm.test", "new-person-pw-1")
        .await
        .expect(202, "");
    assert_eq!(wrong.body, fresh.body);
    // With the wrong password nothing happened; with the right one she waits for review.
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["new@dm.test"]
    );
    signup(&app, "jan@dm.test", "jan@dm.test-pw-123")
        .await
        .expect(202, "");
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["new@dm.test", "jan@dm.test"]
    );
}
