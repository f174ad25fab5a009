//! Application services: the use cases of Roster over the domain rules and
//! the store.
//!
//! Architecture invariant: nothing here knows HTTP (no axum, no status
//! codes, no JSON bodies). Every use case that changes state runs in one
//! transaction that also writes its audit event and its outbox messages;
//! the rules of SPEC §2 are checked inside that transaction, after the
//! org's lock, so that concurrent requests cannot both pass a check that
//! only one of them may pass.

pub mod access;
mod audit;
pub mod auth;
mod authz;
pub mod caller;
mod change;
pub mod check;
mod error;
pub mod groups;
pub mod invitations;
pub mod members;
pub mod mfa;
pub mod notice;
pub mod orgs;
pub mod outbox;
pub mod passkeys;
pub mod requests;
pub mod scim;
pub mod setup;
pub mod signup;
pub mod slack;
pub mod sso;
mod throttle;
pub mod time;
pub mod tokens;
pub mod webhooks;

pub use audit::{AuditQuery, MAX_RETENTION_DAYS};
pub use authz::AuthzCounts;
pub use caller::{Actor, Caller, Credential, Reach, SessionStage};
pub use error::{AppError, MfaMethods, PasskeyFailure, SsoFailure};
pub use orgs::OrgAccess;
pub use time::{Clock, ManualClock, SystemClock};

use crate::crypto::Keys;
use roster_domain::Timestamp;
use roster_store::Store;
use std::sync::Arc;

/// How a request reached Roster, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Api,
    Cli,
    Console,
    Scim,
    Slack,
    Sso,
    System,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Cli => "cli",
            Channel::Console => "console",
            Channel::Scim => "scim",
            Channel::Slack => "slack",
            Channel::Sso => "sso",
            Channel::System => "system",
        }
    }
}

/// Facts about the request behind a use case, recorded in audit events.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub channel: Channel,
    pub client_addr: String,
    pub request_id: String,
    pub user_agent: String,
}

impl RequestMeta {
    /// For work Roster does on its own (start-up seeding, workers).
    pub fn system() -> Self {
        RequestMeta {
            channel: Channel::System,
            client_addr: String::new(),
            request_id: String::new(),
            user_agent: String::new(),
        }
    }
}

/// Settings the services need.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub session_ttl: std::time::Duration,
    /// How long a claimed outbox message is reserved for its worker.
    pub outbox_lease: std::time::Duration,
    pub public_url: String,
    /// Whether metrics are recorded and served at `/metrics`.
    pub metrics: bool,
    /// Who may create orgs.
    pub org_creation: OrgCreation,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Whether webhook URLs may name loopback and private addresses
    /// (`ROSTER_WEBHOOKS_ALLOW_PRIVATE`).
    pub webhooks_allow_private: bool,
    /// Whether the outbound calls an org admin configures (Slack's API
    /// base, SSO providers) may reach loopback and private addresses
    /// (`ROSTER_OUTBOUND_ALLOW_PRIVATE`).
    pub outbound_allow_private: bool,
}

/// Who may create organizations (an instance setting, `ROSTER_ORG_CREATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrgCreation {
    /// Every signed-in person.
    Anyone,
    /// Everyone but people whose only ties to an org are sign-ups under
    /// review (or rejected): accounts an administrator made, accepted
    /// invitations and approved sign-ups may.
    #[default]
    Verified,
    /// Owners and admins of an org that is not their personal one.
    Admins,
}

impl OrgCreation {
    pub fn parse(s: &str) -> Option<OrgCreation> {
        match s {
            "anyone" => Some(OrgCreation::Anyone),
            "verified" => Some(OrgCreation::Verified),
            "admins" => Some(OrgCreation::Admins),
            _ => None,
        }
    }
}

/// The application: shared by every request handler.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    keys: Keys,
    settings: AppSettings,
    clock: Arc<dyn Clock>,
    outbox_metrics: outbox::OutboxMetrics,
    observer: crate::observe::Observer,
    authz: authz::AuthzCache,
    /// Names this process's outbox worker in its claims.
    worker_id: String,
    /// A real argon2id hash of a random password, verified against when an
    /// email is unknown so that sign-in takes as long either way.
    dummy_hash: String,
    /// The WebAuthn relying party (from the public URL); `None` when that
    /// URL names no domain.
    webauthn: Option<webauthn_rs::Webauthn>,
}

impl App {
    pub fn new(
        store: Store,
        keys: Keys,
        settings: AppSettings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        let dummy_hash = crate::crypto::hash_password(&crate::crypto::new_token(""))?;
        let observer = crate::observe::Observer::new(settings.metrics);
        let webauthn = match passkeys::relying_party(&settings.public_url) {
            Ok(w) => Some(w),
            Err(why) => {
                tracing::warn!(public_url = %settings.public_url, "passkeys are off: {why}");
                None
            }
        };
        Ok(App {
            inner: Arc::new(Inner {
                observer,
                store,
                keys,
                settings,
                clock,
                outbox_metrics: outbox::OutboxMetrics::default(),
                authz: authz::AuthzCache::default(),
                worker_id: format!("{}-{}", std::process::id(), crate::crypto::new_token("")),
                dummy_hash,
                webauthn,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The WebAuthn relying party, if passkeys are on.
    pub(crate) fn webauthn(&self) -> Result<&webauthn_rs::Webauthn, AppError> {
        self.inner
            .webauthn
            .as_ref()
            .ok_or(AppError::Passkey(PasskeyFailure::Unavailable))
    }

    /// Whether passkeys can be used here (the public URL names a domain).
    pub fn passkeys_on(&self) -> bool {
        self.inner.webauthn.is_some()
    }

    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    /// This server's metrics.
    pub fn observer(&self) -> &crate::observe::Observer {
        &self.inner.observer
    }

    /// What time it is, by the clock the app was given.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }
}
