//! The rules of SPEC §2 about roles and owners, including under
//! concurrency, and the wall between organizations.

use crate::both_engines;
use crate::helpers::*;
use roster_client::ClientError;
use roster_proto::{CreateOrgRequest, MemberView, UpdateMemberRequest, UpdateOrgRequest};

both_engines!(
    only_owners_grant_change_or_remove_the_owner_role,
    nobody_grants_beyond_their_own_permissions,
    the_last_owner_cannot_be_demoted_disabled_removed_or_leave,
    two_owners_demoting_each_other_at_once_leave_one_owner,
    one_owner_recommendation_shows_until_there_are_two,
    an_org_never_reveals_or_changes_another_orgs_data,
);

fn role(role: &str) -> UpdateMemberRequest {
    UpdateMemberRequest {
        role: Some(role.into()),
        ..Default::default()
    }
}

fn status(status: &str) -> UpdateMemberRequest {
    UpdateMemberRequest {
        status: Some(status.into()),
        ..Default::default()
    }
}

async fn only_owners_grant_change_or_remove_the_owner_role(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, admin) = app.member(ORG, &owner, "admin@acme.test", "admin").await;
    admin
        .create_member(ORG, &new_member("o2@acme.test", "owner"))
        .await
        .refused(403, "owner_role_requires_owner");
    // Admins may invite and set roles up to admin.
    let other = admin
        .create_member(ORG, &new_member("a2@acme.test", "admin"))
        .await
        .unwrap();
    let other_id = other.user.id.unwrap();
    admin
        .update_member(ORG, other_id, &role("owner"))
        .await
        .refused(403, "owner_role_requires_owner");
    // Owners are out of an admin's reach.
    let (owner2_id, _) = app.member(ORG, &owner, "o2@acme.test", "owner").await;
    admin
        .update_member(ORG, owner2_id, &role("viewer"))
        .await
        .refused(403, "owner_role_requires_owner");
    admin
        .update_member(ORG, owner2_id, &status("disabled"))
        .await
        .refused(403, "owner_role_requires_owner");
    admin
        .delete_member(ORG, owner2_id)
        .await
        .refused(403, "owner_role_requires_owner");
    // An owner may.
    owner
        .update_member(ORG, owner2_id, &role("admin"))
        .await
        .unwrap();
    owner
        .update_member(ORG, other_id, &role("owner"))
        .await
        .unwrap();
}

async fn nobody_grants_beyond_their_own_permissions(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (viewer_id, viewer) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    let (_, contributor) = app
        .member(ORG, &owner, "contrib@acme.test", "contributor")
        .await;
    contributor
        .create_member(ORG, &new_member("x@acme.test", "viewer"))
        .await
        .refused(403, "forbidden");
    contributor
        .update_member(ORG, viewer_id, &role("contributor"))
        .await
        .refused(403, "forbidden");
    viewer
        .update_member(ORG, viewer_id, &role("admin"))
        .await
        .refused(403, "forbidden");
    contributor
        .audit(ORG, &audit_query(""))
        .await
        .refused(403, "forbidden");
    let open = UpdateOrgRequest {
        self_registration: Some(true),
        ..Default::default()
    };
    contributor
        .update_org(ORG, &open)
        .await
        .refused(403, "forbidden");
    // Nothing changed.
    let member = owner.member(ORG, viewer_id).await.unwrap();
    assert_eq!(member.role, "viewer");
    assert_eq!(emails(&app.users(ORG, &owner, "email=x@").await).len(), 0);
}

async fn the_last_owner_cannot_be_demoted_disabled_removed_or_leave(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let id = owner.me().await.unwrap().user.id;
    owner
        .update_member(ORG, id, &role("admin"))
        .await
        .refused(409, "last_owner");
    owner
        .update_member(ORG, id, &status("disabled"))
        .await
        .refused(409, "last_owner");
    owner
        .delete_member(ORG, id)
        .await
        .refused(409, "last_owner");
    owner.leave_org(ORG).await.refused(409, "last_owner");
    // A disabled second owner does not count.
    let (o2, _) = app.member(ORG, &owner, "o2@acme.test", "owner").await;
    owner
        .update_member(ORG, o2, &status("disabled"))
        .await
        .unwrap();
    owner
        .update_member(ORG, id, &role("admin"))
        .await
        .refused(409, "last_owner");
    // With another active owner, the first may step down.
    owner
        .update_member(ORG, o2, &status("active"))
        .await
        .unwrap();
    owner.update_member(ORG, id, &role("admin")).await.unwrap();
}

async fn two_owners_demoting_each_other_at_once_leave_one_owner(engine: Engine) {
    let app = spawn_app(engine).await;
    let a = app.owner().await;
    let a_id = a.me().await.unwrap().user.id;
    for round in 0..5 {
        let (b_id, b) = app
            .member(ORG, &a, &format!("b{round}@acme.test"), "owner")
            .await;
        let demote = role("admin");
        let (ra, rb) = tokio::join!(
            a.update_member(ORG, b_id, &demote),
            b.update_member(ORG, a_id, &demote),
        );
        let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "exactly one demotion wins: {ra:?} / {rb:?}");
        let loser = ra.as_ref().err().or(rb.as_ref().err()).unwrap();
        assert!(
            loser.code() == Some("last_owner") || loser.code() == Some("owner_role_requires_owner"),
            "{loser:?}"
        );
        let remaining = a_or_b(&ra, &a, &b);
        let owners = app.users(ORG, remaining, "role=owner&status=active").await;
        assert_eq!(
            emails(&owners).len(),
            1,
            "round {round}: exactly one owner remains"
        );
        // Restore: the remaining owner makes the other owner again.
        let demoted = if ra.is_ok() { b_id } else { a_id };
        remaining
            .update_member(ORG, demoted, &role("owner"))
            .await
            .unwrap();
        if demoted == b_id {
            a.delete_member(ORG, b_id).await.unwrap();
        } else {
            a.update_member(ORG, b_id, &role("viewer")).await.unwrap();
        }
    }
}

/// Whichever owner kept the role.
fn a_or_b<'a>(ra: &Result<MemberView, ClientError>, a: &'a Api, b: &'a Api) -> &'a Api {
    if ra.is_ok() {
        a
    } else {
        b
    }
}

async fn one_owner_recommendation_shows_until_there_are_two(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let org = owner.org(ORG).await.unwrap();
    assert_eq!(org.active_owners, 1);
    assert!(org.warnings[0].contains("second owner"));
    assert!(app.users(ORG, &owner, "").await.warnings[0].contains("second owner"));
    app.member(ORG, &owner, "o2@acme.test", "owner").await;
    let org = owner.org(ORG).await.unwrap();
    assert!(org.warnings.is_empty());
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
    acme_owner
        .delete_member(ORG, globex.me().await.unwrap().user.id)
        .await
        .unwrap();
    globex
        .create_org(&CreateOrgRequest {
            slug: "globex".into(),
            name: "Globex".into(),
        })
        .await
        .unwrap();
    globex.answered(201);
    // Globex's owner cannot see or touch acme, nor reach acme's members through globex.
    globex.org(ORG).await.refused(404, "not_found");
    globex
        .list_members(ORG, &members(""))
        .await
        .refused(404, "not_found");
    globex
        .member(ORG, victim_id)
        .await
        .refused(404, "not_found");
    globex
        .audit(ORG, &audit_query(""))
        .await
        .refused(404, "not_found");
    globex.roles(ORG).await.refused(404, "not_found");
    globex
        .member("globex", victim_id)
        .await
        .refused(404, "not_found");
    for org in [ORG, "globex"] {
        globex
            .update_member(org, victim_id, &role("admin"))
            .await
            .refused(404, "not_found");
    }
    globex
        .delete_member("globex", victim_id)
        .await
        .refused(404, "not_found");
    let pwned = UpdateOrgRequest {
        name: Some("pwned".into()),
        ..Default::default()
    };
    globex
        .update_org(ORG, &pwned)
        .await
        .refused(404, "not_found");
    // A missing org and a foreign one answer alike.
    let missing = globex
        .list_members("no-such-org", &members(""))
        .await
        .refused(404, "not_found");
    let foreign = globex
        .list_members(ORG, &members(""))
        .await
        .refused(404, "not_found");
    assert_eq!(as_json(&missing), as_json(&foreign));
    // Nothing changed in acme, and globex's audit log holds nothing of acme's.
    let victim = acme_owner.member(ORG, victim_id).await.unwrap();
    assert_eq!(victim.role, "viewer");
    assert_eq!(acme_owner.org(ORG).await.unwrap().name, ORG);
    let globex_events = app.audit("globex", &globex, "").await;
    assert!(
        globex_events.iter().all(|e| e.action == "org.create"),
        "{globex_events:?}"
    );
}
