//! Single sign-on against a real OpenID provider (`oidc-provider-mock`
//! from PyPI, started per test on a free loopback port): the redirect flow
//! driven with an HTTP client that follows no redirect, just-in-time
//! members with the role and groups their claims map to, the SSO rule of
//! SPEC §2 (no takeover of accounts), `enforce`, and the attacks on the
//! flow. Tokens the real provider would never send (another audience, no
//! signature, an unknown key, a forged signature) come through a small
//! proxy in front of it that changes the ID token of the token answer; the
//! server under test talks to the proxy as to any provider.

use crate::both_engines;
use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method as AxMethod, StatusCode, Uri};
use base64::Engine as _;
use roster_proto::{
    CreateOrgRequest, CreateSsoConnectionRequest, GroupMappingView, GroupMappings,
    UpdateSsoConnectionRequest,
};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

both_engines!(
    a_new_person_lands_with_the_mapped_role_and_groups_and_a_second_sign_in_follows_changed_claims,
    an_existing_account_is_linked_only_when_verified_and_in_the_connections_domains,
    enforce_refuses_password_sessions_in_that_org_only,
    connections_keep_their_secret_and_a_domain_belongs_to_one_connection,
    mappings_never_grant_beyond_their_author_and_never_demote_the_last_owner,
    a_replayed_or_tampered_state_or_another_browser_is_refused,
    a_wrong_nonce_an_expired_token_and_a_declined_sign_in_are_refused,
    id_tokens_for_another_audience_unsigned_or_with_unknown_keys_are_refused,
    an_off_site_redirect_is_refused_and_the_console_stays_on_site,
    a_provider_that_is_down_gets_a_clear_error_and_changes_nothing,
);

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `oidc-provider-mock`, stopped when dropped.
pub struct Provider {
    child: Child,
    pub base: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Starts the provider (nonces required) with `extra` arguments and
    /// waits until its discovery document answers.
    pub async fn start(extra: &[&str]) -> Provider {
        let tool = pytool("oidc-provider-mock");
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(&tool)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--require-nonce", "true"])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start oidc-provider-mock");
            let p = Provider {
                child,
                base: format!("http://127.0.0.1:{port}"),
            };
            let http = reqwest::Client::new();
            for _ in 0..150 {
                let url = format!("{}/.well-known/openid-configuration", p.base);
                if let Ok(r) = http.get(&url).send().await {
                    if r.status().is_success() {
                        return p;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("oidc-provider-mock did not start");
    }

    /// Creates (or replaces) a user of the provider with these claims.
    pub async fn set_user(&self, sub: &str, claims: Value) {
        let r = reqwest::Client::new()
            .put(format!("{}/users/{sub}", self.base))
            .json(&claims)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "set user: {}", r.status());
    }
}

/// An HTTP client that follows no redirect, as the flow is driven step
/// by step.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `roster_sso=...` pair of a start's answer.
pub fn sso_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("roster_sso="))
        .expect("the roster_sso cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A sign-in begun at Roster: the provider's authorization URL and the
/// browser's cookie.
pub struct Begun {
    pub authorize: String,
    pub cookie: String,
}

/// `GET /api/v1/auth/sso/start?{query}`: must redirect to the provider.
pub async fn begin(base: &str, query: &str) -> Begun {
    let res = browser()
        .get(format!("{base}/api/v1/auth/sso/start?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "start redirects to the provider");
    Begun {
        cookie: sso_cookie(&res),
        authorize: location(&res),
    }
}

/// The provider's consent, as a person `sub` would give it: the redirect
/// back to Roster's callback (with code and state).
pub async fn consent(authorize: &str, sub: &str) -> String {
    let res = browser()
        .post(authorize)
        .form(&[("sub", sub)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "the provider redirects back");
    location(&res)
}

/// Opens Roster's callback as the browser with `cookie`.
pub async fn callback(url: &str, cookie: &str) -> reqwest::Response {
    browser()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// The whole flow for `email` as provider user `sub`: the callback's
/// status and JSON body.
async fn sign_in(base: &str, email: &str, sub: &str) -> (u16, Value) {
    let b = begin(base, &format!("email={email}")).await;
    let back = consent(&b.authorize, sub).await;
    let res = callback(&back, &b.cookie).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Where a page's `<meta http-equiv="refresh">` goes.
pub fn refresh_target(html: &str) -> String {
    let start = html.find("content=\"0;url=").expect("a refresh") + "content=\"0;url=".len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
}

fn connection(provider: &str, domains: &[&str]) -> CreateSsoConnectionRequest {
    CreateSsoConnectionRequest {
        name: Some("corp-idp".into()),
        issuer: provider.into(),
        client_id: "roster".into(),
        client_secret: "the-client-secret-1".into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        groups_claim: None,
        jit: None,
        enforce: None,
    }
}

fn mapping(claim: &str, group: Option<&str>, role: Option<&str>) -> GroupMappingView {
    GroupMappingView {
        claim: claim.into(),
        group: group.map(str::to_owned),
        role: role.map(str::to_owned),
    }
}

/// The membership of `email` in acme, as the owner sees it.
async fn member_of_acme(app: &TestApp, owner: &Api, email: &str) -> Option<Value> {
    let page = app.users(ORG, owner, &format!("email={email}")).await;
    page.items.first().map(as_json)
}

async fn a_new_person_lands_with_the_mapped_role_and_groups_and_a_second_sign_in_follows_changed_claims(
    engine: Engine,
) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    let made = owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test"]))
        .await
        .unwrap();
    owner.answered(201);
    owner
        .set_group_mappings(
            ORG,
            &GroupMappings {
                mappings: vec![
                    mapping("eng", Some("engineering"), None),
                    mapping("admins", None, Some("admin")),
                    mapping("staff", Some("staff"), Some("viewer")),
                ],
            },
        )
        .await
        .unwrap();
    idp.set_user(
        "alice-1",
        json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice Liddell",
               "groups": ["eng", "admins", "unmapped"]}),
    )
    .await;

    let (status, body) = sign_in(&app.base, "alice@corp.test", "alice-1").await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["email"], "alice@corp.test");
    assert_eq!(body["user"]["name"], "Alice Liddell");
    let alice = app.client_as(&token);
    let me = alice.me().await.unwrap();
    let acme = me
        .memberships
        .iter()
        .find(|m| m.org == ORG)
        .expect("in acme");
    assert_eq!(acme.role, "admin");
    let m = member_of_acme(&app, &owner, "alice@corp.test")
        .await
        .unwrap();
    assert_eq!(m["role"], "admin");
    assert_eq!(m["groups"], json!(["engineering"]));
    assert_eq!(m["identity_provider"], made.name);
    assert_eq!(m["status"], "active");
    // The new account has its personal org, and no password.
    assert!(me.memberships.iter().any(|m| m.org != ORG));
    app.login_res("alice@corp.test", "")
        .await
        .refused(401, "invalid_credentials");

    // The directory changes: the second sign-in follows it.
    idp.set_user(
        "alice-1",
        json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice Liddell",
               "groups": ["staff"]}),
    )
    .await;
    let (status, body) = sign_in(&app.base, "alice@corp.test", "alice-1").await;
    assert_eq!(status, 200, "{body}");
    let m = member_of_acme(&app, &owner, "alice@corp.test")
        .await
        .unwrap();
    assert_eq!(m["role"], "viewer");
    assert_eq!(m["groups"], json!(["staff"]));
    // The first session lost the admin rights at once.
    alice
        .list_sso_connections(ORG)
        .await
        .refused(403, "forbidden");

    // Audited in the org, on the channel `sso`.
    let events = app.audit(ORG, &owner, "action=sso.sign_in").await;
    assert_eq!(events.len(), 2);
    let last = as_json(&events[0]);
    assert_eq!(last["channel"], "sso");
    assert_eq!(last["details"]["role_to"], "viewer");
    assert_eq!(last["details"]["groups_removed"], json!(["engineering"]));
    assert_eq!(last["details"]["groups_added"], json!(["staff"]));
    let first = as_json(&events[1]);
    assert_eq!(first["details"]["account_created"], true);
    assert_eq!(first["details"]["member_created"], true);

    // Without JIT a newcomer is not added.
    owner
        .update_sso_connection(
            ORG,
            made.id,
            &UpdateSsoConnectionRequest {
                jit: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    idp.set_user(
        "carol-1",
        json!({"email": "carol@corp.test", "email_verified": true, "name": "Carol"}),
    )
    .await;
    let (status, body) = sign_in(&app.base, "carol@corp.test", "carol-1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("sso_not_a_member"))
    );
    assert!(member_of_acme(&app, &owner, "carol@corp.test")
        .await
        .is_none());
}

async fn an_existing_account_is_linked_only_when_verified_and_in_the_connections_domains(
    engine: Engine,
) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test"]))
        .await
        .unwrap();
    let (_, bob) = app
        .member(ORG, &owner, "bob@corp.test", "contributor")
        .await;

    // The provider asserts the owner's address, in a domain it does not
    // serve: nobody is signed in, verified or not.
    idp.set_user(
        "mallory",
        json!({"email": OWNER_EMAIL, "email_verified": true, "name": "Mallory"}),
    )
    .await;
    let (status, body) = sign_in(&app.base, "someone@corp.test", "mallory").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("sso_email_domain_not_served")),
        "{body}"
    );

    // Bob's address, not verified by the provider: not linked.
    idp.set_user(
        "bob-at-idp",
        json!({"email": "bob@corp.test", "email_verified": false, "name": "Bob"}),
    )
    .await;
    let (status, body) = sign_in(&app.base, "bob@corp.test", "bob-at-idp").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("sso_account_not_linked")),
        "{body}"
    );
    let m = member_of_acme(&app, &owner, "bob@corp.test").await.unwrap();
    assert_eq!(m["identity_provider"], "password");
    // Nothing happened to Bob's account: his password session works.
    bob.me().await.unwrap();
    assert!(app
        .audit(ORG, &owner, "action=sso.sign_in")
        .await
        .is_empty());

    // Verified: linked, and the membership shows the connection.
    idp.set_user(
        "bob-at-idp",
        json!({"email": "bob@corp.test", "email_verified": true, "name": "Bob"}),
    )
    .await;
    let (status, body) = sign_in(&app.base, "bob@corp.test", "bob-at-idp").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "bob@corp.test");
    let m = member_of_acme(&app, &owner, "bob@corp.test").await.unwrap();
    assert_eq!(m["identity_provider"], "corp-idp");
    assert_eq!(m["role"], "contributor", "no mapping: the role stays");
}

async fn enforce_refuses_password_sessions_in_that_org_only(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    let made = owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test"]))
        .await
        .unwrap();
    let (_, bob) = app
        .member(ORG, &owner, "bob@corp.test", "contributor")
        .await;
    // Bob also belongs to another org, which does not enforce anything.
    let other = bob
        .create_org(&CreateOrgRequest {
            slug: "bobs-side".into(),
            name: "Bob's side project".into(),
        })
        .await;
    let other_ok = other.is_ok();

    owner
        .update_sso_connection(
            ORG,
            made.id,
            &UpdateSsoConnectionRequest {
                enforce: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A password session no longer opens acme, at once.
    bob.list_members(ORG, &members(""))
        .await
        .refused(403, "sso_required");
    let fresh = app.login("bob@corp.test", "bob@corp.test-pw-123").await;
    fresh
        .list_members(ORG, &members(""))
        .await
        .refused(403, "sso_required");
    // The rest of the account is the person's: their own profile, and
    // orgs that do not enforce SSO.
    fresh.me().await.unwrap();
    if other_ok {
        fresh.org("bobs-side").await.unwrap();
    }
    // The owner's domain is not the connection's: unaffected.
    owner.list_members(ORG, &members("")).await.unwrap();

    // Through the provider, acme opens.
    idp.set_user(
        "bob-at-idp",
        json!({"email": "bob@corp.test", "email_verified": true, "name": "Bob"}),
    )
    .await;
    let (status, body) = sign_in(&app.base, "bob@corp.test", "bob-at-idp").await;
    assert_eq!(status, 200, "{body}");
    let sso = app.client_as(body["token"].as_str().unwrap());
    sso.list_members(ORG, &members("")).await.unwrap();
}

async fn connections_keep_their_secret_and_a_domain_belongs_to_one_connection(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    let made = owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test", "Corp2.TEST"]))
        .await
        .unwrap();
    assert_eq!(made.domains, vec!["corp.test", "corp2.test"]);
    assert_eq!(
        made.redirect_uri,
        format!("{}/api/v1/auth/sso/callback", app.base)
    );
    // The secret never comes back, in any answer.
    let listed = app
        .get(&format!("/api/v1/orgs/{ORG}/sso/connections"), &owner)
        .await;
    assert_eq!(listed.status, 200);
    let text = listed.body.to_string();
    assert!(!text.contains("the-client-secret-1") && !text.contains("client_secret"));
    let one = app
        .get(
            &format!("/api/v1/orgs/{ORG}/sso/connections/{}", made.id),
            &owner,
        )
        .await;
    assert!(!one.body.to_string().contains("the-client-secret-1"));
    // Stored encrypted.
    let mut conn = app.app.store().conn().await.unwrap();
    let stored = roster_store::sso::by_id(&mut conn, made.id)
        .await
        .unwrap()
        .expect("stored");
    assert!(!stored.client_secret_enc.contains("the-client-secret-1"));
    drop(conn);

    // A second connection of the org: another name, another domain.
    let mut second = connection(&idp.base, &["corp.test"]);
    second.name = Some("second".into());
    owner
        .create_sso_connection(ORG, &second)
        .await
        .refused(409, "sso_domain_taken");
    second.domains = vec!["lab.test".into()];
    second.name = Some("corp-idp".into());
    owner
        .create_sso_connection(ORG, &second)
        .await
        .refused(409, "sso_connection_exists");
    second.name = Some("lab".into());
    owner.create_sso_connection(ORG, &second).await.unwrap();
    assert_eq!(
        owner.list_sso_connections(ORG).await.unwrap().items.len(),
        2
    );

    // Another org cannot claim a served domain either.
    owner
        .create_org(&CreateOrgRequest {
            slug: "beta".into(),
            name: "Beta".into(),
        })
        .await
        .unwrap();
    owner
        .create_sso_connection("beta", &connection(&idp.base, &["corp2.test"]))
        .await
        .refused(409, "sso_domain_taken");

    // Bad input: clear errors, nothing stored.
    for bad in [
        json!({"issuer": "ftp://x", "client_id": "a", "client_secret": "b", "domains": ["x.test"]}),
        json!({"issuer": idp.base, "client_id": "a", "client_secret": "b", "domains": []}),
        json!({"issuer": idp.base, "client_id": "a", "client_secret": "b", "domains": ["not a domain"]}),
        json!({"issuer": idp.base, "client_id": "", "client_secret": "b", "domains": ["x.test"]}),
        json!({"issuer": idp.base, "client_id": "a", "client_secret": "b", "domains": ["x.test"], "name": "Bad Name"}),
    ] {
        let r = app
            .post(
                &format!("/api/v1/orgs/{ORG}/sso/connections"),
                &owner,
                bad.clone(),
            )
            .await;
        assert_eq!(r.status, 422, "{bad} → {:?}", r.body);
    }
    assert_eq!(
        owner.list_sso_connections(ORG).await.unwrap().items.len(),
        2
    );

    // Only integrations:manage.
    let (_, viewer) = app.member(ORG, &owner, "val@acme.test", "viewer").await;
    viewer
        .list_sso_connections(ORG)
        .await
        .refused(403, "forbidden");
    viewer.group_mappings(ORG).await.refused(403, "forbidden");

    // Audited; deleting works and frees the domains.
    let events = app.audit(ORG, &owner, "action=sso.connection.create").await;
    assert_eq!(events.len(), 2);
    assert!(!as_json(&events).to_string().contains("the-client-secret-1"));
    owner.delete_sso_connection(ORG, made.id).await.unwrap();
    owner
        .create_sso_connection("beta", &connection(&idp.base, &["corp2.test"]))
        .await
        .unwrap();
    // Discovery by domain.
    assert!(app.client().sso_discover("x@corp2.test").await.unwrap().sso);
    assert!(!app.client().sso_discover("x@acme.test").await.unwrap().sso);
}

async fn mappings_never_grant_beyond_their_author_and_never_demote_the_last_owner(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    owner
        .create_sso_connection(ORG, &connection(&idp.base, &["acme.test", "corp.test"]))
        .await
        .unwrap();
    let (_, admin) = app.member(ORG, &owner, "ada@acme.test", "admin").await;
    admin
        .set_group_mappings(
            ORG,
            &GroupMappings {
                mappings: vec![mapping("bosses", None, Some("owner"))],
            },
        )
        .await
        .refused(403, "owner_role_requires_owner");
    admin
        .set_group_mappings(
            ORG,
            &GroupMappings {
                mappings: vec![mapping("x", None, None)],
            },
        )
        .await
        .refused(422, "validation_failed");
    admin
        .set_group_mappings(
            ORG,
            &GroupMappings {
                mappings: vec![mapping("x", None, Some("no-such-role"))],
            },
        )
        .await
        .refused(422, "validation_failed");
    assert!(owner.group_mappings(ORG).await.unwrap().mappings.is_empty());

    // The owner signs in through the provider with claims that map to
    // viewer: the last owner stays owner, and the skip is audited.
    owner
        .set_group_mappings(
            ORG,
            &GroupMappings {
                mappings: vec![mapping("everyone", Some("all"), Some("viewer"))],
            },
        )
        .await
        .unwrap();
    let got = owner.group_mappings(ORG).await.unwrap();
    assert_eq!(
        got.mappings,
        vec![mapping("everyone", Some("all"), Some("viewer"))]
    );
    idp.set_user(
        "owner-at-idp",
        json!({"email": OWNER_EMAIL, "email_verified": true, "name": "Owner", "groups": ["everyone"]}),
    )
    .await;
    let (status, body) = sign_in(&app.base, OWNER_EMAIL, "owner-at-idp").await;
    assert_eq!(status, 200, "{body}");
    let m = member_of_acme(&app, &owner, OWNER_EMAIL).await.unwrap();
    assert_eq!(m["role"], "owner");
    assert_eq!(m["groups"], json!(["all"]));
    let events = app.audit(ORG, &owner, "action=sso.sign_in").await;
    assert_eq!(as_json(&events[0])["details"]["last_owner_kept"], true);
    // Groups no mapping names are never touched.
    let owner_id = owner.me().await.unwrap().user.id;
    owner
        .create_group(
            ORG,
            &roster_proto::GroupRequest {
                name: "hand-made".into(),
            },
        )
        .await
        .unwrap();
    owner
        .add_group_member(
            ORG,
            "hand-made",
            &roster_proto::GroupMemberRequest { user_id: owner_id },
        )
        .await
        .unwrap();
    let (status, _) = sign_in(&app.base, OWNER_EMAIL, "owner-at-idp").await;
    assert_eq!(status, 200);
    let m = member_of_acme(&app, &owner, OWNER_EMAIL).await.unwrap();
    assert_eq!(m["groups"], json!(["all", "hand-made"]));
}

async fn a_replayed_or_tampered_state_or_another_browser_is_refused(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test"]))
        .await
        .unwrap();
    idp.set_user(
        "alice-1",
        json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice"}),
    )
    .await;
    let code_of = |r: Value| r["code"].as_str().unwrap_or("").to_owned();

    // Replayed: the second use of a callback URL is refused.
    let b = begin(&app.base, "email=alice@corp.test").await;
    let back = consent(&b.authorize, "alice-1").await;
    let first = callback(&back, &b.cookie).await;
    assert_eq!(first.status(), 200);
    let again = callback(&back, &b.cookie).await;
    assert_eq!(again.status(), 400);
    assert_eq!(code_of(again.json().await.unwrap()), "sso_state_invalid");

    // Tampered state.
    let b = begin(&app.base, "email=alice@corp.test").await;
    let back = consent(&b.authorize, "alice-1").await;
    let tampered = back.replace("state=", "state=x");
    let r = callback(&tampered, &b.cookie).await;
    assert_eq!(r.status(), 400);
    assert_eq!(code_of(r.json().await.unwrap()), "sso_state_invalid");

    // Another browser (no cookie, or another sign-in's cookie): refused,
    // and the state is used up for the right browser too.
    let b = begin(&app.base, "email=alice@corp.test").await;
    let other = begin(&app.base, "email=alice@corp.test").await;
    let back = consent(&b.authorize, "alice-1").await;
    let r = callback(&back, "").await;
    assert_eq!(r.status(), 400);
    let r = callback(&back, &other.cookie).await;
    assert_eq!(r.status(), 400);
    let r = callback(&back, &b.cookie).await;
    assert_eq!(r.status(), 400);
    // A browser asking for HTML gets a page that says so.
    let r = browser()
        .get(&back)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("start again"));
    assert_eq!(app.audit(ORG, &owner, "action=sso.sign_in").await.len(), 1);
}

async fn a_wrong_nonce_an_expired_token_and_a_declined_sign_in_are_refused(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    let made = owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test"]))
        .await
        .unwrap();
    idp.set_user(
        "alice-1",
        json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice"}),
    )
    .await;

    // The authorization request's nonce changed on its way: the ID token
    // carries the other nonce.
    let b = begin(&app.base, "email=alice@corp.test").await;
    let mut url = url::Url::parse(&b.authorize).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "attacker-nonce".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let back = consent(url.as_str(), "alice-1").await;
    let r = callback(&back, &b.cookie).await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "sso_token_invalid");
    assert!(body["detail"].as_str().unwrap().contains("nonce"), "{body}");

    // Declined at the provider.
    let b = begin(&app.base, "email=alice@corp.test").await;
    let res = browser()
        .post(&b.authorize)
        .form(&[("action", "deny")])
        .send()
        .await
        .unwrap();
    let r = callback(&location(&res), &b.cookie).await;
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "sso_provider_error");

    // A provider whose ID tokens live one second, behind a proxy that
    // holds the token answer for longer.
    let stale = Provider::start(&["--token-max-age", "1"]).await;
    let px = proxy(&stale.base).await;
    px.state.lock().unwrap().delay = Duration::from_millis(2500);
    stale
        .set_user(
            "alice-1",
            json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice"}),
        )
        .await;
    owner
        .update_sso_connection(
            ORG,
            made.id,
            &UpdateSsoConnectionRequest {
                issuer: Some(px.base.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = sign_in(&app.base, "alice@corp.test", "alice-1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("sso_token_invalid")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert!(member_of_acme(&app, &owner, "alice@corp.test")
        .await
        .is_none());
}

/// What the proxy does to the ID token of the provider's token answer.
#[derive(Clone, Default)]
enum Tamper {
    #[default]
    Nothing,
    /// Replace it with this token.
    With(String),
    /// Send it unsigned (`alg: none`).
    AlgNone,
    /// Name a key the provider does not publish.
    UnknownKid,
    /// Change one claim, keeping the provider's signature.
    Claim(&'static str, Value),
}

#[derive(Default)]
struct ProxyState {
    tamper: Tamper,
    jwks_fetches: usize,
    /// How long to hold the token answer.
    delay: Duration,
    /// How long each token request took in the proxy (the provider's part
    /// of a callback, with the proxy's own).
    token_times: Vec<Duration>,
}

struct Proxy {
    base: String,
    state: Arc<Mutex<ProxyState>>,
}

/// A proxy in front of the provider: requests are passed on with the
/// proxy's own Host (so the provider names the proxy as issuer), and the
/// token answer's `id_token` is changed as [`Tamper`] says.
async fn proxy(upstream: &str) -> Proxy {
    let state = Arc::new(Mutex::new(ProxyState::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.to_owned();
    let shared = (state.clone(), upstream, base.clone());
    let app = axum::Router::new()
        .fallback(
            |State((state, upstream, base)): State<(Arc<Mutex<ProxyState>>, String, String)>,
             method: AxMethod,
             uri: Uri,
             headers: HeaderMap,
             body: Bytes| async move {
                let began = std::time::Instant::now();
                let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                if uri.path() == "/jwks" {
                    state.lock().unwrap().jwks_fetches += 1;
                }
                let host = base.trim_start_matches("http://").to_owned();
                let mut req = browser().request(
                    reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
                    format!("{upstream}{path}"),
                );
                for (k, v) in headers.iter() {
                    if k != "host" && k != "content-length" {
                        req = req.header(k.as_str(), v.as_bytes());
                    }
                }
                let res = req.header("host", host).body(body).send().await.unwrap();
                let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
                let ctype = res
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                let loc = res
                    .headers()
                    .get("location")
                    .map(|v| v.to_str().unwrap().to_owned());
                let mut text = res.text().await.unwrap();
                if uri.path() == "/oauth2/token" && status.is_success() {
                    let delay = state.lock().unwrap().delay;
                    tokio::time::sleep(delay).await;
                    let tamper = state.lock().unwrap().tamper.clone();
                    let mut v: Value = serde_json::from_str(&text).unwrap();
                    let token = v["id_token"].as_str().unwrap().to_owned();
                    v["id_token"] = Value::String(tampered(&token, &tamper));
                    text = v.to_string();
                    state.lock().unwrap().token_times.push(began.elapsed());
                }
                let mut out = axum::response::Response::builder()
                    .status(status)
                    .header("content-type", ctype);
                if let Some(l) = loc {
                    out = out.header("location", l);
                }
                out.body(axum::body::Body::from(text)).unwrap()
            },
        )
        .with_state(shared);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Proxy { base, state }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// A token changed by hand, as an attacker would: only its parts are
/// rewritten; nothing here can sign.
fn tampered(token: &str, how: &Tamper) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload, sig) = (parts[0], parts[1], parts[2]);
    match how {
        Tamper::Nothing => token.to_owned(),
        Tamper::With(t) => t.clone(),
        Tamper::AlgNone => {
            let h = b64(br#"{"alg":"none","typ":"JWT"}"#);
            format!("{h}.{payload}.")
        }
        Tamper::UnknownKid => {
            let mut h: Value = serde_json::from_slice(&unb64(header)).unwrap();
            h["kid"] = json!("not-a-key-of-the-provider");
            format!("{}.{payload}.{sig}", b64(h.to_string().as_bytes()))
        }
        Tamper::Claim(name, value) => {
            let mut p: Value = serde_json::from_slice(&unb64(payload)).unwrap();
            p[*name] = value.clone();
            format!("{header}.{}.{sig}", b64(p.to_string().as_bytes()))
        }
    }
}

async fn id_tokens_for_another_audience_unsigned_or_with_unknown_keys_are_refused(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let px = proxy(&idp.base).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    owner
        .create_sso_connection(ORG, &connection(&px.base, &["corp.test"]))
        .await
        .unwrap();
    idp.set_user(
        "alice-1",
        json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice"}),
    )
    .await;
    // Through the proxy, untouched: it works (the control).
    let (status, body) = sign_in(&app.base, "alice@corp.test", "alice-1").await;
    assert_eq!(status, 200, "{body}");
    let jwks_before = px.state.lock().unwrap().jwks_fetches;

    let refused = |what: &str, (status, body): (u16, Value), words: &str| {
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("sso_token_invalid")),
            "{what}: {body}"
        );
        assert!(
            body["detail"].as_str().unwrap().contains(words),
            "{what}: {body}"
        );
    };

    // An ID token the provider issued to another client, with this
    // sign-in's nonce: validly signed, wrong audience.
    let b = begin(&app.base, "email=alice@corp.test").await;
    let nonce = url::Url::parse(&b.authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .unwrap()
        .1
        .into_owned();
    let redirect = "http://127.0.0.1:1/elsewhere";
    let theirs = format!(
        "{}/oauth2/authorize?response_type=code&client_id=someone-else&redirect_uri={}&scope=openid+email&state=s&nonce={nonce}",
        px.base,
        urlencode(redirect)
    );
    let back = consent(&theirs, "alice-1").await;
    let code = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tok: Value = browser()
        .post(format!("{}/oauth2/token", px.base))
        .basic_auth("someone-else", Some("their-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foreign = tok["id_token"].as_str().expect("their ID token").to_owned();
    px.state.lock().unwrap().tamper = Tamper::With(foreign);
    let back = consent(&b.authorize, "alice-1").await;
    let r = callback(&back, &b.cookie).await;
    let status = r.status().as_u16();
    refused(
        "another audience",
        (status, r.json().await.unwrap()),
        "audience",
    );

    px.state.lock().unwrap().tamper = Tamper::AlgNone;
    refused(
        "alg none",
        sign_in(&app.base, "alice@corp.test", "alice-1").await,
        "",
    );

    px.state.lock().unwrap().tamper = Tamper::Claim("email", json!("owner@corp.test"));
    refused(
        "a claim changed under the signature",
        sign_in(&app.base, "alice@corp.test", "alice-1").await,
        "signature",
    );

    px.state.lock().unwrap().tamper = Tamper::UnknownKid;
    refused(
        "an unknown key",
        sign_in(&app.base, "alice@corp.test", "alice-1").await,
        "key",
    );
    // The unknown key made the server fetch the provider's keys again
    // (a rotation), once.
    assert_eq!(px.state.lock().unwrap().jwks_fetches, jwks_before + 1);

    px.state.lock().unwrap().tamper = Tamper::Nothing;
    let (status, _) = sign_in(&app.base, "alice@corp.test", "alice-1").await;
    assert_eq!(status, 200);
    assert_eq!(app.audit(ORG, &owner, "action=sso.sign_in").await.len(), 2);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn an_off_site_redirect_is_refused_and_the_console_stays_on_site(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test"]))
        .await
        .unwrap();
    let challenge = "E9Melhoa2OwvFWqQ4-ylzwmjzAOr9vDlYAkH4s3NEIM";
    for bad in [
        "https://evil.example/cb",
        "http://evil.example:8250/cb",
        "http://127.0.0.1.evil.example:8250/cb",
    ] {
        let r = browser()
            .get(format!(
                "{}/api/v1/auth/sso/start?email=a@corp.test&redirect_uri={}&code_challenge={challenge}",
                app.base,
                urlencode(bad)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "redirect_uri");
    }
    // The console's `next` is a local path or nothing.
    idp.set_user(
        "alice-1",
        json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice"}),
    )
    .await;
    let res = browser()
        .get(format!(
            "{}/login/sso?email=alice@corp.test&next={}",
            app.base,
            urlencode("https://evil.example/")
        ))
        .send()
        .await
        .unwrap();
    // The console moves on by a page (its CSP keeps forms on this site).
    assert_eq!(res.status(), 200);
    let cookie = sso_cookie(&res);
    let to = refresh_target(&res.text().await.unwrap());
    let back = consent(&to, "alice-1").await;
    let r = callback(&back, &cookie).await;
    assert_eq!(r.status(), 200);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("roster_session=rss_"));
    assert!(session, "the console's session cookie is set");
    let page = r.text().await.unwrap();
    assert!(!page.contains("evil.example"), "{page}");
    assert!(page.contains("url=/\""), "{page}");
    // An unknown domain: a clear refusal, no redirect.
    let r = browser()
        .get(format!(
            "{}/api/v1/auth/sso/start?email=a@nowhere.test",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn a_provider_that_is_down_gets_a_clear_error_and_changes_nothing(engine: Engine) {
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    owner
        .create_sso_connection(ORG, &connection(&idp.base, &["corp.test"]))
        .await
        .unwrap();
    idp.set_user(
        "alice-1",
        json!({"email": "alice@corp.test", "email_verified": true, "name": "Alice"}),
    )
    .await;
    let b = begin(&app.base, "email=alice@corp.test").await;
    let back = consent(&b.authorize, "alice-1").await;
    drop(idp);
    let r = callback(&back, &b.cookie).await;
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "sso_provider_unavailable");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("nothing was changed"));
    assert!(member_of_acme(&app, &owner, "alice@corp.test")
        .await
        .is_none());
    app.login_res("alice@corp.test", "x")
        .await
        .refused(401, "invalid_credentials");
    // A new sign-in with the provider down: the same clear answer (a
    // server that has not read its discovery document yet).
    let fresh = spawn_outbound_open(engine).await;
    let owner2 = fresh.owner().await;
    owner2
        .create_sso_connection(
            ORG,
            &connection(&format!("http://127.0.0.1:{}", free_port()), &["corp.test"]),
        )
        .await
        .unwrap();
    let r = browser()
        .get(format!(
            "{}/api/v1/auth/sso/start?email=alice@corp.test",
            fresh.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "sso_provider_unavailable");
}

/// The callback's own cost, without the provider's: sign-ins through a
/// proxy that times each token request (the provider's part, and the
/// proxy's own); the rest of the callback's time is Roster's (state, code
/// exchange client, ID token validation with the cached JWKS, the sign-in
/// transaction, the session). Not a test: run it with
/// `cargo test --release --test it sso::callback_cost -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn callback_cost() {
    let engine = match std::env::var("ROSTER_BENCH_ENGINE").as_deref() {
        Ok("postgres") => Engine::Postgres,
        _ => Engine::Sqlite,
    };
    let rounds: usize = std::env::var("ROSTER_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let idp = Provider::start(&[]).await;
    let px = proxy(&idp.base).await;
    let app = spawn_outbound_open(engine).await;
    let owner = app.owner().await;
    owner
        .create_sso_connection(ORG, &connection(&px.base, &["corp.test"]))
        .await
        .unwrap();
    owner
        .set_group_mappings(
            ORG,
            &GroupMappings {
                mappings: vec![
                    mapping("eng", Some("engineering"), Some("contributor")),
                    mapping("ops", Some("ops"), None),
                ],
            },
        )
        .await
        .unwrap();
    let mut report = Vec::new();
    for (label, new_people) in [("new person (JIT)", true), ("returning person", false)] {
        let mut own = Vec::new();
        for i in 0..=rounds {
            let sub = if new_people {
                format!("p{i}")
            } else {
                "p0".to_owned()
            };
            idp.set_user(
                &sub,
                json!({"email": format!("{sub}@corp.test"), "email_verified": true,
                       "name": format!("Person {i}"), "groups": ["eng", "ops"]}),
            )
            .await;
            let b = begin(&app.base, &format!("email={sub}@corp.test")).await;
            let back = consent(&b.authorize, &sub).await;
            let http = browser();
            let t = std::time::Instant::now();
            let res = http
                .get(&back)
                .header("cookie", &b.cookie)
                .send()
                .await
                .unwrap();
            let _ = res.bytes().await.unwrap();
            let total = t.elapsed();
            let provider = px.state.lock().unwrap().token_times.pop().unwrap();
            if i > 0 || !new_people {
                own.push(total.saturating_sub(provider));
            }
        }
        own.sort();
        let q = |p: f64| own[((own.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
        report.push(format!(
            "{label}: {} callbacks, own cost median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
            own.len(),
            q(0.5),
            q(0.9),
            q(0.99)
        ));
    }
    for line in report {
        println!("{line}");
    }
}
