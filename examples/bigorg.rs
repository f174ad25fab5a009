//! The big-org benchmark's two helpers (see `bench/bigorg.sh` and
//! docs/benchmarks.md):
//!
//! ```sh
//! # One org of 100,000 members with a resource tree, groups and rules,
//! # written with set-based SQL into the org SLUG of a Roster database.
//! cargo run --release --example bigorg -- seed DATABASE_URL SLUG
//! # How long reading the org's access state takes (what a first check
//! # waits for, before building the index), five times.
//! cargo run --release --example bigorg -- load DATABASE_URL SLUG
//! # Changes to that org through the API at RATE per second for SECONDS:
//! # role changes, group joins and leaves, rules granted and revoked.
//! cargo run --release --example bigorg -- write BASE_URL TOKEN SLUG RATE SECONDS
//! ```
//!
//! Seeded: users `m{k}@big.test` (ids 1,000,000 + k, k < 100,000), each a
//! member (1% admin, 39% contributor, the rest viewer) and in group
//! `g-{id % 50}` (20% in a second group); resources `projects/p0..p9`,
//! `environments/e0..e99` (e_i under p_{i/10}) and `clusters/c0..c999`
//! (c_i under e_{i/10}, admitting only group `g-{i % 50}`); each group
//! holds contributor on one project, and 2,000 members hold viewer on one
//! cluster each. So `m50@big.test` may `clusters:update` on `clusters/c0`
//! through group g-0's rule on p0 and c0's gate.

use anyhow::{bail, Context};
use roster_store::{Engine, Store, StoreOptions};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MEMBERS: i64 = 100_000;
const FIRST_USER: i64 = 1_000_000;
const GROUPS: i64 = 50;
/// 2026-01-01T00:00:00Z in Unix milliseconds.
const T0: i64 = 1_767_225_600_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["seed", url, slug] => seed(url, slug).await,
        ["load", url, slug] => load(url, slug).await,
        ["write", base, token, slug, rate, seconds] => {
            write(base, token, slug, rate.parse()?, seconds.parse()?).await
        }
        _ => bail!(
            "usage: bigorg seed DATABASE_URL SLUG | bigorg load DATABASE_URL SLUG | bigorg write BASE_URL TOKEN SLUG RATE SECONDS"
        ),
    }
}

/// `k` from 0 to n-1, as a FROM item.
fn seq(engine: Engine, n: i64) -> String {
    match engine {
        Engine::Sqlite => format!(
            "(WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {}) SELECT k FROM s) AS seq",
            n - 1
        ),
        Engine::Postgres => format!("generate_series(0::bigint, {}) AS seq(k)", n - 1),
    }
}

async fn exec(store: &Store, what: &str, sql: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let done = sqlx::query(sql)
        .execute(store.pool())
        .await
        .with_context(|| format!("seeding {what}"))?;
    eprintln!(
        "  {what}: {} rows in {:.1} s",
        done.rows_affected(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn seed(url: &str, slug: &str) -> anyhow::Result<()> {
    let store = Store::open(&StoreOptions {
        url: url.to_owned(),
        max_connections: 2,
    })
    .await?;
    let e = store.engine();
    let (org,): (i64,) = sqlx::query_as("SELECT id FROM orgs WHERE slug = $1")
        .bind(slug)
        .fetch_one(store.pool())
        .await
        .context("the org to seed")?;
    let started = Instant::now();
    exec(
        &store,
        "users",
        &format!(
            "INSERT INTO users (id, email, name, name_folded, must_change_password, disabled, created_at, updated_at)
             SELECT {FIRST_USER} + k, 'm' || k || '@big.test', 'Member ' || k, 'member ' || k, 0, 0, {T0}, {T0}
             FROM {}",
            seq(e, MEMBERS)
        ),
    )
    .await?;
    exec(
        &store,
        "memberships",
        &format!(
            "INSERT INTO memberships (org_id, user_id, role, team, status, identity_provider, mfa_required, joined_at, updated_at, name_folded, email)
             SELECT {org}, {FIRST_USER} + k,
               CASE WHEN k % 100 < 1 THEN 'admin' WHEN k % 100 < 40 THEN 'contributor' ELSE 'viewer' END,
               'team-' || (k % 10), 'active', 'password', 0, {T0}, {T0}, 'member ' || k, 'm' || k || '@big.test'
             FROM {}",
            seq(e, MEMBERS)
        ),
    )
    .await?;
    // The grams the team list's name filter reads (members::insert).
    let mut conn = store.conn().await?;
    roster_store::members::reindex_names_of_org(&mut conn, roster_domain::OrgId::new(org)).await?;
    drop(conn);
    exec(
        &store,
        "groups",
        &format!(
            "INSERT INTO groups (org_id, name, created_at) SELECT {org}, 'g-' || k, {T0} FROM {}",
            seq(e, GROUPS)
        ),
    )
    .await?;
    exec(
        &store,
        "group_members",
        &format!(
            "INSERT INTO group_members (group_id, user_id, org_id, created_at)
             SELECT g.id, u.id, {org}, {T0} FROM users u
             JOIN groups g ON g.org_id = {org} AND g.name = 'g-' || (u.id % {GROUPS})
             WHERE u.id >= {FIRST_USER}
             UNION ALL
             SELECT g.id, u.id, {org}, {T0} FROM users u
             JOIN groups g ON g.org_id = {org} AND g.name = 'g-' || ((u.id / {GROUPS} + 7) % {GROUPS})
             WHERE u.id >= {FIRST_USER} AND u.id % 5 = 0
               AND (u.id / {GROUPS} + 7) % {GROUPS} <> u.id % {GROUPS}"
        ),
    )
    .await?;
    // `prefix` k, under the resource of type `parent_type` named
    // `parent_prefix` (k / 10).
    let resource = |t: &str, prefix: &str, n: i64, parent: Option<(&str, &str)>| {
        let parent = match parent {
            None => "NULL".to_owned(),
            Some((pt, pp)) => format!(
                "(SELECT p.id FROM resources p WHERE p.org_id = {org} AND p.resource_type = '{pt}' AND p.name = '{pp}' || (k / 10))"
            ),
        };
        format!(
            "INSERT INTO resources (org_id, resource_type, name, parent_id, review_actions, review_approvals, created_at, updated_at)
             SELECT {org}, '{t}', '{prefix}' || k, {parent}, '', 1, {T0}, {T0} FROM {}",
            seq(e, n),
        )
    };
    exec(&store, "projects", &resource("projects", "p", 10, None)).await?;
    exec(
        &store,
        "environments",
        &resource("environments", "e", 100, Some(("projects", "p"))),
    )
    .await?;
    exec(
        &store,
        "clusters",
        &resource("clusters", "c", 1000, Some(("environments", "e"))),
    )
    .await?;
    exec(
        &store,
        "cluster gates",
        &format!(
            "INSERT INTO resource_groups (resource_id, group_id, org_id)
             SELECT r.id, g.id, {org} FROM resources r
             JOIN groups g ON g.org_id = {org}
               AND g.name = 'g-' || (CAST(SUBSTR(r.name, 2) AS BIGINT) % {GROUPS})
             WHERE r.org_id = {org} AND r.resource_type = 'clusters'"
        ),
    )
    .await?;
    exec(
        &store,
        "group rules",
        &format!(
            "INSERT INTO access_rules (org_id, group_id, role, resource_id, created_at)
             SELECT {org}, g.id, 'contributor', p.id, {T0} FROM groups g
             JOIN resources p ON p.org_id = {org} AND p.resource_type = 'projects'
               AND p.name = 'p' || (CAST(SUBSTR(g.name, 3) AS BIGINT) % 10)
             WHERE g.org_id = {org}"
        ),
    )
    .await?;
    exec(
        &store,
        "member rules",
        &format!(
            "INSERT INTO access_rules (org_id, user_id, role, resource_id, created_at)
             SELECT {org}, {FIRST_USER} + k * 50 + 1, 'viewer', c.id, {T0} FROM {}
             JOIN resources c ON c.org_id = {org} AND c.resource_type = 'clusters'
               AND c.name = 'c' || (k % 1000)",
            seq(e, 2000)
        ),
    )
    .await?;
    let analyze = match e {
        Engine::Sqlite => "ANALYZE",
        Engine::Postgres => "VACUUM (ANALYZE)",
    };
    exec(&store, analyze, analyze).await?;
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    store.close().await;
    Ok(())
}

/// What one write does, by its number: a role change, a group join, a
/// group leave, a rule granted, a rule revoked, in turn.
async fn one_write(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    slug: &str,
    n: u64,
    rules: &tokio::sync::Mutex<Vec<i64>>,
) -> anyhow::Result<()> {
    let api = format!("{base}/api/v1/orgs/{slug}");
    // Members 1,000..99,999 (the checked member, k = 50, is never touched).
    let k = 1_000 + (n * 7_919) % 99_000;
    let user = FIRST_USER as u64 + k;
    let req = match n % 5 {
        0 => http
            .patch(format!("{api}/users/{user}"))
            .json(&json!({"role": if n.is_multiple_of(10) { "contributor" } else { "viewer" }})),
        1 => http
            .post(format!("{api}/groups/g-{}/members", n % 50))
            .json(&json!({"user_id": user})),
        2 => http.delete(format!("{api}/groups/g-{}/members/{}", (n - 1) % 50, {
            FIRST_USER as u64 + 1_000 + ((n - 1) * 7_919) % 99_000
        })),
        3 => http.post(format!("{api}/access-rules")).json(&json!({
            "user": format!("m{k}@big.test"), "role": "viewer",
            "resource": format!("clusters/c{}", n % 1000),
        })),
        _ => {
            let id = rules.lock().await.pop();
            match id {
                Some(id) => http.delete(format!("{api}/access-rules/{id}")),
                None => http
                    .patch(format!("{api}/users/{user}"))
                    .json(&json!({"role": "viewer"})),
            }
        }
    };
    let res = req.bearer_auth(token).send().await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("write {n}: {status} {body}");
    }
    if n % 5 == 3 {
        if let Some(id) = body["id"].as_i64() {
            rules.lock().await.push(id);
        }
    }
    Ok(())
}

async fn write(base: &str, token: &str, slug: &str, rate: u64, seconds: u64) -> anyhow::Result<()> {
    if rate == 0 {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        println!("writes=0 writes_per_second=0.0 write_errors=0");
        return Ok(());
    }
    let http = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rules = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let (http, base, token, slug) = (
            http.clone(),
            base.to_owned(),
            token.to_owned(),
            slug.to_owned(),
        );
        let (done, errors, latencies, rules) = (
            done.clone(),
            errors.clone(),
            latencies.clone(),
            rules.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            match one_write(&http, &base, &token, &slug, n, &rules).await {
                Ok(()) => {
                    done.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut l) = latencies.lock() {
                        l.push(t.elapsed());
                    }
                }
                Err(e) => {
                    if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("{e}");
                    }
                }
            }
        }));
        n += 1;
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    l.sort();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "writes={} writes_per_second={:.1} write_errors={} write_p50_ms={:.1} write_p99_ms={:.1}",
        done.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed) as f64 / elapsed,
        errors.load(Ordering::Relaxed),
        pct(0.5),
        pct(0.99),
    );
    Ok(())
}

async fn load(url: &str, slug: &str) -> anyhow::Result<()> {
    let store = Store::open(&StoreOptions {
        url: url.to_owned(),
        max_connections: 2,
    })
    .await?;
    let (org,): (i64,) = sqlx::query_as("SELECT id FROM orgs WHERE slug = $1")
        .bind(slug)
        .fetch_one(store.pool())
        .await
        .context("the org")?;
    for _ in 0..5 {
        let t = Instant::now();
        let facts = roster_store::access_state::load_snapshot(
            &store,
            roster_domain::OrgId::new(org),
            roster_domain::Timestamp::from_unix_ms(T0),
        )
        .await?;
        println!(
            "load_ms={:.1} members={} group_members={} resources={} rules={}",
            t.elapsed().as_secs_f64() * 1000.0,
            facts.members.len(),
            facts.group_members.len(),
            facts.resources.len(),
            facts.rules.len()
        );
    }
    store.close().await;
    Ok(())
}
