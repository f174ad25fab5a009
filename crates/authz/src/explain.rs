//! Turning decisions into words, for the check API's `reason`.

use crate::{Action, Decision, OrgIndex, Reason, ResourceId, Scope, NONE};
use std::fmt::Write;

impl Reason {
    /// A stable, machine-readable name for the kind of reason.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::OrgRole { .. } => "org_role",
            Reason::UserRule { .. } | Reason::GroupRule { .. } => "access_rule",
            Reason::Request { .. } => "review_request",
            Reason::NotMember => "not_member",
            Reason::Inactive => "inactive",
            Reason::NoGrant => "no_grant",
            Reason::NotInGroups { .. } => "not_in_groups",
            Reason::ReviewRequired { .. } => "review_required",
        }
    }

    /// The access rule behind the decision, if any.
    pub fn rule_id(&self) -> Option<i64> {
        match self {
            Reason::UserRule { rule, .. } | Reason::GroupRule { rule, .. } => Some(*rule),
            _ => None,
        }
    }
}

impl Decision {
    /// The review request behind the decision, if any.
    pub fn request_id(&self) -> Option<i64> {
        match (self.reason, self.reviewed_by_request) {
            (Reason::Request { request, .. }, _) => Some(request),
            (_, Some((request, _))) => Some(request),
            _ => None,
        }
    }
}

/// Unix milliseconds as RFC 3339, for messages.
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

impl OrgIndex {
    /// The name of an action, `type:action` or a management permission.
    pub fn action_name(&self, action: Action) -> String {
        match action {
            Action::Management(m) => m.as_str().to_owned(),
            Action::Platform {
                resource_type,
                action,
                ..
            } => {
                let t = &self.types[resource_type as usize];
                format!("{}:{}", t.name, t.actions[action as usize].0)
            }
        }
    }

    pub fn role_name(&self, role: u32) -> &str {
        self.roles.get(role as usize).map_or("?", |r| &r.name)
    }

    pub fn group_name(&self, group: u32) -> &str {
        self.groups.get(group as usize).map_or("?", |g| &g.name)
    }

    fn scope_words(&self, scope: Scope) -> String {
        match scope {
            Scope::Org => "the organization".to_owned(),
            Scope::Resource(r) => self.resource_key(r),
        }
    }

    fn gate_groups(&self, gate: ResourceId) -> String {
        let names: Vec<&str> = self.resources[gate.0 as usize]
            .groups
            .iter()
            .filter(|g| **g != NONE)
            .map(|g| self.group_name(*g))
            .collect();
        if names.is_empty() {
            "(deleted groups)".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// Explains `decision` for `action` on `resource` in one sentence.
    pub fn explain(
        &self,
        decision: &Decision,
        action: Action,
        resource: Option<ResourceId>,
    ) -> String {
        let what = self.action_name(action);
        let on = resource.map_or_else(|| "the organization".to_owned(), |r| self.resource_key(r));
        let mut s = match decision.reason {
            Reason::OrgRole { role } => {
                format!("allowed by the org-wide role {}", self.role_name(role))
            }
            Reason::UserRule { rule, role, scope } => format!(
                "allowed by access rule {rule}: the user has role {} on {}",
                self.role_name(role),
                self.scope_words(scope)
            ),
            Reason::GroupRule {
                rule,
                group,
                role,
                scope,
            } => format!(
                "allowed by access rule {rule}: group {} has role {} on {}",
                self.group_name(group),
                self.role_name(role),
                self.scope_words(scope)
            ),
            Reason::Request {
                request,
                expires_at,
            } => format!(
                "allowed by approved review request {request} for {what} on {on}, until {}",
                format_ms(expires_at)
            ),
            Reason::NotMember => "denied: the user is not a member of this organization".into(),
            Reason::Inactive => {
                "denied: the user's membership is not active or the account is disabled".into()
            }
            Reason::NoGrant => {
                format!("denied: no role, access rule or approved request grants {what} on {on}")
            }
            Reason::NotInGroups { gate } => {
                let from = if Some(gate) == resource {
                    String::new()
                } else {
                    format!(" (set on {})", self.resource_key(gate))
                };
                format!(
                    "denied: {on} admits only members of the groups {}{from}, and the user is in none of them",
                    self.gate_groups(gate)
                )
            }
            Reason::ReviewRequired { policy } => {
                let from = if Some(policy) == resource {
                    String::new()
                } else {
                    format!(" (policy set on {})", self.resource_key(policy))
                };
                format!(
                    "denied: {what} on {on} needs an approved review request{from}, and the user has none"
                )
            }
        };
        if let (Some((request, expires_at)), false) = (
            decision.reviewed_by_request,
            matches!(decision.reason, Reason::Request { .. }),
        ) {
            let _ = write!(
                s,
                "; review satisfied by approved request {request}, until {}",
                format_ms(expires_at)
            );
        }
        s
    }
}
