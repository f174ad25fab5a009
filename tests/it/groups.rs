//! Groups: create, rename, delete, members in and out, who may.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{CreateOrgRequest, GroupMemberRequest, GroupRequest};

both_engines!(
    groups_are_managed_by_admins_and_read_by_members,
    group_input_is_checked_and_scoped_to_the_org
);

fn named(name: &str) -> GroupRequest {
    GroupRequest { name: name.into() }
}

fn member(user_id: i64) -> GroupMemberRequest {
    GroupMemberRequest { user_id }
}

async fn groups_are_managed_by_admins_and_read_by_members(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (dwight, viewer) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;

    viewer
        .create_group(ORG, &named("dev"))
        .await
        .refused(403, "forbidden");
    let created = admin.create_group(ORG, &named("Dev")).await.unwrap();
    admin.answered(201);
    assert_eq!(created.name, "dev");
    admin
        .create_group(ORG, &named("dev"))
        .await
        .refused(409, "group_exists");
    admin
        .add_group_member(ORG, "dev", &member(dwight))
        .await
        .unwrap();
    admin.answered(204);
    // Adding twice changes nothing.
    admin
        .add_group_member(ORG, "dev", &member(dwight))
        .await
        .unwrap();
    admin.answered(204);

    // Members read groups; the member list knows them.
    let list = viewer.list_groups(ORG).await.unwrap();
    assert_eq!(list[0].name, "dev");
    assert_eq!(list[0].members, 1);
    assert_eq!(
        emails(&app.users(ORG, &viewer, "group=dev").await),
        ["dwight@acme.test"]
    );
    let detail = viewer.group(ORG, "dev").await.unwrap();
    assert_eq!(detail.members[0].email, "dwight@acme.test");

    // Renaming keeps the members; the member's groups follow.
    admin.create_group(ORG, &named("ops")).await.unwrap();
    admin
        .rename_group(ORG, "dev", &named("ops"))
        .await
        .refused(409, "group_exists");
    admin
        .rename_group(ORG, "dev", &named("engineering"))
        .await
        .unwrap();
    let member = admin.member(ORG, dwight).await.unwrap();
    assert_eq!(member.groups, ["engineering"]);

    admin
        .remove_group_member(ORG, "engineering", dwight)
        .await
        .unwrap();
    admin.answered(204);
    admin
        .remove_group_member(ORG, "engineering", dwight)
        .await
        .refused(404, "not_found");
    viewer
        .delete_group(ORG, "engineering")
        .await
        .refused(403, "forbidden");
    admin.delete_group(ORG, "engineering").await.unwrap();
    admin.answered(204);
    admin
        .group(ORG, "engineering")
        .await
        .refused(404, "not_found");

    let actions: Vec<String> = app
        .audit(ORG, &owner, "action=group.")
        .await
        .into_iter()
        .map(|e| e.action)
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
    owner
        .create_group(ORG, &named("bad name!"))
        .await
        .refused(422, "validation_failed");
    owner.create_group(ORG, &named("dev")).await.unwrap();
    owner
        .add_group_member(ORG, "dev", &member(999999))
        .await
        .refused(404, "not_found");
    // Someone from another org can neither see nor change acme's groups,
    // and acme's users cannot be put in another org's group.
    let (outsider_id, outsider) = app.member(ORG, &owner, "out@globex.test", "viewer").await;
    owner.delete_member(ORG, outsider_id).await.unwrap();
    outsider
        .create_org(&CreateOrgRequest {
            slug: "globex".into(),
            name: "Globex".into(),
        })
        .await
        .unwrap();
    outsider.list_groups(ORG).await.refused(404, "not_found");
    outsider
        .add_group_member(ORG, "dev", &member(outsider_id))
        .await
        .refused(404, "not_found");
    outsider
        .create_group("globex", &named("dev"))
        .await
        .unwrap();
    outsider.answered(201);
    let owner_id = owner.me().await.unwrap().user.id;
    outsider
        .add_group_member("globex", "dev", &member(owner_id))
        .await
        .refused(404, "not_found");
    assert!(owner.group(ORG, "dev").await.unwrap().members.is_empty());
}
