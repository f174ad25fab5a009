//! Groups (SPEC §1): named sets of an org's members, created by admins (and
//! by naming them on a member). They gate resources and are subjects of
//! access rules.

use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::orgs::OrgAccess;
use super::{App, AppError, RequestMeta};
use roster_domain::{Conflict, GroupName, ManagementPermission, OrgId, UserId};
use roster_store::groups::{self, Group};
use roster_store::members::{self, Member};
use roster_store::Conn;
use serde_json::json;

fn taken(name: &GroupName) -> String {
    format!("a group named {name} already exists")
}

/// The org's group `name`, or "group not found".
async fn find_group(conn: &mut Conn, org: OrgId, name: &GroupName) -> Result<Group> {
    groups::find(conn, org, name.as_str())
        .await?
        .ok_or(AppError::NotFound("group"))
}

fn target(group: &str) -> String {
    format!("group:{group}")
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
        let group = find_group(&mut conn, access.org.id, &name).await?;
        let mut out = Vec::new();
        for id in groups::member_ids(&mut conn, group.id).await? {
            if let Some(m) = members::find(&mut conn, access.org.id, id).await? {
                out.push(m);
            }
        }
        Ok((group, out))
    }

    /// Begins a change to the group `name`, which needs `groups:manage`.
    async fn change_group<'a>(
        &'a self,
        access: &OrgAccess,
        name: &str,
        meta: &'a RequestMeta,
    ) -> Result<(Change<'a>, Group)> {
        let mut c = self
            .change(access, Some(ManagementPermission::GroupsManage), meta)
            .await?;
        let name = GroupName::parse(name).map_err(|_| AppError::NotFound("group"))?;
        let group = find_group(&mut c, access.org.id, &name).await?;
        Ok((c, group))
    }

    /// Creates a group. Needs `groups:manage`.
    pub async fn create_group(
        &self,
        access: &OrgAccess,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<Group> {
        let name = GroupName::parse(name)?;
        let mut c = self
            .change(access, Some(ManagementPermission::GroupsManage), meta)
            .await?;
        let now = c.now();
        groups::insert(&mut c, access.org.id, name.as_str(), now)
            .await
            .on_conflict(Conflict::GroupExists, || taken(&name))?;
        c.audit("group.create", target(name.as_str()), json!({}))
            .await?;
        let group = find_group(&mut c, access.org.id, &name).await?;
        c.touch_group(group.id);
        c.commit().await?;
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
        let (mut c, group) = self.change_group(access, name, meta).await?;
        if group.name == new_name.as_str() {
            c.nothing_changed();
            return Ok(group);
        }
        if groups::find(&mut c, access.org.id, new_name.as_str())
            .await?
            .is_some()
        {
            return Err(AppError::conflict(Conflict::GroupExists, taken(&new_name)));
        }
        groups::rename(&mut c, group.id, new_name.as_str())
            .await
            .on_conflict(Conflict::GroupExists, || taken(&new_name))?;
        c.audit(
            "group.rename",
            target(new_name.as_str()),
            json!({ "from": group.name }),
        )
        .await?;
        let renamed = find_group(&mut c, access.org.id, &new_name).await?;
        c.touch_group(group.id);
        c.commit().await?;
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
        let (mut c, group) = self.change_group(access, name, meta).await?;
        let gated = roster_store::resources::gated_by(&mut c, group.id).await?;
        if !gated.is_empty() {
            return Err(AppError::conflict(
                Conflict::GroupInUse,
                format!(
                    "group {} gates {}; remove it from those resources first",
                    group.name,
                    gated.join(", ")
                ),
            ));
        }
        let members = groups::member_ids(&mut c, group.id).await?;
        groups::delete(&mut c, group.id).await?;
        c.touch_removed_group(group.id, members);
        c.only_moves_access();
        c.audit(
            "group.delete",
            target(&group.name),
            json!({ "members": group.members }),
        )
        .await?;
        c.commit().await
    }

    /// Adds a member of the org to a group. Needs `groups:manage`.
    pub async fn add_group_member(
        &self,
        access: &OrgAccess,
        name: &str,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (mut c, group) = self.change_group(access, name, meta).await?;
        let member = members::find(&mut c, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let now = c.now();
        if !groups::add_member(&mut c, access.org.id, group.id, user_id, now).await? {
            c.nothing_changed();
            return Ok(());
        }
        c.touch_member(user_id);
        c.only_moves_access();
        c.audit(
            "group.member_add",
            target(&group.name),
            json!({ "user": user_id.get(), "email": member.email }),
        )
        .await?;
        c.commit().await
    }

    /// Removes a member from a group. Needs `groups:manage`.
    pub async fn remove_group_member(
        &self,
        access: &OrgAccess,
        name: &str,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (mut c, group) = self.change_group(access, name, meta).await?;
        if !groups::remove_member(&mut c, group.id, user_id).await? {
            return Err(AppError::NotFound("group member"));
        }
        c.touch_member(user_id);
        c.only_moves_access();
        c.audit(
            "group.member_remove",
            target(&group.name),
            json!({ "user": user_id.get() }),
        )
        .await?;
        c.commit().await
    }
}
