//! Access rules: a role granted to a member or a group, org-wide or on one
//! resource and everything below it.

use super::super::error::{Result, StoreResultExt};
use super::super::orgs::{effective_role, invalid, limited, parse_role, OrgAccess};
use super::super::{App, AppError, RequestMeta};
use super::{find_member, find_resource, named_resource};
use roster_domain::policy;
use roster_domain::{GroupName, ManagementPermission, RoleName, RuleId};
use roster_store::rules::{self, RuleFilter, RuleRow};
use roster_store::{groups, members, resources};
use serde_json::json;

/// Who an access rule is for.
#[derive(Debug, Clone)]
pub enum SubjectRef {
    /// A member, by email or numeric id.
    User(String),
    Group(String),
}

/// Filters for listing rules, as received.
#[derive(Debug, Clone, Default)]
pub struct RuleQuery {
    pub user: Option<String>,
    pub group: Option<String>,
    pub role: Option<String>,
    pub resource: Option<String>,
}

impl App {
    /// Grants `role` to a member or group, org-wide or on one resource (and
    /// so its descendants). Needs `access:manage` and every permission of
    /// the role at that scope. The owner role is a member's org role, not a
    /// rule. Granting a rule that exists returns it unchanged.
    pub async fn grant_rule(
        &self,
        access: &OrgAccess,
        subject: SubjectRef,
        role: &str,
        resource: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(RuleRow, bool)> {
        let (mut c, catalog) = self
            .change_access(access, ManagementPermission::AccessManage, meta)
            .await?;
        let role = parse_role(&mut c, access.org.id, &catalog, role).await?;
        if role.is_owner() {
            return Err(invalid(
                "role",
                "the owner role is given as a member's org role (roster users update --role owner), not by an access rule",
            ));
        }
        let (user_id, group_id) = match &subject {
            SubjectRef::User(u) => (
                Some(
                    find_member(&mut c, access.org.id, u)
                        .await
                        .map_err(|e| match e {
                            AppError::NotFound(_) => invalid(
                                "user",
                                format!("{} is not a member of this organization", u.trim()),
                            ),
                            other => other,
                        })?
                        .user_id,
                ),
                None,
            ),
            SubjectRef::Group(g) => {
                let name = GroupName::parse(g)?;
                let group = groups::find(&mut c, access.org.id, name.as_str())
                    .await?
                    .ok_or_else(|| {
                        invalid("group", format!("no group named {name} in this org"))
                    })?;
                (None, Some(group.id))
            }
        };
        let (resource_id, scope) = match resource {
            Some(key) => {
                let row = named_resource(&mut c, access.org.id, &catalog, "resource", key).await?;
                let chain = resources::ancestry(&mut c, row.id).await?;
                (Some(row.id), chain)
            }
            None => (None, Vec::new()),
        };
        // What the actor holds at that scope, under the lock.
        let me = members::standing(&mut c, access.org.id, access.user_id())
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let actor = effective_role(
            &mut c,
            access.org.id,
            access.user_id(),
            &me.role,
            &catalog,
            &scope,
        )
        .await?;
        let actor = limited(actor, &access.caller, &catalog);
        policy::may_grant(&actor, &role, &catalog)?;
        let now = c.now();
        let (id, created) = rules::insert(
            &mut c,
            rules::NewRule {
                org_id: access.org.id,
                user_id,
                group_id,
                role: role.name().as_str(),
                resource_id,
                created_by: access.user_id(),
                now,
            },
        )
        .await?;
        let rule = rules::get(&mut c, access.org.id, id).await?;
        if !created {
            c.nothing_changed();
            return Ok((rule, false));
        }
        touch_subject(&mut c, &rule);
        c.only_moves_access();
        c.audit("access.grant", format!("rule:{id}"), rule_details(&rule))
            .await?;
        c.commit().await?;
        Ok((rule, true))
    }

    /// Revokes a rule. Needs `access:manage`.
    pub async fn revoke_rule(
        &self,
        access: &OrgAccess,
        id: RuleId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (mut c, _) = self
            .change_access(access, ManagementPermission::AccessManage, meta)
            .await?;
        let rule = rules::get(&mut c, access.org.id, id)
            .await
            .or_not_found("access rule")?;
        rules::delete(&mut c, access.org.id, id).await?;
        touch_subject(&mut c, &rule);
        c.only_moves_access();
        c.audit("access.revoke", format!("rule:{id}"), rule_details(&rule))
            .await?;
        c.commit().await
    }

    /// Rules by subject, role or resource. Needs `users:read`.
    pub async fn list_rules(
        &self,
        access: &OrgAccess,
        q: &RuleQuery,
        after_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RuleRow>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let mut f = RuleFilter {
            after_id,
            ..Default::default()
        };
        if let Some(u) = &q.user {
            f.user_id = Some(find_member(&mut conn, access.org.id, u).await?.user_id);
        }
        if let Some(g) = &q.group {
            let name = GroupName::parse(g)?;
            f.group_id = Some(
                groups::find(&mut conn, access.org.id, name.as_str())
                    .await?
                    .ok_or(AppError::NotFound("group"))?
                    .id,
            );
        }
        if let Some(r) = &q.role {
            f.role = Some(RoleName::parse(r)?.to_string());
        }
        if let Some(r) = &q.resource {
            if r == "org" {
                f.org_wide = true;
            } else {
                f.resource_id = Some(
                    find_resource(&mut conn, access.org.id, &access.catalog, "resource", r)
                        .await?
                        .id,
                );
            }
        }
        Ok(rules::list(&mut conn, access.org.id, &f, limit).await?)
    }
}

/// Names the rule's subject as what the change touched.
fn touch_subject(c: &mut super::super::change::Change<'_>, rule: &RuleRow) {
    match (rule.user_id, rule.group_id) {
        (Some(u), _) => c.touch_member(u),
        (None, Some(g)) => c.touch_group(g),
        // A rule naming no one: leave the change unnamed (a full build).
        (None, None) => {}
    }
}

fn rule_details(rule: &RuleRow) -> serde_json::Value {
    json!({
        "user": rule.user_email,
        "group": rule.group_name,
        "role": rule.role,
        "resource": rule.resource,
    })
}
