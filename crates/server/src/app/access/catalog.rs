//! The org's resource-type catalog: the default types and actions with the
//! org's additions.

use super::super::error::Result;
use super::super::orgs::{invalid, OrgAccess};
use super::super::{App, RequestMeta};
use roster_domain::{ActionClass, Catalog, ManagementPermission};
use roster_store::roles::{self, ActionRow};
use serde_json::json;

impl App {
    /// The org's resource types and actions. Needs `users:read`.
    pub fn catalog(&self, access: &OrgAccess) -> Result<Catalog> {
        access.require(ManagementPermission::UsersRead)?;
        Ok(access.catalog.clone())
    }

    /// The descriptions the org gave its own types (the first non-empty one
    /// given with any of a type's actions). Needs `users:read`.
    pub async fn type_descriptions(
        &self,
        access: &OrgAccess,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let mut out = std::collections::BTreeMap::new();
        for row in roles::actions(&mut conn, access.org.id).await? {
            if !row.description.is_empty() {
                out.entry(row.resource_type).or_insert(row.description);
            }
        }
        Ok(out)
    }

    /// Adds a type with its actions, or actions to an existing type. Needs
    /// `resources:manage`. Adding what exists with the same class is a
    /// no-op; another class for an existing action is refused.
    pub async fn add_resource_actions(
        &self,
        access: &OrgAccess,
        resource_type: &str,
        actions: &[(String, String)],
        description: &str,
        meta: &RequestMeta,
    ) -> Result<Catalog> {
        access.require(ManagementPermission::ResourcesManage)?;
        if actions.is_empty() {
            return Err(invalid("actions", "name at least one action"));
        }
        let (mut c, mut catalog) = self
            .change_access(access, ManagementPermission::ResourcesManage, meta)
            .await?;
        let now = c.now();
        let mut added = Vec::new();
        for (action, class) in actions {
            let class = ActionClass::parse(class.trim())?;
            let action = action.trim();
            let existed = catalog.class_of(resource_type, action).is_some();
            catalog.add(resource_type, action, class)?;
            if !existed {
                roles::insert_action(
                    &mut c,
                    access.org.id,
                    &ActionRow {
                        resource_type: resource_type.to_owned(),
                        action: action.to_owned(),
                        class: class.as_str().to_owned(),
                        description: description.to_owned(),
                    },
                    now,
                )
                .await?;
                added.push(format!("{resource_type}:{action}:{}", class.as_str()));
            }
        }
        if added.is_empty() {
            c.nothing_changed();
            return Ok(catalog);
        }
        c.audit(
            "resource_type.update",
            format!("resource_type:{resource_type}"),
            json!({ "added": added }),
        )
        .await?;
        c.commit().await?;
        Ok(catalog)
    }
}
