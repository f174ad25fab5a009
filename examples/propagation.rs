//! How long a change made through one replica takes to be enforced by
//! another, over many changes, and what the database does per change
//! (see `bench/replicas.sh` and docs/benchmarks.md).
//!
//! Needs two running replicas on one PostgreSQL database whose bootstrap
//! org is `bench`, owned by `bench@example.test` / `bench-password-1`:
//!
//! ```sh
//! cargo run --release --example propagation -- A_URL B_URL DATABASE_URL [CHANGES]
//! ```
//!
//! Each change grants or revokes (alternately) an access rule through A,
//! then asks B's check API, as fast as it answers, until B's answer flips;
//! the delay is from A's answer to B's first flipped answer. Prints the
//! median, p99 and max delay, and the database's transactions and rows per
//! change from `pg_stat_database` (which also counts every replica's
//! revision polls during the run; the idle rate is printed beside it).

use anyhow::{bail, Context};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};

async fn login(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let res: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "bench@example.test", "password": "bench-password-1"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(res["token"].as_str().context("no token")?.to_owned())
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = http.request(method, &url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{url}: {status} {body}");
    }
    Ok(body)
}

/// (transactions committed, rows read, rows written) of the database.
async fn db_stats(conn: &mut sqlx::PgConnection) -> anyhow::Result<[i64; 3]> {
    // Statistics are flushed lazily; ask for a fresh snapshot.
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(
        "SELECT xact_commit, tup_returned + tup_fetched, tup_inserted + tup_updated + tup_deleted
         FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok([row.try_get(0)?, row.try_get(1)?, row.try_get(2)?])
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (a, b, db_url) = match args.as_slice() {
        [a, b, d, ..] => (a.clone(), b.clone(), d.clone()),
        _ => bail!("usage: propagation A_URL B_URL DATABASE_URL [CHANGES]"),
    };
    let changes: usize = args.get(3).map_or(Ok(1000), |c| c.parse())?;
    let http = reqwest::Client::new();
    let token_a = login(&http, &a).await?;
    let token_b = login(&http, &b).await?;
    let org = |base: &str, rest: &str| format!("{base}/api/v1/orgs/bench/{rest}");
    use reqwest::Method as M;
    send(
        &http,
        M::POST,
        org(&a, "users"),
        &token_a,
        Some(json!({"email": "dwight@example.test", "role": "viewer"})),
    )
    .await?;
    send(
        &http,
        M::POST,
        org(&a, "resources"),
        &token_a,
        Some(json!({"key": "clusters/eu-1"})),
    )
    .await?;
    let question = json!({"user": "dwight@example.test", "action": "clusters:update", "resource": "clusters/eu-1"});
    let ask = |http: reqwest::Client, token: String, q: Value, url: String| async move {
        let d = send(&http, M::POST, url, &token, Some(q)).await?;
        d["allowed"].as_bool().context("no decision")
    };
    // B loads the org.
    ask(
        http.clone(),
        token_b.clone(),
        question.clone(),
        org(&b, "check"),
    )
    .await?;

    let mut conn = sqlx::PgConnection::connect(&db_url).await?;
    // Let the setup's statistics reach the shared counters first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle0 = db_stats(&mut conn).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle1 = db_stats(&mut conn).await?;
    let s0 = db_stats(&mut conn).await?;
    let started = Instant::now();
    let mut delays = Vec::with_capacity(changes);
    let mut rule: Option<i64> = None;
    for i in 0..changes {
        let want = rule.is_none();
        match rule.take() {
            None => {
                let r = send(&http, M::POST, org(&a, "access-rules"), &token_a, Some(json!({"user": "dwight@example.test", "role": "contributor", "resource": "clusters/eu-1"}))).await?;
                rule = r["id"].as_i64();
            }
            Some(id) => {
                http.delete(org(&a, &format!("access-rules/{id}")))
                    .bearer_auth(&token_a)
                    .send()
                    .await?
                    .error_for_status()?;
            }
        }
        let changed = Instant::now();
        loop {
            if ask(
                http.clone(),
                token_b.clone(),
                question.clone(),
                org(&b, "check"),
            )
            .await?
                == want
            {
                break;
            }
            if changed.elapsed() > Duration::from_secs(10) {
                bail!("change {i} not seen by B after 10 s");
            }
        }
        delays.push(changed.elapsed());
    }
    let elapsed = started.elapsed();
    let s1 = db_stats(&mut conn).await?;
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("changes={changes}");
    println!("propagation_ms_median={:.1}", ms(percentile(&delays, 0.5)));
    println!("propagation_ms_p99={:.1}", ms(percentile(&delays, 0.99)));
    println!(
        "propagation_ms_max={:.1}",
        ms(*delays.last().context("no changes")?)
    );
    let per = |i: usize| (s1[i] - s0[i]) as f64 / changes as f64;
    let idle_secs = 5.0;
    let idle = |i: usize| {
        (idle1[i] - idle0[i]) as f64 / idle_secs * elapsed.as_secs_f64() / changes as f64
    };
    println!(
        "db_commits_per_change={:.1} (idle share {:.1})",
        per(0),
        idle(0)
    );
    println!(
        "db_rows_read_per_change={:.0} (idle share {:.0})",
        per(1),
        idle(1)
    );
    println!(
        "db_rows_written_per_change={:.1} (idle share {:.1})",
        per(2),
        idle(2)
    );
    println!("run_seconds={:.1}", elapsed.as_secs_f64());
    Ok(())
}
