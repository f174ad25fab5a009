//! API conventions: the OpenAPI document, problem+json for bad input,
//! health and readiness.

use crate::both_engines;
use crate::helpers::*;
use reqwest::Method;
use roster_proto::{CreateMemberRequest, UpdateMemberRequest};
use serde_json::{json, Value};

both_engines!(
    bad_input_gets_a_clear_error_and_changes_nothing,
    health_and_readiness_answer,
    the_audit_log_downloads_as_csv_and_json_lines,
);

async fn the_audit_log_downloads_as_csv_and_json_lines(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    for i in 0..3 {
        let body = CreateMemberRequest {
            email: format!("e{i}@acme.test"),
            name: Some("Comma, \"Quoted\"".into()),
            ..Default::default()
        };
        owner.create_member(ORG, &body).await.unwrap();
    }
    let events = app.audit(ORG, &owner, "action=member.create").await;
    assert_eq!(events.len(), 3);
    // A raw request for the CSV, to read its headers.
    let csv = app
        .http
        .get(format!(
            "{}/api/v1/orgs/{ORG}/audit/export?format=csv&action=member.create",
            app.base
        ))
        .bearer_auth(owner.token())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("# roster audit head: org=acme count="));
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,at,actor_id,actor_email"));
    assert_eq!(
        lines.filter(|l| l.contains("member.create")).count(),
        3,
        "{text}"
    );
    let jsonl = owner
        .audit_export(ORG, &audit_query("action=member.create"), "jsonl")
        .await
        .unwrap();
    let parsed: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), 4, "three events and the chain's head");
    assert_eq!(parsed[0]["action"], "member.create");
    assert!(parsed[3]["head"]["hash"].as_str().unwrap().len() == 64);
    let everything = audit_query("");
    let xml = owner.audit_export(ORG, &everything, "xml").await;
    assert_eq!(xml.unwrap_err().status(), Some(422));
    let (_, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    let refused = viewer.audit_export(ORG, &everything, "csv").await;
    assert_eq!(refused.unwrap_err().status(), Some(403));
}

#[tokio::test]
async fn openapi_documents_every_route_and_is_valid_3_1() {
    let app = spawn_app(Engine::Sqlite).await;
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .ok();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/me"),
        ("post", "/api/v1/me/password"),
        ("get", "/api/v1/me/sessions"),
        ("delete", "/api/v1/me/sessions/{id}"),
        ("get", "/api/v1/orgs"),
        ("post", "/api/v1/orgs"),
        ("get", "/api/v1/orgs/{org}"),
        ("patch", "/api/v1/orgs/{org}"),
        ("post", "/api/v1/orgs/{org}/leave"),
        ("get", "/api/v1/orgs/{org}/users"),
        ("post", "/api/v1/orgs/{org}/users"),
        ("get", "/api/v1/orgs/{org}/users/{id}"),
        ("patch", "/api/v1/orgs/{org}/users/{id}"),
        ("delete", "/api/v1/orgs/{org}/users/{id}"),
        ("get", "/api/v1/orgs/{org}/roles"),
        ("get", "/api/v1/orgs/{org}/roles/{name}"),
        ("get", "/api/v1/orgs/{org}/audit"),
        ("get", "/api/v1/orgs/{org}/audit/export"),
        ("post", "/api/v1/setup"),
        ("get", "/healthz"),
        ("get", "/readyz"),
    ];
    let mut documented = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            documented.push((method.clone(), path.clone()));
            // Every operation documents its responses, and every $ref resolves.
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
        }
    }
    for (m, p) in expected {
        assert!(
            documented.contains(&(m.to_owned(), p.to_owned())),
            "{m} {p} is not documented"
        );
    }
    check_refs(&doc, &doc);
    // Every documented route exists on the server: none answers "no such route".
    let token = app.owner().await;
    for (method, path) in &documented {
        let concrete = path
            .replace("{org}", ORG)
            .replace("{id}", "999999")
            .replace("{name}", "viewer");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
        let res = app.send(m, &concrete, Some(token.token()), body).await;
        assert_ne!(res.status.as_u16(), 405, "{method} {path}");
        assert!(
            !(res.status == 404 && res.body["detail"] == "no such route"),
            "{method} {path} is not routed"
        );
    }
}

fn check_refs(doc: &Value, v: &Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let pointer = r.trim_start_matches('#');
                assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
            }
            map.values().for_each(|x| check_refs(doc, x));
        }
        Value::Array(items) => items.iter().for_each(|x| check_refs(doc, x)),
        _ => {}
    }
}

async fn bad_input_gets_a_clear_error_and_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let users = format!("/api/v1/orgs/{ORG}/users");
    let raw = |body: &'static str| {
        app.http
            .post(format!("{}{users}", app.base))
            .bearer_auth(owner.token())
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let res = raw("{\"email\": ").await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_json");
    let res = raw("{\"email\": \"a@b.test\", \"admin\": true}")
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body = res.json::<Value>().await.unwrap();
    assert_eq!(body["code"], "invalid_body");
    assert!(body["detail"].as_str().unwrap().contains("unknown field"));
    let res = app
        .http
        .post(format!("{}{users}", app.base))
        .bearer_auth(owner.token())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let huge = format!("{{\"email\": \"{}@x.test\"}}", "a".repeat(100_000));
    let res = app
        .http
        .post(format!("{}{users}", app.base))
        .bearer_auth(owner.token())
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let ok = || CreateMemberRequest {
        email: "ok@acme.test".into(),
        ..Default::default()
    };
    for (body, field) in [
        (
            CreateMemberRequest {
                email: "not-an-email".into(),
                ..Default::default()
            },
            "email",
        ),
        (
            CreateMemberRequest {
                name: Some("x".repeat(500)),
                ..ok()
            },
            "name",
        ),
        (
            CreateMemberRequest {
                role: Some("wizard".into()),
                ..ok()
            },
            "role",
        ),
        (
            CreateMemberRequest {
                groups: vec!["bad group".into()],
                ..ok()
            },
            "groups",
        ),
        (
            CreateMemberRequest {
                team: Some("t\u{0}".into()),
                ..ok()
            },
            "team",
        ),
        (
            CreateMemberRequest {
                identity_provider: Some("Not Valid!".into()),
                ..ok()
            },
            "identity_provider",
        ),
    ] {
        let problem = owner
            .create_member(ORG, &body)
            .await
            .refused(422, "validation_failed");
        assert_eq!(problem.errors[0].field, field, "{problem:?}");
    }
    // Raw requests: a body of the wrong type, a path the typed client
    // cannot build.
    app.post(&users, &owner, json!({"email": 42}))
        .await
        .expect(422, "invalid_body");
    app.get(&format!("{users}/not-a-number"), &owner)
        .await
        .expect(404, "not_found");
    let viewer = UpdateMemberRequest {
        role: Some("viewer".into()),
        ..Default::default()
    };
    owner
        .update_member(ORG, 999999, &viewer)
        .await
        .refused(404, "not_found");
    // Raw requests: a route and a method that do not exist.
    app.get("/api/v1/nope", &owner)
        .await
        .expect(404, "not_found");
    app.send(Method::PUT, "/api/v1/me", Some(owner.token()), None)
        .await
        .expect(405, "method_not_allowed");
    owner
        .audit(ORG, &audit_query("since=yesterday"))
        .await
        .refused(422, "validation_failed");
    // Nothing was written by any of it.
    assert_eq!(emails(&app.users(ORG, &owner, "").await), [OWNER_EMAIL]);
    assert!(app
        .audit(ORG, &owner, "action=member.create")
        .await
        .is_empty());
}

async fn health_and_readiness_answer(engine: Engine) {
    let app = spawn_app(engine).await;
    assert_eq!(
        app.send(Method::GET, "/healthz", None, None).await.ok()["status"],
        "ok"
    );
    assert_eq!(
        app.send(Method::GET, "/readyz", None, None).await.ok()["status"],
        "ready"
    );
    let res = app.send(Method::GET, "/healthz", None, None).await;
    assert!(
        res.headers.get("x-request-id").is_some(),
        "every response names its request"
    );
}

/// Every answer says `nosniff` and, unless it is a cacheable asset,
/// `no-store`: API answers carry one caller's data and secrets shown once.
/// A link's secret token never reaches the log, even at `debug`.
#[tokio::test]
async fn answers_are_never_cached_or_sniffed_and_link_tokens_stay_out_of_the_log() {
    let server = serve_with(&[("RUST_LOG", "debug")]);
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&json!({"email": "boss@dundermifflin.com", "password": "boss-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let headers = login.headers().clone();
    let token = login.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(headers["cache-control"], "no-store", "the sign-in answer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    for path in ["/api/v1/me", "/api/v1/no-such-route", "/healthz", "/login"] {
        let res = http
            .get(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
    }

    let canaries = [
        "rsi_CANARYinvitation0123456789",
        "rsp_CANARYpassword0123456789",
    ];
    for path in [
        format!("/invite/{}", canaries[0]),
        format!("/invite/{}/join", canaries[0]),
        format!("/set-password/{}", canaries[1]),
    ] {
        http.get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        http.post(format!("{}{path}", server.url))
            .form(&[("password", "x")])
            .send()
            .await
            .unwrap();
    }
    // The log arrives through a pipe: wait until the last request is in it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !server.log().contains("/set-password/{token}") && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = server.log();
    assert!(
        log.contains("/set-password/{token}"),
        "the requests are logged: {log}"
    );
    for canary in canaries {
        assert!(!log.contains(canary), "{canary} reached the log");
    }
    assert!(!log.contains(&token), "a session token reached the log");
}
