//! API tokens and service accounts: your tokens (and, for holders of
//! `users:manage`, everyone's), and the service accounts platforms call
//! Roster as. A new token's secret is shown in the response of the form
//! that made it, once.

use super::flash::redirect_with;
use super::frame::{describe, ok, show, Frame, PageResult};
use super::members::ConfirmPage;
use super::session::{InOrg, NoFields, PathId, Posted};
use super::text::{list as split_list, when_ms, Precision};
use crate::app::time::rfc3339;
use crate::app::tokens::{NewServiceAccount, NewTokenRequest};
use crate::http::error::ApiError;
use askama::Template;
use axum::http::StatusCode;
use roster_domain::{TokenId, UserId};
use roster_store::tokens::Token;
use serde::Deserialize;
use std::time::Duration;

struct TokenRow {
    id: i64,
    owner: String,
    name: String,
    permissions: String,
    expires: String,
    last_used: String,
    from: String,
}

impl TokenRow {
    fn of(t: &Token) -> TokenRow {
        TokenRow {
            id: t.id.get(),
            owner: t.email.clone(),
            name: t.name.clone(),
            permissions: t
                .permissions
                .as_deref()
                .map_or_else(|| "all you hold".to_owned(), |p| p.replace(' ', ", ")),
            expires: when_ms(t.expires_at, Precision::Day),
            last_used: t
                .last_used_at
                .map_or_else(|| "never".to_owned(), |at| when_ms(at, Precision::Minute)),
            from: t.last_used_from.clone(),
        }
    }
}

/// A token just made: shown once.
struct Made {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    f: Frame,
    made: Option<Made>,
    error: Option<String>,
    mine: Vec<TokenRow>,
    all: Vec<TokenRow>,
}

async fn tokens_page(
    o: &InOrg,
    status: StatusCode,
    made: Option<Made>,
    error: Option<String>,
) -> PageResult {
    let mine = o.app().list_tokens(&o.access, false).await?;
    let all = if o
        .access
        .role
        .has(roster_domain::ManagementPermission::UsersManage)
    {
        o.app().list_tokens(&o.access, true).await?
    } else {
        Vec::new()
    };
    let f = o.frame("tokens", "API tokens").await?;
    let page = TokensPage {
        f,
        made,
        error,
        mine: mine.iter().map(TokenRow::of).collect(),
        all: all.iter().map(TokenRow::of).collect(),
    };
    Ok(show(status, &page, &page.f))
}

pub async fn list(o: InOrg) -> PageResult {
    tokens_page(&o, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    #[serde(default)]
    permissions: String,
    expires_days: u32,
}

impl TokenForm {
    fn request(self, o: &InOrg) -> NewTokenRequest {
        let permissions = split_list(&self.permissions);
        let expires = o
            .app()
            .now()
            .plus(Duration::from_secs(u64::from(self.expires_days) * 86_400));
        NewTokenRequest {
            name: self.name,
            permissions: (!permissions.is_empty()).then_some(permissions),
            expires_at: Some(rfc3339(expires)),
        }
    }
}

fn outcome_of(
    made: Result<(Token, String), crate::app::AppError>,
) -> (StatusCode, Option<Made>, Option<String>) {
    match made {
        Ok((token, secret)) => (
            StatusCode::CREATED,
            Some(Made {
                name: token.name,
                secret,
            }),
            None,
        ),
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            (status, None, Some(text))
        }
    }
}

pub async fn create(o: InOrg, Posted { form, .. }: Posted<TokenForm>) -> PageResult {
    let req = form.request(&o);
    let made = o.app().create_token(&o.access, req, o.meta()).await;
    let (status, made, error) = outcome_of(made);
    tokens_page(&o, status, made, error).await
}

pub async fn revoke(
    PathId(id): PathId<TokenId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .revoke_token(&o.access, id, o.meta())
        .await
        .map(|()| format!("Revoked token {id}."));
    Ok(o.back("tokens", outcome))
}

struct AccountRow {
    id: i64,
    name: String,
    role: String,
    description: String,
    tokens: usize,
}

#[derive(Template)]
#[template(path = "console/service_accounts.html")]
struct ServiceAccountsPage {
    f: Frame,
    made: Option<Made>,
    error: Option<String>,
    accounts: Vec<AccountRow>,
    roles: Vec<String>,
    default_role: String,
}

async fn accounts_page(
    o: &InOrg,
    status: StatusCode,
    made: Option<Made>,
    error: Option<String>,
) -> PageResult {
    let all = o.app().list_service_accounts(&o.access).await?;
    let manage = o
        .access
        .role
        .has(roster_domain::ManagementPermission::UsersManage);
    let mut accounts = Vec::with_capacity(all.len());
    for sa in all {
        let tokens = if manage {
            o.app()
                .service_account_tokens(&o.access, sa.member.user_id)
                .await?
                .len()
        } else {
            0
        };
        accounts.push(AccountRow {
            id: sa.member.user_id.get(),
            name: sa.member.name,
            role: sa.member.role,
            description: sa.description,
            tokens,
        });
    }
    let roles = o.app().grantable_roles(&o.access).await?;
    let f = o.frame("service-accounts", "Service accounts").await?;
    let page = ServiceAccountsPage {
        f,
        made,
        error,
        accounts,
        roles,
        default_role: o.access.org.settings.default_role.clone(),
    };
    Ok(show(status, &page, &page.f))
}

pub async fn service_accounts(o: InOrg) -> PageResult {
    accounts_page(&o, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct AccountForm {
    name: String,
    role: String,
    #[serde(default)]
    description: String,
}

pub async fn create_service_account(
    o: InOrg,
    Posted { form, .. }: Posted<AccountForm>,
) -> PageResult {
    let new = NewServiceAccount {
        name: form.name,
        role: Some(form.role),
        description: Some(form.description),
    };
    match o
        .app()
        .create_service_account(&o.access, new, o.meta())
        .await
    {
        Ok(sa) => Ok(redirect_with(
            &o.state,
            &format!("/o/{}/service-accounts", o.access.org.slug),
            "notice",
            &format!("Made the service account {}.", sa.member.name),
        )),
        Err(e) => {
            let (status, text) = describe(&ApiError::from(e));
            accounts_page(&o, status, None, Some(text)).await
        }
    }
}

pub async fn create_service_account_token(
    PathId(id): PathId<UserId>,
    o: InOrg,
    Posted { form, .. }: Posted<TokenForm>,
) -> PageResult {
    let req = form.request(&o);
    let made = o
        .app()
        .create_service_account_token(&o.access, id, req, o.meta())
        .await;
    let (status, made, error) = outcome_of(made);
    accounts_page(&o, status, made, error).await
}

pub async fn delete_confirm(PathId(id): PathId<UserId>, o: InOrg) -> PageResult {
    let all = o.app().list_service_accounts(&o.access).await?;
    let sa = all
        .iter()
        .find(|sa| sa.member.user_id == id)
        .ok_or(crate::app::AppError::NotFound("service account"))?;
    let f = o
        .frame("service-accounts", "Delete service account")
        .await?;
    let slug = &o.access.org.slug;
    let page = ConfirmPage {
        heading: format!("Delete the service account {}?", sa.member.name),
        text: "Every token it has stops working at once; whatever uses them can no longer call Roster."
            .to_owned(),
        action: format!("/o/{slug}/service-accounts/{id}/delete"),
        button: "Delete service account".to_owned(),
        cancel: format!("/o/{slug}/service-accounts"),
        f,
    };
    Ok(ok(&page, &page.f))
}

pub async fn delete(
    PathId(id): PathId<UserId>,
    o: InOrg,
    Posted { .. }: Posted<NoFields>,
) -> PageResult {
    let outcome = o
        .app()
        .delete_service_account(&o.access, id, o.meta())
        .await
        .map(|()| "Deleted the service account and its tokens.".to_owned());
    Ok(o.back("service-accounts", outcome))
}
