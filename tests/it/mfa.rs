//! Second factors (TOTP and recovery codes), an org's MFA policy, magic
//! links, password recovery and an admin's reset of a member's
//! credentials. Codes are computed here from the secret the server
//! returned, on the real clock (no mocked clock): the server accepts the
//! previous, current and next 30-second step, each once.

use crate::both_engines;
use crate::helpers::*;
use roster_proto::{
    CreateMemberRequest, LoginRequest, LoginResponse, RemoveMfaRequest, SecondFactorRequest,
    UpdateOrgRequest,
};
use std::time::Duration;

both_engines!(
    a_member_of_an_org_that_requires_mfa_is_walked_into_enrolment_then_signs_in_with_codes,
    the_same_code_or_recovery_code_sent_twice_at_once_works_once,
    enrolment_is_confirmed_only_by_a_right_code,
    removing_mfa_needs_the_password_and_a_code_and_ends_other_sessions,
    regenerated_recovery_codes_replace_the_old_set,
    second_factor_guesses_are_throttled,
    a_sign_in_with_a_code_clears_its_counts_and_keeps_validated_credentials,
    a_wrong_password_does_not_spend_the_guesses_of_the_code_sent_with_it,
    a_sign_in_with_a_code_counts_once_against_its_address,
    the_mfa_required_flag_of_one_member_sends_them_to_enrolment,
    an_admin_resets_mfa_only_for_an_account_in_no_other_org,
    a_magic_link_works_once_and_still_asks_for_the_second_factor,
    a_password_reset_link_works_once_ends_every_session_and_keeps_the_second_factor,
    an_admin_sends_a_reset_link_only_for_an_account_in_no_other_org,
    links_expire_and_link_requests_are_throttled,
);

const PAM: &str = "pam@acme.test";
const PAM_PW: &str = "pam@acme.test-pw-123";

/// The code of `secret` (base32) at time step `step`, as an app shows it.
pub fn totp(secret: &str, step: i64) -> String {
    let seed = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("a base32 secret");
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        seed,
        None,
        String::new(),
    )
    .generate((step * 30) as u64)
}

/// The current 30-second step, once at least 12 seconds of it are left,
/// so that a test's codes of the previous, current and next step stay in
/// the server's window while it runs.
pub async fn fresh_step() -> i64 {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let left = 30 - now % 30;
        if left >= 12 {
            return now / 30;
        }
        tokio::time::sleep(Duration::from_secs(left as u64 + 1)).await;
    }
}

/// Enrols `who` with a code of step `step`: (secret, recovery codes).
pub async fn enrol(who: &Api, step: i64) -> (String, Vec<String>) {
    let e = who.start_totp().await.expect("enrolment starts");
    assert!(e.otpauth_uri.starts_with("otpauth://totp/Roster:"));
    assert!(e.otpauth_uri.contains(&format!("secret={}", e.secret)));
    assert!(e.qr_svg.contains("<svg"));
    let codes = who
        .confirm_totp(&totp(&e.secret, step))
        .await
        .expect("enrolment confirmed")
        .recovery_codes;
    (e.secret, codes)
}

fn with_code(email: &str, password: &str, code: &str) -> LoginRequest {
    LoginRequest {
        email: email.into(),
        password: password.into(),
        totp_code: Some(code.into()),
        recovery_code: None,
        passkey: None,
    }
}

fn with_recovery(email: &str, password: &str, code: &str) -> LoginRequest {
    LoginRequest {
        email: email.into(),
        password: password.into(),
        totp_code: None,
        recovery_code: Some(code.into()),
        passkey: None,
    }
}

/// The actions of the audit events of no org about `user:{id}`.
async fn personal_audit(app: &TestApp, id: i64) -> Vec<String> {
    let mut conn = app.app.store().conn().await.unwrap();
    roster_store::audit::actions_without_org(&mut conn, &format!("user:{id}"))
        .await
        .unwrap()
}

/// The one-time link in the newest message of `kind` to `to`: its token.
async fn mailed_token(app: &TestApp, to: &str, kind: &str, marker: &str) -> String {
    let mail = app.mail_to(to).await;
    let m = mail
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} message to {to}"));
    let at = m.body_text.find(marker).expect("a link") + marker.len();
    m.body_text[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn require_mfa(owner: &Api) {
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
}

async fn a_member_of_an_org_that_requires_mfa_is_walked_into_enrolment_then_signs_in_with_codes(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (id, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    require_mfa(&owner).await;
    // Nobody without a second factor does anything in the org first; the
    // owner who set the policy neither.
    pam.list_members(ORG, &members(""))
        .await
        .refused(403, "mfa_enrolment_required");
    owner
        .list_members(ORG, &members(""))
        .await
        .refused(403, "mfa_enrolment_required");
    let login = app.login_res(PAM, PAM_PW).await.unwrap();
    assert!(login.mfa_enrolment_required && !login.mfa_required);
    let status = pam.mfa_status().await.unwrap();
    assert!(!status.totp);

    let step = fresh_step().await;
    let (secret, recovery) = enrol(&pam, step - 1).await;
    assert_eq!(recovery.len(), 10);
    let mut distinct = recovery.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
    pam.list_members(ORG, &members("")).await.unwrap();

    // Sign-in now needs the second factor, and says which ones there are.
    let p = app
        .login_res(PAM, PAM_PW)
        .await
        .refused(401, "mfa_required");
    assert_eq!(p.methods, ["totp", "recovery_code"]);
    // A wrong code (another step's) and a malformed one.
    app.client()
        .login(&with_code(PAM, PAM_PW, &totp(&secret, step + 7)))
        .await
        .refused(401, "invalid_second_factor");
    app.client()
        .login(&with_code(PAM, PAM_PW, "12ab56"))
        .await
        .refused(401, "invalid_second_factor");
    // The code confirmed with cannot sign in: it was used.
    app.client()
        .login(&with_code(PAM, PAM_PW, &totp(&secret, step - 1)))
        .await
        .refused(401, "invalid_second_factor");
    let code = totp(&secret, step);
    let signed_in = app
        .client()
        .login(&with_code(PAM, PAM_PW, &code))
        .await
        .unwrap();
    assert!(!signed_in.mfa_required && !signed_in.mfa_enrolment_required);
    app.client_as(&signed_in.token)
        .list_members(ORG, &members(""))
        .await
        .unwrap();
    // A replayed code is refused.
    app.client()
        .login(&with_code(PAM, PAM_PW, &code))
        .await
        .refused(401, "invalid_second_factor");
    // A recovery code works once, written any way.
    let rc = recovery[3].to_uppercase().replace('-', " ");
    app.client()
        .login(&with_recovery(PAM, PAM_PW, &rc))
        .await
        .unwrap();
    app.client()
        .login(&with_recovery(PAM, PAM_PW, &recovery[3]))
        .await
        .refused(401, "invalid_second_factor");
    assert_eq!(pam.mfa_status().await.unwrap().recovery_codes_left, 9);

    // The team list shows who has MFA; `mfa=false` finds who has not.
    let owner_step = fresh_step().await;
    enrol(&owner, owner_step).await;
    let page = app.users(ORG, &owner, "mfa=false").await;
    assert!(!emails(&page).contains(&PAM.to_owned()), "{page:?}");
    let page = app.users(ORG, &owner, "mfa=true").await;
    assert!(emails(&page).contains(&PAM.to_owned()));
    assert!(page.items.iter().all(|m| m.mfa_enabled));
    let (_, jim) = app.member(ORG, &owner, "jim@acme.test", "viewer").await;
    drop(jim);
    let page = app.users(ORG, &owner, "mfa=false").await;
    assert_eq!(emails(&page), ["jim@acme.test"]);

    // Every step is in the person's own audit (events of no org).
    let actions = personal_audit(&app, id).await;
    for a in [
        "user.mfa_enrolment_started",
        "user.mfa_enrolled",
        "user.second_factor_failed",
        "user.second_factor",
        "user.recovery_code_used",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing: {actions:?}");
    }
}

async fn the_same_code_or_recovery_code_sent_twice_at_once_works_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (_, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let step = fresh_step().await;
    let (secret, recovery) = enrol(&pam, step - 1).await;
    let same = with_code(PAM, PAM_PW, &totp(&secret, step));
    let (c1, c2) = (app.client(), app.client());
    let (a, b) = tokio::join!(c1.login(&same), c2.login(&same));
    let results = [a, b];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results {
        if r.is_err() {
            r.refused(401, "invalid_second_factor");
        }
    }
    let same = with_recovery(PAM, PAM_PW, &recovery[0]);
    let (c1, c2) = (app.client(), app.client());
    let (a, b) = tokio::join!(c1.login(&same), c2.login(&same));
    let results = [a, b];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results {
        if r.is_err() {
            r.refused(401, "invalid_second_factor");
        }
    }
}

async fn enrolment_is_confirmed_only_by_a_right_code(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    owner
        .confirm_totp("123456")
        .await
        .refused(409, "mfa_not_enrolled");
    let step = fresh_step().await;
    let first = owner.start_totp().await.unwrap();
    // Starting again replaces the unconfirmed secret.
    let second = owner.start_totp().await.unwrap();
    assert_ne!(first.secret, second.secret);
    owner
        .confirm_totp(&totp(&first.secret, step))
        .await
        .refused(401, "invalid_second_factor");
    owner
        .confirm_totp(&totp(&second.secret, step + 5))
        .await
        .refused(401, "invalid_second_factor");
    assert!(!owner.mfa_status().await.unwrap().totp);
    // Nothing changed: signing in still needs no code.
    app.login_res(OWNER_EMAIL, OWNER_PASSWORD).await.unwrap();
    owner
        .confirm_totp(&totp(&second.secret, step))
        .await
        .unwrap();
    owner
        .start_totp()
        .await
        .refused(409, "mfa_already_enrolled");
    owner
        .confirm_totp(&totp(&second.secret, step + 1))
        .await
        .refused(409, "mfa_already_enrolled");
    assert!(owner.mfa_status().await.unwrap().totp);
}

async fn removing_mfa_needs_the_password_and_a_code_and_ends_other_sessions(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let step = fresh_step().await;
    let (secret, recovery) = enrol(&owner, step - 1).await;
    let other = app
        .client()
        .login(&with_code(
            OWNER_EMAIL,
            OWNER_PASSWORD,
            &totp(&secret, step),
        ))
        .await
        .unwrap();
    let remove = |password: &str, code: Option<&str>, rc: Option<&str>| RemoveMfaRequest {
        password: password.into(),
        totp_code: code.map(Into::into),
        recovery_code: rc.map(Into::into),
        passkey: None,
    };
    owner
        .remove_mfa(&remove(
            "wrong-password",
            Some(&totp(&secret, step + 1)),
            None,
        ))
        .await
        .refused(401, "invalid_credentials");
    owner
        .remove_mfa(&remove(OWNER_PASSWORD, None, None))
        .await
        .refused(401, "mfa_required");
    owner
        .remove_mfa(&remove(
            OWNER_PASSWORD,
            Some(&totp(&secret, step + 9)),
            None,
        ))
        .await
        .refused(401, "invalid_second_factor");
    assert!(owner.mfa_status().await.unwrap().totp);
    owner
        .remove_mfa(&remove(OWNER_PASSWORD, None, Some(&recovery[0])))
        .await
        .unwrap();
    assert!(!owner.mfa_status().await.unwrap().totp);
    app.client_as(&other.token)
        .me()
        .await
        .refused(401, "unauthenticated");
    owner
        .remove_mfa(&remove(OWNER_PASSWORD, None, Some(&recovery[1])))
        .await
        .refused(409, "mfa_not_enrolled");
    // Signing in needs no code again.
    app.login_res(OWNER_EMAIL, OWNER_PASSWORD).await.unwrap();
    let me = owner.me().await.unwrap();
    let actions = personal_audit(&app, me.user.id).await;
    assert!(actions.iter().any(|a| a == "user.mfa_removed"));
}

async fn regenerated_recovery_codes_replace_the_old_set(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let step = fresh_step().await;
    let (secret, old) = enrol(&owner, step - 1).await;
    owner
        .regenerate_recovery_codes(&totp(&secret, step + 8))
        .await
        .refused(401, "invalid_second_factor");
    let new = owner
        .regenerate_recovery_codes(&totp(&secret, step))
        .await
        .unwrap()
        .recovery_codes;
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    app.client()
        .login(&with_recovery(OWNER_EMAIL, OWNER_PASSWORD, &old[0]))
        .await
        .refused(401, "invalid_second_factor");
    app.client()
        .login(&with_recovery(OWNER_EMAIL, OWNER_PASSWORD, &new[0]))
        .await
        .unwrap();
}

async fn second_factor_guesses_are_throttled(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let step = fresh_step().await;
    let (secret, _) = enrol(&owner, step - 1).await;
    for i in 0..5 {
        app.client()
            .login(&with_code(
                OWNER_EMAIL,
                OWNER_PASSWORD,
                &totp(&secret, step + 10 + i),
            ))
            .await
            .refused(401, "invalid_second_factor");
    }
    // The right code now waits too.
    app.client()
        .login(&with_code(
            OWNER_EMAIL,
            OWNER_PASSWORD,
            &totp(&secret, step),
        ))
        .await
        .refused(429, "too_many_attempts");
}

/// A sign-in with a password and a code commits the password's success
/// with the code's attempt, and the code's use with its success and the
/// session: the counts still start over after each success, and a
/// sign-in leaves the credentials this process validated alone.
async fn a_sign_in_with_a_code_clears_its_counts_and_keeps_validated_credentials(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let step = fresh_step().await;
    let (secret, _) = enrol(&owner, step - 1).await;
    let wrong = |i: i64| with_code(OWNER_EMAIL, OWNER_PASSWORD, &totp(&secret, step + 10 + i));
    // One guess short of the limit, for the password (always right here)
    // and for the code.
    for i in 0..4 {
        app.client()
            .login(&wrong(i))
            .await
            .refused(401, "invalid_second_factor");
    }
    owner.me().await.expect("the owner's session works");
    let before = app.app.authz_stats().credential_cache_resets;
    app.client()
        .login(&with_code(
            OWNER_EMAIL,
            OWNER_PASSWORD,
            &totp(&secret, step),
        ))
        .await
        .expect("the right code signs in");
    assert_eq!(
        app.app.authz_stats().credential_cache_resets,
        before,
        "a sign-in made every validated credential be read again"
    );
    // Both counts started over: five more wrong codes are each checked.
    for i in 4..9 {
        app.client()
            .login(&wrong(i))
            .await
            .refused(401, "invalid_second_factor");
    }
    app.client()
        .login(&with_code(
            OWNER_EMAIL,
            OWNER_PASSWORD,
            &totp(&secret, step + 1),
        ))
        .await
        .refused(429, "too_many_attempts");
}

/// A code sent with a wrong password is counted with the password (one
/// commit before either is checked) and taken back, since it was never
/// checked: the account keeps its five guesses of the code.
async fn a_wrong_password_does_not_spend_the_guesses_of_the_code_sent_with_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let step = fresh_step().await;
    let (secret, _) = enrol(&owner, step - 1).await;
    let code = |i: i64| totp(&secret, step + 10 + i);
    for i in 0..4 {
        app.client()
            .login(&with_code(OWNER_EMAIL, "a-wrong-password", &code(i)))
            .await
            .refused(401, "invalid_credentials");
    }
    // The right password clears its count; each of five wrong codes is
    // checked, and the sixth guess waits.
    for i in 4..9 {
        app.client()
            .login(&with_code(OWNER_EMAIL, OWNER_PASSWORD, &code(i)))
            .await
            .refused(401, "invalid_second_factor");
    }
    app.client()
        .login(&with_code(
            OWNER_EMAIL,
            OWNER_PASSWORD,
            &totp(&secret, step),
        ))
        .await
        .refused(429, "too_many_attempts");
}

/// A sign-in with a password and a code counts once against the client's
/// address (limit 50 over every account), and a success takes that count
/// back: the address's count is exactly what its failures left.
async fn a_sign_in_with_a_code_counts_once_against_its_address(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let step = fresh_step().await;
    let (secret, recovery) = enrol(&owner, step - 1).await;
    // 49 failures from this address, four per unknown email (each under
    // its own limit of five).
    for i in 0..49 {
        app.login_res(&format!("ghost{}@acme.test", i / 4), "wrong-password")
            .await
            .refused(401, "invalid_credentials");
    }
    // Each sign-in is the address's 50th attempt: counted twice it would
    // be refused, and left counted the next would be.
    app.client()
        .login(&with_recovery(OWNER_EMAIL, OWNER_PASSWORD, &recovery[0]))
        .await
        .expect("a sign-in with a recovery code");
    app.client()
        .login(&with_code(
            OWNER_EMAIL,
            OWNER_PASSWORD,
            &totp(&secret, step),
        ))
        .await
        .expect("a sign-in with a code");
    // 49 still. A wrong code counts against the address (the password's
    // success hands it the address's count): that makes 50, and the next
    // attempt from this address waits.
    app.client()
        .login(&with_code(
            OWNER_EMAIL,
            OWNER_PASSWORD,
            &totp(&secret, step + 10),
        ))
        .await
        .refused(401, "invalid_second_factor");
    app.login_res("last@acme.test", "wrong-password")
        .await
        .refused(429, "too_many_attempts");
}

async fn the_mfa_required_flag_of_one_member_sends_them_to_enrolment(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let created = owner
        .create_member(
            ORG,
            &CreateMemberRequest {
                email: PAM.into(),
                mfa_required: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(created.user.mfa_required);
    let temp = created.temporary_password.unwrap();
    let login = app.login_res(PAM, &temp).await.unwrap();
    // The temporary password comes first, then the enrolment.
    assert!(login.password_change_required);
    let pam = app.client_as(&login.token);
    pam.change_password(&roster_proto::ChangePasswordRequest {
        current_password: temp,
        new_password: PAM_PW.into(),
    })
    .await
    .unwrap();
    pam.list_members(ORG, &members(""))
        .await
        .refused(403, "mfa_enrolment_required");
    // The owner, whom nothing requires it of, goes on.
    owner.list_members(ORG, &members("")).await.unwrap();
    let step = fresh_step().await;
    enrol(&pam, step).await;
    pam.list_members(ORG, &members("")).await.unwrap();
}

async fn an_admin_resets_mfa_only_for_an_account_in_no_other_org(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (pam_id, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let (jim_id, jim) = app.member(ORG, &owner, "jim@acme.test", "viewer").await;
    let step = fresh_step().await;
    enrol(&pam, step).await;
    enrol(&jim, step).await;
    // Jim also belongs to another org (his own creation).
    jim.create_org(&roster_proto::CreateOrgRequest {
        slug: "jims-org".into(),
        name: "Jim's".into(),
    })
    .await
    .unwrap();
    let p = owner
        .reset_member_mfa(ORG, jim_id)
        .await
        .refused(409, "shared_account");
    assert!(p.detail.unwrap().contains("other organizations"));
    assert!(jim.mfa_status().await.unwrap().totp);
    // A viewer may not.
    jim.reset_member_mfa(ORG, pam_id)
        .await
        .refused(403, "forbidden");
    owner.reset_member_mfa(ORG, pam_id).await.unwrap();
    // Pam's sessions ended; she signs in with the password alone.
    pam.me().await.refused(401, "unauthenticated");
    app.login_res(PAM, PAM_PW).await.unwrap();
    owner
        .reset_member_mfa(ORG, pam_id)
        .await
        .refused(409, "mfa_not_enrolled");
    // Audited in the org and for her, and she was told.
    let events = app.audit(ORG, &owner, "action=user.mfa_reset").await;
    assert_eq!(events.len(), 1);
    assert!(personal_audit(&app, pam_id)
        .await
        .iter()
        .any(|a| a == "user.mfa_reset"));
    let mail = app.mail_to(PAM).await;
    assert!(mail.iter().any(|m| m.kind == "mfa_reset"));
}

async fn a_magic_link_works_once_and_still_asks_for_the_second_factor(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (pam_id, pam) = app.member(ORG, &owner, PAM, "viewer").await;
    let step = fresh_step().await;
    let (secret, _) = enrol(&pam, step - 1).await;
    // The same answer whatever the address.
    let anon = app.client();
    anon.request_magic_link(PAM).await.unwrap();
    anon.answered(202);
    app.client()
        .request_magic_link("nobody@acme.test")
        .await
        .unwrap();
    app.client()
        .request_magic_link("not an email")
        .await
        .unwrap();
    let token = mailed_token(&app, PAM, "magic_link", "/login/link/").await;
    app.client()
        .sign_in_with_link("rsm_forged")
        .await
        .refused(404, "invalid_link");
    let login: LoginResponse = app.client().sign_in_with_link(&token).await.unwrap();
    assert!(login.mfa_required);
    let session = app.client_as(&login.token);
    let p = session.me().await.refused(401, "mfa_required");
    assert_eq!(p.methods, ["totp", "recovery_code"]);
    session
        .change_password(&roster_proto::ChangePasswordRequest {
            current_password: PAM_PW.into(),
            new_password: "taken-over-123".into(),
        })
        .await
        .refused(401, "mfa_required");
    session
        .give_second_factor(&SecondFactorRequest {
            totp_code: Some(totp(&secret, step + 6)),
            recovery_code: None,
            passkey: None,
        })
        .await
        .refused(401, "invalid_second_factor");
    session
        .give_second_factor(&SecondFactorRequest {
            totp_code: Some(totp(&secret, step)),
            recovery_code: None,
            passkey: None,
        })
        .await
        .unwrap();
    session.me().await.unwrap();
    // The link worked once.
    app.client()
        .sign_in_with_link(&token)
        .await
        .refused(404, "invalid_link");
    // A password-reset link is not a sign-in link.
    app.client().request_password_reset(PAM).await.unwrap();
    let reset = mailed_token(&app, PAM, "password_reset", "/set-password/").await;
    app.client()
        .sign_in_with_link(&reset)
        .await
        .refused(404, "invalid_link");
    let actions = personal_audit(&app, pam_id).await;
    assert!(actions.iter().any(|a| a == "user.magic_link_used"));
    drop(pam);
}

async fn a_password_reset_link_works_once_ends_every_session_and_keeps_the_second_factor(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let step = fresh_step().await;
    let (secret, _) = enrol(&owner, step - 1).await;
    app.client()
        .request_password_reset(OWNER_EMAIL)
        .await
        .unwrap();
    app.client()
        .request_password_reset("nobody@acme.test")
        .await
        .unwrap();
    let token = mailed_token(&app, OWNER_EMAIL, "password_reset", "/set-password/").await;
    let set = roster_proto::SetPasswordRequest {
        password: "a-brand-new-password-1".into(),
    };
    app.client()
        .set_password_with_link(&token, &set)
        .await
        .unwrap();
    owner.me().await.refused(401, "unauthenticated");
    app.client()
        .set_password_with_link(&token, &set)
        .await
        .refused(404, "invalid_link");
    app.login_res(OWNER_EMAIL, "a-brand-new-password-1")
        .await
        .refused(401, "mfa_required");
    app.client()
        .login(&with_code(
            OWNER_EMAIL,
            "a-brand-new-password-1",
            &totp(&secret, step),
        ))
        .await
        .unwrap();
}

async fn an_admin_sends_a_reset_link_only_for_an_account_in_no_other_org(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.owner().await;
    let (pam_id, _) = app.member(ORG, &owner, PAM, "viewer").await;
    let (jim_id, jim) = app.member(ORG, &owner, "jim@acme.test", "viewer").await;
    jim.create_org(&roster_proto::CreateOrgRequest {
        slug: "jims-org".into(),
        name: "Jim's".into(),
    })
    .await
    .unwrap();
    owner
        .send_member_password_reset(ORG, jim_id)
        .await
        .refused(409, "shared_account");
    owner.send_member_password_reset(ORG, pam_id).await.unwrap();
    owner.answered(202);
    let token = mailed_token(&app, PAM, "password_reset", "/set-password/").await;
    app.client()
        .set_password_with_link(
            &token,
            &roster_proto::SetPasswordRequest {
                password: "pams-own-choice-1".into(),
            },
        )
        .await
        .unwrap();
    app.login_res(PAM, "pams-own-choice-1").await.unwrap();
    let events = app
        .audit(ORG, &owner, "action=user.password_reset_requested")
        .await;
    assert_eq!(events.len(), 1);
}

async fn links_expire_and_link_requests_are_throttled(engine: Engine) {
    let clock = roster_server::app::ManualClock::default();
    let app = spawn_with_clock(engine, clock.clone()).await;
    app.client().request_magic_link(OWNER_EMAIL).await.unwrap();
    app.client()
        .request_password_reset(OWNER_EMAIL)
        .await
        .unwrap();
    let magic = mailed_token(&app, OWNER_EMAIL, "magic_link", "/login/link/").await;
    let reset = mailed_token(&app, OWNER_EMAIL, "password_reset", "/set-password/").await;
    // A magic link lasts 15 minutes; a reset link 30.
    clock.advance(Duration::from_secs(16 * 60));
    app.client()
        .sign_in_with_link(&magic)
        .await
        .refused(404, "invalid_link");
    clock.advance(Duration::from_secs(15 * 60));
    app.client()
        .set_password_with_link(
            &reset,
            &roster_proto::SetPasswordRequest {
                password: "too-late-password-1".into(),
            },
        )
        .await
        .refused(404, "invalid_link");
    app.login_res(OWNER_EMAIL, OWNER_PASSWORD).await.unwrap();
    // Asking for links is throttled per address and client, for unknown
    // addresses alike.
    for email in [OWNER_EMAIL, "nobody@acme.test"] {
        for _ in 0..5 {
            app.client().request_magic_link(email).await.unwrap();
        }
        app.client()
            .request_password_reset(email)
            .await
            .refused(429, "too_many_attempts");
    }
}
