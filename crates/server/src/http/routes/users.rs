//! `/orgs/{org}/users`: the team list and its members.

use crate::app::members::{Added, MemberUpdate, NewMember};
use crate::app::orgs::warnings;
use crate::app::App;
use crate::http::error::{ApiError, Code};
use crate::http::extract::{ApiJson, ApiQuery, Org, PathId};
use crate::http::pagination;
use crate::http::routes::invitations::invitation_filter;
use crate::http::{views, AppState};
use axum::http::StatusCode;
use axum::Json;
use roster_domain::{
    DisplayName, Email, GroupName, IdentityProvider, MemberStatus, RoleName, Team, UserId,
};
use roster_proto::{
    CreateMemberRequest, CreateMemberResponse, MemberPage, MemberView, Problem, UpdateMemberRequest,
};
use roster_store::members::MemberFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(show_user, update_user, delete_user))
}

/// Filters of the team list; they combine. `name` and `email` match
/// substrings, case-insensitively; the others match exactly.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    pub(crate) role: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    /// `reviewing`, `active`, `disabled`, or `invited` (pending invitations).
    pub(crate) status: Option<String>,
    pub(crate) team: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) identity_provider: Option<String>,
    /// `true`: members with a second factor; `false`: members without one.
    pub(crate) mfa: Option<bool>,
    /// 1 to 200, default 50.
    pub(crate) limit: Option<i64>,
    pub(crate) cursor: Option<String>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl UserListQuery {
    /// Whether the caller asked for pending invitations only.
    fn invited_only(&self) -> bool {
        non_empty(self.status.clone()).is_some_and(|s| s.eq_ignore_ascii_case("invited"))
    }

    fn filter(&self) -> Result<MemberFilter, ApiError> {
        let too_long = |s: &String| s.chars().count() > 254;
        if [&self.name, &self.email, &self.team]
            .into_iter()
            .flatten()
            .any(too_long)
        {
            return Err(ApiError::request(
                StatusCode::BAD_REQUEST,
                Code::InvalidQuery,
                "filters have at most 254 characters",
            ));
        }
        Ok(MemberFilter {
            role: non_empty(self.role.clone())
                .map(|r| RoleName::parse(&r).map(|n| n.to_string()))
                .transpose()?,
            name: non_empty(self.name.clone()).map(|n| n.to_lowercase()),
            email: non_empty(self.email.clone()).map(|e| e.to_lowercase()),
            status: match non_empty(self.status.clone()) {
                Some(s) if s.eq_ignore_ascii_case("invited") => None,
                other => other
                    .map(|s| MemberStatus::parse(&s).map(|s| s.as_str().to_owned()))
                    .transpose()?,
            },
            team: non_empty(self.team.clone()),
            group: non_empty(self.group.clone())
                .map(|g| GroupName::parse(&g).map(|g| g.to_string()))
                .transpose()?,
            identity_provider: non_empty(self.identity_provider.clone())
                .map(|i| IdentityProvider::parse(&i).map(|i| i.as_str().to_owned()))
                .transpose()?,
            mfa: self.mfa,
        })
    }
}

/// Where a team-list cursor points: members first (by membership id), then
/// pending invitations (by invitation id).
enum Position {
    Members(Option<i64>),
    Invitations(Option<i64>),
}

fn position(cursor: Option<&str>) -> Result<Position, ApiError> {
    match cursor {
        Some(c) if pagination::decode("i", Some(c)).is_ok() => {
            Ok(Position::Invitations(pagination::decode("i", Some(c))?))
        }
        other => Ok(Position::Members(pagination::decode("m", other)?)),
    }
}

/// The team list: members with every filter combined, in join order, then
/// pending invitations (status `invited`), paged by cursor. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/users", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), UserListQuery),
    responses((status = 200, body = MemberPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn list_users(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> Result<Json<MemberPage>, ApiError> {
    Ok(Json(team_page(&app, &access, &q).await?))
}

/// One page of the team list (members, then pending invitations), as the
/// API and the console show it.
pub(crate) async fn team_page(
    app: &App,
    access: &crate::app::OrgAccess,
    q: &UserListQuery,
) -> Result<MemberPage, ApiError> {
    let filter = q.filter()?;
    let limit = pagination::limit(q.limit)?;
    let position = position(q.cursor.as_deref())?;
    let invited_only = q.invited_only();
    // Invitations have no name and sign in with a password once accepted.
    // An invitation is not an account yet: it has no second factor to
    // filter on.
    let invitations_wanted = (filter.status.is_none() || invited_only)
        && filter.name.is_none()
        && filter.mfa.is_none()
        && filter
            .identity_provider
            .as_deref()
            .is_none_or(|i| i == "password");

    // The one-owner warning's question is read beside the page, on a
    // connection of its own.
    let ((items, next_cursor), owners) = tokio::try_join!(
        members_then_invitations(
            app,
            access,
            &filter,
            position,
            limit,
            invited_only,
            invitations_wanted
        ),
        async { Ok(app.active_owners_up_to_two(access.org.id).await?) },
    )?;
    let personal = access.org.personal_user_id.is_some();
    Ok(MemberPage {
        items,
        next_cursor,
        warnings: warnings(owners, personal),
    })
}

/// The team list's rows and the next page's cursor: members from
/// `position`, then, once they run out, pending invitations when
/// `invitations_wanted`.
async fn members_then_invitations(
    app: &App,
    access: &crate::app::OrgAccess,
    filter: &roster_store::members::MemberFilter,
    position: Position,
    limit: i64,
    invited_only: bool,
    invitations_wanted: bool,
) -> Result<(Vec<MemberView>, Option<String>), ApiError> {
    let mut items = Vec::new();
    let mut next_cursor = None;
    let mut after_invitation = None;
    match position {
        Position::Members(after) if !invited_only => {
            let mut rows = app.list_members(access, filter, after, limit + 1).await?;
            next_cursor = pagination::next(&mut rows, limit, "m", |m| m.membership_id.get());
            items.extend(rows.iter().map(views::member));
        }
        Position::Members(_) => {}
        Position::Invitations(after) => after_invitation = after,
    }
    if next_cursor.is_none() && invitations_wanted {
        let inv_filter = invitation_filter(
            filter.role.as_deref(),
            filter.email.as_deref(),
            filter.team.as_deref(),
            filter.group.as_deref(),
        )?;
        let room = limit - items.len() as i64;
        let mut rows = app
            .list_invitations(access, &inv_filter, after_invitation, room + 1)
            .await?;
        if room == 0 {
            // The page is full of members; say whether invitations follow.
            if !rows.is_empty() {
                next_cursor = Some(pagination::encode("i", after_invitation.unwrap_or(0)));
            }
        } else {
            next_cursor = pagination::next(&mut rows, room, "i", |i| i.id.get());
            items.extend(rows.iter().map(views::invited_member));
        }
    }
    Ok((items, next_cursor))
}

/// Add a person. A new email gets an account with a temporary password
/// (shown once) that must be changed at first sign-in. Needs `users:manage`,
/// and the role must be one you may grant.
#[utoipa::path(post, path = "/orgs/{org}/users", tag = "users", security(("bearer" = [])), request_body = CreateMemberRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 201, body = CreateMemberResponse), (status = 403, body = Problem),
        (status = 409, description = "`already_member`", body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<CreateMemberRequest>,
) -> Result<(StatusCode, Json<CreateMemberResponse>), ApiError> {
    let new = new_member(req)?;
    let created = app.create_member(&access, new, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreateMemberResponse {
            user: match &created.added {
                Added::Member(m) => views::member(m),
                Added::Invited(i) => views::invited_member(i),
            },
            temporary_password: created.temporary_password,
            account_created: created.account_created,
        }),
    ))
}

/// A person to add, parsed from the request (the API's body, or the
/// console's form turned into one).
pub(crate) fn new_member(req: CreateMemberRequest) -> Result<NewMember, ApiError> {
    Ok(NewMember {
        email: Email::parse(&req.email)?,
        name: req.name.as_deref().map(DisplayName::parse).transpose()?,
        role: req.role,
        team: Team::parse(req.team.as_deref().unwrap_or(""))?,
        groups: GroupName::parse_list(req.groups.iter().map(String::as_str))?,
        identity_provider: match req.identity_provider.as_deref() {
            Some(i) => IdentityProvider::parse(i)?,
            None => IdentityProvider::password(),
        },
        mfa_required: req.mfa_required,
        send_welcome: req.send_welcome,
    })
}

/// One member. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/users/{id}", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id")),
    responses((status = 200, body = MemberView), (status = 404, body = Problem)))]
async fn show_user(
    Org { app, access, .. }: Org,
    PathId(id): PathId<UserId>,
) -> Result<Json<MemberView>, ApiError> {
    Ok(Json(views::member(&app.get_member(&access, id).await?)))
}

/// Change a member: name, role, team, groups, status, MFA requirement,
/// identity provider. Only owners touch owners; nobody grants beyond their
/// own permissions; the last active owner stays. Setting `status` from
/// `reviewing` to `active` approves a sign-up (`users:approve`).
#[utoipa::path(patch, path = "/orgs/{org}/users/{id}", tag = "users", security(("bearer" = [])), request_body = UpdateMemberRequest,
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id")),
    responses((status = 200, body = MemberView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`last_owner`", body = Problem), (status = 422, body = Problem)))]
async fn update_user(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> Result<Json<MemberView>, ApiError> {
    let update = MemberUpdate {
        role: req.role,
        team: req.team,
        groups: req.groups,
        status: req.status,
        mfa_required: req.mfa_required,
        identity_provider: req.identity_provider,
    };
    let member = app.update_member(&access, id, update, &meta).await?;
    Ok(Json(views::member(&member)))
}

/// Remove a member from the org. Their account, personal org and audit
/// events remain; they are told by email. Removing yourself is leaving.
#[utoipa::path(delete, path = "/orgs/{org}/users/{id}", tag = "users", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the user's id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`last_owner`", body = Problem)))]
async fn delete_user(
    Org { app, access, meta }: Org,
    PathId(id): PathId<UserId>,
) -> Result<StatusCode, ApiError> {
    app.remove_member(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
