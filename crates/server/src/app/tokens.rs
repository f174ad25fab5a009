//! API tokens and service accounts (SPEC §3a "API tokens", §2): how
//! platforms and scripts call Roster.
//!
//! A token acts in one org for one account, with at most its permission
//! list; what it may do is decided on every request as that list
//! intersected with what the account holds in the org now
//! (`orgs::limited`), so demoting, disabling or removing the owner narrows
//! or stops the token at once. Tokens are made and listed from a person's
//! session: a token never creates another token.

use super::caller::Actor;
use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::notice::{Notice, TokenRevokedNotice};
use super::orgs::{invalid, OrgAccess};
use super::time::parse_rfc3339;
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::policy;
use roster_domain::{
    Conflict, DisplayName, ManagementPermission, MemberStatus, Role, RoleName, RolePermissions,
    Timestamp, TokenId, UserId,
};
use roster_store::members::{self, Member};
use roster_store::tokens::{self, NewToken, Token, TokenKind};
use roster_store::users;
use serde_json::json;
use std::time::Duration;

/// How long a token lives when its expiry is not given.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// The longest a token may live.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
/// Service accounts are known by `name@<org>.service.invalid`: a reserved
/// top-level domain (RFC 2606), so the address can never be a person's.
pub const SERVICE_ACCOUNT_DOMAIN: &str = "service.invalid";

/// A token to make, as received.
#[derive(Debug, Clone, Default)]
pub struct NewTokenRequest {
    pub name: String,
    pub permissions: Option<Vec<String>>,
    /// RFC 3339.
    pub expires_at: Option<String>,
}

/// A service account to make, as received.
#[derive(Debug, Clone, Default)]
pub struct NewServiceAccount {
    pub name: String,
    pub role: Option<String>,
    pub description: Option<String>,
}

/// A service account as listed.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub member: Member,
    pub description: String,
}

/// Refuses the addresses reserved for service accounts where a person's
/// address is meant: a service account is never invited, added as a
/// person, or signed up.
pub fn person_email(email: &roster_domain::Email) -> Result<()> {
    if email.domain().ends_with(SERVICE_ACCOUNT_DOMAIN) {
        return Err(invalid(
            "email",
            format!("addresses at *.{SERVICE_ACCOUNT_DOMAIN} belong to service accounts"),
        ));
    }
    Ok(())
}

pub(crate) fn token_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid("name", "a token's name has 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

fn service_account_name(raw: &str) -> Result<String> {
    let name = raw.trim().to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(invalid(
            "name",
            "a service account's name has 1 to 40 of a-z, 0-9 and '-', starting with a letter",
        ));
    }
    Ok(name)
}

impl App {
    /// The token's permission list and expiry, checked: every permission
    /// must be one the creator holds in the org (a token is a grant), and
    /// the expiry lies within a year.
    fn check_token(
        &self,
        access: &OrgAccess,
        held: &Role,
        req: &NewTokenRequest,
    ) -> Result<(String, Option<String>, Timestamp)> {
        let name = token_name(&req.name)?;
        let permissions = match &req.permissions {
            None => None,
            Some(list) if list.iter().all(|p| p.trim().is_empty()) => {
                return Err(invalid(
                    "permissions",
                    "name at least one permission, or leave permissions out for everything the owner holds",
                ))
            }
            Some(list) => {
                let perms = RolePermissions::parse(list, &access.catalog)?;
                let as_role = Role::custom(RoleName::parse("token")?, perms.clone());
                policy::may_grant(held, &as_role, &access.catalog)?;
                Some(perms.to_strings().join(" "))
            }
        };
        let now = self.now();
        let expires_at = match &req.expires_at {
            None => now.plus(DEFAULT_TOKEN_LIFETIME),
            Some(raw) => {
                let at = parse_rfc3339(raw).ok_or_else(|| {
                    invalid("expires_at", "a time looks like 2027-01-31T12:00:00Z")
                })?;
                if at <= now || at > now.plus(MAX_TOKEN_LIFETIME) {
                    return Err(invalid(
                        "expires_at",
                        "a token expires in the future, at most a year from now",
                    ));
                }
                at
            }
        };
        Ok((name, permissions, expires_at))
    }

    async fn insert_token(
        &self,
        c: &mut Change<'_>,
        access: &OrgAccess,
        owner: &Actor,
        checked: (String, Option<String>, Timestamp),
    ) -> Result<(Token, String)> {
        let (name, permissions, expires_at) = checked;
        let secret = crypto::new_token(super::auth::TOKEN_PREFIX);
        let now = c.now();
        let id = tokens::insert(
            c,
            NewToken {
                kind: TokenKind::Api,
                org_id: access.org.id,
                user_id: owner.user_id,
                name: &name,
                token_hash: &self.keys().hash_token(&secret),
                permissions: permissions.as_deref(),
                created_by: access.user_id(),
                now,
                expires_at,
            },
        )
        .await?;
        c.audit(
            "token.create",
            format!("token:{id}"),
            json!({ "name": name, "owner": owner.email, "permissions": permissions,
                "expires_at": super::time::rfc3339(expires_at) }),
        )
        .await?;
        let token = tokens::get(c, TokenKind::Api, access.org.id, id).await?;
        Ok((token, secret))
    }

    /// Makes a token of the caller's own in the org. Needs `tokens:create`
    /// and a person's session. Returns the token's secret, shown once.
    pub async fn create_token(
        &self,
        access: &OrgAccess,
        req: NewTokenRequest,
        meta: &RequestMeta,
    ) -> Result<(Token, String)> {
        access.caller.person_session()?;
        access.require(ManagementPermission::TokensCreate)?;
        let mut c = self
            .change(access, Some(ManagementPermission::TokensCreate), meta)
            .await?;
        let checked = self.check_token(access, c.held()?, &req)?;
        let owner = access.caller.actor.clone();
        let made = self.insert_token(&mut c, access, &owner, checked).await?;
        // Tokens are decided per request; the org's index does not hold them.
        c.touches_no_access();
        c.commit().await?;
        Ok(made)
    }

    /// Tokens in the org: the caller's own, or (`all`, which needs
    /// `users:manage`) everyone's.
    pub async fn list_tokens(&self, access: &OrgAccess, all: bool) -> Result<Vec<Token>> {
        let owner = if all {
            access.require(ManagementPermission::UsersManage)?;
            None
        } else {
            Some(access.user_id())
        };
        let mut conn = self.store().conn().await?;
        Ok(tokens::list(&mut conn, access.org.id, owner).await?)
    }

    /// Revokes a token: one's own, or anyone's with `users:manage` (a person
    /// whose token an admin revokes is told by email). It stops at once.
    pub async fn revoke_token(
        &self,
        access: &OrgAccess,
        id: TokenId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self.change(access, None, meta).await?;
        let token = tokens::get(&mut c, TokenKind::Api, access.org.id, id)
            .await
            .or_not_found("token")?;
        let own = token.user_id == access.user_id();
        if !own {
            policy::require(c.held()?, ManagementPermission::UsersManage)
                .map_err(|_| AppError::NotFound("token"))?;
        }
        tokens::delete(&mut c, access.org.id, id).await?;
        c.touches_no_access();
        c.audit(
            "token.revoke",
            format!("token:{id}"),
            json!({ "name": token.name, "owner": token.email }),
        )
        .await?;
        if !own && !token.service_account {
            let notice = Notice::TokenRevoked(TokenRevokedNotice {
                name: token.owner_name.clone(),
                token_name: token.name.clone(),
                org_name: access.org.name.clone(),
                by: access.caller.actor.email.to_string(),
            });
            c.notify(&token.email, notice).await?;
        }
        c.commit().await
    }

    /// Makes a service account: a member of this org that acts only
    /// through tokens. Needs `users:manage`, and a role the caller may grant.
    pub async fn create_service_account(
        &self,
        access: &OrgAccess,
        new: NewServiceAccount,
        meta: &RequestMeta,
    ) -> Result<ServiceAccount> {
        access.require(ManagementPermission::UsersManage)?;
        let name = service_account_name(&new.name)?;
        let description = new.description.unwrap_or_default();
        let description = description.trim();
        if description.chars().count() > 500 {
            return Err(invalid("description", "at most 500 characters"));
        }
        let role = self
            .parse_role(
                access,
                new.role
                    .as_deref()
                    .unwrap_or(&access.org.settings.default_role),
            )
            .await?;
        let email = format!("{name}@{}.{SERVICE_ACCOUNT_DOMAIN}", access.org.slug);
        let display = DisplayName::parse(&name)?;
        let mut c = self
            .change(access, Some(ManagementPermission::UsersManage), meta)
            .await?;
        policy::may_grant(c.held()?, &role, &access.catalog)?;
        let now = c.now();
        let user_id = users::insert_service_account(
            &mut c,
            &email,
            display.as_str(),
            &display.folded(),
            description,
            now,
        )
        .await
        .on_conflict(Conflict::EmailTaken, || {
            format!(
                "{} has a service account named {name} already",
                access.org.slug
            )
        })
        .map_err(|e| match e {
            AppError::Conflict { message, .. } => {
                AppError::conflict(Conflict::ServiceAccountExists, message)
            }
            other => other,
        })?;
        members::insert(
            &mut c,
            members::NewMembership {
                org_id: access.org.id,
                user_id,
                role: role.name().as_str(),
                team: "",
                status: MemberStatus::Active,
                identity_provider: "token",
                mfa_required: false,
                now,
            },
        )
        .await?;
        c.audit(
            "service_account.create",
            format!("user:{user_id}"),
            json!({ "name": name, "role": role.name().as_str(), "description": description }),
        )
        .await?;
        let member = members::find(&mut c, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("service account"))?;
        c.commit().await?;
        Ok(ServiceAccount {
            member,
            description: description.to_owned(),
        })
    }

    /// The org's service accounts. Needs `users:read`.
    pub async fn list_service_accounts(&self, access: &OrgAccess) -> Result<Vec<ServiceAccount>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        let all = members::service_accounts(&mut conn, access.org.id).await?;
        let mut out = Vec::with_capacity(all.len());
        for member in all {
            let description = users::description(&mut conn, member.user_id).await?;
            out.push(ServiceAccount {
                member,
                description,
            });
        }
        Ok(out)
    }

    /// The org's service account `id`, inside a change.
    async fn service_account_in(
        &self,
        c: &mut Change<'_>,
        access: &OrgAccess,
        id: UserId,
    ) -> Result<Member> {
        members::find(c, access.org.id, id)
            .await?
            .filter(|m| m.service_account)
            .ok_or(AppError::NotFound("service account"))
    }

    /// Deletes a service account with its tokens. Needs `users:manage` (and
    /// `owners:manage` for one that holds the owner role).
    pub async fn delete_service_account(
        &self,
        access: &OrgAccess,
        id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self
            .change(access, Some(ManagementPermission::UsersManage), meta)
            .await?;
        let sa = self.service_account_in(&mut c, access, id).await?;
        policy::may_manage_member(c.held()?, &super::orgs::resolve_role(&sa.role))?;
        users::delete_service_account(&mut c, id).await?;
        c.audit(
            "service_account.delete",
            format!("user:{id}"),
            json!({ "name": sa.name, "role": sa.role }),
        )
        .await?;
        c.commit().await
    }

    /// Makes a token for a service account. Needs `users:manage`; the
    /// token holds at most what the caller holds (and, when used, what the
    /// service account holds then).
    pub async fn create_service_account_token(
        &self,
        access: &OrgAccess,
        id: UserId,
        req: NewTokenRequest,
        meta: &RequestMeta,
    ) -> Result<(Token, String)> {
        access.caller.person_session()?;
        access.require(ManagementPermission::UsersManage)?;
        let mut c = self
            .change(access, Some(ManagementPermission::UsersManage), meta)
            .await?;
        let sa = self.service_account_in(&mut c, access, id).await?;
        let checked = self.check_token(access, c.held()?, &req)?;
        let owner = Actor::new(sa.user_id, &sa.email, &sa.name);
        let made = self.insert_token(&mut c, access, &owner, checked).await?;
        // Tokens are decided per request; the org's index does not hold them.
        c.touches_no_access();
        c.commit().await?;
        Ok(made)
    }

    /// A service account's tokens. Needs `users:manage`.
    pub async fn service_account_tokens(
        &self,
        access: &OrgAccess,
        id: UserId,
    ) -> Result<Vec<Token>> {
        access.require(ManagementPermission::UsersManage)?;
        let mut conn = self.store().conn().await?;
        members::find(&mut conn, access.org.id, id)
            .await?
            .filter(|m| m.service_account)
            .ok_or(AppError::NotFound("service account"))?;
        Ok(tokens::list(&mut conn, access.org.id, Some(id)).await?)
    }
}

/// A stored token's permission list, as its entries (what the catalog
/// still knows).
pub fn permission_list(t: &Token, access: &OrgAccess) -> Option<Vec<String>> {
    t.permissions
        .as_deref()
        .map(|list| RolePermissions::from_stored(list, &access.catalog).to_strings())
}
