//! Webhook throughput: deliveries per second from the outbox to a receiver
//! on loopback that verifies every signature (docs/benchmarks.md).
//!
//! Starts a real server in this process (SQLite in a temp dir, or a fresh
//! PostgreSQL database), with `ROSTER_WEBHOOKS_ALLOW_PRIVATE` on so it may
//! call loopback, adds a webhook through the API, queues N deliveries in
//! the outbox at once (as N audit events would), and times the worker
//! until every one is marked delivered.
//!
//! ```sh
//! cargo run --release --example webhook_bench -- --engine sqlite --count 5000
//! cargo run --release --example webhook_bench -- --engine postgres --count 5000
//! ```

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use roster_domain::{OrgId, Timestamp};
use roster_server::{Application, Config, ConfigLayer, Secret};
use roster_store::outbox::{self, NewMessage};
use sqlx::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Receiver {
    secret: std::sync::Mutex<Option<standardwebhooks::Webhook>>,
    accepted: AtomicUsize,
    bad: AtomicUsize,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified = r
        .secret
        .lock()
        .unwrap()
        .as_ref()
        .map(|wh| wh.verify(&body, &headers).is_ok());
    match verified {
        Some(true) => {
            r.accepted.fetch_add(1, Ordering::Relaxed);
            StatusCode::NO_CONTENT
        }
        _ => {
            r.bad.fetch_add(1, Ordering::Relaxed);
            StatusCode::UNAUTHORIZED
        }
    }
}

async fn run(url: &str, engine: &str, count: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config::resolve(ConfigLayer {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        database_url: Some(url.to_owned()),
        secret_key: Some(Secret::new("22".repeat(32))),
        bootstrap_org: Some("acme".into()),
        bootstrap_owner_email: Some("owner@acme.test".into()),
        bootstrap_owner_password: Some(Secret::new("owner-password-1")),
        webhooks_allow_private: Some(true),
        max_connections: Some(16),
        ..Default::default()
    })?;
    let application = Application::build(config).await?;
    let base = format!("http://{}", application.addr());
    let app = application.app().clone();
    tokio::spawn(application.run_until_stopped(std::future::pending()));

    let receiver = Arc::new(Receiver {
        secret: std::sync::Mutex::new(None),
        accepted: AtomicUsize::new(0),
        bad: AtomicUsize::new(0),
    });
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });

    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "owner@acme.test", "password": "owner-password-1"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .context("a session token")?
        .to_owned();
    let made: serde_json::Value = http
        .post(format!("{base}/api/v1/orgs/acme/webhooks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "url": hook_url }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = made["id"].as_i64().context("the webhook's id")?;
    *receiver.secret.lock().unwrap() = Some(standardwebhooks::Webhook::new(
        made["secret"].as_str().context("its secret")?,
    )?);
    let org: (i64,) = sqlx::query_as("SELECT id FROM orgs WHERE slug = 'acme'")
        .fetch_one(app.store().pool())
        .await?;

    // N deliveries queued in one transaction, then timed until all are sent.
    let payload = serde_json::json!({
        "type": "member.create", "timestamp": "2026-12-01T00:00:00Z",
        "data": {"id": 1, "action": "member.create", "target": "user:1", "details": {"role": "viewer"},
                 "hash": "0".repeat(64), "prev_hash": "0".repeat(64), "seq": 1}
    })
    .to_string();
    let started = Instant::now();
    let mut tx = app.store().begin().await?;
    let now = Timestamp::from_unix_ms(time::OffsetDateTime::now_utc().unix_timestamp() * 1000);
    let recipient = format!("webhook:{id}");
    for _ in 0..count {
        outbox::enqueue(
            &mut tx,
            &NewMessage {
                org_id: Some(OrgId::new(org.0)),
                kind: "webhook",
                recipient: &recipient,
                subject: "member.create",
                body_text: &payload,
                body_html: "",
                now,
            },
        )
        .await?;
    }
    roster_store::commit(tx).await?;
    let queued = started.elapsed();
    let started = Instant::now();
    loop {
        let (pending,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'webhook' AND sent_at IS NULL",
        )
        .fetch_one(app.store().pool())
        .await?;
        if pending == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("{pending} deliveries still pending after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    let accepted = receiver.accepted.load(Ordering::Relaxed);
    println!("| engine | deliveries | seconds | deliveries/s | accepted by the receiver | bad signatures |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {engine} | {count} | {took:.2} | {:.0} | {accepted} | {} |",
        count as f64 / took,
        receiver.bad.load(Ordering::Relaxed)
    );
    eprintln!(
        "(queueing {count} deliveries took {:.2} s)",
        queued.as_secs_f64()
    );
    Ok(())
}

fn admin_url() -> String {
    std::env::var("ROSTER_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (engine, count) = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--engine", e] => (e.to_string(), 5000),
        ["--engine", e, "--count", n] => (e.to_string(), n.parse()?),
        _ => bail!("usage: webhook_bench --engine sqlite|postgres [--count N]"),
    };
    match engine.as_str() {
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            run(&url, "sqlite", count).await
        }
        "postgres" => {
            let name = format!("roster_webhook_bench_{}", std::process::id());
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
            let result = run(&url, "postgres", count).await;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
            result
        }
        other => bail!("unknown engine {other}"),
    }
}
