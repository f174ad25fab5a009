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
    let created: Value = r
        .http
        .post(format!("{}/api/v1/orgs/{ORG}/users", r.bases[1]))
        .bearer_auth(&owner)
        .json(&json!({"email": "gone@acme.test", "role": "admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["user"]["id"].as_i64().unwrap();
    let temp = created["temporary_password"].as_str().unwrap();
    let login: Value = r
        .login_res(2, "gone@acme.test", temp)
        .await
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    r.http
        .post(format!("{}/api/v1/me/password", r.bases[2]))
        .bearer_auth(&token)
        .json(&json!({"current_password": temp, "new_password": "gone-password-1"}))
        .send()
        .await
        .unwrap();
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
    use roster_server::{Application, Config, ConfigLayer, Secret};
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let build = |i: usize| {
        let config = Config::resolve(ConfigLayer {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().join(format!("r{i}"))),
            database_url: Some(db.url.clone()),
            secret_key: Some(Secret::new("33".repeat(32))),
            bootstrap_org: Some(ORG.into()),
            bootstrap_owner_email: Some(OWNER_EMAIL.into()),
            bootstrap_owner_password: Some(Secret::new(OWNER_PASSWORD)),
            ..Default::default()
        })
        .unwrap();
        Application::build(config)
    };
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
    let created: Value = r
        .http
        .post(format!("{}/api/v1/orgs/{ORG}/users", r.bases[0]))
        .bearer_auth(&a_token)
        .json(&json!({"email": "b@acme.test", "role": "owner"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b_id = created["user"]["id"].as_i64().unwrap();
    let temp = created["temporary_password"].as_str().unwrap();
    let b: Value = r
        .login_res(1, "b@acme.test", temp)
        .await
        .json()
        .await
        .unwrap();
    let b_token = b["token"].as_str().unwrap().to_owned();
    r.http
        .post(format!("{}/api/v1/me/password", r.bases[1]))
        .bearer_auth(&b_token)
        .json(&json!({"current_password": temp, "new_password": "b-password-123"}))
        .send()
        .await
        .unwrap();
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
