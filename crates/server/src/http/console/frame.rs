//! What every console page shares: the signed-in session and its CSRF
//! token, the checked form extractor, the page frame (header, org switcher,
//! navigation by permission), one-shot flash messages, and error pages.

// Extractor rejections are whole responses, as axum's own are.
#![allow(clippy::result_large_err)]

use crate::app::{AppError, Caller, Channel, OrgAccess, Reach, RequestMeta};
use crate::http::error::{app_problem, ApiError, Code};
pub use crate::http::extract::split_list as list;
use crate::http::extract::{cookie_value, org_slug, Meta, SESSION_COOKIE};
use crate::http::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use roster_domain::{ManagementPermission as MP, MemberStatus};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The flash cookie: one message shown on the next page, then cleared.
const FLASH_COOKIE: &str = "roster_flash";
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
    let caller = match state.app.authenticate(&token).await {
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
        meta: meta(parts, state).await,
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
    pub async fn frame(&self, section: &'static str, title: &str) -> Result<Frame, Failure> {
        Frame::org(
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

fn refused(status: StatusCode, text: &str) -> Response {
    Failure::page(status, text).0
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

fn flash_cookie(value: &str, max_age: i64) -> HeaderValue {
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

/// An error as a person reads it, with its status.
pub fn describe(e: &ApiError) -> (StatusCode, String) {
    match e {
        ApiError::App(app) => {
            let (status, p) = app_problem(app);
            (status, p.detail.unwrap_or(p.title))
        }
        ApiError::Request { status, detail, .. } => (*status, detail.clone()),
    }
}

/// What the signed-in member may do in the org, for showing the buttons
/// that apply. The use cases check again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Can {
    pub read_users: bool,
    pub invite: bool,
    pub manage_users: bool,
    pub approve: bool,
    pub manage_roles: bool,
    pub manage_groups: bool,
    pub manage_resources: bool,
    pub manage_access: bool,
    pub manage_integrations: bool,
    pub read_audit: bool,
    pub approve_requests: bool,
    pub manage_org: bool,
}

impl Can {
    pub fn of(access: &OrgAccess) -> Can {
        let has = |p| access.role.has(p);
        Can {
            read_users: has(MP::UsersRead),
            invite: has(MP::UsersInvite),
            manage_users: has(MP::UsersManage),
            approve: has(MP::UsersApprove),
            manage_roles: has(MP::RolesManage),
            manage_groups: has(MP::GroupsManage),
            manage_resources: has(MP::ResourcesManage),
            manage_access: has(MP::AccessManage),
            manage_integrations: has(MP::IntegrationsManage),
            read_audit: has(MP::AuditRead),
            approve_requests: has(MP::RequestsApprove),
            manage_org: has(MP::OrgManage),
        }
    }

    /// Whether the Settings page has anything for this member.
    pub fn settings(&self) -> bool {
        self.manage_org || self.manage_users || self.manage_integrations
    }
}

/// The current org, as the header shows it.
#[derive(Debug, Clone)]
pub struct OrgNav {
    pub slug: String,
    pub name: String,
    pub personal: bool,
    pub role: String,
}

/// One entry of the org switcher.
#[derive(Debug, Clone)]
pub struct OrgChoice {
    pub slug: String,
    pub name: String,
    pub selected: bool,
}

/// What the shared layout shows around every signed-in page.
#[derive(Debug, Clone)]
pub struct Frame {
    pub title: String,
    pub section: &'static str,
    pub user_name: String,
    pub user_email: String,
    pub org: Option<OrgNav>,
    pub orgs: Vec<OrgChoice>,
    pub can: Can,
    pub csrf: String,
    pub flash: Option<Flash>,
}

impl Frame {
    /// The frame of a page in an org.
    pub async fn org(
        state: &AppState,
        s: &Session,
        access: &OrgAccess,
        flash: Option<Flash>,
        section: &'static str,
        title: &str,
    ) -> Result<Frame, Failure> {
        let mut f = Frame::outside_orgs(state, s, flash, section, title).await?;
        for o in &mut f.orgs {
            o.selected = o.slug == access.org.slug;
        }
        f.org = Some(OrgNav {
            slug: access.org.slug.clone(),
            name: access.org.name.clone(),
            personal: access.org.personal_user_id.is_some(),
            role: access.member.role.clone(),
        });
        f.can = Can::of(access);
        Ok(f)
    }

    /// The frame of a page about the signed-in user, outside any org.
    pub async fn personal(
        state: &AppState,
        s: &Session,
        headers: &HeaderMap,
        section: &'static str,
        title: &str,
    ) -> Result<Frame, Failure> {
        Frame::outside_orgs(state, s, read_flash(state, headers), section, title).await
    }

    async fn outside_orgs(
        state: &AppState,
        s: &Session,
        flash: Option<Flash>,
        section: &'static str,
        title: &str,
    ) -> Result<Frame, Failure> {
        let memberships = state.app.memberships(&s.caller).await?;
        Ok(Frame {
            title: title.to_owned(),
            section,
            user_name: s.caller.actor.name.clone(),
            user_email: s.caller.actor.email.clone(),
            org: None,
            orgs: memberships
                .into_iter()
                .filter(|m| m.status == MemberStatus::Active)
                .map(|m| OrgChoice {
                    slug: m.slug,
                    name: m.org_name,
                    selected: false,
                })
                .collect(),
            can: Can::default(),
            csrf: s.csrf.clone(),
            flash,
        })
    }

    /// Whether the page is in an org other than a personal one.
    pub fn shared_org(&self) -> bool {
        self.org.as_ref().is_some_and(|o| !o.personal)
    }

    /// The current org's slug ("" outside an org).
    pub fn slug(&self) -> &str {
        self.org.as_ref().map(|o| o.slug.as_str()).unwrap_or("")
    }
}

/// Renders a page, clearing the flash it showed.
pub fn show<T: Template>(status: StatusCode, page: &T, frame: &Frame) -> Response {
    let html = match page.render() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            );
        }
    };
    let mut res = (status, Html(html)).into_response();
    if frame.flash.is_some() {
        res.headers_mut()
            .append(header::SET_COOKIE, flash_cookie("", 0));
    }
    res
}

/// A form's error, if any, as the status and message a page shows.
pub fn status_of(error: Option<(StatusCode, String)>) -> (StatusCode, Option<String>) {
    match error {
        Some((status, text)) => (status, Some(text)),
        None => (StatusCode::OK, None),
    }
}

/// Renders a page outside the frame (sign-in, sign-up, password change).
pub fn standalone<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
        }
    }
}

/// Changes the signed-in user's password, checking the repeated entry.
pub async fn change_password(
    state: &AppState,
    s: &Session,
    current: &str,
    new: &str,
    again: &str,
) -> Result<(), ApiError> {
    if new != again {
        return Err(ApiError::request(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::ValidationFailed,
            "the two new passwords differ",
        ));
    }
    Ok(state
        .app
        .change_password(&s.caller, current, new, &s.meta)
        .await?)
}

/// Renders a page with 200.
pub fn ok<T: Template>(page: &T, frame: &Frame) -> Response {
    show(StatusCode::OK, page, frame)
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    text: &'a str,
}

/// A failed page: a small error page with the status and the reason.
pub struct Failure(pub Response);

impl Failure {
    pub fn page(status: StatusCode, text: &str) -> Failure {
        let page = ErrorPage {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error"),
            text,
        };
        let html = page.render().unwrap_or_else(|_| text.to_owned());
        Failure((status, Html(html)).into_response())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        if let ApiError::App(AppError::Internal(inner)) = &e {
            tracing::error!(error = %format!("{inner:#}"), "console page failed");
        }
        let (status, text) = describe(&e);
        Failure::page(status, &text)
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::from(ApiError::from(e))
    }
}

/// The result of a console handler.
pub type PageResult = Result<Response, Failure>;

/// `next` if it is a path on this site, else `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// How much of a time the console shows (always UTC).
#[derive(Debug, Clone, Copy)]
pub enum Precision {
    Day = 10,
    Minute = 16,
    Second = 19,
}

/// An RFC 3339 time as the console shows it: `2026-12-01`,
/// `2026-12-01 18:05` or `2026-12-01 18:05:07`.
pub fn when(rfc: &str, precision: Precision) -> String {
    rfc.replace('T', " ")
        .chars()
        .take(precision as usize)
        .collect()
}

/// A time as the console shows it.
pub fn when_ms(t: roster_domain::Timestamp, precision: Precision) -> String {
    when(&crate::app::time::rfc3339(t), precision)
}

/// `path` with the non-blank `pairs` as its query string.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (*k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    match serde_html_form::to_string(&kept) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

/// A form field that may be blank: `None` when blank.
pub fn given(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            local_path(Some("/o/acme/users?role=admin")),
            "/o/acme/users?role=admin"
        );
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(local_path(None), "/");
    }

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

    #[test]
    fn query_strings_leave_blank_fields_out() {
        assert_eq!(
            with_query("/o/a/users", &[("role", " "), ("team", "")]),
            "/o/a/users"
        );
        assert_eq!(
            with_query(
                "/o/a/users",
                &[("role", "admin"), ("team", ""), ("name", "a b&c")]
            ),
            "/o/a/users?role=admin&name=a+b%26c"
        );
    }

    #[test]
    fn times_are_cut_to_what_a_page_shows() {
        let t = "2026-12-01T18:05:07.123Z";
        assert_eq!(when(t, Precision::Day), "2026-12-01");
        assert_eq!(when(t, Precision::Minute), "2026-12-01 18:05");
        assert_eq!(when(t, Precision::Second), "2026-12-01 18:05:07");
    }
}
