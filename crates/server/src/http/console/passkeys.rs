//! The console's passkey pages: adding, renaming and removing passkeys on
//! the profile's two-factor page, "Sign in with a passkey" on the sign-in
//! page and the passkey at the second-factor step.
//!
//! WebAuthn is a browser API, so these flows need `console.js`: it asks
//! for a challenge (a `fetch`), hands its options to
//! `navigator.credentials`, puts the answer (JSON) into the form's hidden
//! fields and posts the form as any other. The buttons are rendered
//! `hidden` and shown by the script only where `window.PublicKeyCredential`
//! exists; nothing else in the console needs JavaScript.

use super::auth::session_cookie;
use super::flash::redirect_with;
use super::frame::PageResult;
use super::mfa::{factor, mfa_page, second_factor_failed};
use super::session::{NoFields, PathId, Posted, PublicPosted, SignInSteps};
use crate::app::mfa::SecondFactor;
use crate::app::passkeys::Assertion;
use crate::http::error::ApiError;
use crate::http::routes::passkeys::challenge_view;
use crate::http::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;

/// A passkey's answer as the form carries it: the challenge id and the
/// credential's JSON, both filled in by the script.
#[derive(Deserialize)]
pub struct AssertionForm {
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

impl AssertionForm {
    /// The answer, when the form has one; a credential that is not JSON
    /// is sent on as a string and refused as malformed.
    fn assertion(&self) -> Option<Assertion> {
        if self.credential.trim().is_empty() {
            return None;
        }
        let credential = serde_json::from_str(&self.credential)
            .unwrap_or_else(|_| serde_json::Value::String(self.credential.clone()));
        Some(Assertion {
            challenge_id: self.challenge_id.clone(),
            credential,
        })
    }
}

fn no_answer() -> crate::app::AppError {
    crate::app::AppError::Passkey(crate::app::PasskeyFailure::Malformed)
}

/// `POST /profile/passkeys/options`: a registration challenge, as JSON for
/// the script (the API's `PasskeyChallengeView`, or its problem).
pub async fn options(
    State(state): State<AppState>,
    Posted { session: s, .. }: Posted<NoFields, SignInSteps>,
) -> Response {
    match state.app.start_passkey_registration(&s.caller).await {
        Ok(c) => {
            let mut res = (StatusCode::CREATED, Json(challenge_view(c))).into_response();
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            res
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct AddForm {
    name: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

/// `POST /profile/passkeys`: finishes a registration.
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted {
        session: s, form, ..
    }: Posted<AddForm, SignInSteps>,
) -> PageResult {
    let credential = serde_json::from_str(&form.credential)
        .unwrap_or_else(|_| serde_json::Value::String(form.credential.clone()));
    match state
        .app
        .finish_passkey_registration(
            &s.caller,
            &form.challenge_id,
            &form.name,
            &credential,
            &s.meta,
        )
        .await
    {
        Ok(p) => Ok(redirect_with(
            &state,
            "/profile/mfa",
            "notice",
            &format!("Passkey “{}” added.", p.name),
        )),
        Err(e) => {
            let err = super::frame::describe(&ApiError::from(e));
            mfa_page(&state, &s, &headers, None, vec![], Some(err)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

/// `POST /profile/passkeys/{id}/rename`.
pub async fn rename(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathId(id): PathId<i64>,
    Posted {
        session: s, form, ..
    }: Posted<RenameForm>,
) -> PageResult {
    match state
        .app
        .rename_passkey(&s.caller, id, &form.name, &s.meta)
        .await
    {
        Ok(p) => Ok(redirect_with(
            &state,
            "/profile/mfa",
            "notice",
            &format!("Passkey renamed to “{}”.", p.name),
        )),
        Err(e) => {
            let err = super::frame::describe(&ApiError::from(e));
            mfa_page(&state, &s, &headers, None, vec![], Some(err)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    password: String,
    /// A code from the app or a recovery code, when no passkey answered.
    #[serde(default)]
    code: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

/// `POST /profile/passkeys/{id}/remove`: with the password and a second
/// factor (a code, or another passkey's answer).
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathId(id): PathId<i64>,
    Posted {
        session: s, form, ..
    }: Posted<RemoveForm>,
) -> PageResult {
    let answer = AssertionForm {
        challenge_id: form.challenge_id,
        credential: form.credential,
    };
    let second = match answer.assertion() {
        Some(a) => Some(SecondFactor::Passkey(a)),
        None if !form.code.trim().is_empty() => Some(factor(&form.code)),
        None => None,
    };
    match state
        .app
        .remove_passkey(&s.caller, id, &form.password, second, &s.meta)
        .await
    {
        Ok(()) => Ok(redirect_with(
            &state,
            "/profile/mfa",
            "notice",
            "Passkey removed; your other sessions are signed out.",
        )),
        Err(e) => {
            let err = super::frame::describe(&ApiError::from(e));
            mfa_page(&state, &s, &headers, None, vec![], Some(err)).await
        }
    }
}

/// `POST /login/passkey`: signs in with a passkey alone.
pub async fn sign_in(
    State(state): State<AppState>,
    PublicPosted { meta, form }: PublicPosted<AssertionForm>,
) -> Response {
    let outcome = match form.assertion() {
        Some(a) => state.app.sign_in_with_passkey(&a, &meta).await,
        None => Err(no_answer()),
    };
    match outcome {
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
        Err(e) => super::auth::login_failed(&state, e),
    }
}

/// `POST /login/mfa/passkey`: a passkey as the second factor the session
/// owes.
pub async fn second_factor(
    State(state): State<AppState>,
    Posted {
        session: s, form, ..
    }: Posted<AssertionForm, SignInSteps>,
) -> PageResult {
    let outcome = match form.assertion() {
        Some(a) => {
            state
                .app
                .give_second_factor(&s.caller, SecondFactor::Passkey(a), &s.meta)
                .await
        }
        None => Err(no_answer()),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(e) => second_factor_failed(&state, &s, e).await,
    }
}
