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
