//! Single sign-on: an org's connections and group mappings
//! (`/orgs/{org}/sso/connections`, `/orgs/{org}/group-mappings`), and the
//! sign-in flow (`/auth/sso/start`, `/auth/sso/callback`,
//! `/auth/sso/exchange`, `/auth/sso/discover`).
//!
//! The flow is a browser's: `start` answers a redirect to the provider
//! and a cookie (`roster_sso`, `SameSite=Lax`, `HttpOnly`) that binds the
//! sign-in to this browser; the provider sends the browser back to
//! `callback`, which answers by where the sign-in began: JSON with a
//! session token (API), the console's session cookie (console), or a
//! redirect to the CLI's loopback receiver with a one-time code that the
//! CLI exchanges (with its PKCE verifier) at `exchange`. No token is ever
//! put in a URL.

use crate::app::sso::{loopback_redirect, Identity, MappingInput, Purpose};
use crate::app::time::rfc3339;
use crate::app::{AppError, Channel, SsoFailure};
use crate::http::error::{ApiError, Code};
use crate::http::extract::{cookie_value, ApiJson, ApiQuery, Meta, Org, PathId};
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use roster_proto::{
    CreateSsoConnectionRequest, GroupMappingView, GroupMappings, LoginResponse, Page, Problem,
    SsoConnectionView, SsoDiscovery, SsoExchangeRequest, UpdateSsoConnectionRequest,
};
use roster_store::sso::{Connection, Mapping};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The cookie that binds a sign-in in flight to the browser that began it.
pub const SSO_COOKIE: &str = "roster_sso";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(
            get_connection,
            update_connection,
            delete_connection
        ))
        .routes(routes!(get_mappings, put_mappings))
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(exchange))
        .routes(routes!(discover))
}

pub(crate) fn view(app: &crate::app::App, c: &Connection) -> SsoConnectionView {
    SsoConnectionView {
        id: c.id,
        name: c.name.clone(),
        issuer: c.issuer.clone(),
        client_id: c.client_id.clone(),
        domains: c.domains.clone(),
        groups_claim: c.groups_claim.clone(),
        jit: c.jit,
        enforce: c.enforce,
        redirect_uri: app.sso_redirect_uri(),
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
    }
}

pub(crate) fn mapping_views(list: &[Mapping]) -> Vec<GroupMappingView> {
    list.iter()
        .map(|m| GroupMappingView {
            claim: m.claim.clone(),
            group: m.group_name.clone(),
            role: m.role.clone(),
        })
        .collect()
}

/// The org's SSO connections. Needs `integrations:manage`.
#[utoipa::path(get, path = "/orgs/{org}/sso/connections", tag = "sso", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = Page<SsoConnectionView>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_connections(
    Org { app, access, .. }: Org,
) -> Result<Json<Page<SsoConnectionView>>, ApiError> {
    let list = app.sso_connections(&access).await?;
    Ok(Json(Page {
        items: list.iter().map(|c| view(&app, c)).collect(),
        next_cursor: None,
    }))
}

/// Add an OpenID Connect connection serving some email domains. The
/// client secret is stored encrypted and never returned. A domain served
/// by another connection (of any org) is `sso_domain_taken`. Needs
/// `integrations:manage`.
#[utoipa::path(post, path = "/orgs/{org}/sso/connections", tag = "sso", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    request_body = CreateSsoConnectionRequest,
    responses((status = 201, body = SsoConnectionView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`sso_domain_taken`, `sso_connection_exists`", body = Problem),
        (status = 422, body = Problem)))]
async fn create_connection(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<CreateSsoConnectionRequest>,
) -> Result<Response, ApiError> {
    let made = app
        .create_sso_connection(
            &access,
            crate::app::sso::ConnectionInput {
                name: req.name,
                issuer: Some(req.issuer),
                client_id: Some(req.client_id),
                client_secret: Some(req.client_secret),
                domains: Some(req.domains),
                groups_claim: req.groups_claim,
                jit: req.jit,
                enforce: req.enforce,
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view(&app, &made))).into_response())
}

/// One SSO connection. Needs `integrations:manage`.
#[utoipa::path(get, path = "/orgs/{org}/sso/connections/{id}", tag = "sso", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the connection's id")),
    responses((status = 200, body = SsoConnectionView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_connection(
    Org { app, access, .. }: Org,
    PathId(id): PathId<i64>,
) -> Result<Json<SsoConnectionView>, ApiError> {
    let c = app.sso_connection(&access, id).await?;
    Ok(Json(view(&app, &c)))
}

/// Change an SSO connection; fields left out keep their value (send
/// `client_secret` only to replace it). Needs `integrations:manage`.
#[utoipa::path(patch, path = "/orgs/{org}/sso/connections/{id}", tag = "sso", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the connection's id")),
    request_body = UpdateSsoConnectionRequest,
    responses((status = 200, body = SsoConnectionView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`sso_domain_taken`, `sso_connection_exists`", body = Problem),
        (status = 422, body = Problem)))]
async fn update_connection(
    Org { app, access, meta }: Org,
    PathId(id): PathId<i64>,
    ApiJson(req): ApiJson<UpdateSsoConnectionRequest>,
) -> Result<Json<SsoConnectionView>, ApiError> {
    let c = app
        .update_sso_connection(
            &access,
            id,
            crate::app::sso::ConnectionInput {
                name: req.name,
                issuer: req.issuer,
                client_id: req.client_id,
                client_secret: req.client_secret,
                domains: req.domains,
                groups_claim: req.groups_claim,
                jit: req.jit,
                enforce: req.enforce,
            },
            &meta,
        )
        .await?;
    Ok(Json(view(&app, &c)))
}

/// Remove an SSO connection. Its members keep their accounts and
/// memberships (and sign in another way). Needs `integrations:manage`.
#[utoipa::path(delete, path = "/orgs/{org}/sso/connections/{id}", tag = "sso", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the connection's id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_connection(
    Org { app, access, meta }: Org,
    PathId(id): PathId<i64>,
) -> Result<StatusCode, ApiError> {
    app.delete_sso_connection(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org's group mappings (shared by SSO and SCIM), in order. Needs
/// `integrations:manage`.
#[utoipa::path(get, path = "/orgs/{org}/group-mappings", tag = "sso", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = GroupMappings), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_mappings(Org { app, access, .. }: Org) -> Result<Json<GroupMappings>, ApiError> {
    let list = app.group_mappings(&access).await?;
    Ok(Json(GroupMappings {
        mappings: mapping_views(&list),
    }))
}

/// Replace the org's group mappings. A directory group name (`claim`)
/// gives a group (created when missing) and/or a role; the first matching
/// mapping with a role gives the role. Groups no mapping names are never
/// touched by SSO. A role the caller may not grant is refused. Needs
/// `integrations:manage`.
#[utoipa::path(put, path = "/orgs/{org}/group-mappings", tag = "sso", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug")),
    request_body = GroupMappings,
    responses((status = 200, body = GroupMappings), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_mappings(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<GroupMappings>,
) -> Result<Json<GroupMappings>, ApiError> {
    let list = req
        .mappings
        .into_iter()
        .map(|m| MappingInput {
            claim: m.claim,
            group: m.group,
            role: m.role,
        })
        .collect();
    let saved = app.set_group_mappings(&access, list, &meta).await?;
    Ok(Json(GroupMappings {
        mappings: mapping_views(&saved),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The email to sign in with: its domain finds the connection.
    #[serde(default)]
    email: Option<String>,
    /// Or the org's slug (its only connection, or the one `connection` names).
    #[serde(default)]
    org: Option<String>,
    /// With `org`: the connection's name.
    #[serde(default)]
    connection: Option<String>,
    /// The CLI's loopback receiver (`http://127.0.0.1:PORT/...` only).
    #[serde(default)]
    redirect_uri: Option<String>,
    /// With `redirect_uri`: the S256 challenge of the CLI's verifier.
    #[serde(default)]
    code_challenge: Option<String>,
}

/// How the browser is sent to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// A 303 redirect (the API).
    Redirect,
    /// A page that moves on by itself (the console: its CSP's
    /// `form-action 'self'` stops a form's redirect to another site).
    Page,
}

#[derive(Template)]
#[template(path = "console/sso_go.html")]
struct GoPage<'a> {
    to: &'a str,
}

/// Sends the browser to the provider for `connection`, with a new state,
/// nonce and PKCE challenge, and binds the sign-in to the browser with the
/// `roster_sso` cookie.
pub(crate) async fn begin(
    state: &AppState,
    connection: &Connection,
    purpose: Purpose,
    started_by: Option<roster_domain::UserId>,
    via: Via,
) -> Result<Response, ApiError> {
    let cfg = state.app.sso_client_config(connection)?;
    let begun = state
        .oidc
        .begin(&cfg, &state.app.sso_redirect_uri())
        .await?;
    let browser = crate::crypto::new_token("");
    state
        .app
        .sso_save_state(
            connection,
            &begun.state,
            &begun.nonce,
            &begun.pkce_verifier,
            &browser,
            &purpose,
            started_by,
        )
        .await?;
    let mut res = match via {
        Via::Redirect => Redirect::to(&begun.url).into_response(),
        Via::Page => {
            crate::http::console::frame::standalone(StatusCode::OK, &GoPage { to: &begun.url })
        }
    };
    res.headers_mut().insert(
        header::SET_COOKIE,
        sso_cookie(state, &browser, crate::app::sso::STATE_TTL.as_secs()),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn sso_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let public = &state.app.settings().public_url;
    let secure = if public.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    // Lax: the provider sends the browser back with a top-level GET from
    // its own site, which a Strict cookie would not come with.
    HeaderValue::from_str(&format!(
        "{SSO_COOKIE}={value}; Path=/api/v1/auth/sso; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Begin a single sign-on: finds the connection by the email's domain (or
/// the org), and redirects to the provider with state, nonce and PKCE
/// (S256). With `redirect_uri` (the CLI's loopback receiver) and
/// `code_challenge`, the result goes to the CLI; otherwise the callback
/// answers the session as JSON.
#[utoipa::path(get, path = "/auth/sso/start", tag = "sso", params(StartQuery),
    responses((status = 303, description = "to the identity provider; sets the `roster_sso` cookie"),
        (status = 404, description = "`sso_not_configured`", body = Problem),
        (status = 422, description = "a bad email, or a `redirect_uri` that is not a loopback receiver", body = Problem),
        (status = 502, description = "`sso_provider_unavailable`, `sso_provider_error`", body = Problem)))]
async fn start(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    let purpose = match (&q.redirect_uri, &q.code_challenge) {
        (Some(r), Some(ch)) => {
            let redirect = loopback_redirect(r)?;
            let ok = ch.len() == 43
                && ch
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(crate::app::orgs::invalid(
                    "code_challenge",
                    "code_challenge is the base64url S256 of a PKCE verifier (43 characters)",
                )
                .into());
            }
            Purpose::Cli {
                redirect,
                challenge: ch.clone(),
            }
        }
        (Some(_), None) => {
            return Err(crate::app::orgs::invalid(
                "code_challenge",
                "a redirect_uri needs a code_challenge",
            )
            .into())
        }
        (None, _) => Purpose::Api,
    };
    let connection = state
        .app
        .sso_discover(
            q.email.as_deref(),
            q.org.as_deref(),
            q.connection.as_deref(),
        )
        .await?;
    begin(&state, &connection, purpose, None, Via::Redirect).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    code: Option<String>,
    /// The provider's refusal (`access_denied`, ...).
    #[serde(default)]
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/sso_done.html")]
struct DonePage<'a> {
    to: &'a str,
}

#[derive(Template)]
#[template(path = "console/sso_test.html")]
struct TestPage<'a> {
    connection: &'a str,
    subject: &'a str,
    email: &'a str,
    email_verified: bool,
    groups: &'a [String],
    role: &'a str,
    mapped_groups: &'a [String],
    claims: &'a str,
    back: &'a str,
}

/// Whether the request comes from a browser page (it asks for HTML).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn failure(headers: &HeaderMap, e: ApiError) -> Response {
    let mut res = if wants_html(headers) {
        let (status, text) = crate::http::console::frame::describe(&e);
        crate::http::console::frame::Failure::page(status, &text).into_response()
    } else {
        e.into_response()
    };
    res.headers_mut().append(header::SET_COOKIE, clear_cookie());
    res
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SSO_COOKIE}=; Path=/api/v1/auth/sso; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Where the provider sends the browser back: checks the state (single
/// use, unexpired, this browser's), exchanges the code, validates the ID
/// token (signature from the provider's JWKS, issuer, audience, expiry,
/// nonce) and signs in (channel `sso`). Answers by where the sign-in
/// began: JSON with the session (API), the console's session, or a
/// redirect to the CLI's loopback receiver with a one-time code. Failures
/// are problem documents, or a page when the browser asks for HTML;
/// nothing is changed by a failed sign-in.
#[utoipa::path(get, path = "/auth/sso/callback", tag = "sso", params(CallbackQuery),
    responses((status = 200, description = "signed in (API: the session; console: a page that continues)", body = LoginResponse),
        (status = 303, description = "to the CLI's loopback receiver with a one-time `code`"),
        (status = 400, description = "`sso_state_invalid`", body = Problem),
        (status = 401, description = "`sso_token_invalid`, `mfa_required`", body = Problem),
        (status = 403, description = "`sso_email_domain_not_served`, `sso_account_not_linked`, `sso_not_a_member`", body = Problem),
        (status = 502, description = "`sso_provider_unavailable`, `sso_provider_error`", body = Problem)))]
async fn callback(
    State(state): State<AppState>,
    Meta(mut meta): Meta,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Response {
    meta.channel = Channel::Sso;
    match finish(&state, &meta, &headers, q).await {
        Ok(mut res) => {
            res.headers_mut().append(header::SET_COOKIE, clear_cookie());
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => failure(&headers, e),
    }
}

async fn finish(
    state: &AppState,
    meta: &crate::app::RequestMeta,
    headers: &HeaderMap,
    q: CallbackQuery,
) -> Result<Response, ApiError> {
    let browser = cookie_value(headers, SSO_COOKIE);
    let taken = state
        .app
        .sso_take_state(q.state.as_deref().unwrap_or(""), browser.as_deref())
        .await;
    // The provider's refusal comes first: it may not send the state back.
    if let Some(err) = &q.error {
        let err: String = err
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(60)
            .collect();
        return Err(AppError::sso(
            SsoFailure::ProviderError,
            format!("the identity provider did not sign you in ({err}); nothing was changed"),
        )
        .into());
    }
    let pending = taken?;
    let code = q
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2000)
        .ok_or_else(|| {
            AppError::sso(
                SsoFailure::ProviderError,
                "the identity provider sent no authorization code",
            )
        })?;
    let verified = state
        .oidc
        .finish(
            &pending.client,
            &state.app.sso_redirect_uri(),
            code,
            &pending.nonce,
            &pending.pkce_verifier,
        )
        .await?;
    let identity = Identity {
        subject: verified.subject.clone(),
        email: verified.email.clone(),
        email_verified: verified.email_verified,
        name: verified.name.clone(),
        groups: verified.groups.clone(),
    };
    match pending.purpose {
        Purpose::Test => {
            let preview = state
                .app
                .sso_preview(&pending.connection, &identity.groups)
                .await?;
            let claims = serde_json::to_string_pretty(&verified.claims).unwrap_or_default();
            let back = format!("/o/{}/settings/sso", preview.org_slug);
            let page = TestPage {
                connection: &pending.connection.name,
                subject: &identity.subject,
                email: identity.email.as_deref().unwrap_or(""),
                email_verified: identity.email_verified,
                groups: &identity.groups,
                role: preview
                    .role
                    .as_deref()
                    .unwrap_or("(unchanged, or the org's default role)"),
                mapped_groups: &preview.groups,
                claims: &claims,
                back: &back,
            };
            Ok(crate::http::console::frame::standalone(
                StatusCode::OK,
                &page,
            ))
        }
        purpose => {
            let signed = state
                .app
                .sso_sign_in(&pending.connection, identity, meta)
                .await?;
            match purpose {
                Purpose::Cli {
                    redirect,
                    challenge,
                } => {
                    let code = state
                        .app
                        .sso_handoff(signed.user.id, &pending.connection, &challenge)
                        .await?;
                    let mut url = url::Url::parse(&redirect).map_err(|_| {
                        AppError::Internal(anyhow::anyhow!("a stored CLI redirect is bad"))
                    })?;
                    url.query_pairs_mut().append_pair("code", &code);
                    // The session itself is not in the URL: the CLI
                    // exchanges the code with its verifier for one.
                    Ok(Redirect::to(url.as_str()).into_response())
                }
                Purpose::Console { next } => {
                    let done = state.app.sso_session(signed, meta).await?;
                    let to = done
                        .stage
                        .console_page()
                        .map_or(next.clone(), str::to_owned);
                    let mut res = crate::http::console::frame::standalone(
                        StatusCode::OK,
                        &DonePage { to: &to },
                    );
                    let max_age = state.app.settings().session_ttl.as_secs();
                    res.headers_mut().insert(
                        header::SET_COOKIE,
                        crate::http::console::auth::session_cookie(state, &done.token, max_age),
                    );
                    Ok(res)
                }
                Purpose::Api | Purpose::Test => {
                    let login = state.app.sso_session(signed, meta).await?;
                    Ok(super::mfa::login_response(state, login))
                }
            }
        }
    }
}

/// Trade the one-time code the CLI's loopback receiver got for a session,
/// with the PKCE verifier whose challenge began the sign-in. The code
/// works once, for two minutes.
#[utoipa::path(post, path = "/auth/sso/exchange", tag = "sso", request_body = SsoExchangeRequest,
    responses((status = 200, body = LoginResponse),
        (status = 404, description = "`invalid_link`: unknown, used, expired, or the wrong verifier", body = Problem)))]
async fn exchange(
    State(state): State<AppState>,
    Meta(mut meta): Meta,
    ApiJson(req): ApiJson<SsoExchangeRequest>,
) -> Result<Response, ApiError> {
    meta.channel = Channel::Sso;
    let login = state
        .app
        .sso_exchange(&req.code, &req.verifier, &meta)
        .await?;
    Ok(super::mfa::login_response(&state, login))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiscoverQuery {
    email: String,
}

/// Whether an email's domain signs in with single sign-on (the console
/// shows "Continue with SSO"). Says nothing about accounts.
#[utoipa::path(get, path = "/auth/sso/discover", tag = "sso", params(DiscoverQuery),
    responses((status = 200, body = SsoDiscovery), (status = 400, body = Problem)))]
async fn discover(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DiscoverQuery>,
) -> Result<Json<SsoDiscovery>, ApiError> {
    if q.email.len() > 320 {
        return Err(ApiError::request(
            StatusCode::BAD_REQUEST,
            Code::InvalidQuery,
            "email is too long".to_owned(),
        ));
    }
    Ok(Json(SsoDiscovery {
        sso: state.app.sso_available(&q.email).await?,
    }))
}
