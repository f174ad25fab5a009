//! Directory provisioning (SPEC §3a "SCIM 2.0", and §2's SCIM rule): SCIM
//! tokens, and the use cases an org's directory drives through
//! `/scim/v2`. The SCIM protocol itself (JSON, schemas, filters, PATCH)
//! lives in `integrations::scim`; it hands these use cases what the
//! directory says a person or group is, in Roster's terms.
//!
//! A SCIM token is an API token of its own kind (`rsc_...`, `kind =
//! 'scim'` in `api_tokens`), bound to one org. It acts as the org's
//! *directory account*: a service-kind account with no membership, so
//! every SCIM change is audited with that account as the actor and the
//! channel `scim`. A directory is not a member and holds no role: its use
//! cases check the rules themselves. It manages memberships only (never an
//! account's password, second factor or sessions), and never leaves an
//! org without an active owner.
//!
//! What a SCIM change does to an account (SPEC §2: no org weakens an
//! account another org relies on): a new address gets a new account
//! without a password (the welcome email carries a set-password link); an
//! address that has an account is linked to it. The account's email is
//! never changed by SCIM (it is how the person signs in everywhere); its
//! name follows the directory only while the account is in no other org.
//! What the directory says (emails, name, ...) is kept in the SCIM
//! resource either way.

use super::auth::{create_account, ACTIVITY_RESOLUTION};
use super::caller::{Actor, Caller, Credential};
use super::change::Change;
use super::error::{Result, StoreResultExt};
use super::notice::{
    MemberDisabledNotice, MemberEnabledNotice, MemberRemovedNotice, Notice, SignIn, WelcomeNotice,
};
use super::orgs::{invalid, owner_remains, remove_checked, resolve_role, OrgAccess};
use super::time::{parse_rfc3339, rfc3339};
use super::tokens::{person_email, token_name, MAX_TOKEN_LIFETIME, SERVICE_ACCOUNT_DOMAIN};
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::policy::is_active_owner;
use roster_domain::{
    Conflict, DisplayName, DomainError, Email, GroupId, GroupName, IdentityProvider,
    ManagementPermission, MemberStatus, OrgId, Team, Timestamp, TokenId, UserId,
};
use roster_store::members::{self, MemberFields};
use roster_store::orgs::Org;
use roster_store::scim::{self, DirectoryFields, DirectoryGroup, DirectoryMember, MemberLookup};
use roster_store::tokens::{self, NewToken, Token, TokenKind};
use roster_store::{groups, users, Conn, StoreError};
use serde_json::json;
use std::collections::BTreeSet;

/// SCIM tokens start with this; API tokens with `rst_`.
pub const SCIM_TOKEN_PREFIX: &str = "rsc_";
/// The directory account's name, as audit events show the actor.
pub const DIRECTORY_ACCOUNT_NAME: &str = "SCIM directory";
/// How members are told who changed their standing.
const BY_DIRECTORY: &str = "your organization's directory (SCIM)";

/// A SCIM token to make, as received.
#[derive(Debug, Clone, Default)]
pub struct NewScimToken {
    pub name: String,
    /// RFC 3339; at most a year ahead (the default).
    pub expires_at: Option<String>,
}

/// An org's directory, resolved from a SCIM token: the only thing the SCIM
/// use cases act for.
#[derive(Debug, Clone)]
pub struct Directory {
    pub caller: Caller,
    pub org: OrgId,
    pub token: TokenId,
}

/// What the directory says a person is, in Roster's terms (parsed from a
/// SCIM User by the integration).
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    /// As written; unique in the org, compared case-insensitively.
    pub user_name: String,
    pub external_id: Option<String>,
    /// The account's address: the userName when it is an email, else the
    /// primary or work address. Needed to create or link an account.
    pub email: Option<Email>,
    pub name: Option<DisplayName>,
    pub active: bool,
    /// The Enterprise User `department`.
    pub team: Team,
    /// The SCIM document to keep (JSON), returned as written.
    pub document: String,
}

/// What the directory says a group is.
#[derive(Debug, Clone)]
pub struct DirectoryGroupSpec {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Every member the group has: the full set.
    pub members: BTreeSet<UserId>,
    /// For a PATCH, the members the group had when the directory's
    /// operations were applied: then only the difference is applied (who
    /// was added, who was removed), so two PATCHes of one group at the
    /// same moment do not undo each other.
    pub since: Option<BTreeSet<UserId>>,
}

/// A person as SCIM shows them: the membership and the ids and display
/// names of their groups.
pub struct ProvisionedUser {
    pub member: DirectoryMember,
    pub groups: Vec<(GroupId, String)>,
}

/// A group as SCIM shows it, with its members (id and name).
pub struct ProvisionedGroup {
    pub group: DirectoryGroup,
    pub members: Vec<(UserId, String)>,
}

/// The Roster group name for a directory's displayName: lower-cased, with
/// every run of other characters as one '-' (`"Sales Team"` →
/// `sales-team`), at most 63 characters.
pub fn group_name_for(display_name: &str) -> Result<GroupName> {
    let mut out = String::new();
    for c in display_name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let name: String = out.trim_matches('-').chars().take(63).collect();
    GroupName::parse(name.trim_end_matches('-')).map_err(|_| {
        invalid(
            "displayName",
            "a group's displayName needs at least one letter or digit",
        )
    })
}

/// The org's directory account, made on first use: a service-kind
/// account at a reserved address, with no membership anywhere.
async fn directory_account(conn: &mut Conn, org: OrgId, now: Timestamp) -> Result<Actor> {
    let email = format!("scim@org-{}.{SERVICE_ACCOUNT_DOMAIN}", org.get());
    if let Some(u) = users::find_by_email(conn, &email).await? {
        return Ok(Actor::new(u.id, &u.email, &u.name));
    }
    let id = users::insert_service_account(
        conn,
        &email,
        DIRECTORY_ACCOUNT_NAME,
        &DIRECTORY_ACCOUNT_NAME.to_lowercase(),
        "the org's directory, provisioning people and groups through SCIM",
        now,
    )
    .await?;
    Ok(Actor::new(id, &email, DIRECTORY_ACCOUNT_NAME))
}

fn user_target(user_id: UserId) -> String {
    format!("user:{user_id}")
}

fn group_target(name: &str) -> String {
    format!("group:{name}")
}

fn taken(user_name: &str) -> AppError {
    AppError::conflict(
        Conflict::UserNameTaken,
        format!("a member of this org has the userName {user_name:?} already"),
    )
}

impl App {
    /// Makes a SCIM token for the org. Needs `integrations:manage` and a
    /// person's session. Returns the secret, shown once.
    pub async fn create_scim_token(
        &self,
        access: &OrgAccess,
        req: NewScimToken,
        meta: &RequestMeta,
    ) -> Result<(Token, String)> {
        access.caller.person_session()?;
        access.require(ManagementPermission::IntegrationsManage)?;
        if access.personal() {
            return Err(DomainError::PersonalOrg.into());
        }
        let name = token_name(&req.name)?;
        let now = self.now();
        let expires_at = match &req.expires_at {
            None => now.plus(MAX_TOKEN_LIFETIME),
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
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let now = c.now();
        let directory = directory_account(&mut c, access.org.id, now).await?;
        let secret = crypto::new_token(SCIM_TOKEN_PREFIX);
        let id = tokens::insert(
            &mut c,
            NewToken {
                kind: TokenKind::Scim,
                org_id: access.org.id,
                user_id: directory.user_id,
                name: &name,
                token_hash: &self.keys().hash_token(&secret),
                permissions: None,
                created_by: access.user_id(),
                now,
                expires_at,
            },
        )
        .await?;
        c.audit(
            "scim_token.create",
            format!("token:{id}"),
            json!({ "name": name, "expires_at": rfc3339(expires_at) }),
        )
        .await?;
        let token = tokens::get(&mut c, TokenKind::Scim, access.org.id, id).await?;
        c.touches_no_access();
        c.commit().await?;
        Ok((token, secret))
    }

    /// The org's SCIM tokens (never their secrets). Needs
    /// `integrations:manage`.
    pub async fn list_scim_tokens(&self, access: &OrgAccess) -> Result<Vec<Token>> {
        access.require(ManagementPermission::IntegrationsManage)?;
        let mut conn = self.store().conn().await?;
        Ok(tokens::list_scim(&mut conn, access.org.id).await?)
    }

    /// Revokes a SCIM token; the directory's next request with it fails.
    /// Needs `integrations:manage`.
    pub async fn revoke_scim_token(
        &self,
        access: &OrgAccess,
        id: TokenId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self
            .change(access, Some(ManagementPermission::IntegrationsManage), meta)
            .await?;
        let token = tokens::get(&mut c, TokenKind::Scim, access.org.id, id)
            .await
            .or_not_found("SCIM token")?;
        tokens::delete(&mut c, access.org.id, id).await?;
        c.touches_no_access();
        c.audit(
            "scim_token.revoke",
            format!("token:{id}"),
            json!({ "name": token.name }),
        )
        .await?;
        c.commit().await
    }

    /// The directory a SCIM token opens. A token that is unknown, revoked
    /// or expired is [`AppError::Unauthenticated`]; so is any other kind of
    /// token.
    pub async fn authenticate_scim(&self, token: &str, meta: &RequestMeta) -> Result<Directory> {
        if !token.starts_with(SCIM_TOKEN_PREFIX) || token.len() > 100 {
            return Err(AppError::Unauthenticated);
        }
        let hash = self.keys().hash_token(token);
        let now = self.now();
        let cached = self
            .inner
            .authz
            .cached_session(&hash, &meta.client_addr, now);
        let caller = match cached {
            Some(c) => c,
            None => {
                let generation = self.inner.authz.generation();
                let mut conn = self.store().conn().await?;
                let Some((t, _)) =
                    tokens::find_live(&mut conn, TokenKind::Scim, &hash, now).await?
                else {
                    return Err(AppError::Unauthenticated);
                };
                if t.last_used_from != meta.client_addr
                    || t.last_used_at
                        .is_none_or(|at| now.since(at) > ACTIVITY_RESOLUTION)
                {
                    drop(conn);
                    let mut conn = self.store().write_conn().await?;
                    tokens::touch(&mut conn, t.id, now, &meta.client_addr).await?;
                }
                let caller = Caller {
                    actor: Actor::new(t.user_id, &t.email, &t.owner_name),
                    credential: Credential::Scim {
                        id: t.id,
                        org: t.org_id,
                    },
                };
                self.inner.authz.cache_session(
                    hash,
                    &meta.client_addr,
                    caller.clone(),
                    t.expires_at,
                    generation,
                    now,
                );
                caller
            }
        };
        match caller.credential {
            Credential::Scim { id, org } => Ok(Directory {
                org,
                token: id,
                caller,
            }),
            _ => Err(AppError::Unauthenticated),
        }
    }

    /// The org's people that match `lookup`, in user id order.
    pub async fn scim_users(
        &self,
        d: &Directory,
        lookup: &MemberLookup<'_>,
    ) -> Result<Vec<ProvisionedUser>> {
        let mut conn = self.store().conn().await?;
        let found = scim::members(&mut conn, d.org, lookup).await?;
        let ids: Vec<UserId> = found.iter().map(|m| m.member.user_id).collect();
        let mut groups = scim::group_ids_of(&mut conn, d.org, &ids).await?;
        Ok(found
            .into_iter()
            .map(|member| {
                let groups = groups.remove(&member.member.user_id).unwrap_or_default();
                ProvisionedUser { member, groups }
            })
            .collect())
    }

    /// One person of the org, or "user not found" (also for another org's).
    pub async fn scim_user(&self, d: &Directory, user_id: UserId) -> Result<ProvisionedUser> {
        let lookup = MemberLookup {
            user_id: Some(user_id),
            ..MemberLookup::default()
        };
        self.scim_users(d, &lookup)
            .await?
            .pop()
            .ok_or(AppError::NotFound("user"))
    }

    /// Whether `user_name` is free in the org (but for `except`).
    async fn ensure_user_name_free(
        conn: &mut Conn,
        org: OrgId,
        user_name: &str,
        except: Option<UserId>,
    ) -> Result<()> {
        let folded = user_name.to_lowercase();
        let lookup = MemberLookup {
            user_name_folded: Some(&folded),
            ..MemberLookup::default()
        };
        let holders = scim::members(conn, org, &lookup).await?;
        if holders.iter().any(|m| Some(m.member.user_id) != except) {
            return Err(taken(user_name));
        }
        Ok(())
    }

    /// Provisions a person: links the account of their address, or makes
    /// one without a password, and makes them a member with the org's
    /// default role (or takes over a member the directory has not written
    /// yet). Returns their user id.
    pub async fn scim_create_user(
        &self,
        d: &Directory,
        u: DirectoryUser,
        meta: &RequestMeta,
    ) -> Result<UserId> {
        let email = u.email.clone().ok_or_else(|| {
            invalid(
                "emails",
                "Roster needs the person's email address: a userName that is one, or a primary or work address in emails",
            )
        })?;
        person_email(&email)?;
        let mut c = self
            .change_org(d.org, Some(d.caller.actor.clone()), meta)
            .await?;
        let org = c.org_row(d.org).await?;
        let now = c.now();
        Self::ensure_user_name_free(&mut c, org.id, &u.user_name, None).await?;
        let existing = users::find_by_email(&mut c, email.as_str()).await?;
        let (user_id, account_created) = match existing {
            Some(account) => {
                if account.service_account {
                    return Err(invalid("emails", "that address is a service account's"));
                }
                if let Some(current) = scim::member(&mut c, org.id, account.id).await? {
                    // A member the directory has not written yet is taken
                    // over; one it has written is a duplicate.
                    if current.scim_user_name.is_some() {
                        return Err(taken(current.scim_user_name.as_deref().unwrap_or_default()));
                    }
                    self.apply_user(&mut c, &org, &current, &u).await?;
                    c.commit().await?;
                    return Ok(account.id);
                }
                (account.id, false)
            }
            None => {
                let name = u
                    .name
                    .clone()
                    .unwrap_or_else(|| DisplayName::from_email(&email));
                let id = create_account(&mut c, now, &email, &name, None, false).await?;
                (id, true)
            }
        };
        let role = org.settings.default_role.clone();
        let status = if u.active {
            MemberStatus::Active
        } else {
            MemberStatus::Disabled
        };
        let provider = IdentityProvider::password();
        let membership = members::NewMembership {
            org_id: org.id,
            user_id,
            role: &role,
            team: u.team.as_str(),
            status,
            identity_provider: provider.as_str(),
            mfa_required: false,
            now,
        };
        scim::insert_member(&mut c, membership, &directory_fields(&u))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(Conflict::AlreadyMember) => AppError::conflict(
                    Conflict::AlreadyMember,
                    format!("{email} is already a member of {}", org.slug),
                ),
                StoreError::Conflict(Conflict::UserNameTaken) => user_name_conflict(&u),
                other => other.into(),
            })?;
        if account_created {
            c.new_account_member(user_id, email.as_str(), &role, status);
        } else {
            c.touch_member(user_id);
        }
        c.only_adds_members();
        c.audit(
            "member.create",
            user_target(user_id),
            json!({
                "email": email.as_str(),
                "user_name": u.user_name,
                "external_id": u.external_id,
                "role": role,
                "team": u.team.as_str(),
                "status": status.as_str(),
                "account_created": account_created,
            }),
        )
        .await?;
        let how = if account_created {
            let token = crypto::new_token(super::members::PASSWORD_LINK_PREFIX);
            users::insert_password_link(
                &mut c,
                &self.keys().hash_token(&token),
                user_id,
                now,
                now.plus(super::members::PASSWORD_LINK_TTL),
            )
            .await?;
            SignIn::SetPassword {
                link: format!("{}/set-password/{token}", self.settings().public_url),
            }
        } else {
            SignIn::ExistingAccount
        };
        if status == MemberStatus::Active {
            let notice = Notice::Welcome(WelcomeNotice {
                by_name: "Your organization's directory".to_owned(),
                by_email: "SCIM".to_owned(),
                org_name: org.name.clone(),
                email: email.as_str().to_owned(),
                how,
            });
            c.notify(email.as_str(), notice).await?;
        }
        c.commit().await?;
        Ok(user_id)
    }

    /// Sets what the directory says about a member: userName, externalId,
    /// active (the last active owner is never disabled), department (the
    /// team) and, for an account in no other org, the name.
    pub async fn scim_update_user(
        &self,
        d: &Directory,
        user_id: UserId,
        u: DirectoryUser,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self
            .change_org(d.org, Some(d.caller.actor.clone()), meta)
            .await?;
        let org = c.org_row(d.org).await?;
        let current = scim::member(&mut c, org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Self::ensure_user_name_free(&mut c, org.id, &u.user_name, Some(user_id)).await?;
        if self.apply_user(&mut c, &org, &current, &u).await? {
            c.commit().await
        } else {
            c.nothing_changed();
            Ok(())
        }
    }

    /// Applies `u` to a member inside a change; whether anything changed.
    async fn apply_user(
        &self,
        c: &mut Change<'_>,
        org: &Org,
        current: &DirectoryMember,
        u: &DirectoryUser,
    ) -> Result<bool> {
        let m = &current.member;
        let status = if u.active {
            MemberStatus::Active
        } else {
            MemberStatus::Disabled
        };
        let role = resolve_role(&m.role);
        owner_remains(
            c,
            org.id,
            m.user_id,
            is_active_owner(&role, m.status),
            is_active_owner(&role, status),
        )
        .await?;
        let now = c.now();
        let mut changes = serde_json::Map::new();
        let mut change = |field: &str, from: serde_json::Value, to: serde_json::Value| {
            if from != to {
                changes.insert(field.to_owned(), json!({ "from": from, "to": to }));
            }
        };
        change("status", json!(m.status.as_str()), json!(status.as_str()));
        change("team", json!(m.team), json!(u.team.as_str()));
        change(
            "user_name",
            json!(current.scim_user_name),
            json!(u.user_name),
        );
        change(
            "external_id",
            json!(current.scim_external_id),
            json!(u.external_id),
        );
        let document_changed = current.scim_document.as_deref() != Some(u.document.as_str());
        let rename = match &u.name {
            Some(name) if name.as_str() != m.name => {
                members::other_org_count(c, m.user_id, org.id).await? == 0
            }
            _ => false,
        };
        if rename {
            if let Some(name) = &u.name {
                change("name", json!(m.name), json!(name.as_str()));
            }
        }
        if changes.is_empty() && !document_changed {
            return Ok(false);
        }
        if status != m.status || u.team.as_str() != m.team {
            members::update(
                c,
                org.id,
                m.user_id,
                &MemberFields {
                    role: &m.role,
                    team: u.team.as_str(),
                    status,
                    identity_provider: &m.identity_provider,
                    mfa_required: m.mfa_required,
                },
                now,
            )
            .await
            .or_not_found("user")?;
        }
        if rename {
            if let Some(name) = &u.name {
                users::set_name(c, m.user_id, name.as_str(), &name.folded(), now).await?;
            }
        }
        write_directory_fields(c, org.id, m.user_id, u, now).await?;
        c.touch_member(m.user_id);
        c.audit(
            "member.update",
            user_target(m.user_id),
            json!({ "email": m.email, "changes": changes }),
        )
        .await?;
        if status != m.status {
            let (name, org_name) = (m.name.clone(), org.name.clone());
            let notice = match status {
                MemberStatus::Disabled => Notice::MemberDisabled(MemberDisabledNotice {
                    name,
                    org_name,
                    by: BY_DIRECTORY.to_owned(),
                }),
                _ => Notice::MemberEnabled(MemberEnabledNotice { name, org_name }),
            };
            c.notify(&m.email, notice).await?;
        }
        Ok(true)
    }

    /// Deprovisions a member: removes the membership (the account, its
    /// personal org and its audit events stay). Never the last owner.
    pub async fn scim_delete_user(
        &self,
        d: &Directory,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self
            .change_org(d.org, Some(d.caller.actor.clone()), meta)
            .await?;
        let org = c.org_row(d.org).await?;
        let current = scim::member(&mut c, org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let member = &current.member;
        remove_checked(&mut c, &org, member).await?;
        c.touch_member(user_id);
        c.audit(
            "member.remove",
            user_target(user_id),
            json!({ "email": member.email, "name": member.name, "role": member.role,
                "user_name": current.scim_user_name }),
        )
        .await?;
        let notice = Notice::MemberRemoved(MemberRemovedNotice {
            name: member.name.clone(),
            org_name: org.name.clone(),
            by: BY_DIRECTORY.to_owned(),
        });
        c.notify(&member.email, notice).await?;
        c.commit().await
    }

    /// The org's groups with their members, in id order.
    pub async fn scim_groups(&self, d: &Directory) -> Result<Vec<ProvisionedGroup>> {
        let mut conn = self.store().conn().await?;
        let all = scim::groups(&mut conn, d.org).await?;
        let mut members = scim::group_members(&mut conn, d.org).await?;
        Ok(all
            .into_iter()
            .map(|group| {
                let members = members.remove(&group.id).unwrap_or_default();
                ProvisionedGroup { group, members }
            })
            .collect())
    }

    /// One group of the org, or "group not found" (also for another org's).
    pub async fn scim_group(&self, d: &Directory, id: GroupId) -> Result<ProvisionedGroup> {
        let mut conn = self.store().conn().await?;
        let group = scim::group(&mut conn, d.org, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        let members = groups::member_ids(&mut conn, group.id).await?;
        let mut out = Vec::with_capacity(members.len());
        for user_id in members {
            let user = users::get(&mut conn, user_id).await?;
            out.push((user_id, user.name));
        }
        Ok(ProvisionedGroup {
            group,
            members: out,
        })
    }

    /// The wanted members that are people of the org. Others (unknown ids,
    /// another org's people, service accounts) are left out: RFC 7644 does
    /// not ask a server to refuse them, directories add members before
    /// their users exist and sync again later, and an error would tell a
    /// directory which ids exist elsewhere.
    async fn people_among(
        conn: &mut Conn,
        org: OrgId,
        wanted: &BTreeSet<UserId>,
    ) -> Result<BTreeSet<UserId>> {
        if wanted.is_empty() {
            return Ok(BTreeSet::new());
        }
        let people: BTreeSet<UserId> = scim::members(conn, org, &MemberLookup::default())
            .await?
            .into_iter()
            .map(|m| m.member.user_id)
            .collect();
        Ok(wanted.intersection(&people).copied().collect())
    }

    /// Makes a group as the directory describes it.
    pub async fn scim_create_group(
        &self,
        d: &Directory,
        g: DirectoryGroupSpec,
        meta: &RequestMeta,
    ) -> Result<GroupId> {
        let name = group_name_for(&g.display_name)?;
        let mut c = self
            .change_org(d.org, Some(d.caller.actor.clone()), meta)
            .await?;
        let now = c.now();
        let members = Self::people_among(&mut c, d.org, &g.members).await?;
        let id = groups::insert(&mut c, d.org, name.as_str(), now)
            .await
            .on_conflict(Conflict::GroupExists, || {
                format!("a group named {name} already exists")
            })?;
        scim::set_group_fields(&mut c, id, &g.display_name, g.external_id.as_deref(), now).await?;
        c.touch_group(id);
        c.audit(
            "group.create",
            group_target(name.as_str()),
            json!({ "display_name": g.display_name, "external_id": g.external_id }),
        )
        .await?;
        self.set_directory_group_members(&mut c, d.org, id, name.as_str(), &members)
            .await?;
        c.commit().await?;
        Ok(id)
    }

    /// Sets a group to what the directory describes: its displayName (a
    /// new name renames the group), externalId and members.
    pub async fn scim_update_group(
        &self,
        d: &Directory,
        id: GroupId,
        g: DirectoryGroupSpec,
        meta: &RequestMeta,
    ) -> Result<()> {
        let name = group_name_for(&g.display_name)?;
        let mut c = self
            .change_org(d.org, Some(d.caller.actor.clone()), meta)
            .await?;
        let now = c.now();
        let current = scim::group(&mut c, d.org, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        let members = match &g.since {
            None => Self::people_among(&mut c, d.org, &g.members).await?,
            Some(before) => {
                let added: BTreeSet<UserId> = g.members.difference(before).copied().collect();
                let added = Self::people_among(&mut c, d.org, &added).await?;
                let now_in: BTreeSet<UserId> =
                    groups::member_ids(&mut c, id).await?.into_iter().collect();
                now_in
                    .union(&added)
                    .filter(|u| g.members.contains(u) || !before.contains(u))
                    .copied()
                    .collect()
            }
        };
        let mut changed = false;
        if current.name != name.as_str() {
            groups::rename(&mut c, id, name.as_str())
                .await
                .on_conflict(Conflict::GroupExists, || {
                    format!("a group named {name} already exists")
                })?;
            c.audit(
                "group.rename",
                group_target(name.as_str()),
                json!({ "from": current.name }),
            )
            .await?;
            c.touch_group(id);
            changed = true;
        }
        let shown = current
            .scim_display_name
            .as_deref()
            .unwrap_or(&current.name);
        if shown != g.display_name || current.scim_external_id != g.external_id {
            scim::set_group_fields(&mut c, id, &g.display_name, g.external_id.as_deref(), now)
                .await?;
            c.audit(
                "group.update",
                group_target(name.as_str()),
                json!({ "display_name": g.display_name, "external_id": g.external_id }),
            )
            .await?;
            changed = true;
        }
        changed |= self
            .set_directory_group_members(&mut c, d.org, id, name.as_str(), &members)
            .await?;
        if changed {
            c.commit().await
        } else {
            c.nothing_changed();
            Ok(())
        }
    }

    /// The one place where SCIM changes who is in a group: every SCIM
    /// request that adds or removes a group's members comes through here,
    /// inside its change. Returns whether anything changed.
    ///
    /// The org's group mappings (shared with SSO) turn a person's directory
    /// groups into their role: that resolution belongs here, applied to
    /// every user whose groups this call changes.
    async fn set_directory_group_members(
        &self,
        c: &mut Change<'_>,
        org: OrgId,
        group: GroupId,
        name: &str,
        wanted: &BTreeSet<UserId>,
    ) -> Result<bool> {
        let now = c.now();
        let current: BTreeSet<UserId> = groups::member_ids(c, group).await?.into_iter().collect();
        let mut changed = false;
        for &user_id in wanted.difference(&current) {
            groups::add_member(c, org, group, user_id, now).await?;
            c.touch_member(user_id);
            c.audit(
                "group.member_add",
                group_target(name),
                json!({ "user": user_id.get() }),
            )
            .await?;
            changed = true;
        }
        for &user_id in current.difference(wanted) {
            groups::remove_member(c, group, user_id).await?;
            c.touch_member(user_id);
            c.audit(
                "group.member_remove",
                group_target(name),
                json!({ "user": user_id.get() }),
            )
            .await?;
            changed = true;
        }
        if changed {
            scim::touch_group(c, group, now).await?;
            let moved: Vec<UserId> = wanted.symmetric_difference(&current).copied().collect();
            self.apply_group_mappings(c, org, &moved).await?;
        }
        Ok(changed)
    }

    /// Gives each of `users` the role (and mapped groups) the org's group
    /// mappings give their directory groups now: the same table and rule
    /// as single sign-on (`app::sso::resolve`: the first matching mapping
    /// with a role wins; the last owner is never demoted). A person's
    /// directory group names are the displayNames of the groups they are
    /// in. What changed is audited as `member.update`.
    async fn apply_group_mappings(
        &self,
        c: &mut Change<'_>,
        org: OrgId,
        users: &[UserId],
    ) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let now = c.now();
        let groups_of = scim::group_ids_of(c, org, users).await?;
        for &user in users {
            let names: Vec<String> = groups_of
                .get(&user)
                .map(|gs| gs.iter().map(|(_, n)| n.clone()).collect())
                .unwrap_or_default();
            let applied = super::sso::apply_mappings(c, org, user, &names, now).await?;
            if applied.role_to.is_none()
                && !applied.kept_last_owner
                && applied.groups_added.is_empty()
                && applied.groups_removed.is_empty()
            {
                continue;
            }
            c.touch_member(user);
            c.audit(
                "member.update",
                user_target(user),
                json!({
                    "by": "group mappings",
                    "role_from": applied.role_from,
                    "role_to": applied.role_to,
                    "last_owner_kept": applied.kept_last_owner,
                    "groups_added": applied.groups_added,
                    "groups_removed": applied.groups_removed,
                }),
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes a group the directory removed. A group that gates resources
    /// is refused, as from the API.
    pub async fn scim_delete_group(
        &self,
        d: &Directory,
        id: GroupId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self
            .change_org(d.org, Some(d.caller.actor.clone()), meta)
            .await?;
        let group = scim::group(&mut c, d.org, id)
            .await?
            .ok_or(AppError::NotFound("group"))?;
        let gated = roster_store::resources::gated_by(&mut c, id).await?;
        if !gated.is_empty() {
            return Err(AppError::conflict(
                Conflict::GroupInUse,
                format!(
                    "group {} gates {}; remove it from those resources first",
                    group.name,
                    gated.join(", ")
                ),
            ));
        }
        let members = groups::member_ids(&mut c, id).await?;
        let count = members.len();
        groups::delete(&mut c, id).await?;
        c.touch_removed_group(id, members);
        c.only_moves_access();
        c.audit(
            "group.delete",
            group_target(&group.name),
            json!({ "members": count }),
        )
        .await?;
        c.commit().await
    }
}

/// Stores what the directory wrote about a member (userName, externalId,
/// the document); a userName another member of the org has is a conflict.
async fn write_directory_fields(
    conn: &mut Conn,
    org: OrgId,
    user: UserId,
    u: &DirectoryUser,
    now: Timestamp,
) -> Result<()> {
    scim::set_member_fields(conn, org, user, &directory_fields(u), now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Conflict::UserNameTaken) => user_name_conflict(u),
            other => other.into(),
        })
}

fn directory_fields(u: &DirectoryUser) -> DirectoryFields<'_> {
    DirectoryFields {
        user_name: &u.user_name,
        external_id: u.external_id.as_deref(),
        document: &u.document,
    }
}

/// Another member has the userName `u` names (the unique index caught what
/// the lookup before the write could not: only a race gets here).
fn user_name_conflict(u: &DirectoryUser) -> AppError {
    AppError::conflict(
        Conflict::UserNameTaken,
        format!(
            "a member of this org has the userName {:?} already",
            u.user_name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_display_name_becomes_a_group_name() {
        let name = |s: &str| group_name_for(s).map(|g| g.as_str().to_owned()).ok();
        assert_eq!(name("Sales Team").as_deref(), Some("sales-team"));
        assert_eq!(name("  R&D / Ops ").as_deref(), Some("r-d-ops"));
        assert_eq!(name("dev_ops.eu").as_deref(), Some("dev_ops.eu"));
        assert_eq!(name("!!!"), None);
        assert_eq!(name(&"x".repeat(100)).map(|s| s.len()), Some(63));
    }
}
