//! Users: the team list with its filters, adding, editing, changing the
//! role, removing, leaving the org, and approving sign-ups.

use super::flash::{back, redirect_with, Flash};
use super::frame::{describe, ok, show, status_of, Frame, PageResult};
use super::session::{InOrg, NoFields, Path, PathId, Posted, Session};
use super::text::{given, when, with_query, Precision};
use crate::app::members::{Added, MemberUpdate, NewMember};
use crate::app::OrgAccess;
use crate::http::error::ApiError;
use crate::http::routes::users::{self, team_page, UserListQuery};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use roster_proto::{CreateMemberRequest, MemberView};
use roster_store::members::{Member, MemberFilter};
use serde::{Deserialize, Serialize};

/// The names of every role of the org, built-in first.
pub(crate) async fn role_names(
    state: &AppState,
    access: &OrgAccess,
) -> Result<Vec<String>, ApiError> {
    Ok(state
        .app
        .list_roles(access)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

async fn group_names(state: &AppState, access: &OrgAccess) -> Result<Vec<String>, ApiError> {
    Ok(state
        .app
        .list_groups(access)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect())
}

/// A row of the team list as shown.
pub struct Row {
    pub id: Option<i64>,
    pub name: String,
    pub email: String,
    pub role: String,
    pub team: String,
    pub groups: Vec<String>,
    pub status: String,
    pub joined: String,
    pub last_active: String,
    /// The account has a second factor (never for an invitation).
    pub mfa: bool,
}

impl Row {
    /// The user's id (0 on an invitation row, which has none).
    pub fn uid(&self) -> i64 {
        self.id.unwrap_or(0)
    }

    fn of(m: &MemberView) -> Row {
        Row {
            id: m.id,
            name: m.name.clone(),
            email: m.email.clone(),
            role: m.role.clone(),
            team: m.team.clone(),
            groups: m.groups.clone(),
            status: m.status.as_str().to_owned(),
            joined: when(&m.joined_at, Precision::Day),
            last_active: m
                .last_active_at
                .as_deref()
                .map(|t| when(t, Precision::Minute) + " UTC")
                .unwrap_or_else(|| "never".to_owned()),
            mfa: m.mfa_enabled,
        }
    }
}

/// The team list's filters, as they live in the URL.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct UsersQuery {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub group: String,
    /// `true`, `false` or blank (any).
    #[serde(default)]
    pub mfa: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cursor: String,
}

impl UsersQuery {
    pub fn any(&self) -> bool {
        [
            &self.name,
            &self.email,
            &self.role,
            &self.status,
            &self.team,
            &self.group,
            &self.mfa,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    /// The URL of this filter at `cursor`, with blank filters left out.
    fn url(&self, slug: &str, cursor: Option<&str>) -> String {
        with_query(
            &format!("/o/{slug}/users"),
            &[
                ("name", &self.name),
                ("email", &self.email),
                ("role", &self.role),
                ("status", &self.status),
                ("team", &self.team),
                ("group", &self.group),
                ("mfa", &self.mfa),
                ("cursor", cursor.unwrap_or("")),
            ],
        )
    }

    fn api(&self) -> UserListQuery {
        let v = |s: &String| Some(s.clone());
        UserListQuery {
            role: v(&self.role),
            name: v(&self.name),
            email: v(&self.email),
            status: v(&self.status),
            team: v(&self.team),
            group: v(&self.group),
            identity_provider: None,
            mfa: match self.mfa.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            limit: Some(50),
            cursor: given(Some(&self.cursor)),
        }
    }
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    f: Frame,
    q: UsersQuery,
    rows: Vec<Row>,
    roles: Vec<String>,
    groups: Vec<String>,
    statuses: [&'static str; 4],
    warnings: Vec<String>,
    error: Option<String>,
    next_url: Option<String>,
    first_url: Option<String>,
}

pub async fn list(o: InOrg, Query(q): Query<UsersQuery>) -> PageResult {
    let f = o.frame("users", "Users").await?;
    let roles = role_names(&o.state, &o.access).await?;
    let groups = group_names(&o.state, &o.access).await?;
    let (status, rows, warnings, error, next) =
        match team_page(&o.state.app, &o.access, &q.api()).await {
            Ok(p) => (
                StatusCode::OK,
                p.items.iter().map(Row::of).collect(),
                p.warnings,
                None,
                p.next_cursor,
            ),
            Err(e) => {
                let (status, text) = describe(&e);
                (status, Vec::new(), Vec::new(), Some(text), None)
            }
        };
    let page = UsersPage {
        next_url: next.as_deref().map(|c| q.url(&o.access.org.slug, Some(c))),
        first_url: (!q.cursor.is_empty()).then(|| q.url(&o.access.org.slug, None)),
        f,
        q,
        rows,
        roles,
        groups,
        statuses: ["active", "invited", "reviewing", "disabled"],
        warnings,
        error,
    };
    Ok(show(status, &page, &page.f))
}

/// The add and edit form's values. A field the form did not carry (a
/// read-only part, or a client that sent less) is `None`: unchanged.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    team: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    /// Set by the console's form, which shows the group and MFA
    /// checkboxes: an unchecked box then means "off", not "not sent".
    checkboxes: Option<String>,
    identity_provider: Option<String>,
    status: Option<String>,
    mfa_required: Option<String>,
    send_welcome: Option<String>,
}

fn text(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().to_owned()
}

/// The form as shown.
struct Values {
    name: String,
    email: String,
    role: String,
    team: String,
    identity_provider: String,
    status: String,
    mfa_required: bool,
    send_welcome: bool,
}

struct GroupChoice {
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/user_form.html")]
struct UserFormPage {
    f: Frame,
    member: Option<Row>,
    self_id: i64,
    v: Values,
    roles: Vec<String>,
    role_grantable: bool,
    groups: Vec<GroupChoice>,
    editable: bool,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn user_form(
    state: &AppState,
    s: &Session,
    access: &OrgAccess,
    flash: Option<Flash>,
    member: Option<&Member>,
    v: Values,
    checked: &[String],
    error: Option<(StatusCode, String)>,
) -> PageResult {
    let title = member.map_or("Add user", short_name).to_owned();
    let f = Frame::org(state, s, access, flash, "users", &title).await?;
    let roles = state.app.grantable_roles(access).await?;
    let groups = group_names(state, access)
        .await?
        .into_iter()
        .map(|name| GroupChoice {
            checked: checked.contains(&name),
            name,
        })
        .collect();
    let (status, error) = status_of(error);
    let page = UserFormPage {
        role_grantable: roles.contains(&v.role),
        editable: f.can.manage_users
            && member.is_none_or(|m| m.user_id == s.caller.user_id() || roles.contains(&m.role)),
        member: member.map(|m| Row::of(&crate::http::views::member(m))),
        self_id: s.caller.user_id().get(),
        f,
        v,
        roles,
        groups,
        error,
    };
    Ok(show(status, &page, &page.f))
}

fn values_of(m: &Member) -> Values {
    Values {
        name: m.name.clone(),
        email: m.email.clone(),
        role: m.role.clone(),
        team: m.team.clone(),
        identity_provider: m.identity_provider.clone(),
        status: m.status.as_str().to_owned(),
        mfa_required: m.mfa_required,
        send_welcome: false,
    }
}

fn values_from(form: &UserForm) -> Values {
    Values {
        name: text(&form.name),
        email: text(&form.email),
        role: text(&form.role),
        team: text(&form.team),
        identity_provider: text(&form.identity_provider),
        status: text(&form.status),
        mfa_required: form.mfa_required.is_some(),
        send_welcome: form.send_welcome.is_some(),
    }
}

pub async fn new_form(o: InOrg) -> PageResult {
    let v = Values {
        name: String::new(),
        email: String::new(),
        role: o.access.org.settings.default_role.clone(),
        team: String::new(),
        identity_provider: "password".to_owned(),
        status: "active".to_owned(),
        mfa_required: false,
        send_welcome: false,
    };
    user_form(
        &o.state,
        &o.session,
        &o.access,
        o.flash.clone(),
        None,
        v,
        &[],
        None,
    )
    .await
}

#[derive(Template)]
#[template(path = "console/user_created.html")]
struct CreatedPage {
    f: Frame,
    name: String,
    email: String,
    role: String,
    temporary_password: Option<String>,
    account_created: bool,
    /// The address had an account: it was invited instead.
    invited: bool,
}

/// The add form as the API's request: blank fields are left out.
fn new_member(form: &UserForm) -> Result<NewMember, ApiError> {
    users::new_member(CreateMemberRequest {
        email: text(&form.email),
        name: given(form.name.as_deref()),
        role: given(form.role.as_deref()),
        team: given(form.team.as_deref()),
        groups: form.groups.clone(),
        identity_provider: given(form.identity_provider.as_deref()),
        mfa_required: form.mfa_required.is_some(),
        send_welcome: form.send_welcome.is_some(),
    })
}

pub async fn create(o: InOrg, Posted { form, .. }: Posted<UserForm>) -> PageResult {
    let outcome = match new_member(&form) {
        Ok(new) => o
            .app()
            .create_member(&o.access, new, o.meta())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(created) => {
            let f = o.frame("users", "User added").await?;
            let page = match &created.added {
                Added::Member(m) => CreatedPage {
                    f,
                    name: short_name(m).to_owned(),
                    email: m.email.clone(),
                    role: m.role.clone(),
                    temporary_password: created.temporary_password,
                    account_created: created.account_created,
                    invited: false,
                },
                Added::Invited(i) => CreatedPage {
                    f,
                    name: i.email.clone(),
                    email: i.email.clone(),
                    role: i.role.clone(),
                    temporary_password: None,
                    account_created: false,
                    invited: true,
                },
            };
            Ok(show(StatusCode::CREATED, &page, &page.f))
        }
        Err(e) => {
            let v = values_from(&form);
            user_form(
                &o.state,
                &o.session,
                &o.access,
                o.flash.clone(),
                None,
                v,
                &form.groups,
                Some(describe(&e)),
            )
            .await
        }
    }
}

pub async fn edit_form(o: InOrg, PathId(id): PathId<roster_domain::UserId>) -> PageResult {
    let m = o.app().get_member(&o.access, id).await?;
    user_form(
        &o.state,
        &o.session,
        &o.access,
        o.flash.clone(),
        Some(&m),
        values_of(&m),
        &m.groups,
        None,
    )
    .await
}

/// Only what the form changed, so that a save touches no more than it must
/// (and needs no permission for fields left as they were).
fn changes(m: &Member, form: &UserForm) -> MemberUpdate {
    let changed = |old: &str, new: &Option<String>| {
        new.as_deref()
            .map(str::trim)
            .filter(|n| *n != old)
            .map(str::to_owned)
    };
    let mut groups: Vec<String> = form.groups.clone();
    groups.sort();
    let mut old_groups = m.groups.clone();
    old_groups.sort();
    MemberUpdate {
        role: changed(&m.role, &form.role).filter(|r| !r.is_empty()),
        team: changed(&m.team, &form.team),
        groups: (form.checkboxes.is_some() && groups != old_groups).then_some(groups),
        status: changed(m.status.as_str(), &form.status).filter(|s| !s.is_empty()),
        mfa_required: (form.checkboxes.is_some() && m.mfa_required != form.mfa_required.is_some())
            .then_some(form.mfa_required.is_some()),
        identity_provider: changed(&m.identity_provider, &form.identity_provider)
            .filter(|i| !i.is_empty()),
    }
}

pub async fn update(
    PathId(id): PathId<roster_domain::UserId>,
    o: InOrg,
    Posted { form, .. }: Posted<UserForm>,
) -> PageResult {
    let m = o.app().get_member(&o.access, id).await?;
    let update = changes(&m, &form);
    if update.is_empty() {
        return Ok(redirect_with(
            &o.state,
            &format!("/o/{}/users", o.access.org.slug),
            "notice",
            "Nothing changed.",
        ));
    }
    match o.app().update_member(&o.access, id, update, o.meta()).await {
        Ok(saved) => {
            let who = short_name(&saved);
            Ok(redirect_with(
                &o.state,
                &format!("/o/{}/users", o.access.org.slug),
                "notice",
                &format!("Saved {who}."),
            ))
        }
        Err(e) => {
            let e = ApiError::from(e);
            let mut v = values_from(&form);
            v.email = m.email.clone();
            user_form(
                &o.state,
                &o.session,
                &o.access,
                o.flash.clone(),
                Some(&m),
                v,
                &form.groups,
                Some(describe(&e)),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
pub(crate) struct ConfirmPage {
    pub f: Frame,
    pub heading: String,
    pub text: String,
    pub action: String,
    pub button: String,
    pub cancel: String,
}

/// A member's name, or their email when they have none.
fn short_name(m: &Member) -> &str {
    if m.name.is_empty() {
        &m.email
    } else {
        &m.name
    }
}

/// A member as a sentence names them: `Name (email)`, or the email.
pub(crate) fn display(m: &Member) -> String {
    if m.name.is_empty() {
        m.email.clone()
    } else {
        format!("{} ({})", m.name, m.email)
    }
}

pub async fn remove_confirm(o: InOrg, PathId(id): PathId<roster_domain::UserId>) -> PageResult {
    let m = o.app().get_member(&o.access, id).await?;
    let f = o.frame("users", "Remove member").await?;
    let page = ConfirmPage {
        heading: format!("Remove {}?", short_name(&m)),
        text: format!(
            "{} loses access to {} at once. Their account, their personal organization and the audit log stay; they are told by email.",
            display(&m),
            o.access.org.name
        ),
        action: format!("/o/{}/users/{id}/remove", o.access.org.slug),
        button: "Remove".to_owned(),
        cancel: format!("/o/{}/users/{id}", o.access.org.slug),
        f,
    };
    Ok(ok(&page, &page.f))
}

pub async fn remove(
    PathId(id): PathId<roster_domain::UserId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let to = format!("/o/{}/users", o.access.org.slug);
    let outcome = match o.app().get_member(&o.access, id).await {
        Ok(m) => o
            .app()
            .remove_member(&o.access, id, o.meta())
            .await
            .map(|()| format!("Removed {} from {}.", display(&m), o.access.org.name))
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    Ok(back(&o.state, &to, outcome))
}

pub async fn leave_confirm(o: InOrg) -> PageResult {
    let f = o.frame("users", "Leave organization").await?;
    let page = ConfirmPage {
        heading: format!("Leave {}?", o.access.org.name),
        text: "You lose access at once; an administrator has to invite you again to come back."
            .to_owned(),
        action: format!("/o/{}/leave", o.access.org.slug),
        button: "Leave".to_owned(),
        cancel: format!("/o/{}/users", o.access.org.slug),
        f,
    };
    Ok(ok(&page, &page.f))
}

pub async fn leave(
    State(state): State<AppState>,
    Path(org): Path<String>,
    Posted { session: s, .. }: Posted<NoFields>,
) -> PageResult {
    match state.app.leave_org(&s.caller, &org, &s.meta).await {
        Ok(()) => Ok(redirect_with(
            &state,
            "/",
            "notice",
            "You left the organization.",
        )),
        Err(e) => Ok(back(
            &state,
            &format!("/o/{org}/users"),
            Err::<String, _>(e),
        )),
    }
}

#[derive(Template)]
#[template(path = "console/approvals.html")]
struct ApprovalsPage {
    f: Frame,
    rows: Vec<Row>,
    roles: Vec<String>,
    default_role: String,
}

pub async fn approvals(o: InOrg) -> PageResult {
    o.access
        .require(roster_domain::ManagementPermission::UsersApprove)?;
    let filter = MemberFilter {
        status: Some("reviewing".to_owned()),
        ..Default::default()
    };
    let members = o.app().list_members(&o.access, &filter, None, 200).await?;
    let f = o.frame("approvals", "Approvals").await?;
    let page = ApprovalsPage {
        f,
        rows: members
            .iter()
            .map(|m| Row::of(&crate::http::views::member(m)))
            .collect(),
        roles: o.app().grantable_roles(&o.access).await?,
        default_role: o.access.org.settings.default_role.clone(),
    };
    Ok(ok(&page, &page.f))
}

#[derive(Deserialize)]
pub struct ApproveForm {
    role: Option<String>,
}

pub async fn approve(
    PathId(id): PathId<roster_domain::UserId>,
    o: InOrg,
    Posted { form, .. }: Posted<ApproveForm>,
) -> PageResult {
    let role = given(form.role.as_deref());
    let outcome = o
        .app()
        .approve_member(&o.access, id, role.as_deref(), o.meta())
        .await
        .map(|m| format!("Approved {} as {}.", display(&m), m.role));
    Ok(o.back("approvals", outcome))
}

pub async fn reject(
    PathId(id): PathId<roster_domain::UserId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .reject_member(&o.access, id, o.meta())
        .await
        .map(|()| "Rejected the sign-up.".to_owned());
    Ok(o.back("approvals", outcome))
}
