//! `/signup/confirm/{token}`: the page a sign-up's confirmation email
//! opens. Opening it changes nothing (mail scanners follow links); the
//! button confirms.

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

#[derive(Template, Default)]
#[template(path = "console/signup_confirm.html")]
struct ConfirmPage {
    done: bool,
    gone: bool,
    error: Option<String>,
}

pub async fn show(Path(_token): Path<String>) -> Response {
    standalone(StatusCode::OK, &ConfirmPage::default())
}

pub async fn confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Path(token): Path<String>,
) -> Response {
    match state.app.confirm_signup(&token, &meta).await {
        Ok(()) => standalone(
            StatusCode::OK,
            &ConfirmPage {
                done: true,
                ..Default::default()
            },
        ),
        Err(AppError::InvalidLink) => standalone(
            StatusCode::NOT_FOUND,
            &ConfirmPage {
                gone: true,
                ..Default::default()
            },
        ),
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            standalone(
                status,
                &ConfirmPage {
                    error: Some(text),
                    ..Default::default()
                },
            )
        }
    }
}
