//! Slack: the org's connection (`/orgs/{org}/integrations/slack`), linking
//! (`.../slack/link`), and the endpoints Slack calls
//! (`/integrations/slack/commands`, `/integrations/slack/interactions`),
//! which are verified by signature rather than by a bearer token.

use crate::app::time::rfc3339;
use crate::app::AppError;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Meta, Org};
use crate::http::AppState;
use crate::integrations::slack::{self, ConnectRequest};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use roster_proto::{
    Problem, SlackConnectRequest, SlackConnectionView, SlackLinkRequest, SlackReply,
};
use roster_store::slack::Connection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show_connection, connect, disconnect))
        .routes(routes!(link))
        .routes(routes!(commands))
        .routes(routes!(interactions))
}

fn view(c: &Connection) -> SlackConnectionView {
    SlackConnectionView {
        team_id: c.team_id.clone(),
        channel: c.channel.clone(),
        api_base_url: c.api_base_url.clone(),
        connected_at: rfc3339(c.updated_at),
    }
}

/// The org's Slack connection (secrets are never shown). Needs `integrations:manage`.
#[utoipa::path(get, path = "/orgs/{org}/integrations/slack", tag = "slack", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = SlackConnectionView), (status = 404, body = Problem)))]
async fn show_connection(
    Org { app, access, .. }: Org,
) -> Result<Json<SlackConnectionView>, ApiError> {
    Ok(Json(view(&app.slack_connection(&access).await?)))
}

/// Connect the org to a Slack workspace (checked with `auth.test`). Needs
/// `integrations:manage`.
#[utoipa::path(put, path = "/orgs/{org}/integrations/slack", tag = "slack", security(("bearer" = [])),
    request_body = SlackConnectRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = SlackConnectionView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn connect(
    State(state): State<AppState>,
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<SlackConnectRequest>,
) -> Result<Json<SlackConnectionView>, ApiError> {
    let req = ConnectRequest {
        signing_secret: req.signing_secret,
        bot_token: req.bot_token,
        channel: req.channel,
        api_base_url: req.api_base_url,
    };
    let conn = slack::connect(&app, &state.slack, &access, req, &meta).await?;
    Ok(Json(view(&conn)))
}

/// Disconnect Slack. Needs `integrations:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/integrations/slack", tag = "slack", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 204), (status = 404, body = Problem)))]
async fn disconnect(Org { app, access, meta }: Org) -> Result<StatusCode, ApiError> {
    app.disconnect_slack(&access, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Link your Slack account: confirm the code `/roster link` gave you.
#[utoipa::path(post, path = "/orgs/{org}/integrations/slack/link", tag = "slack", security(("bearer" = [])),
    request_body = SlackLinkRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 204), (status = 404, description = "`invalid_link`: unknown, used or expired code", body = Problem)))]
async fn link(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<SlackLinkRequest>,
) -> Result<StatusCode, ApiError> {
    app.link_slack(&access, &req.code, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The headers Slack signs its requests with (v0 HMAC-SHA256 of
/// `v0:<timestamp>:<body>` with the signing secret). Only documents them:
/// [`verified`] reads them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct SlackSignature {
    /// `v0=` and the hex HMAC.
    #[param(rename = "X-Slack-Signature")]
    signature: String,
    /// Unix seconds; older than five minutes is refused.
    #[param(rename = "X-Slack-Request-Timestamp")]
    timestamp: String,
}

/// Verifies the request's signature against the workspace's connection.
async fn verified(
    state: &AppState,
    headers: &HeaderMap,
    team_id: &str,
    body: &[u8],
) -> Result<Connection, ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    Ok(slack::verified(
        &state.app,
        team_id,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
    )
    .await?)
}

/// What a failed Slack action tells the user (errors go to the user, not to
/// Slack as HTTP errors, which Slack would only retry).
fn reply(outcome: Result<String, AppError>) -> Json<SlackReply> {
    let text = match outcome {
        Ok(text) => text,
        Err(AppError::Internal(e)) => {
            tracing::error!(error = %e, "Slack request failed");
            "Something went wrong on Roster's side; try again later.".to_owned()
        }
        Err(e) => e.to_string(),
    };
    Json(SlackReply {
        response_type: "ephemeral".into(),
        text,
    })
}

/// A slash command as Slack posts it (form fields; others are ignored).
/// Only documents the body: the handler reads the raw bytes, whose
/// signature it checks.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SlashCommandForm {
    /// The workspace, which names the org's connection.
    team_id: String,
    /// The Slack user.
    user_id: String,
    /// `/roster` when left out.
    #[schema(required = false)]
    command: String,
    /// `register <email>`, `link`, `help`.
    #[schema(required = false)]
    text: String,
    #[schema(required = false)]
    trigger_id: String,
}

/// A button click as Slack posts it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct InteractionForm {
    /// The interaction, as JSON text (`team.id` names the connection).
    payload: String,
}

/// Slash commands from Slack (`/roster register|link|help`), form-encoded and
/// signed with the workspace's signing secret.
#[utoipa::path(post, path = "/integrations/slack/commands", tag = "slack",
    request_body(content = SlashCommandForm, content_type = "application/x-www-form-urlencoded"),
    params(SlackSignature),
    responses((status = 200, body = SlackReply), (status = 401, description = "unsigned, stale or tampered", body = Problem)))]
async fn commands(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SlackReply>, ApiError> {
    let form = slack::SlashForm::parse(&slack::form(&body));
    let conn = verified(&state, &headers, &form.team_id, &body).await?;
    Ok(reply(
        slack::command(&state.app, &state.slack, &conn, form, &meta).await,
    ))
}

/// Button clicks on review cards, form-encoded (`payload=<json>`) and signed.
#[utoipa::path(post, path = "/integrations/slack/interactions", tag = "slack",
    request_body(content = InteractionForm, content_type = "application/x-www-form-urlencoded"),
    params(SlackSignature),
    responses((status = 200, body = SlackReply), (status = 401, description = "unsigned, stale or tampered", body = Problem)))]
async fn interactions(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SlackReply>, ApiError> {
    let fields = slack::form(&body);
    let payload: serde_json::Value = slack::field(&fields, "payload")
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(serde_json::Value::Null);
    let team_id = payload["team"]["id"].as_str().unwrap_or("");
    let conn = verified(&state, &headers, team_id, &body).await?;
    let outcome = match slack::click(&payload) {
        Ok(click) => state
            .app
            .slack_click(&conn, click, &meta)
            .await
            .map(|o| slack::words(&o, "")),
        Err(e) => Err(e),
    };
    Ok(reply(outcome))
}
