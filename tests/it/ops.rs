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

/// A `roster serve` child process on a data directory the test owns,
/// killed on drop.
pub struct Proc {
    pub child: std::process::Child,
    pub url: String,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Sends SIGTERM and waits for the process to exit; returns whether it
    /// exited successfully.
    pub fn stop(mut self) -> bool {
        terminate(&self.child);
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// The log lines written so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// Sends SIGTERM to a child.
pub fn terminate(child: &std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// The `roster serve` command on `data_dir`, listening on a free port.
pub fn serve_cmd(data_dir: &std::path::Path, env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("ROSTER_BOOTSTRAP_ORG", ORG)
        .env("ROSTER_BOOTSTRAP_OWNER_EMAIL", OWNER_EMAIL)
        .env("ROSTER_BOOTSTRAP_OWNER_PASSWORD", OWNER_PASSWORD)
        .env("RUST_LOG", "info")
        .env_remove("ROSTER_SECRET_KEY")
        .env_remove("ROSTER_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Starts `roster serve` and waits until it is ready.
pub fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Proc {
    use std::io::BufRead;
    let mut child = serve_cmd(data_dir, env).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in the first log line: {first}"))
        .to_owned();
    let log = std::sync::Arc::new(std::sync::Mutex::new(vec![first]));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready(&url) {
        assert!(
            std::time::Instant::now() < deadline,
            "not ready: {:?}",
            log.lock().unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Proc { child, url, log }
}

/// Runs `roster serve` that must refuse to start; returns its stderr.
pub fn refused_start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let mut child = serve_cmd(data_dir, env).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "it started and stopped cleanly");
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not refuse to start");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let last = stderr.trim().lines().last().unwrap_or("").to_owned();
    assert!(last.starts_with("error: "), "{stderr}");
    last
}

/// Replicas with different keys, and an embedded database whose key file
/// went missing or was replaced, are refused at start with one line that
/// says what to do; the right key starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_another_key_than_its_database_refuses_to_start() {
    // The embedded database: the first start stores the key's check value.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(start(&data, &[]).stop());
    let key = std::fs::read_to_string(data.join("secret.key")).unwrap();

    std::fs::remove_file(data.join("secret.key")).unwrap();
    let line = refused_start(&data, &[]);
    assert!(line.contains("secret.key does not exist"), "{line}");
    assert!(
        !data.join("secret.key").exists(),
        "no new key is made for a database that has one"
    );

    std::fs::write(data.join("secret.key"), "ab".repeat(32)).unwrap();
    let line = refused_start(&data, &[]);
    assert!(line.contains("does not match"), "{line}");
    assert!(!line.contains(&"ab".repeat(32)), "the key is never printed");

    std::fs::write(data.join("secret.key"), &key).unwrap();
    assert!(start(&data, &[]).stop());

    // Two replicas on one PostgreSQL database with different keys.
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let one = "01".repeat(32);
    let two = "02".repeat(32);
    let first = start(
        &dir.path().join("r1"),
        &[
            ("ROSTER_DATABASE_URL", db.url.as_str()),
            ("ROSTER_SECRET_KEY", one.as_str()),
        ],
    );
    let line = refused_start(
        &dir.path().join("r2"),
        &[
            ("ROSTER_DATABASE_URL", db.url.as_str()),
            ("ROSTER_SECRET_KEY", two.as_str()),
        ],
    );
    assert!(line.contains("same ROSTER_SECRET_KEY"), "{line}");
    let second = start(
        &dir.path().join("r2"),
        &[
            ("ROSTER_DATABASE_URL", db.url.as_str()),
            ("ROSTER_SECRET_KEY", one.as_str()),
        ],
    );
    assert!(second.stop());
    assert!(first.stop());
}

/// Runs `roster ARGS` (a local command: backup, restore) with `env`.
pub fn roster_local(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args)
        .env_remove("ROSTER_SECRET_KEY")
        .env_remove("ROSTER_DATABASE_URL")
        .env_remove("ROSTER_DATA_DIR")
        .env_remove("ROSTER_CONFIG")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[track_caller]
fn succeeded(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn failed(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "should fail: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    stderr
}

/// Signs in to a server started by [`start`].
pub async fn sign_in(url: &str, email: &str, password: &str) -> Api {
    let res = Api::new(url, None)
        .login(&roster_proto::LoginRequest {
            email: email.into(),
            password: password.into(),
            totp_code: None,
            recovery_code: None,
            passkey: None,
        })
        .await
        .expect("sign-in");
    Api::new(url, Some(&res.token))
}

/// A backup taken with the real binary while two clients keep creating
/// groups restores, into a new data directory, every group whose creation
/// was acknowledged before the backup began; the restored database passes
/// SQLite's checks and opens with the key that came with it. A restore is
/// refused over a running server, over an existing database without
/// `--force`, from a damaged file and with another key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_every_acknowledged_write() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap().to_owned();
    let server = start(&data, &[]);
    let owner = sign_in(&server.url, OWNER_EMAIL, OWNER_PASSWORD).await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2 {
        let (owner, acked, stop) = (owner.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let name = format!("w{w}-{i}");
                owner
                    .create_group(ORG, &GroupRequest { name: name.clone() })
                    .await
                    .expect("a write under load");
                acked.lock().unwrap().push(name);
            }
        }));
    }
    while acked.lock().unwrap().len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Every write acknowledged by now must be in the backup.
    let before: Vec<String> = acked.lock().unwrap().clone();
    let file = dir.path().join("roster.backup");
    let file_arg = file.to_str().unwrap().to_owned();
    let out = {
        let (data_arg, file_arg) = (data_arg.clone(), file_arg.clone());
        tokio::task::spawn_blocking(move || {
            roster_local(&["backup", "--data-dir", &data_arg, "--to", &file_arg], &[])
        })
        .await
        .unwrap()
    };
    let report = succeeded(&out);
    assert!(report.contains("server key is in the backup"), "{report}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the backup is private: {mode:o}");
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let total = acked.lock().unwrap().len();
    assert!(total >= before.len());

    // Refusals: a running server's directory, a damaged file, another key.
    let line = failed(&roster_local(
        &[
            "restore",
            "--from",
            &file_arg,
            "--data-dir",
            &data_arg,
            "--force",
        ],
        &[],
    ));
    assert!(line.contains("server is running"), "{line}");
    let junk = dir.path().join("junk.backup");
    std::fs::write(
        &junk,
        b"this is not a database at all, just words".repeat(200),
    )
    .unwrap();
    let fresh = dir.path().join("restored");
    let fresh_arg = fresh.to_str().unwrap().to_owned();
    let line = failed(&roster_local(
        &[
            "restore",
            "--from",
            junk.to_str().unwrap(),
            "--data-dir",
            &fresh_arg,
        ],
        &[],
    ));
    assert!(line.contains("not a usable Roster backup"), "{line}");
    let other_key = "ee".repeat(32);
    let line = failed(&roster_local(
        &["restore", "--from", &file_arg, "--data-dir", &fresh_arg],
        &[("ROSTER_SECRET_KEY", other_key.as_str())],
    ));
    assert!(line.contains("not the key"), "{line}");
    assert!(
        !fresh.join("roster.db").exists(),
        "a refused restore leaves nothing"
    );

    // The restore, then a server on it.
    let report = succeeded(&roster_local(
        &["restore", "--from", &file_arg, "--data-dir", &fresh_arg],
        &[],
    ));
    assert!(report.contains("Restored"), "{report}");
    let line = failed(&roster_local(
        &["restore", "--from", &file_arg, "--data-dir", &fresh_arg],
        &[],
    ));
    assert!(line.contains("--force"), "{line}");
    assert_eq!(
        std::fs::read_to_string(fresh.join("secret.key")).unwrap(),
        std::fs::read_to_string(data.join("secret.key")).unwrap()
    );
    assert!(server.stop());

    let restored = start(&fresh, &[]);
    let owner = sign_in(&restored.url, OWNER_EMAIL, OWNER_PASSWORD).await;
    let groups: std::collections::HashSet<String> = owner
        .list_groups(ORG)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    let missing: Vec<&String> = before.iter().filter(|g| !groups.contains(*g)).collect();
    assert!(missing.is_empty(), "lost acknowledged writes: {missing:?}");
    assert!(restored.stop());
}

/// `/metrics` is the Prometheus text format (read with the strict
/// `openmetrics-parser` crate, which refuses what it cannot read): requests
/// by method, matched route and status with latency histograms, check
/// decisions and latency, sign-ins by outcome, the outbox gauges, build
/// info and process figures; and no token from a path reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_requests_checks_sign_ins_and_the_outbox() {
    use openmetrics_parser::prometheus::parse_prometheus;
    use openmetrics_parser::{PrometheusType, PrometheusValue};
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let _ = app.login_res(OWNER_EMAIL, "not the password").await;
    owner
        .check(
            ORG,
            &roster_proto::CheckRequest {
                user: OWNER_EMAIL.into(),
                action: "users:read".into(),
                resource: None,
            },
        )
        .await
        .unwrap();
    let secret_path = "/invite/rsi_this-is-a-secret-token";
    app.send(reqwest::Method::GET, secret_path, None, None)
        .await;
    app.send(reqwest::Method::GET, "/no/such/route", None, None)
        .await;

    let mut text = String::new();
    // The periodic task sets the outbox gauges within seconds of the start.
    for _ in 0..100 {
        let res = app
            .http
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        text = res.text().await.unwrap();
        if text.contains("\nroster_outbox_waiting ") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!text.contains("rsi_this-is-a-secret-token"), "{text}");
    let parsed = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e:?} in\n{text}"));

    // The value of `metric` whose labels are exactly `labels`.
    let find = |metric: &str, labels: &[(&str, &str)]| -> (PrometheusType, PrometheusValue) {
        let family = parsed
            .families
            .get(metric)
            .unwrap_or_else(|| panic!("no {metric} in\n{text}"));
        let names = family.get_label_names();
        assert_eq!(names.len(), labels.len(), "{metric}: labels {names:?}");
        let values: Vec<String> = names
            .iter()
            .map(|n| {
                labels
                    .iter()
                    .find(|(k, _)| k == n)
                    .unwrap_or_else(|| panic!("{metric} has label {n}"))
                    .1
                    .to_owned()
            })
            .collect();
        let sample = family
            .get_sample_by_label_values(&values)
            .unwrap_or_else(|| panic!("no {metric} {labels:?} in\n{text}"));
        (family.family_type.clone(), sample.value.clone())
    };
    let positive = |(kind, v): (PrometheusType, PrometheusValue)| {
        let n = match v {
            PrometheusValue::Counter(c) => c.value.as_f64(),
            PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
            other => panic!("not a number: {other:?}"),
        };
        assert!(n >= 1.0, "{kind:?} {n}");
    };
    let histogram = |(kind, v): (PrometheusType, PrometheusValue)| {
        assert_eq!(kind, PrometheusType::Histogram);
        match v {
            PrometheusValue::Histogram(h) => {
                assert!(h.count.unwrap_or(0) >= 1, "{h:?}");
                assert!(h.buckets.len() > 5, "{h:?}");
            }
            other => panic!("not a histogram: {other:?}"),
        }
    };
    let check_route = [
        ("method", "POST"),
        ("route", "/api/v1/orgs/{org}/check"),
        ("status", "200"),
    ];
    positive(find("roster_http_requests_total", &check_route));
    histogram(find("roster_http_request_duration_seconds", &check_route));
    positive(find(
        "roster_http_requests_total",
        &[
            ("method", "GET"),
            ("route", "/invite/{token}"),
            ("status", "404"),
        ],
    ));
    positive(find(
        "roster_http_requests_total",
        &[("method", "GET"), ("route", "unmatched"), ("status", "404")],
    ));
    positive(find("roster_checks_total", &[("decision", "allowed")]));
    histogram(find("roster_check_duration_seconds", &[("kind", "single")]));
    positive(find(
        "roster_sign_ins_total",
        &[("method", "password"), ("outcome", "success")],
    ));
    positive(find(
        "roster_sign_ins_total",
        &[("method", "password"), ("outcome", "invalid_credentials")],
    ));
    positive(find(
        "roster_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
    ));
    find("roster_outbox_waiting", &[]);
    find("roster_outbox_undeliverable", &[]);
    find("roster_outbox_oldest_waiting_age_seconds", &[]);
    find("roster_outbox_sent_total", &[]);
    find("roster_revision_watch_last_success_timestamp_seconds", &[]);
    #[cfg(target_os = "linux")]
    positive(find("process_resident_memory_bytes", &[]));
}

/// The real binary logs one access line per request at info (method,
/// matched route, status, duration, request id), never a token from the
/// path, and no ANSI colour when stderr is not a terminal; with
/// ROSTER_METRICS=false there is no /metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_has_one_plain_line_per_request_and_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"), &[("ROSTER_METRICS", "false")]);
    let http = reqwest::Client::new();
    let res = http
        .get(format!(
            "{}/invite/rsi_secret-token-in-the-path",
            server.url
        ))
        .header("x-request-id", "req-access-log-1")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let res = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let mut line = None;
    for _ in 0..100 {
        line = server
            .log()
            .into_iter()
            .find(|l| l.contains("roster::access") && l.contains("req-access-log-1"));
        if line.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let line = line.expect("an access log line");
    for part in [
        "INFO",
        "method=GET",
        "route=/invite/{token}",
        "status=",
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    let log = server.log();
    assert!(
        log.iter().all(|l| !l.contains("secret-token-in-the-path")),
        "{log:?}"
    );
    assert!(log.iter().all(|l| !l.contains('\u{1b}')), "{log:?}");
    assert!(server.stop());
}

/// SIGTERM with a request whose body never comes and a mail delivery
/// hanging: the process stops after the drain deadline rather than waiting
/// for the slow client, the outbox worker finishes its delivery in flight,
/// and the messages it had claimed but not tried are released at once
/// (not left claimed until the lease runs out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_with_a_deadline_and_releases_outbox_claims() {
    use crate::smtp::SmtpSink;
    use std::io::Write;
    let sink = SmtpSink::start_stalling(1).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let smtp = sink.url();
    let server = start(
        &data,
        &[
            ("ROSTER_DRAIN_SECONDS", "1"),
            ("ROSTER_SMTP_URL", smtp.as_str()),
        ],
    );
    let owner = sign_in(&server.url, OWNER_EMAIL, OWNER_PASSWORD).await;
    owner
        .create_invitations(
            ORG,
            &roster_proto::CreateInvitationsRequest {
                emails: Some("a@x.test, b@x.test, c@x.test".into()),
                role: Some("viewer".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sink.stalls_left() > 0 {
        assert!(std::time::Instant::now() < deadline, "no delivery started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A slow client: a request whose body never finishes.
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"email\"",
    )
    .unwrap();
    assert!(ready(&server.url), "the server answers others meanwhile");

    let log = server.log.clone();
    assert!(server.stop(), "a clean exit after the deadline");
    drop(slow);
    let log = log.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|l| l.contains("outlived the drain deadline")),
        "{log:?}"
    );

    use sqlx::Connection;
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("roster.db").display()))
            .await
            .unwrap();
    let (undelivered, claimed): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN claimed_until IS NOT NULL THEN 1 ELSE 0 END), 0)
         FROM outbox WHERE sent_at IS NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(undelivered >= 2, "{undelivered}");
    assert_eq!(claimed, 0, "claims are released at shutdown");
}

/// A server like [`spawn_app`]'s with `settings` applied to its
/// configuration.
async fn spawn_configured(
    engine: Engine,
    settings: impl FnOnce(&mut roster_server::ConfigLayer),
) -> (String, TestDatabase, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(engine, dir.path()).await;
    let mut layer = roster_server::ConfigLayer {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        database_url: Some(db.url.clone()),
        secret_key: Some(roster_server::Secret::new("11".repeat(32))),
        max_connections: Some(8),
        bootstrap_org: Some(ORG.into()),
        bootstrap_owner_email: Some(OWNER_EMAIL.into()),
        bootstrap_owner_password: Some(roster_server::Secret::new(OWNER_PASSWORD)),
        ..Default::default()
    };
    settings(&mut layer);
    let config = roster_server::Config::resolve(layer).unwrap();
    let app = roster_server::Application::build(config).await.unwrap();
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    (base, db, dir)
}

fn new_org(slug: &str) -> roster_proto::CreateOrgRequest {
    roster_proto::CreateOrgRequest {
        slug: slug.into(),
        name: slug.into(),
    }
}

/// Signs `email` up to acme (which takes sign-ups from acme.test), confirms
/// the sign-up with the link mailed to the address (the server in `dir`
/// writes mail to its mail log) and signs them in: a person whose sign-up
/// is under review.
async fn applicant(base: &str, dir: &std::path::Path, owner: &Api, email: &str) -> Api {
    owner
        .update_org(
            ORG,
            &roster_proto::UpdateOrgRequest {
                self_registration: Some(true),
                allowed_domains: Some(vec!["acme.test".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Api::new(base, None)
        .signup(&roster_proto::SignupRequest {
            org: ORG.into(),
            email: email.into(),
            name: "Applicant".into(),
            password: "applicant-password-1".into(),
        })
        .await
        .unwrap();
    let mut token = None;
    for _ in 0..300 {
        let log = std::fs::read_to_string(dir.join("mail.log")).unwrap_or_default();
        token = log
            .split("----- message ")
            .filter(|m| m.contains(&format!("To: {email}\n")))
            .flat_map(|m| m.split_whitespace())
            .find_map(|w| w.split("/signup/confirm/").nth(1))
            .map(str::to_owned);
        if token.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = token.expect("a confirmation link in the mail log");
    Api::new(base, None)
        .confirm_signup(&roster_proto::SignupConfirmRequest { token })
        .await
        .unwrap();
    sign_in(base, email, "applicant-password-1").await
}

both_engines!(who_may_create_orgs_is_an_instance_setting);

/// `verified` (the default): a sign-up under review may not create orgs,
/// a member an admin added may; `admins`: only owners and admins of an org;
/// `anyone`: every signed-in person. A bad value stops the start.
async fn who_may_create_orgs_is_an_instance_setting(engine: Engine) {
    // verified
    let (base, _db, dir) = spawn_configured(engine, |_| {}).await;
    let owner = sign_in(&base, OWNER_EMAIL, OWNER_PASSWORD).await;
    owner.create_org(&new_org("beta")).await.unwrap();
    let waiting = applicant(&base, dir.path(), &owner, "waiting@acme.test").await;
    let refused = waiting
        .create_org(&new_org("mine"))
        .await
        .refused(403, "forbidden");
    assert!(
        refused.detail.unwrap_or_default().contains("approved"),
        "the answer says why"
    );
    let (_, viewer) = member_of(&base, &owner, "viewer@acme.test", "viewer").await;
    viewer.create_org(&new_org("viewers")).await.unwrap();

    // admins
    let (base, _db2, _dir2) = spawn_configured(engine, |l| {
        l.org_creation = Some("admins".into());
    })
    .await;
    let owner = sign_in(&base, OWNER_EMAIL, OWNER_PASSWORD).await;
    owner.create_org(&new_org("gamma")).await.unwrap();
    let (_, viewer) = member_of(&base, &owner, "viewer@acme.test", "viewer").await;
    viewer
        .create_org(&new_org("viewers"))
        .await
        .refused(403, "forbidden");
    let (_, admin) = member_of(&base, &owner, "admin@acme.test", "admin").await;
    admin.create_org(&new_org("admins")).await.unwrap();

    // anyone
    let (base, _db3, dir3) = spawn_configured(engine, |l| {
        l.org_creation = Some("anyone".into());
    })
    .await;
    let owner = sign_in(&base, OWNER_EMAIL, OWNER_PASSWORD).await;
    let waiting = applicant(&base, dir3.path(), &owner, "waiting@acme.test").await;
    waiting.create_org(&new_org("mine")).await.unwrap();

    let bad = roster_server::Config::resolve(roster_server::ConfigLayer {
        org_creation: Some("everyone".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(bad.to_string().contains("org_creation"), "{bad}");
}

/// Adds a member to acme and signs them in with a password of their own.
async fn member_of(base: &str, owner: &Api, email: &str, role: &str) -> (i64, Api) {
    let created = owner
        .create_member(ORG, &new_member(email, role))
        .await
        .unwrap();
    let temp = created.temporary_password.unwrap();
    let api = sign_in(base, email, &temp).await;
    api.change_password(&roster_proto::ChangePasswordRequest {
        current_password: temp,
        new_password: format!("{email}-pw-123"),
    })
    .await
    .unwrap();
    (created.user.id.unwrap(), api)
}

/// The example configuration file the packaging ships is one the server
/// reads: every key known, every value accepted.
#[test]
fn the_example_configuration_file_is_valid() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/roster.toml.example");
    let layer = roster_server::ConfigLayer::from_file(&path).unwrap();
    let config = roster_server::Config::resolve(layer).unwrap();
    assert_eq!(
        config.org_creation,
        roster_server::app::OrgCreation::Verified
    );
    assert_eq!(config.drain_seconds, 30);
}

/// `roster completions bash|zsh|fish` prints a completion script for that
/// shell; `roster whoami` names the signed-in account, server and org.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_whoami_work_from_the_real_binary() {
    for (shell, marker) in [
        ("bash", "complete -F _roster"),
        ("zsh", "#compdef roster"),
        ("fish", "complete -c roster"),
    ] {
        let out = succeeded(&roster_local(&["completions", shell], &[]));
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(out.contains("whoami") && out.contains("backup"), "{shell}");
    }
    let usage = std::process::Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "a usage error");

    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"), &[]);
    let cli = dir.path().join("cli");
    let env = [
        ("ROSTER_CONFIG_DIR", cli.to_str().unwrap()),
        ("ROSTER_SERVER", server.url.as_str()),
    ];
    let mut login = std::process::Command::new(BIN);
    login
        .args(["login", "--email", OWNER_EMAIL, "--password-stdin"])
        .envs(env)
        .env_remove("ROSTER_ORG")
        .env_remove("ROSTER_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = login.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{OWNER_PASSWORD}\n").as_bytes())
        .unwrap();
    succeeded(&child.wait_with_output().unwrap());
    let out = succeeded(&roster_local(&["whoami"], &env));
    assert!(out.contains(OWNER_EMAIL), "{out}");
    assert!(out.contains(&server.url), "{out}");
    assert!(
        out.contains(&format!("Current organization: {ORG}")),
        "{out}"
    );
    let json = succeeded(&roster_local(&["whoami", "--output", "json"], &env));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["user"]["email"], OWNER_EMAIL);
    assert!(server.stop());
}
