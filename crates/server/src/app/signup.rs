//! Self-registration with approval (SPEC §2, §3.3): a person asks to join an
//! org that allows it, with an email at one of its domains; they stay
//! `reviewing` until someone with `users:approve` approves or rejects.

use super::auth::{create_account, hash_blocking};
use super::caller::Actor;
use super::change::Change;
use super::error::Result;
use super::notice::{
    Notice, SignupApprovedNotice, SignupConfirmNotice, SignupExistingAccountNotice,
    SignupRejectedNotice, SignupToReviewNotice,
};
use super::orgs::OrgAccess;
use super::outbox::queue;
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::policy;
use roster_domain::{
    BuiltinRole, Conflict, DisplayName, Email, ManagementPermission, MemberStatus, Password, UserId,
};
use roster_store::members::{self, Member, MemberFields};
use roster_store::orgs::Org;
use roster_store::{orgs, signups, users};
use std::time::Duration;

/// Sign-up confirmation link tokens start with this.
pub const SIGNUP_LINK_PREFIX: &str = "rsc_";
/// How long a sign-up waits for its address to be confirmed.
pub const SIGNUP_LINK_TTL: Duration = Duration::from_secs(24 * 3600);
use serde_json::json;

/// A sign-up request, as received.
pub struct Signup {
    pub org: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

fn not_allowed() -> AppError {
    AppError::SignupNotAllowed
}

/// Whether the org takes sign-ups from this email: self-registration on, the
/// email's domain exactly one of its allowed domains, not a personal org.
pub(crate) fn accepts_signup(org: &Org, email: &Email) -> bool {
    org.personal_user_id.is_none()
        && org.settings.self_registration
        && org
            .settings
            .allowed_domains
            .iter()
            .any(|d| d == email.domain())
}

/// The built-in roles whose holders may approve sign-ups.
fn approver_roles() -> Vec<&'static str> {
    BuiltinRole::ALL
        .into_iter()
        .filter(|r| r.role().has(ManagementPermission::UsersApprove))
        .map(BuiltinRole::name)
        .collect()
}

impl App {
    /// Asks to join an org. Nothing is created yet: the sign-up waits for
    /// its address to be confirmed by a single-use link mailed there (valid
    /// [`SIGNUP_LINK_TTL`]), so nobody can register someone else's address
    /// before they do (an invitee's, say). The answer is the same whether
    /// or not the email already has an account, so it reveals nothing: with
    /// an existing account the password must match for the request to count,
    /// and otherwise the address's owner is told by email instead.
    pub async fn signup(&self, s: Signup, meta: &RequestMeta) -> Result<()> {
        let email = Email::parse(&s.email)?;
        super::tokens::person_email(&email)?;
        let name = DisplayName::parse(&s.name)?;
        let password = Password::parse_new(&s.password)?;
        super::throttle::attempt(
            self.store(),
            self.now(),
            super::throttle::Try::Signup,
            email.as_str(),
            &meta.client_addr,
        )
        .await?;

        let (org, existing) = {
            let mut conn = self.store().conn().await?;
            let org = orgs::find_by_slug(&mut conn, s.org.trim())
                .await?
                .ok_or_else(not_allowed)?;
            if !accepts_signup(&org, &email) {
                return Err(not_allowed());
            }
            (org, users::find_by_email(&mut conn, email.as_str()).await?)
        };
        // Hash or verify: the same cost either way.
        let (user_id, hash) = match &existing {
            Some(u) => {
                let stored = u.password_hash.clone().unwrap_or_default();
                let pw = password.expose().to_owned();
                let ok =
                    super::auth::hashing(move || crypto::verify_password(&stored, &pw)).await?;
                if !ok {
                    // Not a change, and not for the org's audit log (it
                    // would tell the org that the address has an account):
                    // only the address's owner hears of it.
                    let mut conn = self.store().conn().await?;
                    let notice = Notice::SignupExistingAccount(SignupExistingAccountNotice {
                        org_name: org.name.clone(),
                    });
                    queue(
                        &mut conn,
                        self.keys(),
                        self.now(),
                        Some(org.id),
                        email.as_str(),
                        &notice,
                    )
                    .await?;
                    return Ok(());
                }
                (Some(u.id), None)
            }
            None => (
                None,
                Some(hash_blocking(password.expose().to_owned()).await?),
            ),
        };

        let token = crypto::new_token(SIGNUP_LINK_PREFIX);
        let now = self.now();
        let mut tx = self.store().begin().await?;
        signups::insert(
            &mut tx,
            signups::NewPendingSignup {
                token_hash: &self.keys().hash_token(&token),
                org_id: org.id,
                email: email.as_str(),
                name: name.as_str(),
                password_hash: hash.as_deref(),
                user_id,
                now,
                expires_at: now.plus(SIGNUP_LINK_TTL),
            },
        )
        .await?;
        let notice = Notice::SignupConfirm(SignupConfirmNotice {
            name: name.as_str().to_owned(),
            org_name: org.name.clone(),
            link: format!("{}/signup/confirm/{token}", self.settings().public_url),
        });
        queue(
            &mut tx,
            self.keys(),
            now,
            Some(org.id),
            email.as_str(),
            &notice,
        )
        .await?;
        roster_store::commit(tx).await?;
        Ok(())
    }

    /// Confirms a sign-up with the link mailed to its address: creates the
    /// account if the address had none, and the `reviewing` membership,
    /// and tells the approvers. The link works once; a sign-up to an org
    /// that stopped taking them from that address is refused.
    pub async fn confirm_signup(&self, token: &str, meta: &RequestMeta) -> Result<()> {
        if !token.starts_with(SIGNUP_LINK_PREFIX) || token.len() > 100 {
            return Err(AppError::InvalidLink);
        }
        let token_hash = self.keys().hash_token(token);
        let org_id = {
            let mut conn = self.store().conn().await?;
            signups::org_of(&mut conn, &token_hash, self.now())
                .await?
                .ok_or(AppError::InvalidLink)?
        };
        let mut c = self.change_org(org_id, None, meta).await?;
        let now = c.now();
        let pending = signups::take(&mut c, &token_hash, now)
            .await?
            .ok_or(AppError::InvalidLink)?;
        let org = c.org_row(pending.org_id).await?;
        let email = Email::parse(&pending.email)?;
        if !accepts_signup(&org, &email) {
            return Err(not_allowed());
        }
        let name = DisplayName::parse(&pending.name)?;
        let user_id = match pending.user_id {
            Some(id) => id,
            // The address may have got an account since (an invitation
            // accepted meanwhile): the link proves the address, so the
            // request counts for that account; its password stays as it is.
            None => match users::find_by_email(&mut c, email.as_str()).await? {
                Some(u) => u.id,
                None => {
                    let hash = pending.password_hash.as_deref();
                    create_account(&mut c, now, &email, &name, hash, false).await?
                }
            },
        };
        if members::find(&mut c, org.id, user_id).await?.is_some() {
            // Already a member (or already waiting): nothing more to do.
            c.nothing_changed();
            return Ok(());
        }
        self.enter_review(&mut c, &org, user_id, &email, &name, json!({}))
            .await?;
        c.commit().await
    }

    /// Adds a `reviewing` membership, records the sign-up as its applicant,
    /// and tells the approvers; part of a change to `org`.
    pub(crate) async fn enter_review(
        &self,
        c: &mut Change<'_>,
        org: &Org,
        user_id: UserId,
        email: &Email,
        name: &DisplayName,
        extra: serde_json::Value,
    ) -> Result<()> {
        let now = c.now();
        members::insert(
            c,
            members::NewMembership {
                org_id: org.id,
                user_id,
                role: &org.settings.default_role,
                team: "",
                status: MemberStatus::Reviewing,
                identity_provider: "password",
                mfa_required: false,
                now,
            },
        )
        .await?;
        let mut details = json!({ "email": email.as_str(), "name": name.as_str() });
        if let (Some(d), Some(extra)) = (details.as_object_mut(), extra.as_object()) {
            d.extend(extra.clone());
        }
        c.acting_as(Actor::new(user_id, email.as_str(), name.as_str()));
        c.audit("member.signup", format!("user:{user_id}"), details)
            .await?;
        self.notify_approvers(c, org, user_id, email.as_str(), name.as_str())
            .await
    }

    /// Tells everyone who may approve that someone is waiting: by email, and
    /// with a review card when the org has Slack.
    pub(crate) async fn notify_approvers(
        &self,
        c: &mut Change<'_>,
        org: &Org,
        user_id: UserId,
        email: &str,
        name: &str,
    ) -> Result<()> {
        self.queue_review_card(c, org, user_id, email, name).await?;
        let approvers = members::active_with_roles(c, org.id, &approver_roles()).await?;
        for (approver, approver_name) in approvers {
            let notice = Notice::SignupToReview(SignupToReviewNotice {
                approver_name,
                name: name.to_owned(),
                email: email.to_owned(),
                org_name: org.name.clone(),
                org_slug: org.slug.clone(),
                user_id: user_id.get(),
            });
            c.notify(&approver, notice).await?;
        }
        Ok(())
    }

    /// Begins deciding on a member waiting for review, which needs
    /// `users:approve`.
    async fn change_reviewing<'a>(
        &'a self,
        access: &OrgAccess,
        user_id: UserId,
        meta: &'a RequestMeta,
    ) -> Result<(Change<'a>, Member)> {
        let mut c = self
            .change(access, Some(ManagementPermission::UsersApprove), meta)
            .await?;
        let member = members::find(&mut c, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if member.status != MemberStatus::Reviewing {
            return Err(AppError::conflict(
                Conflict::NotReviewing,
                format!(
                    "{} is {}, not waiting for review",
                    member.email, member.status
                ),
            ));
        }
        Ok((c, member))
    }

    /// Approves a sign-up with the org's default role or `role`, which must
    /// be one the approver may grant.
    pub async fn approve_member(
        &self,
        access: &OrgAccess,
        user_id: UserId,
        role: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Member> {
        let role = self
            .parse_role(access, role.unwrap_or(&access.org.settings.default_role))
            .await?;
        let (mut c, member) = self.change_reviewing(access, user_id, meta).await?;
        policy::may_grant(c.held()?, &role, &access.catalog)?;
        let now = c.now();
        members::update(
            &mut c,
            access.org.id,
            user_id,
            &MemberFields {
                role: role.name().as_str(),
                team: &member.team,
                status: MemberStatus::Active,
                identity_provider: &member.identity_provider,
                mfa_required: member.mfa_required,
            },
            now,
        )
        .await?;
        c.audit(
            "member.approve",
            format!("user:{user_id}"),
            json!({ "email": member.email, "role": role.name().as_str() }),
        )
        .await?;
        let notice = Notice::SignupApproved(SignupApprovedNotice {
            name: member.name.clone(),
            org_name: access.org.name.clone(),
            by: access.caller.actor.email.to_string(),
            role: role.name().to_string(),
        });
        c.notify(&member.email, notice).await?;
        let updated = members::find(&mut c, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        c.commit().await?;
        Ok(updated)
    }

    /// Rejects a sign-up: the membership is removed; the account stays.
    pub async fn reject_member(
        &self,
        access: &OrgAccess,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (mut c, member) = self.change_reviewing(access, user_id, meta).await?;
        members::delete(&mut c, access.org.id, user_id).await?;
        c.audit(
            "member.reject",
            format!("user:{user_id}"),
            json!({ "email": member.email }),
        )
        .await?;
        let notice = Notice::SignupRejected(SignupRejectedNotice {
            name: member.name.clone(),
            org_name: access.org.name.clone(),
        });
        c.notify(&member.email, notice).await?;
        c.commit().await
    }
}
