//! The check API: "may this user do this action on this resource?"
//!
//! Answered from the org's in-memory index ([`App::org_index`]): once the
//! index is current, a check reads no database. The caller is authorized
//! from the same index: an active member may ask about themselves; asking
//! about someone else needs `users:read` (which every built-in role holds;
//! a platform's service account gets it through its role).

use super::caller::{Caller, Reach};
use super::error::Result;
use super::orgs::invalid;
use super::{App, AppError};
use roster_authz::{Action, Decision, OrgIndex, Reason, ResourceId};
use roster_domain::{
    DomainError, ManagementPermission, ManagementPermissionName, MemberStatus, OrgId, Timestamp,
};
use roster_store::access_state::Slice;
use std::borrow::Cow;
use std::sync::Arc;

/// One question.
#[derive(Debug, Clone)]
pub struct CheckQuery {
    /// A member's email or numeric user id.
    pub user: String,
    /// `type:action`, or a management permission.
    pub action: String,
    /// `type/name`; none for the org as a whole.
    pub resource: Option<String>,
}

/// One answer.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub allowed: bool,
    pub reason: String,
    /// Stable name of the kind of reason (`org_role`, `access_rule`,
    /// `review_request`, `not_member`, `inactive`, `no_grant`,
    /// `not_in_groups`, `review_required`, `token_limit`).
    pub code: &'static str,
    pub rule_id: Option<i64>,
    pub request_id: Option<i64>,
}

/// The org's index with the caller checked against it.
pub struct CheckContext {
    pub index: Arc<OrgIndex>,
    /// The caller's API token's permission list: what the caller may do
    /// itself is also bounded by it.
    limit: Option<Arc<str>>,
    caller: i64,
    may_read_users: bool,
    /// Set while this process has no index of the org that is up to date
    /// without a build (none yet, or a change only a build can apply):
    /// `index` is then a slice holding only the caller, and a check first
    /// reads the slice it needs ([`CheckContext::covering`]).
    slice_of: Option<OrgId>,
}

impl CheckContext {
    /// A context whose index can answer questions about `user` on
    /// `resource` (or the org): this one when it holds the whole org, else
    /// one over the slice of the org they need, read now (the org's index
    /// is being built meanwhile).
    pub async fn covering(
        self,
        app: &App,
        user: &str,
        resource: Option<&str>,
    ) -> Result<CheckContext> {
        let Some(org_id) = self.slice_of else {
            return Ok(self);
        };
        if let Some(index) = app.index_without_build(org_id).await? {
            return Ok(CheckContext {
                index,
                slice_of: None,
                ..self
            });
        }
        let mut slice = Slice {
            user_ids: vec![self.caller],
            ..Slice::default()
        };
        match user_ref(user) {
            Some(UserRef::Id(id)) => slice.user_ids.push(id),
            Some(UserRef::Email(email)) => slice.emails.push(email.into_owned()),
            None => {}
        }
        slice.resource = resource
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        let index = app.slice_index(org_id, &slice).await?;
        Ok(CheckContext { index, ..self })
    }

    /// A context over the org's whole index, waiting for it to be built
    /// if this one holds a slice (for questions about every resource or
    /// many users).
    pub async fn whole(self, app: &App) -> Result<CheckContext> {
        let Some(org_id) = self.slice_of else {
            return Ok(self);
        };
        let index = app.org_index(org_id).await?;
        Ok(CheckContext {
            index,
            slice_of: None,
            ..self
        })
    }

    /// Resolves a user reference to an id: a number is an id, anything
    /// else an email. An unknown email resolves to no one (id 0), which
    /// every check denies as "not a member".
    pub fn user_id(&self, user: &str) -> Result<i64> {
        let id = match user_ref(user) {
            Some(UserRef::Id(id)) => id,
            Some(UserRef::Email(email)) => self.index.user_by_email(&email).unwrap_or(0),
            None => {
                return Err(invalid(
                    "user",
                    format!("{:?} is neither an email nor a user id", user.trim()),
                ))
            }
        };
        if id != self.caller && !self.may_read_users {
            return Err(AppError::Domain(DomainError::MissingPermission(
                ManagementPermissionName(ManagementPermission::UsersRead.as_str()),
            )));
        }
        Ok(id)
    }

    pub fn action(&self, action: &str) -> Result<Action> {
        self.index.action(action.trim()).ok_or_else(|| {
            invalid(
                "action",
                format!(
                    "unknown action {:?}; see GET /orgs/{{org}}/resource-types",
                    action.trim()
                ),
            )
        })
    }

    pub fn resource(&self, key: Option<&str>) -> Result<Option<ResourceId>> {
        match key.map(str::trim) {
            None | Some("") => Ok(None),
            Some(k) => self
                .index
                .resource(k)
                .map(Some)
                .ok_or_else(|| invalid("resource", format!("no resource {k} in this org"))),
        }
    }

    /// Answers one query.
    pub fn check(&self, q: &CheckQuery, now: Timestamp) -> Result<CheckOutcome> {
        let user = self.user_id(&q.user)?;
        let action = self.action(&q.action)?;
        let resource = self.resource(q.resource.as_deref())?;
        let d = self.index.check(user, action, resource, now.unix_ms());
        let mut outcome = self.outcome(&d, action, resource);
        if outcome.allowed && user == self.caller {
            if let Some(list) = &self.limit {
                if !limit_allows(list, q.action.trim(), action) {
                    outcome = CheckOutcome {
                        allowed: false,
                        reason: format!(
                            "denied: the API token asking does not hold {}",
                            q.action.trim()
                        ),
                        code: "token_limit",
                        rule_id: None,
                        request_id: None,
                    };
                }
            }
        }
        Ok(outcome)
    }

    pub fn outcome(
        &self,
        d: &Decision,
        action: Action,
        resource: Option<ResourceId>,
    ) -> CheckOutcome {
        CheckOutcome {
            allowed: d.allowed,
            reason: self.index.explain(d, action, resource),
            code: d.reason.code(),
            rule_id: d.reason.rule_id(),
            request_id: d.request_id(),
        }
    }
}

/// How a check names a user.
enum UserRef<'a> {
    Id(i64),
    /// As stored: lower case (copied only when it was not).
    Email(Cow<'a, str>),
}

/// A number is a user id; anything with an `@` an email.
fn user_ref(user: &str) -> Option<UserRef<'_>> {
    let user = user.trim();
    match user.parse::<i64>() {
        Ok(id) => Some(UserRef::Id(id)),
        Err(_) if user.contains('@') => Some(UserRef::Email(
            if user.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(user.to_lowercase())
            } else {
                Cow::Borrowed(user)
            },
        )),
        Err(_) => None,
    }
}

/// Whether a stored permission list (an API token's) holds `action` named
/// `name`: the management permission itself, or the platform action, its
/// type's `type:*`, or its class's `*:class`.
fn limit_allows(list: &str, name: &str, action: Action) -> bool {
    list.split_whitespace().any(|entry| match action {
        Action::Management(p) => entry == p.as_str(),
        Action::Platform { class, .. } => {
            let resource_type = name.split_once(':').map_or(name, |(t, _)| t);
            entry == name
                || entry == format!("{resource_type}:*")
                || entry == format!("*:{}", class.as_str())
        }
    })
}

impl App {
    /// The index of the org named `slug`, for a caller who is an active
    /// member of it. Like [`App::org_access`], an org the caller is not in
    /// is "not found".
    ///
    /// While this process has no index of the org that is up to date
    /// without a build (the first check after a start, or a change only a
    /// build can apply, such as a role's new definition), the build starts
    /// in the background and the context holds a slice of the org with the
    /// caller only; a check reads what else it needs
    /// ([`CheckContext::covering`]), so that no check waits for a whole big
    /// org to be read.
    pub async fn check_context(&self, caller: &Caller, slug: &str) -> Result<CheckContext> {
        caller.admits(Reach::Everything)?;
        let org_id = self.org_id_by_slug(slug).await?;
        if caller.bound_org().is_some_and(|bound| bound != org_id) {
            return Err(AppError::NotFound("organization"));
        }
        let me = caller.user_id().get();
        let (index, slice_of) = match self.index_without_build(org_id).await? {
            Some(index) => (index, None),
            None => {
                self.warm(org_id);
                let caller_only = Slice {
                    user_ids: vec![me],
                    ..Slice::default()
                };
                (self.slice_index(org_id, &caller_only).await?, Some(org_id))
            }
        };
        let read = Action::Management(ManagementPermission::UsersRead);
        let decision = index.check(me, read, None, self.now().unix_ms());
        match decision.reason {
            Reason::NotMember => return Err(AppError::NotFound("organization")),
            Reason::Inactive => {
                let mut conn = self.store().conn().await?;
                let status = roster_store::members::standing(&mut conn, org_id, caller.user_id())
                    .await?
                    .map_or(MemberStatus::Disabled, |m| m.status);
                return Err(AppError::MembershipInactive { status });
            }
            _ => {}
        }
        // An API token asks about others only if its list keeps
        // `users:read`.
        let token_keeps_read = caller.limit().is_none_or(|list| {
            list.split_whitespace()
                .any(|p| p == ManagementPermission::UsersRead.as_str())
        });
        Ok(CheckContext {
            index,
            limit: caller.shared_limit(),
            caller: me,
            may_read_users: decision.allowed && token_keeps_read,
            slice_of,
        })
    }

    /// Answers one check.
    pub async fn check(&self, caller: &Caller, slug: &str, q: &CheckQuery) -> Result<CheckOutcome> {
        let cx = self.check_context(caller, slug).await?;
        let cx = cx.covering(self, &q.user, q.resource.as_deref()).await?;
        cx.check(q, self.now())
    }

    /// Every permission a member holds in the org, or on a resource.
    pub fn permissions(
        &self,
        cx: &CheckContext,
        user: &str,
        resource: Option<&str>,
    ) -> Result<Vec<(String, CheckOutcome)>> {
        let user = cx.user_id(user)?;
        if !cx.index.is_member(user) {
            return Err(AppError::NotFound("member"));
        }
        let r = cx.resource(resource)?;
        // The caller's own list is what its token leaves of it.
        let limit = cx.limit.as_deref().filter(|_| user == cx.caller);
        Ok(cx
            .index
            .permissions(user, r, self.now().unix_ms())
            .into_iter()
            .filter_map(|(name, d)| {
                let action = cx.index.action(&name);
                if let (Some(list), Some(a)) = (limit, action) {
                    if !limit_allows(list, &name, a) {
                        return None;
                    }
                }
                let outcome = match action {
                    Some(a) => cx.outcome(&d, a, r),
                    None => CheckOutcome {
                        allowed: d.allowed,
                        reason: String::new(),
                        code: d.reason.code(),
                        rule_id: d.reason.rule_id(),
                        request_id: d.request_id(),
                    },
                };
                Some((name, outcome))
            })
            .collect())
    }

    /// The resources on which a member may do `action`.
    pub async fn resources_allowed(
        &self,
        caller: &Caller,
        slug: &str,
        user: &str,
        action: &str,
    ) -> Result<Vec<String>> {
        let cx = self.check_context(caller, slug).await?.whole(self).await?;
        let user = cx.user_id(user)?;
        let action = cx.action(action)?;
        Ok(cx
            .index
            .resources_allowed(user, action, self.now().unix_ms()))
    }
}
