//! Invitations by link and the outbox that delivers them, against a real
//! SMTP listener on loopback.

use crate::both_engines;
use crate::helpers::*;
use crate::smtp::SmtpSink;
use roster_client::{ClientError, InvitationQuery};
use roster_proto::{
    AcceptInvitationRequest, AcceptInvitationResponse, CreateInvitationsRequest,
    CreateInvitationsResponse, CreateMemberRequest, InviteItem, MemberPage, SetPasswordRequest,
};
use roster_server::app::ManualClock;

both_engines!(
    three_invitees_with_different_roles_end_to_end,
    one_bad_address_never_fails_the_others_and_retries_create_nothing,
    expired_links_are_refused_and_resend_issues_a_new_one,
    two_concurrent_accepts_of_one_link_let_exactly_one_in,
    nothing_is_lost_or_sent_twice_while_the_mail_server_is_down,
    the_link_opens_a_page_where_a_newcomer_joins,
    a_welcome_email_carries_a_set_password_link_never_the_password,
);

async fn a_welcome_email_carries_a_set_password_link_never_the_password(engine: Engine) {
    let (app, sink) = spawn_with_smtp(engine).await;
    let owner = app.owner().await;
    let body = CreateMemberRequest {
        email: "welcome@x.test".into(),
        send_welcome: true,
        ..Default::default()
    };
    let created = owner.create_member(ORG, &body).await.unwrap();
    let temp = created.temporary_password.unwrap();
    let mail = sink.wait_for("welcome@x.test", 1).await.remove(0);
    let text = mail.text();
    assert!(!text.contains(&temp), "the password is never emailed");
    let link = mail.link().expect("a set-password link");
    assert!(link.contains("/set-password/rsp_"), "{link}");
    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let token = token_of(&link);
    let password = |p: &str| SetPasswordRequest { password: p.into() };
    let anonymous = app.client();
    anonymous
        .set_password_with_link(&token, &password("short"))
        .await
        .refused(422, "validation_failed");
    anonymous
        .set_password_with_link(&token, &password("my-own-password-1"))
        .await
        .unwrap();
    anonymous.answered(204);
    anonymous
        .set_password_with_link(&token, &password("again-password-1"))
        .await
        .refused(404, "invalid_link");
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 404);
    app.login_res("welcome@x.test", &temp)
        .await
        .refused(401, "invalid_credentials");
    let login = app
        .login_res("welcome@x.test", "my-own-password-1")
        .await
        .unwrap();
    assert!(!login.password_change_required);
}

async fn the_link_opens_a_page_where_a_newcomer_joins(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let res = owner
        .create_invitations(ORG, &invite("web@x.test", Some("contributor")))
        .await
        .unwrap();
    let link = res.results[0].link.clone().unwrap();
    assert!(
        link.starts_with(&app.base),
        "links are built from the public URL: {link}"
    );
    // The page and its form are HTML, read raw.
    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("web@x.test") && html.contains("contributor") && html.contains("<form"),
        "{html}"
    );
    let short = app
        .http
        .post(&link)
        .form(&[("name", "Web Person"), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 422);
    let done = app
        .http
        .post(&link)
        .form(&[("name", "Web Person"), ("password", "web-person-pw-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You joined"));
    app.login("web@x.test", "web-person-pw-1").await;
    let gone = app.http.get(&link).send().await.unwrap();
    assert_eq!(gone.status(), 404);
}

async fn spawn_with_smtp(engine: Engine) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = spawn_with(
        engine,
        Spawn {
            bootstrap: true,
            smtp_url: Some(sink.url()),
        },
    )
    .await;
    (app, sink)
}

/// Invites the comma-separated `emails`, with `role` if any.
fn invite(emails: &str, role: Option<&str>) -> CreateInvitationsRequest {
    CreateInvitationsRequest {
        emails: Some(emails.into()),
        role: role.map(String::from),
        ..Default::default()
    }
}

/// One invitation of a list: `email` with `role` if any.
fn item(email: &str, role: Option<&str>) -> InviteItem {
    InviteItem {
        email: email.into(),
        role: role.map(String::from),
        ..Default::default()
    }
}

/// The token at the end of an invitation link.
fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

/// The link of an invitation's result.
fn link_of(res: &CreateInvitationsResponse, i: usize) -> String {
    res.results[i].link.clone().expect("a link")
}

/// The body of a newcomer accepting: the account's name and password.
fn newcomer(name: &str, password: &str) -> AcceptInvitationRequest {
    AcceptInvitationRequest {
        name: Some(name.into()),
        password: Some(password.into()),
    }
}

/// Accepts the invitation of `token`, signed in as `by` or as nobody.
async fn accept(
    app: &TestApp,
    token: &str,
    by: Option<&Api>,
    body: AcceptInvitationRequest,
) -> Result<AcceptInvitationResponse, ClientError> {
    let anonymous = app.client();
    by.unwrap_or(&anonymous)
        .accept_invitation(token, &body)
        .await
}

fn statuses(page: &MemberPage) -> Vec<(String, String)> {
    page.items
        .iter()
        .map(|m| (m.email.clone(), m.status.clone()))
        .collect()
}

fn with_status(status: &str) -> InvitationQuery {
    InvitationQuery {
        status: Some(status.into()),
        ..Default::default()
    }
}

async fn three_invitees_with_different_roles_end_to_end(engine: Engine) {
    let (app, sink) = spawn_with_smtp(engine).await;
    let owner = app.owner().await;
    // An existing account, not yet in acme.
    let (_, pam) = app.member(ORG, &owner, "pam@dm.test", "viewer").await;
    let pam_id = pam.me().await.unwrap().user.id;
    owner.delete_member(ORG, pam_id).await.unwrap();
    owner.answered(204);

    let body = CreateInvitationsRequest {
        invitations: vec![
            InviteItem {
                team: Some("sales".into()),
                groups: vec!["dev".into()],
                ..item("new@dm.test", Some("contributor"))
            },
            item("Pam@DM.test", Some("admin")),
            item("third@dm.test", Some("viewer")),
        ],
        ..Default::default()
    };
    let res = owner.create_invitations(ORG, &body).await.unwrap();
    let results = &res.results;
    assert!(results.iter().all(|r| r.outcome == "created"), "{res:?}");
    assert!(results
        .iter()
        .all(|r| r.link.as_deref().unwrap().contains("/invite/rsi_")));
    let third_id = results[2].invitation.as_ref().unwrap().id;

    // The team list shows them as invited, after the members.
    let list = app.users(ORG, &owner, "").await;
    let st = statuses(&list);
    assert!(
        st.contains(&("new@dm.test".into(), "invited".into())),
        "{st:?}"
    );
    assert!(st.contains(&("pam@dm.test".into(), "invited".into())));
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=invited&role=admin").await),
        ["pam@dm.test"]
    );
    assert_eq!(
        emails(&app.users(ORG, &owner, "group=dev").await),
        ["new@dm.test"]
    );

    // Each invitee gets an email with both parts, naming org and inviter, carrying the link.
    let mail = sink.wait_for("new@dm.test", 1).await.remove(0);
    assert!(mail.has_html_part());
    let text = mail.text();
    assert!(
        text.contains(ORG) && text.contains(OWNER_EMAIL) && text.contains("contributor"),
        "{text}"
    );
    let link = mail.link().expect("a link in the mail");
    assert_eq!(link, link_of(&res, 0));

    // The newcomer follows the link: sees the invitation, creates the account.
    let token = token_of(&link);
    let shown = app.client().invitation(&token).await.unwrap();
    assert_eq!(
        (
            shown.org.as_str(),
            shown.email.as_str(),
            shown.account_exists
        ),
        (ORG, "new@dm.test", false)
    );
    accept(&app, &token, None, newcomer("New Person", "short"))
        .await
        .refused(422, "validation_failed");
    let accepted = accept(
        &app,
        &token,
        None,
        newcomer("New Person", "new-person-pw-1"),
    )
    .await
    .unwrap();
    assert!(accepted.account_created);
    let newbie = app.login("new@dm.test", "new-person-pw-1").await;
    let me = newbie.member(ORG, accepted.user_id).await.unwrap();
    assert_eq!(
        (me.role.as_str(), me.team.as_str()),
        ("contributor", "sales")
    );
    assert_eq!(me.groups, ["dev"]);
    // The link works once.
    accept(&app, &token, Some(&newbie), Default::default())
        .await
        .refused(404, "invalid_link");

    // The existing user: refused without signing in, refused to someone else, accepted signed in.
    // Pam's first message is the notice of her earlier removal; the second is the invitation.
    let pam_link = sink
        .wait_for("pam@dm.test", 2)
        .await
        .iter()
        .find_map(|m| m.link())
        .unwrap();
    let pam_token = token_of(&pam_link);
    accept(
        &app,
        &pam_token,
        None,
        newcomer("Impostor", "impostor-pw-123"),
    )
    .await
    .refused(401, "unauthenticated");
    accept(&app, &pam_token, Some(&newbie), Default::default())
        .await
        .refused(403, "forbidden");
    let ok = accept(&app, &pam_token, Some(&pam), Default::default())
        .await
        .unwrap();
    assert_eq!((ok.role.as_str(), ok.account_created), ("admin", false));

    // The third is deleted: its link dies at once, and the address can be invited again.
    let third_link = sink.wait_for("third@dm.test", 1).await[0].link().unwrap();
    owner.delete_invitation(ORG, third_id).await.unwrap();
    owner.answered(204);
    let third_token = token_of(&third_link);
    app.client()
        .invitation(&third_token)
        .await
        .refused(404, "invalid_link");
    accept(&app, &third_token, None, newcomer("T", "third-person-pw1"))
        .await
        .refused(404, "invalid_link");

    // Accepted invitations leave the team list as invitations and appear as members.
    let st = statuses(&app.users(ORG, &owner, "").await);
    assert!(
        st.contains(&("new@dm.test".into(), "active".into())),
        "{st:?}"
    );
    assert!(st.contains(&("pam@dm.test".into(), "active".into())));
    assert!(!st.iter().any(|(_, s)| s == "invited"), "{st:?}");
    let again = CreateInvitationsRequest {
        invitations: vec![item("third@dm.test", None)],
        ..Default::default()
    };
    let again = owner.create_invitations(ORG, &again).await.unwrap();
    assert_eq!(again.results[0].outcome, "created");

    let listed = owner
        .list_invitations(ORG, &with_status("accepted"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    let revoked = owner
        .list_invitations(ORG, &with_status("revoked"))
        .await
        .unwrap();
    assert_eq!(revoked.items[0].email, "third@dm.test");
    let actions: Vec<String> = app
        .audit(ORG, &owner, "action=invitation.")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "invitation.create",
        "invitation.accept",
        "invitation.delete",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

async fn one_bad_address_never_fails_the_others_and_retries_create_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    let body = CreateInvitationsRequest {
        invitations: vec![
            item("boss@x.test", Some("owner")),
            item("adm@x.test", Some("admin")),
        ],
        ..invite("good@x.test, not-an-email, admin@acme.test", Some("viewer"))
    };
    let res = admin.create_invitations(ORG, &body).await.unwrap();
    let outcome: Vec<(String, String, String)> = res
        .results
        .iter()
        .map(|r| {
            (
                r.email.clone(),
                r.outcome.clone(),
                r.error.as_ref().map(|p| p.code.clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        outcome,
        [
            (
                "boss@x.test".into(),
                "refused".into(),
                "owner_role_requires_owner".into()
            ),
            ("adm@x.test".into(), "created".into(), "".into()),
            ("good@x.test".into(), "created".into(), "".into()),
            (
                "not-an-email".into(),
                "refused".into(),
                "validation_failed".into()
            ),
            (
                "admin@acme.test".into(),
                "refused".into(),
                "already_member".into()
            ),
        ]
    );
    // The same request again creates nothing new.
    let retry = admin.create_invitations(ORG, &body).await.unwrap();
    assert!(retry.results.iter().all(|r| r.outcome == "refused"));
    assert_eq!(
        retry.results[1].error.as_ref().unwrap().code,
        "already_invited"
    );
    let pending = owner
        .list_invitations(ORG, &with_status("pending"))
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 2);
    // A viewer may not invite at all.
    let (_, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    viewer
        .create_invitations(ORG, &invite("x@x.test", None))
        .await
        .refused(403, "forbidden");
    owner
        .create_invitations(ORG, &CreateInvitationsRequest::default())
        .await
        .refused(422, "validation_failed");
}

async fn expired_links_are_refused_and_resend_issues_a_new_one(engine: Engine) {
    let clock = ManualClock::default();
    let app = spawn_with_clock(engine, clock.clone()).await;
    let owner = app.owner().await;
    let res = owner
        .create_invitations(ORG, &invite("late@x.test", Some("viewer")))
        .await
        .unwrap();
    let old_token = token_of(&link_of(&res, 0));
    let id = res.results[0].invitation.as_ref().unwrap().id;
    // The invitation lifetime is 24 hours: a day and a second later it has
    // run out, with no row edited.
    clock.advance(std::time::Duration::from_secs(24 * 3600 + 1));
    app.client()
        .invitation(&old_token)
        .await
        .refused(410, "invitation_expired");
    accept(&app, &old_token, None, newcomer("Late", "late-person-pw1"))
        .await
        .refused(410, "invitation_expired");
    let expired = owner
        .list_invitations(ORG, &with_status("expired"))
        .await
        .unwrap();
    assert_eq!(expired.items[0].email, "late@x.test");
    assert!(app
        .users(ORG, &owner, "status=invited")
        .await
        .items
        .is_empty());

    let resent = owner.resend_invitation(ORG, id).await.unwrap();
    let new_token = token_of(&resent.link);
    assert_ne!(new_token, old_token);
    assert_eq!(resent.invitation.status, "pending");
    app.client()
        .invitation(&old_token)
        .await
        .refused(404, "invalid_link");
    accept(&app, &new_token, None, newcomer("Late", "late-person-pw1"))
        .await
        .unwrap();
    // Accepted and revoked invitations cannot be resent.
    owner
        .resend_invitation(ORG, id)
        .await
        .refused(409, "invitation_not_pending");
    owner
        .resend_invitation(ORG, 999999)
        .await
        .refused(404, "not_found");
}

async fn two_concurrent_accepts_of_one_link_let_exactly_one_in(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    for round in 0..3 {
        let email = format!("racer{round}@x.test");
        let res = owner
            .create_invitations(ORG, &invite(&email, Some("viewer")))
            .await
            .unwrap();
        let token = token_of(&link_of(&res, 0));
        let body = newcomer("Racer", "racer-password-1");
        let (a, b) = tokio::join!(
            accept(&app, &token, None, body.clone()),
            accept(&app, &token, None, body.clone())
        );
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{a:?} / {b:?}");
        let members = app.users(ORG, &owner, &format!("email={email}")).await;
        assert_eq!(statuses(&members), [(email.clone(), "active".to_owned())]);
    }
}

async fn nothing_is_lost_or_sent_twice_while_the_mail_server_is_down(engine: Engine) {
    let (app, mut sink) = spawn_with_smtp(engine).await;
    let owner = app.owner().await;
    owner
        .create_invitations(ORG, &invite("before@x.test", None))
        .await
        .unwrap();
    sink.wait_for("before@x.test", 1).await;

    sink.stop().await;
    owner
        .create_invitations(
            ORG,
            &invite("down1@x.test, down2@x.test, down3@x.test", None),
        )
        .await
        .unwrap();
    // While the server is down the messages are listed as undelivered, with the error.
    let mut stuck = Vec::new();
    for _ in 0..100 {
        stuck = owner.undelivered(ORG).await.unwrap();
        if stuck.len() == 3 && stuck.iter().all(|m| m.attempts >= 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stuck.len(), 3, "{stuck:?}");
    assert!(stuck.iter().all(|m| !m.last_error.is_empty()));
    // The outbox gauges are refreshed every five seconds, not per scrape.
    let mut metrics = String::new();
    for _ in 0..150 {
        metrics = app.metrics().await;
        if metrics.contains("roster_outbox_waiting 3") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(metrics.contains("roster_outbox_waiting 3"), "{metrics}");

    sink.restart().await;
    for rcpt in ["down1@x.test", "down2@x.test", "down3@x.test"] {
        sink.wait_for(rcpt, 1).await;
    }
    // Give a duplicate every chance to show up, then count.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 4, "each message exactly once");
    let mut ids: Vec<String> = mails
        .iter()
        .filter_map(|m| m.header("message-id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    assert!(owner.undelivered(ORG).await.unwrap().is_empty());
}

/// Three servers on one PostgreSQL database each run an outbox worker; every
/// message reaches the mail server exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_on_several_replicas_deliver_each_message_once() {
    let sink = SmtpSink::start().await;
    let replicas = spawn_replicas(3, Some(sink.url())).await;
    let (login, _) = replicas.login(0, OWNER_EMAIL, OWNER_PASSWORD).await;
    // Spread the invitations over the replicas.
    for i in 0..30 {
        replicas
            .client(i % 3, Some(&login.token))
            .create_invitations(ORG, &invite(&format!("r{i}@x.test"), None))
            .await
            .unwrap();
    }
    for i in 0..30 {
        sink.wait_for(&format!("r{i}@x.test"), 1).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mails = sink.mails();
    assert_eq!(
        mails.len(),
        30,
        "each message exactly once across three workers"
    );
}
