//! `/set-password/{token}`: the page a welcome email's link opens, where a
//! person added by an administrator chooses their password.

use crate::http::error::ApiError;
use crate::http::extract::Meta;
use crate::http::pages::{escape, page};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

fn form(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"flash error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "{error}<form method=\"post\" class=\"stack\"><label>New password (at least 10 characters)\
         <input name=\"password\" type=\"password\" minlength=\"10\" required autocomplete=\"new-password\"></label>\
         <button type=\"submit\">Set password</button></form>"
    )
}

fn gone() -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Set your password", "<p class=\"flash error\">This link is invalid, used or expired. Ask an administrator for a new one.</p>"),
    )
        .into_response()
}

pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.app.password_link_valid(&token).await {
        Ok(true) => page("Set your password", &form(None)).into_response(),
        _ => gone(),
    }
}

#[derive(Deserialize)]
pub struct NewPassword {
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    Form(f): Form<NewPassword>,
) -> Response {
    match state
        .app
        .set_password_with_link(&token, &f.password, &meta)
        .await
    {
        Ok(()) => page(
            "Set your password",
            "<p>Your password is set. Sign in with <code>roster login</code>.</p>",
        )
        .into_response(),
        Err(crate::app::AppError::InvalidLink) => gone(),
        Err(e) => {
            let text = match ApiError::from(e) {
                ApiError::App(app) => app.to_string(),
                ApiError::Request { detail, .. } => detail,
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                page("Set your password", &form(Some(&text))),
            )
                .into_response()
        }
    }
}
