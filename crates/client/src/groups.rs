//! Groups of an org and their members.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{GroupDetail, GroupMemberRequest, GroupRequest, GroupView};

impl Client {
    /// `GET /api/v1/orgs/{org}/groups`: the org's groups with their member
    /// counts.
    pub async fn list_groups(&self, org: &str) -> Result<Vec<GroupView>> {
        self.get(&["orgs", org, "groups"]).await
    }

    /// `POST /api/v1/orgs/{org}/groups`: creates a group. `409 group_exists`
    /// when the org already has one of that name.
    pub async fn create_group(&self, org: &str, body: &GroupRequest) -> Result<GroupView> {
        self.post(&["orgs", org, "groups"], body).await
    }

    /// `GET /api/v1/orgs/{org}/groups/{name}`: a group and its members.
    pub async fn group(&self, org: &str, name: &str) -> Result<GroupDetail> {
        self.get(&["orgs", org, "groups", name]).await
    }

    /// `PATCH /api/v1/orgs/{org}/groups/{name}`: renames the group to
    /// `body.name`; its members follow.
    pub async fn rename_group(
        &self,
        org: &str,
        name: &str,
        body: &GroupRequest,
    ) -> Result<GroupView> {
        self.patch(&["orgs", org, "groups", name], body).await
    }

    /// `DELETE /api/v1/orgs/{org}/groups/{name}`: deletes the group; its
    /// members stay in the org.
    pub async fn delete_group(&self, org: &str, name: &str) -> Result<()> {
        self.delete(&["orgs", org, "groups", name]).await
    }

    /// `POST /api/v1/orgs/{org}/groups/{name}/members`: adds a member of the
    /// org to the group (adding someone already in it changes nothing).
    pub async fn add_group_member(
        &self,
        org: &str,
        name: &str,
        body: &GroupMemberRequest,
    ) -> Result<()> {
        self.call(Method::POST, &["orgs", org, "groups", name, "members"])
            .json(body)
            .send_empty()
            .await
    }

    /// `DELETE /api/v1/orgs/{org}/groups/{name}/members/{id}`: removes the
    /// user from the group (they stay in the org). `404 not_found` when they
    /// are not in it.
    pub async fn remove_group_member(&self, org: &str, name: &str, user_id: i64) -> Result<()> {
        let id = user_id.to_string();
        self.delete(&["orgs", org, "groups", name, "members", &id])
            .await
    }
}
