//! Self-registration with approval: the org's rules, the review, and who is
//! told.

use crate::both_engines;
use crate::helpers::*;
use crate::smtp::SmtpSink;
use roster_client::ClientError;
use roster_proto::{ApproveRequest, MemberPage, SignupRequest, SignupResponse, UpdateOrgRequest};

both_engines!(
    signups_wait_for_review_and_are_approved_or_rejected,
    signups_are_refused_unless_the_org_allows_the_domain,
    signup_answers_reveal_nothing_about_existing_accounts,
);

async fn open_signups(owner: &Api) {
    let open = UpdateOrgRequest {
        self_registration: Some(true),
        allowed_domains: Some(vec!["dm.test".into()]),
        default_role: Some("viewer".into()),
        ..Default::default()
    };
    owner.update_org(ORG, &open).await.unwrap();
}

/// Asks to join `org` without signing in; `anonymous` remembers the answer's
/// status.
async fn signup_to(
    anonymous: &Api,
    org: &str,
    email: &str,
    password: &str,
) -> Result<SignupResponse, ClientError> {
    anonymous
        .signup(&SignupRequest {
            org: org.into(),
            email: email.into(),
            name: "Applicant".into(),
            password: password.into(),
        })
        .await
}

/// Asks to join acme; the answer must be `202 Accepted`.
async fn signup_accepted(app: &TestApp, email: &str, password: &str) -> SignupResponse {
    let anonymous = app.client();
    let res = signup_to(&anonymous, ORG, email, password).await.unwrap();
    anonymous.answered(202);
    res
}

async fn signup(app: &TestApp, email: &str, password: &str) -> Result<SignupResponse, ClientError> {
    signup_to(&app.client(), ORG, email, password).await
}

fn id_of(page: &MemberPage, email: &str) -> i64 {
    page.items
        .iter()
        .find(|m| m.email == email)
        .unwrap()
        .id
        .unwrap()
}

fn role(role: Option<&str>) -> ApproveRequest {
    ApproveRequest {
        role: role.map(String::from),
    }
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
    open_signups(&owner).await;

    let res = signup_accepted(&app, "Kevin@DM.test", "kevin-password-1").await;
    assert_eq!(res.status, "reviewing");
    signup_accepted(&app, "oscar@dm.test", "oscar-password-1").await;

    // Listed as reviewing; able to sign in, but the org is closed to them.
    let page = app.users(ORG, &owner, "status=reviewing").await;
    assert_eq!(emails(&page), ["kevin@dm.test", "oscar@dm.test"]);
    let kevin_id = id_of(&page, "kevin@dm.test");
    let oscar_id = id_of(&page, "oscar@dm.test");
    let kevin = app.login("kevin@dm.test", "kevin-password-1").await;
    kevin
        .list_members(ORG, &members(""))
        .await
        .refused(403, "membership_inactive");

    // Everyone who may approve is told; a viewer is not, and may not approve.
    for approver in [OWNER_EMAIL, "admin@acme.test"] {
        let mails = sink.wait_for(approver, 2).await;
        assert!(
            mails.iter().any(|m| m.text().contains("kevin@dm.test")),
            "{approver}"
        );
    }
    assert!(sink.mails_to("viewer@acme.test").is_empty());
    viewer
        .approve_member(ORG, kevin_id, &role(None))
        .await
        .refused(403, "forbidden");
    // An admin may not approve someone as owner.
    admin
        .approve_member(ORG, kevin_id, &role(Some("owner")))
        .await
        .refused(403, "owner_role_requires_owner");

    let approved = admin
        .approve_member(ORG, kevin_id, &role(Some("contributor")))
        .await
        .unwrap();
    assert_eq!(
        (approved.status.as_str(), approved.role.as_str()),
        ("active", "contributor")
    );
    app.users(ORG, &kevin, "").await;
    admin
        .approve_member(ORG, kevin_id, &role(None))
        .await
        .refused(409, "not_reviewing");

    admin.reject_member(ORG, oscar_id).await.unwrap();
    admin.answered(204);
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
        .into_iter()
        .map(|e| e.action)
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
        .refused(403, "signup_not_allowed");
    open_signups(&owner).await;
    signup(&app, "outsider@evil.test", "outsider-password-1")
        .await
        .refused(403, "signup_not_allowed");
    signup(&app, "sub@x.dm.test", "outsider-password-1")
        .await
        .refused(403, "signup_not_allowed");
    let unknown = signup_to(&app.client(), "nope", "a@dm.test", "a-password-123")
        .await
        .refused(403, "signup_not_allowed");
    let foreign = signup(&app, "x@evil.test", "x-password-1234")
        .await
        .unwrap_err();
    assert_eq!(unknown.detail, foreign.problem().unwrap().detail);
    signup(&app, "weak@dm.test", "short")
        .await
        .refused(422, "validation_failed");
    assert!(emails(&app.users(ORG, &owner, "status=reviewing").await).is_empty());
}

async fn signup_answers_reveal_nothing_about_existing_accounts(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    // jan has an account (her personal org), but is not in acme.
    let (jan_id, _) = app.member(ORG, &owner, "jan@dm.test", "viewer").await;
    owner.delete_member(ORG, jan_id).await.unwrap();
    open_signups(&owner).await;
    let wrong = signup_accepted(&app, "jan@dm.test", "not-jans-password").await;
    let fresh = signup_accepted(&app, "new@dm.test", "new-person-pw-1").await;
    assert_eq!(as_json(&wrong), as_json(&fresh));
    // With the wrong password nothing happened; with the right one she waits for review.
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["new@dm.test"]
    );
    signup_accepted(&app, "jan@dm.test", "jan@dm.test-pw-123").await;
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["new@dm.test", "jan@dm.test"]
    );
}
