//! Several servers on one PostgreSQL database behave as one service.

use crate::helpers::*;
use roster_proto::{
    AccessRuleRequest, CheckRequest, CreateInvitationsRequest, GroupMemberRequest, GroupRequest,
    ResourceRequest, UpdateMemberRequest,
};

/// Failed sign-ins spread over replicas count together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_throttling_holds_across_replicas() {
    let r = spawn_replicas(3, None).await;
    for i in 0..5 {
        let res = r.login_res(i % 3, OWNER_EMAIL, "wrong-password").await;
        assert_eq!(res.unwrap_err().status(), Some(401));
    }
    // Every replica refuses too.
    for replica in 0..3 {
        r.login_res(replica, OWNER_EMAIL, OWNER_PASSWORD)
            .await
            .refused(429, "too_many_attempts");
    }
}

/// Simultaneous guesses spread over replicas are counted before they are
/// checked: exactly five of them are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_sign_ins_over_replicas_check_only_the_allowed_number() {
    let r = spawn_replicas(3, None).await;
    let answers = futures::future::join_all((0..30).map(|i| {
        let r = &r;
        async move {
            r.login_res(i % 3, OWNER_EMAIL, "wrong-password")
                .await
                .unwrap_err()
                .status()
        }
    }))
    .await;
    let checked = answers.iter().filter(|a| **a == Some(401)).count();
    let refused = answers.iter().filter(|a| **a == Some(429)).count();
    assert_eq!((checked, refused), (5, 25), "{answers:?}");
}

/// A member removed through one replica is refused by the others on the
/// very next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_through_one_replica_is_enforced_by_the_others() {
    let r = spawn_replicas(3, None).await;
    let (owner, _) = r.login(0, OWNER_EMAIL, OWNER_PASSWORD).await;
    let owner = owner.token;
    let (id, gone) = r.member(1, &owner, "gone@acme.test", "admin", 2).await;
    for replica in 0..3 {
        r.client(replica, Some(gone.token()))
            .list_members(ORG, &members(""))
            .await
            .unwrap();
    }
    let owner_on_0 = r.client(0, Some(&owner));
    owner_on_0.delete_member(ORG, id).await.unwrap();
    owner_on_0.answered(204);
    for replica in 0..3 {
        let res = r
            .client(replica, Some(gone.token()))
            .list_members(ORG, &members(""))
            .await;
        assert_eq!(
            res.unwrap_err().status(),
            Some(404),
            "{} refuses the removed member at once",
            r.bases[replica]
        );
    }
}

/// Three replicas starting at once on an empty database: migrations run
/// once, exactly one seeds the first org, and all of them serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_and_seed_once() {
    use roster_server::Application;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let build =
        |i: usize| Application::build(replica_config(&db.url, &dir.path().join(format!("r{i}"))));
    let (a, b, c) = tokio::join!(build(0), build(1), build(2));
    for app in [a.unwrap(), b.unwrap(), c.unwrap()] {
        let base = format!("http://{}", app.addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        let anonymous = Api::new(&base, None);
        anonymous
            .login(&roster_proto::LoginRequest {
                email: OWNER_EMAIL.into(),
                password: OWNER_PASSWORD.into(),
                totp_code: None,
                recovery_code: None,
                passkey: None,
            })
            .await
            .unwrap();
        anonymous.answered(200);
    }
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let (orgs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orgs WHERE slug = 'acme'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (migrations,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(orgs, 1);
    assert!(migrations >= 6);
}

/// Two owners demoting each other through different replicas at the same
/// moment leave exactly one owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_demoting_each_other_through_different_replicas_leave_one() {
    let r = spawn_replicas(2, None).await;
    let (login, a) = r.login(0, OWNER_EMAIL, OWNER_PASSWORD).await;
    let a_id = login.user.id;
    let (b_id, b) = r.member(0, a.token(), "b@acme.test", "owner", 1).await;
    let demote = UpdateMemberRequest {
        role: Some("admin".into()),
        ..Default::default()
    };
    let (ra, rb) = tokio::join!(
        a.update_member(ORG, b_id, &demote),
        b.update_member(ORG, a_id, &demote)
    );
    assert_eq!(
        [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{ra:?} / {rb:?}"
    );
    // The owner who kept the role sees exactly one active owner.
    let keeper = if ra.is_ok() { a.token() } else { b.token() };
    let owners = r
        .client(0, Some(keeper))
        .list_members(ORG, &members("role=owner&status=active"))
        .await
        .unwrap();
    assert_eq!(owners.items.len(), 1, "{owners:?}");
}

/// While the database is unreachable, readiness says so and requests get a
/// clear 503 rather than hanging; when it comes back, the server recovers
/// by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_database_connection_is_cut_answers_503_and_recovers() {
    use roster_server::Application;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create(Engine::Postgres, dir.path()).await;
    let proxy = Proxy::start().await;
    let via_proxy = db
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    assert_ne!(
        via_proxy, db.url,
        "the test database URL names 127.0.0.1:5432"
    );
    let config = replica_config(&via_proxy, &dir.path().join("r"));
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    // Readiness and health are not API routes: they are asked raw.
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let login = Api::new(&base, None)
        .login(&roster_proto::LoginRequest {
            email: OWNER_EMAIL.into(),
            password: OWNER_PASSWORD.into(),
            totp_code: None,
            recovery_code: None,
            passkey: None,
        })
        .await
        .unwrap();
    let owner = Api::new(&base, Some(&login.token));
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    proxy.cut().await;
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    owner.me().await.refused(503, "unavailable");
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "alive, just not ready"
    );

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..60 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(recovered, "ready again once the database is back");
    owner.me().await.unwrap();
    owner.answered(200);
}

/// One invitation accepted through two replicas at the same moment: one
/// wins, the other is refused, and the person is a member once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invitation_accepted_on_two_replicas_at_once_lets_one_in() {
    let r = spawn_replicas(2, None).await;
    let (_, owner) = r.login(0, OWNER_EMAIL, OWNER_PASSWORD).await;
    for round in 0..3 {
        let email = format!("race{round}@x.test");
        let res = owner
            .create_invitations(
                ORG,
                &CreateInvitationsRequest {
                    emails: Some(email.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let link = res.results[0].link.clone().unwrap();
        let token = link.rsplit('/').next().unwrap().to_owned();
        let body = roster_proto::AcceptInvitationRequest {
            name: Some("Racer".into()),
            password: Some("racer-password-1".into()),
        };
        let (on_0, on_1) = (r.client(0, None), r.client(1, None));
        let (a, b) = tokio::join!(
            on_0.accept_invitation(&token, &body),
            on_1.accept_invitation(&token, &body)
        );
        let ok = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(ok, 1, "round {round}");
        let members = r
            .client(1, Some(owner.token()))
            .list_members(ORG, &members(&format!("email={email}")))
            .await
            .unwrap();
        assert_eq!(members.items.len(), 1);
        assert_eq!(members.items[0].status, "active");
    }
}

/// A rule revoked through one replica stops allowing on another within a
/// second (SPEC §5): the other replica's in-memory index follows org
/// revisions. The test allows five seconds so that a loaded machine does
/// not fail it; the design bound is a quarter of a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_revoked_through_one_replica_stops_allowing_on_the_others() {
    let r = spawn_replicas(2, None).await;
    let (_, owner) = r.login(0, OWNER_EMAIL, OWNER_PASSWORD).await;
    r.member(0, owner.token(), "dwight@acme.test", "viewer", 0)
        .await;
    owner
        .create_resource(ORG, &root_resource("clusters/eu-1"))
        .await
        .unwrap();
    let rule = owner
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
    let question = CheckRequest {
        user: "dwight@acme.test".into(),
        action: "clusters:update".into(),
        resource: Some("clusters/eu-1".into()),
    };
    let owner_on_1 = r.client(1, Some(owner.token()));
    let allowed = || async {
        owner_on_1
            .check(ORG, &question)
            .await
            .expect("a decision")
            .allowed
    };
    // Replica 1 has not seen the org before: it loads it, rule included.
    assert!(allowed().await);
    owner.revoke_access(ORG, rule.id).await.unwrap();
    owner.answered(204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while allowed().await {
        assert!(
            std::time::Instant::now() < deadline,
            "replica 1 still allows after the rule was revoked on replica 0"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A group join or a role change through one replica reaches the others'
/// indexes and leaves the credentials they validated in place (they move
/// access only, which the index holds and management requests read from
/// the database); disabling a member makes them read every credential
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_moved_through_one_replica_leaves_the_others_credentials_cached() {
    let r = spawn_replicas(2, None).await;
    let (_, owner) = r.login(0, OWNER_EMAIL, OWNER_PASSWORD).await;
    let (dwight, _) = r
        .member(0, owner.token(), "dwight@acme.test", "viewer", 0)
        .await;
    for key in ["clusters/eu-1", "clusters/us-1"] {
        owner
            .create_resource(
                ORG,
                &ResourceRequest {
                    key: key.into(),
                    parent: None,
                    groups: Vec::new(),
                    review: None,
                },
            )
            .await
            .unwrap();
    }
    owner
        .create_group(ORG, &GroupRequest { name: "ops".into() })
        .await
        .unwrap();
    owner
        .grant_access(
            ORG,
            &AccessRuleRequest {
                user: None,
                group: Some("ops".into()),
                role: "contributor".into(),
                resource: Some("clusters/eu-1".into()),
            },
        )
        .await
        .unwrap();
    let owner_on_1 = r.client(1, Some(owner.token()));
    let allowed = |resource: &'static str| {
        let owner_on_1 = &owner_on_1;
        async move {
            owner_on_1
                .check(
                    ORG,
                    &CheckRequest {
                        user: "dwight@acme.test".into(),
                        action: "clusters:update".into(),
                        resource: Some(resource.into()),
                    },
                )
                .await
                .expect("a decision")
                .allowed
        }
    };
    let r = &r;
    let allowed = &allowed;
    let until = |resource: &'static str, want: bool, what: &'static str| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while allowed(resource).await != want {
            assert!(
                std::time::Instant::now() < deadline,
                "replica 1 never saw {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        r.apps[1].authz_stats()
    };
    assert!(!allowed("clusters/eu-1").await);
    // Replica 1 builds the org once (its first checks read slices).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while r.apps[1].authz_stats().full_builds == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "replica 1 never built the org"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before = r.apps[1].authz_stats();

    owner
        .add_group_member(ORG, "ops", &GroupMemberRequest { user_id: dwight })
        .await
        .unwrap();
    let joined = until("clusters/eu-1", true, "the group join").await;
    assert!(joined.deltas_applied > before.deltas_applied, "{joined:?}");
    assert_eq!(joined.full_builds, before.full_builds, "{joined:?}");
    assert_eq!(
        joined.credential_cache_resets, before.credential_cache_resets,
        "a group join made replica 1 drop its validated credentials"
    );

    assert!(!allowed("clusters/us-1").await);
    let update = |role: Option<&str>, status: Option<&str>| UpdateMemberRequest {
        role: role.map(Into::into),
        status: status.map(Into::into),
        ..Default::default()
    };
    owner
        .update_member(ORG, dwight, &update(Some("admin"), None))
        .await
        .unwrap();
    let promoted = until("clusters/us-1", true, "the role change").await;
    assert_eq!(
        promoted.credential_cache_resets, joined.credential_cache_resets,
        "a role change made replica 1 drop its validated credentials"
    );

    owner
        .update_member(ORG, dwight, &update(None, Some("disabled")))
        .await
        .unwrap();
    let disabled = until("clusters/us-1", false, "the member disabled").await;
    assert!(
        disabled.credential_cache_resets > promoted.credential_cache_resets,
        "disabling a member left replica 1's validated credentials in place: {disabled:?}"
    );
}
