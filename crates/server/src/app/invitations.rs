//! Invitations by link (SPEC §2, §3.2): invite one or many addresses, each
//! with its own role; resend; delete; show and accept by token.

use super::audit::{record, AuditEntry};
use super::auth::{create_account, hash_blocking, Principal};
use super::error::Result;
use super::orgs::{invalid, lock_and_recheck, OrgAccess};
use super::outbox::queue;
use super::time::{now_ms, rfc3339};
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::policy;
use roster_domain::{
    DisplayName, DomainError, Email, GroupName, ManagementPermission, MemberStatus, Password, Role,
    Team,
};
use roster_store::invitations::{self, Invitation, InvitationFilter, NewInvitation};
use roster_store::{members, orgs, users, Conn, StoreError};
use serde_json::json;

/// Invitation tokens start with this.
pub const INVITATION_PREFIX: &str = "rsi_";

/// One address to invite, as received.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub email: String,
    pub role: Option<String>,
    pub team: Option<String>,
    pub groups: Vec<String>,
}

/// The outcome for one address: created with its link, or why not.
#[derive(Debug)]
pub enum InviteOutcome {
    Created {
        invitation: Invitation,
        link: String,
    },
    Refused {
        email: String,
        error: AppError,
    },
}

/// What accepting did.
pub struct Accepted {
    pub invitation: Invitation,
    pub org_slug: String,
    pub user_id: i64,
    pub account_created: bool,
}

/// A signed-in caller or a newcomer's details, for accepting.
pub struct Acceptor {
    pub principal: Option<Principal>,
    pub name: Option<String>,
    pub password: Option<String>,
}

impl App {
    /// The link a person opens to accept.
    pub fn invitation_link(&self, token: &str) -> String {
        format!("{}/invite/{token}", self.settings().public_url)
    }

    /// Invites each address in its own transaction, so one bad address never
    /// fails the others.
    pub async fn invite(
        &self,
        access: &OrgAccess,
        items: Vec<InviteRequest>,
        meta: &RequestMeta,
    ) -> Result<Vec<InviteOutcome>> {
        access.require(ManagementPermission::UsersInvite)?;
        if access.org.personal_user_id.is_some() {
            return Err(DomainError::PersonalOrg.into());
        }
        if items.is_empty() || items.len() > 100 {
            return Err(invalid(
                "invitations",
                "send between 1 and 100 addresses at a time",
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let email = item.email.trim().to_owned();
            match self.invite_one(access, item, meta).await {
                Ok(created) => out.push(created),
                Err(error) => out.push(InviteOutcome::Refused { email, error }),
            }
        }
        Ok(out)
    }

    async fn invite_one(
        &self,
        access: &OrgAccess,
        item: InviteRequest,
        meta: &RequestMeta,
    ) -> Result<InviteOutcome> {
        let email = Email::parse(&item.email)?;
        let role = match &item.role {
            Some(r) => self.parse_role(access, r).await?,
            None => {
                self.parse_role(access, &access.org.settings.default_role)
                    .await?
            }
        };
        let team = Team::parse(item.team.as_deref().unwrap_or(""))?;
        let groups: Vec<String> = GroupName::parse_list(item.groups.iter().map(String::as_str))?
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect();
        let org = &access.org;
        let mut tx = self.store().begin().await?;
        let actor = lock_and_recheck(&mut tx, access).await?;
        policy::require(&actor, ManagementPermission::UsersInvite)?;
        policy::may_grant(&actor, &role, &access.catalog)?;
        if let Some(user) = users::find_by_email(&mut tx, email.as_str()).await? {
            if members::find(&mut tx, org.id, user.id).await?.is_some() {
                return Err(AppError::Conflict {
                    code: "already_member",
                    message: format!("{email} is already a member of {}", org.slug),
                });
            }
        }
        let now = now_ms();
        if let Some(existing) = invitations::find_pending(&mut tx, org.id, email.as_str()).await? {
            if existing.expires_at > now {
                return Err(AppError::Conflict {
                    code: "already_invited",
                    message: format!(
                        "{email} already has a pending invitation; resend it to get a new link"
                    ),
                });
            }
            invitations::set_status(&mut tx, existing.id, "expired", now).await?;
        }
        let token = crypto::new_token(INVITATION_PREFIX);
        let expires_at = now + org.settings.invitation_ttl_seconds * 1000;
        let invitation = invitations::insert(
            &mut tx,
            NewInvitation {
                org_id: org.id,
                email: email.as_str(),
                role: role.name().as_str(),
                team: team.as_str(),
                groups: &groups,
                inviter_id: access.principal.user_id,
                inviter_email: &access.principal.email,
                inviter_name: &access.principal.name,
                token_hash: &self.keys().hash_token(&token),
                now,
                expires_at,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict {
                code: "already_invited",
                message: format!("{email} already has a pending invitation"),
            },
            other => other.into(),
        })?;
        let link = self.invitation_link(&token);
        self.queue_invitation_email(&mut tx, access, &invitation, &link)
            .await?;
        record(
            &mut tx,
            meta,
            AuditEntry {
                org_id: Some(org.id),
                actor: Some(&access.principal),
                action: "invitation.create",
                target: format!("invitation:{}", invitation.id),
                details: json!({ "email": email.as_str(), "role": role.name().as_str(), "team": team.as_str(),
                    "groups": groups, "expires_at": rfc3339(expires_at) }),
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(InviteOutcome::Created { invitation, link })
    }

    async fn queue_invitation_email(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        inv: &Invitation,
        link: &str,
    ) -> Result<()> {
        let org = &access.org;
        let text = format!(
            "Hello,\n\n{} ({}) invited you to join the organization {} on Roster as {}.\n\n\
             Accept the invitation: {link}\n\n\
             The link works once, only for {}, until {} (UTC).",
            inv.inviter_name,
            inv.inviter_email,
            org.name,
            inv.role,
            inv.email,
            rfc3339(inv.expires_at)
        );
        queue(
            conn,
            Some(org.id),
            "invitation",
            &inv.email,
            &format!("{} invited you to {} on Roster", inv.inviter_name, org.name),
            &text,
        )
        .await
    }

    /// An org's invitations. Needs `users:read`.
    pub async fn list_invitations(
        &self,
        access: &OrgAccess,
        filter: &InvitationFilter,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Invitation>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        Ok(invitations::list(&mut conn, access.org.id, filter, now_ms(), after, limit).await?)
    }

    /// Loads an invitation under the org lock and checks that the actor
    /// may manage it: `users:invite` and a role they may grant.
    async fn managed_invitation(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        id: i64,
    ) -> Result<(Invitation, Role)> {
        let actor = lock_and_recheck(conn, access).await?;
        policy::require(&actor, ManagementPermission::UsersInvite)?;
        let inv = invitations::get(conn, access.org.id, id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::NotFound("invitation"),
                other => other.into(),
            })?;
        let role = super::orgs::load_role(conn, access.org.id, &access.catalog, &inv.role).await?;
        policy::may_grant(&actor, &role, &access.catalog)?;
        Ok((inv, actor))
    }

    /// Issues a new link and expiry for a pending or expired invitation;
    /// the old link stops working.
    pub async fn resend_invitation(
        &self,
        access: &OrgAccess,
        id: i64,
        meta: &RequestMeta,
    ) -> Result<(Invitation, String)> {
        let mut tx = self.store().begin().await?;
        let (inv, _) = self.managed_invitation(&mut tx, access, id).await?;
        let now = now_ms();
        let status = inv.effective_status(now).to_owned();
        if status != "pending" && status != "expired" {
            return Err(AppError::Conflict {
                code: "invitation_not_pending",
                message: format!("this invitation is {status}; only pending or expired invitations can be resent"),
            });
        }
        if inv.status == "expired" {
            // Another pending invitation may have been created for the email since.
            if invitations::find_pending(&mut tx, access.org.id, &inv.email)
                .await?
                .is_some()
            {
                return Err(AppError::Conflict {
                    code: "already_invited",
                    message: format!("{} has a newer invitation", inv.email),
                });
            }
        }
        let token = crypto::new_token(INVITATION_PREFIX);
        let expires_at = now + access.org.settings.invitation_ttl_seconds * 1000;
        let renewed = invitations::renew(
            &mut tx,
            inv.id,
            &self.keys().hash_token(&token),
            now,
            expires_at,
        )
        .await?;
        let link = self.invitation_link(&token);
        self.queue_invitation_email(&mut tx, access, &renewed, &link)
            .await?;
        record(
            &mut tx,
            meta,
            AuditEntry {
                org_id: Some(access.org.id),
                actor: Some(&access.principal),
                action: "invitation.resend",
                target: format!("invitation:{}", inv.id),
                details: json!({ "email": inv.email, "expires_at": rfc3339(expires_at) }),
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok((renewed, link))
    }

    /// Revokes a pending or expired invitation: its link stops working at
    /// once and the email can be invited again.
    pub async fn delete_invitation(
        &self,
        access: &OrgAccess,
        id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let (inv, _) = self.managed_invitation(&mut tx, access, id).await?;
        if inv.status != "pending" && inv.status != "expired" {
            return Err(AppError::Conflict {
                code: "invitation_not_pending",
                message: format!("this invitation is {}; it cannot be deleted", inv.status),
            });
        }
        invitations::set_status(&mut tx, inv.id, "revoked", now_ms()).await?;
        record(
            &mut tx,
            meta,
            AuditEntry {
                org_id: Some(access.org.id),
                actor: Some(&access.principal),
                action: "invitation.delete",
                target: format!("invitation:{}", inv.id),
                details: json!({ "email": inv.email }),
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// The invitation behind a token, if it can still be accepted, with its
    /// org. Used, revoked and unknown tokens are `invalid_link`; an expired
    /// one is `invitation_expired`.
    pub async fn invitation_by_token(
        &self,
        token: &str,
    ) -> Result<(Invitation, roster_store::orgs::Org)> {
        if !token.starts_with(INVITATION_PREFIX) || token.len() > 100 {
            return Err(AppError::InvalidLink);
        }
        let mut conn = self.store().conn().await?;
        let inv = invitations::find_by_token(&mut conn, &self.keys().hash_token(token))
            .await?
            .ok_or(AppError::InvalidLink)?;
        match inv.effective_status(now_ms()) {
            "pending" => {}
            "expired" => return Err(AppError::InvitationExpired),
            _ => return Err(AppError::InvalidLink),
        }
        let org = orgs::get(&mut conn, inv.org_id).await?;
        Ok((inv, org))
    }

    /// Accepts an invitation. A signed-in caller must have the invited
    /// email; without a session, a person with no account creates one
    /// (name and password) for exactly that email. Of two concurrent
    /// accepts of one link, exactly one succeeds.
    pub async fn accept_invitation(
        &self,
        token: &str,
        who: Acceptor,
        meta: &RequestMeta,
    ) -> Result<Accepted> {
        let (inv, org) = self.invitation_by_token(token).await?;
        if let Some(p) = &who.principal {
            if p.email != inv.email {
                return Err(AppError::Forbidden(format!(
                    "this invitation is for {}; you are signed in as {}",
                    inv.email, p.email
                )));
            }
        }
        // Prepare a new account outside the transaction (hashing is slow).
        let newcomer = match &who.principal {
            Some(_) => None,
            None => {
                let mut conn = self.store().conn().await?;
                if users::find_by_email(&mut conn, &inv.email).await?.is_some() {
                    return Err(AppError::Unauthenticated);
                }
                let email = Email::parse(&inv.email)?;
                let name = match &who.name {
                    Some(n) => DisplayName::parse(n)?,
                    None => {
                        return Err(invalid("name", "a name is required to create your account"))
                    }
                };
                let password = Password::parse_new(who.password.as_deref().unwrap_or(""))?;
                Some((
                    email,
                    name,
                    hash_blocking(password.expose().to_owned()).await?,
                ))
            }
        };
        let now = now_ms();
        let mut tx = self.store().begin().await?;
        orgs::lock(&mut tx, org.id).await?;
        let (user_id, actor) = match (&who.principal, &newcomer) {
            (Some(p), _) => (p.user_id, p.clone()),
            (None, Some((email, name, hash))) => {
                let id = create_account(&mut tx, email, name, Some(hash), false).await?;
                let actor = Principal::without_session(id, email.as_str(), name.as_str());
                (id, actor)
            }
            (None, None) => return Err(AppError::Unauthenticated),
        };
        let accepted = invitations::accept(&mut tx, &self.keys().hash_token(token), user_id, now)
            .await?
            .ok_or(AppError::InvalidLink)?;
        members::insert(
            &mut tx,
            members::NewMembership {
                org_id: org.id,
                user_id,
                role: &accepted.role,
                team: &accepted.team,
                status: MemberStatus::Active.as_str(),
                identity_provider: "password",
                mfa_required: false,
                now,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict {
                code: "already_member",
                message: format!("{} is already a member of {}", accepted.email, org.slug),
            },
            other => other.into(),
        })?;
        members::set_groups(&mut tx, org.id, user_id, &accepted.group_list(), now).await?;
        record(
            &mut tx,
            meta,
            AuditEntry {
                org_id: Some(org.id),
                actor: Some(&actor),
                action: "invitation.accept",
                target: format!("user:{user_id}"),
                details: json!({ "invitation": accepted.id, "email": accepted.email, "role": accepted.role,
                    "account_created": newcomer.is_some() }),
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(Accepted {
            invitation: accepted,
            org_slug: org.slug,
            user_id,
            account_created: newcomer.is_some(),
        })
    }

    /// Whether an account exists for an email (shown on an invitation, whose
    /// holder already knows the email).
    pub async fn account_exists(&self, email: &str) -> Result<bool> {
        let mut conn = self.store().conn().await?;
        Ok(users::find_by_email(&mut conn, email).await?.is_some())
    }
}
