//! What the audit hash chain costs a write: members created per second
//! through the store, each in its own transaction as `App::change` runs it
//! (the org's lock, the user, the membership, one `member.create` audit
//! event, commit), with the event appended to the org's chain (the store's
//! lock, which returns the head; hash; insert with `seq`/`prev_hash`/`hash`,
//! whose statement stores the org's revision and head on PostgreSQL) or
//! inserted plainly as before chains, after the lock a change took then
//! (`UPDATE orgs SET revision = revision + 1`; the `plain` variant exists
//! only in this harness). Both variants
//! run in the same process, alternating in rounds, on SQLite or PostgreSQL,
//! with 1 and with 8 concurrent writers (docs/benchmarks.md).
//!
//! ```sh
//! cargo run --release --example audit_chain_bench -- --engine sqlite
//! cargo run --release --example audit_chain_bench -- --engine postgres --rounds 10
//! ```
//!
//! Each round creates 600 members with each variant, back to back; the
//! table gives the mean rates and the median of the rounds' ratios (the
//! steadier figure on a machine whose load moves).
//!
//! `ROSTER_BENCH_POSTGRES_URL` overrides the PostgreSQL server's admin URL.

use anyhow::{bail, Context};
use roster_domain::{MemberStatus, OrgId, Timestamp};
use roster_store::audit::{self, NewEvent};
use roster_store::members::{self, NewMembership};
use roster_store::users::{self, NewUser};
use roster_store::{orgs, Store, StoreOptions};
use sqlx::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Rounds per writer count, unless `--rounds N` says otherwise.
const ROUNDS: usize = 4;
const PER_ROUND: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Chained,
    Plain,
}

async fn create_member(store: &Store, org: OrgId, n: usize, v: Variant) -> anyhow::Result<()> {
    let now = Timestamp::from_unix_ms(1_767_225_600_000 + n as i64);
    let email = format!("m{n}@bench.test");
    let mut tx = store.begin().await?;
    let lock = match v {
        Variant::Chained => Some(orgs::lock(&mut tx, org).await?),
        Variant::Plain => {
            sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision")
                .bind(org.get())
                .fetch_one(&mut *tx)
                .await?;
            None
        }
    };
    let user = users::insert(
        &mut tx,
        NewUser {
            email: &email,
            name: "Bench Member",
            name_folded: "bench member",
            password_hash: None,
            must_change_password: false,
            now,
        },
    )
    .await?;
    members::insert(
        &mut tx,
        NewMembership {
            org_id: org,
            user_id: user,
            role: "viewer",
            team: "",
            status: MemberStatus::Active,
            identity_provider: "",
            mfa_required: false,
            now,
        },
    )
    .await?;
    let target = format!("user:{}", user.get());
    let details = format!("{{\"email\":\"{email}\",\"role\":\"viewer\"}}");
    let e = NewEvent {
        org_id: Some(org),
        at: now,
        actor_id: None,
        actor_email: "owner@bench.test",
        actor_name: "Owner",
        channel: "api",
        action: "member.create",
        target: &target,
        details: &details,
        client_addr: "127.0.0.1",
        request_id: "00000000-0000-0000-0000-000000000000",
    };
    match v {
        Variant::Chained => {
            // The org's lock returned the chain's head; the event's insert
            // stores the org's revision and the moved head, as
            // `Change::audit_in` does.
            let lock = lock.context("the chained variant takes the store's lock")?;
            let mut head = lock.audit_head;
            audit::insert(&mut tx, &e, &mut head, Some(lock.revision)).await?;
        }
        Variant::Plain => {
            // The statement audit events were written with before chains.
            sqlx::query(
                "INSERT INTO audit_events (org_id, at, actor_id, actor_email, actor_name, channel, action, target, details, client_addr, request_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(org.get())
            .bind(now.unix_ms())
            .bind(None::<i64>)
            .bind(e.actor_email)
            .bind(e.actor_name)
            .bind(e.channel)
            .bind(e.action)
            .bind(e.target)
            .bind(e.details)
            .bind(e.client_addr)
            .bind(e.request_id)
            .fetch_one(&mut *tx)
            .await?;
        }
    }
    roster_store::commit(tx).await?;
    Ok(())
}

/// Creates `count` members with `writers` concurrent writers; members/s.
async fn round(
    store: &Store,
    org: OrgId,
    next: &Arc<AtomicUsize>,
    count: usize,
    writers: usize,
    v: Variant,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let left = Arc::new(AtomicUsize::new(count));
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (store, next, left) = (store.clone(), next.clone(), left.clone());
        tasks.push(tokio::spawn(async move {
            while left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1))
                .is_ok()
            {
                let n = next.fetch_add(1, Ordering::SeqCst);
                create_member(&store, org, n, v).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

async fn run(url: &str, engine: &str, rounds: usize) -> anyhow::Result<()> {
    let store = Store::open(&StoreOptions {
        url: url.to_owned(),
        max_connections: 16,
    })
    .await?;
    let mut conn = store.conn().await?;
    let org = orgs::insert(
        &mut conn,
        "bench",
        "Bench",
        None,
        Timestamp::from_unix_ms(1_767_225_600_000),
    )
    .await?;
    // Events written without a chain (`seq` null) would also enter the
    // partial index that finds pre-chain events on start; events never
    // did before chains, so the plain variant would pay for an index the
    // chained one skips. Without it, both variants maintain the same
    // indexes and the difference is the chain's own: the hash, three
    // more columns and the trigger that moves the head.
    sqlx::query("DROP INDEX audit_unchained_idx")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    let next = Arc::new(AtomicUsize::new(0));
    // Warm-up, both variants.
    round(&store, org, &next, 100, 1, Variant::Chained).await?;
    round(&store, org, &next, 100, 1, Variant::Plain).await?;
    println!("| engine | writers | rounds | plain members/s | chained members/s | chained / plain | median of the rounds' ratios |");
    println!("|---|---|---|---|---|---|---|");
    for writers in [1, 8] {
        let (mut plain, mut chained, mut ratios) = (0.0, 0.0, Vec::new());
        for r in 0..rounds {
            // Each round runs both variants back to back, taking turns at
            // going first, so a change in the machine's load falls on both.
            let order = if r % 2 == 0 {
                [Variant::Plain, Variant::Chained]
            } else {
                [Variant::Chained, Variant::Plain]
            };
            let (mut p, mut c) = (0.0, 0.0);
            for v in order {
                let rate = round(&store, org, &next, PER_ROUND, writers, v).await?;
                match v {
                    Variant::Plain => p = rate,
                    Variant::Chained => c = rate,
                }
            }
            plain += p;
            chained += c;
            ratios.push(c / p);
        }
        let (plain, chained) = (plain / rounds as f64, chained / rounds as f64);
        ratios.sort_by(f64::total_cmp);
        let median = if ratios.len() % 2 == 1 {
            ratios[ratios.len() / 2]
        } else {
            (ratios[ratios.len() / 2 - 1] + ratios[ratios.len() / 2]) / 2.0
        };
        println!(
            "| {engine} | {writers} | {rounds} | {plain:.0} | {chained:.0} | {:.1}% | {:.1}% |",
            100.0 * chained / plain,
            100.0 * median
        );
    }
    // The chained events still verify (the plain ones are not in the chain:
    // they have no `seq`, so verification sees only the chained ones; the
    // count is what was appended).
    let mut conn = store.conn().await?;
    let v = audit::verify(&mut conn, audit::chain_of(Some(org))).await?;
    eprintln!(
        "chain: {} events appended, {} checked, break: {:?}",
        v.count, v.checked, v.first_break
    );
    drop(conn);
    store.close().await;
    Ok(())
}

fn admin_url() -> String {
    std::env::var("ROSTER_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (engine, rounds) = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--engine", e] => (e.to_string(), ROUNDS),
        ["--engine", e, "--rounds", n] => (
            e.to_string(),
            n.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .context("--rounds is a positive number")?,
        ),
        _ => bail!("usage: audit_chain_bench --engine sqlite|postgres [--rounds N]"),
    };
    match engine.as_str() {
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            run(&url, "sqlite", rounds).await
        }
        "postgres" => {
            let name = format!("roster_chain_bench_{}", std::process::id());
            let admin = admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .with_context(|| format!("connecting to {admin}"))?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
            let url = match admin.rsplit_once('/') {
                Some((head, _)) => format!("{head}/{name}"),
                None => bail!("the admin URL has no database part"),
            };
            let result = run(&url, "postgres", rounds).await;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
            result
        }
        other => bail!("unknown engine {other}"),
    }
}
