//! `/invite/{token}`: the page an invitation link opens. It shows the
//! invitation and, for a person without an account, a form that creates the
//! account and accepts. People who already have an account accept signed in
//! (`roster invitations accept LINK`, or the console).

use crate::app::invitations::Acceptor;
use crate::http::console::frame::{redirect_with, MaybeSession, Path, Posted, Session};
use crate::http::error::ApiError;
use crate::http::extract::Meta;
use crate::http::pages::{escape, page};
use crate::http::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

fn message(e: &ApiError) -> String {
    match e {
        ApiError::App(app) => app.to_string(),
        ApiError::Request { detail, .. } => detail.clone(),
    }
}

async fn render(
    state: &AppState,
    token: &str,
    error: Option<&str>,
    session: Option<&Session>,
) -> Response {
    let (inv, org) = match state.app.invitation_by_token(token).await {
        Ok(found) => found,
        Err(e) => {
            let status = if matches!(e, crate::app::AppError::InvitationExpired) {
                StatusCode::GONE
            } else {
                StatusCode::NOT_FOUND
            };
            return (
                status,
                page(
                    "Invitation",
                    &format!("<p class=\"flash error\">{}</p>", escape(&e.to_string())),
                ),
            )
                .into_response();
        }
    };
    let intro = format!(
        "<p><b>{}</b> ({}) invited <b>{}</b> to join <b>{}</b> as <b>{}</b>.</p><p>The invitation expires at {} UTC.</p>",
        escape(&inv.inviter_name),
        escape(&inv.inviter_email),
        escape(&inv.email),
        escape(&org.name),
        escape(&inv.role),
        escape(&crate::app::time::rfc3339(inv.expires_at))
    );
    let error = error
        .map(|e| format!("<p class=\"flash error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let account_exists = state.app.account_exists(&inv.email).await.unwrap_or(false);
    let action = if account_exists {
        match session {
            Some(s) if s.principal.email.eq_ignore_ascii_case(&inv.email) => format!(
                "<form method=\"post\" action=\"/invite/{}/join\" class=\"stack\">\
                 <input type=\"hidden\" name=\"_csrf\" value=\"{}\">\
                 <button type=\"submit\">Join {} as {}</button></form>",
                escape(token),
                escape(&s.csrf),
                escape(&org.name),
                escape(&inv.role)
            ),
            Some(s) => format!(
                "<p class=\"flash warning\">You are signed in as {}; this invitation is for {}. \
                 Sign out, then open the link again and sign in as {}.</p>",
                escape(&s.principal.email),
                escape(&inv.email),
                escape(&inv.email)
            ),
            None => format!(
                "<p>You already have an account. <a class=\"button\" href=\"/login?next=/invite/{}\">Sign in to accept</a></p>\
                 <p class=\"muted\">Or from a terminal: <code>roster login --email {}</code>, then \
                 <code>roster invitations accept {}</code></p>",
                escape(token),
                escape(&inv.email),
                escape(&state.app.invitation_link(token))
            ),
        }
    } else {
        format!(
            "<form method=\"post\" class=\"stack\"><label>Your name<input name=\"name\" required autocomplete=\"name\"></label>\
             <label>Choose a password (at least 10 characters)<input name=\"password\" type=\"password\" minlength=\"10\" required autocomplete=\"new-password\"></label>\
             <button type=\"submit\">Create my account and join {}</button></form>",
            escape(&org.name)
        )
    };
    page("Invitation", &format!("{intro}{error}{action}")).into_response()
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
pub struct Join {}

/// Accepts as the signed-in account the invitation is for.
pub async fn join(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Posted { session, .. }: Posted<Join>,
) -> Response {
    let who = Acceptor {
        principal: Some(session.principal.clone()),
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
            let text = message(&ApiError::from(e));
            let mut res = render(&state, &token, Some(&text), Some(&session)).await;
            if res.status() == StatusCode::OK {
                *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            res
        }
    }
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
        principal: None,
        name: Some(form.name),
        password: Some(form.password),
    };
    match state.app.accept_invitation(&token, who, &meta).await {
        Ok(done) => page(
            "Welcome",
            &format!(
                "<p>You joined <b>{}</b> as <b>{}</b>.</p><p><a href=\"/login\">Sign in to Roster</a>, or from a terminal: <code>roster login --email {}</code>.</p>",
                escape(&done.org_slug),
                escape(&done.invitation.role),
                escape(&done.invitation.email)
            ),
        )
        .into_response(),
        Err(e) => {
            let text = message(&ApiError::from(e));
            let mut res = render(&state, &token, Some(&text), None).await;
            if res.status() == StatusCode::OK {
                *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            res
        }
    }
}
