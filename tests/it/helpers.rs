//! Test helpers: a real server on a free port with a fresh database per
//! test, on SQLite or PostgreSQL; [`Api`], the typed client the behaviour
//! tests drive it with, and typed helpers built on it; and raw requests for
//! the tests about malformed input, headers, cookies and content types.

use reqwest::{Method, StatusCode};
use roster_client::{AuditQuery, Client, ClientError, MemberQuery};
use roster_proto::{
    AuditEventView, ChangePasswordRequest, CreateMemberRequest, LoginRequest, LoginResponse,
    MemberPage, Problem,
};
use roster_server::app::{ManualClock, SystemClock};
use roster_server::{Application, Config, ConfigLayer, Secret};
use serde_json::Value;
use std::fmt::Debug;
use std::io::{BufRead, BufReader, Write};
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
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

/// Starts a server whose use cases read `clock`, with org `acme` owned by
/// `owner@acme.test`: a test moves the clock to reach an expiry.
pub async fn spawn_with_clock(engine: Engine, clock: ManualClock) -> TestApp {
    let opts = Spawn {
        bootstrap: true,
        smtp_url: None,
    };
    spawn_on(engine, opts, std::sync::Arc::new(clock), |_| {}).await
}

/// [`spawn_with`] on a clock the test moves.
pub async fn spawn_with_and_clock(engine: Engine, opts: Spawn, clock: ManualClock) -> TestApp {
    spawn_on(engine, opts, std::sync::Arc::new(clock), |_| {}).await
}

pub async fn spawn_with(engine: Engine, opts: Spawn) -> TestApp {
    spawn_on(engine, opts, std::sync::Arc::new(SystemClock), |_| {}).await
}

/// Starts a server (as [`spawn_with_clock`]) behind a reverse proxy on
/// loopback that it trusts (`ROSTER_TRUSTED_PROXIES=127.0.0.1/32`): a test
/// names the client with `X-Forwarded-For`.
pub async fn spawn_behind_proxy(engine: Engine, clock: ManualClock) -> TestApp {
    let opts = Spawn {
        bootstrap: true,
        smtp_url: None,
    };
    spawn_on(engine, opts, std::sync::Arc::new(clock), |l| {
        l.trusted_proxies = Some("127.0.0.1/32".into())
    })
    .await
}

async fn spawn_on(
    engine: Engine,
    opts: Spawn,
    clock: std::sync::Arc<dyn roster_server::app::Clock>,
    tweak: impl FnOnce(&mut ConfigLayer),
) -> TestApp {
    spawn_tweaked(engine, opts, clock, tweak).await
}

/// Starts a server (org `acme` owned by `owner@acme.test`) that may call
/// loopback and private addresses (`ROSTER_WEBHOOKS_ALLOW_PRIVATE`), for
/// webhook receivers in the test, with the clock `clock`.
pub async fn spawn_allowing_private(
    engine: Engine,
    clock: std::sync::Arc<dyn roster_server::app::Clock>,
) -> TestApp {
    let opts = Spawn {
        bootstrap: true,
        smtp_url: None,
    };
    spawn_tweaked(engine, opts, clock, |l| {
        l.webhooks_allow_private = Some(true)
    })
    .await
}

/// Starts a server (org `acme` owned by `owner@acme.test`) whose outbound
/// calls an org admin configures (Slack's API base, webhooks) may reach
/// loopback (`ROSTER_OUTBOUND_ALLOW_PRIVATE`), for fakes in the test.
pub async fn spawn_outbound_open(engine: Engine) -> TestApp {
    let opts = Spawn {
        bootstrap: true,
        smtp_url: None,
    };
    spawn_tweaked(engine, opts, std::sync::Arc::new(SystemClock), |l| {
        l.outbound_allow_private = Some(true)
    })
    .await
}

async fn spawn_tweaked(
    engine: Engine,
    opts: Spawn,
    clock: std::sync::Arc<dyn roster_server::app::Clock>,
    tweak: impl FnOnce(&mut ConfigLayer),
) -> TestApp {
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
    tweak(&mut layer);
    let config = Config::resolve(layer).expect("config");
    let application = Application::build_with_clock(config, clock)
        .await
        .expect("server starts");
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

impl TestApp {
    /// A second server on this one's database, as a process started now
    /// would be: no index, no cache. Returns it and its base URL.
    pub async fn second_server(&self) -> (roster_server::app::App, String) {
        let dir = self.data_dir.join("second");
        std::fs::create_dir_all(&dir).expect("data dir");
        let config = Config::resolve(ConfigLayer {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir),
            database_url: Some(self._db.url.clone()),
            secret_key: Some(Secret::new("11".repeat(32))),
            max_connections: Some(8),
            ..Default::default()
        })
        .expect("config");
        let application = Application::build(config).await.expect("server starts");
        let base = format!("http://{}", application.addr());
        let app = application.app().clone();
        tokio::spawn(application.run_until_stopped(std::future::pending()));
        (app, base)
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

/// The `User-Agent` of test clients. It is not `roster-cli/`, so the server
/// files their changes under the audit channel `api`, as it does any API
/// client's.
pub const TEST_AGENT: &str = "roster-tests/1";

/// A typed client of a test server, signed in or not: derefs to
/// [`roster_client::Client`]. It checks that every error answer is a problem
/// document and remembers the status of its last answer, which a typed call
/// does not return.
#[derive(Clone)]
pub struct Api {
    client: Client,
    token: Option<String>,
    last_status: Arc<Mutex<Option<u16>>>,
}

impl Deref for Api {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Api {
    /// A client of the server at `base`, sending `token` if any.
    pub fn new(base: &str, token: Option<&str>) -> Api {
        let last_status = Arc::new(Mutex::new(None));
        let seen = last_status.clone();
        let client = Client::builder(base)
            .user_agent(TEST_AGENT)
            .inspect_responses(move |res| {
                let status = res.status();
                if !status.is_success() {
                    let content_type = res
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    assert_eq!(
                        content_type,
                        "application/problem+json",
                        "errors are problem documents: {status} from {}",
                        res.url()
                    );
                }
                *seen.lock().unwrap() = Some(status.as_u16());
            })
            .build()
            .expect("client");
        let client = match token {
            Some(token) => client.with_token(token),
            None => client,
        };
        Api {
            client,
            token: token.map(str::to_owned),
            last_status,
        }
    }

    /// The session token this client sends.
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("a signed-in client")
    }

    /// Asserts the status of the last answer: which success a typed call
    /// got (`201`, `204`...).
    #[track_caller]
    pub fn answered(&self, status: u16) {
        assert_eq!(*self.last_status.lock().unwrap(), Some(status));
    }
}

/// A call's result that should be a refusal.
pub trait Refused {
    /// Asserts that the server refused the call with `status` and problem
    /// `code` (the client has checked that it came as problem+json), and
    /// returns the problem.
    fn refused(self, status: u16, code: &str) -> Problem;
}

impl<T: Debug> Refused for Result<T, ClientError> {
    #[track_caller]
    fn refused(self, status: u16, code: &str) -> Problem {
        match self {
            Err(ClientError::Api {
                status: got,
                problem,
            }) => {
                assert_eq!(
                    (got, problem.code.as_str()),
                    (status, code),
                    "unexpected answer: {problem:?}"
                );
                problem
            }
            other => panic!("expected {status} {code}, got {other:?}"),
        }
    }
}

/// What names a session token in a raw request: a token or a signed-in
/// client.
pub trait Bearer {
    fn bearer(&self) -> &str;
}

impl Bearer for str {
    fn bearer(&self) -> &str {
        self
    }
}

impl Bearer for String {
    fn bearer(&self) -> &str {
        self
    }
}

impl Bearer for Api {
    fn bearer(&self) -> &str {
        self.token()
    }
}

/// The `name=value&...` pairs of a query string, percent-decoded.
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// The team-list query written as a query string (`role=admin&limit=2`).
pub fn members(query: &str) -> MemberQuery {
    let mut q = MemberQuery::default();
    for (name, value) in query_pairs(query) {
        let filter = match name.as_str() {
            "role" => &mut q.role,
            "name" => &mut q.name,
            "email" => &mut q.email,
            "status" => &mut q.status,
            "team" => &mut q.team,
            "group" => &mut q.group,
            "identity_provider" => &mut q.identity_provider,
            "mfa" => &mut q.mfa,
            "cursor" => &mut q.cursor,
            "limit" => {
                q.limit = Some(value.parse().expect("a limit"));
                continue;
            }
            other => panic!("the team list has no filter {other}"),
        };
        *filter = Some(value);
    }
    q
}

/// The audit-log query written as a query string (`action=member.create`).
pub fn audit_query(query: &str) -> AuditQuery {
    let mut q = AuditQuery::default();
    for (name, value) in query_pairs(query) {
        let filter = match name.as_str() {
            "actor" => &mut q.actor,
            "action" => &mut q.action,
            "target" => &mut q.target,
            "since" => &mut q.since,
            "until" => &mut q.until,
            "cursor" => &mut q.cursor,
            "limit" => {
                q.limit = Some(value.parse().expect("a limit"));
                continue;
            }
            other => panic!("the audit log has no filter {other}"),
        };
        *filter = Some(value);
    }
    q
}

/// The request body that adds `email` with `role`.
pub fn new_member(email: &str, role: &str) -> CreateMemberRequest {
    CreateMemberRequest {
        email: email.into(),
        role: Some(role.into()),
        ..Default::default()
    }
}

impl TestApp {
    /// What `GET /metrics` answers now (Prometheus text).
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The URL of the test's database, as the server was given it.
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    /// A client of this server, signed in as nobody.
    pub fn client(&self) -> Api {
        Api::new(&self.base, None)
    }

    /// A client of this server sending `token`.
    pub fn client_as(&self, token: &str) -> Api {
        Api::new(&self.base, Some(token))
    }

    /// Signs in: the server's answer, or its refusal.
    pub async fn login_res(
        &self,
        email: &str,
        password: &str,
    ) -> Result<LoginResponse, ClientError> {
        self.client()
            .login(&LoginRequest {
                email: email.into(),
                password: password.into(),
                totp_code: None,
                recovery_code: None,
                passkey: None,
            })
            .await
    }

    /// Every message to `recipient`, newest first, with its words: a message
    /// still waiting is unsealed from the outbox; a delivered one has no
    /// body left there (delivery drops it), so its words come from the mail
    /// log it was delivered to.
    pub async fn mail_to(&self, recipient: &str) -> Vec<roster_store::outbox::Message> {
        let mut mail = self.app.outbox_to(recipient).await.unwrap();
        if mail.iter().any(|m| m.body_text.is_empty()) {
            let log = std::fs::read_to_string(self.data_dir.join("mail.log")).unwrap_or_default();
            for m in mail.iter_mut().filter(|m| m.body_text.is_empty()) {
                let head = format!("{} at ", m.id);
                m.body_text = log
                    .split("----- message ")
                    .find(|entry| entry.starts_with(&head))
                    .and_then(|entry| entry.split_once("\n\n"))
                    .map(|(_, body)| body.trim_end().to_owned())
                    .unwrap_or_default();
            }
        }
        mail
    }

    /// Signs in and returns the signed-in client.
    /// Confirms `email`'s newest sign-up with the token of the link in the
    /// message waiting in the outbox (for tests that run without SMTP).
    pub async fn confirm_signup_from_outbox(&self, email: &str) {
        let mail = self.mail_to(email).await;
        let text = &mail
            .iter()
            .rev()
            .find(|m| m.kind == "signup_confirm")
            .unwrap_or_else(|| panic!("no sign-up confirmation for {email}"))
            .body_text;
        let token = text
            .split_whitespace()
            .find_map(|w| w.split("/signup/confirm/").nth(1))
            .expect("a link")
            .to_owned();
        self.client()
            .confirm_signup(&roster_proto::SignupConfirmRequest { token })
            .await
            .unwrap();
    }

    pub async fn login(&self, email: &str, password: &str) -> Api {
        let res = self.login_res(email, password).await.expect("sign-in");
        self.client_as(&res.token)
    }

    /// The owner of `acme`, signed in.
    pub async fn owner(&self) -> Api {
        self.login(OWNER_EMAIL, OWNER_PASSWORD).await
    }

    /// Adds a member with `role` to `org` and returns (user id, their
    /// signed-in client). The temporary password is changed to
    /// `{email}-pw-123` so the session is fully usable.
    pub async fn member(&self, org: &str, by: &Api, email: &str, role: &str) -> (i64, Api) {
        let created = by
            .create_member(org, &new_member(email, role))
            .await
            .expect("member added");
        let id = created.user.id.expect("id");
        let password = format!("{email}-pw-123");
        let api = match created.temporary_password {
            Some(temp) => {
                let api = self.login(email, &temp).await;
                api.change_password(&ChangePasswordRequest {
                    current_password: temp,
                    new_password: password,
                })
                .await
                .expect("password changed");
                api
            }
            None => self.login(email, &password).await,
        };
        (id, api)
    }

    /// One page of `org`'s team list as `by` sees it; `query` is written as
    /// a query string (see [`members`]).
    pub async fn users(&self, org: &str, by: &Api, query: &str) -> MemberPage {
        by.list_members(org, &members(query))
            .await
            .expect("team list")
    }

    /// One page of `org`'s audit log as `by` sees it; `query` is written as
    /// a query string (see [`audit_query`]).
    pub async fn audit(&self, org: &str, by: &Api, query: &str) -> Vec<AuditEventView> {
        by.audit(org, &audit_query(query))
            .await
            .expect("audit log")
            .items
    }

    /// A raw request, for what the typed client cannot express: malformed
    /// bodies, headers, cookies, content types.
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

    pub async fn get(&self, path: &str, token: &(impl Bearer + ?Sized)) -> Res {
        self.send(Method::GET, path, Some(token.bearer()), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &(impl Bearer + ?Sized), body: Value) -> Res {
        self.send(Method::POST, path, Some(token.bearer()), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &(impl Bearer + ?Sized)) -> Res {
        self.send(Method::DELETE, path, Some(token.bearer()), None)
            .await
    }
}

/// A wire value as JSON, to compare values the wire types do not compare.
pub fn as_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("JSON")
}

/// The emails of a team-list page, in order.
pub fn emails(page: &MemberPage) -> Vec<String> {
    page.items.iter().map(|m| m.email.clone()).collect()
}

/// Several servers on one fresh PostgreSQL database, as replicas behind a
/// load balancer would be. The first one seeds `acme` and its owner.
pub struct Replicas {
    pub bases: Vec<String>,
    /// Each replica's application, for what only the process can tell
    /// (its counters).
    pub apps: Vec<roster_server::app::App>,
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
    spawn_replicas_with(n, |config| {
        config.smtp_url = smtp_url.clone().map(Secret::new)
    })
    .await
}

/// [`spawn_replicas`] with each replica's configuration changed by `tweak`.
pub async fn spawn_replicas_with(n: usize, tweak: impl Fn(&mut Config)) -> Replicas {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let (mut bases, mut apps) = (Vec::new(), Vec::new());
    for i in 0..n {
        let mut config = replica_config(&db.url, &dir.path().join(format!("replica-{i}")));
        tweak(&mut config);
        let app = Application::build(config).await.expect("replica starts");
        bases.push(format!("http://{}", app.addr()));
        apps.push(app.app().clone());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
    }
    Replicas {
        bases,
        apps,
        _db: db,
        _dir: dir,
    }
}

impl Replicas {
    /// A client of replica `replica`, sending `token` if any.
    pub fn client(&self, replica: usize, token: Option<&str>) -> Api {
        Api::new(&self.bases[replica], token)
    }

    /// Signs in through replica `replica`: the answer, or its refusal.
    pub async fn login_res(
        &self,
        replica: usize,
        email: &str,
        password: &str,
    ) -> Result<LoginResponse, ClientError> {
        self.client(replica, None)
            .login(&LoginRequest {
                email: email.into(),
                password: password.into(),
                totp_code: None,
                recovery_code: None,
                passkey: None,
            })
            .await
    }

    /// Signs in through replica `replica`; returns the sign-in's answer and
    /// a client of that replica holding its token.
    pub async fn login(&self, replica: usize, email: &str, password: &str) -> (LoginResponse, Api) {
        let res = self
            .login_res(replica, email, password)
            .await
            .expect("sign-in");
        let api = self.client(replica, Some(&res.token));
        (res, api)
    }

    /// Creates a member through replica `via` (as `owner`, signed in on
    /// it), signs them in through replica `login_via` and replaces the
    /// temporary password; returns (user id, their client of `login_via`).
    pub async fn member(
        &self,
        via: usize,
        owner: &str,
        email: &str,
        role: &str,
        login_via: usize,
    ) -> (i64, Api) {
        let created = self
            .client(via, Some(owner))
            .create_member(ORG, &new_member(email, role))
            .await
            .expect("member added");
        let id = created.user.id.expect("id");
        let temp = created.temporary_password.expect("temporary password");
        let (_, api) = self.login(login_via, email, &temp).await;
        api.change_password(&ChangePasswordRequest {
            current_password: temp,
            new_password: format!("{email}-pw-123"),
        })
        .await
        .expect("password changed");
        api.answered(204);
        (id, api)
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

/// Runs `roster ARGS` against the server at `url` with the config dir
/// `config`, `stdin` on its standard input, and, when given, `token` as
/// `ROSTER_TOKEN` (otherwise none from the environment).
pub fn run_cli(
    url: &str,
    config: &std::path::Path,
    token: Option<&str>,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("ROSTER_SERVER", url)
        .env("ROSTER_CONFIG_DIR", config)
        .env_remove("ROSTER_ORG");
    match token {
        Some(t) => cmd.env("ROSTER_TOKEN", t),
        None => cmd.env_remove("ROSTER_TOKEN"),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A `roster serve` child process, killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// Everything the server wrote to stderr so far, line by line.
    log: Arc<Mutex<Vec<String>>>,
    /// Everything the server printed on stdout so far (a temporary
    /// password, a setup link), line by line.
    printed: Arc<Mutex<Vec<String>>>,
    data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Where the server writes mail when no SMTP server is configured.
    pub fn mail_log(&self) -> PathBuf {
        self.data_dir.join("mail.log")
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// What the server printed on stdout so far.
    pub fn printed(&self) -> String {
        self.printed.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve() -> Server {
    serve_with(&[])
}

/// [`serve`] with more environment (which may override `RUST_LOG`).
pub fn serve_with(env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    // A data directory the server creates itself, inside the temporary one.
    let data = dir.path().join("data");
    let mut server = serve_in(&data, env);
    server._dir = Some(dir);
    server
}

/// Starts the real binary on `data_dir` (which the caller keeps). An
/// empty value in `env` unsets that variable.
pub fn serve_in(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("ROSTER_BOOTSTRAP_ORG", "dunder")
        .env("ROSTER_BOOTSTRAP_OWNER_EMAIL", "boss@dundermifflin.com")
        .env("ROSTER_BOOTSTRAP_OWNER_PASSWORD", "boss-password-1")
        .env("RUST_LOG", "info");
    for (name, value) in env {
        match value.is_empty() {
            true => command.env_remove(name),
            false => command.env(name, value),
        };
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = Arc::new(Mutex::new(Vec::new()));
    let out_sink = printed.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            out_sink.lock().unwrap().push(line);
        }
    });
    // The first log line names the address that port 0 picked.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in the first log line: {first}"))
        .to_owned();
    let log = Arc::new(Mutex::new(vec![first]));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.by_ref().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
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
        log,
        printed,
        data_dir: data_dir.to_owned(),
        _dir: None,
    }
}

/// Signs in to the server at `base` and returns the signed-in client.
pub async fn login_to(base: &str, email: &str, password: &str) -> Api {
    let res = Api::new(base, None)
        .login(&LoginRequest {
            email: email.into(),
            password: password.into(),
            totp_code: None,
            recovery_code: None,
            passkey: None,
        })
        .await
        .expect("sign-in");
    Api::new(base, Some(&res.token))
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

/// The path of a third-party tester from PyPI (the OpenID provider, the SCIM
/// conformance testers), installed by `.ci/pytools` into one pinned
/// virtualenv. The first test that needs one installs them all (under a lock),
/// so `cargo test` works on a fresh machine with python3 and network access.
pub fn pytool(name: &str) -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = std::process::Command::new(root.join(".ci/pytools"))
            .output()
            .expect("run .ci/pytools");
        assert!(
            out.status.success(),
            "installing the Python testers failed (.ci/pytools; needs python3 with venv):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    });
    let tool = bin.join(name);
    assert!(tool.exists(), "{} is not in {}", name, bin.display());
    tool
}

/// A resource registered as a root: no parent, group or review policy.
pub fn root_resource(key: &str) -> roster_proto::ResourceRequest {
    roster_proto::ResourceRequest {
        key: key.into(),
        parent: None,
        groups: Vec::new(),
        review: None,
    }
}
