//! Signing in and out, the forced change of a temporary password, the
//! start page and the org switcher.

use super::flash::redirect_with;
use super::frame::{describe, standalone, Failure, PageResult};
use super::session::{NoFields, Path, Posted, PublicPosted, Session, SignInSession, SignInSteps};
use super::text::local_path;
use crate::app::SessionStage;
use crate::http::error::{ApiError, Code};
use crate::http::extract::SESSION_COOKIE;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use roster_domain::{MemberStatus, OrgSlug};
use serde::Deserialize;

/// The console's session cookie (`HttpOnly`, `SameSite=Strict`; `Secure`
/// over HTTPS and on localhost). Only the console reads it.
pub(crate) fn session_cookie(state: &AppState, value: &str, max_age_secs: u64) -> HeaderValue {
    // Secure unless the server is reached over plain HTTP on purpose; browsers
    // accept Secure cookies from http://localhost as well.
    let secure = if state.app.settings().public_url.starts_with("https://")
        || state.app.settings().public_url.contains("://localhost")
        || state.app.settings().public_url.contains("://127.0.0.1")
    {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
    /// Offer "Sign in with a passkey" (to browsers that have them).
    passkeys: bool,
}

/// `/`: the first org's team list, or the sign-in page.
pub async fn home(State(state): State<AppState>, s: Session) -> PageResult {
    let memberships = state.app.memberships(&s.caller).await?;
    let active = memberships
        .iter()
        .filter(|m| m.status == MemberStatus::Active);
    // A shared org first; the personal org when there is no other.
    let first = active
        .clone()
        .find(|m| m.personal_user_id.is_none())
        .or_else(|| active.clone().next());
    Ok(match first {
        Some(m) => Redirect::to(&format!("/o/{}/users", m.slug)).into_response(),
        None => Redirect::to("/profile").into_response(),
    })
}

/// `/o/{org}`: the org's first page.
pub async fn org_home(Path(org): Path<String>) -> Response {
    match OrgSlug::parse(&org) {
        Ok(slug) => Redirect::to(&format!("/o/{slug}/users")).into_response(),
        Err(_) => Failure::page(StatusCode::NOT_FOUND, "No such organization.").0,
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

pub async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    standalone(
        StatusCode::OK,
        &LoginPage {
            next: local_path(q.next.as_deref()),
            email: String::new(),
            error: None,
            notice: q.signed_out.map(|_| "You are signed out.".to_owned()),
            passkeys: state.app.passkeys_on(),
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    PublicPosted { meta, form }: PublicPosted<LoginForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    match state
        .app
        .login_owing_second_factor(&form.email, &form.password, &meta)
        .await
    {
        Ok(login) => {
            let to = match login.stage.console_page() {
                Some(step) => step.to_owned(),
                None => next,
            };
            let max_age = state.app.settings().session_ttl.as_secs();
            let mut res = Redirect::to(&to).into_response();
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
                &LoginPage {
                    next,
                    email: form.email,
                    error: Some(text),
                    notice: None,
                    passkeys: state.app.passkeys_on(),
                },
            )
        }
    }
}

/// The sign-in page again, saying why a passkey sign-in failed.
pub(crate) fn login_failed(state: &AppState, e: crate::app::AppError) -> Response {
    let (status, text) = describe(&ApiError::from(e));
    standalone(
        status,
        &LoginPage {
            next: "/".to_owned(),
            email: String::new(),
            error: Some(text),
            notice: None,
            passkeys: state.app.passkeys_on(),
        },
    )
}

pub async fn logout(
    State(state): State<AppState>,
    Posted { session, .. }: Posted<NoFields, SignInSteps>,
) -> Response {
    // Ending the session is what matters; the cookie goes either way.
    if let Err(e) = state.app.logout(&session.caller).await {
        tracing::warn!(error = %e, "sign-out could not end the session");
    }
    let mut res = Redirect::to("/login?signed_out=1").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    res
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage {
    name: String,
    email: String,
    csrf: String,
    error: Option<String>,
}

/// The forced change of a temporary password.
pub async fn password_page(SignInSession(s): SignInSession) -> Response {
    if s.caller.stage() != SessionStage::PasswordChangeRequired {
        return Redirect::to("/profile").into_response();
    }
    standalone(
        StatusCode::OK,
        &PasswordPage {
            name: s.caller.actor.name.to_string(),
            email: s.caller.actor.email.to_string(),
            csrf: s.csrf,
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    Posted {
        session: s, form, ..
    }: Posted<NewPasswordForm, SignInSteps>,
) -> Response {
    let outcome = change_password(
        &state,
        &s,
        &form.current_password,
        &form.new_password,
        &form.confirm_password,
    )
    .await;
    match outcome {
        Ok(()) => redirect_with(&state, "/", "notice", "Your new password is saved."),
        Err(e) => {
            let (status, text) = describe(&e);
            standalone(
                status,
                &PasswordPage {
                    name: s.caller.actor.name.to_string(),
                    email: s.caller.actor.email.to_string(),
                    csrf: s.csrf,
                    error: Some(text),
                },
            )
        }
    }
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    org: String,
    section: Option<String>,
}

/// Sections that exist in every org, for the switcher to keep.
const SECTIONS: [&str; 9] = [
    "users",
    "invitations",
    "approvals",
    "roles",
    "groups",
    "access",
    "requests",
    "audit",
    "settings",
];

/// The org switcher: the same section in another org, still signed in.
pub async fn switch(_: Session, Query(q): Query<SwitchQuery>) -> Response {
    let Ok(slug) = OrgSlug::parse(&q.org) else {
        return Redirect::to("/").into_response();
    };
    let section = q
        .section
        .as_deref()
        .and_then(|s| SECTIONS.iter().find(|x| **x == s))
        .copied()
        .unwrap_or("users");
    Redirect::to(&format!("/o/{slug}/{section}")).into_response()
}

#[derive(Template)]
#[template(path = "console/signup.html")]
struct SignupPage {
    org: String,
    name: String,
    email: String,
    done: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SignupQuery {
    org: Option<String>,
}

/// Self-registration: ask to join an org that allows it.
pub async fn signup_page(Query(q): Query<SignupQuery>) -> Response {
    standalone(
        StatusCode::OK,
        &SignupPage {
            org: q.org.unwrap_or_default(),
            name: String::new(),
            email: String::new(),
            done: false,
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct SignupForm {
    org: String,
    name: String,
    email: String,
    password: String,
}

pub async fn signup_submit(
    State(state): State<AppState>,
    PublicPosted { meta, form }: PublicPosted<SignupForm>,
) -> Response {
    let request = crate::app::signup::Signup {
        org: form.org.trim().to_owned(),
        email: form.email.clone(),
        name: form.name.clone(),
        password: form.password,
    };
    let page = SignupPage {
        org: form.org.trim().to_owned(),
        name: form.name,
        email: form.email,
        done: false,
        error: None,
    };
    match state.app.signup(request, &meta).await {
        Ok(()) => standalone(StatusCode::ACCEPTED, &SignupPage { done: true, ..page }),
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            standalone(
                status,
                &SignupPage {
                    error: Some(text),
                    ..page
                },
            )
        }
    }
}
/// Changes the signed-in user's password, checking the repeated entry.
pub async fn change_password(
    state: &AppState,
    s: &Session,
    current: &str,
    new: &str,
    again: &str,
) -> Result<(), ApiError> {
    if new != again {
        return Err(ApiError::request(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::ValidationFailed,
            "the two new passwords differ",
        ));
    }
    Ok(state
        .app
        .change_password(&s.caller, current, new, &s.meta)
        .await?)
}
