//! First start (SPEC §5): the one-time setup link, `--bootstrap-owner`, and
//! the `ROSTER_BOOTSTRAP_*` variables.

use super::audit::{record, AuditEntry};
use super::auth::{create_account, hash_blocking};
use super::error::Result;
use super::time::now_ms;
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::{BuiltinRole, DisplayName, Email, MemberStatus, OrgName, OrgSlug, Password};
use roster_store::{members, orgs, setup, users};
use serde_json::json;

pub const SETUP_PREFIX: &str = "rsu_";
const SETUP_TTL_MS: i64 = 24 * 3600 * 1000;

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
    pub user_id: i64,
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
        let now = now_ms();
        let mut conn = self.store().conn().await?;
        setup::insert(
            &mut conn,
            &self.keys().hash_token(&token),
            now,
            now + SETUP_TTL_MS,
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
        let mut tx = self.store().begin().await?;
        if let Some(token) = token {
            if !setup::redeem(&mut tx, &self.keys().hash_token(token), now_ms()).await? {
                return Err(AppError::InvalidLink);
            }
        }
        if users::count(&mut tx).await? != 0 {
            return Err(AppError::Conflict {
                code: "already_set_up",
                message: "Roster is already set up; sign in instead".into(),
            });
        }
        let user_id = create_account(
            &mut tx,
            &first.email,
            &first.name,
            Some(&hash),
            temporary.is_some(),
        )
        .await?;
        let org_id = orgs::insert(
            &mut tx,
            first.org_slug.as_str(),
            first.org_name.as_str(),
            None,
            now_ms(),
        )
        .await?;
        members::insert(
            &mut tx,
            members::NewMembership {
                org_id,
                user_id,
                role: BuiltinRole::Owner.name(),
                team: "",
                status: MemberStatus::Active.as_str(),
                identity_provider: "password",
                mfa_required: false,
                now: now_ms(),
            },
        )
        .await?;
        record(
            &mut tx,
            meta,
            AuditEntry {
                org_id: Some(org_id),
                actor: None,
                action: "org.bootstrap",
                target: format!("org:{}", first.org_slug),
                details: json!({ "owner": first.email.as_str() }),
            },
        )
        .await?;
        self.commit(tx).await?;
        Ok(Seeded {
            user_id,
            temporary_password: temporary,
        })
    }
}
