//! First-start setup: the one-time link printed by `roster serve` on an
//! empty database opens a small form (`GET /setup`) that creates the first
//! organization and its owner; `POST /api/v1/setup` does the same for
//! programs.

use crate::app::setup::FirstOwner;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Meta};
use crate::http::pages::{escape, page};
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use roster_domain::{DisplayName, Email, OrgName, OrgSlug, Password};
use roster_proto::{Problem, SetupRequest};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(setup_api))
}

fn first_owner(req: &SetupRequest) -> Result<FirstOwner, ApiError> {
    Ok(FirstOwner {
        org_slug: OrgSlug::parse(&req.org_slug)?,
        org_name: OrgName::parse(&req.org_name)?,
        email: Email::parse(&req.email)?,
        name: DisplayName::parse(&req.name)?,
        password: Some(Password::parse_new(&req.password)?),
    })
}

/// Create the first organization and its owner with the one-time setup token.
#[utoipa::path(post, path = "/setup", tag = "setup", request_body = SetupRequest,
    responses((status = 201), (status = 404, description = "`invalid_link`", body = Problem),
        (status = 409, description = "`already_set_up`", body = Problem), (status = 422, body = Problem)))]
async fn setup_api(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<SetupRequest>,
) -> Result<StatusCode, ApiError> {
    let first = first_owner(&req)?;
    state
        .app
        .seed_first_owner(first, Some(&req.token), &meta)
        .await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn form(token: &str, error: Option<&str>) -> Html<String> {
    let error = error
        .map(|e| format!("<p class=\"flash error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page("Set up Roster", &format!(
        "<p>Create the first organization and its owner. This link works once.</p>{error}\
         <form method=\"post\" class=\"stack\" action=\"/setup\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
         <label>Organization slug<input name=\"org_slug\" required pattern=\"[a-z0-9][a-z0-9\\-]*[a-z0-9]\" placeholder=\"acme\"></label>\
         <label>Organization name<input name=\"org_name\" required placeholder=\"Acme Corp\"></label>\
         <label>Your name<input name=\"name\" required autocomplete=\"name\"></label>\
         <label>Your email<input name=\"email\" type=\"email\" required autocomplete=\"email\"></label>\
         <label>Password (at least 10 characters)<input name=\"password\" type=\"password\" minlength=\"10\" required autocomplete=\"new-password\"></label>\
         <button type=\"submit\">Create</button></form>",
        escape(token)
    ))
}

/// The setup form.
pub async fn setup_page(Query(q): Query<TokenQuery>) -> Html<String> {
    form(q.token.as_deref().unwrap_or(""), None)
}

/// The setup form's submission.
pub async fn setup_submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Form(req): Form<SetupRequest>,
) -> Response {
    let outcome = match first_owner(&req) {
        Ok(first) => state
            .app
            .seed_first_owner(first, Some(&req.token), &meta)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => page(
            "Set up Roster",
            &format!(
                "<p>Done. Sign in as <b>{}</b> with <code>roster login --email {}</code>.</p>",
                escape(&req.email),
                escape(&req.email)
            ),
        )
        .into_response(),
        Err(e) => {
            let message = match &e {
                ApiError::App(app) => app.to_string(),
                ApiError::Request { detail, .. } => detail.clone(),
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                form(&req.token, Some(&message)),
            )
                .into_response()
        }
    }
}
