//! One-shot flash messages: a notice or an error shown on the next page,
//! in a cookie signed with the server key so a page never shows text it
//! did not write.

use super::frame::describe;
use crate::app::OrgAccess;
use crate::http::error::ApiError;
use crate::http::extract::cookie_value;
use crate::http::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

/// The flash cookie: one message shown on the next page, then cleared.
const FLASH_COOKIE: &str = "roster_flash";

/// A one-shot message for the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    /// `notice` or `error`.
    pub kind: &'static str,
    pub text: String,
}

fn flash_signature(state: &AppState, kind: &str, text: &str) -> String {
    let mut sig = state.app.keys().hash_token(&format!("flash:{kind}:{text}"));
    sig.truncate(32);
    sig
}

/// Reads the flash cookie, if its signature holds.
pub fn read_flash(state: &AppState, headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie_value(headers, FLASH_COOKIE)?;
    let mut it = raw.splitn(3, '~');
    let kind = match it.next()? {
        "notice" => "notice",
        "error" => "error",
        _ => return None,
    };
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(it.next()?)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    let sig = it.next()?;
    bool::from(
        sig.as_bytes()
            .ct_eq(flash_signature(state, kind, &text).as_bytes()),
    )
    .then_some(Flash { kind, text })
}

pub(super) fn flash_cookie(value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A 303 to `to` that shows `text` there once.
pub fn redirect_with(state: &AppState, to: &str, kind: &'static str, text: &str) -> Response {
    let text: String = text.chars().take(500).collect();
    let value = format!(
        "{kind}~{}~{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes()),
        flash_signature(state, kind, &text)
    );
    let mut res = Redirect::to(to).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, flash_cookie(&value, 60));
    res
}

/// The outcome of a small action in an org: back to the org's page `page`
/// (`users`, `groups/dev`...) with a notice, or with the reason it was
/// refused.
pub fn back_in<E: Into<ApiError>>(
    state: &AppState,
    access: &OrgAccess,
    page: &str,
    outcome: Result<String, E>,
) -> Response {
    back(state, &format!("/o/{}/{page}", access.org.slug), outcome)
}

/// The outcome of a small action: back to `to` with a notice, or with the
/// reason it was refused.
pub fn back<E: Into<ApiError>>(state: &AppState, to: &str, outcome: Result<String, E>) -> Response {
    match outcome {
        Ok(notice) => redirect_with(state, to, "notice", &notice),
        Err(e) => redirect_with(state, to, "error", &describe(&e.into()).1),
    }
}
