//! `/invite/{token}`: the page an invitation link opens. It shows the
//! invitation and, for a person without an account, a form that creates the
//! account and accepts. Someone who already has an account signs in and
//! joins from the same page (`/invite/{token}/join`), or accepts from the
//! CLI (`roster invitations accept LINK`).

use crate::app::invitations::Acceptor;
use crate::app::AppError;
use crate::http::console::flash::redirect_with;
use crate::http::console::frame::{describe, standalone};
use crate::http::console::session::{MaybeSession, NoFields, Path, Posted, Session};
use crate::http::console::text::{when_ms, Precision};
use crate::http::error::ApiError;
use crate::http::extract::Meta;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

/// The invitation as the page shows it.
struct Shown {
    inviter_name: String,
    inviter_email: String,
    email: String,
    org_name: String,
    role: String,
    expires: String,
}

/// After a newcomer's account is made.
struct Welcome {
    org: String,
    role: String,
    email: String,
}

#[derive(Template, Default)]
#[template(path = "console/invite.html")]
struct InvitePage {
    token: String,
    link: String,
    invitation: Option<Shown>,
    error: Option<String>,
    /// Signed in as the invited address: the join button's CSRF token.
    join_csrf: Option<String>,
    /// Signed in as someone else.
    signed_in_as: Option<String>,
    account_exists: bool,
    welcome: Option<Welcome>,
}

async fn render(
    state: &AppState,
    token: &str,
    error: Option<String>,
    session: Option<&Session>,
) -> Response {
    let (inv, org) = match state.app.invitation_by_token(token).await {
        Ok(found) => found,
        Err(e) => {
            let status = if matches!(e, AppError::InvitationExpired) {
                StatusCode::GONE
            } else {
                StatusCode::NOT_FOUND
            };
            let page = InvitePage {
                error: Some(e.to_string()),
                ..Default::default()
            };
            return standalone(status, &page);
        }
    };
    let account_exists = state.app.account_exists(&inv.email).await.unwrap_or(false);
    let (join_csrf, signed_in_as) = match session {
        Some(s) if account_exists && s.caller.actor.email.eq_ignore_ascii_case(&inv.email) => {
            (Some(s.csrf.clone()), None)
        }
        Some(s) if account_exists => (None, Some(s.caller.actor.email.to_string())),
        _ => (None, None),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = InvitePage {
        token: token.to_owned(),
        link: state.app.invitation_link(token),
        invitation: Some(Shown {
            inviter_name: inv.inviter_name,
            inviter_email: inv.inviter_email,
            email: inv.email,
            org_name: org.name,
            role: inv.role,
            expires: when_ms(inv.expires_at, Precision::Minute),
        }),
        error,
        join_csrf,
        signed_in_as,
        account_exists,
        welcome: None,
    };
    standalone(status, &page)
}

/// Shows the invitation.
pub async fn show(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Path(token): Path<String>,
) -> Response {
    render(&state, &token, None, session.as_ref()).await
}

#[derive(Deserialize)]
pub struct NewAccount {
    name: String,
    password: String,
}

/// Creates the account and accepts.
pub async fn accept(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    Form(form): Form<NewAccount>,
) -> Response {
    let who = Acceptor {
        caller: None,
        name: Some(form.name),
        password: Some(form.password),
    };
    match state.app.accept_invitation(&token, who, &meta).await {
        Ok(done) => standalone(
            StatusCode::OK,
            &InvitePage {
                welcome: Some(Welcome {
                    org: done.org_slug,
                    role: done.invitation.role,
                    email: done.invitation.email,
                }),
                ..Default::default()
            },
        ),
        Err(e) => {
            let text = describe(&ApiError::from(e)).1;
            render(&state, &token, Some(text), None).await
        }
    }
}

/// Accepts as the signed-in account the invitation is for.
pub async fn join(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Posted { session, .. }: Posted<NoFields>,
) -> Response {
    let who = Acceptor {
        caller: Some(session.caller.clone()),
        name: None,
        password: None,
    };
    match state
        .app
        .accept_invitation(&token, who, &session.meta)
        .await
    {
        Ok(done) => redirect_with(
            &state,
            &format!("/o/{}/users", done.org_slug),
            "notice",
            &format!("You joined {} as {}.", done.org_slug, done.invitation.role),
        ),
        Err(e) => {
            let text = describe(&ApiError::from(e)).1;
            render(&state, &token, Some(text), Some(&session)).await
        }
    }
}
