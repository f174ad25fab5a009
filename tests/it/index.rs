//! The in-memory authorization index under changes (issue 15): changes
//! are applied to it in place from the change log, not by reloading the
//! org, and the very next check still sees each one.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{
    AccessRuleRequest, CheckRequest, GroupMemberRequest, GroupRequest, ResourceRequest,
    UpdateMemberRequest,
};
use sqlx::Row;

both_engines!(changes_are_applied_in_place_and_the_next_check_sees_each);

fn may_update() -> CheckRequest {
    CheckRequest {
        user: "dwight@acme.test".into(),
        action: "clusters:update".into(),
        resource: Some("clusters/eu-1".into()),
    }
}

/// The kinds of the org's logged changes, in revision order.
async fn logged_kinds(app: &TestApp) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT c.payload FROM access_changes c JOIN orgs o ON o.id = c.org_id
         WHERE o.slug = $1 ORDER BY c.revision",
    )
    .bind(ORG)
    .fetch_all(app.app.store().pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let payload: String = r.get(0);
            let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
            v["kind"].as_str().unwrap().to_owned()
        })
        .collect()
}

async fn changes_are_applied_in_place_and_the_next_check_sees_each(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (dwight, _) = app.member(ORG, &owner, "dwight@acme.test", "viewer").await;
    owner
        .create_resource(
            ORG,
            &ResourceRequest {
                key: "clusters/eu-1".into(),
                parent: None,
                groups: Vec::new(),
                review: None,
            },
        )
        .await
        .unwrap();
    let allowed = || async { owner.check(ORG, &may_update()).await.unwrap().allowed };
    // The first check builds the index.
    assert!(!allowed().await);
    let (deltas_before, builds_before, _) = app.app.authz_stats();
    let logged_before = logged_kinds(&app).await.len();

    let rule = owner
        .grant_access(
            ORG,
            &AccessRuleRequest {
                user: Some("dwight@acme.test".into()),
                group: None,
                role: "contributor".into(),
                resource: Some("clusters/eu-1".into()),
            },
        )
        .await
        .unwrap()
        .rule;
    assert!(allowed().await, "a rule granted is seen at once");
    owner.revoke_access(ORG, rule.id).await.unwrap();
    assert!(!allowed().await, "a rule revoked is seen at once");

    owner
        .create_group(ORG, &GroupRequest { name: "dev".into() })
        .await
        .unwrap();
    owner
        .grant_access(
            ORG,
            &AccessRuleRequest {
                user: None,
                group: Some("dev".into()),
                role: "contributor".into(),
                resource: None,
            },
        )
        .await
        .unwrap();
    assert!(!allowed().await, "not in the group yet");
    let join = GroupMemberRequest { user_id: dwight };
    owner.add_group_member(ORG, "dev", &join).await.unwrap();
    assert!(allowed().await, "joining the group is seen at once");
    owner.remove_group_member(ORG, "dev", dwight).await.unwrap();
    assert!(!allowed().await, "leaving the group is seen at once");

    let role = |r: &str| UpdateMemberRequest {
        role: Some(r.into()),
        ..Default::default()
    };
    owner
        .update_member(ORG, dwight, &role("contributor"))
        .await
        .unwrap();
    assert!(allowed().await, "a promotion is seen at once");
    owner
        .update_member(ORG, dwight, &role("viewer"))
        .await
        .unwrap();
    assert!(!allowed().await, "a demotion is seen at once");
    // Groups named in a member update are made on the way.
    let groups = UpdateMemberRequest {
        groups: Some(vec!["dev".into(), "ops".into()]),
        ..Default::default()
    };
    owner.update_member(ORG, dwight, &groups).await.unwrap();
    assert!(allowed().await, "back in dev through the member update");
    owner.delete_member(ORG, dwight).await.unwrap();
    let d = owner.check(ORG, &may_update()).await;
    assert!(
        d.is_err() || !d.unwrap().allowed,
        "a removed member gets nothing"
    );

    let changes = 10;
    let kinds = logged_kinds(&app).await;
    assert_eq!(
        kinds[logged_before..],
        vec!["deltas"; changes],
        "every change was logged with its facts"
    );
    let (deltas, builds, _) = app.app.authz_stats();
    assert_eq!(builds, builds_before, "no change made the org load again");
    assert_eq!(deltas - deltas_before, changes as u64);
}
