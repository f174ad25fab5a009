//! `/set-password/{token}`: the page a welcome email's link opens, where a
//! person added by an administrator chooses their password.

use crate::app::AppError;
use crate::http::console::frame::{describe, standalone};
use crate::http::console::session::Path;
use crate::http::error::ApiError;
use crate::http::extract::Meta;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Template, Default)]
#[template(path = "console/set_password.html")]
struct SetPasswordPage {
    valid: bool,
    done: bool,
    error: Option<String>,
}

fn gone() -> Response {
    standalone(StatusCode::NOT_FOUND, &SetPasswordPage::default())
}

pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.app.password_link_valid(&token).await {
        Ok(true) => standalone(
            StatusCode::OK,
            &SetPasswordPage {
                valid: true,
                ..Default::default()
            },
        ),
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
        Ok(()) => standalone(
            StatusCode::OK,
            &SetPasswordPage {
                valid: true,
                done: true,
                error: None,
            },
        ),
        Err(AppError::InvalidLink) => gone(),
        Err(e) => standalone(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetPasswordPage {
                valid: true,
                done: false,
                error: Some(describe(&ApiError::from(e)).1),
            },
        ),
    }
}
