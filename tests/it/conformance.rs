//! Conformance: what schemathesis found, each pinned by a test, and the
//! cross-org matrix generated from the OpenAPI document.

use crate::both_engines;
use crate::helpers::*;
use reqwest::Method;
use roster_domain::{BuiltinRole, ManagementPermission};
use serde_json::{json, Value};
use std::process::Command;

both_engines!(
    every_org_operation_refuses_another_orgs_caller,
    conformance_findings_stay_fixed,
);

const B: &str = "borg";

/// What a caller outside org B can see of B's state: its audit log's length
/// and its team list.
async fn snapshot(app: &TestApp, b_owner: &Api) -> (usize, Value) {
    let audit = app
        .get(&format!("/api/v1/orgs/{B}/audit?limit=200"), b_owner)
        .await
        .ok();
    let team = app
        .get(&format!("/api/v1/orgs/{B}/users?limit=200"), b_owner)
        .await
        .ok();
    (audit["items"].as_array().expect("items").len(), team)
}

/// For every operation of the document whose path has `{org}`: a member of
/// org A in each built-in role (owner, admin, contributor, viewer,
/// viewer-no-secrets), by session and by API token (a personal token where
/// the role may make one, and a service account's token in each role),
/// calling it on org B with B's slug and B's real ids, gets 404 or 403, and
/// B does not change. A new `{org}` route is covered without being listed
/// here; one whose path parameter this test cannot fill, or whose method it
/// does not know, fails it.
async fn every_org_operation_refuses_another_orgs_caller(engine: Engine) {
    let app = spawn_app(engine).await;
    let a_owner = app.owner().await;
    // A's callers: (who, bearer).
    let mut callers: Vec<(String, String)> = Vec::new();
    for role in BuiltinRole::ALL.map(BuiltinRole::name) {
        let session = if role == "owner" {
            app.owner().await
        } else {
            app.member(ORG, &a_owner, &format!("{role}@acme.test"), role)
                .await
                .1
        };
        // A personal token, where the role may make one (`tokens:create`).
        let personal = app
            .send(
                Method::POST,
                &format!("/api/v1/orgs/{ORG}/tokens"),
                Some(session.token()),
                Some(json!({ "name": "cross-org" })),
            )
            .await;
        let may_make_tokens = BuiltinRole::ALL
            .into_iter()
            .find(|r| r.name() == role)
            .is_some_and(|r| r.management().contains(ManagementPermission::TokensCreate));
        if may_make_tokens {
            let token = personal.ok()["token"].as_str().expect("token").to_owned();
            callers.push((format!("A's {role}'s API token"), token));
        } else {
            personal.expect(403, "forbidden");
        }
        // A service account in this role, and its token.
        let account = app
            .post(
                &format!("/api/v1/orgs/{ORG}/service-accounts"),
                &a_owner,
                json!({ "name": format!("sa-{role}"), "role": role }),
            )
            .await
            .ok();
        let id = account["id"].as_i64().expect("service account id");
        let token = app
            .post(
                &format!("/api/v1/orgs/{ORG}/service-accounts/{id}/tokens"),
                &a_owner,
                json!({ "name": "cross-org" }),
            )
            .await
            .ok()["token"]
            .as_str()
            .expect("token")
            .to_owned();
        callers.push((format!("A's {role} service account's token"), token));
        callers.push((format!("A's {role}'s session"), session.token().to_owned()));
    }
    assert_eq!(
        callers.len(),
        13,
        "5 sessions, 3 personal tokens, 5 service accounts"
    );
    // Each of them works in A, so a refusal in B is B's.
    for (who, bearer) in &callers {
        let res = app
            .send(
                Method::GET,
                &format!("/api/v1/orgs/{ORG}/users?limit=1"),
                Some(bearer),
                None,
            )
            .await;
        assert_eq!(
            res.status, 200,
            "{who} cannot read A's team list: {}",
            res.body
        );
    }
    // Org B, owned by someone who is not A's owner.
    let (_, b_owner) = app.member(ORG, &a_owner, "bea@acme.test", "viewer").await;
    app.post(
        "/api/v1/orgs",
        &b_owner,
        json!({ "slug": B, "name": "B Org" }),
    )
    .await
    .ok();
    let post = |path: &str, body: Value| {
        let path = format!("/api/v1/orgs/{B}{path}");
        let b_owner = &b_owner;
        let app = &app;
        async move { app.post(&path, b_owner, body).await.ok() }
    };
    let member = post("/users", json!({ "email": "mo@b.test" })).await;
    let member_id = member["user"]["id"].as_i64().expect("member id");
    post("/groups", json!({ "name": "bgroup" })).await;
    post("/groups/bgroup/members", json!({ "user_id": member_id })).await;
    post(
        "/resources",
        json!({ "key": "clusters/b-1", "review": { "actions": ["clusters:deploy"] } }),
    )
    .await;
    let rule = post(
        "/access-rules",
        json!({ "user": "mo@b.test", "role": "contributor", "resource": "clusters/b-1" }),
    )
    .await;
    let rule_id = rule["id"].as_i64().expect("rule id");
    let invited = post("/invitations", json!({ "emails": "inv@b.test" })).await;
    let invitation_id = invited["results"][0]["invitation"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("invitation id in {invited}"));
    let token = post("/tokens", json!({ "name": "b-token" })).await;
    let token_id = token["id"].as_i64().expect("token id");
    let scim_token = post("/scim-tokens", json!({ "name": "b-directory" })).await;
    let scim_token_id = scim_token["id"].as_i64().expect("SCIM token id");
    let account = post("/service-accounts", json!({ "name": "b-bot" })).await;
    let account_id = account["id"].as_i64().expect("service account id");
    let request = post(
        "/requests",
        json!({ "resource": "clusters/b-1", "action": "clusters:deploy",
                "reason": "cross-org", "duration_seconds": 3600 }),
    )
    .await;
    let request_id = request["id"].as_i64().expect("request id");
    // A public address (example.com's): the outbound guard takes it.
    let hook = post(
        "/webhooks",
        json!({ "url": "https://93.184.215.14/hook", "events": [] }),
    )
    .await;
    let webhook_id = hook["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("webhook id in {hook}"));
    let sso = post(
        "/sso/connections",
        json!({ "issuer": "https://93.184.215.14", "client_id": "b", "client_secret": "b-secret",
                "domains": ["b.test"] }),
    )
    .await;
    let sso_id = sso["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("SSO connection id in {sso}"));

    // The value of each path parameter, keyed by the segment before it and
    // its name. An unknown one fails the test: add its filler here.
    let fill = |key: &str| -> String {
        match key {
            "orgs/{org}" => B.to_owned(),
            "users/{id}" | "members/{id}" => member_id.to_string(),
            "groups/{name}" => "bgroup".to_owned(),
            "access-rules/{id}" => rule_id.to_string(),
            "invitations/{id}" => invitation_id.to_string(),
            "tokens/{id}" => token_id.to_string(),
            "scim-tokens/{id}" => scim_token_id.to_string(),
            "service-accounts/{id}" => account_id.to_string(),
            "requests/{id}" => request_id.to_string(),
            "webhooks/{id}" => webhook_id.to_string(),
            "connections/{id}" => sso_id.to_string(),
            "resources/{type}" => "clusters".to_owned(),
            "{type}/{name}" => "b-1".to_owned(),
            "roles/{name}" => "contributor".to_owned(),
            other => panic!(
                "no filler for the path parameter {other}: add one to this test so that the new route is covered"
            ),
        }
    };

    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .ok();
    let before = snapshot(&app, &b_owner).await;
    let mut covered = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.contains("{org}") {
            continue;
        }
        let segments: Vec<&str> = path.split('/').collect();
        let concrete: Vec<String> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if s.starts_with('{') {
                    fill(&format!("{}/{s}", segments[i - 1]))
                } else {
                    (*s).to_owned()
                }
            })
            .collect();
        let concrete = concrete.join("/");
        for method in item.as_object().expect("path item").keys() {
            if method == "parameters" {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes())
                .unwrap_or_else(|_| panic!("{path}: {method} is not a method"));
            assert!(
                ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()),
                "{m} {path}: teach this test what to send with {m}"
            );
            let body = [Method::POST, Method::PUT, Method::PATCH]
                .contains(&m)
                .then(|| json!({}));
            // Every caller at once: one server, one batch per operation.
            let answers = futures::future::join_all(callers.iter().map(|(who, bearer)| {
                let (app, m, concrete, body) = (&app, m.clone(), &concrete, body.clone());
                async move { (who, app.send(m, concrete, Some(bearer), body).await) }
            }))
            .await;
            for (who, res) in answers {
                assert!(
                    [403, 404].contains(&res.status.as_u16()),
                    "{who}: {m} {concrete} answered {} {}",
                    res.status,
                    res.body
                );
            }
            covered += 1;
        }
    }
    assert!(covered > 50, "only {covered} operations covered");
    assert_eq!(snapshot(&app, &b_owner).await, before, "org B changed");
}

/// Each conformance finding, pinned.
async fn conformance_findings_stay_fixed(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    // A resource URL whose type does not exist, or whose name cannot be a
    // resource's, is a page that does not exist (it was a 422).
    for path in ["nosuchtype/x", "clusters/%20bad%20name"] {
        for m in [Method::GET, Method::DELETE] {
            app.send(
                m,
                &format!("/api/v1/orgs/{ORG}/resources/{path}"),
                Some(owner.token()),
                None,
            )
            .await
            .expect(404, "not_found");
        }
    }
    // A whole number written with a fraction is an integer (it was a 422).
    let (id, _) = app.member(ORG, &owner, "five@acme.test", "viewer").await;
    app.post(
        &format!("/api/v1/orgs/{ORG}/groups"),
        &owner,
        json!({ "name": "fives" }),
    )
    .await
    .ok();
    app.post(
        &format!("/api/v1/orgs/{ORG}/groups/fives/members"),
        &owner,
        json!({ "user_id": id as f64 }),
    )
    .await
    .ok();
    app.post(
        &format!("/api/v1/orgs/{ORG}/groups/fives/members"),
        &owner,
        json!({ "user_id": 1.5 }),
    )
    .await
    .expect(422, "invalid_body");
    // The document states the limits the server enforces.
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .ok();
    let schemas = &doc["components"]["schemas"];
    let users = &doc["paths"]["/api/v1/orgs/{org}/users"]["get"]["parameters"];
    let limit = users
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit");
    assert_eq!(
        (
            limit["schema"]["minimum"].as_i64(),
            limit["schema"]["maximum"].as_i64()
        ),
        (Some(1), Some(200))
    );
    assert!(schemas["CreateOrgRequest"]["properties"]["slug"]["pattern"]
        .as_str()
        .unwrap()
        .contains("(?!personal-)"));
    assert_eq!(
        schemas["SetupRequest"]["properties"]["password"]["minLength"],
        10
    );
    assert_eq!(
        schemas["ResourceTypeRequest"]["properties"]["actions"]["minItems"],
        1
    );
    let export = &doc["paths"]["/api/v1/orgs/{org}/audit/export"]["get"]["parameters"];
    let format = export
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "format")
        .expect("format");
    assert_eq!(format["schema"]["enum"], json!(["csv", "jsonl"]));
    // A body is a JSON object: serde would read a struct from an array
    // (`[null, null]` changed nothing and answered 200).
    for body in [json!([null, null]), json!(null), json!("x")] {
        app.send(
            Method::PATCH,
            &format!("/api/v1/orgs/{ORG}"),
            Some(owner.token()),
            Some(body),
        )
        .await
        .expect(422, "invalid_body");
    }
    // An action's optional body is the object or nothing, never `null`.
    let approve = &doc["paths"]["/api/v1/orgs/{org}/requests/{id}/approve"]["post"]["requestBody"];
    assert_eq!(approve["required"], false);
    assert_eq!(
        approve["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ReviewDecisionRequest"
    );
    // Slack's form bodies are objects, signed in two headers.
    let slash = &doc["paths"]["/api/v1/integrations/slack/commands"]["post"];
    assert_eq!(
        slash["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/SlashCommandForm"
    );
    let headers: Vec<&str> = slash["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "header" && p["required"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(headers, ["X-Slack-Signature", "X-Slack-Request-Timestamp"]);
    assert_eq!(
        schemas["AuditRetention"]["properties"]["days"]["maximum"],
        36500
    );
    // A member's status is set to one of three (never `invited`).
    let status = schemas["UpdateMemberRequest"]["properties"]["status"]["pattern"]
        .as_str()
        .unwrap();
    assert!(status.contains("[Dd][Ii][Ss]") && !status.contains("[Ii][Nn][Vv]"));
    // A personal org's refusal to invite is documented.
    assert!(doc["paths"]["/api/v1/orgs/{org}/invitations"]["post"]["responses"]["409"].is_object());
}

/// schemathesis (pinned in `.ci/pytools`) against the real binary: every
/// operation of the document, every check, as the bootstrap owner (signed
/// in with a second factor, so that an org the run sets to `mfa_policy:
/// required` does not shut it out). Reproducible: `schemathesis.toml` fixes
/// the seed and the number of cases per operation, with no time budget;
/// it also holds, with their reasons, the refusals no schema can express.
/// `ROSTER_SCHEMATHESIS_EXAMPLES` raises the cases per operation for a
/// deeper run by hand.
#[test]
fn schemathesis_finds_nothing() {
    let server = serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(async {
        let http = reqwest::Client::new();
        let call = |path: &str, token: Option<&str>, body: Value| {
            let mut req = http
                .post(format!("{}/api/v1{path}", server.url))
                .json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let path = path.to_owned();
            async move {
                let res = req.send().await.expect("request");
                assert!(res.status().is_success(), "{path}: {}", res.status());
                res.json::<Value>().await.expect("JSON")
            }
        };
        let login = json!({ "email": "boss@dundermifflin.com", "password": "boss-password-1" });
        let first = call("/auth/login", None, login.clone()).await;
        let first = first["token"].as_str().expect("token");
        let enrol = call("/me/mfa/totp", Some(first), json!({})).await;
        let secret = enrol["secret"].as_str().expect("secret");
        let step = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            / 30;
        let codes = call(
            "/me/mfa/totp/confirm",
            Some(first),
            json!({ "code": crate::mfa::totp(secret, step) }),
        )
        .await;
        let mut login = login;
        login["recovery_code"] = codes["recovery_codes"][0].clone();
        let second = call("/auth/login", None, login).await;
        second["token"].as_str().expect("token").to_owned()
    });

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // Its own empty directory: schemathesis writes nothing it reads back.
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(pytool("schemathesis"));
    command
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(root.join("schemathesis.toml"))
        .args(["--no-color", "run"])
        .arg(format!("{}/api/v1/openapi.json", server.url))
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .args(["--checks", "all"])
        // The two operations that end the caller's own session: run as
        // the owner, they would sign the run out (tests/it covers both).
        .args(["--exclude-path", "/api/v1/auth/logout"])
        .args(["--exclude-path", "/api/v1/me/sessions/{id}"]);
    if let Ok(n) = std::env::var("ROSTER_SCHEMATHESIS_EXAMPLES") {
        command.args(["--max-examples", &n]);
    }
    let out = command.output().expect("run schemathesis");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let log = server.log();
    let tail: Vec<&str> = log.lines().rev().take(40).collect();
    assert!(
        out.status.success(),
        "schemathesis found something:\n{report}\n--- server log (last lines) ---\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    // Its summary, for `--nocapture`.
    if let Some(at) = report.find("SUMMARY") {
        println!("{}", &report[at..]);
    }
    // It ran: every operation but the two left out.
    let tested = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no count of tested operations in:\n{report}"));
    assert!(
        tested >= 100,
        "schemathesis tested {tested} operations:\n{report}"
    );
}
