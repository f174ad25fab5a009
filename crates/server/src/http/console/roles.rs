//! Roles: the permission matrix of built-in and custom roles, and the
//! custom role editor.

use super::flash::{back, redirect_with, Flash};
use super::frame::{describe, show, status_of, Frame, PageResult};
use super::session::{InOrg, Path, Posted, Session};
use crate::app::access::RoleInfo;
use crate::app::OrgAccess;
use crate::http::error::ApiError;
use crate::http::AppState;
use askama::Template;
use axum::http::StatusCode;
use roster_domain::ManagementPermission;
use serde::Deserialize;

/// The role form's values.
#[derive(Default)]
struct RoleValues {
    name: String,
    description: String,
    /// Management permissions, checked.
    permissions: Vec<String>,
    /// Platform permissions, space-separated.
    platform: String,
}

fn management() -> Vec<String> {
    ManagementPermission::ALL
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect()
}

impl RoleValues {
    fn of(r: &RoleInfo) -> RoleValues {
        let m = management();
        let (mgmt, platform): (Vec<String>, Vec<String>) =
            r.permissions.iter().cloned().partition(|p| m.contains(p));
        RoleValues {
            name: r.name.clone(),
            description: r.description.clone(),
            permissions: mgmt,
            platform: platform.join(" "),
        }
    }
}

#[derive(Template)]
#[template(path = "console/roles.html")]
struct RolesPage {
    f: Frame,
    roles: Vec<RoleInfo>,
    permissions: Vec<String>,
    management: Vec<String>,
    action: String,
    editing: Option<()>,
    v: RoleValues,
    error: Option<String>,
}

async fn roles_page(
    state: &AppState,
    s: &Session,
    access: &OrgAccess,
    flash: Option<Flash>,
    v: RoleValues,
    error: Option<(StatusCode, String)>,
) -> PageResult {
    let roles = state.app.list_roles(access).await?;
    // Every management permission, then each platform permission a role holds.
    let mut permissions = management();
    for r in &roles {
        for p in &r.permissions {
            if !permissions.contains(p) {
                permissions.push(p.clone());
            }
        }
    }
    let f = Frame::org(state, s, access, flash, "roles", "Roles").await?;
    let (status, error) = status_of(error);
    let page = RolesPage {
        action: format!("/o/{}/roles", access.org.slug),
        f,
        roles,
        permissions,
        management: management(),
        editing: None,
        v,
        error,
    };
    Ok(show(status, &page, &page.f))
}

pub async fn list(o: InOrg) -> PageResult {
    roles_page(
        &o.state,
        &o.session,
        &o.access,
        o.flash.clone(),
        RoleValues::default(),
        None,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    platform: String,
}

impl RoleForm {
    fn all_permissions(&self) -> Vec<String> {
        let mut out = self.permissions.clone();
        out.extend(crate::http::extract::split_words(&self.platform));
        out
    }

    fn values(&self) -> RoleValues {
        RoleValues {
            name: self.name.clone(),
            description: self.description.clone(),
            permissions: self.permissions.clone(),
            platform: self.platform.clone(),
        }
    }
}

pub async fn create(o: InOrg, Posted { form, .. }: Posted<RoleForm>) -> PageResult {
    let perms = form.all_permissions();
    match o
        .app()
        .create_role(
            &o.access,
            form.name.trim(),
            form.description.trim(),
            &perms,
            o.meta(),
        )
        .await
    {
        Ok(role) => Ok(redirect_with(
            &o.state,
            &format!("/o/{}/roles", o.access.org.slug),
            "notice",
            &format!("Created the role {}.", role.name),
        )),
        Err(e) => {
            let e = describe(&ApiError::from(e));
            roles_page(
                &o.state,
                &o.session,
                &o.access,
                o.flash.clone(),
                form.values(),
                Some(e),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "console/role_edit.html")]
struct EditPage {
    f: Frame,
    management: Vec<String>,
    action: String,
    editing: Option<()>,
    v: RoleValues,
    others: Vec<String>,
    error: Option<String>,
}

async fn edit_page(
    state: &AppState,
    s: &Session,
    access: &OrgAccess,
    flash: Option<Flash>,
    name: &str,
    v: Option<RoleValues>,
    error: Option<(StatusCode, String)>,
) -> PageResult {
    let role = state.app.get_role(access, name).await?;
    if role.builtin {
        return Ok(redirect_with(
            state,
            &format!("/o/{}/roles", access.org.slug),
            "error",
            "Built-in roles cannot be changed.",
        ));
    }
    let others = state
        .app
        .list_roles(access)
        .await?
        .into_iter()
        .filter(|r| r.name != role.name)
        .map(|r| r.name)
        .collect();
    let f = Frame::org(state, s, access, flash, "roles", &role.name).await?;
    let (status, error) = status_of(error);
    let mut v = v.unwrap_or_else(|| RoleValues::of(&role));
    v.name = role.name.clone();
    let page = EditPage {
        action: format!("/o/{}/roles/{}", access.org.slug, role.name),
        f,
        management: management(),
        editing: Some(()),
        v,
        others,
        error,
    };
    Ok(show(status, &page, &page.f))
}

pub async fn edit(o: InOrg, Path((_org, name)): Path<(String, String)>) -> PageResult {
    edit_page(
        &o.state,
        &o.session,
        &o.access,
        o.flash.clone(),
        &name,
        None,
        None,
    )
    .await
}

pub async fn update(
    Path((_org, name)): Path<(String, String)>,
    o: InOrg,
    Posted { form, .. }: Posted<RoleForm>,
) -> PageResult {
    let perms = form.all_permissions();
    match o
        .app()
        .update_role(
            &o.access,
            &name,
            Some(form.description.trim()),
            Some(&perms),
            o.meta(),
        )
        .await
    {
        Ok(role) => Ok(redirect_with(
            &o.state,
            &format!("/o/{}/roles", o.access.org.slug),
            "notice",
            &format!("Saved the role {}.", role.name),
        )),
        Err(e) => {
            let e = describe(&ApiError::from(e));
            edit_page(
                &o.state,
                &o.session,
                &o.access,
                o.flash.clone(),
                &name,
                Some(form.values()),
                Some(e),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    replacement: Option<String>,
}

pub async fn delete(
    Path((_org, name)): Path<(String, String)>,
    o: InOrg,
    Posted { form, .. }: Posted<DeleteForm>,
) -> PageResult {
    let replacement = super::text::given(form.replacement.as_deref());
    match o
        .app()
        .delete_role(&o.access, &name, replacement.as_deref(), o.meta())
        .await
    {
        Ok(_) => Ok(redirect_with(
            &o.state,
            &format!("/o/{}/roles", o.access.org.slug),
            "notice",
            &format!("Deleted the role {name}."),
        )),
        Err(e) => Ok(back(
            &o.state,
            &format!("/o/{}/roles/{name}", o.access.org.slug),
            Err::<String, _>(e),
        )),
    }
}
