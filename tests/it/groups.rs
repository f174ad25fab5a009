//! Groups: create, rename, delete, members in and out, who may.

use crate::both_engines;
use crate::helpers::*;
use serde_json::json;

both_engines!(
    groups_are_managed_by_admins_and_read_by_members,
    group_input_is_checked_and_scoped_to_the_org
);

async fn groups_are_managed_by_admins_and_read_by_members(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let groups = format!("/api/v1/orgs/{ORG}/groups");
    let (dwight, viewer) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;

    app.post(&groups, &viewer, json!({"name": "dev"}))
        .await
        .expect(403, "forbidden");
    let created = app
        .post(&groups, &admin, json!({"name": "Dev"}))
        .await
        .expect(201, "")
        .ok();
    assert_eq!(created["name"], "dev");
    app.post(&groups, &admin, json!({"name": "dev"}))
        .await
        .expect(409, "group_exists");
    app.post(
        &format!("{groups}/dev/members"),
        &admin,
        json!({"user_id": dwight}),
    )
    .await
    .expect(204, "");
    // Adding twice changes nothing.
    app.post(
        &format!("{groups}/dev/members"),
        &admin,
        json!({"user_id": dwight}),
    )
    .await
    .expect(204, "");

    // Members read groups; the member list knows them.
    let list = app.get(&groups, &viewer).await.ok();
    assert_eq!(list[0]["name"], "dev");
    assert_eq!(list[0]["members"], 1);
    assert_eq!(
        emails(&app.users(ORG, &viewer, "group=dev").await),
        ["dwight@acme.test"]
    );
    let detail = app.get(&format!("{groups}/dev"), &viewer).await.ok();
    assert_eq!(detail["members"][0]["email"], "dwight@acme.test");

    // Renaming keeps the members; the member's groups follow.
    app.post(&groups, &admin, json!({"name": "ops"})).await.ok();
    app.patch(&format!("{groups}/dev"), &admin, json!({"name": "ops"}))
        .await
        .expect(409, "group_exists");
    app.patch(
        &format!("{groups}/dev"),
        &admin,
        json!({"name": "engineering"}),
    )
    .await
    .ok();
    let member = app
        .get(&format!("/api/v1/orgs/{ORG}/users/{dwight}"), &admin)
        .await
        .ok();
    assert_eq!(member["groups"], json!(["engineering"]));

    app.delete(&format!("{groups}/engineering/members/{dwight}"), &admin)
        .await
        .expect(204, "");
    app.delete(&format!("{groups}/engineering/members/{dwight}"), &admin)
        .await
        .expect(404, "not_found");
    app.delete(&format!("{groups}/engineering"), &viewer)
        .await
        .expect(403, "forbidden");
    app.delete(&format!("{groups}/engineering"), &admin)
        .await
        .expect(204, "");
    app.get(&format!("{groups}/engineering"), &admin)
        .await
        .expect(404, "not_found");

    let actions: Vec<String> = app
        .audit(ORG, &owner, "action=group.")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in [
        "group.create",
        "group.member_add",
        "group.rename",
        "group.member_remove",
        "group.delete",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

async fn group_input_is_checked_and_scoped_to_the_org(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let groups = format!("/api/v1/orgs/{ORG}/groups");
    app.post(&groups, &owner, json!({"name": "bad name!"}))
        .await
        .expect(422, "validation_failed");
    app.post(&groups, &owner, json!({"name": "dev"})).await.ok();
    app.post(
        &format!("{groups}/dev/members"),
        &owner,
        json!({"user_id": 999999}),
    )
    .await
    .expect(404, "not_found");
    // Someone from another org can neither see nor change acme's groups,
    // and acme's users cannot be put in another org's group.
    let (outsider_id, outsider) = app.member(ORG, &owner, "out@globex.test", "viewer").await;
    app.delete(&format!("/api/v1/orgs/{ORG}/users/{outsider_id}"), &owner)
        .await
        .ok();
    app.post(
        "/api/v1/orgs",
        &outsider,
        json!({"slug": "globex", "name": "Globex"}),
    )
    .await
    .ok();
    app.get(&groups, &outsider).await.expect(404, "not_found");
    app.post(
        &format!("{groups}/dev/members"),
        &outsider,
        json!({"user_id": outsider_id}),
    )
    .await
    .expect(404, "not_found");
    app.post(
        "/api/v1/orgs/globex/groups",
        &outsider,
        json!({"name": "dev"}),
    )
    .await
    .expect(201, "");
    let owner_id = app.get("/api/v1/me", &owner).await.ok()["user"]["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/api/v1/orgs/globex/groups/dev/members",
        &outsider,
        json!({"user_id": owner_id}),
    )
    .await
    .expect(404, "not_found");
    assert_eq!(
        app.get(&format!("{groups}/dev"), &owner).await.ok()["members"],
        json!([])
    );
}
