//! Groups: list, create, rename, delete, and members in and out.

use super::frame::{
    back, ok, redirect_with, when_ms, Frame, InOrg, NoFields, PageResult, Path, Posted, Precision,
};
use super::members::ConfirmPage;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
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

pub async fn list(
    State(state): State<AppState>,
    InOrg { session: s, access }: InOrg,
    headers: HeaderMap,
) -> PageResult {
    let groups = state.app.list_groups(&access).await?;
    let f = Frame::org(&state, &s, &access, &headers, "groups", "Groups").await?;
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

pub async fn create(
    State(state): State<AppState>,
    InOrg { access, .. }: InOrg,
    Posted {
        session: s, form, ..
    }: Posted<NameForm>,
) -> PageResult {
    let outcome = state
        .app
        .create_group(&access, form.name.trim(), &s.meta)
        .await
        .map(|g| format!("Created the group {}.", g.name));
    Ok(back(
        &state,
        &format!("/o/{}/groups", access.org.slug),
        outcome,
    ))
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

pub async fn show(
    State(state): State<AppState>,
    InOrg { session: s, access }: InOrg,
    headers: HeaderMap,
    Path((_org, name)): Path<(String, String)>,
) -> PageResult {
    let (group, members) = state.app.get_group(&access, &name).await?;
    let f = Frame::org(&state, &s, &access, &headers, "groups", &group.name).await?;
    let candidates = if f.can.manage_groups {
        let active = MemberFilter {
            status: Some("active".to_owned()),
            ..Default::default()
        };
        state
            .app
            .list_members(&access, &active, None, 500)
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
    State(state): State<AppState>,
    Path((_org, name)): Path<(String, String)>,
    InOrg { access, .. }: InOrg,
    Posted {
        session: s, form, ..
    }: Posted<MemberForm>,
) -> PageResult {
    let outcome = state
        .app
        .add_group_member(
            &access,
            &name,
            roster_domain::UserId::new(form.user),
            &s.meta,
        )
        .await
        .map(|()| format!("Added to {name}."));
    Ok(back(
        &state,
        &format!("/o/{}/groups/{name}", access.org.slug),
        outcome,
    ))
}

pub async fn remove_member(
    State(state): State<AppState>,
    Path((_org, name, id)): Path<(String, String, i64)>,
    InOrg { access, .. }: InOrg,
    Posted { session: s, .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = state
        .app
        .remove_group_member(&access, &name, roster_domain::UserId::new(id), &s.meta)
        .await
        .map(|()| format!("Removed from {name}."));
    Ok(back(
        &state,
        &format!("/o/{}/groups/{name}", access.org.slug),
        outcome,
    ))
}

#[derive(Deserialize)]
pub struct RenameForm {
    new_name: String,
}

pub async fn rename(
    State(state): State<AppState>,
    Path((_org, name)): Path<(String, String)>,
    InOrg { access, .. }: InOrg,
    Posted {
        session: s, form, ..
    }: Posted<RenameForm>,
) -> PageResult {
    Ok(
        match state
            .app
            .rename_group(&access, &name, form.new_name.trim(), &s.meta)
            .await
        {
            Ok(g) => redirect_with(
                &state,
                &format!("/o/{}/groups/{}", access.org.slug, g.name),
                "notice",
                &format!("Renamed {name} to {}.", g.name),
            ),
            Err(e) => back(
                &state,
                &format!("/o/{}/groups/{name}", access.org.slug),
                Err::<String, _>(e),
            ),
        },
    )
}

pub async fn delete_confirm(
    State(state): State<AppState>,
    InOrg { session: s, access }: InOrg,
    headers: HeaderMap,
    Path((_org, name)): Path<(String, String)>,
) -> PageResult {
    let (group, members) = state.app.get_group(&access, &name).await?;
    let f = Frame::org(&state, &s, &access, &headers, "groups", "Delete group").await?;
    let page = ConfirmPage {
        heading: format!("Delete the group {}?", group.name),
        text: format!(
            "Its {} member{} stay in {} but leave the group, and access rules for the group go with it. A group that gates resources cannot be deleted.",
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            access.org.name
        ),
        action: format!("/o/{}/groups/{}/delete", access.org.slug, group.name),
        button: "Delete group".to_owned(),
        cancel: format!("/o/{}/groups/{}", access.org.slug, group.name),
        f,
    };
    Ok(ok(&page, &page.f))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((_org, name)): Path<(String, String)>,
    InOrg { access, .. }: InOrg,
    Posted { session: s, .. }: Posted<NoFields>,
) -> PageResult {
    Ok(
        match state.app.delete_group(&access, &name, &s.meta).await {
            Ok(()) => redirect_with(
                &state,
                &format!("/o/{}/groups", access.org.slug),
                "notice",
                &format!("Deleted the group {name}."),
            ),
            Err(e) => back(
                &state,
                &format!("/o/{}/groups/{name}", access.org.slug),
                Err::<String, _>(e),
            ),
        },
    )
}
