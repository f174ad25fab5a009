//! First-start setup: the one-time link printed by `roster serve` on an
//! empty database opens a small form (`GET /setup`) that creates the first
//! organization and its owner; `POST /api/v1/setup` does the same for
//! programs.

use crate::app::setup::FirstOwner;
use crate::http::console::frame::{describe, standalone};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Meta};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
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

/// The setup form's values, shown again after an error (not the password).
#[derive(Default)]
struct Values {
    org_slug: String,
    org_name: String,
    name: String,
    email: String,
}

#[derive(Template, Default)]
#[template(path = "console/setup.html")]
struct SetupPage {
    token: String,
    v: Values,
    error: Option<String>,
    /// The owner's email, once done.
    done: Option<String>,
}

/// The setup form.
pub async fn setup_page(Query(q): Query<TokenQuery>) -> Response {
    standalone(
        StatusCode::OK,
        &SetupPage {
            token: q.token.unwrap_or_default(),
            ..Default::default()
        },
    )
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
        Ok(_) => standalone(
            StatusCode::OK,
            &SetupPage {
                done: Some(req.email),
                ..Default::default()
            },
        ),
        Err(e) => standalone(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                error: Some(describe(&e).1),
                v: Values {
                    org_slug: req.org_slug,
                    org_name: req.org_name,
                    name: req.name,
                    email: req.email,
                },
                token: req.token,
                done: None,
            },
        ),
    }
}
