//! The page frame every signed-in console page shares (header, org
//! switcher, navigation by permission), rendering, and error pages.

use super::flash::{flash_cookie, read_flash, Flash};
use super::session::Session;
use crate::app::{AppError, OrgAccess};
use crate::http::error::{app_problem, ApiError};
use crate::http::AppState;
use askama::Template;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use roster_domain::{ManagementPermission as MP, MemberStatus};

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
    pub create_tokens: bool,
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
            create_tokens: has(MP::TokensCreate),
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
            user_name: s.caller.actor.name.to_string(),
            user_email: s.caller.actor.email.to_string(),
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

pub(super) fn refused(status: StatusCode, text: &str) -> Response {
    Failure::page(status, text).0
}
