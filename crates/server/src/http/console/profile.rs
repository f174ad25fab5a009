//! The signed-in user's profile: name, password, second factor, sessions,
//! and their own audit events (those of no org).

use super::flash::{back, redirect_with};
use super::frame::{describe, show, status_of, Frame, PageResult};
use super::session::{NoFields, Path, Posted, Session};
use super::text::{when_ms, Precision};
use crate::http::error::{ApiError, Code};
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

struct SessionLine {
    id: i64,
    current: bool,
    created: String,
    last_seen: String,
    client_addr: String,
    user_agent: String,
}

#[derive(Template)]
#[template(path = "console/profile.html")]
struct ProfilePage {
    f: Frame,
    sessions: Vec<SessionLine>,
    /// Two-factor sign-in is on.
    mfa: bool,
    /// The names of the caller's passkeys.
    passkeys: Vec<String>,
    /// The newest of the caller's own audit events.
    events: Vec<EventLine>,
    error: Option<String>,
}

struct EventLine {
    at: String,
    action: String,
    channel: String,
    client_addr: String,
}

async fn page(
    state: &AppState,
    s: &Session,
    headers: &HeaderMap,
    error: Option<(StatusCode, String)>,
) -> PageResult {
    let f = Frame::personal(state, s, headers, "profile", "Profile").await?;
    let sessions = state
        .app
        .sessions(&s.caller)
        .await?
        .into_iter()
        .map(|x| SessionLine {
            current: Some(x.id) == s.caller.session_id(),
            id: x.id.get(),
            created: when_ms(x.created_at, Precision::Minute),
            last_seen: when_ms(x.last_seen_at, Precision::Minute),
            client_addr: x.client_addr,
            user_agent: x.user_agent,
        })
        .collect();
    let events = state
        .app
        .personal_audit(&s.caller, None, 20)
        .await?
        .into_iter()
        .map(|e| EventLine {
            at: when_ms(e.at, Precision::Second),
            action: e.action,
            channel: e.channel,
            client_addr: e.client_addr,
        })
        .collect();
    let (status, error) = status_of(error);
    let mfa = state.app.mfa_status(&s.caller).await?.totp;
    let passkeys = state
        .app
        .passkeys(&s.caller)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let page = ProfilePage {
        f,
        sessions,
        mfa,
        passkeys,
        events,
        error,
    };
    Ok(show(status, &page, &page.f))
}

pub async fn show_page(
    State(state): State<AppState>,
    s: Session,
    headers: HeaderMap,
) -> PageResult {
    page(&state, &s, &headers, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted {
        session: s, form, ..
    }: Posted<PasswordForm>,
) -> PageResult {
    let outcome = if form.new_password != form.confirm_password {
        Err(ApiError::request(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::ValidationFailed,
            "the two new passwords differ",
        ))
    } else {
        state
            .app
            .change_password(
                &s.caller,
                &form.current_password,
                &form.new_password,
                &s.meta,
            )
            .await
            .map_err(ApiError::from)
    };
    match outcome {
        Ok(()) => Ok(redirect_with(
            &state,
            "/profile",
            "notice",
            "Password changed; your other sessions are signed out.",
        )),
        Err(e) => page(&state, &s, &headers, Some(describe(&e))).await,
    }
}

pub async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { session: s, .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = state
        .app
        .end_session(&s.caller, roster_domain::SessionId::new(id))
        .await
        .map(|()| "That session is signed out.".to_owned());
    Ok(back(&state, "/profile", outcome))
}

#[derive(Deserialize)]
pub struct NameForm {
    name: String,
}

pub async fn rename(
    State(state): State<AppState>,
    Posted {
        session: s, form, ..
    }: Posted<NameForm>,
) -> PageResult {
    let outcome = state
        .app
        .rename_me(&s.caller, &form.name, &s.meta)
        .await
        .map(|u| format!("You are now {}.", u.name));
    Ok(back(&state, "/profile", outcome))
}
