//! Fine-grained access (SPEC §1): the org's resource-type catalog
//! ([`catalog`]), custom roles ([`roles`]), the resource tree
//! ([`resources`]) and access rules ([`rules`]).
//!
//! Every change is a [`Change`] by a member: under the org's lock, against
//! what the actor holds there now; no change grants a permission the actor
//! does not hold at that scope (SPEC §2).

mod catalog;
mod resources;
mod roles;
mod rules;

pub use resources::{NewResource, ResourceInfo, ResourceUpdate, ReviewPolicy, MAX_APPROVALS};
pub use roles::RoleInfo;
pub use rules::{RuleQuery, SubjectRef};

use super::change::Change;
use super::error::Result;
use super::orgs::{invalid, load_catalog, OrgAccess};
use super::{App, AppError, RequestMeta};
use roster_domain::{
    Catalog, DomainError, Email, GroupId, GroupName, ManagementPermission, OrgId, UserId,
};
use roster_store::resources::ResourceRow;
use roster_store::{groups, members, users, Conn};

impl App {
    /// Begins a change to the org's access model, which needs `p`; returns
    /// the catalog as it is under the lock too.
    async fn change_access<'a>(
        &'a self,
        access: &OrgAccess,
        p: ManagementPermission,
        meta: &'a RequestMeta,
    ) -> Result<(Change<'a>, Catalog)> {
        access.require(p)?;
        let mut c = self.change(access, Some(p), meta).await?;
        let catalog = load_catalog(&mut c, access.org.id).await?;
        Ok((c, catalog))
    }
}

/// Splits and checks `type/name`.
pub(crate) fn parse_key<'a>(
    field: &'static str,
    key: &'a str,
    catalog: &Catalog,
) -> Result<(&'a str, &'a str)> {
    let key = key.trim();
    let Some((t, n)) = key.split_once('/') else {
        return Err(invalid(
            field,
            format!(
                "{key:?} is not a resource; resources are written type/name, e.g. clusters/eu-1"
            ),
        ));
    };
    if !catalog.has_type(t) {
        return Err(AppError::Domain(DomainError::Invalid {
            field: roster_domain::Field(field),
            message: format!("unknown resource type {t:?}; see GET /orgs/{{org}}/resource-types"),
        }));
    }
    let name_ok = !n.is_empty()
        && n.len() <= 200
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'));
    if !name_ok {
        return Err(invalid(
            field,
            format!(
                "{n:?} is not a resource name (1-200 of a-z, A-Z, 0-9, '-', '_', '.', ':', '@')"
            ),
        ));
    }
    Ok((t, n))
}

/// Loads a resource by `type/name`, or fails with "not found".
pub(crate) async fn find_resource(
    conn: &mut Conn,
    org_id: OrgId,
    catalog: &Catalog,
    field: &'static str,
    key: &str,
) -> Result<ResourceRow> {
    let (t, n) = parse_key(field, key, catalog)?;
    roster_store::resources::find(conn, org_id, t, n)
        .await?
        .ok_or(AppError::NotFound("resource"))
}

/// Loads the resource a URL names (`/resources/{type}/{name}`): a key that
/// cannot name a resource here (an unknown type, a malformed name) is a
/// page that does not exist, like any other missing resource.
pub(crate) async fn path_resource(
    conn: &mut Conn,
    org_id: OrgId,
    catalog: &Catalog,
    key: &str,
) -> Result<ResourceRow> {
    find_resource(conn, org_id, catalog, "key", key)
        .await
        .map_err(|e| match e {
            AppError::Domain(DomainError::Invalid { .. }) => AppError::NotFound("resource"),
            other => other,
        })
}

/// Loads a resource a request names as a reference (a parent, a rule's
/// scope): one that does not exist is bad input for that field, not a
/// missing page.
pub(super) async fn named_resource(
    conn: &mut Conn,
    org_id: OrgId,
    catalog: &Catalog,
    field: &'static str,
    key: &str,
) -> Result<ResourceRow> {
    find_resource(conn, org_id, catalog, field, key)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => {
                invalid(field, format!("no resource {} in this org", key.trim()))
            }
            other => other,
        })
}

/// Finds a member of the org by email or numeric user id.
pub(crate) async fn find_member(
    conn: &mut Conn,
    org_id: OrgId,
    user: &str,
) -> Result<members::Member> {
    let user = user.trim();
    let user_id = match user.parse::<i64>() {
        Ok(id) => UserId::new(id),
        Err(_) => {
            let email = Email::parse(user)?;
            users::find_by_email(conn, email.as_str())
                .await?
                .ok_or(AppError::NotFound("member"))?
                .id
        }
    };
    members::find(conn, org_id, user_id)
        .await?
        .ok_or(AppError::NotFound("member"))
}

pub(super) async fn group_ids(
    conn: &mut Conn,
    org_id: OrgId,
    names: &[String],
) -> Result<Vec<GroupId>> {
    let mut ids = Vec::new();
    for raw in names {
        let name = GroupName::parse(raw)?;
        let g = groups::find(conn, org_id, name.as_str())
            .await?
            .ok_or_else(|| invalid("groups", format!("no group named {name} in this org")))?;
        if !ids.contains(&g.id) {
            ids.push(g.id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys_are_type_slash_name() {
        let c = Catalog::default_catalog();
        assert_eq!(
            parse_key("key", " clusters/eu-1 ", &c).unwrap(),
            ("clusters", "eu-1")
        );
        for bad in [
            "clusters",
            "nosuch/x",
            "clusters/",
            "clusters/a b",
            "clusters/a/b",
        ] {
            assert!(parse_key("key", bad, &c).is_err(), "{bad}");
        }
    }
}
