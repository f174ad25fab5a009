//! Three real `roster serve` processes on one fresh PostgreSQL database,
//! as an operator runs replicas behind a load balancer (SPEC §5).

use crate::helpers::*;
use crate::smtp::SmtpSink;
use roster_client::AuditQuery;
use roster_proto::{
    AccessRuleRequest, ChangePasswordRequest, CheckRequest, CreateInvitationsRequest, InviteItem,
    LoginRequest, UpdateMemberRequest,
};
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

/// A client of replica `r`, sending `token` if any.
fn client(r: &Replica, token: Option<&str>) -> Api {
    Api::new(&r.base, token)
}

/// Signs in through replica `r`; returns the session token.
async fn login(r: &Replica, email: &str, password: &str) -> String {
    client(r, None)
        .login(&LoginRequest {
            email: email.into(),
            password: password.into(),
            totp_code: None,
            recovery_code: None,
            passkey: None,
        })
        .await
        .unwrap_or_else(|e| panic!("login: {e}"))
        .token
}

/// Adds `email` with `role` through `on` as `owner`, signs them in through
/// `login_on` and replaces the temporary password; returns (user id, their
/// session token).
async fn add_member(
    on: &Replica,
    owner: &str,
    email: &str,
    role: &str,
    login_on: &Replica,
) -> (i64, String) {
    let owner = client(on, Some(owner));
    let created = owner
        .create_member(ORG, &new_member(email, role))
        .await
        .unwrap();
    owner.answered(201);
    let id = created.user.id.unwrap();
    let temp = created.temporary_password.unwrap();
    let token = login(login_on, email, &temp).await;
    let member = client(login_on, Some(&token));
    member
        .change_password(&ChangePasswordRequest {
            current_password: temp,
            new_password: format!("{email}-password-1"),
        })
        .await
        .unwrap();
    member.answered(204);
    (id, token)
}

fn role(role: &str) -> UpdateMemberRequest {
    UpdateMemberRequest {
        role: Some(role.into()),
        ..Default::default()
    }
}

/// A rule revoked, a member demoted and a member removed through one
/// process are enforced by the other two within one second: the delay is
/// measured and only the bound is asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_process_are_enforced_by_the_others_within_a_second() {
    let (r, _http, _db, _dir) = three(None).await;
    let owner = login(&r[0], OWNER_EMAIL, OWNER_PASSWORD).await;
    let owner_on = |i: usize| client(&r[i], Some(&owner));
    let (dwight, token) = add_member(&r[0], &owner, "dwight@acme.test", "viewer", &r[1]).await;
    let dwight_on = |i: usize| client(&r[i], Some(&token));
    owner_on(0)
        .create_resource(ORG, &root_resource("clusters/eu-1"))
        .await
        .unwrap();
    let on_0 = owner_on(0);
    let rule = on_0
        .grant_access(
            ORG,
            &AccessRuleRequest {
                user: Some("dwight@acme.test".into()),
                group: None,
                role: "contributor".into(),
                resource: Some("clusters/eu-1".into()),
            },
        )
        .await
        .unwrap()
        .rule;
    on_0.answered(201);

    // Replicas 1 and 2 load the org: the rule allows.
    let question = CheckRequest {
        user: "dwight@acme.test".into(),
        action: "clusters:update".into(),
        resource: Some("clusters/eu-1".into()),
    };
    for i in [1, 2] {
        let d = owner_on(i).check(ORG, &question).await.unwrap();
        assert!(d.allowed, "{d:?}");
    }
    // Revoke on 0; time until both others deny.
    let revoked_at = Instant::now();
    on_0.revoke_access(ORG, rule.id).await.unwrap();
    on_0.answered(204);
    let mut delays = Vec::new();
    for i in [1, 2] {
        loop {
            let d = owner_on(i).check(ORG, &question).await.unwrap();
            if !d.allowed {
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
    let everything = AuditQuery::default();
    on_0.update_member(ORG, dwight, &role("admin"))
        .await
        .unwrap();
    on_0.answered(200);
    let on_2 = dwight_on(2);
    on_2.audit(ORG, &everything).await.unwrap();
    on_2.answered(200);
    on_0.update_member(ORG, dwight, &role("viewer"))
        .await
        .unwrap();
    on_0.answered(200);
    assert_eq!(
        on_2.audit(ORG, &everything).await.unwrap_err().status(),
        Some(403),
        "the demotion is enforced at once on replica 2"
    );
    // Removed on 1: refused on 0 and 2 at once.
    let on_1 = owner_on(1);
    on_1.delete_member(ORG, dwight).await.unwrap();
    on_1.answered(204);
    for i in [0, 2] {
        let res = dwight_on(i).list_members(ORG, &members("")).await;
        assert_eq!(res.unwrap_err().status(), Some(404), "replica {i}");
    }
}

/// Two owners demote each other at the same moment through different
/// processes: one owner remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_demoting_each_other_through_two_processes_leave_one() {
    let (r, _http, _db, _dir) = three(None).await;
    let owner = login(&r[0], OWNER_EMAIL, OWNER_PASSWORD).await;
    let owner_id = client(&r[0], Some(&owner)).me().await.unwrap().user.id;
    let (jan, jan_token) = add_member(&r[0], &owner, "jan@acme.test", "owner", &r[1]).await;

    let viewer = role("viewer");
    let (owner_on_1, jan_on_2) = (client(&r[1], Some(&owner)), client(&r[2], Some(&jan_token)));
    let (a, b) = tokio::join!(
        owner_on_1.update_member(ORG, jan, &viewer),
        jan_on_2.update_member(ORG, owner_id, &viewer),
    );
    let ok = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(ok, 1, "exactly one demotion wins: {a:?} {b:?}");
    let owners = client(&r[0], Some(&owner_or(&owner, &jan_token, a.is_ok())))
        .list_members(ORG, &members("role=owner&status=active"))
        .await
        .unwrap();
    assert_eq!(owners.items.len(), 1, "{owners:?}");
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
    let owner = login(&first, OWNER_EMAIL, OWNER_PASSWORD).await;
    let emails: Vec<String> = (0..3).map(|i| format!("invitee{i}@acme.test")).collect();
    let invitations = CreateInvitationsRequest {
        invitations: emails
            .iter()
            .map(|e| InviteItem {
                email: e.clone(),
                role: Some("viewer".into()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    client(&first, Some(&owner))
        .create_invitations(ORG, &invitations)
        .await
        .unwrap();
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
    let token = login(&r, OWNER_EMAIL, OWNER_PASSWORD).await;
    let owner = client(&r, Some(&token));

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
    assert_eq!(owner.orgs().await.unwrap_err().status(), Some(503));
    assert_eq!(status("/healthz").await, 200, "alive, just not ready");

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while status("/readyz").await != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    owner.orgs().await.unwrap();
    owner.answered(200);
}
