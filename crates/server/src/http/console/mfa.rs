//! The console's second-factor pages: the code asked after the password,
//! enrolment with a QR code (recovery codes shown once), removal and new
//! recovery codes on the profile; "Forgot your password?" and magic links.

use super::auth::session_cookie;
use super::flash::redirect_with;
use super::frame::{describe, show, standalone, Frame, PageResult};
use super::session::{
    InOrg, NoFields, Path, PathId, Posted, PublicPosted, Session, SignInSession, SignInSteps,
};
use crate::app::mfa::SecondFactor;
use crate::app::SessionStage;
use crate::http::error::ApiError;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "console/login_mfa.html")]
struct SecondFactorPage {
    email: String,
    csrf: String,
    error: Option<String>,
    /// What the account has.
    methods: crate::app::MfaMethods,
}

impl SecondFactorPage {
    pub(super) async fn new(
        state: &AppState,
        s: &Session,
        error: Option<String>,
    ) -> Result<SecondFactorPage, crate::app::AppError> {
        Ok(SecondFactorPage {
            email: s.caller.actor.email.to_string(),
            csrf: s.csrf.clone(),
            error,
            methods: state.app.own_mfa_methods(&s.caller).await?,
        })
    }
}

/// `/login/mfa`: the code a session opened with the password owes.
pub async fn second_factor_page(
    State(state): State<AppState>,
    SignInSession(s): SignInSession,
) -> PageResult {
    if s.caller.stage() != SessionStage::MfaRequired {
        return Ok(Redirect::to("/").into_response());
    }
    let page = SecondFactorPage::new(&state, &s, None).await?;
    Ok(standalone(StatusCode::OK, &page))
}

/// The second-factor page again, with what went wrong.
pub(super) async fn second_factor_failed(
    state: &AppState,
    s: &Session,
    e: crate::app::AppError,
) -> PageResult {
    let (status, text) = describe(&ApiError::from(e));
    let page = SecondFactorPage::new(state, s, Some(text)).await?;
    Ok(standalone(status, &page))
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

/// A code typed into a form: six digits are the app's, anything else a
/// recovery code.
pub(super) fn factor(code: &str) -> SecondFactor {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        SecondFactor::Totp(code.to_owned())
    } else {
        SecondFactor::RecoveryCode(code.to_owned())
    }
}

pub async fn second_factor_submit(
    State(state): State<AppState>,
    Posted {
        session: s, form, ..
    }: Posted<CodeForm, SignInSteps>,
) -> PageResult {
    match state
        .app
        .give_second_factor(&s.caller, factor(&form.code), &s.meta)
        .await
    {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(e) => second_factor_failed(&state, &s, e).await,
    }
}

#[derive(Template)]
#[template(path = "console/mfa.html")]
struct MfaPage {
    f: Frame,
    enrolled: bool,
    recovery_codes_left: i64,
    /// The account's passkeys, and whether passkeys work here.
    passkeys: Vec<roster_proto::PasskeyView>,
    passkeys_on: bool,
    /// Must enrol before anything else (an org requires it).
    required: bool,
    /// Has any second factor (an app or a passkey).
    has_factor: bool,
    /// An enrolment waiting for its first code: (secret, URI, QR SVG).
    pending: Option<(String, String, String)>,
    /// Recovery codes, shown once in the answer that made them.
    codes: Vec<String>,
    error: Option<String>,
}

pub(super) async fn mfa_page(
    state: &AppState,
    s: &Session,
    headers: &HeaderMap,
    pending: Option<(String, String, String)>,
    codes: Vec<String>,
    error: Option<(StatusCode, String)>,
) -> PageResult {
    let f = Frame::personal(state, s, headers, "profile", "Two-factor sign-in").await?;
    let status = state.app.mfa_status(&s.caller).await?;
    let (code, error) = match error {
        Some((c, e)) => (c, Some(e)),
        None => (StatusCode::OK, None),
    };
    let page = MfaPage {
        f,
        enrolled: status.totp,
        recovery_codes_left: status.recovery_codes_left,
        passkeys: state
            .app
            .passkeys(&s.caller)
            .await?
            .iter()
            .map(crate::http::routes::passkeys::view)
            .collect(),
        passkeys_on: state.app.passkeys_on(),
        required: s.caller.stage() == SessionStage::MfaEnrolmentRequired,
        has_factor: status.totp || status.passkeys > 0,
        pending,
        codes,
        error,
    };
    let mut res = show(code, &page, &page.f);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// `/profile/mfa`: the second factor, and enrolment (also where an org's
/// policy sends members who have none).
pub async fn page(
    State(state): State<AppState>,
    SignInSession(s): SignInSession,
    headers: HeaderMap,
) -> PageResult {
    if let Some(step) = s.caller.stage().console_page() {
        if s.caller.stage() != SessionStage::MfaEnrolmentRequired {
            return Ok(Redirect::to(step).into_response());
        }
    }
    mfa_page(&state, &s, &headers, None, vec![], None).await
}

pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { session: s, .. }: Posted<NoFields, SignInSteps>,
) -> PageResult {
    match state.app.start_totp(&s.caller, &s.meta).await {
        Ok(e) => {
            let pending = Some((e.secret, e.otpauth_uri, e.qr_svg));
            mfa_page(&state, &s, &headers, pending, vec![], None).await
        }
        Err(e) => {
            let err = describe(&ApiError::from(e));
            mfa_page(&state, &s, &headers, None, vec![], Some(err)).await
        }
    }
}

pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted {
        session: s, form, ..
    }: Posted<CodeForm, SignInSteps>,
) -> PageResult {
    match state.app.confirm_totp(&s.caller, &form.code, &s.meta).await {
        Ok(codes) => mfa_page(&state, &s, &headers, None, codes, None).await,
        Err(e) => {
            let err = describe(&ApiError::from(e));
            mfa_page(&state, &s, &headers, None, vec![], Some(err)).await
        }
    }
}

pub async fn regenerate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted {
        session: s, form, ..
    }: Posted<CodeForm>,
) -> PageResult {
    match state
        .app
        .regenerate_recovery_codes(&s.caller, &form.code, &s.meta)
        .await
    {
        Ok(codes) => mfa_page(&state, &s, &headers, None, codes, None).await,
        Err(e) => {
            let err = describe(&ApiError::from(e));
            mfa_page(&state, &s, &headers, None, vec![], Some(err)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    password: String,
    code: String,
}

pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted {
        session: s, form, ..
    }: Posted<RemoveForm>,
) -> PageResult {
    match state
        .app
        .remove_mfa(&s.caller, &form.password, Some(factor(&form.code)), &s.meta)
        .await
    {
        Ok(()) => Ok(redirect_with(
            &state,
            "/profile/mfa",
            "notice",
            "Two-factor sign-in is off; your other sessions are signed out.",
        )),
        Err(e) => {
            let err = describe(&ApiError::from(e));
            mfa_page(&state, &s, &headers, None, vec![], Some(err)).await
        }
    }
}

#[derive(Template)]
#[template(path = "console/forgot.html")]
struct EmailLinkPage {
    /// `reset` (password) or `magic` (sign-in link).
    kind: &'static str,
    email: String,
    sent: bool,
    error: Option<String>,
}

/// `/password-reset`: "Forgot your password?".
pub async fn forgot_page() -> Response {
    email_link_page(StatusCode::OK, "reset", String::new(), false, None)
}

/// `/login/link`: "Email me a sign-in link".
pub async fn magic_page() -> Response {
    email_link_page(StatusCode::OK, "magic", String::new(), false, None)
}

fn email_link_page(
    status: StatusCode,
    kind: &'static str,
    email: String,
    sent: bool,
    error: Option<String>,
) -> Response {
    standalone(
        status,
        &EmailLinkPage {
            kind,
            email,
            sent,
            error,
        },
    )
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

pub async fn forgot_submit(
    State(state): State<AppState>,
    PublicPosted { meta, form }: PublicPosted<EmailForm>,
) -> Response {
    match state.app.request_password_reset(&form.email, &meta).await {
        Ok(()) => email_link_page(StatusCode::ACCEPTED, "reset", form.email, true, None),
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            email_link_page(status, "reset", form.email, false, Some(text))
        }
    }
}

pub async fn magic_submit(
    State(state): State<AppState>,
    PublicPosted { meta, form }: PublicPosted<EmailForm>,
) -> Response {
    match state.app.request_magic_link(&form.email, &meta).await {
        Ok(()) => email_link_page(StatusCode::ACCEPTED, "magic", form.email, true, None),
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            email_link_page(status, "magic", form.email, false, Some(text))
        }
    }
}

#[derive(Template)]
#[template(path = "console/link.html")]
struct LinkPage {
    token: String,
    error: Option<String>,
}

/// `/login/link/{token}`: a magic link's landing page. Signing in takes a
/// click (a POST), so that a mail scanner that opens links does not use
/// it up.
pub async fn link_page(Path(token): Path<String>) -> Response {
    standalone(StatusCode::OK, &LinkPage { token, error: None })
}

pub async fn link_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    PublicPosted { meta, .. }: PublicPosted<NoFields>,
) -> Response {
    match state.app.sign_in_with_link(&token, &meta).await {
        Ok(login) => {
            let to = login.stage.console_page().unwrap_or("/");
            let max_age = state.app.settings().session_ttl.as_secs();
            let mut res = Redirect::to(to).into_response();
            res.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, &login.token, max_age),
            );
            res
        }
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            standalone(
                status,
                &LinkPage {
                    token: String::new(),
                    error: Some(text),
                },
            )
        }
    }
}

/// An admin resets a member's second factors (only for an account in no
/// other org; the answer says why otherwise).
pub async fn admin_reset(
    PathId(id): PathId<roster_domain::UserId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let to = format!("/o/{}/users/{id}", o.access.org.slug);
    let outcome = o
        .app()
        .admin_reset_mfa(&o.access, id, o.meta())
        .await
        .map(|()| "Their second factors are removed and they were told by email.".to_owned());
    Ok(o.back(&to, outcome))
}

/// An admin emails a member a link to choose a new password.
pub async fn admin_password_reset(
    PathId(id): PathId<roster_domain::UserId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let to = format!("/o/{}/users/{id}", o.access.org.slug);
    let outcome = o
        .app()
        .admin_send_password_reset(&o.access, id, o.meta())
        .await
        .map(|()| "They were emailed a link to choose a new password.".to_owned());
    Ok(o.back(&to, outcome))
}
