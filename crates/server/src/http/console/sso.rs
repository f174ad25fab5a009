//! Single sign-on in the console: the "Continue with SSO" sign-in
//! (`/login/sso`), and the SSO settings page of an org (connections with
//! their domains, the group mappings, a test button that runs a sign-in at
//! the provider and shows the claims received without signing anybody
//! in). Needs `integrations:manage`, decided by the use cases.

use super::frame::{describe, show, Failure, PageResult};
use super::session::{InOrg, NoFields, PathId, Posted};
use super::text::{list as split_list, local_path, when_ms, Precision};
use crate::app::sso::{ConnectionInput, MappingInput, Purpose};
use crate::http::error::ApiError;
use crate::http::routes::sso::Via;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct SsoLoginQuery {
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: Option<String>,
}

/// `/login/sso?email=`: begins a sign-in at the provider that serves the
/// email's domain; the console's session follows at the callback.
pub async fn login(State(state): State<AppState>, Query(q): Query<SsoLoginQuery>) -> Response {
    let next = local_path(q.next.as_deref());
    let begun = async {
        let connection = state.app.sso_discover(Some(&q.email), None, None).await?;
        crate::http::routes::sso::begin(
            &state,
            &connection,
            Purpose::Console { next },
            None,
            Via::Page,
        )
        .await
    }
    .await;
    match begun {
        Ok(res) => res,
        Err(e) => {
            let (status, text) = describe(&e);
            Failure::page(status, &text).into_response()
        }
    }
}

struct ConnectionRow {
    id: i64,
    name: String,
    issuer: String,
    client_id: String,
    domains: String,
    groups_claim: String,
    jit: bool,
    enforce: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "console/sso.html")]
struct SsoPage {
    f: super::frame::Frame,
    error: Option<String>,
    connections: Vec<ConnectionRow>,
    mappings: String,
    redirect_uri: String,
}

async fn sso_page(o: &InOrg, status: StatusCode, error: Option<String>) -> PageResult {
    let list = o.app().sso_connections(&o.access).await?;
    let mappings = o.app().group_mappings(&o.access).await?;
    let f = o.frame("sso", "Single sign-on").await?;
    let page = SsoPage {
        f,
        error,
        connections: list
            .into_iter()
            .map(|c| ConnectionRow {
                id: c.id,
                name: c.name,
                issuer: c.issuer,
                client_id: c.client_id,
                domains: c.domains.join(", "),
                groups_claim: c.groups_claim,
                jit: c.jit,
                enforce: c.enforce,
                updated: when_ms(c.updated_at, Precision::Minute),
            })
            .collect(),
        mappings: mappings
            .iter()
            .map(|m| {
                format!(
                    "{}, {}, {}",
                    m.claim,
                    m.group_name.as_deref().unwrap_or(""),
                    m.role.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        redirect_uri: o.app().sso_redirect_uri(),
    };
    Ok(show(status, &page, &page.f))
}

pub async fn page(o: InOrg) -> PageResult {
    sso_page(&o, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct ConnectionForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    domains: String,
    #[serde(default)]
    groups_claim: String,
    #[serde(default)]
    jit: Option<String>,
    #[serde(default)]
    enforce: Option<String>,
}

impl ConnectionForm {
    /// The form as a use-case input; blank fields keep stored values (on
    /// an update) or take defaults.
    fn input(self) -> ConnectionInput {
        let some = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        ConnectionInput {
            name: some(self.name),
            issuer: some(self.issuer),
            client_id: some(self.client_id),
            client_secret: some(self.client_secret),
            domains: Some(split_list(&self.domains)).filter(|d| !d.is_empty()),
            groups_claim: some(self.groups_claim),
            jit: Some(self.jit.is_some()),
            enforce: Some(self.enforce.is_some()),
        }
    }
}

pub async fn create(o: InOrg, Posted { form, .. }: Posted<ConnectionForm>) -> PageResult {
    match o
        .app()
        .create_sso_connection(&o.access, form.input(), o.meta())
        .await
    {
        Ok(c) => Ok(o.back(
            "settings/sso",
            Ok::<_, ApiError>(format!("Added SSO connection {}.", c.name)),
        )),
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            sso_page(&o, status, Some(text)).await
        }
    }
}

pub async fn update(
    PathId(id): PathId<i64>,
    o: InOrg,
    Posted { form, .. }: Posted<ConnectionForm>,
) -> PageResult {
    let outcome = o
        .app()
        .update_sso_connection(&o.access, id, form.input(), o.meta())
        .await
        .map(|c| format!("Saved SSO connection {}.", c.name));
    Ok(o.back("settings/sso", outcome))
}

pub async fn delete(
    PathId(id): PathId<i64>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .delete_sso_connection(&o.access, id, o.meta())
        .await
        .map(|()| format!("Deleted SSO connection {id}."));
    Ok(o.back("settings/sso", outcome))
}

#[derive(Deserialize)]
pub struct MappingsForm {
    #[serde(default)]
    mappings: String,
}

/// One mapping a line: `claim, group, role` (group or role may be blank).
fn parse_lines(text: &str) -> Vec<MappingInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, ',').map(str::trim);
            let claim = parts.next().unwrap_or("").to_owned();
            let opt = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
            let group = opt(parts.next());
            let role = opt(parts.next());
            MappingInput { claim, group, role }
        })
        .collect()
}

pub async fn mappings(o: InOrg, Posted { form, .. }: Posted<MappingsForm>) -> PageResult {
    let outcome = o
        .app()
        .set_group_mappings(&o.access, parse_lines(&form.mappings), o.meta())
        .await
        .map(|m| format!("Saved {} group mappings.", m.len()));
    Ok(o.back("settings/sso", outcome))
}

/// The test button: a sign-in at the provider whose callback shows the
/// claims received and what the mappings would give, and signs nobody in.
pub async fn test(
    PathId(id): PathId<i64>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let begun = async {
        let c = o.app().sso_test_connection(&o.access, id).await?;
        crate::http::routes::sso::begin(
            &o.state,
            &c,
            Purpose::Test,
            Some(o.access.user_id()),
            Via::Page,
        )
        .await
    }
    .await;
    Ok(match begun {
        Ok(res) => res,
        Err(e) => o.back("settings/sso", Err::<String, ApiError>(e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_lines_are_claim_group_role() {
        let got = parse_lines("eng, engineering,\n\nadmins, , admin\nops,ops,viewer");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].group.as_deref(), Some("engineering"));
        assert_eq!(got[0].role, None);
        assert_eq!(got[1].group, None);
        assert_eq!(got[1].role.as_deref(), Some("admin"));
        assert_eq!(got[2].claim, "ops");
    }
}
