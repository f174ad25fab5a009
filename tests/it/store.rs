//! The store's contract, run on both engines: one story through the
//! storage functions, with their `NotFound` and `Conflict` answers.

use crate::both_engines;
use crate::helpers::*;
use roster_store::members::{MemberFields, MemberFilter, NewMembership};
use roster_store::users::NewUser;
use roster_store::{members, orgs, users, Store, StoreError, StoreOptions};

both_engines!(store_story);

async fn store_story(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(engine, dir.path()).await;
    let store = Store::open(&StoreOptions {
        url: db.url.clone(),
        max_connections: 4,
    })
    .await
    .unwrap();
    // Opening again re-runs migrations as a no-op.
    let store2 = Store::open(&StoreOptions {
        url: db.url.clone(),
        max_connections: 2,
    })
    .await
    .unwrap();
    store2.close().await;

    let mut tx = store.begin().await.unwrap();
    let new_user = |email: &'static str| NewUser {
        email,
        name: "Ann Example",
        name_folded: "ann example",
        password_hash: None,
        must_change_password: false,
        now: 1,
    };
    let ann = users::insert(&mut tx, new_user("ann@example.test"))
        .await
        .unwrap();
    let org = orgs::insert(&mut tx, "example", "Example", None, 1)
        .await
        .unwrap();
    roster_store::commit(tx).await.unwrap();

    let mut conn = store.conn().await.unwrap();
    assert!(matches!(
        users::insert(&mut conn, new_user("ann@example.test")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        orgs::insert(&mut conn, "example", "Again", None, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        users::get(&mut conn, 999).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        orgs::lock(&mut conn, 999).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(orgs::lock(&mut conn, org).await.unwrap(), 1);

    let m = |user_id| NewMembership {
        org_id: org,
        user_id,
        role: "owner",
        team: "ops",
        status: "active",
        identity_provider: "password",
        mfa_required: false,
        now: 2,
    };
    members::insert(&mut conn, m(ann)).await.unwrap();
    assert!(matches!(
        members::insert(&mut conn, m(ann)).await,
        Err(StoreError::Conflict(_))
    ));
    members::set_groups(&mut conn, org, ann, &["dev".into(), "ops".into()], 3)
        .await
        .unwrap();
    members::set_groups(&mut conn, org, ann, &["ops".into()], 3)
        .await
        .unwrap();
    let found = members::find(&mut conn, org, ann).await.unwrap().unwrap();
    assert_eq!(found.groups, ["ops"]);
    assert_eq!(
        members::count_active_owners(&mut conn, org).await.unwrap(),
        1
    );
    assert_eq!(
        members::count_active_owners_except(&mut conn, org, ann)
            .await
            .unwrap(),
        0
    );

    let fields = MemberFields {
        role: "admin",
        team: "ops",
        status: "active",
        identity_provider: "password",
        mfa_required: true,
    };
    members::update(&mut conn, org, ann, &fields, 4)
        .await
        .unwrap();
    assert!(matches!(
        members::update(&mut conn, org, 999, &fields, 4).await,
        Err(StoreError::NotFound)
    ));
    let filter = MemberFilter {
        role: Some("admin".into()),
        group: Some("ops".into()),
        name: Some("ann".into()),
        ..Default::default()
    };
    assert_eq!(
        members::list(&mut conn, org, &filter, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let filter = MemberFilter {
        group: Some("dev".into()),
        ..Default::default()
    };
    assert!(members::list(&mut conn, org, &filter, None, 10)
        .await
        .unwrap()
        .is_empty());

    members::delete(&mut conn, org, ann).await.unwrap();
    assert!(matches!(
        members::delete(&mut conn, org, ann).await,
        Err(StoreError::NotFound)
    ));
    assert!(members::groups_of(&mut conn, org, &[ann])
        .await
        .unwrap()
        .is_empty());
    // Closing waits for every connection to come back to the pool.
    drop(conn);
    store.close().await;
}
