//! First start (SPEC §5): the one-time setup link, `--bootstrap-owner`, and
//! the `ROSTER_BOOTSTRAP_*` variables.

use super::auth::add_first_owner;
use super::auth::{create_account, hash_blocking};
use super::error::Result;
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::{Conflict, DisplayName, Email, OrgName, OrgSlug, Password, UserId};
use roster_store::{orgs, setup, users};
use serde_json::json;
use std::time::Duration;

pub const SETUP_PREFIX: &str = "rsu_";
const SETUP_TTL: Duration = Duration::from_secs(24 * 3600);

/// The first org and owner.
pub struct FirstOwner {
    pub org_slug: OrgSlug,
    pub org_name: OrgName,
    pub email: Email,
    pub name: DisplayName,
    /// `None`: generate a temporary password that must be changed.
    pub password: Option<Password>,
}

/// What seeding did.
pub struct Seeded {
    pub user_id: UserId,
    pub temporary_password: Option<String>,
}

impl App {
    /// Whether nobody has an account yet.
    pub async fn is_empty(&self) -> Result<bool> {
        let mut conn = self.store().conn().await?;
        Ok(users::count(&mut conn).await? == 0)
    }

    /// Creates a one-time setup token valid for 24 hours; returns it.
    pub async fn new_setup_token(&self) -> Result<String> {
        let token = crypto::new_token(SETUP_PREFIX);
        let now = self.now();
        let mut conn = self.store().write_conn().await?;
        setup::insert(
            &mut conn,
            &self.keys().hash_token(&token),
            now,
            now.plus(SETUP_TTL),
        )
        .await?;
        Ok(token)
    }

    /// Creates the first org and its owner, if the database has no users.
    /// With `token`, the setup token must be valid and is used up.
    pub async fn seed_first_owner(
        &self,
        first: FirstOwner,
        token: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Seeded> {
        let (temporary, hash) = match &first.password {
            Some(p) => (None, hash_blocking(p.expose().to_owned()).await?),
            None => {
                let pw = crypto::temporary_password();
                let hash = hash_blocking(pw.clone()).await?;
                (Some(pw), hash)
            }
        };
        let mut c = self.change_account(None, meta).await?;
        let now = c.now();
        if let Some(token) = token {
            if !setup::redeem(&mut c, &self.keys().hash_token(token), now).await? {
                return Err(AppError::InvalidLink);
            }
        }
        if users::count(&mut c).await? != 0 {
            return Err(AppError::conflict(
                Conflict::AlreadySetUp,
                "Roster is already set up; sign in instead",
            ));
        }
        let user_id = create_account(
            &mut c,
            now,
            &first.email,
            &first.name,
            Some(&hash),
            temporary.is_some(),
        )
        .await?;
        let org_id = orgs::insert(
            &mut c,
            first.org_slug.as_str(),
            first.org_name.as_str(),
            None,
            now,
        )
        .await?;
        c.in_org(org_id);
        add_first_owner(&mut c, org_id, user_id, now).await?;
        c.audit(
            "org.bootstrap",
            format!("org:{}", first.org_slug),
            json!({ "owner": first.email.as_str() }),
        )
        .await?;
        c.commit().await?;
        Ok(Seeded {
            user_id,
            temporary_password: temporary,
        })
    }
}
