//! Review requests (SPEC §1): a member asks to do one action on a resource
//! whose policy needs review; eligible reviewers approve or reject; once
//! enough approve, the action is allowed until the request expires.
//!
//! Eligibility is decided from the database under the org's lock, like
//! every other rule: the reviewer holds `requests:approve` at the resource
//! (org role, or a rule at the org or on the resource or an ancestor),
//! shares a group with the resource when it (or its nearest ancestor that
//! names groups) names groups, and is not the requester.

use super::access::find_resource;
use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::notice::{Notice, ReviewDecidedNotice, ReviewRequestedNotice};
use super::orgs::{effective_role, invalid, limited, load_catalog, OrgAccess};
use super::{App, AppError, RequestMeta};
use roster_authz::OrgIndex;
use roster_domain::{Conflict, ManagementPermission, RequestId, RequestStatus};
use roster_store::requests::{self, RequestFilter, RequestRow, VoteRow};
use roster_store::{members, resources, Conn};
use serde_json::json;
use std::time::Duration;

/// Shortest and longest grant a request may ask for.
pub const MIN_DURATION_SECONDS: i64 = 60;
pub const MAX_DURATION_SECONDS: i64 = 30 * 24 * 3600;

/// A request to create.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub resource: String,
    pub action: String,
    pub reason: String,
    pub duration_seconds: i64,
}

/// A request with its votes.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub row: RequestRow,
    pub votes: Vec<VoteRow>,
}

/// Whether `user_id` may review a request on `resource_id`, read under the
/// org's lock. Returns the reason when not.
async fn reviewer_refusal(
    conn: &mut Conn,
    access: &OrgAccess,
    org_role: &str,
    req: &RequestRow,
) -> Result<Option<String>> {
    let user_id = access.user_id();
    if req.requester_id == user_id {
        return Ok(Some("you cannot review your own request".into()));
    }
    let catalog = load_catalog(conn, access.org.id).await?;
    let chain = resources::ancestry(conn, req.resource_id).await?;
    let role = effective_role(conn, access.org.id, user_id, org_role, &catalog, &chain).await?;
    let role = limited(role, &access.caller, &catalog);
    if !role.has(ManagementPermission::RequestsApprove) {
        return Ok(Some(format!(
            "reviewing needs requests:approve on {}",
            req.resource
        )));
    }
    // The nearest resource up the chain that names groups.
    for id in &chain {
        let gate = resources::group_names(conn, *id).await?;
        if gate.is_empty() {
            continue;
        }
        let mine = members::groups_of(conn, access.org.id, &[user_id]).await?;
        let shares = mine
            .get(&user_id)
            .is_some_and(|groups| groups.iter().any(|g| gate.contains(g)));
        if !shares {
            return Ok(Some(format!(
                "{} admits only the groups {}; reviewers must share one of them",
                req.resource,
                gate.join(", ")
            )));
        }
        break;
    }
    Ok(None)
}

impl App {
    /// Asks for review of `action` on a resource whose policy needs it.
    /// Any active member may ask; reviewers are told by email.
    pub async fn create_request(
        &self,
        access: &OrgAccess,
        new: NewRequest,
        meta: &RequestMeta,
    ) -> Result<RequestInfo> {
        let reason = new.reason.trim();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(invalid("reason", "give a reason of 1 to 1000 characters"));
        }
        if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&new.duration_seconds) {
            return Err(invalid(
                "duration_seconds",
                format!("the duration is between {MIN_DURATION_SECONDS} seconds and 30 days"),
            ));
        }
        let action = new.action.trim();
        let known = action
            .split_once(':')
            .is_some_and(|(t, a)| access.catalog.class_of(t, a).is_some());
        if !known {
            return Err(invalid(
                "action",
                format!("unknown action {action:?}; actions are written type:action"),
            ));
        }
        // Who to tell, from the in-memory index, read before the
        // transaction so that it needs no second connection while holding
        // the org's lock. Eligibility is checked again when a reviewer
        // votes; this only decides who is emailed.
        let index = self.org_index(access.org.id).await?;
        let mut c = self.change(access, None, meta).await?;
        let res = find_resource(
            &mut c,
            access.org.id,
            &access.catalog,
            "resource",
            &new.resource,
        )
        .await?;
        // The nearest policy up the chain decides whether review is needed.
        let chain = resources::ancestry(&mut c, res.id).await?;
        let mut approvals = None;
        for id in &chain {
            let row = resources::policy(&mut c, *id).await?;
            if row.0.is_empty() {
                continue;
            }
            if row.0.split_whitespace().any(|a| a == action) {
                approvals = Some(row.1);
            }
            break;
        }
        let key = format!("{}/{}", res.resource_type, res.name);
        let Some(approvals) = approvals else {
            return Err(AppError::conflict(
                Conflict::ReviewNotRequired,
                format!("{action} on {key} needs no review; no request is needed"),
            ));
        };
        let now = c.now();
        let id = requests::insert(
            &mut c,
            requests::NewRequest {
                org_id: access.org.id,
                requester_id: access.user_id(),
                resource_id: res.id,
                action,
                reason,
                duration_seconds: new.duration_seconds,
                approvals_required: approvals,
                now,
            },
        )
        .await?;
        c.audit(
            "request.create",
            format!("request:{id}"),
            json!({
                "resource": key, "action": action, "reason": reason,
                "duration_seconds": new.duration_seconds,
            }),
        )
        .await?;
        let row = requests::get(&mut c, access.org.id, id).await?;
        c.touch_request(row.id);
        // The request, its audit event and its notifications: one
        // transaction (SPEC §2).
        self.queue_reviewer_mail(&mut c, access, &index, &row)
            .await?;
        c.commit().await?;
        Ok(RequestInfo {
            row,
            votes: Vec::new(),
        })
    }

    async fn queue_reviewer_mail(
        &self,
        c: &mut Change<'_>,
        access: &OrgAccess,
        index: &OrgIndex,
        row: &RequestRow,
    ) -> Result<()> {
        let Some(resource) = index.resource(&row.resource) else {
            tracing::warn!(
                request = row.id.get(),
                "the resource is not in the index yet; no reviewer emailed"
            );
            return Ok(());
        };
        let reviewers: Vec<String> = index
            .reviewers(row.requester_id.get(), resource)
            .into_iter()
            .map(|(_, email)| email.to_owned())
            .collect();
        if reviewers.is_empty() {
            tracing::warn!(
                request = row.id.get(),
                "a review request has no eligible reviewer"
            );
            return Ok(());
        }
        for email in reviewers {
            let notice = Notice::ReviewRequested(ReviewRequestedNotice {
                id: row.id.get(),
                requester: row.requester_email.clone(),
                action: row.action.clone(),
                resource: row.resource.clone(),
                org_name: access.org.name.clone(),
                org_slug: access.org.slug.clone(),
                minutes: row.duration_seconds / 60,
                reason: row.reason.clone(),
            });
            c.notify(&email, notice).await?;
        }
        Ok(())
    }

    /// One request with its votes. Needs `users:read`, or being the
    /// requester.
    pub async fn get_request(&self, access: &OrgAccess, id: RequestId) -> Result<RequestInfo> {
        let mut conn = self.store().conn().await?;
        let row = requests::get(&mut conn, access.org.id, id)
            .await
            .or_not_found("request")?;
        if row.requester_id != access.user_id() {
            access.require(ManagementPermission::UsersRead)?;
        }
        let votes = requests::votes(&mut conn, id).await?;
        Ok(RequestInfo { row, votes })
    }

    /// Requests, optionally by status or only the caller's own. Listing
    /// others' requests needs `users:read`.
    pub async fn list_requests(
        &self,
        access: &OrgAccess,
        status: Option<&str>,
        mine: bool,
        after_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RequestRow>> {
        if !mine {
            access.require(ManagementPermission::UsersRead)?;
        }
        let status = status.map(RequestStatus::parse).transpose()?;
        let mut conn = self.store().conn().await?;
        Ok(requests::list(
            &mut conn,
            access.org.id,
            &RequestFilter {
                status: status.map(|s| (s, self.now())),
                requester_id: mine.then_some(access.user_id()),
                after_id,
            },
            limit,
        )
        .await?)
    }

    /// Approves (`approve = true`) or rejects a pending request as an
    /// eligible reviewer. Enough approvals grant the action until the
    /// request's duration has passed; one rejection ends it.
    pub async fn review_request(
        &self,
        access: &OrgAccess,
        id: RequestId,
        approve: bool,
        comment: &str,
        meta: &RequestMeta,
    ) -> Result<RequestInfo> {
        let comment = comment.trim();
        if comment.chars().count() > 1000 {
            return Err(invalid("comment", "at most 1000 characters"));
        }
        let mut c = self.change(access, None, meta).await?;
        let req = requests::get(&mut c, access.org.id, id)
            .await
            .or_not_found("request")?;
        if req.status != RequestStatus::Pending {
            return Err(AppError::conflict(
                Conflict::RequestDecided,
                format!("request {id} is {} already", req.status),
            ));
        }
        let me = members::standing(&mut c, access.org.id, access.user_id())
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        if let Some(why) = reviewer_refusal(&mut c, access, &me.role, &req).await? {
            return Err(AppError::Forbidden(why));
        }
        let now = c.now();
        let decision = if approve { "approve" } else { "reject" };
        requests::vote(&mut c, id, access.user_id(), decision, comment, now)
            .await
            .on_conflict(Conflict::AlreadyReviewed, || {
                format!("you have reviewed request {id} already")
            })?;
        let votes = requests::votes(&mut c, id).await?;
        let approvals = votes.iter().filter(|v| v.decision == "approve").count() as i64;
        let outcome = if !approve {
            requests::decide(&mut c, id, RequestStatus::Rejected, now, None).await?;
            Some(RequestStatus::Rejected)
        } else if approvals >= req.approvals_required {
            let expires = now.plus(Duration::from_secs(req.duration_seconds.unsigned_abs()));
            requests::decide(&mut c, id, RequestStatus::Approved, now, Some(expires)).await?;
            Some(RequestStatus::Approved)
        } else {
            None
        };
        c.audit(
            if approve {
                "request.approve"
            } else {
                "request.reject"
            },
            format!("request:{id}"),
            json!({
                "requester": req.requester_email, "resource": req.resource,
                "action": req.action, "comment": comment,
                "approvals": approvals, "required": req.approvals_required,
                "outcome": outcome.unwrap_or(RequestStatus::Pending).as_str(),
            }),
        )
        .await?;
        if let Some(outcome) = outcome {
            let notice = Notice::ReviewDecided(ReviewDecidedNotice {
                id: id.get(),
                action: req.action.clone(),
                resource: req.resource.clone(),
                org_name: access.org.name.clone(),
                outcome: outcome.as_str().to_owned(),
                by: access.caller.actor.email.to_string(),
                allowed_minutes: (outcome == RequestStatus::Approved)
                    .then_some(req.duration_seconds / 60),
            });
            c.notify(&req.requester_email, notice).await?;
        }
        let row = requests::get(&mut c, access.org.id, id).await?;
        c.touch_request(id);
        c.commit().await?;
        Ok(RequestInfo { row, votes })
    }
}
