//! Upgrades: the databases made by an earlier release (tests/fixtures,
//! made by tests/fixtures/make-fixtures.sh with that release's binary)
//! open with this build's real binary, which migrates them, and hold what
//! the earlier release wrote.

use crate::helpers::*;
use crate::ops::{sign_in, start};
use roster_client::{AccessRuleQuery, InvitationQuery, MemberQuery};
use roster_proto::{AccessRuleRequest, CheckRequest};
use std::path::{Path, PathBuf};

/// The fixed test key the fixtures were made with.
const FIXTURE_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What make-fixtures.sh wrote, read through this build's API; then a
/// write after the upgrade, whose id is larger than any before it.
async fn the_story_is_intact(url: &str) {
    let owner = sign_in(url, OWNER_EMAIL, OWNER_PASSWORD).await;
    let members = owner
        .list_members(ORG, &MemberQuery::default())
        .await
        .unwrap();
    let emails: Vec<&str> = members.items.iter().map(|m| m.email.as_str()).collect();
    for email in ["owner@acme.test", "michael@acme.test", "dwight@acme.test"] {
        assert!(emails.contains(&email), "{email} in {emails:?}");
    }
    assert!(!emails.contains(&"temp@acme.test"), "{emails:?}");
    let dev = owner.group(ORG, "dev").await.unwrap();
    assert_eq!(dev.members.len(), 1, "{dev:?}");
    assert!(owner.role(ORG, "devops").await.is_ok());
    owner.resource(ORG, "clusters/eu-1").await.unwrap();
    let rules = owner
        .list_access_rules(ORG, &AccessRuleQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0].group.as_deref(), Some("dev"));
    let invitations = owner
        .list_invitations(ORG, &InvitationQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(invitations.len(), 1);
    let decision = owner
        .check(
            ORG,
            &CheckRequest {
                user: "michael@acme.test".into(),
                action: "clusters:update".into(),
                resource: Some("clusters/eu-1".into()),
            },
        )
        .await
        .unwrap();
    assert!(decision.allowed, "{decision:?}");
    assert!(!owner
        .audit(ORG, &Default::default())
        .await
        .unwrap()
        .items
        .is_empty());

    // The newest rule deleted and another granted: a new id, never reused.
    let newest = rules[0].id;
    owner.revoke_access(ORG, newest).await.unwrap();
    let again = owner
        .grant_access(
            ORG,
            &AccessRuleRequest {
                user: None,
                group: Some("dev".into()),
                role: "devops".into(),
                resource: Some("clusters/eu-1".into()),
            },
        )
        .await
        .unwrap()
        .rule
        .id;
    assert!(again > newest, "rule {again} reuses {newest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_of_release_0_1_0_opens_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for file in ["roster.db", "secret.key"] {
        std::fs::copy(fixtures().join("sqlite-0.1.0").join(file), data.join(file)).unwrap();
    }
    let server = start(&data, &[]);
    the_story_is_intact(&server.url).await;
    assert!(server.stop());
    // And again: the migrated database opens a second time.
    let server = start(&data, &[]);
    sign_in(&server.url, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert!(server.stop());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_dump_of_release_0_1_0_loads_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let loaded = std::process::Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-f"])
        .arg(fixtures().join("postgres-0.1.0.sql"))
        .output()
        .expect("psql (PostgreSQL's client) must be installed");
    assert!(loaded.status.success(), "{loaded:?}");
    let env = [
        ("ROSTER_DATABASE_URL", db.url.as_str()),
        ("ROSTER_SECRET_KEY", FIXTURE_KEY),
    ];
    let server = start(&dir.path().join("data"), &env);
    the_story_is_intact(&server.url).await;
    assert!(server.stop());
}
