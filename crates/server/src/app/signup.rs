//! Self-registration with approval (SPEC §2, §3.3): a person asks to join an
//! org that allows it, with an email at one of its domains; they stay
//! `reviewing` until someone with `users:approve` approves or rejects.

use super::audit::{record, AuditEntry};
use super::auth::{create_account, hash_blocking};
use super::error::Result;
use super::orgs::{lock_and_recheck, OrgAccess};
use super::outbox::queue;
use super::time::now_ms;
use super::{App, AppError, Principal, RequestMeta};
use crate::crypto;
use roster_domain::policy;
use roster_domain::{
    BuiltinRole, DisplayName, Email, ManagementPermission, MemberStatus, Password,
};
use roster_store::members::{self, Member, MemberFields};
use roster_store::orgs::Org;
use roster_store::{orgs, users, Conn};
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
    /// Registers a person for review. The answer is the same whether or not
    /// the email already has an account, so it reveals nothing: with an
    /// existing account the password must match for the request to count,
    /// and otherwise the address's owner is told by email instead.
    pub async fn signup(&self, s: Signup, meta: &RequestMeta) -> Result<()> {
        let email = Email::parse(&s.email)?;
        let name = DisplayName::parse(&s.name)?;
        let password = Password::parse_new(&s.password)?;
        let throttle_key = format!("signup:{email}");
        super::throttle::check(self.store(), &throttle_key, &meta.client_addr)
            .await?
            .map_err(|secs| AppError::TooManyAttempts {
                retry_after_secs: secs,
            })?;
        super::throttle::record_failure(self.store(), &throttle_key, &meta.client_addr).await?;

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
                    let mut conn = self.store().conn().await?;
                    let text = format!(
                        "Hello,\n\nSomeone asked to join the organization {} on Roster with this address, \
                         which already has an account, but with another password. If it was you, sign in \
                         and sign up again with your password. If not, you can ignore this message.",
                        org.name
                    );
                    queue(
                        &mut conn,
                        Some(org.id),
                        "signup_existing_account",
                        email.as_str(),
                        &format!("Sign-up to {}", org.name),
                        &text,
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

        let mut tx = self.store().begin().await?;
        orgs::lock(&mut tx, org.id).await?;
        let user_id = match (user_id, hash) {
            (Some(id), _) => id,
            (None, Some(hash)) => match users::find_by_email(&mut tx, email.as_str()).await? {
                // Created meanwhile by another request: treat as done.
                Some(_) => return Ok(()),
                None => create_account(&mut tx, &email, &name, Some(&hash), false).await?,
            },
            (None, None) => return Ok(()),
        };
        if members::find(&mut tx, org.id, user_id).await?.is_some() {
            // Already a member (or already waiting): nothing to do.
            return Ok(());
        }
        self.enter_review(&mut tx, &org, user_id, &email, &name, json!({}), meta)
            .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Adds a `reviewing` membership, records the sign-up, and tells the
    /// approvers; part of the caller's transaction (which holds the org lock).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn enter_review(
        &self,
        conn: &mut Conn,
        org: &Org,
        user_id: i64,
        email: &Email,
        name: &DisplayName,
        extra: serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<()> {
        members::insert(
            conn,
            members::NewMembership {
                org_id: org.id,
                user_id,
                role: &org.settings.default_role,
                team: "",
                status: MemberStatus::Reviewing.as_str(),
                identity_provider: "password",
                mfa_required: false,
                now: now_ms(),
            },
        )
        .await?;
        let mut details = json!({ "email": email.as_str(), "name": name.as_str() });
        if let (Some(d), Some(extra)) = (details.as_object_mut(), extra.as_object()) {
            d.extend(extra.clone());
        }
        let actor = Principal::without_session(user_id, email.as_str(), name.as_str());
        record(
            conn,
            meta,
            AuditEntry {
                org_id: Some(org.id),
                actor: Some(&actor),
                action: "member.signup",
                target: format!("user:{user_id}"),
                details,
            },
        )
        .await?;
        self.notify_approvers(conn, org, user_id, email.as_str(), name.as_str())
            .await
    }

    /// Tells everyone who may approve that someone is waiting: by email, and
    /// with a review card when the org has Slack.
    pub(crate) async fn notify_approvers(
        &self,
        conn: &mut Conn,
        org: &Org,
        user_id: i64,
        email: &str,
        name: &str,
    ) -> Result<()> {
        self.queue_review_card(conn, org, user_id, email, name)
            .await?;
        let approvers = members::active_with_roles(conn, org.id, &approver_roles()).await?;
        for (approver, approver_name) in approvers {
            let text = format!(
                "Hello {approver_name},\n\n{name} ({email}) asked to join the organization {} and is waiting for review.\n\n\
                 Approve: roster users approve {user_id} --org {}\nReject: roster users reject {user_id} --org {}",
                org.name, org.slug, org.slug
            );
            queue(
                conn,
                Some(org.id),
                "signup_review",
                &approver,
                &format!("{name} asked to join {}", org.name),
                &text,
            )
            .await?;
        }
        Ok(())
    }

    /// Loads a member waiting for review, under the org lock, and the
    /// actor's current role; checks `users:approve`.
    async fn reviewing_member(
        &self,
        conn: &mut Conn,
        access: &OrgAccess,
        user_id: i64,
    ) -> Result<(Member, roster_domain::Role)> {
        let actor = lock_and_recheck(conn, access).await?;
        policy::require(&actor, ManagementPermission::UsersApprove)?;
        let member = members::find(conn, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if member.status != MemberStatus::Reviewing.as_str() {
            return Err(AppError::Conflict {
                code: "not_reviewing",
                message: format!(
                    "{} is {}, not waiting for review",
                    member.email, member.status
                ),
            });
        }
        Ok((member, actor))
    }

    /// Approves a sign-up with the org's default role or `role`, which must
    /// be one the approver may grant.
    pub async fn approve_member(
        &self,
        access: &OrgAccess,
        user_id: i64,
        role: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Member> {
        let role = self
            .parse_role(access, role.unwrap_or(&access.org.settings.default_role))
            .await?;
        let mut tx = self.store().begin().await?;
        let (member, actor) = self.reviewing_member(&mut tx, access, user_id).await?;
        policy::may_grant(&actor, &role, &access.catalog)?;
        members::update(
            &mut tx,
            access.org.id,
            user_id,
            &MemberFields {
                role: role.name().as_str(),
                team: &member.team,
                status: MemberStatus::Active.as_str(),
                identity_provider: &member.identity_provider,
                mfa_required: member.mfa_required,
            },
            now_ms(),
        )
        .await?;
        record(
            &mut tx,
            meta,
            AuditEntry {
                org_id: Some(access.org.id),
                actor: Some(&access.principal),
                action: "member.approve",
                target: format!("user:{user_id}"),
                details: json!({ "email": member.email, "role": role.name().as_str() }),
            },
        )
        .await?;
        let text = format!(
            "Hello {},\n\nYour request to join the organization {} was approved by {}. Your role is {}.",
            member.name,
            access.org.name,
            access.principal.email,
            role.name()
        );
        queue(
            &mut tx,
            Some(access.org.id),
            "signup_approved",
            &member.email,
            &format!("Welcome to {}", access.org.name),
            &text,
        )
        .await?;
        let updated = members::find(&mut tx, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        self.commit(tx).await?;
        Ok(updated)
    }

    /// Rejects a sign-up: the membership is removed; the account stays.
    pub async fn reject_member(
        &self,
        access: &OrgAccess,
        user_id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let (member, _) = self.reviewing_member(&mut tx, access, user_id).await?;
        members::delete(&mut tx, access.org.id, user_id).await?;
        record(
            &mut tx,
            meta,
            AuditEntry {
                org_id: Some(access.org.id),
                actor: Some(&access.principal),
                action: "member.reject",
                target: format!("user:{user_id}"),
                details: json!({ "email": member.email }),
            },
        )
        .await?;
        let text = format!(
            "Hello {},\n\nYour request to join the organization {} was not approved.",
            member.name, access.org.name
        );
        queue(
            &mut tx,
            Some(access.org.id),
            "signup_rejected",
            &member.email,
            &format!("Your request to join {}", access.org.name),
            &text,
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }
}
