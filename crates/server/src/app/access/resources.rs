//! The resource tree: registered resources with their parent, the groups
//! they admit and their review policy.

use super::super::error::{Result, StoreResultExt};
use super::super::orgs::{invalid, OrgAccess};
use super::super::{App, AppError, RequestMeta};
use super::{find_resource, group_ids, named_resource, parse_key, path_resource};
use roster_domain::{Catalog, Conflict, ManagementPermission};
use roster_store::resources::{self, ResourceFilter, ResourceRow};
use roster_store::Conn;
use serde_json::json;

/// The most approvals a review policy may ask for.
pub const MAX_APPROVALS: i64 = 10;

/// A resource as shown: the stored row with the groups it admits.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub row: ResourceRow,
    pub groups: Vec<String>,
}

impl ResourceInfo {
    pub fn key(&self) -> String {
        format!("{}/{}", self.row.resource_type, self.row.name)
    }
}

/// A review policy: which actions need approval, and how many approvals.
#[derive(Debug, Clone, Default)]
pub struct ReviewPolicy {
    pub actions: Vec<String>,
    pub approvals: i64,
}

/// A resource to register.
#[derive(Debug, Clone, Default)]
pub struct NewResource {
    /// `type/name`.
    pub key: String,
    pub parent: Option<String>,
    pub groups: Vec<String>,
    pub review: Option<ReviewPolicy>,
}

/// A change to a resource; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ResourceUpdate {
    /// `Some(None)` makes the resource a root.
    pub parent: Option<Option<String>>,
    pub groups: Option<Vec<String>>,
    /// `Some(None)` removes the policy.
    pub review: Option<Option<ReviewPolicy>>,
}

fn check_review(review: &ReviewPolicy, catalog: &Catalog) -> Result<String> {
    if !(1..=MAX_APPROVALS).contains(&review.approvals) {
        return Err(invalid(
            "review.approvals",
            format!("approvals is between 1 and {MAX_APPROVALS}"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for a in &review.actions {
        let a = a.trim();
        let known = a
            .split_once(':')
            .is_some_and(|(t, x)| catalog.class_of(t, x).is_some());
        if !known {
            return Err(invalid(
                "review.actions",
                format!(
                    "unknown action {a:?}; actions are written type:action, e.g. clusters:deploy"
                ),
            ));
        }
        if !out.iter().any(|o| o == a) {
            out.push(a.to_owned());
        }
    }
    if out.is_empty() {
        return Err(invalid(
            "review.actions",
            "a review policy names at least one action",
        ));
    }
    Ok(out.join(" "))
}

impl App {
    async fn resource_info(&self, conn: &mut Conn, row: ResourceRow) -> Result<ResourceInfo> {
        let groups = resources::group_names(conn, row.id).await?;
        Ok(ResourceInfo { row, groups })
    }

    /// Registers a resource. Needs `resources:manage`.
    pub async fn create_resource(
        &self,
        access: &OrgAccess,
        new: NewResource,
        meta: &RequestMeta,
    ) -> Result<ResourceInfo> {
        let (mut c, catalog) = self
            .change_access(access, ManagementPermission::ResourcesManage, meta)
            .await?;
        let (t, n) = parse_key("key", &new.key, &catalog)?;
        let parent = match &new.parent {
            Some(p) => Some(named_resource(&mut c, access.org.id, &catalog, "parent", p).await?),
            None => None,
        };
        let gids = group_ids(&mut c, access.org.id, &new.groups).await?;
        let (review_actions, approvals) = match &new.review {
            Some(r) => (check_review(r, &catalog)?, r.approvals),
            None => (String::new(), 1),
        };
        let now = c.now();
        let id = resources::insert(
            &mut c,
            resources::NewResource {
                org_id: access.org.id,
                resource_type: t,
                name: n,
                parent_id: parent.as_ref().map(|p| p.id),
                review_actions: &review_actions,
                review_approvals: approvals,
                now,
            },
        )
        .await
        .on_conflict(Conflict::ResourceExists, || {
            format!("{t}/{n} is registered already")
        })?;
        resources::set_groups(&mut c, access.org.id, id, &gids).await?;
        c.touch_new_resource(id);
        c.audit(
            "resource.create",
            format!("resource:{t}/{n}"),
            json!({
                "parent": new.parent,
                "groups": new.groups,
                "review": new.review.as_ref().map(|r| json!({"actions": r.actions, "approvals": r.approvals})),
            }),
        )
        .await?;
        let row = resources::find(&mut c, access.org.id, t, n)
            .await?
            .ok_or(AppError::NotFound("resource"))?;
        let info = self.resource_info(&mut c, row).await?;
        c.commit().await?;
        Ok(info)
    }

    /// One resource. Needs `users:read`.
    pub async fn get_resource(&self, access: &OrgAccess, key: &str) -> Result<ResourceInfo> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let row = path_resource(&mut conn, access.org.id, &access.catalog, key).await?;
        self.resource_info(&mut conn, row).await
    }

    /// A page of resources, optionally of one type or under one parent.
    /// Needs `users:read`.
    pub async fn list_resources(
        &self,
        access: &OrgAccess,
        resource_type: Option<&str>,
        parent: Option<&str>,
        after_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ResourceInfo>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        if let Some(t) = resource_type {
            if !access.catalog.has_type(t) {
                return Err(invalid("type", format!("unknown resource type {t:?}")));
            }
        }
        let parent_id = match parent {
            Some(p) => Some(
                find_resource(&mut conn, access.org.id, &access.catalog, "parent", p)
                    .await?
                    .id,
            ),
            None => None,
        };
        let rows = resources::list(
            &mut conn,
            access.org.id,
            &ResourceFilter {
                resource_type: resource_type.map(str::to_owned),
                parent_id,
                after_id,
            },
            limit,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.resource_info(&mut conn, row).await?);
        }
        Ok(out)
    }

    /// Changes a resource's parent, groups or review policy. Needs
    /// `resources:manage`. A parent below the resource itself (a cycle) is
    /// refused.
    pub async fn update_resource(
        &self,
        access: &OrgAccess,
        key: &str,
        u: ResourceUpdate,
        meta: &RequestMeta,
    ) -> Result<ResourceInfo> {
        let (mut c, catalog) = self
            .change_access(access, ManagementPermission::ResourcesManage, meta)
            .await?;
        let row = path_resource(&mut c, access.org.id, &catalog, key).await?;
        let parent_id = match &u.parent {
            None => row.parent_id,
            Some(None) => None,
            Some(Some(p)) => {
                let parent = named_resource(&mut c, access.org.id, &catalog, "parent", p).await?;
                let above = resources::ancestry(&mut c, parent.id).await?;
                if above.contains(&row.id) {
                    return Err(invalid(
                        "parent",
                        format!(
                            "{} is below {}/{}; a resource cannot be its own ancestor",
                            p.trim(),
                            row.resource_type,
                            row.name
                        ),
                    ));
                }
                Some(parent.id)
            }
        };
        let (review_actions, approvals) = match &u.review {
            None => (row.review_actions.clone(), row.review_approvals),
            Some(None) => (String::new(), 1),
            Some(Some(r)) => (check_review(r, &catalog)?, r.approvals),
        };
        if let Some(g) = &u.groups {
            let gids = group_ids(&mut c, access.org.id, g).await?;
            resources::set_groups(&mut c, access.org.id, row.id, &gids).await?;
        }
        let now = c.now();
        resources::update(&mut c, row.id, parent_id, &review_actions, approvals, now).await?;
        c.touch_resource(row.id);
        c.only_moves_access();
        let key = format!("{}/{}", row.resource_type, row.name);
        c.audit(
            "resource.update",
            format!("resource:{key}"),
            json!({
                "parent": u.parent,
                "groups": u.groups,
                "review": u.review.as_ref().map(|r| r.as_ref().map(|r| json!({"actions": r.actions, "approvals": r.approvals}))),
            }),
        )
        .await?;
        let row = resources::find(&mut c, access.org.id, &row.resource_type, &row.name)
            .await?
            .ok_or(AppError::NotFound("resource"))?;
        let info = self.resource_info(&mut c, row).await?;
        c.commit().await?;
        Ok(info)
    }

    /// Deletes a resource, and with `cascade` everything below it (with
    /// their rules and requests). Without `cascade`, a resource with
    /// children is refused. Returns how many resources were deleted.
    pub async fn delete_resource(
        &self,
        access: &OrgAccess,
        key: &str,
        cascade: bool,
        meta: &RequestMeta,
    ) -> Result<usize> {
        let (mut c, catalog) = self
            .change_access(access, ManagementPermission::ResourcesManage, meta)
            .await?;
        let row = path_resource(&mut c, access.org.id, &catalog, key).await?;
        let subtree = resources::subtree(&mut c, row.id).await?;
        if subtree.len() > 1 && !cascade {
            return Err(AppError::conflict(
                Conflict::ResourceHasChildren,
                format!(
                    "{}/{} has {} resources below it; delete them first or ask for a cascading delete",
                    row.resource_type,
                    row.name,
                    subtree.len() - 1
                ),
            ));
        }
        resources::delete_all(&mut c, &subtree).await?;
        c.touch_removed_resources(&subtree);
        c.only_moves_access();
        c.audit(
            "resource.delete",
            format!("resource:{}/{}", row.resource_type, row.name),
            json!({ "cascade": cascade, "deleted": subtree.len() }),
        )
        .await?;
        c.commit().await?;
        Ok(subtree.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_policies_name_known_actions() {
        let c = Catalog::default_catalog();
        let ok = ReviewPolicy {
            actions: vec!["clusters:deploy".into(), "clusters:deploy".into()],
            approvals: 2,
        };
        assert_eq!(check_review(&ok, &c).unwrap(), "clusters:deploy");
        for (actions, approvals) in [
            (vec!["clusters:explode".to_owned()], 1),
            (vec![], 1),
            (vec!["clusters:deploy".to_owned()], 0),
            (vec!["clusters:deploy".to_owned()], 11),
        ] {
            assert!(check_review(&ReviewPolicy { actions, approvals }, &c).is_err());
        }
    }
}
