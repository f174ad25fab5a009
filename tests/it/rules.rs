//! The rules of SPEC §2 about roles and owners, including under
//! concurrency, and the wall between organizations.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(
    only_owners_grant_change_or_remove_the_owner_role,
    nobody_grants_beyond_their_own_permissions,
    the_last_owner_cannot_be_demoted_disabled_removed_or_leave,
    two_owners_demoting_each_other_at_once_leave_one_owner,
    one_owner_recommendation_shows_until_there_are_two,
    an_org_never_reveals_or_changes_another_orgs_data,
);

async fn only_owners_grant_change_or_remove_the_owner_role(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let users = format!("/api/v1/orgs/{ORG}/users");
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    app.post(
        &users,
        &admin,
        json!({"email": "o2@acme.test", "role": "owner"}),
    )
    .await
    .expect(403, "owner_role_requires_owner");
    // Admins may invite and set roles up to admin.
    let other = app
        .post(
            &users,
            &admin,
            json!({"email": "a2@acme.test", "role": "admin"}),
        )
        .await
        .ok();
    let other_id = other["user"]["id"].as_i64().unwrap();
    app.patch(
        &format!("{users}/{other_id}"),
        &admin,
        json!({"role": "owner"}),
    )
    .await
    .expect(403, "owner_role_requires_owner");
    // Owners are out of an admin's reach.
    let (owner2_id, _) = app.member(ORG, &owner, "o2@acme.test", "owner").await;
    app.patch(
        &format!("{users}/{owner2_id}"),
        &admin,
        json!({"role": "viewer"}),
    )
    .await
    .expect(403, "owner_role_requires_owner");
    app.patch(
        &format!("{users}/{owner2_id}"),
        &admin,
        json!({"status": "disabled"}),
    )
    .await
    .expect(403, "owner_role_requires_owner");
    app.delete(&format!("{users}/{owner2_id}"), &admin)
        .await
        .expect(403, "owner_role_requires_owner");
    // An owner may.
    app.patch(
        &format!("{users}/{owner2_id}"),
        &owner,
        json!({"role": "admin"}),
    )
    .await
    .ok();
    app.patch(
        &format!("{users}/{other_id}"),
        &owner,
        json!({"role": "owner"}),
    )
    .await
    .ok();
}

async fn nobody_grants_beyond_their_own_permissions(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let users = format!("/api/v1/orgs/{ORG}/users");
    let (viewer_id, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    let (_, contributor) = app
        .member(ORG, &owner, "contrib@acme.test", "contributor")
        .await;
    app.post(
        &users,
        &contributor,
        json!({"email": "x@acme.test", "role": "viewer"}),
    )
    .await
    .expect(403, "forbidden");
    app.patch(
        &format!("{users}/{viewer_id}"),
        &contributor,
        json!({"role": "contributor"}),
    )
    .await
    .expect(403, "forbidden");
    app.patch(
        &format!("{users}/{viewer_id}"),
        &viewer,
        json!({"role": "admin"}),
    )
    .await
    .expect(403, "forbidden");
    app.get(&format!("/api/v1/orgs/{ORG}/audit"), &contributor)
        .await
        .expect(403, "forbidden");
    app.patch(
        &format!("/api/v1/orgs/{ORG}"),
        &contributor,
        json!({"self_registration": true}),
    )
    .await
    .expect(403, "forbidden");
    // Nothing changed.
    let member = app.get(&format!("{users}/{viewer_id}"), &owner).await.ok();
    assert_eq!(member["role"], "viewer");
    assert_eq!(emails(&app.users(ORG, &owner, "email=x@").await).len(), 0);
}

async fn the_last_owner_cannot_be_demoted_disabled_removed_or_leave(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let me = app.get("/api/v1/me", &owner).await.ok();
    let id = me["user"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/orgs/{ORG}/users/{id}");
    app.patch(&path, &owner, json!({"role": "admin"}))
        .await
        .expect(409, "last_owner");
    app.patch(&path, &owner, json!({"status": "disabled"}))
        .await
        .expect(409, "last_owner");
    app.delete(&path, &owner).await.expect(409, "last_owner");
    app.post(&format!("/api/v1/orgs/{ORG}/leave"), &owner, json!({}))
        .await
        .expect(409, "last_owner");
    // A disabled second owner does not count.
    let (o2, _) = app.member(ORG, &owner, "o2@acme.test", "owner").await;
    app.patch(
        &format!("/api/v1/orgs/{ORG}/users/{o2}"),
        &owner,
        json!({"status": "disabled"}),
    )
    .await
    .ok();
    app.patch(&path, &owner, json!({"role": "admin"}))
        .await
        .expect(409, "last_owner");
    // With another active owner, the first may step down.
    app.patch(
        &format!("/api/v1/orgs/{ORG}/users/{o2}"),
        &owner,
        json!({"status": "active"}),
    )
    .await
    .ok();
    app.patch(&path, &owner, json!({"role": "admin"}))
        .await
        .ok();
}

async fn two_owners_demoting_each_other_at_once_leave_one_owner(engine: Engine) {
    let app = spawn_app(engine).await;
    let a = app.owner().await;
    let a_id = app.get("/api/v1/me", &a).await.ok()["user"]["id"]
        .as_i64()
        .unwrap();
    for round in 0..5 {
        let (b_id, b) = app
            .member(ORG, &a, &format!("b{round}@acme.test"), "owner")
            .await;
        let (path_b, path_a) = (
            format!("/api/v1/orgs/{ORG}/users/{b_id}"),
            format!("/api/v1/orgs/{ORG}/users/{a_id}"),
        );
        let (ra, rb) = tokio::join!(
            app.patch(&path_b, &a, json!({"role": "admin"})),
            app.patch(&path_a, &b, json!({"role": "admin"})),
        );
        let wins = [&ra, &rb].iter().filter(|r| r.status.is_success()).count();
        assert_eq!(
            wins, 1,
            "exactly one demotion wins: {} / {}",
            ra.body, rb.body
        );
        let loser = if ra.status.is_success() { &rb } else { &ra };
        assert!(
            loser.code() == "last_owner" || loser.code() == "owner_role_requires_owner",
            "{}",
            loser.body
        );
        let owners = app
            .users(ORG, &a_or_b(&ra, &a, &b), "role=owner&status=active")
            .await;
        assert_eq!(
            emails(&owners).len(),
            1,
            "round {round}: exactly one owner remains"
        );
        // Restore: the remaining owner makes the other owner again.
        let remaining = a_or_b(&ra, &a, &b);
        let demoted = if ra.status.is_success() { b_id } else { a_id };
        app.patch(
            &format!("/api/v1/orgs/{ORG}/users/{demoted}"),
            &remaining,
            json!({"role": "owner"}),
        )
        .await
        .ok();
        if demoted == b_id {
            app.delete(&format!("/api/v1/orgs/{ORG}/users/{b_id}"), &a)
                .await
                .ok();
        } else {
            app.patch(
                &format!("/api/v1/orgs/{ORG}/users/{b_id}"),
                &a,
                json!({"role": "viewer"}),
            )
            .await
            .ok();
        }
    }
}

/// The token of whichever owner kept the role.
fn a_or_b(ra: &Res, a: &str, b: &str) -> String {
    if ra.status.is_success() {
        a.to_owned()
    } else {
        b.to_owned()
    }
}

async fn one_owner_recommendation_shows_until_there_are_two(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let org = app.get(&format!("/api/v1/orgs/{ORG}"), &owner).await.ok();
    assert_eq!(org["active_owners"], 1);
    assert!(org["warnings"][0]
        .as_str()
        .unwrap()
        .contains("second owner"));
    assert!(app.users(ORG, &owner, "").await["warnings"][0]
        .as_str()
        .unwrap()
        .contains("second owner"));
    app.member(ORG, &owner, "o2@acme.test", "owner").await;
    let org = app.get(&format!("/api/v1/orgs/{ORG}"), &owner).await.ok();
    assert_eq!(org["warnings"], json!([]));
}

async fn an_org_never_reveals_or_changes_another_orgs_data(engine: Engine) {
    let app = spawn_app(engine).await;
    let acme_owner = app.owner().await;
    let (victim_id, _) = app
        .member(ORG, &acme_owner, "victim@acme.test", "viewer")
        .await;
    let (_, globex) = app
        .member(ORG, &acme_owner, "hank@globex.test", "viewer")
        .await;
    app.delete(
        &format!(
            "/api/v1/orgs/{ORG}/users/{}",
            app.get("/api/v1/me", &globex).await.ok()["user"]["id"]
        ),
        &acme_owner,
    )
    .await
    .ok();
    app.post(
        "/api/v1/orgs",
        &globex,
        json!({"slug": "globex", "name": "Globex"}),
    )
    .await
    .expect(201, "");
    // Globex's owner cannot see or touch acme, nor reach acme's members through globex.
    for path in [
        format!("/api/v1/orgs/{ORG}"),
        format!("/api/v1/orgs/{ORG}/users"),
        format!("/api/v1/orgs/{ORG}/users/{victim_id}"),
        format!("/api/v1/orgs/{ORG}/audit"),
        format!("/api/v1/orgs/{ORG}/roles"),
        format!("/api/v1/orgs/globex/users/{victim_id}"),
    ] {
        app.get(&path, &globex).await.expect(404, "not_found");
    }
    app.patch(
        &format!("/api/v1/orgs/{ORG}/users/{victim_id}"),
        &globex,
        json!({"role": "admin"}),
    )
    .await
    .expect(404, "not_found");
    app.patch(
        &format!("/api/v1/orgs/globex/users/{victim_id}"),
        &globex,
        json!({"role": "admin"}),
    )
    .await
    .expect(404, "not_found");
    app.delete(&format!("/api/v1/orgs/globex/users/{victim_id}"), &globex)
        .await
        .expect(404, "not_found");
    app.patch(
        &format!("/api/v1/orgs/{ORG}"),
        &globex,
        json!({"name": "pwned"}),
    )
    .await
    .expect(404, "not_found");
    // A missing org and a foreign one answer alike.
    let missing = app
        .get("/api/v1/orgs/no-such-org/users", &globex)
        .await
        .expect(404, "not_found");
    let foreign = app.get(&format!("/api/v1/orgs/{ORG}/users"), &globex).await;
    assert_eq!(missing.body, foreign.body);
    // Nothing changed in acme, and globex's audit log holds nothing of acme's.
    let victim = app
        .get(
            &format!("/api/v1/orgs/{ORG}/users/{victim_id}"),
            &acme_owner,
        )
        .await
        .ok();
    assert_eq!(victim["role"], "viewer");
    assert_eq!(
        app.get(&format!("/api/v1/orgs/{ORG}"), &acme_owner)
            .await
            .ok()["name"],
        ORG
    );
    let globex_events = app.audit("globex", &globex, "").await;
    assert!(
        globex_events.iter().all(|e| e["action"] == "org.create"),
        "{globex_events:?}"
    );
}
