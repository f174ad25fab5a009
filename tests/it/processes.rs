//! Three real `roster serve` processes on one fresh PostgreSQL database,
//! as an operator runs replicas behind a load balancer (SPEC §5).

use crate::helpers::*;
use crate::smtp::SmtpSink;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_roster");

/// One `roster serve` child process, killed on drop.
struct Replica {
    child: Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    /// Ends the process at once, as a crash or `kill -9` would.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db_url: &str, dir: &std::path::Path, smtp_url: Option<&str>) -> Replica {
    std::fs::create_dir_all(dir).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("ROSTER_DATABASE_URL", db_url)
        .env("ROSTER_SECRET_KEY", "33".repeat(32))
        .env("ROSTER_BOOTSTRAP_ORG", ORG)
        .env("ROSTER_BOOTSTRAP_OWNER_EMAIL", OWNER_EMAIL)
        .env("ROSTER_BOOTSTRAP_OWNER_PASSWORD", OWNER_PASSWORD)
        .env("ROSTER_OUTBOX_LEASE_SECONDS", "20")
        .env("ROSTER_MAX_CONNECTIONS", "4")
        .env(
            "RUST_LOG",
            std::env::var("ROSTER_TEST_RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = smtp_url {
        cmd.env("ROSTER_SMTP_URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in the first log line: {first}"))
        .to_owned();
    std::thread::spawn(move || {
        for l in lines.by_ref().map_while(Result::ok) {
            if std::env::var("ROSTER_TEST_ECHO").is_ok() {
                eprintln!("{l}");
            }
        }
    });
    Replica { child, base }
}

async fn ready(http: &reqwest::Client, r: &Replica) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(res) = http.get(format!("{}/readyz", r.base)).send().await {
            if res.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{} never became ready", r.base);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Three processes started at the same moment on an empty database: they
/// migrate and seed once between them.
async fn three(
    smtp_url: Option<&str>,
) -> (
    Vec<Replica>,
    reqwest::Client,
    TestDatabase,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let replicas: Vec<Replica> = (0..3)
        .map(|i| start(&db.url, &dir.path().join(format!("r{i}")), smtp_url))
        .collect();
    let http = reqwest::Client::new();
    for r in &replicas {
        ready(&http, r).await;
    }
    (replicas, http, db, dir)
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login(http: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let res: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login: {res}"))
        .to_owned()
}

/// A rule revoked, a member demoted and a member removed through one
/// process are enforced by the other two within one second: the delay is
/// measured and only the bound is asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_process_are_enforced_by_the_others_within_a_second() {
    let (r, http, _db, _dir) = three(None).await;
    let owner = login(&http, &r[0].base, OWNER_EMAIL, OWNER_PASSWORD).await;
    let org = |i: usize, rest: &str| format!("{}/api/v1/orgs/{ORG}/{rest}", r[i].base);
    use reqwest::Method as M;

    let (s, created) = call(
        &http,
        M::POST,
        org(0, "users"),
        &owner,
        Some(json!({"email": "dwight@acme.test", "role": "viewer"})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let dwight = created["user"]["id"].as_i64().unwrap();
    let temp = created["temporary_password"].as_str().unwrap();
    let token = login(&http, &r[1].base, "dwight@acme.test", temp).await;
    let (s, _) = call(
        &http,
        M::POST,
        format!("{}/api/v1/me/password", r[1].base),
        &token,
        Some(json!({"current_password": temp, "new_password": "dwight-password-1"})),
    )
    .await;
    assert_eq!(s, 204);
    call(
        &http,
        M::POST,
        org(0, "resources"),
        &owner,
        Some(json!({"key": "clusters/eu-1"})),
    )
    .await;
    let (s, rule) = call(
        &http,
        M::POST,
        org(0, "access-rules"),
        &owner,
        Some(
            json!({"user": "dwight@acme.test", "role": "contributor", "resource": "clusters/eu-1"}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{rule}");

    // Replicas 1 and 2 load the org: the rule allows.
    let question = json!({"user": "dwight@acme.test", "action": "clusters:update", "resource": "clusters/eu-1"});
    let owner_on = |i: usize| (org(i, "check"), question.clone());
    for i in [1, 2] {
        let (url, q) = owner_on(i);
        let (_, d) = call(&http, M::POST, url, &owner, Some(q)).await;
        assert_eq!(d["allowed"], true, "{d}");
    }
    // Revoke on 0; time until both others deny.
    let revoked_at = Instant::now();
    let (s, _) = call(
        &http,
        M::DELETE,
        org(0, &format!("access-rules/{}", rule["id"])),
        &owner,
        None,
    )
    .await;
    assert_eq!(s, 204);
    let mut delays = Vec::new();
    for i in [1, 2] {
        loop {
            let (url, q) = owner_on(i);
            let (_, d) = call(&http, M::POST, url, &owner, Some(q)).await;
            if d["allowed"] == false {
                break;
            }
            assert!(
                revoked_at.elapsed() < Duration::from_secs(5),
                "replica {i} still allows"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        delays.push(revoked_at.elapsed());
    }
    eprintln!("revocation seen by replicas 1 and 2 after {delays:?}");
    assert!(
        delays.iter().all(|d| *d < Duration::from_secs(1)),
        "{delays:?}"
    );

    // Demoted on 0: Dwight's next management request on 2 is refused.
    let (s, _) = call(
        &http,
        M::PATCH,
        org(0, &format!("users/{dwight}")),
        &owner,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(&http, M::GET, org(2, "audit"), &token, None).await;
    assert_eq!(s, 200);
    let (s, _) = call(
        &http,
        M::PATCH,
        org(0, &format!("users/{dwight}")),
        &owner,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(&http, M::GET, org(2, "audit"), &token, None).await;
    assert_eq!(s, 403, "the demotion is enforced at once on replica 2");
    // Removed on 1: refused on 0 and 2 at once.
    let (s, _) = call(
        &http,
        M::DELETE,
        org(1, &format!("users/{dwight}")),
        &owner,
        None,
    )
    .await;
    assert_eq!(s, 204);
    for i in [0, 2] {
        let (s, _) = call(&http, M::GET, org(i, "users"), &token, None).await;
        assert_eq!(s, 404, "replica {i}");
    }
}

/// Two owners demote each other at the same moment through different
/// processes: one owner remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_demoting_each_other_through_two_processes_leave_one() {
    let (r, http, _db, _dir) = three(None).await;
    let owner = login(&http, &r[0].base, OWNER_EMAIL, OWNER_PASSWORD).await;
    let org = |i: usize, rest: &str| format!("{}/api/v1/orgs/{ORG}/{rest}", r[i].base);
    use reqwest::Method as M;
    let (_, me) = call(
        &http,
        M::GET,
        format!("{}/api/v1/me", r[0].base),
        &owner,
        None,
    )
    .await;
    let owner_id = me["id"]
        .as_i64()
        .or(me["user"]["id"].as_i64())
        .expect("my id");
    let (_, created) = call(
        &http,
        M::POST,
        org(0, "users"),
        &owner,
        Some(json!({"email": "jan@acme.test", "role": "owner"})),
    )
    .await;
    let jan = created["user"]["id"].as_i64().unwrap();
    let temp = created["temporary_password"].as_str().unwrap();
    let jan_token = login(&http, &r[1].base, "jan@acme.test", temp).await;
    let (s, _) = call(
        &http,
        M::POST,
        format!("{}/api/v1/me/password", r[1].base),
        &jan_token,
        Some(json!({"current_password": temp, "new_password": "jan-password-12"})),
    )
    .await;
    assert_eq!(s, 204);

    let ((a, _), (b, _)) = tokio::join!(
        call(
            &http,
            M::PATCH,
            org(1, &format!("users/{jan}")),
            &owner,
            Some(json!({"role": "viewer"}))
        ),
        call(
            &http,
            M::PATCH,
            org(2, &format!("users/{owner_id}")),
            &jan_token,
            Some(json!({"role": "viewer"}))
        ),
    );
    let ok = [a, b].iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 1, "exactly one demotion wins: {a} {b}");
    let (_, owners) = call(
        &http,
        M::GET,
        org(0, "users?role=owner&status=active"),
        &owner_or(&owner, &jan_token, a == 200),
        None,
    )
    .await;
    assert_eq!(owners["items"].as_array().unwrap().len(), 1, "{owners}");
}

fn owner_or(owner: &str, jan: &str, jan_was_demoted: bool) -> String {
    if jan_was_demoted { owner } else { jan }.to_owned()
}

/// A process killed while it delivers mail loses nothing and sends nothing
/// twice: its claim runs out and another process delivers each message
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_delivery_loses_no_mail_and_sends_none_twice() {
    let sink = SmtpSink::start_stalling(1).await;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let http = reqwest::Client::new();
    // One process alone first, so that it is the one that claims the mail.
    let mut first = start(&db.url, &dir.path().join("r0"), Some(&sink.url()));
    ready(&http, &first).await;
    let owner = login(&http, &first.base, OWNER_EMAIL, OWNER_PASSWORD).await;
    let emails: Vec<String> = (0..3).map(|i| format!("invitee{i}@acme.test")).collect();
    let res = http
        .post(format!("{}/api/v1/orgs/{ORG}/invitations", first.base))
        .bearer_auth(&owner)
        .json(&json!({"invitations": emails.iter().map(|e| json!({"email": e, "role": "viewer"})).collect::<Vec<_>>()}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    // Wait until the process is stuck inside a delivery, then kill it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.stalls_left() > 0 {
        assert!(
            Instant::now() < deadline,
            "the first delivery never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    assert!(
        sink.mails().is_empty(),
        "nothing was accepted before the kill"
    );
    // Two other processes take over once the claim's lease (20 s) runs out.
    let others: Vec<Replica> = (1..3)
        .map(|i| {
            start(
                &db.url,
                &dir.path().join(format!("r{i}")),
                Some(&sink.url()),
            )
        })
        .collect();
    for r in &others {
        ready(&http, r).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.mails().len() < emails.len() {
        assert!(
            Instant::now() < deadline,
            "mail lost: {} of {} delivered",
            sink.mails().len(),
            emails.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A little longer, to catch a second delivery.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for e in &emails {
        assert_eq!(
            sink.mails_to(e).len(),
            1,
            "{e} got its invitation exactly once"
        );
    }
    assert_eq!(sink.mails().len(), emails.len());
    drop(others);
}

/// A process whose database connection is cut reports not ready and
/// answers `503` rather than hanging, and recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_cut_off_from_the_database_answers_503_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let proxy = Proxy::start().await;
    let via_proxy = db
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    let r = start(&via_proxy, &dir.path().join("r"), None);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    ready(&http, &r).await;
    let token = login(&http, &r.base, OWNER_EMAIL, OWNER_PASSWORD).await;

    proxy.cut().await;
    let status = |path: &'static str| {
        let (http, base, token) = (http.clone(), r.base.clone(), token.clone());
        async move {
            http.get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status("/readyz").await, 503);
    assert_eq!(status("/api/v1/orgs").await, 503);
    assert_eq!(status("/healthz").await, 200, "alive, just not ready");

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while status("/readyz").await != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status("/api/v1/orgs").await, 200);
}
