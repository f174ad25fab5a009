//! Settings of an org: name and MFA policy (`org:manage`), joining rules
//! (`users:manage`), and the Slack connection (`integrations:manage`).

use super::flash::{redirect_with, Flash};
use super::frame::{describe, show, status_of, Frame, PageResult};
use super::members::role_names;
use super::session::{InOrg, NoFields, Posted, Session};
use super::text::{list, when_ms, Precision};
use crate::app::orgs::OrgUpdate;
use crate::app::{AppError, OrgAccess};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::integrations::slack::{self, ConnectRequest};
use askama::Template;
use axum::http::StatusCode;
use serde::Deserialize;

const HOUR: i64 = 3600;

struct Values {
    name: String,
    mfa_policy: String,
    allowed_domains: String,
    self_registration: bool,
    invitation_hours: i64,
    default_role: String,
}

struct SlackLine {
    team_id: String,
    channel: String,
    since: String,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    f: Frame,
    v: Values,
    roles: Vec<String>,
    mfa_policies: [&'static str; 2],
    slack: Option<SlackLine>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    s: &Session,
    access: &OrgAccess,
    flash: Option<Flash>,
    error: Option<(StatusCode, String)>,
) -> PageResult {
    let f = Frame::org(state, s, access, flash, "settings", "Settings").await?;
    if !f.can.settings() {
        return Err(AppError::Forbidden(
            "settings need org:manage, users:manage or integrations:manage".into(),
        )
        .into());
    }
    let slack = match state.app.slack_connection(access).await {
        Ok(c) => Some(SlackLine {
            team_id: c.team_id,
            channel: c.channel,
            since: when_ms(c.created_at, Precision::Day),
        }),
        Err(_) => None,
    };
    let o = &access.org;
    let v = Values {
        name: o.name.clone(),
        mfa_policy: o.settings.mfa_policy.clone(),
        allowed_domains: o.settings.allowed_domains.join(", "),
        self_registration: o.settings.self_registration,
        invitation_hours: (o.settings.invitation_ttl_seconds / HOUR).max(1),
        default_role: o.settings.default_role.clone(),
    };
    // The default role for newcomers is never the owner role.
    let roles = role_names(state, access)
        .await?
        .into_iter()
        .filter(|r| r != roster_domain::BuiltinRole::Owner.name())
        .collect();
    let (status, error) = status_of(error);
    let page = SettingsPage {
        f,
        v,
        roles,
        mfa_policies: ["optional", "required"],
        slack,
        error,
    };
    Ok(show(status, &page, &page.f))
}

pub async fn show_page(o: InOrg) -> PageResult {
    page(&o.state, &o.session, &o.access, o.flash.clone(), None).await
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    name: Option<String>,
    mfa_policy: Option<String>,
    allowed_domains: Option<String>,
    self_registration: Option<String>,
    invitation_hours: Option<String>,
    default_role: Option<String>,
}

/// Only what changed: a disabled fieldset sends nothing, and an unchanged
/// field needs no permission.
fn changes(access: &OrgAccess, form: &SettingsForm) -> Result<OrgUpdate, ApiError> {
    let o = &access.org;
    let mut u = OrgUpdate::default();
    if let Some(n) = form.name.as_deref().map(str::trim) {
        if n != o.name {
            u.name = Some(n.to_owned());
        }
    }
    if let Some(p) = form.mfa_policy.as_deref() {
        if p != o.settings.mfa_policy {
            u.mfa_policy = Some(p.to_owned());
        }
    }
    // The joining fieldset is sent whole or not at all.
    if let Some(d) = &form.allowed_domains {
        let domains = list(d);
        if domains != o.settings.allowed_domains {
            u.allowed_domains = Some(domains);
        }
        let self_reg = form.self_registration.is_some();
        if self_reg != o.settings.self_registration {
            u.self_registration = Some(self_reg);
        }
        if let Some(hours) = form.invitation_hours.as_deref().map(str::trim) {
            let hours: i64 = hours.parse().map_err(|_| {
                ApiError::from(crate::app::orgs::invalid(
                    "invitation_ttl_seconds",
                    "the invitation lifetime is a whole number of hours",
                ))
            })?;
            // Compared with the value the form showed, so that a lifetime
            // that is not a whole number of hours survives a save.
            if hours != (o.settings.invitation_ttl_seconds / HOUR).max(1) {
                u.invitation_ttl_seconds = Some(hours.saturating_mul(HOUR));
            }
        }
        if let Some(r) = form.default_role.as_deref() {
            if r != o.settings.default_role {
                u.default_role = Some(r.to_owned());
            }
        }
    }
    Ok(u)
}

pub async fn update(o: InOrg, Posted { form, .. }: Posted<SettingsForm>) -> PageResult {
    let outcome = match changes(&o.access, &form) {
        Ok(u) if u.is_empty() => Ok("Nothing changed."),
        Ok(u) => o
            .app()
            .update_org(&o.access, u, o.meta())
            .await
            .map(|_| "Settings saved.")
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(notice) => Ok(redirect_with(
            &o.state,
            &format!("/o/{}/settings", o.access.org.slug),
            "notice",
            notice,
        )),
        Err(e) => {
            page(
                &o.state,
                &o.session,
                &o.access,
                o.flash.clone(),
                Some(describe(&e)),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct SlackForm {
    channel: String,
    signing_secret: String,
    bot_token: String,
    api_base_url: Option<String>,
}

pub async fn connect_slack(o: InOrg, Posted { form, .. }: Posted<SlackForm>) -> PageResult {
    let req = ConnectRequest {
        signing_secret: form.signing_secret,
        bot_token: form.bot_token,
        channel: form.channel,
        api_base_url: super::text::given(form.api_base_url.as_deref()),
    };
    let outcome = slack::connect(&o.state.app, &o.state.slack, &o.access, req, o.meta())
        .await
        .map(|c| format!("Slack is connected to workspace {}.", c.team_id));
    Ok(o.back("settings", outcome))
}

pub async fn disconnect_slack(o: InOrg, Posted { .. }: Posted<NoFields>) -> PageResult {
    let outcome = o
        .app()
        .disconnect_slack(&o.access, o.meta())
        .await
        .map(|()| "Slack is disconnected.".to_owned());
    Ok(o.back("settings", outcome))
}
