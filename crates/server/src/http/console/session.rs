//! The console's session and forms: the signed-in session (with its
//! sign-in stage) and its CSRF token, the org of the path, and forms
//! checked for this session, this origin and its CSRF token.

// Extractor rejections are whole responses, as axum's own are.
#![allow(clippy::result_large_err)]

use super::flash::{back_in, read_flash, Flash};
use super::frame::{refused, Failure};
use crate::app::{AppError, Caller, Channel, OrgAccess, Reach, RequestMeta};
use crate::http::error::ApiError;
use crate::http::extract::{cookie_value, org_slug, Meta, SESSION_COOKIE};
use crate::http::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// Largest form body the console takes.
const FORM_LIMIT: usize = 64 * 1024;

/// A signed-in browser session: the caller, and the CSRF token that every
/// form of this session carries.
#[derive(Clone)]
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
    pub meta: RequestMeta,
}

/// What a console route needs of the session's sign-in stage (see
/// [`crate::app::SessionStage`]): [`Ready`] for every page but the
/// sign-in steps themselves, which take [`SignInSteps`].
pub trait Gate {
    const REACH: Reach;
}

/// Past every sign-in step.
pub struct Ready;

impl Gate for Ready {
    const REACH: Reach = Reach::Everything;
}

/// At any stage: the pages that take the remaining steps, and signing out.
pub struct SignInSteps;

impl Gate for SignInSteps {
    const REACH: Reach = Reach::SignInSteps;
}

fn csrf_for(state: &AppState, token: &str) -> String {
    state.app.keys().hash_token(&format!("csrf:{token}"))
}

/// Where a request that needs a session goes without one.
fn to_login(parts: &Parts) -> Response {
    if parts.method == Method::GET {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let q = serde_html_form::to_string([("next", next)]).unwrap_or_default();
        Redirect::to(&format!("/login?{q}")).into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

async fn meta(parts: &mut Parts, state: &AppState) -> RequestMeta {
    let Ok(Meta(mut meta)) = Meta::from_request_parts(parts, state).await;
    meta.channel = Channel::Console;
    meta
}

/// The request's session, sent to the page of its remaining sign-in step
/// when `reach` needs more than it has done.
async fn session(parts: &mut Parts, state: &AppState, reach: Reach) -> Result<Session, Response> {
    if let Some(s) = parts.extensions.get::<Session>() {
        if s.caller.admits(reach).is_ok() {
            return Ok(s.clone());
        }
    }
    let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
        return Err(to_login(parts));
    };
    let meta = meta(parts, state).await;
    let caller = match state.app.authenticate(&token, &meta).await {
        Ok(c) => c,
        Err(AppError::Unauthenticated) => return Err(to_login(parts)),
        Err(e) => return Err(Failure::from(e).0),
    };
    if caller.admits(reach).is_err() {
        let page = caller.stage().console_page().unwrap_or("/");
        return Err(Redirect::to(page).into_response());
    }
    Ok(Session {
        csrf: csrf_for(state, &token),
        caller,
        meta,
    })
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        session(parts, state, Reach::Everything).await
    }
}

/// What a console page in an org works with: the state, a signed-in
/// session and its access to the org of the path (`/o/{org}/...`),
/// resolved once per request with the same rules as the API's `Org` (not
/// a member: the console's 404 page), and the flash message to show.
pub struct InOrg {
    pub state: AppState,
    pub session: Session,
    pub access: OrgAccess,
    pub flash: Option<Flash>,
}

impl InOrg {
    pub fn app(&self) -> &crate::app::App {
        &self.state.app
    }

    /// The request's audit facts.
    pub fn meta(&self) -> &RequestMeta {
        &self.session.meta
    }

    /// The frame of one of the org's pages.
    pub async fn frame(
        &self,
        section: &'static str,
        title: &str,
    ) -> Result<super::frame::Frame, Failure> {
        super::frame::Frame::org(
            &self.state,
            &self.session,
            &self.access,
            self.flash.clone(),
            section,
            title,
        )
        .await
    }

    /// Back to the org's page `page` with the outcome of a small action.
    pub fn back<E: Into<ApiError>>(&self, page: &str, outcome: Result<String, E>) -> Response {
        back_in(&self.state, &self.access, page, outcome)
    }
}

impl FromRequestParts<AppState> for InOrg {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = session(parts, state, Reach::Everything).await?;
        let Some(slug) = org_slug(parts).await else {
            return Err(refused(StatusCode::NOT_FOUND, "There is no such page."));
        };
        let access = state
            .app
            .org_access(&session.caller, &slug)
            .await
            .map_err(|e| Failure::from(e).0)?;
        // A form on this page reads the same session instead of another.
        parts.extensions.insert(session.clone());
        Ok(InOrg {
            state: state.clone(),
            flash: read_flash(state, &parts.headers),
            session,
            access,
        })
    }
}

/// The signed-in session, if the request has a usable one; pages open to
/// everyone (an invitation) use it to offer more.
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        if cookie_value(&parts.headers, SESSION_COOKIE).is_none() {
            return Ok(MaybeSession(None));
        }
        Ok(MaybeSession(
            session(parts, state, Reach::Everything).await.ok(),
        ))
    }
}

/// A session at any sign-in stage: only for the pages that take the
/// remaining steps, and signing out.
pub struct SignInSession(pub Session);

impl FromRequestParts<AppState> for SignInSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        Ok(SignInSession(
            session(parts, state, Reach::SignInSteps).await?,
        ))
    }
}

/// Whether a state-changing request comes from a page of this origin. The
/// browser's `Sec-Fetch-Site` decides when present, else `Origin` against
/// `Host`; a request with neither (not a browser) passes here and still
/// needs the CSRF token.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) == Some(host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

async fn body(req: Request) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = req.into_parts();
    if !same_origin(&parts.headers) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "This form was sent from another site, so it was refused.",
        ));
    }
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| refused(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
    Ok((parts, bytes))
}

fn parse<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Response> {
    serde_html_form::from_bytes(bytes).map_err(|e| {
        refused(
            StatusCode::BAD_REQUEST,
            &format!("The form could not be read: {e}."),
        )
    })
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// A form posted by a signed-in session, from this origin, with the
/// session's CSRF token; `G` says which sign-in stages may post it.
pub struct Posted<T, G: Gate = Ready> {
    pub session: Session,
    pub form: T,
    gate: std::marker::PhantomData<G>,
}

impl<T: DeserializeOwned, G: Gate> FromRequest<AppState> for Posted<T, G> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, bytes) = body(req).await?;
        let session = session(&mut parts, state, G::REACH).await?;
        let sent: CsrfField = parse(&bytes)?;
        if !bool::from(sent.csrf.as_bytes().ct_eq(session.csrf.as_bytes())) {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "This form has expired. Go back, reload the page and try again.",
            ));
        }
        Ok(Posted {
            session,
            form: parse(&bytes)?,
            gate: std::marker::PhantomData,
        })
    }
}

/// The `{id}` of a console path as a typed id; one that is not a number
/// names nothing: the console's 404 page.
pub struct PathId<T>(pub T);

impl<T: From<i64>, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match crate::http::extract::path_param(parts, "id")
            .await
            .map(|v| v.parse::<i64>())
        {
            Some(Ok(id)) => Ok(PathId(T::from(id))),
            _ => Err(refused(StatusCode::NOT_FOUND, "There is no such page.")),
        }
    }
}

/// `axum::extract::Path` whose rejection is the console's 404 page: an id
/// that is not a number names nothing that exists.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(refused(StatusCode::NOT_FOUND, "There is no such page.")),
        }
    }
}

/// A form with nothing in it but the CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

/// A form posted without a session (sign-in), from this origin.
pub struct PublicPosted<T> {
    pub meta: RequestMeta,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for PublicPosted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, bytes) = body(req).await?;
        Ok(PublicPosted {
            meta: meta(&mut parts, state).await,
            form: parse(&bytes)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cross_site_posts_are_told_apart() {
        let mut h = HeaderMap::new();
        assert!(
            same_origin(&h),
            "no browser headers: the CSRF token decides"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_static("roster.example:8080"),
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://roster.example:8080"),
        );
        assert!(same_origin(&h));
    }
}
