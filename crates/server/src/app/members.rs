//! Members of an organization: adding people directly, the team list,
//! editing, disabling and removing (SPEC §2, §3.1).

use super::auth::{create_account, hash_blocking};
use super::caller::Actor;
use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::notice::{
    MemberDisabledNotice, MemberEnabledNotice, MemberRemovedNotice, Notice, RoleChangedNotice,
    SignIn, WelcomeNotice,
};
use super::orgs::{invalid, owner_remains, remove_checked, resolve_role, OrgAccess};
use super::tokens::person_email;
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::policy::{self, is_active_owner};
use roster_domain::{
    Conflict, DisplayName, DomainError, Email, GroupName, IdentityProvider, ManagementPermission,
    MemberStatus, Team, UserId,
};
use roster_store::invitations::Invitation;
use roster_store::members::{self, Member, MemberFields, MemberFilter};
use roster_store::users;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Set-password link tokens start with this.
pub const PASSWORD_LINK_PREFIX: &str = "rsp_";
pub(crate) const PASSWORD_LINK_TTL: Duration = Duration::from_secs(72 * 3600);

/// `POST /orgs/{org}/users`, parsed.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub name: Option<DisplayName>,
    pub role: Option<String>,
    pub team: Team,
    pub groups: Vec<GroupName>,
    pub identity_provider: IdentityProvider,
    pub mfa_required: bool,
    /// Email a welcome with a one-time set-password link.
    pub send_welcome: bool,
}

/// Who was added: a new account's membership, or, for an address that
/// already has an account, an invitation the person accepts (an org never
/// takes in someone's account without them).
pub enum Added {
    Member(Member),
    Invited(Invitation),
}

/// The outcome of adding a member.
pub struct CreatedMember {
    pub added: Added,
    /// Shown once: a new password account's temporary password.
    pub temporary_password: Option<String>,
    pub account_created: bool,
}

/// A change to a member, as received; every field optional.
#[derive(Debug, Default, Clone)]
pub struct MemberUpdate {
    pub role: Option<String>,
    pub team: Option<String>,
    pub groups: Option<Vec<String>>,
    pub status: Option<String>,
    pub mfa_required: Option<bool>,
    pub identity_provider: Option<String>,
}

impl MemberUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.role.is_none()
            && self.team.is_none()
            && self.groups.is_none()
            && self.status.is_none()
            && self.mfa_required.is_none()
            && self.identity_provider.is_none()
    }
}

fn target(user_id: UserId) -> String {
    format!("user:{user_id}")
}

impl App {
    /// Adds a person to the org. A new email gets an account with a
    /// temporary password (password provider) that must be changed at first
    /// sign-in. An email that already has an account gets an invitation
    /// with the same role, team and groups instead: the account is the
    /// person's, and only they join it to another org (SPEC §2).
    pub async fn create_member(
        &self,
        access: &OrgAccess,
        new: NewMember,
        meta: &RequestMeta,
    ) -> Result<CreatedMember> {
        access.require(ManagementPermission::UsersManage)?;
        if access.personal() {
            return Err(DomainError::PersonalOrg.into());
        }
        person_email(&new.email)?;
        let role = match &new.role {
            Some(r) => self.parse_role(access, r).await?,
            None => {
                self.parse_role(access, &access.org.settings.default_role)
                    .await?
            }
        };
        policy::may_grant(&access.role, &role, &access.catalog)?;

        let existing = {
            let mut conn = self.store().conn().await?;
            users::find_by_email(&mut conn, new.email.as_str()).await?
        };
        // Hash outside the transaction: it is slow and holds no lock.
        let temporary = match (
            &existing,
            new.identity_provider == IdentityProvider::password(),
        ) {
            (None, true) => {
                let pw = crypto::temporary_password();
                let hash = hash_blocking(pw.clone()).await?;
                Some((pw, hash))
            }
            _ => None,
        };

        let org = &access.org;
        let mut c = self
            .change(access, Some(ManagementPermission::UsersManage), meta)
            .await?;
        policy::may_grant(c.held()?, &role, &access.catalog)?;
        let now = c.now();
        // Re-read under the lock: another request may have created it.
        let (user_id, created) = match users::find_by_email(&mut c, new.email.as_str()).await? {
            Some(u) => {
                if members::find(&mut c, org.id, u.id).await?.is_some() {
                    return Err(AppError::conflict(
                        Conflict::AlreadyMember,
                        format!("{} is already a member of {}", new.email, org.slug),
                    ));
                }
                let groups: Vec<String> =
                    new.groups.iter().map(|g| g.as_str().to_owned()).collect();
                let (invitation, _link) = self
                    .insert_invitation(
                        &mut c,
                        access,
                        &new.email,
                        role.name().as_str(),
                        &new.team,
                        &groups,
                    )
                    .await?;
                c.commit().await?;
                return Ok(CreatedMember {
                    added: Added::Invited(invitation),
                    temporary_password: None,
                    account_created: false,
                });
            }
            None => {
                let name = new
                    .name
                    .clone()
                    .unwrap_or_else(|| DisplayName::from_email(&new.email));
                let hash = temporary.as_ref().map(|(_, h)| h.as_str());
                let id =
                    create_account(&mut c, now, &new.email, &name, hash, hash.is_some()).await?;
                (id, true)
            }
        };
        members::insert(
            &mut c,
            members::NewMembership {
                org_id: org.id,
                user_id,
                role: role.name().as_str(),
                team: new.team.as_str(),
                status: MemberStatus::Active,
                identity_provider: new.identity_provider.as_str(),
                mfa_required: new.mfa_required,
                now,
            },
        )
        .await
        .on_conflict(Conflict::AlreadyMember, || {
            format!("{} is already a member of {}", new.email, org.slug)
        })?;
        let groups: Vec<String> = new.groups.iter().map(|g| g.as_str().to_owned()).collect();
        members::set_groups(&mut c, org.id, user_id, &groups, now).await?;
        c.touch_member(user_id);
        c.only_adds_members();
        c.audit(
            "member.create",
            target(user_id),
            json!({
                "email": new.email.as_str(),
                "role": role.name().as_str(),
                "team": new.team.as_str(),
                "groups": groups,
                "identity_provider": new.identity_provider.as_str(),
                "mfa_required": new.mfa_required,
                "account_created": created,
            }),
        )
        .await?;
        if new.send_welcome {
            self.queue_welcome(
                &mut c,
                access,
                user_id,
                &new,
                created && temporary.is_some(),
            )
            .await?;
        }
        let member = members::find(&mut c, org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        c.commit().await?;
        Ok(CreatedMember {
            added: Added::Member(member),
            temporary_password: if created {
                temporary.map(|(pw, _)| pw)
            } else {
                None
            },
            account_created: created,
        })
    }

    /// Queues the welcome email. A new password account gets a one-time link
    /// to choose a password (valid 72 hours); others are told how to sign in.
    async fn queue_welcome(
        &self,
        c: &mut Change<'_>,
        access: &OrgAccess,
        user_id: UserId,
        new: &NewMember,
        with_link: bool,
    ) -> Result<()> {
        let how = if with_link {
            let token = crypto::new_token(PASSWORD_LINK_PREFIX);
            let now = c.now();
            users::insert_password_link(
                c,
                &self.keys().hash_token(&token),
                user_id,
                now,
                now.plus(PASSWORD_LINK_TTL),
            )
            .await?;
            SignIn::SetPassword {
                link: format!("{}/set-password/{token}", self.settings().public_url),
            }
        } else if new.identity_provider == IdentityProvider::password() {
            SignIn::ExistingAccount
        } else {
            SignIn::SingleSignOn {
                provider: new.identity_provider.as_str().to_owned(),
            }
        };
        let notice = Notice::Welcome(WelcomeNotice {
            by_name: access.caller.actor.name.to_string(),
            by_email: access.caller.actor.email.to_string(),
            org_name: access.org.name.clone(),
            email: new.email.as_str().to_owned(),
            how,
        });
        c.notify(new.email.as_str(), notice).await
    }

    /// Sets a password with a one-time link from a welcome email. Ends the
    /// user's sessions; the temporary password, if any, stops working.
    pub async fn set_password_with_link(
        &self,
        token: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        if !token.starts_with(PASSWORD_LINK_PREFIX) || token.len() > 100 {
            return Err(AppError::InvalidLink);
        }
        let password = roster_domain::Password::parse_new(password)?;
        let hash = super::auth::hash_blocking(password.expose().to_owned()).await?;
        let mut c = self.change_account(None, meta).await?;
        let now = c.now();
        let user_id = users::use_password_link(&mut c, &self.keys().hash_token(token), now)
            .await?
            .ok_or(AppError::InvalidLink)?;
        users::set_password(&mut c, user_id, &hash, false, now).await?;
        roster_store::sessions::delete_all(&mut c, user_id).await?;
        let user = users::get(&mut c, user_id).await?;
        c.acting_as(Actor::new(user_id, &user.email, &user.name));
        c.audit(
            "user.password_set",
            format!("user:{user_id}"),
            json!({ "via": "welcome link" }),
        )
        .await?;
        c.commit().await
    }

    /// Whether a set-password link is still good (for showing its page).
    pub async fn password_link_valid(&self, token: &str) -> Result<bool> {
        let mut conn = self.store().conn().await?;
        Ok(
            users::password_link_user(&mut conn, &self.keys().hash_token(token), self.now())
                .await?
                .is_some(),
        )
    }

    /// A page of the team list. Needs `users:read`.
    pub async fn list_members(
        &self,
        access: &OrgAccess,
        filter: &MemberFilter,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Member>> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        Ok(members::list(&mut conn, access.org.id, filter, after, limit).await?)
    }

    pub async fn get_member(&self, access: &OrgAccess, user_id: UserId) -> Result<Member> {
        access.require(ManagementPermission::UsersRead)?;
        let mut conn = self.store().conn().await?;
        members::find(&mut conn, access.org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))
    }

    /// Edits a member. Every rule is checked under the org's lock against
    /// the member as it is at that moment, so two owners demoting each
    /// other at once leave one owner.
    pub async fn update_member(
        &self,
        access: &OrgAccess,
        user_id: UserId,
        u: MemberUpdate,
        meta: &RequestMeta,
    ) -> Result<Member> {
        // Parse everything before taking the lock.
        let new_role = match u.role.as_deref() {
            Some(r) => Some(self.parse_role(access, r).await?),
            None => None,
        };
        let new_status = u.status.as_deref().map(MemberStatus::parse).transpose()?;
        let new_team = u.team.as_deref().map(Team::parse).transpose()?;
        let new_groups = u
            .groups
            .as_ref()
            .map(|g| GroupName::parse_list(g.iter().map(String::as_str)))
            .transpose()?;
        let new_idp = u
            .identity_provider
            .as_deref()
            .map(IdentityProvider::parse)
            .transpose()?;
        if new_status == Some(MemberStatus::Reviewing) {
            return Err(invalid("status", "status can be set to active or disabled; reviewing is for sign-ups awaiting approval"));
        }

        let org = &access.org;
        let mut c = self.change(access, None, meta).await?;
        let actor = c.held()?.clone();
        let current = members::find(&mut c, org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let current_role = resolve_role(&current.role);
        let current_status = current.status;
        let role = new_role.clone().unwrap_or_else(|| current_role.clone());
        let status = new_status.unwrap_or(current_status);

        // Approving a sign-up needs users:approve; anything else users:manage.
        let approving = current_status == MemberStatus::Reviewing && status == MemberStatus::Active;
        let only_approval = approving
            && new_team.is_none()
            && new_groups.is_none()
            && new_idp.is_none()
            && u.mfa_required.is_none();
        if only_approval {
            policy::require(&actor, ManagementPermission::UsersApprove)?;
            if current_role.is_owner() {
                policy::require(&actor, ManagementPermission::OwnersManage)?;
            }
        } else {
            policy::may_manage_member(&actor, &current_role)?;
        }
        if new_role
            .as_ref()
            .is_some_and(|r| r.name() != current_role.name())
        {
            policy::may_change_role(&actor, &current_role, &role, &access.catalog).or_else(
                |e| {
                    if only_approval {
                        policy::may_grant(&actor, &role, &access.catalog)
                    } else {
                        Err(e)
                    }
                },
            )?;
        }
        owner_remains(
            &mut c,
            org.id,
            user_id,
            is_active_owner(&current_role, current_status),
            is_active_owner(&role, status),
        )
        .await?;

        let team = new_team
            .as_ref()
            .map(|t| t.as_str())
            .unwrap_or(&current.team);
        let idp = new_idp
            .as_ref()
            .map(|i| i.as_str())
            .unwrap_or(&current.identity_provider);
        let mfa_required = u.mfa_required.unwrap_or(current.mfa_required);
        let now = c.now();
        members::update(
            &mut c,
            org.id,
            user_id,
            &MemberFields {
                role: role.name().as_str(),
                team,
                status,
                identity_provider: idp,
                mfa_required,
            },
            now,
        )
        .await
        .or_not_found("member")?;
        let groups: Option<Vec<String>> =
            new_groups.map(|gs| gs.iter().map(|g| g.as_str().to_owned()).collect());
        if let Some(gs) = &groups {
            members::set_groups(&mut c, org.id, user_id, gs, now).await?;
        }
        c.touch_member(user_id);
        if status == current_status
            && idp == current.identity_provider
            && mfa_required == current.mfa_required
        {
            // Role, team and groups are read for each request (the org
            // access from the database, a check from the index), never
            // kept with a validated credential.
            c.only_moves_access();
        }

        let mut changes = Map::new();
        let mut change = |field: &str, from: Value, to: Value| {
            if from != to {
                changes.insert(field.to_owned(), json!({ "from": from, "to": to }));
            }
        };
        change("role", json!(current.role), json!(role.name().as_str()));
        change(
            "status",
            json!(current.status.as_str()),
            json!(status.as_str()),
        );
        change("team", json!(current.team), json!(team));
        change(
            "identity_provider",
            json!(current.identity_provider),
            json!(idp),
        );
        change(
            "mfa_required",
            json!(current.mfa_required),
            json!(mfa_required),
        );
        if let Some(gs) = &groups {
            change("groups", json!(current.groups), json!(gs));
        }
        let action = if approving {
            "member.approve"
        } else {
            "member.update"
        };
        c.audit(
            action,
            target(user_id),
            json!({ "email": current.email, "changes": changes }),
        )
        .await?;

        // Tell the member about changes to their standing (SPEC §2).
        let by = &access.caller.actor.email;
        if current.role != role.name().as_str() {
            let notice = Notice::RoleChanged(RoleChangedNotice {
                name: current.name.clone(),
                org_name: org.name.clone(),
                from: current.role.clone(),
                to: role.name().to_string(),
                by: by.to_string(),
            });
            c.notify(&current.email, notice).await?;
        }
        if current_status != status {
            let (name, org_name) = (current.name.clone(), org.name.clone());
            let notice = match status {
                MemberStatus::Disabled => Notice::MemberDisabled(MemberDisabledNotice {
                    name,
                    org_name,
                    by: by.to_string(),
                }),
                _ => Notice::MemberEnabled(MemberEnabledNotice { name, org_name }),
            };
            c.notify(&current.email, notice).await?;
        }
        let member = members::find(&mut c, org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        c.commit().await?;
        Ok(member)
    }

    /// Removes a member. Their account, personal org and audit events stay;
    /// they are told by email. Removing oneself is leaving.
    pub async fn remove_member(
        &self,
        access: &OrgAccess,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        if user_id == access.user_id() {
            return self.leave_org(&access.caller, &access.org.slug, meta).await;
        }
        let org = &access.org;
        let mut c = self.change(access, None, meta).await?;
        let member = members::find(&mut c, org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        policy::may_manage_member(c.held()?, &resolve_role(&member.role))?;
        remove_checked(&mut c, org, &member).await?;
        c.touch_member(user_id);
        c.audit(
            "member.remove",
            target(user_id),
            json!({ "email": member.email, "name": member.name, "role": member.role }),
        )
        .await?;
        let notice = Notice::MemberRemoved(MemberRemovedNotice {
            name: member.name.clone(),
            org_name: org.name.clone(),
            by: access.caller.actor.email.to_string(),
        });
        c.notify(&member.email, notice).await?;
        c.commit().await
    }
}
