//! Organizations: creating, reading and changing them, leaving them, and
//! resolving the caller's access to one ([`OrgAccess`]).

use super::auth::add_first_owner;
use super::auth::ACTIVITY_RESOLUTION;
use super::caller::{Caller, Reach};
use super::error::{Result, StoreResultExt};
use super::{App, AppError, RequestMeta};
use roster_domain::policy::{self, ensure_owner_remains, is_active_owner};
use roster_domain::{
    ActionClass, BuiltinRole, Catalog, Conflict, DomainError, Field, ManagementPermission,
    MemberStatus, OrgId, OrgName, OrgSlug, ResourceId, Role, RoleName, RolePermissions, UserId,
};
use roster_store::members::{self, Member};
use roster_store::orgs::{self, Org, OrgSettings};
use roster_store::Conn;
use serde_json::json;

/// The caller's standing in one organization, resolved once per request:
/// an active membership and the role it carries. Org-scoped use cases take
/// an `OrgAccess`, so they cannot run for someone who is not an active
/// member, and ask it for the permissions they need.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub caller: Caller,
    pub org: Org,
    /// The caller's own membership, as this request read it.
    pub member: members::Standing,
    /// Everything the caller holds org-wide: their org role merged with the
    /// org-wide access rules naming them or one of their groups.
    pub role: Role,
    /// The org's resource-type catalog.
    pub catalog: Catalog,
}

impl OrgAccess {
    pub fn require(&self, p: ManagementPermission) -> Result<()> {
        Ok(policy::require(&self.role, p)?)
    }

    /// The acting account's id.
    pub fn user_id(&self) -> UserId {
        self.caller.user_id()
    }

    /// Whether this is the caller's personal org.
    pub fn personal(&self) -> bool {
        self.org.personal_user_id.is_some()
    }
}

/// Resolves a stored role name among the built-in roles only; a custom
/// name resolves to a role that grants nothing. Enough where only "is this
/// the owner role?" matters (custom roles never are); use
/// [`load_role`] where the permissions matter.
pub(crate) fn resolve_role(name: &str) -> Role {
    match RoleName::parse(name) {
        Ok(n) => Role::builtin_named(&n).unwrap_or_else(|| Role::nothing(n)),
        Err(_) => Role::nothing(RoleName::from(BuiltinRole::ViewerNoSecrets)),
    }
}

/// The org's catalog: the default one with the org's additions.
pub(crate) async fn load_catalog(conn: &mut Conn, org_id: OrgId) -> Result<Catalog> {
    Ok(catalog_from_rows(
        &roster_store::roles::actions(conn, org_id).await?,
    ))
}

/// The default catalog with the org's stored additions. Rows were
/// validated when written; one that no longer fits is skipped rather than
/// failing every request of the org.
pub(crate) fn catalog_from_rows(rows: &[roster_store::roles::ActionRow]) -> Catalog {
    let mut catalog = Catalog::default_catalog();
    for row in rows {
        if let Ok(class) = ActionClass::parse(&row.class) {
            let _ = catalog.add(&row.resource_type, &row.action, class);
        }
    }
    catalog
}

/// Resolves a stored role name, built-in or custom. Unknown names grant
/// nothing (fail closed).
pub(crate) async fn load_role(
    conn: &mut Conn,
    org_id: OrgId,
    catalog: &Catalog,
    name: &str,
) -> Result<Role> {
    let Ok(n) = RoleName::parse(name) else {
        return Ok(Role::nothing(RoleName::from(BuiltinRole::ViewerNoSecrets)));
    };
    if let Some(r) = Role::builtin_named(&n) {
        return Ok(r);
    }
    Ok(
        match roster_store::roles::find(conn, org_id, n.as_str()).await? {
            Some(row) => Role::custom(n, RolePermissions::from_stored(&row.permissions, catalog)),
            None => Role::nothing(n),
        },
    )
}

/// Parses a role named in a request: a built-in role or one of the org's
/// custom roles. An unknown name is a validation error.
pub(crate) async fn parse_role(
    conn: &mut Conn,
    org_id: OrgId,
    catalog: &Catalog,
    raw: &str,
) -> Result<Role> {
    let name = RoleName::parse(raw)?;
    if let Some(r) = Role::builtin_named(&name) {
        return Ok(r);
    }
    match roster_store::roles::find(conn, org_id, name.as_str()).await? {
        Some(row) => Ok(Role::custom(
            name,
            RolePermissions::from_stored(&row.permissions, catalog),
        )),
        None => Err(AppError::Domain(DomainError::Invalid {
            field: Field("role"),
            message: format!(
                "unknown role {raw:?}; roles are owner, admin, contributor, viewer, viewer-no-secrets or one of the org's custom roles"
            ),
        })),
    }
}

/// What a caller may use of `role`: all of it, or what an API token's
/// permission list leaves of it (decided on every request, so a demoted
/// owner's token narrows at once).
pub(crate) fn limited(role: Role, caller: &Caller, catalog: &Catalog) -> Role {
    match caller.limit() {
        None => role,
        Some(list) => role.limited_to(&RolePermissions::from_stored(list, catalog), catalog),
    }
}

/// What a member holds at the org or at a resource: their org role merged
/// with the roles of the access rules naming them or one of their groups at
/// the org, or at `scope` (a resource and its ancestors).
pub(crate) async fn effective_role(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    org_role: &str,
    catalog: &Catalog,
    scope: &[ResourceId],
) -> Result<Role> {
    let mut role = load_role(conn, org_id, catalog, org_role).await?;
    for name in roster_store::rules::roles_for(conn, org_id, user_id, scope).await? {
        let extra = load_role(conn, org_id, catalog, &name).await?;
        role = role.merged_with(&extra);
    }
    Ok(role)
}

impl App {
    /// Parses a role named in a request against the org of `access`.
    pub(crate) async fn parse_role(&self, access: &OrgAccess, raw: &str) -> Result<Role> {
        let mut conn = self.store().conn().await?;
        parse_role(&mut conn, access.org.id, &access.catalog, raw).await
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Domain(DomainError::Invalid {
        field: Field(field),
        message: message.into(),
    })
}

/// The advice shown to administrators about an org.
pub fn warnings(active_owners: i64, personal: bool) -> Vec<String> {
    if active_owners == 1 && !personal {
        vec!["this organization has only one owner; a second owner is recommended".to_owned()]
    } else {
        Vec::new()
    }
}

/// A change to an org's settings, as received; every field optional.
#[derive(Debug, Default, Clone)]
pub struct OrgUpdate {
    pub name: Option<String>,
    pub allowed_domains: Option<Vec<String>>,
    pub self_registration: Option<bool>,
    pub invitation_ttl_seconds: Option<i64>,
    pub mfa_policy: Option<String>,
    pub default_role: Option<String>,
}

impl OrgUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.allowed_domains.is_none()
            && self.self_registration.is_none()
            && self.invitation_ttl_seconds.is_none()
            && self.mfa_policy.is_none()
            && self.default_role.is_none()
    }
}

fn parse_domain(raw: &str) -> Result<String> {
    let d = raw.trim().trim_start_matches('@').to_lowercase();
    // A domain is valid when `x@domain` is a valid email.
    roster_domain::Email::parse(&format!("x@{d}"))
        .map(|_| d)
        .map_err(|_| {
            invalid(
                "allowed_domains",
                format!("{raw:?} is not a domain like example.com"),
            )
        })
}

impl App {
    /// Resolves the caller's access to the org named `slug`. An org the
    /// caller is not a member of is "not found", so slugs do not leak. The
    /// caller must be past every sign-in step.
    pub async fn org_access(&self, caller: &Caller, slug: &str) -> Result<OrgAccess> {
        caller.admits(Reach::Everything)?;
        let mut conn = self.store().conn().await?;
        let org = orgs::find_by_slug(&mut conn, slug)
            .await?
            .filter(|o| caller.bound_org().is_none_or(|bound| bound == o.id))
            .ok_or(AppError::NotFound("organization"))?;
        let member = members::standing(&mut conn, org.id, caller.user_id())
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        if member.status != MemberStatus::Active {
            return Err(AppError::MembershipInactive {
                status: member.status,
            });
        }
        self.sso_gate(&mut conn, org.id, &org.slug, caller).await?;
        let now = self.now();
        if member
            .last_active_at
            .is_none_or(|t| now.since(t) > ACTIVITY_RESOLUTION)
        {
            members::touch_activity(
                &mut conn,
                org.id,
                caller.user_id(),
                now,
                ACTIVITY_RESOLUTION,
            )
            .await?;
        }
        let catalog = load_catalog(&mut conn, org.id).await?;
        let role = effective_role(
            &mut conn,
            org.id,
            caller.user_id(),
            &member.role,
            &catalog,
            &[],
        )
        .await?;
        let role = limited(role, caller, &catalog);
        Ok(OrgAccess {
            caller: caller.clone(),
            org,
            member,
            role,
            catalog,
        })
    }

    /// Creates an org; the creator becomes its owner.
    pub async fn create_org(
        &self,
        caller: &Caller,
        slug: &str,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<OrgAccess> {
        caller.admits(Reach::Everything)?;
        caller.person_session()?;
        self.may_create_orgs(caller).await?;
        let slug = OrgSlug::parse(slug)?;
        if slug.is_reserved() {
            return Err(invalid(
                "slug",
                "slugs starting with personal- are reserved",
            ));
        }
        let name = OrgName::parse(name)?;
        let mut c = self
            .change_account(Some(caller.actor.clone()), meta)
            .await?;
        let now = c.now();
        let org_id = orgs::insert(&mut c, slug.as_str(), name.as_str(), None, now)
            .await
            .on_conflict(Conflict::SlugTaken, || format!("the slug {slug} is taken"))?;
        c.in_org(org_id);
        add_first_owner(&mut c, org_id, caller.user_id(), now).await?;
        c.audit(
            "org.create",
            format!("org:{slug}"),
            json!({ "name": name.as_str() }),
        )
        .await?;
        c.commit().await?;
        self.org_access(caller, slug.as_str()).await
    }

    /// Whether the instance's `org_creation` setting lets `caller` create
    /// orgs.
    async fn may_create_orgs(&self, caller: &Caller) -> Result<()> {
        use super::OrgCreation;
        let setting = self.settings().org_creation;
        if setting == OrgCreation::Anyone {
            return Ok(());
        }
        let memberships = {
            let mut conn = self.store().conn().await?;
            members::shared_memberships(&mut conn, caller.user_id()).await?
        };
        let active = |(_, status): &&(String, String)| status == "active";
        let allowed = match setting {
            OrgCreation::Anyone => true,
            // Refused while the person's only ties are sign-ups under
            // review (or rejected); an account an administrator made, an
            // accepted invitation or an approved sign-up is verified.
            OrgCreation::Verified => {
                memberships.iter().any(|m| active(&m))
                    || !memberships
                        .iter()
                        .any(|(_, status)| status == "reviewing" || status == "rejected")
            }
            OrgCreation::Admins => memberships
                .iter()
                .filter(active)
                .any(|(role, _)| role == "owner" || role == "admin"),
        };
        if allowed {
            return Ok(());
        }
        Err(AppError::Forbidden(match setting {
            OrgCreation::Admins => {
                "on this server only owners and admins of an organization may create organizations"
                    .into()
            }
            _ => "on this server a sign-up must be approved before it can create organizations"
                .into(),
        }))
    }

    /// Active owners counted up to two: what the one-owner warning needs.
    pub async fn active_owners_up_to_two(&self, org_id: OrgId) -> Result<i64> {
        let mut conn = self.store().conn().await?;
        Ok(members::active_owners_up_to_two(&mut conn, org_id).await?)
    }

    pub async fn active_owners(&self, org_id: OrgId) -> Result<i64> {
        let mut conn = self.store().conn().await?;
        Ok(members::count_active_owners(&mut conn, org_id).await?)
    }

    /// Changes an org's name and settings. The name and MFA policy need
    /// `org:manage`; sign-up and invitation settings need `users:manage`.
    pub async fn update_org(
        &self,
        access: &OrgAccess,
        u: OrgUpdate,
        meta: &RequestMeta,
    ) -> Result<Org> {
        if u.name.is_some() || u.mfa_policy.is_some() {
            access.require(ManagementPermission::OrgManage)?;
        }
        if u.allowed_domains.is_some()
            || u.self_registration.is_some()
            || u.invitation_ttl_seconds.is_some()
            || u.default_role.is_some()
        {
            access.require(ManagementPermission::UsersManage)?;
        }
        let current = &access.org;
        let name = match &u.name {
            Some(n) => OrgName::parse(n)?.as_str().to_owned(),
            None => current.name.clone(),
        };
        let mut s: OrgSettings = current.settings.clone();
        if let Some(domains) = &u.allowed_domains {
            let mut parsed = domains
                .iter()
                .map(|d| parse_domain(d))
                .collect::<Result<Vec<_>>>()?;
            parsed.sort();
            parsed.dedup();
            if parsed.len() > 50 {
                return Err(invalid("allowed_domains", "at most 50 domains"));
            }
            s.allowed_domains = parsed;
        }
        if let Some(v) = u.self_registration {
            s.self_registration = v;
        }
        if let Some(ttl) = u.invitation_ttl_seconds {
            if !(300..=30 * 86_400).contains(&ttl) {
                return Err(invalid(
                    "invitation_ttl_seconds",
                    "the invitation lifetime is between 300 seconds and 30 days",
                ));
            }
            s.invitation_ttl_seconds = ttl;
        }
        if let Some(p) = &u.mfa_policy {
            match p.as_str() {
                "optional" | "required" => s.mfa_policy = p.clone(),
                _ => return Err(invalid("mfa_policy", "mfa_policy is optional or required")),
            }
        }
        if let Some(r) = &u.default_role {
            let role = self.parse_role(access, r).await?;
            if role.is_owner() {
                return Err(invalid(
                    "default_role",
                    "the default role for sign-ups cannot be owner",
                ));
            }
            policy::may_grant(&access.role, &role, &access.catalog)?;
            s.default_role = role.name().to_string();
        }
        if access.personal() && s.self_registration {
            return Err(DomainError::PersonalOrg.into());
        }
        let mut c = self.change(access, None, meta).await?;
        if *c.held()? != access.role {
            return Err(AppError::Forbidden(
                "your role changed while this request ran; try again".into(),
            ));
        }
        let now = c.now();
        orgs::update(&mut c, current.id, &name, &s, now).await?;
        c.audit(
            "org.update",
            format!("org:{}", current.slug),
            json!({
                "name": u.name,
                "allowed_domains": u.allowed_domains,
                "self_registration": u.self_registration,
                "invitation_ttl_seconds": u.invitation_ttl_seconds,
                "mfa_policy": u.mfa_policy,
                "default_role": u.default_role,
            }),
        )
        .await?;
        let org = orgs::get(&mut c, current.id).await?;
        c.commit().await?;
        Ok(org)
    }

    /// Leaves an org. Not a personal org, and not as its last active owner.
    /// Works for any status, so a disabled or reviewing member can leave.
    pub async fn leave_org(&self, caller: &Caller, slug: &str, meta: &RequestMeta) -> Result<()> {
        caller.admits(Reach::Everything)?;
        caller.person_session()?;
        let org = {
            let mut conn = self.store().conn().await?;
            orgs::find_by_slug(&mut conn, slug)
                .await?
                .ok_or(AppError::NotFound("organization"))?
        };
        if org.personal_user_id.is_some() {
            return Err(DomainError::PersonalOrg.into());
        }
        let mut c = self
            .change_org(org.id, Some(caller.actor.clone()), meta)
            .await?;
        let member = members::find(&mut c, org.id, caller.user_id())
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        remove_checked(&mut c, &org, &member).await?;
        c.touch_member(member.user_id);
        c.audit(
            "member.leave",
            format!("user:{}", caller.user_id()),
            json!({ "email": member.email, "role": member.role }),
        )
        .await?;
        c.commit().await
    }
}

/// Removes a membership after checking the last-owner rule, under the org's
/// lock (which the caller holds).
pub(crate) async fn remove_checked(conn: &mut Conn, org: &Org, member: &Member) -> Result<()> {
    owner_remains(
        conn,
        org.id,
        member.user_id,
        is_active_owner(&resolve_role(&member.role), member.status),
        false,
    )
    .await?;
    members::delete(conn, org.id, member.user_id).await?;
    Ok(())
}

/// The last-owner rule (SPEC §2) for a change that makes `user_id` go from
/// being an active owner (`was`) or not to being one (`stays`) or not,
/// under the org's lock (which the caller holds). Whether another active
/// owner remains is read only when the member stops being one, and then
/// only until one is found: a change to anyone else reads nothing,
/// whatever the org's size.
pub(crate) async fn owner_remains(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    was: bool,
    stays: bool,
) -> Result<()> {
    if was && !stays {
        let others = members::another_active_owner(conn, org_id, user_id).await?;
        ensure_owner_remains(was, stays, i64::from(others))?;
    }
    Ok(())
}
