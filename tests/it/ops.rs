//! Operations: ids that are never reused, the key check, backup and
//! restore, metrics and the access log, shutdown, upgrades.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{AccessRuleRequest, GroupRequest};

both_engines!(the_id_of_a_deleted_newest_row_is_never_handed_out_again);

/// `rule:2` in the audit log names one rule forever: deleting the newest
/// rule and granting another gives the new one a larger id, on both
/// engines (SQLite through AUTOINCREMENT, PostgreSQL through its sequence).
async fn the_id_of_a_deleted_newest_row_is_never_handed_out_again(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    owner
        .create_group(ORG, &GroupRequest { name: "dev".into() })
        .await
        .unwrap();
    let grant = || AccessRuleRequest {
        user: None,
        group: Some("dev".into()),
        role: "viewer".into(),
        resource: None,
    };
    let first = owner.grant_access(ORG, &grant()).await.unwrap().rule.id;
    owner.revoke_access(ORG, first).await.unwrap();
    let second = owner.grant_access(ORG, &grant()).await.unwrap().rule.id;
    assert!(second > first, "rule {second} reuses or precedes {first}");

    let (member, _) = app.member(ORG, &owner, "temp@acme.test", "viewer").await;
    owner.delete_member(ORG, member).await.unwrap();
    let events = app.audit(ORG, &owner, "").await;
    let newest_event = events.iter().map(|e| e.id).max().unwrap();

    // Below the API: the newest audit event and the newest rule are
    // deleted outright; the next rows still get larger ids.
    let store = app.app.store();
    let mut conn = store.conn().await.unwrap();
    for table in ["audit_events", "access_rules"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE id = (SELECT MAX(id) FROM {table})"
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    drop(conn);
    let third = owner.grant_access(ORG, &grant()).await.unwrap().rule.id;
    assert!(third > second, "rule {third} reuses {second}");
    let newer_event = app
        .audit(ORG, &owner, "")
        .await
        .iter()
        .map(|e| e.id)
        .max()
        .unwrap();
    assert!(newer_event > newest_event);
}

#[tokio::test]
async fn every_sqlite_table_with_an_integer_key_never_reuses_ids() {
    let app = spawn_app(Engine::Sqlite).await;
    let mut conn = app.app.store().conn().await.unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let keyed: Vec<&(String, String)> = tables
        .iter()
        .filter(|(_, sql)| sql.contains("INTEGER PRIMARY KEY"))
        .collect();
    assert!(keyed.len() >= 10, "{tables:?}");
    for (name, sql) in keyed {
        assert!(sql.contains("AUTOINCREMENT"), "{name}: {sql}");
    }
}
