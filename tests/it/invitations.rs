//! Invitations by link and the outbox that delivers them, against a real
//! SMTP listener on loopback.

use crate::both_engines;
use crate::helpers::*;
use crate::smtp::SmtpSink;
use reqwest::Method;
use serde_json::{json, Value};

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
    let created = app
        .post(
            &format!("/api/v1/orgs/{ORG}/users"),
            &owner,
            json!({"email": "welcome@x.test", "send_welcome": true}),
        )
        .await
        .ok();
    let temp = created["temporary_password"].as_str().unwrap().to_owned();
    let mail = sink.wait_for("welcome@x.test", 1).await.remove(0);
    let text = mail.text();
    assert!(!text.contains(&temp), "the password is never emailed");
    let link = mail.link().expect("a set-password link");
    assert!(link.contains("/set-password/rsp_"), "{link}");
    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let token = token_of(&link);
    let path = format!("/api/v1/password-links/{token}");
    app.send(
        Method::POST,
        &path,
        None,
        Some(json!({"password": "short"})),
    )
    .await
    .expect(422, "validation_failed");
    app.send(
        Method::POST,
        &path,
        None,
        Some(json!({"password": "my-own-password-1"})),
    )
    .await
    .expect(204, "");
    app.send(
        Method::POST,
        &path,
        None,
        Some(json!({"password": "again-password-1"})),
    )
    .await
    .expect(404, "invalid_link");
    assert_eq!(app.http.get(&link).send().await.unwrap().status(), 404);
    app.login_res("welcome@x.test", &temp)
        .await
        .expect(401, "invalid_credentials");
    let login = app
        .login_res("welcome@x.test", "my-own-password-1")
        .await
        .ok();
    assert_eq!(login["password_change_required"], false);
}

async fn the_link_opens_a_page_where_a_newcomer_joins(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let res = app
        .post(
            &invite_path(),
            &owner,
            json!({"emails": "web@x.test", "role": "contributor"}),
        )
        .await
        .ok();
    let link = res["results"][0]["link"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&app.base),
        "links are built from the public URL: {link}"
    );
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

fn invite_path() -> String {
    format!("/api/v1/orgs/{ORG}/invitations")
}

/// The token at the end of an invitation link.
fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

async fn accept(app: &TestApp, token: &str, bearer: Option<&str>, body: Value) -> Res {
    app.send(
        Method::POST,
        &format!("/api/v1/invitations/{token}/accept"),
        bearer,
        Some(body),
    )
    .await
}

fn statuses(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn three_invitees_with_different_roles_end_to_end(engine: Engine) {
    let (app, sink) = spawn_with_smtp(engine).await;
    let owner = app.owner().await;
    // An existing account, not yet in acme.
    let (_, pam) = app.member(ORG, &owner, "pam@dm.test", "viewer").await;
    let pam_id = app.get("/api/v1/me", &pam).await.ok()["user"]["id"]
        .as_i64()
        .unwrap();
    app.delete(&format!("/api/v1/orgs/{ORG}/users/{pam_id}"), &owner)
        .await
        .expect(204, "");

    let res = app
        .post(
            &invite_path(),
            &owner,
            json!({"invitations": [
                {"email": "new@dm.test", "role": "contributor", "team": "sales", "groups": ["dev"]},
                {"email": "Pam@DM.test", "role": "admin"},
                {"email": "third@dm.test", "role": "viewer"},
            ]}),
        )
        .await
        .ok();
    let results = res["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["outcome"] == "created"), "{res}");
    assert!(results
        .iter()
        .all(|r| r["link"].as_str().unwrap().contains("/invite/rsi_")));
    let third_id = results[2]["invitation"]["id"].as_i64().unwrap();

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
    assert_eq!(link, results[0]["link"].as_str().unwrap());

    // The newcomer follows the link: sees the invitation, creates the account.
    let token = token_of(&link);
    let shown = app
        .send(
            Method::GET,
            &format!("/api/v1/invitations/{token}"),
            None,
            None,
        )
        .await
        .ok();
    assert_eq!(
        (
            shown["org"].as_str(),
            shown["email"].as_str(),
            shown["account_exists"].as_bool()
        ),
        (Some(ORG), Some("new@dm.test"), Some(false))
    );
    accept(
        &app,
        &token,
        None,
        json!({"name": "New Person", "password": "short"}),
    )
    .await
    .expect(422, "validation_failed");
    let accepted = accept(
        &app,
        &token,
        None,
        json!({"name": "New Person", "password": "new-person-pw-1"}),
    )
    .await
    .ok();
    assert_eq!(accepted["account_created"], true);
    let newbie = app.login("new@dm.test", "new-person-pw-1").await;
    let me = app
        .get(
            &format!("/api/v1/orgs/{ORG}/users/{}", accepted["user_id"]),
            &newbie,
        )
        .await
        .ok();
    assert_eq!(
        (me["role"].as_str(), me["team"].as_str()),
        (Some("contributor"), Some("sales"))
    );
    assert_eq!(me["groups"], json!(["dev"]));
    // The link works once.
    accept(&app, &token, Some(&newbie), json!({}))
        .await
        .expect(404, "invalid_link");

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
        json!({"name": "Impostor", "password": "impostor-pw-123"}),
    )
    .await
    .expect(401, "unauthenticated");
    accept(&app, &pam_token, Some(&newbie), json!({}))
        .await
        .expect(403, "forbidden");
    let ok = accept(&app, &pam_token, Some(&pam), json!({})).await.ok();
    assert_eq!(
        (ok["role"].as_str(), ok["account_created"].as_bool()),
        (Some("admin"), Some(false))
    );

    // The third is deleted: its link dies at once, and the address can be invited again.
    let third_link = sink.wait_for("third@dm.test", 1).await[0].link().unwrap();
    app.delete(&format!("{}/{third_id}", invite_path()), &owner)
        .await
        .expect(204, "");
    let third_token = token_of(&third_link);
    app.send(
        Method::GET,
        &format!("/api/v1/invitations/{third_token}"),
        None,
        None,
    )
    .await
    .expect(404, "invalid_link");
    accept(
        &app,
        &third_token,
        None,
        json!({"name": "T", "password": "third-person-pw1"}),
    )
    .await
    .expect(404, "invalid_link");

    // Accepted invitations leave the team list as invitations and appear as members.
    let st = statuses(&app.users(ORG, &owner, "").await);
    assert!(
        st.contains(&("new@dm.test".into(), "active".into())),
        "{st:?}"
    );
    assert!(st.contains(&("pam@dm.test".into(), "active".into())));
    assert!(!st.iter().any(|(_, s)| s == "invited"), "{st:?}");
    let again = app
        .post(
            &invite_path(),
            &owner,
            json!({"invitations": [{"email": "third@dm.test"}]}),
        )
        .await
        .ok();
    assert_eq!(again["results"][0]["outcome"], "created");

    let listed = app
        .get(&format!("{}?status=accepted", invite_path()), &owner)
        .await
        .ok();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let revoked = app
        .get(&format!("{}?status=revoked", invite_path()), &owner)
        .await
        .ok();
    assert_eq!(revoked["items"][0]["email"], "third@dm.test");
    let actions: Vec<String> = app
        .audit(ORG, &owner, "action=invitation.")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
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
    let body = json!({"emails": "good@x.test, not-an-email, admin@acme.test", "role": "viewer",
        "invitations": [{"email": "boss@x.test", "role": "owner"}, {"email": "adm@x.test", "role": "admin"}]});
    let res = app.post(&invite_path(), &admin, body.clone()).await.ok();
    let outcome: Vec<(String, String, String)> = res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["error"]["code"].as_str().unwrap_or("").to_owned(),
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
    let retry = app.post(&invite_path(), &admin, body).await.ok();
    assert!(retry["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["outcome"] == "refused"));
    assert_eq!(retry["results"][1]["error"]["code"], "already_invited");
    let pending = app
        .get(&format!("{}?status=pending", invite_path()), &owner)
        .await
        .ok();
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);
    // A viewer may not invite at all.
    let (_, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    app.post(&invite_path(), &viewer, json!({"emails": "x@x.test"}))
        .await
        .expect(403, "forbidden");
    app.post(&invite_path(), &owner, json!({}))
        .await
        .expect(422, "validation_failed");
}

async fn expired_links_are_refused_and_resend_issues_a_new_one(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let res = app
        .post(
            &invite_path(),
            &owner,
            json!({"emails": "late@x.test", "role": "viewer"}),
        )
        .await
        .ok();
    let old_token = token_of(res["results"][0]["link"].as_str().unwrap());
    let id = res["results"][0]["invitation"]["id"].as_i64().unwrap();
    sqlx::query("UPDATE invitations SET expires_at = 1 WHERE id = $1")
        .bind(id)
        .execute(app.app.store().pool())
        .await
        .unwrap();
    app.send(
        Method::GET,
        &format!("/api/v1/invitations/{old_token}"),
        None,
        None,
    )
    .await
    .expect(410, "invitation_expired");
    accept(
        &app,
        &old_token,
        None,
        json!({"name": "Late", "password": "late-person-pw1"}),
    )
    .await
    .expect(410, "invitation_expired");
    let expired = app
        .get(&format!("{}?status=expired", invite_path()), &owner)
        .await
        .ok();
    assert_eq!(expired["items"][0]["email"], "late@x.test");
    assert!(app.users(ORG, &owner, "status=invited").await["items"]
        .as_array()
        .unwrap()
        .is_empty());

    let resent = app
        .post(&format!("{}/{id}/resend", invite_path()), &owner, json!({}))
        .await
        .ok();
    let new_token = token_of(resent["link"].as_str().unwrap());
    assert_ne!(new_token, old_token);
    assert_eq!(resent["invitation"]["status"], "pending");
    app.send(
        Method::GET,
        &format!("/api/v1/invitations/{old_token}"),
        None,
        None,
    )
    .await
    .expect(404, "invalid_link");
    accept(
        &app,
        &new_token,
        None,
        json!({"name": "Late", "password": "late-person-pw1"}),
    )
    .await
    .ok();
    // Accepted and revoked invitations cannot be resent.
    app.post(&format!("{}/{id}/resend", invite_path()), &owner, json!({}))
        .await
        .expect(409, "invitation_not_pending");
    app.post(
        &format!("{}/999999/resend", invite_path()),
        &owner,
        json!({}),
    )
    .await
    .expect(404, "not_found");
}

async fn two_concurrent_accepts_of_one_link_let_exactly_one_in(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    for round in 0..3 {
        let email = format!("racer{round}@x.test");
        let res = app
            .post(
                &invite_path(),
                &owner,
                json!({"emails": email, "role": "viewer"}),
            )
            .await
            .ok();
        let token = token_of(res["results"][0]["link"].as_str().unwrap());
        let body = json!({"name": "Racer", "password": "racer-password-1"});
        let (a, b) = tokio::join!(
            accept(&app, &token, None, body.clone()),
            accept(&app, &token, None, body.clone())
        );
        let wins = [&a, &b].iter().filter(|r| r.status.is_success()).count();
        assert_eq!(wins, 1, "{} / {}", a.body, b.body);
        let members = app.users(ORG, &owner, &format!("email={email}")).await;
        assert_eq!(statuses(&members), [(email.clone(), "active".to_owned())]);
    }
}

async fn nothing_is_lost_or_sent_twice_while_the_mail_server_is_down(engine: Engine) {
    let (app, mut sink) = spawn_with_smtp(engine).await;
    let owner = app.owner().await;
    app.post(&invite_path(), &owner, json!({"emails": "before@x.test"}))
        .await
        .ok();
    sink.wait_for("before@x.test", 1).await;

    sink.stop().await;
    app.post(
        &invite_path(),
        &owner,
        json!({"emails": "down1@x.test, down2@x.test, down3@x.test"}),
    )
    .await
    .ok();
    // While the server is down the messages are listed as undelivered, with the error.
    let mut stuck = Vec::new();
    for _ in 0..100 {
        stuck = app
            .get(&format!("/api/v1/orgs/{ORG}/outbox/undelivered"), &owner)
            .await
            .ok()
            .as_array()
            .unwrap()
            .clone();
        if stuck.len() == 3 && stuck.iter().all(|m| m["attempts"].as_i64().unwrap() >= 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stuck.len(), 3, "{stuck:?}");
    assert!(stuck
        .iter()
        .all(|m| !m["last_error"].as_str().unwrap().is_empty()));
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    assert!(app
        .get(&format!("/api/v1/orgs/{ORG}/outbox/undelivered"), &owner)
        .await
        .ok()
        .as_array()
        .unwrap()
        .is_empty());
}

/// Three servers on one PostgreSQL database each run an outbox worker; every
/// message reaches the mail server exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_on_several_replicas_deliver_each_message_once() {
    let sink = SmtpSink::start().await;
    let replicas = spawn_replicas(3, Some(sink.url())).await;
    let bases = &replicas.bases;
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", bases[0]))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    // Spread the invitations over the replicas.
    for i in 0..30 {
        let res = http
            .post(format!("{}/api/v1/orgs/{ORG}/invitations", bases[i % 3]))
            .bearer_auth(token)
            .json(&json!({"emails": format!("r{i}@x.test")}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
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
