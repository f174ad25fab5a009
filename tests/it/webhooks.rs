//! Webhooks: an org's audit events, delivered through the outbox to an
//! endpoint that verifies Standard Webhooks signatures, each once, also
//! after the endpoint failed for a while; bad URLs and filters refused; the
//! address guard checked again at delivery, after DNS resolution.

use crate::both_engines;
use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use roster_proto::{CreateOrgRequest, CreateWebhookRequest};
use roster_server::app::SystemClock;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_engines!(
    a_receiver_that_verifies_signatures_gets_every_event_once,
    an_endpoint_that_keeps_failing_shows_undelivered_without_its_words,
    bad_webhook_requests_are_refused_and_change_nothing,
    an_address_that_resolves_to_loopback_is_refused_at_delivery,
    the_test_button_sends_a_signed_delivery,
);

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// The secret to verify with, once known.
    secret: Option<String>,
    /// Requests to answer 500 before accepting.
    fail_first: usize,
    requests: usize,
    bad_signatures: usize,
    /// Accepted deliveries: audit event id → times delivered.
    events: HashMap<i64, usize>,
    /// Accepted payloads.
    bodies: Vec<Value>,
    webhook_ids: Vec<String>,
}

type Shared = Arc<Mutex<Seen>>;

async fn receive(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let mut s = seen.lock().unwrap();
    s.requests += 1;
    if s.requests <= s.fail_first {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "RECEIVER-INTERNAL-DETAIL",
        );
    }
    let Some(secret) = s.secret.clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready");
    };
    let wh = standardwebhooks::Webhook::new(&secret).unwrap();
    if wh.verify(&body, &headers).is_err() {
        s.bad_signatures += 1;
        return (StatusCode::UNAUTHORIZED, "bad signature");
    }
    let v: Value = serde_json::from_slice(&body).unwrap();
    if let Some(id) = v["data"]["id"].as_i64() {
        *s.events.entry(id).or_default() += 1;
    }
    s.webhook_ids
        .push(headers["webhook-id"].to_str().unwrap().to_owned());
    s.bodies.push(v);
    (StatusCode::NO_CONTENT, "")
}

/// A webhook receiver on loopback: its URL and what it saw.
async fn receiver(fail_first: usize) -> (String, Shared) {
    let seen: Shared = Arc::new(Mutex::new(Seen {
        fail_first,
        ..Default::default()
    }));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

fn hook(url: &str, events: &[&str]) -> CreateWebhookRequest {
    CreateWebhookRequest {
        url: url.to_owned(),
        events: events.iter().map(|s| s.to_string()).collect(),
        secret: None,
    }
}

/// Waits (up to a minute) until `done` holds of what the receiver saw.
async fn until(seen: &Shared, what: &str, done: impl Fn(&Seen) -> bool) {
    for _ in 0..600 {
        if done(&seen.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = seen.lock().unwrap();
    panic!(
        "{what}: the receiver saw {} requests, events {:?}",
        s.requests, s.events
    );
}

async fn a_receiver_that_verifies_signatures_gets_every_event_once(engine: Engine) {
    let app = spawn_allowing_private(engine, Arc::new(SystemClock)).await;
    let owner = app.owner().await;
    // The endpoint answers 500 to its first three requests.
    let (url, seen) = receiver(3).await;
    let made = owner
        .create_webhook(ORG, &hook(&url, &["member.", "group.create"]))
        .await
        .unwrap();
    owner.answered(201);
    assert!(made.secret.starts_with("whsec_"));
    seen.lock().unwrap().secret = Some(made.secret.clone());
    for i in 0..5 {
        owner
            .create_member(ORG, &new_member(&format!("w{i}@acme.test"), "viewer"))
            .await
            .unwrap();
    }
    // Not in the filter: never delivered.
    owner.set_audit_retention(ORG, Some(400)).await.unwrap();
    until(&seen, "five member.create events", |s| s.events.len() == 5).await;
    // The deliveries settle: nothing is left pending.
    for _ in 0..100 {
        let list = owner.list_webhooks(ORG).await.unwrap();
        if list.items[0].pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = owner.list_webhooks(ORG).await.unwrap();
    assert_eq!((list.items[0].pending, list.items[0].failed), (0, 0));
    let s = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        s.requests > 5,
        "some deliveries were retried: {}",
        s.requests
    );
    assert_eq!(s.bad_signatures, 0);
    assert!(
        s.events.values().all(|n| *n == 1),
        "each event once: {:?}",
        s.events
    );
    let mut ids = s.webhook_ids.clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "one webhook-id per delivery");
    for b in &s.bodies {
        assert_eq!(b["type"], "member.create");
        assert_eq!(b["data"]["action"], "member.create");
        assert_eq!(b["data"]["actor"]["email"], OWNER_EMAIL);
        assert_eq!(b["data"]["hash"].as_str().unwrap().len(), 64);
        assert!(b["data"]["seq"].as_i64().unwrap() > 0);
    }
    // The org's audit log says who added the endpoint, without its secret.
    let created = app.audit(ORG, &owner, "action=webhook.create").await;
    assert_eq!(created.len(), 1);
    assert!(!created[0].details.to_string().contains("whsec_"));
}

async fn an_endpoint_that_keeps_failing_shows_undelivered_without_its_words(engine: Engine) {
    let app = spawn_allowing_private(engine, Arc::new(SystemClock)).await;
    let owner = app.owner().await;
    let (url, seen) = receiver(usize::MAX).await;
    let made = owner.create_webhook(ORG, &hook(&url, &[])).await.unwrap();
    owner
        .create_member(ORG, &new_member("f@acme.test", "viewer"))
        .await
        .unwrap();
    until(&seen, "an attempt", |s| s.requests >= 1).await;
    let mut undelivered = Vec::new();
    for _ in 0..100 {
        undelivered = owner.undelivered(ORG).await.unwrap();
        if undelivered
            .iter()
            .any(|m| m.kind == "webhook" && m.attempts >= 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = undelivered
        .iter()
        .find(|m| m.kind == "webhook" && m.attempts >= 1)
        .expect("an undelivered webhook message");
    assert_eq!(m.recipient, format!("webhook:{}", made.view.id));
    assert_eq!(m.last_error, "the endpoint answered HTTP 500");
    assert!(!m.last_error.contains("RECEIVER-INTERNAL-DETAIL"));
    let list = owner.list_webhooks(ORG).await.unwrap();
    assert!(list.items[0].pending >= 1);
    // Deleting the endpoint drops what was waiting for it.
    owner.delete_webhook(ORG, made.view.id).await.unwrap();
    assert!(owner
        .undelivered(ORG)
        .await
        .unwrap()
        .iter()
        .all(|m| m.kind != "webhook"));
    owner
        .delete_webhook(ORG, made.view.id)
        .await
        .refused(404, "not_found");
}

async fn bad_webhook_requests_are_refused_and_change_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    for url in [
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "gopher://hooks.example.com/",
        "javascript:alert(1)",
        "not a url",
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "https://user:pass@hooks.example.com/",
    ] {
        let p = owner
            .create_webhook(ORG, &hook(url, &[]))
            .await
            .refused(422, "validation_failed");
        assert_eq!(p.errors[0].field, "url", "{url}");
    }
    let p = owner
        .create_webhook(
            ORG,
            &hook("https://hooks.example.com/x", &["member.explode"]),
        )
        .await
        .refused(422, "validation_failed");
    assert_eq!(p.errors[0].field, "events");
    assert!(p.errors[0].message.contains("member.explode"));
    owner
        .create_webhook(ORG, &hook("https://hooks.example.com/x", &["nothing."]))
        .await
        .refused(422, "validation_failed");
    let mut with_secret = hook("https://hooks.example.com/x", &[]);
    with_secret.secret = Some("whsec_tooshort".into());
    owner
        .create_webhook(ORG, &with_secret)
        .await
        .refused(422, "validation_failed");
    let r = app
        .post(
            "/api/v1/orgs/acme/webhooks",
            &owner,
            serde_json::json!({ "url": "https://hooks.example.com/x", "colour": "red" }),
        )
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(owner.list_webhooks(ORG).await.unwrap().items.is_empty());
    assert!(app.audit(ORG, &owner, "action=webhook.").await.is_empty());

    // Permissions and other orgs.
    let (_, viewer) = app.member(ORG, &owner, "v@acme.test", "viewer").await;
    viewer
        .create_webhook(ORG, &hook("https://hooks.example.com/x", &[]))
        .await
        .refused(403, "forbidden");
    viewer.list_webhooks(ORG).await.refused(403, "forbidden");
    viewer
        .create_org(&CreateOrgRequest {
            slug: "globex".into(),
            name: "Globex".into(),
        })
        .await
        .unwrap();
    let theirs = viewer
        .create_webhook("globex", &hook("https://hooks.example.com/globex", &[]))
        .await
        .unwrap();
    owner
        .list_webhooks("globex")
        .await
        .refused(404, "not_found");
    owner
        .delete_webhook("globex", theirs.view.id)
        .await
        .refused(404, "not_found");
    owner
        .delete_webhook(ORG, theirs.view.id)
        .await
        .refused(404, "not_found");
    owner
        .test_webhook(ORG, theirs.view.id)
        .await
        .refused(404, "not_found");
    assert_eq!(viewer.list_webhooks("globex").await.unwrap().items.len(), 1);
}

/// A name other than `localhost` that this machine's resolver maps to a
/// loopback address (from /etc/hosts).
fn loopback_alias() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    hosts
        .lines()
        .filter(|l| l.starts_with("127."))
        .flat_map(|l| l.split_whitespace().skip(1))
        .find(|n| !n.contains("localhost") && !n.starts_with('#'))
        .map(str::to_owned)
        .expect("/etc/hosts names this machine on a loopback address")
}

async fn an_address_that_resolves_to_loopback_is_refused_at_delivery(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (url, seen) = receiver(0).await;
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // Saved while the name did not resolve; later it points at loopback
    // (DNS rebinding, here by editing the saved name).
    let made = owner
        .create_webhook(ORG, &hook("http://roster-hook.invalid/hook", &[]))
        .await
        .unwrap();
    let alias = loopback_alias();
    owner
        .create_webhook(ORG, &hook(&format!("http://{alias}:{port}/hook"), &[]))
        .await
        .refused(422, "validation_failed");
    sqlx::query(&format!(
        "UPDATE webhooks SET url = 'http://{alias}:{port}/hook' WHERE id = {}",
        made.view.id
    ))
    .execute(app.app.store().pool())
    .await
    .unwrap();
    owner
        .create_member(ORG, &new_member("r@acme.test", "viewer"))
        .await
        .unwrap();
    // Retried with backoff until the address now behind the name is seen
    // (the sender remembers an endpoint for two seconds).
    let mut refused = None;
    for _ in 0..300 {
        refused = owner.undelivered(ORG).await.unwrap().into_iter().find(|m| {
            m.kind == "webhook" && m.subject == "member.create" && m.last_error.contains("loopback")
        });
        if refused.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = refused.expect("the delivery was tried and refused");
    assert!(
        m.last_error.contains("loopback, private or link-local"),
        "{}",
        m.last_error
    );
    assert_eq!(
        seen.lock().unwrap().requests,
        0,
        "nothing reached the receiver"
    );
    let t = owner.test_webhook(ORG, made.view.id).await.unwrap();
    assert!(!t.delivered);
    assert!(t.error.unwrap().contains("loopback"));
    assert_eq!(seen.lock().unwrap().requests, 0);
}

async fn the_test_button_sends_a_signed_delivery(engine: Engine) {
    let app = spawn_allowing_private(engine, Arc::new(SystemClock)).await;
    let owner = app.owner().await;
    let (url, seen) = receiver(0).await;
    let made = owner
        .create_webhook(ORG, &hook(&url, &["group.create"]))
        .await
        .unwrap();
    seen.lock().unwrap().secret = Some(made.secret.clone());
    let r = owner.test_webhook(ORG, made.view.id).await.unwrap();
    assert!(r.delivered, "{r:?}");
    assert_eq!(r.status, Some(204));
    let s = seen.lock().unwrap();
    assert_eq!(s.bad_signatures, 0);
    assert_eq!(s.bodies[0]["type"], "webhook.test");
    assert!(s.webhook_ids[0].starts_with("msg_test_"));
}

/// Three replicas share one PostgreSQL database and one outbox: members
/// created through each, and the receiver gets every event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_deliver_each_event_once_per_endpoint() {
    let replicas = spawn_replicas_with(3, |c| c.webhooks_allow_private = true).await;
    let (_, owner) = replicas.login(0, OWNER_EMAIL, OWNER_PASSWORD).await;
    let (url, seen) = receiver(0).await;
    let made = owner
        .create_webhook(ORG, &hook(&url, &["member.create"]))
        .await
        .unwrap();
    seen.lock().unwrap().secret = Some(made.secret.clone());
    for i in 0..12 {
        let (_, by) = replicas.login(i % 3, OWNER_EMAIL, OWNER_PASSWORD).await;
        by.create_member(ORG, &new_member(&format!("r{i}@acme.test"), "viewer"))
            .await
            .unwrap();
    }
    until(&seen, "twelve events", |s| s.events.len() == 12).await;
    // Every replica's worker has had several passes since; none sent one again.
    for _ in 0..100 {
        let list = owner.list_webhooks(ORG).await.unwrap();
        if list.items[0].pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let s = seen.lock().unwrap();
    assert_eq!(s.bad_signatures, 0);
    assert_eq!(s.requests, 12, "{:?}", s.events);
    assert!(s.events.values().all(|n| *n == 1), "{:?}", s.events);
}
