//! The audit log you can check: each org's events form a hash chain that
//! `GET /orgs/{org}/audit/verify` and `roster audit verify` recompute,
//! naming the first edited, missing or reordered event; exports carry the
//! chain's head; retention prunes behind a checkpoint; and a person's own
//! events (those of no org) are theirs to read at `/me/audit`.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{AuditVerifyView, CreateOrgRequest};
use roster_server::app::ManualClock;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

both_engines!(
    an_edited_a_deleted_and_a_reordered_event_are_each_named,
    the_export_carries_the_head_and_an_outside_tool_recomputes_the_chain,
    concurrent_writers_keep_one_unbroken_chain,
    verify_of_another_org_is_not_found_and_needs_audit_read,
    pruning_leaves_a_chain_that_verifies_and_is_audited,
    the_personal_audit_shows_a_password_change_and_nobody_elses,
    events_written_before_chains_are_chained_on_start,
    two_writers_racing_in_one_org_append_one_after_the_other,
    the_operator_verifies_the_chain_of_no_org_and_a_tampered_event_is_named,
);

async fn sql(app: &TestApp, text: &str) {
    sqlx::query(text)
        .execute(app.app.store().pool())
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

async fn org_id(app: &TestApp, slug: &str) -> i64 {
    let (id,): (i64,) = sqlx::query_as(&format!("SELECT id FROM orgs WHERE slug = '{slug}'"))
        .fetch_one(app.app.store().pool())
        .await
        .unwrap();
    id
}

/// `roster --org acme audit verify` as the real binary, with `token`.
fn cli_verify(app: &TestApp, token: &str) -> (bool, String) {
    let out = std::process::Command::new(BIN)
        .args(["--org", ORG, "audit", "verify"])
        .env("ROSTER_SERVER", &app.base)
        .env("ROSTER_TOKEN", token)
        .env("ROSTER_CONFIG_DIR", app.data_dir.join("cli"))
        .env_remove("ROSTER_ORG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn add_members(owner: &Api, n: usize, prefix: &str) {
    for i in 0..n {
        owner
            .create_member(
                ORG,
                &new_member(&format!("{prefix}{i}@acme.test"), "viewer"),
            )
            .await
            .unwrap();
    }
}

#[track_caller]
fn broken(v: &AuditVerifyView, kind: &str, seq: i64) {
    assert!(!v.ok, "{v:?}");
    let b = v.first_break.as_ref().expect("a break");
    assert_eq!((b.kind.as_str(), b.seq), (kind, seq), "{v:?}");
}

async fn an_edited_a_deleted_and_a_reordered_event_are_each_named(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    add_members(&owner, 6, "m").await;
    let org = org_id(&app, ORG).await;
    let v = owner.audit_verify(ORG).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert!(v.count >= 7, "bootstrap and six members: {v:?}");
    assert_eq!(v.checked, v.count);
    let (ok, out) = cli_verify(&app, owner.bearer());
    assert!(ok, "{out}");
    assert!(
        out.starts_with(&format!("ok: {} events, head {}", v.count, v.head_hash)),
        "{out}"
    );

    // Edited: one event's details changed in the database.
    sql(&app, "CREATE TABLE saved AS SELECT * FROM audit_events").await;
    sql(&app, &format!("UPDATE audit_events SET details = '{{\"role\":\"owner\"}}' WHERE org_id = {org} AND seq = 3")).await;
    broken(&owner.audit_verify(ORG).await.unwrap(), "edited", 3);
    let (ok, out) = cli_verify(&app, owner.bearer());
    assert!(!ok);
    assert!(out.starts_with("edited: event #3:"), "{out}");
    // Edited with its hash recomputed by someone without the next link.
    sql(&app, &format!("UPDATE audit_events SET details = (SELECT details FROM saved WHERE org_id = {org} AND seq = 3) WHERE org_id = {org} AND seq = 3")).await;
    assert!(owner.audit_verify(ORG).await.unwrap().ok);
    sql(
        &app,
        &format!(
            "UPDATE audit_events SET hash = '{}' WHERE org_id = {org} AND seq = 3",
            "ab".repeat(32)
        ),
    )
    .await;
    broken(&owner.audit_verify(ORG).await.unwrap(), "edited", 3);
    sql(&app, &format!("UPDATE audit_events SET hash = (SELECT hash FROM saved WHERE org_id = {org} AND seq = 3) WHERE org_id = {org} AND seq = 3")).await;
    assert!(owner.audit_verify(ORG).await.unwrap().ok);

    // Missing: one event deleted, then the newest.
    sql(
        &app,
        &format!("DELETE FROM audit_events WHERE org_id = {org} AND seq = 4"),
    )
    .await;
    broken(&owner.audit_verify(ORG).await.unwrap(), "missing", 4);
    let (ok, out) = cli_verify(&app, owner.bearer());
    assert!(!ok);
    assert!(out.starts_with("missing: event #4:"), "{out}");
    sql(
        &app,
        &format!("INSERT INTO audit_events SELECT * FROM saved WHERE org_id = {org} AND seq = 4"),
    )
    .await;
    assert!(owner.audit_verify(ORG).await.unwrap().ok);
    sql(
        &app,
        &format!(
            "DELETE FROM audit_events WHERE org_id = {org} AND seq = {}",
            v.count
        ),
    )
    .await;
    broken(&owner.audit_verify(ORG).await.unwrap(), "missing", v.count);
    sql(
        &app,
        &format!(
            "INSERT INTO audit_events SELECT * FROM saved WHERE org_id = {org} AND seq = {}",
            v.count
        ),
    )
    .await;
    assert!(owner.audit_verify(ORG).await.unwrap().ok);

    // Reordered: two events swap places.
    sql(
        &app,
        &format!("UPDATE audit_events SET seq = -1 WHERE org_id = {org} AND seq = 5"),
    )
    .await;
    sql(
        &app,
        &format!("UPDATE audit_events SET seq = 5 WHERE org_id = {org} AND seq = 6"),
    )
    .await;
    sql(
        &app,
        &format!("UPDATE audit_events SET seq = 6 WHERE org_id = {org} AND seq = -1"),
    )
    .await;
    broken(&owner.audit_verify(ORG).await.unwrap(), "reordered", 5);
    let (ok, out) = cli_verify(&app, owner.bearer());
    assert!(!ok);
    assert!(out.starts_with("reordered: event #5:"), "{out}");
    // Put back, the chain verifies again, and new events extend it.
    sql(
        &app,
        &format!("DELETE FROM audit_events WHERE org_id = {org}"),
    )
    .await;
    sql(
        &app,
        &format!("INSERT INTO audit_events SELECT * FROM saved WHERE org_id = {org}"),
    )
    .await;
    assert!(owner.audit_verify(ORG).await.unwrap().ok);
    add_members(&owner, 1, "later").await;
    let after = owner.audit_verify(ORG).await.unwrap();
    assert!(after.ok && after.count == v.count + 1, "{after:?}");
}

/// The canonical encoding, as docs/decisions.md writes it for outside tools.
fn outside_hash(prev: &str, org: Option<i64>, e: &Value) -> String {
    let at = time::OffsetDateTime::parse(
        e["at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ms = (at.unix_timestamp_nanos() / 1_000_000).to_string();
    let details = serde_json::to_string(&e["details"]).unwrap();
    let fields = [
        "roster-audit-v1".to_owned(),
        prev.to_owned(),
        org.map(|o| o.to_string()).unwrap_or_default(),
        ms,
        e["actor"]["id"]
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_default(),
        e["actor"]["email"].as_str().unwrap().to_owned(),
        e["actor"]["name"].as_str().unwrap().to_owned(),
        e["channel"].as_str().unwrap().to_owned(),
        e["action"].as_str().unwrap().to_owned(),
        e["target"].as_str().unwrap().to_owned(),
        details,
        e["client_addr"].as_str().unwrap().to_owned(),
        e["request_id"].as_str().unwrap().to_owned(),
    ];
    let mut bytes = Vec::new();
    for f in &fields {
        bytes.extend_from_slice(&(f.len() as u32).to_be_bytes());
        bytes.extend_from_slice(f.as_bytes());
    }
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn the_export_carries_the_head_and_an_outside_tool_recomputes_the_chain(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    add_members(&owner, 3, "e").await;
    let org = org_id(&app, ORG).await;
    let v = owner.audit_verify(ORG).await.unwrap();

    let csv = owner
        .audit_export(ORG, &Default::default(), "csv")
        .await
        .unwrap();
    let first = csv.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "# roster audit head: org=acme count={} hash={}",
            v.count, v.head_hash
        )),
        "{first}"
    );
    assert!(csv.lines().nth(1).unwrap().ends_with(",seq,prev_hash,hash"));

    let jsonl = owner
        .audit_export(ORG, &Default::default(), "jsonl")
        .await
        .unwrap();
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let head = &lines.last().unwrap()["head"];
    assert_eq!(head["count"], v.count);
    assert_eq!(head["hash"], v.head_hash.as_str());
    // Oldest first, each event's hash recomputed from the export alone.
    let mut events: Vec<&Value> = lines[..lines.len() - 1].iter().collect();
    events.sort_by_key(|e| e["seq"].as_i64().unwrap());
    let mut prev = "0".repeat(64);
    for e in &events {
        assert_eq!(e["prev_hash"].as_str().unwrap(), prev);
        let h = outside_hash(&prev, Some(org), e);
        assert_eq!(e["hash"].as_str().unwrap(), h, "{e}");
        prev = h;
    }
    assert_eq!(prev, v.head_hash);
    assert_eq!(events.len() as i64, v.count);
}

async fn concurrent_writers_keep_one_unbroken_chain(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let before = owner.audit_verify(ORG).await.unwrap().count;
    let writes = (0..16).map(|i| {
        let owner = &owner;
        async move {
            owner
                .create_member(ORG, &new_member(&format!("c{i}@acme.test"), "viewer"))
                .await
                .unwrap();
        }
    });
    futures::future::join_all(writes).await;
    let v = owner.audit_verify(ORG).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.count, before + 16);
}

async fn verify_of_another_org_is_not_found_and_needs_audit_read(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, other) = app.member(ORG, &owner, "other@acme.test", "viewer").await;
    other
        .create_org(&CreateOrgRequest {
            slug: "globex".into(),
            name: "Globex".into(),
        })
        .await
        .unwrap();
    assert!(other.audit_verify("globex").await.unwrap().ok);
    owner.audit_verify("globex").await.refused(404, "not_found");
    owner
        .audit_verify("nowhere")
        .await
        .refused(404, "not_found");
    other.audit_verify(ORG).await.refused(403, "forbidden");
    other.audit_retention(ORG).await.refused(403, "forbidden");
    other
        .set_audit_retention("globex", Some(0))
        .await
        .refused(422, "validation_failed");
    owner
        .set_audit_retention("globex", Some(30))
        .await
        .refused(404, "not_found");
    assert_eq!(other.audit_retention("globex").await.unwrap().days, None);
}

async fn pruning_leaves_a_chain_that_verifies_and_is_audited(engine: Engine) {
    let clock = ManualClock::default();
    let app = spawn_with_clock(engine, clock.clone()).await;
    let owner = app.owner().await;
    add_members(&owner, 3, "old").await;
    let old = owner.audit_verify(ORG).await.unwrap();
    clock.advance(Duration::from_secs(10 * 86_400));
    add_members(&owner, 2, "new").await;
    assert_eq!(
        owner.set_audit_retention(ORG, Some(5)).await.unwrap().days,
        Some(5)
    );
    // Nothing older than five days: nothing pruned yet by this call? The
    // old events are ten days old, so they go.
    let pruned = app.app.prune_audit().await.unwrap();
    assert_eq!(pruned as i64, old.count);
    let v = owner.audit_verify(ORG).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.pruned, old.count);
    assert_eq!(v.checkpoint_hash, old.head_hash);
    assert_eq!(
        v.count,
        old.count + 2 + 1 + 1,
        "new members, retention, prune"
    );
    assert_eq!(v.checked, v.count - v.pruned);
    let prune = app.audit(ORG, &owner, "action=audit.prune").await;
    assert_eq!(prune.len(), 1);
    assert_eq!(prune[0].details["pruned"], old.count);
    assert_eq!(prune[0].details["checkpoint_hash"], old.head_hash.as_str());
    assert!(app.audit(ORG, &owner, "action=member.create").await.len() == 2);
    // Again: nothing more to prune, and the chain still verifies.
    assert_eq!(app.app.prune_audit().await.unwrap(), 0);
    assert!(owner.audit_verify(ORG).await.unwrap().ok);
    // Deleting the first event after the checkpoint is still caught.
    let org = org_id(&app, ORG).await;
    sql(
        &app,
        &format!(
            "DELETE FROM audit_events WHERE org_id = {org} AND seq = {}",
            old.count + 1
        ),
    )
    .await;
    broken(
        &owner.audit_verify(ORG).await.unwrap(),
        "missing",
        old.count + 1,
    );
}

async fn the_personal_audit_shows_a_password_change_and_nobody_elses(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (id, ann) = app.member(ORG, &owner, "ann@acme.test", "viewer").await;
    let mine = ann.my_audit(None, None).await.unwrap();
    let change = mine
        .items
        .iter()
        .find(|e| e.action == "user.password_change")
        .expect("the password change");
    assert_eq!(change.actor.id, Some(id));
    assert_eq!(change.target, format!("user:{id}"));
    assert!(change.seq.is_some() && change.hash.len() == 64);
    // The org's log does not hold it; the owner's own audit does not either.
    assert!(app
        .audit(ORG, &owner, "action=user.password_change")
        .await
        .is_empty());
    let owners = owner.my_audit(None, None).await.unwrap();
    assert!(owners.items.iter().all(|e| e.actor.id != Some(id)));
    // Paging, and the chain of events of no org verifies.
    let one = ann.my_audit(Some(1), None).await.unwrap();
    assert_eq!(one.items.len(), 1);
    ann.my_audit(Some(0), None)
        .await
        .refused(400, "invalid_query");
    let v = app.app.audit_verify_accounts().await.unwrap();
    assert!(v.first_break.is_none() && v.count >= 1, "{v:?}");
    app.client()
        .my_audit(None, None)
        .await
        .refused(401, "unauthenticated");
}

async fn events_written_before_chains_are_chained_on_start(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let org = org_id(&app, ORG).await;
    let before = owner.audit_verify(ORG).await.unwrap();
    // An event as the previous version wrote it: no seq, no hashes.
    sql(
        &app,
        &format!(
            "INSERT INTO audit_events (org_id, at, actor_email, channel, action, target) \
         VALUES ({org}, 1767225600000, 'old@acme.test', 'api', 'member.create', 'user:1')"
        ),
    )
    .await;
    // Chaining is what a start does first; it is idempotent.
    assert_eq!(app.app.chain_unchained_events().await.unwrap(), 1);
    assert_eq!(app.app.chain_unchained_events().await.unwrap(), 0);
    let v = owner.audit_verify(ORG).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.count, before.count + 1);
}

/// One event of `org`, as a change records it, in `tx` (whose org lock
/// returned `head`).
async fn append(
    tx: &mut roster_store::Tx,
    org: i64,
    head: &mut roster_store::audit::ChainHead,
    target: &str,
) -> i64 {
    use roster_store::audit::{insert, NewEvent};
    insert(
        tx,
        &NewEvent {
            org_id: Some(roster_domain::OrgId::new(org)),
            at: roster_domain::Timestamp::from_unix_ms(1_767_225_600_000),
            actor_id: None,
            actor_email: "",
            actor_name: "",
            channel: "api",
            action: "member.update",
            target,
            details: "{}",
            client_addr: "",
            request_id: "",
        },
        head,
        None,
    )
    .await
    .unwrap()
}

/// The chain's head comes back from the org's lock (there is no lock of
/// its own): a second writer waits at the lock until the first commits,
/// then appends after the first writer's event, on both engines.
async fn two_writers_racing_in_one_org_append_one_after_the_other(engine: Engine) {
    use roster_domain::OrgId;
    use roster_store::orgs;
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let before = owner.audit_verify(ORG).await.unwrap();
    let org = org_id(&app, ORG).await;
    let store = app.app.store().clone();

    let mut first = store.begin().await.unwrap();
    let lock = orgs::lock(&mut first, OrgId::new(org)).await.unwrap();
    assert_eq!(
        (lock.audit_head.seq, lock.audit_head.hash.as_str()),
        (before.count, before.head_hash.as_str())
    );
    let mut head = lock.audit_head;
    append(&mut first, org, &mut head, "user:first").await;
    orgs::commit_revision(&mut first, OrgId::new(org), lock.revision, &head)
        .await
        .unwrap();
    let first_hash = head.hash.clone();

    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let lock = orgs::lock(&mut tx, OrgId::new(org)).await.unwrap();
            let mut head = lock.audit_head.clone();
            append(&mut tx, org, &mut head, "user:second").await;
            orgs::commit_revision(&mut tx, OrgId::new(org), lock.revision, &head)
                .await
                .unwrap();
            roster_store::commit(tx).await.unwrap();
            lock.audit_head
        }
    });
    // The second writer cannot get past the org's lock while the first
    // holds it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second writer did not wait");
    roster_store::commit(first).await.unwrap();
    let seen = second.await.unwrap();
    assert_eq!(
        (seen.seq, seen.hash.as_str()),
        (before.count + 1, first_hash.as_str()),
        "the second writer's lock returned the first writer's event as the head"
    );
    let v = owner.audit_verify(ORG).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.count, before.count + 2);
    // The stored head moved with each writer.
    let targets = app.audit(ORG, &owner, "action=member.update").await;
    assert_eq!(targets[0].target, "user:second");
    assert_eq!(targets[0].prev_hash, first_hash);
}

/// `roster audit verify --no-org` as the real binary, on the test's
/// database: (success, stdout, stderr).
fn cli_verify_no_org(app: &TestApp, extra: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .args([
            "audit",
            "verify",
            "--no-org",
            "--database-url",
            app.db_url(),
        ])
        .args(extra)
        .env("ROSTER_CONFIG_DIR", app.data_dir.join("cli"))
        .env_remove("ROSTER_DATABASE_URL")
        .env_remove("ROSTER_DATA_DIR")
        .env_remove("ROSTER_CONFIG")
        .env_remove("ROSTER_SECRET_KEY")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The events of no org (everyone's passwords, second factors, sessions)
/// form one chain that no org role may read whole: the operator verifies
/// it on the server's machine, against the database, and an event edited,
/// deleted or moved there is named.
async fn the_operator_verifies_the_chain_of_no_org_and_a_tampered_event_is_named(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    app.member(ORG, &owner, "ann@acme.test", "viewer").await;
    app.member(ORG, &owner, "bob@acme.test", "viewer").await;
    let v = app.app.audit_verify_accounts().await.unwrap();
    assert!(v.first_break.is_none() && v.count >= 2, "{v:?}");

    let (ok, out, err) = cli_verify_no_org(&app, &[]);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with(&format!("ok: {} events, head {}", v.count, v.head_hash)),
        "{out}"
    );
    let (ok, json, err) = cli_verify_no_org(&app, &["--output", "json"]);
    assert!(ok, "{err}");
    let json: AuditVerifyView = serde_json::from_str(&json).unwrap();
    assert_eq!((json.ok, json.count), (true, v.count));

    // Edited: the first event of no org says something else.
    sql(
        &app,
        "CREATE TABLE saved AS SELECT * FROM audit_events WHERE org_id IS NULL",
    )
    .await;
    sql(
        &app,
        "UPDATE audit_events SET target = 'user:999' WHERE org_id IS NULL AND seq = 1",
    )
    .await;
    let (ok, out, err) = cli_verify_no_org(&app, &[]);
    assert!(!ok);
    assert!(out.starts_with("edited: event #1:"), "{out}");
    assert!(err.contains("does not verify"), "{err}");
    sql(
        &app,
        "DELETE FROM audit_events WHERE org_id IS NULL AND seq = 1",
    )
    .await;
    sql(
        &app,
        "INSERT INTO audit_events SELECT * FROM saved WHERE seq = 1",
    )
    .await;
    assert!(cli_verify_no_org(&app, &[]).0);

    // Missing: the second one deleted.
    sql(
        &app,
        "DELETE FROM audit_events WHERE org_id IS NULL AND seq = 2",
    )
    .await;
    let (ok, out, _) = cli_verify_no_org(&app, &[]);
    assert!(!ok);
    assert!(out.starts_with("missing: event #2:"), "{out}");
    let (ok, json, _) = cli_verify_no_org(&app, &["--output", "json"]);
    assert!(!ok);
    let json: AuditVerifyView = serde_json::from_str(&json).unwrap();
    let b = json.first_break.expect("a break");
    assert_eq!((b.kind.as_str(), b.seq), ("missing", 2));

    // Only with --no-org does verify read the database.
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify", "--database-url", app.db_url()])
        .env("ROSTER_CONFIG_DIR", app.data_dir.join("cli"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    // A database that is not there is said so, not created.
    let missing = app.data_dir.join("nothing.db");
    let out = std::process::Command::new(BIN)
        .args(["audit", "verify", "--no-org", "--database-url"])
        .arg(format!("sqlite://{}", missing.display()))
        .env("ROSTER_CONFIG_DIR", app.data_dir.join("cli"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no database at"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!missing.exists());
}
