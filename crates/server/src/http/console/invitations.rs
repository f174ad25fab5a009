//! Invitations: the bulk form (a comma-separated list that becomes rows,
//! each with its own role and a way to drop it), per-address results with
//! their links, and the pending list with resend and delete.

use super::flash::back;
use super::frame::{describe, ok, show, Frame, PageResult};
use super::session::{InOrg, NoFields, PathId, Posted};
use super::text::{list as split_list, when_ms, Precision};
use crate::app::invitations::{InviteOutcome, InviteRequest};
use crate::http::error::{app_problem, ApiError};
use askama::Template;
use roster_domain::InvitationStatus;
use roster_store::invitations::InvitationFilter;
use serde::Deserialize;

struct PendingRow {
    id: i64,
    email: String,
    role: String,
    inviter: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "console/invitations.html")]
struct ListPage {
    f: Frame,
    pending: Vec<PendingRow>,
    roles: Vec<String>,
    default_role: String,
}

pub async fn list(o: InOrg) -> PageResult {
    let filter = InvitationFilter {
        status: Some(InvitationStatus::Pending),
        ..Default::default()
    };
    let rows = o
        .app()
        .list_invitations(&o.access, &filter, None, 200)
        .await?;
    let f = o.frame("invitations", "Invitations").await?;
    let roles = if f.can.invite {
        o.app().grantable_roles(&o.access).await?
    } else {
        Vec::new()
    };
    let page = ListPage {
        pending: rows
            .iter()
            .map(|i| PendingRow {
                id: i.id.get(),
                email: i.email.clone(),
                role: i.role.clone(),
                inviter: if i.inviter_name.is_empty() {
                    i.inviter_email.clone()
                } else {
                    i.inviter_name.clone()
                },
                expires: when_ms(i.expires_at, Precision::Minute) + " UTC",
            })
            .collect(),
        roles,
        default_role: o.access.org.settings.default_role.clone(),
        f,
    };
    Ok(ok(&page, &page.f))
}

/// The rows form as posted: the rows so far (`email` and `role` pairs),
/// more addresses to add, and the row to drop.
#[derive(Debug, Default, Deserialize)]
pub struct RowsForm {
    #[serde(default)]
    email: Vec<String>,
    #[serde(default)]
    role: Vec<String>,
    #[serde(default)]
    emails: String,
    #[serde(default)]
    default_role: String,
    drop: Option<usize>,
}

struct InviteRow {
    email: String,
    role: String,
}

impl RowsForm {
    /// The rows after this step: the posted ones without the dropped one,
    /// then the new addresses with the default role; one row per address.
    fn rows(&self) -> Vec<InviteRow> {
        let mut rows: Vec<InviteRow> = Vec::new();
        let kept = self
            .email
            .iter()
            .zip(
                self.role
                    .iter()
                    .chain(std::iter::repeat(&self.default_role)),
            )
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.drop)
            .map(|(_, (e, r))| (e.clone(), r.clone()));
        let added = split_list(&self.emails)
            .into_iter()
            .map(|e| (e, self.default_role.clone()));
        for (email, role) in kept.chain(added) {
            if !rows.iter().any(|r| r.email.eq_ignore_ascii_case(&email)) {
                rows.push(InviteRow { email, role });
            }
        }
        rows
    }
}

#[derive(Template)]
#[template(path = "console/invite_rows.html")]
struct RowsPage {
    f: Frame,
    rows: Vec<InviteRow>,
    roles: Vec<String>,
    default_role: String,
    error: Option<String>,
}

pub async fn rows(o: InOrg, Posted { form, .. }: Posted<RowsForm>) -> PageResult {
    o.access
        .require(roster_domain::ManagementPermission::UsersInvite)?;
    let f = o.frame("invitations", "Invite people").await?;
    let rows = form.rows();
    let page = RowsPage {
        error: rows
            .is_empty()
            .then(|| "Add at least one address.".to_owned()),
        rows,
        roles: o.app().grantable_roles(&o.access).await?,
        default_role: form.default_role,
        f,
    };
    Ok(ok(&page, &page.f))
}

struct ResultRow {
    email: String,
    role: String,
    link: Option<String>,
    error: String,
}

#[derive(Template)]
#[template(path = "console/invite_results.html")]
struct ResultsPage {
    f: Frame,
    heading: String,
    results: Vec<ResultRow>,
}

pub async fn send(o: InOrg, Posted { form, .. }: Posted<RowsForm>) -> PageResult {
    let rows = RowsForm {
        emails: String::new(),
        drop: None,
        ..form
    }
    .rows();
    let items = rows
        .iter()
        .map(|r| InviteRequest {
            email: r.email.clone(),
            role: Some(r.role.clone()),
            team: None,
            groups: Vec::new(),
        })
        .collect();
    let outcomes = match o.app().invite(&o.access, items, o.meta()).await {
        Ok(o) => o,
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            let f = o.frame("invitations", "Invite people").await?;
            let page = RowsPage {
                error: Some(text),
                rows,
                roles: o.app().grantable_roles(&o.access).await.unwrap_or_default(),
                default_role: o.access.org.settings.default_role.clone(),
                f,
            };
            return Ok(show(status, &page, &page.f));
        }
    };
    let results: Vec<ResultRow> = outcomes
        .into_iter()
        .zip(rows)
        .map(|(o, row)| match o {
            InviteOutcome::Created { invitation, link } => ResultRow {
                email: invitation.email,
                role: invitation.role,
                link: Some(link),
                error: String::new(),
            },
            InviteOutcome::Refused { email, error } => ResultRow {
                email,
                role: row.role,
                link: None,
                error: app_problem(&error).1.detail.unwrap_or_default(),
            },
        })
        .collect();
    let sent = results.iter().filter(|r| r.link.is_some()).count();
    let f = Frame::org(
        &o.state,
        &o.session,
        &o.access,
        o.flash.clone(),
        "invitations",
        "Invitations sent",
    )
    .await?;
    let page = ResultsPage {
        heading: format!(
            "{sent} of {} {} sent",
            results.len(),
            if results.len() == 1 {
                "invitation"
            } else {
                "invitations"
            }
        ),
        results,
        f,
    };
    Ok(ok(&page, &page.f))
}

pub async fn resend(
    PathId(id): PathId<roster_domain::InvitationId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    match o.app().resend_invitation(&o.access, id, o.meta()).await {
        Ok((inv, link)) => {
            let f = Frame::org(
                &o.state,
                &o.session,
                &o.access,
                o.flash.clone(),
                "invitations",
                "Invitation resent",
            )
            .await?;
            let page = ResultsPage {
                heading: format!("A new link for {}", inv.email),
                results: vec![ResultRow {
                    email: inv.email,
                    role: inv.role,
                    link: Some(link),
                    error: String::new(),
                }],
                f,
            };
            Ok(ok(&page, &page.f))
        }
        Err(e) => Ok(back(
            &o.state,
            &format!("/o/{}/invitations", o.access.org.slug),
            Err::<String, _>(e),
        )),
    }
}

pub async fn delete(
    PathId(id): PathId<roster_domain::InvitationId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .delete_invitation(&o.access, id, o.meta())
        .await
        .map(|()| "Invitation deleted; its link no longer works.".to_owned())
        .map_err(ApiError::from);
    Ok(o.back("invitations", outcome))
}
