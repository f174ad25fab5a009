//! Test helpers: a real server on a free port with a fresh database per
//! test, on SQLite or PostgreSQL, and small typed request helpers.

use reqwest::{Method, StatusCode};
use roster_server::{Application, Config, ConfigLayer, Secret};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per engine: `both_engines!(name, ...)`
/// makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Engine::Postgres).await
            }
        }
    )*};
}

pub const OWNER_EMAIL: &str = "owner@acme.test";
pub const OWNER_PASSWORD: &str = "owner-password-1";
pub const ORG: &str = "acme";

/// The PostgreSQL server tests use; `ROSTER_TEST_POSTGRES_URL` overrides.
pub fn postgres_admin_url() -> String {
    std::env::var("ROSTER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database created for one test and dropped after it.
pub struct TestDatabase {
    pub url: String,
    name: Option<String>,
}

impl TestDatabase {
    pub async fn create(engine: Engine, dir: &std::path::Path) -> TestDatabase {
        match engine {
            Engine::Sqlite => TestDatabase {
                url: format!("sqlite://{}", dir.join("roster.db").display()),
                name: None,
            },
            Engine::Postgres => {
                use sqlx::Connection;
                let name = format!("roster_test_{}", uuid_like());
                let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
                    .await
                    .expect("PostgreSQL must run at 127.0.0.1:5432 (see README)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = postgres_admin_url();
                let url = match base.rsplit_once('/') {
                    Some((head, _)) => format!("{head}/{name}"),
                    None => base,
                };
                TestDatabase {
                    url,
                    name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            // Best effort, on a thread of its own: Drop cannot be async.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async move {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
                        .await
                        .ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
    pub app: roster_server::app::App,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

/// Options for [`spawn_with`].
pub struct Spawn {
    pub bootstrap: bool,
    pub smtp_url: Option<String>,
}

/// Starts a server with org `acme` owned by `owner@acme.test`.
pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_with(
        engine,
        Spawn {
            bootstrap: true,
            smtp_url: None,
        },
    )
    .await
}

pub async fn spawn_with(engine: Engine, opts: Spawn) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDatabase::create(engine, dir.path()).await;
    let mut layer = ConfigLayer {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        database_url: Some(db.url.clone()),
        secret_key: Some(Secret::new("11".repeat(32))),
        max_connections: Some(8),
        ..Default::default()
    };
    layer.smtp_url = opts.smtp_url.map(Secret::new);
    layer.smtp_from = Some("Roster <roster@acme.test>".into());
    if opts.bootstrap {
        layer.bootstrap_org = Some(ORG.into());
        layer.bootstrap_owner_email = Some(OWNER_EMAIL.into());
        layer.bootstrap_owner_password = Some(Secret::new(OWNER_PASSWORD));
    }
    let config = Config::resolve(layer).expect("config");
    let application = Application::build(config).await.expect("server starts");
    let base = format!("http://{}", application.addr());
    let app = application.app().clone();
    tokio::spawn(application.run_until_stopped(std::future::pending()));
    TestApp {
        base,
        http: reqwest::Client::new(),
        data_dir: dir.path().to_owned(),
        app,
        _db: db,
        _dir: dir,
    }
}

/// A response: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Res {
    /// The problem code of an error response.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn expect(self, status: u16, code: &str) -> Self {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {}",
            self.body
        );
        if !self.status.is_success() {
            let ct = self
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert_eq!(
                ct, "application/problem+json",
                "errors are problem documents"
            );
        }
        self
    }
}

impl TestApp {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Res {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Res {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Res {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Res {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    pub async fn login_res(&self, email: &str, password: &str) -> Res {
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Signs in and returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = self.login_res(email, password).await.ok();
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn owner(&self) -> String {
        self.login(OWNER_EMAIL, OWNER_PASSWORD).await
    }

    /// Adds a member with `role` to `org` and returns (user id, token). The
    /// temporary password is changed so the token is fully usable.
    pub async fn member(&self, org: &str, by: &str, email: &str, role: &str) -> (i64, String) {
        let created = self
            .post(
                &format!("/api/v1/orgs/{org}/users"),
                by,
                json!({"email": email, "role": role}),
            )
            .await
            .ok();
        let id = created["user"]["id"].as_i64().expect("id");
        let token = match created["temporary_password"].as_str() {
            Some(temp) => {
                let t = self.login(email, temp).await;
                self.post(
                    "/api/v1/me/password",
                    &t,
                    json!({"current_password": temp, "new_password": format!("{email}-pw-123")}),
                )
                .await
                .ok();
                t
            }
            None => self.login(email, &format!("{email}-pw-123")).await,
        };
        (id, token)
    }

    pub async fn users(&self, org: &str, token: &str, query: &str) -> Value {
        self.get(&format!("/api/v1/orgs/{org}/users?{query}"), token)
            .await
            .ok()
    }

    pub async fn audit(&self, org: &str, token: &str, query: &str) -> Vec<Value> {
        let page = self
            .get(&format!("/api/v1/orgs/{org}/audit?{query}"), token)
            .await
            .ok();
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

/// The emails of a team-list page, in order.
pub fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["email"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Several servers on one fresh PostgreSQL database, as replicas behind a
/// load balancer would be. The first one seeds `acme` and its owner.
pub struct Replicas {
    pub bases: Vec<String>,
    pub http: reqwest::Client,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

/// The configuration of one replica on the database at `url`, seeding
/// `acme` and its owner when the database is empty.
pub fn replica_config(url: &str, data_dir: &std::path::Path) -> Config {
    Config::resolve(ConfigLayer {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.to_owned()),
        database_url: Some(url.to_owned()),
        secret_key: Some(Secret::new("22".repeat(32))),
        max_connections: Some(8),
        bootstrap_org: Some(ORG.into()),
        bootstrap_owner_email: Some(OWNER_EMAIL.into()),
        bootstrap_owner_password: Some(Secret::new(OWNER_PASSWORD)),
        ..Default::default()
    })
    .expect("config")
}

pub async fn spawn_replicas(n: usize, smtp_url: Option<String>) -> Replicas {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let mut bases = Vec::new();
    for i in 0..n {
        let mut config = replica_config(&db.url, &dir.path().join(format!("replica-{i}")));
        config.smtp_url = smtp_url.clone().map(Secret::new);
        let app = Application::build(config).await.expect("replica starts");
        bases.push(format!("http://{}", app.addr()));
        tokio::spawn(app.run_until_stopped(std::future::pending()));
    }
    Replicas {
        bases,
        http: reqwest::Client::new(),
        _db: db,
        _dir: dir,
    }
}

impl Replicas {
    /// Creates a member through replica `via`, signs them in through
    /// replica `login_via` and replaces the temporary password; returns
    /// (user id, token).
    pub async fn member(
        &self,
        via: usize,
        owner: &str,
        email: &str,
        role: &str,
        login_via: usize,
    ) -> (i64, String) {
        let created: Value = self
            .http
            .post(format!("{}/api/v1/orgs/{ORG}/users", self.bases[via]))
            .bearer_auth(owner)
            .json(&json!({"email": email, "role": role}))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let id = created["user"]["id"].as_i64().expect("id");
        let temp = created["temporary_password"]
            .as_str()
            .expect("temporary password");
        let login: Value = self
            .login_res(login_via, email, temp)
            .await
            .json()
            .await
            .expect("json");
        let token = login["token"].as_str().expect("token").to_owned();
        let res = self
            .http
            .post(format!("{}/api/v1/me/password", self.bases[login_via]))
            .bearer_auth(&token)
            .json(&json!({"current_password": temp, "new_password": format!("{email}-pw-123")}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 204);
        (id, token)
    }

    pub async fn login_res(
        &self,
        replica: usize,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/auth/login", self.bases[replica]))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request")
    }
}

/// A TCP proxy in front of PostgreSQL that a test can cut and restore.
pub struct Proxy {
    pub port: u16,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            tasks: Default::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let session = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(session.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    /// Drops every connection and stops listening.
    pub async fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    pub async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }
}

/// The real `roster` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_roster");

/// A `roster serve` child process, killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("ROSTER_BOOTSTRAP_ORG", "dunder")
        .env("ROSTER_BOOTSTRAP_OWNER_EMAIL", "boss@dundermifflin.com")
        .env("ROSTER_BOOTSTRAP_OWNER_PASSWORD", "boss-password-1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first log line names the address that port 0 picked.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in the first log line: {first}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ready(&url) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        child,
        url,
        _dir: dir,
    }
}

/// Whether `GET /readyz` answers 200, over a plain socket.
pub fn ready(url: &str) -> bool {
    use std::io::Read;
    let addr = url.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}
