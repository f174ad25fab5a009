//! Directory provisioning (SCIM): the org's SCIM base URL, its SCIM
//! tokens, a form to make one (the token shown once, in the response of
//! that form) and revocation. Needs `integrations:manage`, decided by the
//! use cases.

use super::frame::{describe, show, PageResult};
use super::session::{InOrg, NoFields, PathId, Posted};
use super::text::{when_ms, Precision};
use crate::app::scim::NewScimToken;
use crate::http::error::ApiError;
use askama::Template;
use axum::http::StatusCode;
use roster_domain::TokenId;
use serde::Deserialize;

struct TokenRow {
    id: i64,
    name: String,
    created: String,
    expires: String,
    last_used: String,
}

/// A token just made: shown once.
struct Made {
    name: String,
    token: String,
}

#[derive(Template)]
#[template(path = "console/scim.html")]
struct ScimPage {
    f: super::frame::Frame,
    base_url: String,
    made: Option<Made>,
    error: Option<String>,
    tokens: Vec<TokenRow>,
}

async fn scim_page(
    o: &InOrg,
    status: StatusCode,
    made: Option<Made>,
    error: Option<String>,
) -> PageResult {
    let tokens = o.app().list_scim_tokens(&o.access).await?;
    let f = o.frame("scim", "Directory provisioning").await?;
    let page = ScimPage {
        f,
        base_url: format!(
            "{}/scim/v2",
            o.app().settings().public_url.trim_end_matches('/')
        ),
        made,
        error,
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.get(),
                name: t.name,
                created: when_ms(t.created_at, Precision::Minute),
                expires: when_ms(t.expires_at, Precision::Day),
                last_used: t
                    .last_used_at
                    .map(|at| when_ms(at, Precision::Minute))
                    .unwrap_or_else(|| "never".to_owned()),
            })
            .collect(),
    };
    Ok(show(status, &page, &page.f))
}

pub async fn list(o: InOrg) -> PageResult {
    scim_page(&o, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct ScimTokenForm {
    name: String,
}

pub async fn create(o: InOrg, Posted { form, .. }: Posted<ScimTokenForm>) -> PageResult {
    let req = NewScimToken {
        name: form.name,
        expires_at: None,
    };
    match o.app().create_scim_token(&o.access, req, o.meta()).await {
        Ok((token, secret)) => {
            let made = Made {
                name: token.name,
                token: secret,
            };
            scim_page(&o, StatusCode::CREATED, Some(made), None).await
        }
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            scim_page(&o, status, None, Some(text)).await
        }
    }
}

pub async fn revoke(
    PathId(id): PathId<TokenId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .revoke_scim_token(&o.access, id, o.meta())
        .await
        .map(|()| format!("Revoked SCIM token {id}."));
    Ok(o.back("scim", outcome))
}
