//! The web console over real HTTP, below the browser: sessions, CSRF,
//! same-origin checks, security headers, permissions checked on the server
//! and isolation between orgs. The flows themselves run in Chromium
//! (`browser.rs`).

use crate::helpers::{
    emails, spawn_app, spawn_outbound_open, Engine, Refused, TestApp, ORG, OWNER_EMAIL,
    OWNER_PASSWORD,
};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A browser-like client of the console: no redirects followed, cookies
/// kept by hand (the session, and the one-shot flash message).
struct Browser {
    http: reqwest::Client,
    base: String,
    jar: Mutex<BTreeMap<String, String>>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF field in: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

impl Browser {
    /// Signs in through the console's own form.
    async fn sign_in(app: &TestApp, email: &str, password: &str) -> Browser {
        let http = client();
        let res = http
            .post(format!("{}/login", app.base))
            .form(&[("email", email), ("password", password), ("next", "/")])
            .send()
            .await
            .expect("sign in");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed in");
        let b = Browser {
            http,
            base: app.base.clone(),
            jar: Mutex::new(BTreeMap::new()),
        };
        b.keep(res.headers());
        assert!(b.cookie().contains("roster_session="), "a session cookie");
        b
    }

    /// Takes the cookies a response sets; `Max-Age=0` removes one.
    fn keep(&self, headers: &HeaderMap) {
        let mut jar = self.jar.lock().unwrap();
        for set in headers.get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            if set.contains("Max-Age=0") || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie(&self) -> String {
        let jar = self.jar.lock().unwrap();
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn page(&self, res: reqwest::Response) -> Page {
        self.keep(res.headers());
        Page {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.expect("body"),
        }
    }

    async fn get(&self, path: &str) -> Page {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie())
            .send()
            .await
            .expect("get");
        self.page(res).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(path, form, &[]).await
    }

    async fn post_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie())
            .form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("post");
        self.page(res).await
    }
}

async fn owner_browser(app: &TestApp) -> Browser {
    Browser::sign_in(app, OWNER_EMAIL, OWNER_PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_policy_and_the_cookie_is_locked_down() {
    let app = spawn_app(Engine::Sqlite).await;
    let res = client()
        .post(format!("{}/login", app.base))
        .form(&[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(attr), "{attr} missing from {cookie}");
    }
    let b = owner_browser(&app).await;
    let page = b.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        !page.body.contains("<script>") && !page.body.contains(" style=\""),
        "no inline script or style, which the policy would block"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_pages_lead_to_sign_in_and_only_local_next_paths_are_followed() {
    let app = spawn_app(Engine::Sqlite).await;
    let res = client()
        .get(format!("{}/o/{ORG}/users?role=admin", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[LOCATION],
        "/login?next=%2Fo%2Facme%2Fusers%3Frole%3Dadmin"
    );
    for (next, expected) in [
        ("/o/acme/audit", "/o/acme/audit"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ] {
        let res = client()
            .post(format!("{}/login", app.base))
            .form(&[
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()[LOCATION], expected, "next={next}");
    }
    let res = client()
        .post(format!("{}/login", app.base))
        .form(&[("email", OWNER_EMAIL), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(SET_COOKIE).is_none());
    assert!(res.text().await.unwrap().contains("role=\"alert\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_this_sessions_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app(Engine::Sqlite).await;
    let b = owner_browser(&app).await;
    let other = owner_browser(&app).await;
    let other_token = other.get(&format!("/o/{ORG}/users/new")).await.csrf();
    let mine = b.get(&format!("/o/{ORG}/users/new")).await.csrf();
    assert_ne!(mine, other_token, "each session has its own token");
    let path = format!("/o/{ORG}/users/new");
    let person = [("email", "dwight@acme.test"), ("role", "viewer")];
    for token in ["", "forged", other_token.as_str()] {
        let mut form = person.to_vec();
        form.push(("_csrf", token));
        let page = b.post(&path, &form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "token {token:?}");
    }
    // The right token, but sent from another site.
    let mut form = person.to_vec();
    form.push(("_csrf", &mine));
    let page = b
        .post_with(&path, &form, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = b
        .post_with(&path, &form, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let token = app.owner().await;
    assert!(
        !emails(&app.users(ORG, &token, "").await).contains(&"dwight@acme.test".to_owned()),
        "no refused form added anyone"
    );
    // The same form with the session's own token works.
    let page = b.post(&path, &form).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(emails(&app.users(ORG, &token, "").await).contains(&"dwight@acme.test".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_temporary_password_is_shown_once_and_must_be_changed_at_first_sign_in() {
    let app = spawn_app(Engine::Sqlite).await;
    let b = owner_browser(&app).await;
    let csrf = b.get(&format!("/o/{ORG}/users/new")).await.csrf();
    let page = b
        .post(
            &format!("/o/{ORG}/users/new"),
            &[
                ("_csrf", &csrf),
                ("name", "Pam Beesly"),
                ("email", "pam@acme.test"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED);
    let marker = "id=\"temporary-password\" readonly value=\"";
    let start = page.body.find(marker).expect("the password is shown") + marker.len();
    let temp = &page.body[start..start + page.body[start..].find('"').unwrap()];
    assert!(temp.len() >= 10);
    for path in [format!("/o/{ORG}/users"), format!("/o/{ORG}/audit")] {
        let later = b.get(&path).await;
        assert_eq!(later.status, StatusCode::OK);
        assert!(
            !later.body.contains(temp),
            "{path} shows the password again"
        );
    }

    let pam = Browser::sign_in(&app, "pam@acme.test", temp).await;
    let page = pam.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/password")
    );
    let form = pam.get("/password").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();
    let mismatch = pam
        .post(
            "/password",
            &[
                ("_csrf", &csrf),
                ("current_password", temp),
                ("new_password", "pam-new-password"),
                ("confirm_password", "pam-other-password"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.body.contains("differ"));
    let done = pam
        .post(
            "/password",
            &[
                ("_csrf", &csrf),
                ("current_password", temp),
                ("new_password", "pam-new-password"),
                ("confirm_password", "pam-new-password"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = pam.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Your new password is saved"));
    app.login("pam@acme.test", "pam-new-password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_no_admin_buttons_and_posting_the_forms_anyway_is_refused() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let (dwight, _) = app
        .member(ORG, &owner, "dwight@acme.test", "contributor")
        .await;
    app.member(ORG, &owner, "kevin@acme.test", "viewer").await;
    let kevin = Browser::sign_in(&app, "kevin@acme.test", "kevin@acme.test-pw-123").await;

    let users = kevin.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(users.status, StatusCode::OK);
    for admin_only in [
        "Add user",
        "Invite people",
        ">Edit<",
        "/approvals",
        "/settings",
        "/audit",
    ] {
        assert!(
            !users.body.contains(admin_only),
            "a viewer sees {admin_only}"
        );
    }
    let edit = kevin.get(&format!("/o/{ORG}/users/{dwight}")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(
        edit.body.contains("<fieldset disabled>"),
        "the form is read-only"
    );
    assert!(!edit.body.contains("Remove from organization"));

    let csrf = users.csrf();
    let page = kevin
        .post(
            &format!("/o/{ORG}/users/new"),
            &[
                ("_csrf", &csrf),
                ("email", "toby@acme.test"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = kevin
        .post(
            &format!("/o/{ORG}/users/{dwight}"),
            &[("_csrf", &csrf), ("role", "viewer"), ("status", "active")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = kevin
        .post(
            &format!("/o/{ORG}/users/{dwight}/remove"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "back to the list with the reason"
    );
    let after = kevin.get(page.location()).await;
    assert!(
        after
            .body
            .contains("this needs the users:manage permission"),
        "{}",
        after.body
    );
    let page = kevin
        .post(
            &format!("/o/{ORG}/invitations/rows"),
            &[("_csrf", &csrf), ("emails", "a@acme.test")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    for path in ["settings", "audit", "approvals"] {
        let page = kevin.get(&format!("/o/{ORG}/{path}")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }

    let list = app.users(ORG, &owner, "").await;
    let all = emails(&list);
    assert!(!all.contains(&"toby@acme.test".to_owned()));
    let d = list
        .items
        .iter()
        .find(|m| m.email == "dwight@acme.test")
        .expect("dwight is still a member");
    assert_eq!(d.role, "contributor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_orgs_pages_ids_and_forms_are_not_found() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let (dwight, _) = app
        .member(ORG, &owner, "dwight@acme.test", "contributor")
        .await;
    // Jan owns another org and, once removed from acme, has no membership
    // in it.
    let (_, stranger) = app.member(ORG, &owner, "jan@globex.test", "viewer").await;
    app.post(
        "/api/v1/orgs",
        &stranger,
        json!({"slug": "globex", "name": "Globex"}),
    )
    .await
    .ok();
    let list = app.users(ORG, &owner, "email=jan@globex.test").await;
    let jan = list.items[0].id.unwrap();
    app.delete(&format!("/api/v1/orgs/{ORG}/users/{jan}"), &owner)
        .await
        .ok();

    let b = Browser::sign_in(&app, "jan@globex.test", "jan@globex.test-pw-123").await;
    let own = b.get("/o/globex/users").await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(
        !own.body.contains(">acme<") && !own.body.contains("value=\"acme\""),
        "acme is not in the switcher"
    );
    let csrf = own.csrf();
    for path in [
        format!("/o/{ORG}/users"),
        format!("/o/{ORG}/users/{dwight}"),
        format!("/o/{ORG}/invitations"),
        format!("/o/{ORG}/audit"),
        format!("/o/{ORG}/settings"),
        format!("/o/globex/users/{dwight}"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("dwight"), "{path} leaks the member");
    }
    let page = b
        .post(
            &format!("/o/{ORG}/users/{dwight}"),
            &[("_csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = b
        .post(
            &format!("/o/globex/users/{dwight}/remove"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(b.get(page.location()).await.body.contains("not found"));
    let list = app.users(ORG, &owner, "email=dwight@acme.test").await;
    assert_eq!(list.items[0].role, "contributor", "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_member_sends_only_what_changed() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let (dwight, _) = app
        .member(ORG, &owner, "dwight@acme.test", "contributor")
        .await;
    let name = app.users(ORG, &owner, "email=dwight").await.items[0]
        .name
        .clone();
    let b = owner_browser(&app).await;
    let edit = format!("/o/{ORG}/users/{dwight}");
    let csrf = b.get(&edit).await.csrf();
    let form = |team: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("name", name.clone()),
            ("role", "contributor".to_owned()),
            ("team", team.to_owned()),
            ("identity_provider", "password".to_owned()),
            ("status", "active".to_owned()),
            ("checkboxes", "1".to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let b = &b;
        let edit = &edit;
        async move {
            let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post(edit, &refs).await
        }
    };
    let updates = || async { app.audit(ORG, &owner, "action=member.update").await.len() };
    let before = updates().await;
    let page = post(form("")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(b
        .get(page.location())
        .await
        .body
        .contains("Nothing changed"));
    assert_eq!(updates().await, before, "an unchanged form writes nothing");

    let page = post(form("sales")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let events = app.audit(ORG, &owner, "action=member.update").await;
    assert_eq!(events.len(), before + 1);
    let changes = &events[0].details["changes"];
    assert_eq!(
        changes.as_object().map(|o| o.len()),
        Some(1),
        "only the team: {changes}"
    );
    assert_eq!(changes["team"]["to"], "sales");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_form_input_is_a_clear_error_and_writes_nothing() {
    let app = spawn_app(Engine::Sqlite).await;
    let b = owner_browser(&app).await;
    let csrf = b.get(&format!("/o/{ORG}/users/new")).await.csrf();
    let path = format!("/o/{ORG}/users/new");
    for (form, status, says) in [
        (
            vec![("email", "not-an-email")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            vec![("email", "x@acme.test"), ("role", "emperor")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown role",
        ),
        (
            vec![("email", "y@acme.test"), ("groups", "Not A Group!")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "group",
        ),
    ] {
        let mut form = form;
        form.push(("_csrf", &csrf));
        let page = b.post(&path, &form).await;
        assert_eq!(page.status, status, "{form:?}: {}", page.body);
        assert!(page.body.contains("role=\"alert\""), "the reason is shown");
        assert!(
            page.body.to_lowercase().contains(says),
            "{form:?}: {}",
            page.body
        );
    }
    let token = app.owner().await;
    assert_eq!(emails(&app.users(ORG, &token, "").await), [OWNER_EMAIL]);

    // A bad filter is shown on the page, not a server error.
    let page = b.get(&format!("/o/{ORG}/users?role=Not%20A%20Role")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("role=\"alert\""));
    let page = b.get(&format!("/o/{ORG}/audit?since=yesterday")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    // An id that is not a number names nothing.
    for path in [
        format!("/o/{ORG}/users/abc"),
        format!("/o/{ORG}/users/99999999999999999999"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("no such page"), "{}", page.body);
    }
    // A form the console cannot read.
    let page = b
        .post(
            &format!("/o/{ORG}/groups/sre/members"),
            &[("_csrf", &csrf), ("user", "abc")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_list_pages_through_members_then_invitations_keeping_its_filters() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let emails_to_invite: Vec<String> = (0..60).map(|i| format!("p{i:02}@acme.test")).collect();
    app.post(
        &format!("/api/v1/orgs/{ORG}/invitations"),
        &owner,
        json!({"emails": emails_to_invite.join(","), "role": "viewer"}),
    )
    .await
    .ok();
    let b = owner_browser(&app).await;
    let first = b.get(&format!("/o/{ORG}/users?role=viewer")).await;
    assert_eq!(first.status, StatusCode::OK);
    let rows = |body: &str| body.matches("<span class=\"badge invited\">").count();
    assert_eq!(rows(&first.body), 50);
    let marker = "<a href=\"";
    let next = first
        .body
        .split(marker)
        .filter_map(|s| s.split('"').next())
        .find(|href| href.contains("cursor="))
        .expect("a next-page link")
        .replace("&#38;", "&");
    assert!(next.contains("role=viewer"), "the filter stays: {next}");
    let second = b.get(&next).await;
    assert_eq!(rows(&second.body), 10);
    assert!(second.body.contains("« First page"));
    assert!(!second.body.contains("rel=\"next\""));
    assert!(
        !second.body.contains(&format!("<td>{OWNER_EMAIL}</td>"))
            && !first.body.contains(&format!("<td>{OWNER_EMAIL}</td>")),
        "the owner is not a viewer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_leaves_after_confirming_and_the_last_owner_cannot() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    app.member(ORG, &owner, "jim@acme.test", "contributor")
        .await;
    let jim = Browser::sign_in(&app, "jim@acme.test", "jim@acme.test-pw-123").await;
    let confirm = jim.get(&format!("/o/{ORG}/leave")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Leave acme?") || confirm.body.contains("Leave Acme"));
    let done = jim
        .post(&format!("/o/{ORG}/leave"), &[("_csrf", &confirm.csrf())])
        .await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/"));
    let gone = jim.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(!emails(&app.users(ORG, &owner, "").await).contains(&"jim@acme.test".to_owned()));

    let b = owner_browser(&app).await;
    let confirm = b.get(&format!("/o/{ORG}/leave")).await;
    let refused = b
        .post(&format!("/o/{ORG}/leave"), &[("_csrf", &confirm.csrf())])
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let page = b.get(refused.location()).await;
    assert!(
        page.body.contains("at least one active owner"),
        "{}",
        page.body
    );
    assert!(emails(&app.users(ORG, &owner, "").await).contains(&OWNER_EMAIL.to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_flash_message_and_an_outside_switch_target_are_ignored() {
    let app = spawn_app(Engine::Sqlite).await;
    let b = owner_browser(&app).await;
    // "notice~" + base64url("You won a prize") + a signature that is not ours.
    b.jar.lock().unwrap().insert(
        "roster_flash".into(),
        "notice~WW91IHdvbiBhIHByaXpl~0123456789abcdef0123456789abcdef".into(),
    );
    let page = b.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("You won a prize"));
    for target in ["//evil.example", "https://evil.example", "acme/../../x"] {
        let res = b.get(&format!("/switch?org={target}&section=users")).await;
        assert_eq!(res.location(), "/", "{target}");
    }
    let res = b.get(&format!("/switch?org={ORG}&section=audit")).await;
    assert_eq!(res.location(), "/o/acme/audit");
    let res = b.get(&format!("/switch?org={ORG}&section=../../api")).await;
    assert_eq!(res.location(), "/o/acme/users");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_saves_joining_settings_but_not_the_name_and_an_unchanged_form_changes_nothing() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    app.member(ORG, &owner, "angela@acme.test", "admin").await;
    let angela = Browser::sign_in(&app, "angela@acme.test", "angela@acme.test-pw-123").await;
    let page = angela.get(&format!("/o/{ORG}/settings")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let joining = [
        ("_csrf", csrf.as_str()),
        ("allowed_domains", "acme.test"),
        ("self_registration", "on"),
        ("invitation_hours", "48"),
        ("default_role", "viewer"),
    ];
    // The organization fieldset is disabled for an admin, so it is not sent.
    let saved = angela.post(&format!("/o/{ORG}/settings"), &joining).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let org = app.get(&format!("/api/v1/orgs/{ORG}"), &owner).await.ok();
    assert_eq!(org["settings"]["allowed_domains"], json!(["acme.test"]));
    assert_eq!(org["settings"]["self_registration"], true);
    assert_eq!(org["settings"]["invitation_ttl_seconds"], 48 * 3600);
    let audit_before = app.audit(ORG, &owner, "action=org.update").await.len();

    // Posting the same values again writes nothing.
    let again = angela.post(&format!("/o/{ORG}/settings"), &joining).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.audit(ORG, &owner, "action=org.update").await.len(),
        audit_before
    );

    // The name needs org:manage.
    let mut renamed = joining.to_vec();
    renamed.push(("name", "Acme Evil"));
    let refused = angela.post(&format!("/o/{ORG}/settings"), &renamed).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("org:manage"), "{}", refused.body);
    let org = app.get(&format!("/api/v1/orgs/{ORG}"), &owner).await.ok();
    assert_ne!(org["name"], "Acme Evil");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_is_connected_from_settings_and_its_secrets_are_never_shown_again() {
    let app = spawn_outbound_open(Engine::Sqlite).await;
    // A Slack Web API on loopback: the connection is checked with auth.test.
    let (_slack, base) = crate::slack::FakeSlack::start().await;
    let b = owner_browser(&app).await;
    let csrf = b.get(&format!("/o/{ORG}/settings")).await.csrf();
    let secret = "console-signing-secret-42";
    let token = "xoxb-console-token-42";
    let done = b
        .post(
            &format!("/o/{ORG}/settings/slack"),
            &[
                ("_csrf", csrf.as_str()),
                ("channel", "CREVIEW"),
                ("signing_secret", secret),
                ("bot_token", token),
                ("api_base_url", &base),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = b.get(done.location()).await;
    assert!(
        page.body.contains("Slack is connected to workspace T0001"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Connected to workspace <b>T0001</b>"));
    assert!(
        !page.body.contains(secret) && !page.body.contains(token),
        "no secret on the page"
    );

    let done = b
        .post(
            &format!("/o/{ORG}/settings/slack/disconnect"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    let page = b.get(done.location()).await;
    assert!(page.body.contains("Slack is disconnected"));
    assert!(page.body.contains("Not connected"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_demoting_each_other_from_the_console_at_once_leave_one_owner() {
    let app = spawn_app(Engine::Postgres).await;
    let owner = app.owner().await;
    let (michael, _) = app.member(ORG, &owner, "michael@acme.test", "owner").await;
    let list = app
        .users(ORG, &owner, &format!("email={OWNER_EMAIL}"))
        .await;
    let first = list.items[0].id.unwrap();
    let a = owner_browser(&app).await;
    let b = Browser::sign_in(&app, "michael@acme.test", "michael@acme.test-pw-123").await;
    let (ca, cb) = (
        a.get(&format!("/o/{ORG}/users")).await.csrf(),
        b.get(&format!("/o/{ORG}/users")).await.csrf(),
    );
    let (pa, pb) = (
        format!("/o/{ORG}/users/{michael}"),
        format!("/o/{ORG}/users/{first}"),
    );
    let fa = [("_csrf", ca.as_str()), ("role", "admin")];
    let fb = [("_csrf", cb.as_str()), ("role", "admin")];
    let (ra, rb) = tokio::join!(a.post(&pa, &fa), b.post(&pb, &fb));
    // The loser is refused: by the time its change runs under the org's
    // lock, it is either the last owner (409) or no longer an owner (403).
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(
        statuses[0],
        StatusCode::SEE_OTHER,
        "one demotion wins: {statuses:?}"
    );
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::CONFLICT].contains(&statuses[1]),
        "the other is refused: {statuses:?}"
    );
    let owners = app.users(ORG, &owner, "role=owner").await;
    assert_eq!(emails(&owners).len(), 1, "exactly one owner remains");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_made_in_the_console_is_shown_once_works_and_is_revoked_there() {
    let app = spawn_app(Engine::Sqlite).await;
    let b = owner_browser(&app).await;
    let csrf = b.get(&format!("/o/{ORG}/tokens")).await.csrf();
    let page = b
        .post(
            &format!("/o/{ORG}/tokens"),
            &[
                ("_csrf", &csrf),
                ("name", "laptop"),
                ("permissions", "users:read, clusters:read"),
                ("expires_days", "30"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    let marker = "id=\"new-token\" readonly value=\"";
    let start = page.body.find(marker).expect("the token is shown") + marker.len();
    let token = page.body[start..start + page.body[start..].find('"').unwrap()].to_owned();
    assert!(token.starts_with("rst_"));
    // It works, with what the form named, and is never shown again.
    let api = app.client_as(&token);
    api.org(ORG).await.unwrap();
    let listed = b.get(&format!("/o/{ORG}/tokens")).await;
    assert!(listed.body.contains("laptop") && listed.body.contains("users:read, clusters:read"));
    assert!(!listed.body.contains(&token), "the secret is shown once");
    // A bad request is a clear error on the page, and makes nothing.
    let bad = b
        .post(
            &format!("/o/{ORG}/tokens"),
            &[
                ("_csrf", &csrf),
                ("name", "odd"),
                ("permissions", "clusters:explode"),
                ("expires_days", "30"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("unknown permission"));
    // Revoked from the page: it stops at once.
    let id = app
        .owner()
        .await
        .list_tokens(ORG, false)
        .await
        .unwrap()
        .items[0]
        .id;
    let done = b
        .post(&format!("/o/{ORG}/tokens/{id}/revoke"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    api.org(ORG).await.refused(401, "unauthenticated");
    // A service account made in the console gets a token there too.
    let csrf = b.get(&format!("/o/{ORG}/service-accounts")).await.csrf();
    let made = b
        .post(
            &format!("/o/{ORG}/service-accounts"),
            &[
                ("_csrf", &csrf),
                ("name", "platform"),
                ("role", "viewer"),
                ("description", "deploys"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let sa = app
        .owner()
        .await
        .list_service_accounts(ORG)
        .await
        .unwrap()
        .items[0]
        .id;
    let page = b
        .post(
            &format!("/o/{ORG}/service-accounts/{sa}/tokens"),
            &[
                ("_csrf", &csrf),
                ("name", "checks"),
                ("permissions", "users:read"),
                ("expires_days", "90"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(page.body.contains("id=\"new-token\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mfa_policy_walks_a_member_into_enrolment_and_an_admin_resets_it_from_the_member_page()
{
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let (pam_id, _) = app.member(ORG, &owner, "pam@acme.test", "viewer").await;
    let step = crate::mfa::fresh_step().await;
    let (owner_secret, _) = crate::mfa::enrol(&owner, step - 1).await;
    owner
        .update_org(
            ORG,
            &roster_proto::UpdateOrgRequest {
                mfa_policy: Some("required".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // Pam has no second factor: every page of the org sends her to enrol.
    let pam = Browser::sign_in(&app, "pam@acme.test", "pam@acme.test-pw-123").await;
    let page = pam.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/profile/mfa")
    );
    let form = pam.get("/profile/mfa").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("requires a second factor"));
    let csrf = form.csrf();
    let started = pam.post("/profile/mfa/start", &[("_csrf", &csrf)]).await;
    assert_eq!(started.status, StatusCode::OK);
    assert!(started.body.contains("<svg"), "the QR code");
    let marker = "<code class=\"secret\">";
    let at = started.body.find(marker).expect("the secret") + marker.len();
    let secret = &started.body[at..at + started.body[at..].find('<').unwrap()];
    let done = pam
        .post(
            "/profile/mfa/confirm",
            &[("_csrf", &csrf), ("code", &crate::mfa::totp(secret, step))],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Your recovery codes"));
    assert_eq!(
        done.headers.get("cache-control").unwrap(),
        "no-store",
        "recovery codes are not cached"
    );
    assert_eq!(
        pam.get(&format!("/o/{ORG}/users")).await.status,
        StatusCode::OK
    );

    // The owner's password alone opens nothing: the code is asked first.
    let b = owner_browser(&app).await;
    let page = b.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/login/mfa")
    );
    let csrf = b.get("/login/mfa").await.csrf();
    let wrong = b
        .post(
            "/login/mfa",
            &[
                ("_csrf", &csrf),
                ("code", &crate::mfa::totp(&owner_secret, step + 5)),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = b
        .post(
            "/login/mfa",
            &[
                ("_csrf", &csrf),
                ("code", &crate::mfa::totp(&owner_secret, step)),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    let team = b.get(&format!("/o/{ORG}/users?mfa=true")).await;
    assert!(team.body.contains("pam@acme.test"));
    let team = b.get(&format!("/o/{ORG}/users?mfa=false")).await;
    assert!(!team.body.contains("pam@acme.test"));

    // Pam belongs to no other org: the owner resets her second factor from
    // her page; her sessions end.
    let member = b.get(&format!("/o/{ORG}/users/{pam_id}")).await;
    assert!(member.body.contains("Reset two-factor sign-in"));
    let csrf = member.csrf();
    let reset = b
        .post(
            &format!("/o/{ORG}/users/{pam_id}/mfa-reset"),
            &[("_csrf", &csrf)],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    let after = pam.get(&format!("/o/{ORG}/users")).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(
        after.location().starts_with("/login"),
        "{}",
        after.location()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_the_chain_head_and_ones_own_activity_in_the_console() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let b = owner_browser(&app).await;
    // The webhooks page: a private address refused, a public one added with
    // its secret shown once, then tested (it cannot be reached) and deleted.
    let page = b.get(&format!("/o/{ORG}/webhooks")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let refused = b
        .post(
            &format!("/o/{ORG}/webhooks"),
            &[
                ("_csrf", csrf.as_str()),
                ("url", "http://10.0.0.1/hook"),
                ("events", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("loopback, private or link-local"),
        "{}",
        refused.body
    );
    let made = b
        .post(
            &format!("/o/{ORG}/webhooks"),
            &[
                ("_csrf", csrf.as_str()),
                ("url", "http://roster-console-hook.invalid/hook"),
                ("events", "member., group.create"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.body.contains("whsec_"), "the secret is shown once");
    assert!(made.body.contains("member., group.create"));
    let again = b.get(&format!("/o/{ORG}/webhooks")).await;
    assert!(!again.body.contains("whsec_"), "and never again");
    let id = owner.list_webhooks(ORG).await.unwrap().items[0].id;
    let tested = b
        .post(
            &format!("/o/{ORG}/webhooks/{id}/test"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    let page = b.get(tested.location()).await;
    assert!(
        page.body
            .contains(&format!("Test delivery to webhook {id} failed")),
        "{}",
        page.body
    );
    let deleted = b
        .post(
            &format!("/o/{ORG}/webhooks/{id}/delete"),
            &[("_csrf", csrf.as_str())],
        )
        .await;
    let page = b.get(deleted.location()).await;
    assert!(page.body.contains(&format!("Deleted webhook {id}.")));
    // The audit page shows the chain's head, and verifies on request.
    let v = owner.audit_verify(ORG).await.unwrap();
    let audit = b.get(&format!("/o/{ORG}/audit")).await;
    assert!(audit.body.contains(&v.head_hash), "{}", audit.body);
    let verified = b.get(&format!("/o/{ORG}/audit?verify=1")).await;
    assert!(
        verified.body.contains("The chain verifies"),
        "{}",
        verified.body
    );
    // A viewer sees neither the webhooks link nor the page.
    let (_, _) = app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    let v = Browser::sign_in(&app, "viewer@acme.test", "viewer@acme.test-pw-123").await;
    let users = v.get(&format!("/o/{ORG}/users")).await;
    assert!(!users.body.contains("/webhooks\""));
    assert_eq!(
        v.get(&format!("/o/{ORG}/webhooks")).await.status,
        StatusCode::FORBIDDEN
    );
    // The viewer's profile lists their own password change.
    let profile = v.get("/profile").await;
    assert!(
        profile.body.contains("user.password_change"),
        "{}",
        profile.body
    );
}

/// The SSO settings page: a connection added (its secret never shown
/// again), mappings saved, and the test button running a sign-in at the
/// real provider whose page shows the claims received and what the
/// mappings give, signing nobody in. The sign-in page offers SSO.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_is_set_up_and_tested_from_the_console() {
    use crate::sso::{callback, consent, refresh_target, sso_cookie, Provider};
    let idp = Provider::start(&[]).await;
    let app = spawn_outbound_open(Engine::Sqlite).await;
    let owner = app.owner().await;
    let b = owner_browser(&app).await;
    let page = b.get(&format!("/o/{ORG}/settings/sso")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("/api/v1/auth/sso/callback"));
    let csrf = page.csrf();
    let added = b
        .post(
            &format!("/o/{ORG}/settings/sso"),
            &[
                ("_csrf", csrf.as_str()),
                ("name", "corp-idp"),
                ("issuer", idp.base.as_str()),
                ("client_id", "roster"),
                ("client_secret", "console-secret-1"),
                ("domains", "corp.test"),
                ("jit", "on"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = b.get(&format!("/o/{ORG}/settings/sso")).await;
    assert!(page.body.contains("corp-idp") && page.body.contains("corp.test"));
    assert!(
        !page.body.contains("console-secret-1"),
        "the secret is never shown"
    );
    let saved = b
        .post(
            &format!("/o/{ORG}/settings/sso/mappings"),
            &[
                ("_csrf", csrf.as_str()),
                ("mappings", "eng, engineering, contributor\nops, ops,"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/o/{ORG}/settings/sso")).await;
    assert!(
        page.body.contains("eng, engineering, contributor"),
        "{}",
        page.body
    );

    let id = owner.list_sso_connections(ORG).await.unwrap().items[0].id;
    idp.set_user(
        "alice-1",
        serde_json::json!({"email": "alice@corp.test", "email_verified": true,
            "name": "Alice", "groups": ["eng"]}),
    )
    .await;
    let res = b
        .http
        .post(format!("{}/o/{ORG}/settings/sso/{id}/test", app.base))
        .header(COOKIE, b.cookie())
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = sso_cookie(&res);
    let to = refresh_target(&res.text().await.unwrap());
    assert!(to.starts_with(&idp.base), "{to}");
    let back = consent(&to, "alice-1").await;
    let res = callback(&back, &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("roster_session=rss_")));
    let shown = res.text().await.unwrap();
    assert!(shown.contains("alice@corp.test"), "{shown}");
    assert!(shown.contains("Nobody was signed in"), "{shown}");
    assert!(
        shown.contains("<td id=\"sso-role\">contributor</td>"),
        "{shown}"
    );
    assert!(
        shown.contains("<td id=\"sso-mapped\">engineering</td>"),
        "{shown}"
    );
    app.login_res("alice@corp.test", "anything")
        .await
        .refused(401, "invalid_credentials");

    // The sign-in page has the SSO form (its button shown by the script
    // once the domain has SSO).
    let login = client()
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("Continue with SSO") && login.contains("action=\"/login/sso\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_token_made_in_the_console_is_shown_once_provisions_and_is_revoked_there() {
    let app = spawn_app(Engine::Sqlite).await;
    let b = owner_browser(&app).await;
    let page = b.get(&format!("/o/{ORG}/scim")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("/scim/v2"), "the base URL is shown");
    let csrf = page.csrf();
    let made = b
        .post(
            &format!("/o/{ORG}/scim"),
            &[("_csrf", &csrf), ("name", "entra")],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let marker = "id=\"new-secret\" readonly value=\"";
    let start = made.body.find(marker).expect("the token is shown") + marker.len();
    let token = made.body[start..start + made.body[start..].find('"').unwrap()].to_owned();
    assert!(token.starts_with("rsc_"));
    let scim = |token: String| {
        let url = format!("{}/scim/v2/Users", app.base);
        async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(scim(token.clone()).await, StatusCode::OK);
    let listed = b.get(&format!("/o/{ORG}/scim")).await;
    assert!(listed.body.contains("entra") && !listed.body.contains(&token));
    let bad = b
        .post(
            &format!("/o/{ORG}/scim"),
            &[("_csrf", &csrf), ("name", " ")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let id = app.owner().await.list_scim_tokens(ORG).await.unwrap().items[0].id;
    let done = b
        .post(&format!("/o/{ORG}/scim/{id}/revoke"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(scim(token).await, StatusCode::UNAUTHORIZED);
    // A viewer has no such page.
    let owner = app.owner().await;
    app.member(ORG, &owner, "viewer@acme.test", "viewer").await;
    let viewer = Browser::sign_in(&app, "viewer@acme.test", "viewer@acme.test-pw-123").await;
    let page = viewer.get(&format!("/o/{ORG}/users")).await;
    assert!(!page.body.contains(&format!("/o/{ORG}/scim")));
    let refused = viewer.get(&format!("/o/{ORG}/scim")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
