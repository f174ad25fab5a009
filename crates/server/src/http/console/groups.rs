//! Groups: list, create, rename, delete, and members in and out.

use super::flash::{back, redirect_with};
use super::frame::{ok, Frame, PageResult};
use super::members::ConfirmPage;
use super::session::{InOrg, NoFields, Path, Posted};
use super::text::{when_ms, Precision};
use askama::Template;
use roster_store::members::{Member, MemberFilter};
use serde::Deserialize;

struct GroupRow {
    name: String,
    members: i64,
    created: String,
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct GroupsPage {
    f: Frame,
    groups: Vec<GroupRow>,
}

pub async fn list(o: InOrg) -> PageResult {
    let groups = o.app().list_groups(&o.access).await?;
    let f = o.frame("groups", "Groups").await?;
    let page = GroupsPage {
        f,
        groups: groups
            .into_iter()
            .map(|g| GroupRow {
                name: g.name,
                members: g.members,
                created: when_ms(g.created_at, Precision::Day),
            })
            .collect(),
    };
    Ok(ok(&page, &page.f))
}

#[derive(Deserialize)]
pub struct NameForm {
    name: String,
}

pub async fn create(o: InOrg, Posted { form, .. }: Posted<NameForm>) -> PageResult {
    let outcome = o
        .app()
        .create_group(&o.access, form.name.trim(), o.meta())
        .await
        .map(|g| format!("Created the group {}.", g.name));
    Ok(o.back("groups", outcome))
}

struct Candidate {
    id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "console/group.html")]
struct GroupPage {
    f: Frame,
    name: String,
    members: Vec<Member>,
    candidates: Vec<Candidate>,
}

pub async fn show(o: InOrg, Path((_org, name)): Path<(String, String)>) -> PageResult {
    let (group, members) = o.app().get_group(&o.access, &name).await?;
    let f = o.frame("groups", &group.name).await?;
    let candidates = if f.can.manage_groups {
        let active = MemberFilter {
            status: Some("active".to_owned()),
            ..Default::default()
        };
        o.app()
            .list_members(&o.access, &active, None, 500)
            .await?
            .into_iter()
            .filter(|m| !members.iter().any(|x| x.user_id == m.user_id))
            .map(|m| Candidate {
                id: m.user_id.get(),
                label: super::members::display(&m),
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = GroupPage {
        f,
        name: group.name,
        members,
        candidates,
    };
    Ok(ok(&page, &page.f))
}

#[derive(Deserialize)]
pub struct MemberForm {
    user: i64,
}

pub async fn add_member(
    Path((_org, name)): Path<(String, String)>,
    o: InOrg,
    Posted { form, .. }: Posted<MemberForm>,
) -> PageResult {
    let outcome = o
        .app()
        .add_group_member(
            &o.access,
            &name,
            roster_domain::UserId::new(form.user),
            o.meta(),
        )
        .await
        .map(|()| format!("Added to {name}."));
    Ok(o.back(&format!("groups/{name}"), outcome))
}

pub async fn remove_member(
    Path((_org, name, id)): Path<(String, String, i64)>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .remove_group_member(&o.access, &name, roster_domain::UserId::new(id), o.meta())
        .await
        .map(|()| format!("Removed from {name}."));
    Ok(o.back(&format!("groups/{name}"), outcome))
}

#[derive(Deserialize)]
pub struct RenameForm {
    new_name: String,
}

pub async fn rename(
    Path((_org, name)): Path<(String, String)>,
    o: InOrg,
    Posted { form, .. }: Posted<RenameForm>,
) -> PageResult {
    Ok(
        match o
            .app()
            .rename_group(&o.access, &name, form.new_name.trim(), o.meta())
            .await
        {
            Ok(g) => redirect_with(
                &o.state,
                &format!("/o/{}/groups/{}", o.access.org.slug, g.name),
                "notice",
                &format!("Renamed {name} to {}.", g.name),
            ),
            Err(e) => back(
                &o.state,
                &format!("/o/{}/groups/{name}", o.access.org.slug),
                Err::<String, _>(e),
            ),
        },
    )
}

pub async fn delete_confirm(o: InOrg, Path((_org, name)): Path<(String, String)>) -> PageResult {
    let (group, members) = o.app().get_group(&o.access, &name).await?;
    let f = o.frame("groups", "Delete group").await?;
    let page = ConfirmPage {
        heading: format!("Delete the group {}?", group.name),
        text: format!(
            "Its {} member{} stay in {} but leave the group, and access rules for the group go with it. A group that gates resources cannot be deleted.",
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            o.access.org.name
        ),
        action: format!("/o/{}/groups/{}/delete", o.access.org.slug, group.name),
        button: "Delete group".to_owned(),
        cancel: format!("/o/{}/groups/{}", o.access.org.slug, group.name),
        f,
    };
    Ok(ok(&page, &page.f))
}

pub async fn delete(
    Path((_org, name)): Path<(String, String)>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    Ok(
        match o.app().delete_group(&o.access, &name, o.meta()).await {
            Ok(()) => redirect_with(
                &o.state,
                &format!("/o/{}/groups", o.access.org.slug),
                "notice",
                &format!("Deleted the group {name}."),
            ),
            Err(e) => back(
                &o.state,
                &format!("/o/{}/groups/{name}", o.access.org.slug),
                Err::<String, _>(e),
            ),
        },
    )
}
