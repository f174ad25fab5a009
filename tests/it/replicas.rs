//! Several servers on one PostgreSQL database behave as one service.

use crate::helpers::*;
use serde_json::{json, Value};

/// Failed sign-ins spread over replicas count together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_throttling_holds_across_replicas() {
    let r = spawn_replicas(3, None).await;
    for i in 0..5 {
        let res = r.login_res(i % 3, OWNER_EMAIL, "wrong-password").await;
        assert_eq!(res.status(), 401);
    }
    for replica in 0..3 {
        let res = r.login_res(replica, OWNER_EMAIL, OWNER_PASSWORD).await;
        assert_eq!(res.status(), 429, "replica {replica} refuses too");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "too_many_attempts");
    }
}

/// A member removed through one replica is refused by the others on the
/// very next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_through_one_replica_is_enforced_by_the_others() {
    let r = spawn_replicas(3, None).await;
    let owner: Value = r
        .login_res(0, OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let owner = owner["token"].as_str().unwrap().to_owned();
    let (id, token) = r.member(1, &owner, "gone@acme.test", "admin", 2).await;
    for base in &r.bases {
        let res = r
            .http
            .get(format!("{base}/api/v1/orgs/{ORG}/users"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = r
        .http
        .delete(format!("{}/api/v1/orgs/{ORG}/users/{id}", r.bases[0]))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for base in &r.bases {
        let res = r
            .http
            .get(format!("{base}/api/v1/orgs/{ORG}/users"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            404,
            "{base} refuses the removed member at once"
        );
    }
}

/// Three replicas starting at once on an empty database: migrations run
/// once, exactly one seeds the first org, and all of them serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_and_seed_once() {
    use roster_server::Application;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let build =
        |i: usize| Application::build(replica_config(&db.url, &dir.path().join(format!("r{i}"))));
    let (a, b, c) = tokio::join!(build(0), build(1), build(2));
    let http = reqwest::Client::new();
    for app in [a.unwrap(), b.unwrap(), c.unwrap()] {
        let base = format!("http://{}", app.addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        let res = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let (orgs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orgs WHERE slug = 'acme'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (migrations,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(orgs, 1);
    assert!(migrations >= 6);
}

/// Two owners demoting each other through different replicas at the same
/// moment leave exactly one owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_demoting_each_other_through_different_replicas_leave_one() {
    let r = spawn_replicas(2, None).await;
    let a: Value = r
        .login_res(0, OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let (a_token, a_id) = (
        a["token"].as_str().unwrap().to_owned(),
        a["user"]["id"].as_i64().unwrap(),
    );
    let (b_id, b_token) = r.member(0, &a_token, "b@acme.test", "owner", 1).await;
    let demote = |base: &String, token: &String, id: i64| {
        r.http
            .patch(format!("{base}/api/v1/orgs/{ORG}/users/{id}"))
            .bearer_auth(token)
            .json(&json!({"role": "admin"}))
            .send()
    };
    let (ra, rb) = tokio::join!(
        demote(&r.bases[0], &a_token, b_id),
        demote(&r.bases[1], &b_token, a_id)
    );
    let (sa, sb) = (ra.unwrap().status(), rb.unwrap().status());
    assert_eq!(
        [sa, sb].iter().filter(|s| s.is_success()).count(),
        1,
        "{sa} / {sb}"
    );
    // The owner who kept the role sees exactly one active owner.
    let keeper = if sa.is_success() { &a_token } else { &b_token };
    let owners: Value = r
        .http
        .get(format!(
            "{}/api/v1/orgs/{ORG}/users?role=owner&status=active",
            r.bases[0]
        ))
        .bearer_auth(keeper)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(owners["items"].as_array().unwrap().len(), 1, "{owners}");
}

/// While the database is unreachable, readiness says so and requests get a
/// clear 503 rather than hanging; when it comes back, the server recovers
/// by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_database_connection_is_cut_answers_503_and_recovers() {
    use roster_server::Application;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let proxy = Proxy::start().await;
    let via_proxy = db
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    assert_ne!(
        via_proxy, db.url,
        "the test database URL names 127.0.0.1:5432"
    );
    let config = replica_config(&via_proxy, &dir.path().join("r"));
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    proxy.cut().await;
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let res = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "unavailable");
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "alive, just not ready"
    );

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..60 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(recovered, "ready again once the database is back");
    let me = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

/// One invitation accepted through two replicas at the same moment: one
/// wins, the other is refused, and the person is a member once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invitation_accepted_on_two_replicas_at_once_lets_one_in() {
    let r = spawn_replicas(2, None).await;
    let owner: Value = r
        .login_res(0, OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let owner = owner["token"].as_str().unwrap().to_owned();
    for round in 0..3 {
        let email = format!("race{round}@x.test");
        let res: Value = r
            .http
            .post(format!("{}/api/v1/orgs/{ORG}/invitations", r.bases[0]))
            .bearer_auth(&owner)
            .json(&json!({"emails": email}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = res["results"][0]["link"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let accept = |base: &String| {
            r.http
                .post(format!("{base}/api/v1/invitations/{token}/accept"))
                .json(&json!({"name": "Racer", "password": "racer-password-1"}))
                .send()
        };
        let (a, b) = tokio::join!(accept(&r.bases[0]), accept(&r.bases[1]));
        let ok = [a.unwrap().status(), b.unwrap().status()]
            .iter()
            .filter(|s| s.is_success())
            .count();
        assert_eq!(ok, 1, "round {round}");
        let members: Value = r
            .http
            .get(format!(
                "{}/api/v1/orgs/{ORG}/users?email={email}",
                r.bases[1]
            ))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = members["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["status"], "active");
    }
}

/// A rule revoked through one replica stops allowing on another within a
/// second (SPEC §5): the other replica's in-memory index follows org
/// revisions. The test allows five seconds so that a loaded machine does
/// not fail it; the design bound is a quarter of a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_revoked_through_one_replica_stops_allowing_on_the_others() {
    let r = spawn_replicas(2, None).await;
    let owner: Value = r
        .login_res(0, OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let owner = owner["token"].as_str().unwrap().to_owned();
    r.member(0, &owner, "dwight@acme.test", "viewer", 0).await;
    let post = |replica: usize, path: &str, body: Value| {
        r.http
            .post(format!("{}/api/v1/orgs/{ORG}/{path}", r.bases[replica]))
            .bearer_auth(&owner)
            .json(&body)
            .send()
    };
    post(0, "resources", json!({"key": "clusters/eu-1"}))
        .await
        .unwrap();
    let rule: Value = post(
        0,
        "access-rules",
        json!({"user": "dwight@acme.test", "role": "contributor", "resource": "clusters/eu-1"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let question = json!({"user": "dwight@acme.test", "action": "clusters:update", "resource": "clusters/eu-1"});
    let allowed = || async {
        let d: Value = post(1, "check", question.clone())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        d["allowed"].as_bool().expect("a decision")
    };
    // Replica 1 has not seen the org before: it loads it, rule included.
    assert!(allowed().await);
    let res = r
        .http
        .delete(format!(
            "{}/api/v1/orgs/{ORG}/access-rules/{}",
            r.bases[0], rule["id"]
        ))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while allowed().await {
        assert!(
            std::time::Instant::now() < deadline,
            "replica 1 still allows after the rule was revoked on replica 0"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
