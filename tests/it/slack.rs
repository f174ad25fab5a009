//! Slack: a fake Slack Web API on loopback records what Roster posts and
//! answers `users.info`; the tests send correctly signed slash commands and
//! button clicks, and tampered, stale and replayed ones.

use crate::both_engines;
use crate::helpers::*;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use reqwest::Method;
use roster_proto::{ApproveRequest, SignupRequest, SlackLinkRequest, UpdateOrgRequest};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(crate) const SECRET: &str = "slack-signing-secret";
pub(crate) const TEAM: &str = "T0001";

#[derive(Clone, Default)]
pub(crate) struct FakeSlack {
    /// (method, JSON body) of every call.
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl FakeSlack {
    pub(crate) async fn start() -> (FakeSlack, String) {
        let fake = FakeSlack::default();
        let app = Router::new()
            .route(
                "/api/auth.test",
                post(|| async { Json(json!({"ok": true, "team_id": TEAM, "user_id": "UBOT"})) }),
            )
            .route("/api/users.info", get(users_info))
            .route("/api/chat.postMessage", post(record_post))
            .route("/api/chat.update", post(record_update))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, base)
    }

    fn calls(&self, method: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, v)| v.clone())
            .collect()
    }

    async fn wait_for(&self, method: &str, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            if self.calls(method).len() >= n {
                return self.calls(method);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} calls to {method}, got {}",
            self.calls(method).len()
        );
    }
}

async fn users_info(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let user = q.get("user").cloned().unwrap_or_default();
    let (email, name) = match user.as_str() {
        "UKEVIN" => ("kevin@dm.test", "Kevin Malone"),
        "UADMIN" => ("admin@acme.test", "Angela Admin"),
        "UOUTSIDER" => ("toby@evil.test", "Toby Flenderson"),
        _ => return Json(json!({"ok": false, "error": "user_not_found"})),
    };
    Json(
        json!({"ok": true, "user": {"id": user, "name": name, "real_name": name, "profile": {"email": email, "real_name": name}}}),
    )
}

async fn record_post(State(f): State<FakeSlack>, Json(body): Json<Value>) -> Json<Value> {
    f.calls
        .lock()
        .unwrap()
        .push(("chat.postMessage".into(), body));
    Json(json!({"ok": true, "ts": "1700000000.000100", "channel": "CREVIEW"}))
}

async fn record_update(State(f): State<FakeSlack>, Json(body): Json<Value>) -> Json<Value> {
    f.calls.lock().unwrap().push(("chat.update".into(), body));
    Json(json!({"ok": true}))
}

pub(crate) fn sign(secret: &str, ts: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "v0={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Posts a body to a Slack endpoint with the given signature parts.
async fn slack_post(app: &TestApp, path: &str, body: &str, ts: i64, signature: &str) -> Res {
    let res = app
        .http
        .post(format!("{}/api/v1/integrations/slack/{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(Value::Null);
    Res {
        status,
        body,
        headers,
    }
}

async fn command(app: &TestApp, user: &str, text: &str, trigger: &str) -> Res {
    let body = form(&[
        ("team_id", TEAM),
        ("user_id", user),
        ("command", "/roster"),
        ("text", text),
        ("trigger_id", trigger),
    ]);
    let ts = now();
    slack_post(app, "commands", &body, ts, &sign(SECRET, ts, &body)).await
}

async fn click(app: &TestApp, user: &str, action: &str, target: i64, trigger: &str) -> Res {
    let payload = json!({"type": "block_actions", "team": {"id": TEAM}, "user": {"id": user}, "trigger_id": trigger,
        "channel": {"id": "CREVIEW"}, "message": {"ts": "1700000000.000100"},
        "actions": [{"action_id": action, "value": target.to_string(), "action_ts": trigger}]});
    let body = form(&[("payload", &payload.to_string())]);
    let ts = now();
    slack_post(app, "interactions", &body, ts, &sign(SECRET, ts, &body)).await
}

both_engines!(
    registration_from_slack_and_the_cli_approved_from_the_card_and_the_api,
    slack_requests_are_verified_and_handled_once,
    the_slack_api_base_cannot_reach_internal_addresses_and_errors_never_echo
);

/// Connects acme to Slack at `base`; the refusal, if any.
async fn try_connect(app: &TestApp, owner: &Api, base: &str) -> Res {
    app.send(
        Method::PUT,
        &format!("/api/v1/orgs/{ORG}/integrations/slack"),
        Some(owner.token()),
        Some(json!({"signing_secret": SECRET, "bot_token": "xoxb-test-token", "channel": "CREVIEW", "api_base_url": base})),
    )
    .await
}

/// Issue 14, finding 6: an org admin cannot make the server call internal
/// addresses through the Slack API base URL, and what a target answered
/// never comes back in the error.
async fn the_slack_api_base_cannot_reach_internal_addresses_and_errors_never_echo(engine: Engine) {
    let (_slack, base) = FakeSlack::start().await;
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    for target in [
        base.as_str(),
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7:6379",
        "http://localhost:5432",
        "file:///etc/passwd",
    ] {
        let r = try_connect(&app, &owner, target).await;
        assert_eq!(r.status, 422, "{target}: {:?}", r.body);
        assert_eq!(r.code(), "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "api_base_url", "{target}");
    }
    let none = owner.slack_connection(ORG).await;
    assert!(none.is_err(), "nothing was connected");

    // With internal addresses allowed by the operator: a service that
    // answers with its own words and a closed port read the same.
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    let probe = Router::new().fallback(|| async {
        Json(json!({"ok": false, "error": "PROBE-BANNER redis_version:7.2"}))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let answering = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, probe).await.unwrap() });
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/api")
    };
    let a = try_connect(&app, &owner, &answering).await;
    let c = try_connect(&app, &owner, &closed).await;
    assert_eq!((a.status.as_u16(), c.status.as_u16()), (422, 422));
    assert!(!a.body.to_string().contains("PROBE"), "{}", a.body);
    assert_eq!(
        a.body["detail"], c.body["detail"],
        "answered and closed read alike"
    );
    assert_eq!(a.body["errors"], c.body["errors"]);
}

/// Connects acme to the fake Slack. A raw request: the test reads the body
/// for secrets, which the typed answer would not show.
async fn connect(app: &TestApp, owner: &Api, base: &str) {
    let res = app
        .send(
            Method::PUT,
            &format!("/api/v1/orgs/{ORG}/integrations/slack"),
            Some(owner.token()),
            Some(json!({"signing_secret": SECRET, "bot_token": "xoxb-test-token", "channel": "CREVIEW", "api_base_url": base})),
        )
        .await
        .ok();
    assert_eq!(res["team_id"], TEAM);
    assert!(
        res.get("bot_token").is_none() && !res.to_string().contains("xoxb"),
        "secrets are never shown again"
    );
}

async fn registration_from_slack_and_the_cli_approved_from_the_card_and_the_api(engine: Engine) {
    let (slack, base) = FakeSlack::start().await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    let open = UpdateOrgRequest {
        self_registration: Some(true),
        allowed_domains: Some(vec!["dm.test".into()]),
        default_role: Some("viewer".into()),
        ..Default::default()
    };
    owner.update_org(ORG, &open).await.unwrap();
    connect(&app, &owner, &base).await;
    // Stored encrypted: the database never holds the token in clear.
    let (enc,): (String,) = sqlx::query_as("SELECT bot_token_enc FROM slack_connections")
        .fetch_one(app.app.store().pool())
        .await
        .unwrap();
    assert!(!enc.contains("xoxb"));

    // The admin links their Slack account: /roster link, then confirm signed in.
    let reply = command(&app, "UADMIN", "link", "trig-link").await.ok();
    let text = reply["text"].as_str().unwrap();
    let code = text
        .split("roster slack link ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    admin
        .link_slack(
            ORG,
            &SlackLinkRequest {
                code: "WRONGCODE1".into(),
            },
        )
        .await
        .refused(404, "invalid_link");
    admin
        .link_slack(ORG, &SlackLinkRequest { code })
        .await
        .unwrap();
    admin.answered(204);

    // Kevin registers from Slack; Oscar with the API (the CLI's endpoint).
    let reply = command(&app, "UKEVIN", "register", "trig-kevin").await.ok();
    assert!(
        reply["text"].as_str().unwrap().contains("waiting"),
        "{reply}"
    );
    let anonymous = app.client();
    anonymous
        .signup(&SignupRequest {
            org: ORG.into(),
            email: "oscar@dm.test".into(),
            name: "Oscar Martinez".into(),
            password: "oscar-password-1".into(),
        })
        .await
        .unwrap();
    anonymous.answered(202);
    app.confirm_signup_from_outbox("oscar@dm.test").await;
    // A foreign domain is refused, from Slack too.
    let refused = command(&app, "UOUTSIDER", "register", "trig-toby")
        .await
        .ok();
    assert!(
        refused["text"]
            .as_str()
            .unwrap()
            .contains("does not accept"),
        "{refused}"
    );

    let page = app.users(ORG, &owner, "status=reviewing").await;
    assert_eq!(emails(&page), ["kevin@dm.test", "oscar@dm.test"]);
    let id_of = |email: &str| {
        page.items
            .iter()
            .find(|m| m.email == email)
            .unwrap()
            .id
            .unwrap()
    };
    let (kevin, oscar) = (id_of("kevin@dm.test"), id_of("oscar@dm.test"));

    // Review cards were posted for both, with name, email, org and buttons.
    let cards = slack.wait_for("chat.postMessage", 2).await;
    let kevin_card = cards
        .iter()
        .find(|c| c["text"].as_str().unwrap().contains("kevin@dm.test"))
        .unwrap();
    assert_eq!(kevin_card["channel"], "CREVIEW");
    let blocks = kevin_card["blocks"].to_string();
    assert!(
        blocks.contains("Kevin Malone")
            && blocks.contains("roster_approve")
            && blocks.contains("roster_reject")
            && blocks.contains(ORG)
    );

    // An unlinked Slack user cannot decide; the linked admin approves Kevin from the card.
    let nope = click(&app, "USTRANGER", "roster_approve", kevin, "trig-c1")
        .await
        .ok();
    assert!(nope["text"].as_str().unwrap().contains("link"), "{nope}");
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await).len(),
        2
    );
    click(&app, "UADMIN", "roster_approve", kevin, "trig-c2")
        .await
        .ok();
    let updates = slack.wait_for("chat.update", 1).await;
    assert!(
        updates[0]["text"]
            .as_str()
            .unwrap()
            .contains("approved by Angela Admin")
            || updates[0]["text"].as_str().unwrap().contains("approved"),
        "{}",
        updates[0]
    );
    assert_eq!(updates[0]["ts"], "1700000000.000100");
    // Oscar is approved from the API with a chosen role.
    admin
        .approve_member(
            ORG,
            oscar,
            &ApproveRequest {
                role: Some("contributor".into()),
            },
        )
        .await
        .unwrap();

    let active = app.users(ORG, &owner, "status=active&email=dm.test").await;
    let roles: HashMap<String, String> = active
        .items
        .iter()
        .map(|m| (m.email.clone(), m.role.clone()))
        .collect();
    assert_eq!(
        roles.get("kevin@dm.test").map(String::as_str),
        Some("viewer")
    );
    assert_eq!(
        roles.get("oscar@dm.test").map(String::as_str),
        Some("contributor")
    );

    // Both applicants were told, and the audit log tells the story with its channels.
    for who in ["kevin@dm.test", "oscar@dm.test"] {
        let mail = app.mail_to(who).await;
        assert!(mail.iter().any(|m| m.kind == "signup_approved"), "{who}");
    }
    let events = app.audit(ORG, &owner, "action=member.").await;
    let story: Vec<(String, String)> = events
        .iter()
        .rev()
        .map(|e| (e.action.clone(), e.channel.clone()))
        .collect();
    assert!(
        story.contains(&("member.signup".into(), "slack".into())),
        "{story:?}"
    );
    assert!(
        story.contains(&("member.signup".into(), "api".into())),
        "{story:?}"
    );
    assert!(
        story.contains(&("member.approve".into(), "slack".into())),
        "{story:?}"
    );
    assert!(
        story.contains(&("member.approve".into(), "api".into())),
        "{story:?}"
    );
}

async fn slack_requests_are_verified_and_handled_once(engine: Engine) {
    let (slack, base) = FakeSlack::start().await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    let open = UpdateOrgRequest {
        self_registration: Some(true),
        allowed_domains: Some(vec!["dm.test".into()]),
        ..Default::default()
    };
    owner.update_org(ORG, &open).await.unwrap();
    connect(&app, &owner, &base).await;
    let body = form(&[
        ("team_id", TEAM),
        ("user_id", "UKEVIN"),
        ("command", "/roster"),
        ("text", "register"),
        ("trigger_id", "t-1"),
    ]);
    let ts = now();
    // Unsigned, wrongly signed, tampered, stale, unknown workspace: refused, nothing done.
    slack_post(&app, "commands", &body, ts, "")
        .await
        .expect(401, "unauthenticated");
    slack_post(
        &app,
        "commands",
        &body,
        ts,
        &sign("another-secret", ts, &body),
    )
    .await
    .expect(401, "unauthenticated");
    let tampered = body.replace("UKEVIN", "UADMIN");
    slack_post(&app, "commands", &tampered, ts, &sign(SECRET, ts, &body))
        .await
        .expect(401, "unauthenticated");
    let old = ts - 600;
    slack_post(&app, "commands", &body, old, &sign(SECRET, old, &body))
        .await
        .expect(401, "unauthenticated");
    let other_team = body.replace(TEAM, "T9999");
    slack_post(
        &app,
        "commands",
        &other_team,
        ts,
        &sign(SECRET, ts, &other_team),
    )
    .await
    .expect(401, "unauthenticated");
    assert!(emails(&app.users(ORG, &owner, "status=reviewing").await).is_empty());

    // Signed correctly it works; Slack's retry (same request again) acts once.
    slack_post(&app, "commands", &body, ts, &sign(SECRET, ts, &body))
        .await
        .ok();
    let again = slack_post(&app, "commands", &body, ts, &sign(SECRET, ts, &body))
        .await
        .ok();
    assert_eq!(again["text"], "Already handled.");
    assert_eq!(
        emails(&app.users(ORG, &owner, "status=reviewing").await),
        ["kevin@dm.test"]
    );
    assert_eq!(
        app.audit(ORG, &owner, "action=member.signup").await.len(),
        1
    );
    // Help answers without acting.
    let help = command(&app, "UKEVIN", "help", "t-2").await.ok();
    assert!(help["text"].as_str().unwrap().contains("register"));
    slack.wait_for("chat.postMessage", 1).await;
    assert_eq!(slack.calls("chat.postMessage").len(), 1, "one review card");
}
