//! Passkeys through the API, answered by webauthn-authenticator-rs's
//! software authenticator (`SoftPasskey`: a P-256 key in memory that
//! signs what a browser's authenticator would). The browser flow, with
//! Chromium's virtual authenticator, is in `tests/console/passkeys.test.mjs`.
//!
//! The software authenticator keeps no discoverable credentials and finds
//! its key through `allowCredentials`, so the tests name the credential in
//! the sign-in options as a client that remembers it would; the server's
//! challenge itself names no account.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{
    LoginRequest, PasskeyAssertion, PasskeyChallengeView, PasskeyRegistrationRequest,
    RemoveMfaRequest, SecondFactorRequest, TokenRequest, UpdateOrgRequest,
};
use serde_json::{json, Value};
use std::time::Duration;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

both_engines!(
    a_passkey_is_registered_then_signs_in_as_the_second_factor_and_alone,
    passkey_ceremonies_refuse_bad_answers_and_change_nothing,
    removing_a_passkey_needs_the_password_and_a_second_factor_and_ends_other_sessions,
    a_passkey_satisfies_an_orgs_mfa_policy,
    passkey_guesses_are_throttled,
    sign_in_challenges_are_limited_per_client,
);

const PAM: &str = "pam@acme.test";
const PAM_PW: &str = "pam@acme.test-pw-123";
const JIM: &str = "jim@acme.test";

/// A software authenticator and the credential ids it registered.
struct Device {
    auth: SoftPasskey,
    ids: Vec<String>,
}

impl Device {
    fn new() -> Device {
        // `true`: claims user verification (a PIN), which passkeys require.
        Device {
            auth: SoftPasskey::new(true),
            ids: vec![],
        }
    }
}

/// The origin the server's relying party expects: its public URL, with a
/// loopback address served as `localhost`.
fn origin(app: &TestApp) -> Url {
    let mut u = Url::parse(&app.app.settings().public_url).unwrap();
    u.set_host(Some("localhost")).unwrap();
    u
}

/// The authenticator's answer to a registration challenge (JSON).
fn create(app: &TestApp, device: &mut Device, c: &PasskeyChallengeView) -> Value {
    let mut options = c.options.clone();
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"], "required",
        "passkeys are registered as discoverable credentials"
    );
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    // The software authenticator cannot keep resident keys; it is told
    // only the old flag, which it checks.
    options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
    let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let reg = device
        .auth
        .do_registration(origin(app), ccr)
        .expect("the authenticator registers");
    let v = serde_json::to_value(&reg).unwrap();
    device.ids.push(v["id"].as_str().unwrap().to_owned());
    v
}

/// Registers a passkey of `device` for `who`, named `name`; its id.
async fn register(app: &TestApp, who: &Api, device: &mut Device, name: &str) -> i64 {
    let c = who.start_passkey_registration().await.unwrap();
    who.answered(201);
    let credential = create(app, device, &c);
    let added = who
        .add_passkey(&PasskeyRegistrationRequest {
            challenge_id: c.challenge_id,
            name: name.into(),
            credential,
        })
        .await
        .unwrap();
    assert_eq!(added.name, name);
    added.id
}

/// The authenticator's answer to sign-in challenge `c`, with the
/// credential it was registered as named in the options.
fn get(app: &TestApp, device: &mut Device, c: &PasskeyChallengeView) -> Value {
    let mut options = c.options.clone();
    assert!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "a sign-in challenge names no account"
    );
    options["publicKey"]["allowCredentials"] = device
        .ids
        .iter()
        .map(|id| json!({ "type": "public-key", "id": id }))
        .collect();
    let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let cred = device
        .auth
        .do_authentication(origin(app), rcr)
        .expect("the authenticator signs");
    serde_json::to_value(&cred).unwrap()
}

/// A fresh sign-in challenge answered by `device`.
async fn answer(app: &TestApp, device: &mut Device) -> PasskeyAssertion {
    let c = app.client().passkey_challenge().await.unwrap();
    let credential = get(app, device, &c);
    PasskeyAssertion {
        challenge_id: c.challenge_id,
        credential,
    }
}

fn with_passkey(email: &str, password: &str, a: PasskeyAssertion) -> LoginRequest {
    LoginRequest {
        email: email.into(),
        password: password.into(),
        totp_code: None,
        recovery_code: None,
        passkey: Some(a),
    }
}

async fn personal_audit(app: &TestApp, id: i64) -> Vec<String> {
    let mut conn = app.app.store().conn().await.unwrap();
    roster_store::audit::actions_without_org(&mut conn, &format!("user:{id}"))
        .await
        .unwrap()
}

async fn a_passkey_is_registered_then_signs_in_as_the_second_factor_and_alone(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (id, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let mut laptop = Device::new();
    let mut phone = Device::new();
    let first = register(&app, &pam, &mut laptop, "Laptop").await;
    pam.answered(201);
    let second = register(&app, &pam, &mut phone, "Phone").await;
    let list = pam.passkeys().await.unwrap();
    assert_eq!(
        list.iter()
            .map(|p| (p.id, p.name.as_str()))
            .collect::<Vec<_>>(),
        [(first, "Laptop"), (second, "Phone")]
    );
    assert!(list.iter().all(|p| p.last_used_at.is_none()));
    let status = pam.mfa_status().await.unwrap();
    assert!(!status.totp);
    assert_eq!(status.passkeys, 2);

    // The password alone is not enough now, and the answer says a passkey
    // is what the account has.
    let p = app
        .login_res(PAM, PAM_PW)
        .await
        .refused(401, "mfa_required");
    assert_eq!(p.methods, ["passkey"]);
    // A passkey as the second factor.
    let a = answer(&app, &mut laptop).await;
    let signed_in = app
        .client()
        .login(&with_passkey(PAM, PAM_PW, a))
        .await
        .unwrap();
    assert!(!signed_in.mfa_required);
    app.client_as(&signed_in.token).me().await.unwrap();
    // A wrong password with a good passkey is still a wrong password.
    let a = answer(&app, &mut laptop).await;
    app.client()
        .login(&with_passkey(PAM, "not-the-password", a))
        .await
        .refused(401, "invalid_credentials");

    // A passkey alone signs in.
    let a = answer(&app, &mut phone).await;
    let alone = app.client().sign_in_with_passkey(&a).await.unwrap();
    assert!(!alone.mfa_required && !alone.password_change_required);
    assert_eq!(alone.user.email, PAM);
    let me = app.client_as(&alone.token).me().await.unwrap();
    assert_eq!(me.user.email, PAM);

    // A session a magic link opened owes the second factor; a passkey
    // gives it.
    app.client().request_magic_link(PAM).await.unwrap();
    let token = {
        let mail = app.mail_to(PAM).await;
        let m = mail.iter().find(|m| m.kind == "magic_link").unwrap();
        let at = m.body_text.find("/login/link/").unwrap() + "/login/link/".len();
        m.body_text[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let owing = app.client().sign_in_with_link(&token).await.unwrap();
    assert!(owing.mfa_required);
    let session = app.client_as(&owing.token);
    let p = session.me().await.refused(401, "mfa_required");
    assert_eq!(p.methods, ["passkey"]);
    session
        .give_second_factor(&SecondFactorRequest {
            passkey: Some(answer(&app, &mut laptop).await),
            ..Default::default()
        })
        .await
        .unwrap();
    session.me().await.unwrap();

    // Rename; the list shows when each was last used.
    let renamed = pam.rename_passkey(first, "  Work laptop ").await.unwrap();
    assert_eq!(renamed.name, "Work laptop");
    pam.rename_passkey(first, "")
        .await
        .refused(422, "validation_failed");
    pam.rename_passkey(first + 100, "Nope")
        .await
        .refused(404, "not_found");
    let list = pam.passkeys().await.unwrap();
    assert_eq!(list[0].name, "Work laptop");
    assert!(list.iter().all(|p| p.last_used_at.is_some()), "{list:?}");

    // Another account sees none of them and cannot rename them.
    let (_, jim) = app.member(ORG, &owner, JIM, "viewer").await;
    assert!(jim.passkeys().await.unwrap().is_empty());
    jim.rename_passkey(first, "Mine")
        .await
        .refused(404, "not_found");

    // The team list counts a passkey as MFA.
    let page = app.users(ORG, &owner, "mfa=true").await;
    assert!(emails(&page).contains(&PAM.to_owned()), "{page:?}");

    // Sign-ins with a passkey alone are counted by method and outcome.
    let metrics = app.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("roster_sign_ins_total{")
                && l.contains("method=\"passkey\"")
                && l.contains("outcome=\"success\"")
                && !l.ends_with(" 0")),
        "{metrics}"
    );

    let actions = personal_audit(&app, id).await;
    for a in [
        "user.passkey_added",
        "user.second_factor",
        "user.passkey_sign_in",
        "user.passkey_renamed",
        "user.magic_link_used",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing: {actions:?}");
    }
}

async fn passkey_ceremonies_refuse_bad_answers_and_change_nothing(engine: Engine) {
    let clock = roster_server::app::ManualClock::default();
    let app = spawn_with_clock(engine, clock.clone()).await;
    let owner = app.owner().await;
    let (pam_id, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let (_, jim) = app.member(ORG, &owner, JIM, "viewer").await;
    let mut pams = Device::new();
    let mut jims = Device::new();
    register(&app, &pam, &mut pams, "Pam's key").await;
    register(&app, &jim, &mut jims, "Jim's key").await;

    // A registration challenge is bound to the account that started it.
    let c = jim.start_passkey_registration().await.unwrap();
    let credential = create(&app, &mut Device::new(), &c);
    pam.add_passkey(&PasskeyRegistrationRequest {
        challenge_id: c.challenge_id.clone(),
        name: "Stolen".into(),
        credential: credential.clone(),
    })
    .await
    .refused(400, "passkey_challenge_invalid");
    // ... and works once: that attempt used it up.
    jim.add_passkey(&PasskeyRegistrationRequest {
        challenge_id: c.challenge_id,
        name: "Second".into(),
        credential,
    })
    .await
    .refused(400, "passkey_challenge_invalid");
    // A sign-in challenge does not register, and a registration challenge
    // does not sign in.
    let sign_in = app.client().passkey_challenge().await.unwrap();
    let reg = pam.start_passkey_registration().await.unwrap();
    let credential = create(&app, &mut Device::new(), &reg);
    pam.add_passkey(&PasskeyRegistrationRequest {
        challenge_id: sign_in.challenge_id,
        name: "Wrong kind".into(),
        credential,
    })
    .await
    .refused(400, "passkey_challenge_invalid");
    let signed = answer(&app, &mut pams).await;
    app.client()
        .sign_in_with_passkey(&PasskeyAssertion {
            challenge_id: reg.challenge_id,
            credential: signed.credential,
        })
        .await
        .refused(400, "passkey_challenge_invalid");
    // A malformed credential.
    let c = pam.start_passkey_registration().await.unwrap();
    pam.add_passkey(&PasskeyRegistrationRequest {
        challenge_id: c.challenge_id,
        name: "Junk".into(),
        credential: json!({ "id": "x" }),
    })
    .await
    .refused(422, "passkey_malformed");

    // An assertion is used once: replayed, it is refused.
    let a = answer(&app, &mut pams).await;
    app.client().sign_in_with_passkey(&a).await.unwrap();
    app.client()
        .sign_in_with_passkey(&a)
        .await
        .refused(400, "passkey_challenge_invalid");
    // An answer signed over one challenge, sent with another's id.
    let signed = answer(&app, &mut pams).await;
    let other = app.client().passkey_challenge().await.unwrap();
    app.client()
        .sign_in_with_passkey(&PasskeyAssertion {
            challenge_id: other.challenge_id,
            credential: signed.credential,
        })
        .await
        .refused(401, "passkey_rejected");
    // An unknown challenge id.
    let mut unknown = answer(&app, &mut pams).await;
    unknown.challenge_id = "rsw_not-a-challenge".into();
    app.client()
        .sign_in_with_passkey(&unknown)
        .await
        .refused(400, "passkey_challenge_invalid");
    // A credential no account registered.
    let mut stranger = Device::new();
    let c = jim.start_passkey_registration().await.unwrap();
    create(&app, &mut stranger, &c);
    let a = answer(&app, &mut stranger).await;
    app.client()
        .sign_in_with_passkey(&a)
        .await
        .refused(401, "passkey_unknown");
    // Jim's passkey as Pam's second factor.
    let a = answer(&app, &mut jims).await;
    app.client()
        .login(&with_passkey(PAM, PAM_PW, a))
        .await
        .refused(401, "passkey_rejected");
    // An expired challenge (five minutes).
    let late = app.client().passkey_challenge().await.unwrap();
    let credential = get(&app, &mut pams, &late);
    clock.advance(Duration::from_secs(6 * 60));
    app.client()
        .sign_in_with_passkey(&PasskeyAssertion {
            challenge_id: late.challenge_id,
            credential,
        })
        .await
        .refused(400, "passkey_challenge_invalid");

    // Nothing changed: each has their one passkey.
    assert_eq!(pam.passkeys().await.unwrap().len(), 1);
    assert_eq!(jim.passkeys().await.unwrap().len(), 1);
    // The failed second factor is in Pam's audit; Jim's key was not
    // "used".
    let actions = personal_audit(&app, pam_id).await;
    assert!(
        actions.iter().any(|x| x == "user.second_factor_failed"),
        "{actions:?}"
    );
    assert!(jim.passkeys().await.unwrap()[0].last_used_at.is_none());

    // An API token cannot touch its owner's passkeys.
    let owners = owner
        .create_token(
            ORG,
            &TokenRequest {
                name: "scripts".into(),
                permissions: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let token = app.client_as(&owners.token);
    token.passkeys().await.refused(403, "session_required");
    token
        .start_passkey_registration()
        .await
        .refused(403, "session_required");
    token
        .rename_passkey(1, "x")
        .await
        .refused(403, "session_required");
}

async fn removing_a_passkey_needs_the_password_and_a_second_factor_and_ends_other_sessions(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (id, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let mut laptop = Device::new();
    let mut phone = Device::new();
    let first = register(&app, &pam, &mut laptop, "Laptop").await;
    register(&app, &pam, &mut phone, "Phone").await;
    // Signed in twice: the second session ends with the removal.
    let other = app
        .client()
        .sign_in_with_passkey(&answer(&app, &mut phone).await)
        .await
        .unwrap();
    let other = app.client_as(&other.token);
    other.me().await.unwrap();

    let remove = |password: &str, passkey: Option<PasskeyAssertion>| RemoveMfaRequest {
        password: password.into(),
        totp_code: None,
        recovery_code: None,
        passkey,
    };
    let p = pam
        .remove_passkey(first, &remove(PAM_PW, None))
        .await
        .refused(401, "mfa_required");
    assert_eq!(p.methods, ["passkey"]);
    pam.remove_passkey(
        first,
        &remove("wrong-password", Some(answer(&app, &mut phone).await)),
    )
    .await
    .refused(401, "invalid_credentials");
    pam.remove_passkey(
        first + 100,
        &remove(PAM_PW, Some(answer(&app, &mut phone).await)),
    )
    .await
    .refused(404, "not_found");
    assert_eq!(pam.passkeys().await.unwrap().len(), 2);
    pam.remove_passkey(first, &remove(PAM_PW, Some(answer(&app, &mut phone).await)))
        .await
        .unwrap();
    pam.answered(204);
    let left = pam.passkeys().await.unwrap();
    assert_eq!(
        left.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["Phone"]
    );
    other.me().await.refused(401, "unauthenticated");
    // The removed passkey no longer signs in.
    app.client()
        .sign_in_with_passkey(&answer(&app, &mut laptop).await)
        .await
        .refused(401, "passkey_unknown");
    let actions = personal_audit(&app, id).await;
    assert!(
        actions.iter().any(|x| x == "user.passkey_removed"),
        "{actions:?}"
    );

    // An admin's reset removes passkeys too.
    let (jim_id, jim) = app.member(ORG, &owner, JIM, "viewer").await;
    register(&app, &jim, &mut Device::new(), "Jim's").await;
    owner.reset_member_mfa(ORG, jim_id).await.unwrap();
    assert!(app
        .login_res(JIM, "jim@acme.test-pw-123")
        .await
        .unwrap()
        .token
        .starts_with("rss_"));
}

async fn a_passkey_satisfies_an_orgs_mfa_policy(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    owner
        .update_org(
            ORG,
            &UpdateOrgRequest {
                mfa_policy: Some("required".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    pam.list_members(ORG, &members(""))
        .await
        .refused(403, "mfa_enrolment_required");
    // Enrolling a passkey is open to a session that must enrol.
    let mut key = Device::new();
    register(&app, &pam, &mut key, "Key").await;
    pam.list_members(ORG, &members("")).await.unwrap();
    // The next sign-in asks for it, and it is enough.
    app.login_res(PAM, PAM_PW)
        .await
        .refused(401, "mfa_required");
    let login = app
        .client()
        .login(&with_passkey(PAM, PAM_PW, answer(&app, &mut key).await))
        .await
        .unwrap();
    assert!(!login.mfa_enrolment_required && !login.mfa_required);
    app.client_as(&login.token)
        .list_members(ORG, &members(""))
        .await
        .unwrap();
}

async fn passkey_guesses_are_throttled(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let (_, jim) = app.member(ORG, &owner, JIM, "viewer").await;
    let mut pams = Device::new();
    let mut jims = Device::new();
    register(&app, &pam, &mut pams, "Pam's").await;
    register(&app, &jim, &mut jims, "Jim's").await;
    // Jim's key offered as Pam's second factor, again and again.
    for _ in 0..5 {
        app.client()
            .login(&with_passkey(PAM, PAM_PW, answer(&app, &mut jims).await))
            .await
            .refused(401, "passkey_rejected");
    }
    // Now even Pam's own key is not checked from this client.
    app.client()
        .login(&with_passkey(PAM, PAM_PW, answer(&app, &mut pams).await))
        .await
        .refused(429, "too_many_attempts");
}

/// Anyone may start a passkey sign-in, and each start stores a challenge
/// for five minutes: one client gets `CEREMONY_LIMIT` (300) per window,
/// then 429, so it cannot fill the table.
async fn sign_in_challenges_are_limited_per_client(engine: Engine) {
    let app = spawn_app(engine).await;
    for _ in 0..300 {
        app.client().passkey_challenge().await.unwrap();
    }
    app.client()
        .passkey_challenge()
        .await
        .refused(429, "too_many_attempts");
}

/// `roster passkeys list|rename|remove` with the real binary: the list in
/// the CLI's one JSON shape, a rename, and a removal that needs the
/// password and a code (a recovery code here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_renames_and_removes_passkeys() {
    let app = spawn_app(Engine::Sqlite).await;
    let owner = app.owner().await;
    let (_, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let first = register(&app, &pam, &mut Device::new(), "Laptop").await;
    let step = crate::mfa::fresh_step().await;
    let (_, recovery) = crate::mfa::enrol(&pam, step - 1).await;
    let config = tempfile::tempdir().unwrap();
    // Run on a blocking thread: the server answers on this runtime.
    let run = |args: Vec<String>, stdin: &str| {
        let (base, token, dir, stdin) = (
            app.base.clone(),
            pam.token().to_owned(),
            config.path().to_owned(),
            stdin.to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::helpers::run_cli(&base, &dir, Some(&token), &args, &stdin)
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let out = run(args(&["passkeys", "list", "--output", "json"]), "")
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["items"][0]["id"], first, "{listed}");
    assert_eq!(listed["items"][0]["name"], "Laptop", "{listed}");
    assert!(listed.get("next_cursor").is_some(), "{listed}");

    let id = first.to_string();
    let out = run(args(&["passkeys", "rename", &id, "Work laptop"]), "")
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(pam.passkeys().await.unwrap()[0].name, "Work laptop");

    // A wrong password: one line on stderr, a non-zero exit, nothing removed.
    let out = run(
        args(&["passkeys", "remove", &id, "--stdin"]),
        &format!("wrong-password\n{}\n", recovery[0]),
    )
    .await
    .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(pam.passkeys().await.unwrap().len(), 1);

    let out = run(
        args(&["passkeys", "remove", &id, "--stdin"]),
        &format!("{PAM_PW}\n{}\n", recovery[1]),
    )
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(pam.passkeys().await.unwrap().is_empty());
}
