//! Invitations by link (SPEC §2, §3.2): invite one or many addresses, each
//! with its own role; resend; delete; show and accept by token.

use super::auth::{create_account, hash_blocking};
use super::caller::{Actor, Caller};
use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::notice::{InvitationNotice, Notice};
use super::orgs::{invalid, OrgAccess};
use super::time::rfc3339;
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::policy;
use roster_domain::{
    Conflict, DisplayName, DomainError, Email, GroupName, InvitationId, InvitationStatus,
    ManagementPermission, MemberStatus, Password, Team, UserId,
};
use roster_store::invitations::{self, Invitation, InvitationFilter, NewInvitation};
use roster_store::orgs::Org;
use roster_store::{members, orgs, users};
use serde_json::json;
use std::time::Duration;

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
    pub user_id: UserId,
    pub account_created: bool,
}

/// A signed-in caller or a newcomer's details, for accepting.
pub struct Acceptor {
    pub caller: Option<Caller>,
    pub name: Option<String>,
    pub password: Option<String>,
}

impl App {
    /// The link a person opens to accept.
    pub fn invitation_link(&self, token: &str) -> String {
        format!("{}/invite/{token}", self.settings().public_url)
    }

    /// When an invitation issued now in `org` expires.
    fn invitation_expiry(org: &Org, now: roster_domain::Timestamp) -> roster_domain::Timestamp {
        now.plus(Duration::from_secs(
            org.settings.invitation_ttl_seconds.unsigned_abs(),
        ))
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
        if access.personal() {
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
        super::tokens::person_email(&email)?;
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
        let mut c = self
            .change(access, Some(ManagementPermission::UsersInvite), meta)
            .await?;
        policy::may_grant(c.held()?, &role, &access.catalog)?;
        if let Some(user) = users::find_by_email(&mut c, email.as_str()).await? {
            if members::find(&mut c, org.id, user.id).await?.is_some() {
                return Err(AppError::conflict(
                    Conflict::AlreadyMember,
                    format!("{email} is already a member of {}", org.slug),
                ));
            }
        }
        let (invitation, link) = self
            .insert_invitation(&mut c, access, &email, role.name().as_str(), &team, &groups)
            .await?;
        c.commit().await?;
        Ok(InviteOutcome::Created { invitation, link })
    }

    /// Issues an invitation inside change `c` (whose caller may invite
    /// with `role`): refuses a live pending one for the address, expires a
    /// dead one, stores the new one with its token's hash, mails the link
    /// and records `invitation.create`. Returns it with its link.
    pub(crate) async fn insert_invitation(
        &self,
        c: &mut Change<'_>,
        access: &OrgAccess,
        email: &Email,
        role: &str,
        team: &Team,
        groups: &[String],
    ) -> Result<(Invitation, String)> {
        let org = &access.org;
        let now = c.now();
        if let Some(existing) = invitations::find_pending(c, org.id, email.as_str()).await? {
            if existing.expires_at > now {
                return Err(AppError::conflict(
                    Conflict::AlreadyInvited,
                    format!(
                        "{email} already has a pending invitation; resend it to get a new link"
                    ),
                ));
            }
            invitations::set_status(c, existing.id, InvitationStatus::Expired, now).await?;
        }
        let token = crypto::new_token(INVITATION_PREFIX);
        let expires_at = Self::invitation_expiry(org, now);
        let invitation = invitations::insert(
            c,
            NewInvitation {
                org_id: org.id,
                email: email.as_str(),
                role,
                team: team.as_str(),
                groups,
                inviter_id: access.user_id(),
                inviter_email: &access.caller.actor.email,
                inviter_name: &access.caller.actor.name,
                token_hash: &self.keys().hash_token(&token),
                now,
                expires_at,
            },
        )
        .await
        .on_conflict(Conflict::AlreadyInvited, || {
            format!("{email} already has a pending invitation")
        })?;
        let link = self.invitation_link(&token);
        self.queue_invitation_email(c, access, &invitation, &link)
            .await?;
        c.audit(
            "invitation.create",
            format!("invitation:{}", invitation.id),
            json!({ "email": email.as_str(), "role": role, "team": team.as_str(),
                "groups": groups, "expires_at": rfc3339(expires_at) }),
        )
        .await?;
        Ok((invitation, link))
    }

    async fn queue_invitation_email(
        &self,
        c: &mut Change<'_>,
        access: &OrgAccess,
        inv: &Invitation,
        link: &str,
    ) -> Result<()> {
        let notice = Notice::Invitation(InvitationNotice {
            inviter_name: inv.inviter_name.clone(),
            inviter_email: inv.inviter_email.clone(),
            org_name: access.org.name.clone(),
            role: inv.role.clone(),
            email: inv.email.clone(),
            link: link.to_owned(),
            expires: rfc3339(inv.expires_at),
        });
        c.notify(&inv.email, notice).await
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
        Ok(invitations::list(&mut conn, access.org.id, filter, self.now(), after, limit).await?)
    }

    /// Begins a change to invitation `id`, which needs `users:invite` and
    /// a role the actor may grant.
    async fn change_invitation<'a>(
        &'a self,
        access: &OrgAccess,
        id: InvitationId,
        meta: &'a RequestMeta,
    ) -> Result<(Change<'a>, Invitation)> {
        let mut c = self
            .change(access, Some(ManagementPermission::UsersInvite), meta)
            .await?;
        let inv = invitations::get(&mut c, access.org.id, id)
            .await
            .or_not_found("invitation")?;
        let role =
            super::orgs::load_role(&mut c, access.org.id, &access.catalog, &inv.role).await?;
        policy::may_grant(c.held()?, &role, &access.catalog)?;
        Ok((c, inv))
    }

    /// Issues a new link and expiry for a pending or expired invitation;
    /// the old link stops working.
    pub async fn resend_invitation(
        &self,
        access: &OrgAccess,
        id: InvitationId,
        meta: &RequestMeta,
    ) -> Result<(Invitation, String)> {
        let (mut c, inv) = self.change_invitation(access, id, meta).await?;
        let now = c.now();
        let status = inv.effective_status(now);
        if !status.resendable() {
            return Err(AppError::conflict(
                Conflict::InvitationNotPending,
                format!("this invitation is {status}; only pending or expired invitations can be resent"),
            ));
        }
        if inv.status == InvitationStatus::Expired {
            // Another pending invitation may have been created for the email since.
            if invitations::find_pending(&mut c, access.org.id, &inv.email)
                .await?
                .is_some()
            {
                return Err(AppError::conflict(
                    Conflict::AlreadyInvited,
                    format!("{} has a newer invitation", inv.email),
                ));
            }
        }
        let token = crypto::new_token(INVITATION_PREFIX);
        let expires_at = Self::invitation_expiry(&access.org, now);
        let renewed = invitations::renew(
            &mut c,
            inv.id,
            &self.keys().hash_token(&token),
            now,
            expires_at,
        )
        .await?;
        let link = self.invitation_link(&token);
        self.queue_invitation_email(&mut c, access, &renewed, &link)
            .await?;
        c.audit(
            "invitation.resend",
            format!("invitation:{}", inv.id),
            json!({ "email": inv.email, "expires_at": rfc3339(expires_at) }),
        )
        .await?;
        c.commit().await?;
        Ok((renewed, link))
    }

    /// Revokes a pending or expired invitation: its link stops working at
    /// once and the email can be invited again.
    pub async fn delete_invitation(
        &self,
        access: &OrgAccess,
        id: InvitationId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (mut c, inv) = self.change_invitation(access, id, meta).await?;
        if !inv.status.resendable() {
            return Err(AppError::conflict(
                Conflict::InvitationNotPending,
                format!("this invitation is {}; it cannot be deleted", inv.status),
            ));
        }
        let now = c.now();
        invitations::set_status(&mut c, inv.id, InvitationStatus::Revoked, now).await?;
        c.audit(
            "invitation.delete",
            format!("invitation:{}", inv.id),
            json!({ "email": inv.email }),
        )
        .await?;
        c.commit().await
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
        match inv.effective_status(self.now()) {
            InvitationStatus::Pending => {}
            InvitationStatus::Expired => return Err(AppError::InvitationExpired),
            InvitationStatus::Accepted | InvitationStatus::Revoked => {
                return Err(AppError::InvalidLink)
            }
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
        if let Some(caller) = &who.caller {
            caller.admits(super::caller::Reach::Everything)?;
            if *caller.actor.email != *inv.email {
                return Err(AppError::Forbidden(format!(
                    "this invitation is for {}; you are signed in as {}",
                    inv.email, caller.actor.email
                )));
            }
        }
        // Prepare a new account outside the transaction (hashing is slow).
        let newcomer = match &who.caller {
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
        let mut c = self.change_org(org.id, None, meta).await?;
        let now = c.now();
        let actor = match (&who.caller, &newcomer) {
            (Some(caller), _) => caller.actor.clone(),
            (None, Some((email, name, hash))) => {
                let id = create_account(&mut c, now, email, name, Some(hash), false).await?;
                Actor::new(id, email.as_str(), name.as_str())
            }
            (None, None) => return Err(AppError::Unauthenticated),
        };
        let user_id = actor.user_id;
        c.acting_as(actor);
        let accepted = invitations::accept(&mut c, &self.keys().hash_token(token), user_id, now)
            .await?
            .ok_or(AppError::InvalidLink)?;
        members::insert(
            &mut c,
            members::NewMembership {
                org_id: org.id,
                user_id,
                role: &accepted.role,
                team: &accepted.team,
                status: MemberStatus::Active,
                identity_provider: "password",
                mfa_required: false,
                now,
            },
        )
        .await
        .on_conflict(Conflict::AlreadyMember, || {
            format!("{} is already a member of {}", accepted.email, org.slug)
        })?;
        members::set_groups(&mut c, org.id, user_id, &accepted.group_list(), now).await?;
        c.audit(
            "invitation.accept",
            format!("user:{user_id}"),
            json!({ "invitation": accepted.id.get(), "email": accepted.email, "role": accepted.role,
                "account_created": newcomer.is_some() }),
        )
        .await?;
        c.commit().await?;
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
