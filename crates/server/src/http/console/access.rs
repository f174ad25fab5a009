//! Fine-grained access: the "why" view (the check API's decision and
//! reason for a member, action and resource), access rules, resources and
//! review requests.

use super::flash::{back, redirect_with};
use super::frame::{describe, ok, Frame, PageResult};
use super::session::{InOrg, NoFields, Path, PathId, Posted};
use super::text::{given, list, when_ms, Precision};
use crate::app::access::{NewResource, ResourceUpdate, ReviewPolicy, RuleQuery, SubjectRef};
use crate::app::check::{CheckOutcome, CheckQuery};
use crate::app::requests::NewRequest;
use crate::http::error::ApiError;
use crate::http::extract::split_words;
use askama::Template;
use axum::extract::Query;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct WhyQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    resource: String,
}

struct RuleView {
    id: i64,
    who: String,
    role: String,
    resource: String,
    since: String,
}

struct ResourceLine {
    key: String,
    parent: String,
    groups: Vec<String>,
    review: String,
}

#[derive(Template)]
#[template(path = "console/access.html")]
struct AccessPage {
    f: Frame,
    why: WhyQuery,
    answer: Option<CheckOutcome>,
    why_error: Option<String>,
    rules: Vec<RuleView>,
    resources: Vec<ResourceLine>,
    roles: Vec<String>,
}

pub async fn overview(o: InOrg, Query(why): Query<WhyQuery>) -> PageResult {
    let (answer, why_error) = if why.user.trim().is_empty() || why.action.trim().is_empty() {
        (None, None)
    } else {
        let q = CheckQuery {
            user: why.user.trim().to_owned(),
            action: why.action.trim().to_owned(),
            resource: given(Some(&why.resource)),
        };
        match o
            .app()
            .check(&o.session.caller, &o.access.org.slug, &q)
            .await
        {
            Ok(a) => (Some(a), None),
            Err(e) => (None, Some(describe(&ApiError::from(e)).1)),
        }
    };
    let rules = o
        .app()
        .list_rules(&o.access, &RuleQuery::default(), None, 500)
        .await?
        .into_iter()
        .map(|r| RuleView {
            id: r.id.get(),
            who: match (r.group_name, r.user_email) {
                (Some(g), _) => format!("group {g}"),
                (None, Some(e)) => e,
                (None, None) => String::new(),
            },
            role: r.role,
            resource: r
                .resource
                .unwrap_or_else(|| "the whole organization".to_owned()),
            since: when_ms(r.created_at, Precision::Day),
        })
        .collect();
    let resources = o
        .app()
        .list_resources(&o.access, None, None, None, 500)
        .await?
        .into_iter()
        .map(|r| ResourceLine {
            key: r.key(),
            parent: r.row.parent.clone().unwrap_or_default(),
            review: if r.row.review_actions.is_empty() {
                String::new()
            } else {
                format!(
                    "{} ({} approval{})",
                    r.row.review_actions,
                    r.row.review_approvals,
                    if r.row.review_approvals == 1 { "" } else { "s" }
                )
            },
            groups: r.groups,
        })
        .collect();
    let f = o.frame("access", "Access").await?;
    let roles = if f.can.manage_access {
        let mut roles = o.app().grantable_roles(&o.access).await?;
        // An access rule never grants `owner` (the use case refuses it: it
        // is a member's org role), so the form does not offer it.
        roles.retain(|r| r != "owner");
        roles
    } else {
        Vec::new()
    };
    let page = AccessPage {
        f,
        why,
        answer,
        why_error,
        rules,
        resources,
        roles,
    };
    Ok(ok(&page, &page.f))
}

#[derive(Deserialize)]
pub struct GrantForm {
    subject_kind: String,
    subject: String,
    role: String,
    resource: Option<String>,
}

pub async fn grant(o: InOrg, Posted { form, .. }: Posted<GrantForm>) -> PageResult {
    let subject = match form.subject_kind.as_str() {
        "user" => SubjectRef::User(form.subject.trim().to_owned()),
        _ => SubjectRef::Group(form.subject.trim().to_owned()),
    };
    let resource = given(form.resource.as_deref());
    let outcome = o
        .app()
        .grant_rule(
            &o.access,
            subject,
            &form.role,
            resource.as_deref(),
            o.meta(),
        )
        .await
        .map(|(r, _)| format!("Granted {} (rule {}).", r.role, r.id));
    Ok(o.back("access", outcome))
}

pub async fn revoke(
    PathId(id): PathId<roster_domain::RuleId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .revoke_rule(&o.access, id, o.meta())
        .await
        .map(|()| format!("Revoked rule {id}."));
    Ok(o.back("access", outcome))
}

/// A review policy from the form's fields: none when no action is named.
fn review_policy(actions: &str, approvals: Option<i64>) -> Option<ReviewPolicy> {
    let actions = split_words(actions);
    (!actions.is_empty()).then(|| ReviewPolicy {
        actions,
        approvals: approvals.unwrap_or(1),
    })
}

#[derive(Deserialize)]
pub struct ResourceForm {
    key: String,
    parent: Option<String>,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    review_actions: String,
    approvals: Option<i64>,
}

pub async fn create_resource(o: InOrg, Posted { form, .. }: Posted<ResourceForm>) -> PageResult {
    let new = NewResource {
        key: form.key.trim().to_owned(),
        parent: given(form.parent.as_deref()),
        groups: list(&form.groups),
        review: review_policy(&form.review_actions, form.approvals),
    };
    let outcome = o
        .app()
        .create_resource(&o.access, new, o.meta())
        .await
        .map(|r| format!("Added {}.", r.key()));
    Ok(o.back("access", outcome))
}

#[derive(Deserialize)]
pub struct KeyForm {
    key: String,
}

/// Deletes a resource without children (a resource with children is
/// refused, as the API does without `cascade`).
pub async fn delete_resource(o: InOrg, Posted { form, .. }: Posted<KeyForm>) -> PageResult {
    let key = form.key.trim().to_owned();
    let outcome = o
        .app()
        .delete_resource(&o.access, &key, false, o.meta())
        .await
        .map(|_| format!("Deleted {key}."));
    Ok(o.back("access", outcome))
}

#[derive(Template)]
#[template(path = "console/resource_edit.html")]
struct ResourcePage {
    f: Frame,
    key: String,
    parent: String,
    groups: String,
    review_actions: String,
    approvals: i64,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct KeyQuery {
    key: String,
}

pub async fn edit_resource(o: InOrg, Query(q): Query<KeyQuery>) -> PageResult {
    let r = o.app().get_resource(&o.access, q.key.trim()).await?;
    let f = o.frame("access", &r.key()).await?;
    let page = ResourcePage {
        f,
        key: r.key(),
        parent: r.row.parent.clone().unwrap_or_default(),
        groups: r.groups.join(", "),
        review_actions: r.row.review_actions.clone(),
        approvals: r.row.review_approvals.max(1),
        error: None,
    };
    Ok(ok(&page, &page.f))
}

#[derive(Deserialize)]
pub struct ResourceEditForm {
    key: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    review_actions: String,
    approvals: Option<i64>,
}

/// Saves what changed of a resource's parent, groups and review policy.
pub async fn update_resource(
    o: InOrg,
    Posted { form, .. }: Posted<ResourceEditForm>,
) -> PageResult {
    let r = o.app().get_resource(&o.access, form.key.trim()).await?;
    let key = r.key();
    let parent = given(Some(&form.parent));
    let groups = list(&form.groups);
    let review = review_policy(&form.review_actions, form.approvals);
    let old_actions = split_words(&r.row.review_actions);
    let review_changed = match &review {
        None => !old_actions.is_empty(),
        Some(p) => p.actions != old_actions || p.approvals != r.row.review_approvals,
    };
    let update = ResourceUpdate {
        parent: (parent != r.row.parent).then_some(parent),
        groups: (groups != r.groups).then_some(groups),
        review: review_changed.then_some(review),
    };
    match o
        .app()
        .update_resource(&o.access, &key, update, o.meta())
        .await
    {
        Ok(saved) => Ok(redirect_with(
            &o.state,
            &format!("/o/{}/access", o.access.org.slug),
            "notice",
            &format!("Saved {}.", saved.key()),
        )),
        Err(e) => {
            let f = o.frame("access", &key).await?;
            let (status, text) = describe(&ApiError::from(e));
            let page = ResourcePage {
                f,
                key,
                parent: form.parent,
                groups: form.groups,
                review_actions: form.review_actions,
                approvals: form.approvals.unwrap_or(1),
                error: Some(text),
            };
            Ok(super::frame::show(status, &page, &page.f))
        }
    }
}

#[derive(Deserialize)]
pub struct AskForm {
    action: String,
    resource: String,
    reason: String,
    hours: i64,
}

/// Asks for review of an action on a resource.
pub async fn ask(o: InOrg, Posted { form, .. }: Posted<AskForm>) -> PageResult {
    let new = NewRequest {
        resource: form.resource.trim().to_owned(),
        action: form.action.trim().to_owned(),
        reason: form.reason,
        duration_seconds: form.hours.saturating_mul(3600),
    };
    let outcome = o
        .app()
        .create_request(&o.access, new, o.meta())
        .await
        .map(|r| {
            format!(
                "Asked for review (request {}); reviewers are told.",
                r.row.id
            )
        });
    Ok(o.back("requests", outcome))
}

struct RequestLine {
    id: i64,
    requester: String,
    action: String,
    resource: String,
    reason: String,
    status: String,
    asked: String,
}

#[derive(Template)]
#[template(path = "console/requests.html")]
struct RequestsPage {
    f: Frame,
    requests: Vec<RequestLine>,
}

pub async fn requests(o: InOrg) -> PageResult {
    let mine = !o
        .access
        .role
        .has(roster_domain::ManagementPermission::UsersRead);
    let rows = o
        .app()
        .list_requests(&o.access, None, mine, None, 200)
        .await?;
    let now = o.app().now();
    let f = o.frame("requests", "Review requests").await?;
    let page = RequestsPage {
        f,
        requests: rows
            .into_iter()
            .map(|r| RequestLine {
                status: r.effective_status(now).as_str().to_owned(),
                id: r.id.get(),
                requester: r.requester_email,
                action: r.action,
                resource: r.resource,
                reason: r.reason,
                asked: when_ms(r.created_at, Precision::Day),
            })
            .collect(),
    };
    Ok(ok(&page, &page.f))
}

pub async fn decide(
    Path((_org, id, decision)): Path<(String, i64, String)>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let to = format!("/o/{}/requests", o.access.org.slug);
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(super::frame::Failure::page(
                axum::http::StatusCode::NOT_FOUND,
                "No such decision.",
            ))
        }
    };
    let outcome = o
        .app()
        .review_request(
            &o.access,
            roster_domain::RequestId::new(id),
            approve,
            "",
            o.meta(),
        )
        .await
        .map(|r| format!("Request {} is {}.", r.row.id, r.row.status));
    Ok(back(&o.state, &to, outcome))
}
