//! Self-registration with approval: the org's rules, the review, and who is
//! told.

use crate::both_engines;
use crate::helpers::*;
use crate::smtp::SmtpSink;
use roster_client::ClientError;
use roster_proto::{
    ApproveRequest, MemberPage, SignupConfirmRequest, SignupRequest, SignupResponse,
    UpdateOrgRequest,
};

both_engines!(
    signups_wait_for_review_and_are_approved_or_rejected,
    signups_are_refused_unless_the_org_allows_the_domain,
    signup_answers_reveal_nothing_about_existing_accounts,
    a_signup_counts_only_once_its_address_is_confirmed,
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

/// The token of the `n`th sign-up confirmation mailed to `email`.
async fn confirmation_token(sink: &SmtpSink, email: &str, n: usize) -> String {
    for _ in 0..300 {
        let links: Vec<String> = sink
            .mails_to(email)
            .iter()
            .filter_map(|m| m.link())
            .filter(|l| l.contains("/signup/confirm/"))
            .collect();
        if let Some(link) = links.get(n - 1) {
            return link.rsplit('/').next().unwrap().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no confirmation number {n} for {email}")
}

/// Opens the link of `email`'s `n`th sign-up confirmation: the request then
/// waits for review.
async fn confirm(app: &TestApp, sink: &SmtpSink, email: &str, n: usize) {
    let token = confirmation_token(sink, email, n).await;
    let anonymous = app.client();
    let res = anonymous
        .confirm_signup(&SignupConfirmRequest { token })
        .await
        .unwrap();
    anonymous.answered(202);
    assert_eq!(res.status, "reviewing");
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
    assert_eq!(res.status, "confirmation_sent");
    signup_accepted(&app, "oscar@dm.test", "oscar-password-1").await;
    confirm(&app, &sink, "kevin@dm.test", 1).await;
    confirm(&app, &sink, "oscar@dm.test", 1).await;

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
        .wait_for("kevin@dm.test", 2)
        .await
        .iter()
        .any(|m| m.text().contains("approved")));
    assert!(sink
        .wait_for("oscar@dm.test", 2)
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
    // jan has an account (her personal org), but is not in acme.
    let (jan_id, _) = app.member(ORG, &owner, "jan@dm.test", "viewer").await;
    owner.delete_member(ORG, jan_id).await.unwrap();
    open_signups(&owner).await;
    let wrong = signup_accepted(&app, "jan@dm.test", "not-jans-password").await;
    let fresh = signup_accepted(&app, "new@dm.test", "new-person-pw-1").await;
    assert_eq!(as_json(&wrong), as_json(&fresh));
    // With the wrong password nothing happened (jan is told, with no link);
    // with the right one she waits for review once she confirms.
    confirm(&app, &sink, "new@dm.test", 1).await;
    let told_of_password = || {
        sink.mails_to("jan@dm.test")
            .iter()
            .any(|m| m.text().contains("another password"))
    };
    for _ in 0..300 {
        if told_of_password() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(told_of_password(), "jan is told");
    let told = sink.mails_to("jan@dm.test");
    assert!(!told.iter().any(|m| m.text().contains("/signup/confirm/")));
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["new@dm.test"]
    );
    signup_accepted(&app, "jan@dm.test", "jan@dm.test-pw-123").await;
    confirm(&app, &sink, "jan@dm.test", 1).await;
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["new@dm.test", "jan@dm.test"]
    );
}

/// Nobody can register someone else's address: until the link mailed to it
/// is opened there is no account and no membership, so the invitee can
/// still accept an invitation; the link works once, and not when late.
async fn a_signup_counts_only_once_its_address_is_confirmed(engine: Engine) {
    let sink = SmtpSink::start().await;
    let clock = roster_server::app::ManualClock::default();
    let opts = Spawn {
        bootstrap: true,
        smtp_url: Some(sink.url()),
    };
    let app = spawn_with_and_clock(engine, opts, clock.clone()).await;
    let owner = app.owner().await;
    open_signups(&owner).await;

    // A squatter asks with the invitee's address and a password of theirs.
    signup_accepted(&app, "angela@dm.test", "squatter-pw-123").await;
    let squatter_token = confirmation_token(&sink, "angela@dm.test", 1).await;
    assert!(app
        .login_res("angela@dm.test", "squatter-pw-123")
        .await
        .is_err());
    assert!(emails(&app.users(ORG, &owner, "status=reviewing").await).is_empty());

    // A link that is no token, or one of the wrong kind, is refused.
    for token in ["", "rsc_nope", "rsi_whatever", &"rsc_x".repeat(40)] {
        app.client()
            .confirm_signup(&SignupConfirmRequest {
                token: token.to_owned(),
            })
            .await
            .refused(404, "invalid_link");
    }

    // After 24 hours the link is dead.
    clock.advance(std::time::Duration::from_secs(24 * 3600 + 1));
    app.client()
        .confirm_signup(&SignupConfirmRequest {
            token: squatter_token,
        })
        .await
        .refused(404, "invalid_link");
    assert!(emails(&app.users(ORG, &owner, "status=reviewing").await).is_empty());

    // The real person signs up and confirms: twice at once, it counts once.
    signup_accepted(&app, "angela@dm.test", "angela-pw-1234").await;
    let token = confirmation_token(&sink, "angela@dm.test", 2).await;
    let body = SignupConfirmRequest {
        token: token.clone(),
    };
    let (first, second) = (app.client(), app.client());
    let (a, b) = tokio::join!(first.confirm_signup(&body), second.confirm_signup(&body));
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    app.client()
        .confirm_signup(&SignupConfirmRequest { token })
        .await
        .refused(404, "invalid_link");
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["angela@dm.test"]
    );
    app.login("angela@dm.test", "angela-pw-1234").await;
    assert_eq!(
        app.audit(ORG, &owner, "action=member.signup").await.len(),
        1
    );
}
