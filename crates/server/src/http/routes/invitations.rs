//! `/orgs/{org}/invitations` (inviting, listing, resending, deleting) and the
//! public `/invitations/{token}` (showing and accepting).

use crate::app::invitations::{Acceptor, InviteOutcome, InviteRequest};
use crate::app::AppError;
use crate::http::error::{app_problem, ApiError};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, MaybeAuthed, Meta, Org, PathId};
use crate::http::pagination;
use crate::http::{views, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use roster_domain::{GroupName, InvitationId, InvitationStatus, RoleName};
use roster_proto::{
    AcceptInvitationRequest, AcceptInvitationResponse, ActorView, CreateInvitationsRequest,
    CreateInvitationsResponse, InvitationResult, InvitationView, Page, Problem,
    PublicInvitationView, ResendInvitationResponse,
};
use roster_store::invitations::InvitationFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, create_invitations))
        .routes(routes!(delete_invitation))
        .routes(routes!(resend_invitation))
        .routes(routes!(show_by_token))
        .routes(routes!(accept_by_token))
}

/// Invite one or many addresses, each with its own role. Every address gets
/// its own result: created (with its link, shown once) or refused with a
/// reason; one bad address never fails the others. Needs `users:invite`,
/// and each role must be one you may grant.
#[utoipa::path(post, path = "/orgs/{org}/invitations", tag = "invitations", security(("bearer" = [])),
    request_body = CreateInvitationsRequest,
    params(("org" = String, Path, description = "the org's slug")),
    responses((status = 200, body = CreateInvitationsResponse), (status = 403, body = Problem),
        (status = 409, description = "`personal_org`: a personal organization has exactly one member", body = Problem),
        (status = 422, body = Problem)))]
async fn create_invitations(
    Org { app, access, meta }: Org,
    ApiJson(req): ApiJson<CreateInvitationsRequest>,
) -> Result<Json<CreateInvitationsResponse>, ApiError> {
    let mut items: Vec<InviteRequest> = req
        .invitations
        .into_iter()
        .map(|i| InviteRequest {
            email: i.email,
            role: i.role,
            team: i.team,
            groups: i.groups,
        })
        .collect();
    if let Some(list) = &req.emails {
        items.extend(
            crate::http::extract::split_list(list)
                .into_iter()
                .map(|email| InviteRequest {
                    email,
                    role: req.role.clone(),
                    team: req.team.clone(),
                    groups: req.groups.clone(),
                }),
        );
    }
    let outcomes = app.invite(&access, items, &meta).await?;
    let now = app.now();
    let results = outcomes
        .into_iter()
        .map(|o| match o {
            InviteOutcome::Created { invitation, link } => InvitationResult {
                email: invitation.email.clone(),
                outcome: "created".into(),
                invitation: Some(views::invitation(&invitation, now)),
                link: Some(link),
                error: None,
            },
            InviteOutcome::Refused { email, error } => InvitationResult {
                email,
                outcome: "refused".into(),
                invitation: None,
                link: None,
                error: Some(app_problem(&error).1),
            },
        })
        .collect();
    Ok(Json(CreateInvitationsResponse { results }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvitationListQuery {
    /// `pending`, `accepted`, `revoked` or `expired`.
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// An org's invitations, oldest first. Needs `users:read`.
#[utoipa::path(get, path = "/orgs/{org}/invitations", tag = "invitations", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), InvitationListQuery),
    responses((status = 200, body = Page<InvitationView>), (status = 422, body = Problem)))]
async fn list_invitations(
    Org { app, access, .. }: Org,
    ApiQuery(q): ApiQuery<InvitationListQuery>,
) -> Result<Json<Page<InvitationView>>, ApiError> {
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(InvitationStatus::parse(s)?),
    };
    let limit = pagination::limit(q.limit)?;
    let after = pagination::decode("i", q.cursor.as_deref())?;
    let filter = InvitationFilter {
        status,
        ..Default::default()
    };
    let mut rows = app
        .list_invitations(&access, &filter, after, limit + 1)
        .await?;
    let next_cursor = pagination::next(&mut rows, limit, "i", |i| i.id.get());
    let now = app.now();
    Ok(Json(Page {
        items: rows.iter().map(|i| views::invitation(i, now)).collect(),
        next_cursor,
    }))
}

/// Issue a new link and expiry for a pending or expired invitation; the old
/// link stops working at once.
#[utoipa::path(post, path = "/orgs/{org}/invitations/{id}/resend", tag = "invitations", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the invitation's id")),
    responses((status = 200, body = ResendInvitationResponse), (status = 404, body = Problem),
        (status = 409, description = "`invitation_not_pending`", body = Problem)))]
async fn resend_invitation(
    Org { app, access, meta }: Org,
    PathId(id): PathId<InvitationId>,
) -> Result<Json<ResendInvitationResponse>, ApiError> {
    let (inv, link) = app.resend_invitation(&access, id, &meta).await?;
    Ok(Json(ResendInvitationResponse {
        invitation: views::invitation(&inv, app.now()),
        link,
    }))
}

/// Delete (revoke) a pending or expired invitation: its link stops working
/// at once, and the address can be invited again.
#[utoipa::path(delete, path = "/orgs/{org}/invitations/{id}", tag = "invitations", security(("bearer" = [])),
    params(("org" = String, Path, description = "the org's slug"), ("id" = i64, Path, description = "the invitation's id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_invitation(
    Org { app, access, meta }: Org,
    PathId(id): PathId<InvitationId>,
) -> Result<StatusCode, ApiError> {
    app.delete_invitation(&access, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invitation link offers: org, inviter, email, role, expiry. No
/// sign-in needed.
#[utoipa::path(get, path = "/invitations/{token}", tag = "invitations",
    params(("token" = String, Path, description = "the secret from the link")),
    responses((status = 200, body = PublicInvitationView),
        (status = 404, description = "`invalid_link`: unknown, used or deleted", body = Problem),
        (status = 410, description = "`invitation_expired`", body = Problem)))]
async fn show_by_token(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<PublicInvitationView>, ApiError> {
    let (inv, org) = state.app.invitation_by_token(&token).await?;
    let account_exists = state.app.account_exists(&inv.email).await?;
    Ok(Json(PublicInvitationView {
        org: org.slug,
        org_name: org.name,
        email: inv.email,
        role: inv.role,
        inviter: ActorView {
            id: inv.inviter_id.map(roster_domain::UserId::get),
            email: inv.inviter_email,
            name: inv.inviter_name,
        },
        expires_at: crate::app::time::rfc3339(inv.expires_at),
        account_exists,
    }))
}

/// Accept an invitation. Signed in, your email must be the invited one. Not
/// signed in, send a name and a password to create the account for the
/// invited email (if that email has an account, sign in first).
#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "invitations", request_body = AcceptInvitationRequest,
    params(("token" = String, Path, description = "the secret from the link")),
    responses((status = 200, body = AcceptInvitationResponse),
        (status = 401, description = "the email has an account: sign in first", body = Problem),
        (status = 403, description = "signed in with another email", body = Problem),
        (status = 404, description = "`invalid_link`", body = Problem),
        (status = 410, description = "`invitation_expired`", body = Problem)))]
async fn accept_by_token(
    State(state): State<AppState>,
    MaybeAuthed(caller): MaybeAuthed,
    Meta(meta): Meta,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<AcceptInvitationRequest>,
) -> Result<Json<AcceptInvitationResponse>, ApiError> {
    let who = Acceptor {
        caller,
        name: req.name,
        password: req.password,
    };
    let accepted = state.app.accept_invitation(&token, who, &meta).await?;
    Ok(Json(AcceptInvitationResponse {
        org: accepted.org_slug,
        user_id: accepted.user_id.get(),
        role: accepted.invitation.role,
        account_created: accepted.account_created,
    }))
}

/// Parses the filters that invitation rows of the team list share with
/// members.
pub fn invitation_filter(
    role: Option<&str>,
    email: Option<&str>,
    team: Option<&str>,
    group: Option<&str>,
) -> Result<InvitationFilter, AppError> {
    Ok(InvitationFilter {
        status: Some(InvitationStatus::Pending),
        role: role
            .map(|r| RoleName::parse(r).map(|n| n.to_string()))
            .transpose()?,
        email: email.map(str::to_lowercase),
        team: team.map(str::to_owned),
        group: group
            .map(|g| GroupName::parse(g).map(|g| g.to_string()))
            .transpose()?,
    })
}
