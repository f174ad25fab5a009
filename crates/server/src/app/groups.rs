//! Groups (SPEC §1): named sets of an org's members, created by admins (and
//! by naming them on a member). They gate resources and are subjects of
//! access rules once those land.

use super::audit::{record, AuditEntry};
use super::error::Result;
use super::orgs::{lock_and_recheck, OrgAccess};
use super::time::now_ms;
use super::{App, AppError, RequestMeta};
use roster_domain::policy;
use roster_domain::{GroupName, ManagementPermission};
use roster_store::groups::{self, Group};
use roster_store::members::{self, Member};
use roster_store::{Conn, StoreError};
use serde_json::json;

fn taken(name: &GroupName) -> impl FnOnce(StoreError) -> AppError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => AppError::Conflict {
            code: "group_exists",
            message: format!("a group named {name} already exists"),
        },
        other => other.into(),
    }
}

impl App {
    /// The org's groups with member counts. Needs `users:read`.
    pub async fn list_groups(&self, access: &OrgAccess) -> Result<Vec<Group>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        Ok(groups::list(&mut conn, access.org.id).await?)
    }

    /// A group and its members. Needs `users:read`.
    pub async fn get_group(&self, access: &OrgAccess, name: &str) -> Result<(Group, Vec<Member>)> {
        access.require(ManagementPermission::UsersRead)?;
        let name = GroupName::parse(name).map_err(|_| AppError::NotFound("group"))?;
        let mut conn = self.store().conn().await?;
        let group = groups::find(&mut conn, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("group"))?;
        let mut out = Vec::new();
        for id in groups::member_ids(&mut conn, group.id).await? {
            if let Some(m) = members::find(&mut conn, access.org.id, id).await? {
                out.push(m);
            }
        }
        Ok((group, out))
    }

    /// Runs a change to a group under the org lock, checking
    /// `groups:manage` against the actor's current role.
    async fn managed_group(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        name: &str,
    ) -> Result<Group> {
        let actor = lock_and_recheck(conn, access).await?;
        policy::require(&actor, ManagementPermission::GroupsManage)?;
        let name = GroupName::parse(name).map_err(|_| AppError::NotFound("group"))?;
        groups::find(conn, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("group"))
    }

    async fn audit_group(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        meta: &RequestMeta,
        action: &str,
        group: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        record(
            conn,
            meta,
            AuditEntry {
                org_id: Some(access.org.id),
                actor: Some(&access.principal),
                action,
                target: format!("group:{group}"),
                details,
            },
        )
        .await
    }

    /// Creates a group. Needs `groups:manage`.
    pub async fn create_group(
        &self,
        access: &OrgAccess,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<Group> {
        let name = GroupName::parse(name)?;
        let mut tx = self.store().begin().await?;
        let actor = lock_and_recheck(&mut tx, access).await?;
        policy::require(&actor, ManagementPermission::GroupsManage)?;
        groups::insert(&mut tx, access.org.id, name.as_str(), now_ms())
            .await
            .map_err(taken(&name))?;
        self.audit_group(
            &mut tx,
            access,
            meta,
            "group.create",
            name.as_str(),
            json!({}),
        )
        .await?;
        let group = groups::find(&mut tx, access.org.id, name.as_str())
            .await?
            .ok_or(AppError::NotFound("group"))?;
        self.commit(tx).await?;
        Ok(group)
    }

    /// Renames a group. Needs `groups:manage`.
    pub async fn rename_group(
        &self,
        access: &OrgAccess,
        name: &str,
        new_name: &str,
        meta: &RequestMeta,
    ) -> Result<Group> {
        let new_name = GroupName::parse(new_name)?;
        let mut tx = self.store().begin().await?;
        let group = self.managed_group(&mut tx, access, name).await?;
        if group.name != new_name.as_str() {
            if groups::find(&mut tx, access.org.id, new_name.as_str())
                .await?
                .is_some()
            {
                return Err(taken(&new_name)(StoreError::Conflict(String::new())));
            }
            groups::rename(&mut tx, group.id, new_name.as_str())
                .await
                .map_err(taken(&new_name))?;
            self.audit_group(
                &mut tx,
                access,
                meta,
                "group.rename",
                new_name.as_str(),
                json!({ "from": group.name }),
            )
            .await?;
        }
        let renamed = groups::find(&mut tx, access.org.id, new_name.as_str())
            .await?
            .ok_or(AppError::NotFound("group"))?;
        self.commit(tx).await?;
        Ok(renamed)
    }

    /// Deletes a group; its members stay in the org, and the access rules
    /// naming it go with it. A group that gates resources is refused:
    /// deleting it would silently open them (or, once only deleted groups
    /// remain, lock them), so the resources are changed first.
    /// Needs `groups:manage`.
    pub async fn delete_group(
        &self,
        access: &OrgAccess,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let group = self.managed_group(&mut tx, access, name).await?;
        let gated = roster_store::resources::gated_by(&mut tx, group.id).await?;
        if !gated.is_empty() {
            return Err(AppError::Conflict {
                code: "group_in_use",
                message: format!(
                    "group {} gates {}; remove it from those resources first",
                    group.name,
                    gated.join(", ")
                ),
            });
        }
        groups::delete(&mut tx, group.id).await?;
        self.audit_group(
            &mut tx,
            access,
            meta,
            "group.delete",
            &group.name,
            json!({ "members": group.members }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Adds a member of the org to a group. Needs `groups:manage`.
    pub async fn add_group_member(
        &self,
        access: &OrgAccess,
        name: &str,
        user_id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let group = self.managed_group(&mut tx, access, name).await?;
        let member = members::find(&mut tx, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if groups::add_member(&mut tx, access.org.id, group.id, user_id, now_ms()).await? {
            self.audit_group(
                &mut tx,
                access,
                meta,
                "group.member_add",
                &group.name,
                json!({ "user": user_id, "email": member.email }),
            )
            .await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// Removes a member from a group. Needs `groups:manage`.
    pub async fn remove_group_member(
        &self,
        access: &OrgAccess,
        name: &str,
        user_id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let group = self.managed_group(&mut tx, access, name).await?;
        if !groups::remove_member(&mut tx, group.id, user_id).await? {
            return Err(AppError::NotFound("group member"));
        }
        self.audit_group(
            &mut tx,
            access,
            meta,
            "group.member_remove",
            &group.name,
            json!({ "user": user_id }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }
}
