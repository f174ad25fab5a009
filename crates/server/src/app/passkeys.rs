//! Passkeys (WebAuthn, with webauthn-rs): registering several per
//! account, naming and removing them, and using one as the second factor
//! or alone to sign in (SPEC §3a "MFA", issue 16).
//!
//! Every ceremony's server half (the challenge and what webauthn-rs must
//! check against it) is stored in the database under the keyed hash of a
//! random id the client is given, so any replica finishes it. A
//! challenge is taken out by one DELETE: it works once, for five minutes,
//! and a registration only for the account that started it.
//!
//! Sign-in ceremonies are discoverable (usernameless): the challenge names
//! no account, the authenticator picks the credential, and the account is
//! the one that registered that credential id. Passkeys are registered as
//! discoverable credentials for that reason (`residentKey: required`).
//! The same challenge serves the second factor, where the credential must
//! also be the signed-in account's.

use super::caller::{Actor, Caller, Reach};
use super::error::Result;
use super::mfa::SecondFactor;
use super::throttle::{self, Try};
use super::{App, AppError, PasskeyFailure, RequestMeta};
use crate::crypto;
use base64::Engine;
use roster_domain::{DomainError, Timestamp, UserId};
use roster_store::passkeys::{self as store, Purpose};
use roster_store::{sessions, users};
use serde_json::{json, Value};
use std::time::Duration;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Challenge ids start with this.
pub const CHALLENGE_PREFIX: &str = "rsw_";
/// How long a ceremony may take.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// The longest name a passkey may have, in characters.
pub const NAME_MAX: usize = 60;

/// The relying party for a public URL: its id is the URL's host and the
/// only origin allowed is the URL's. WebAuthn takes no IP address as a
/// relying party id, so a loopback address (the default public URL) is
/// served as `localhost` on the same port: browsers treat
/// `http://localhost` as a secure context, which is what local use and
/// the tests need.
pub fn relying_party(public_url: &str) -> std::result::Result<Webauthn, String> {
    let mut origin = Url::parse(public_url).map_err(|e| format!("not a URL: {e}"))?;
    match origin.host() {
        Some(url::Host::Domain(_)) => {}
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => origin
            .set_host(Some("localhost"))
            .map_err(|e| e.to_string())?,
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => origin
            .set_host(Some("localhost"))
            .map_err(|e| e.to_string())?,
        _ => return Err("its host is an IP address, and WebAuthn needs a domain".to_owned()),
    }
    origin.set_path("");
    let rp_id = origin
        .host_str()
        .ok_or_else(|| "it names no host".to_owned())?
        .to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("Roster").timeout(CHALLENGE_TTL).build())
        .map_err(|e| format!("WebAuthn refused it: {e}"))
}

/// A ceremony started: the id to send back with the authenticator's
/// answer, and the options for `navigator.credentials.create()`/`get()`
/// (webauthn-rs's JSON, binary fields in base64url).
pub struct Ceremony {
    pub challenge_id: String,
    pub options: Value,
    pub expires_at: Timestamp,
}

/// A passkey's answer to a sign-in challenge.
#[derive(Debug, Clone)]
pub struct Assertion {
    pub challenge_id: String,
    /// What `navigator.credentials.get()` returned, as JSON.
    pub credential: Value,
}

/// A passkey that verified, with what to write about its use.
struct Verified {
    passkey: store::Passkey,
    /// The credential with its new counter, when it changed.
    updated: Option<String>,
}

/// What a registration's stored state holds besides webauthn-rs's own.
#[derive(serde::Serialize, serde::Deserialize)]
struct Registration {
    handle: String,
    state: PasskeyRegistration,
}

fn credential_key(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{what}: {e}"))
}

/// A passkey's name as given: trimmed, 1 to 60 characters, no control
/// characters.
pub fn parse_name(name: &str) -> Result<String> {
    let name = name.trim();
    let invalid = |message: &str| {
        AppError::Domain(DomainError::Invalid {
            field: roster_domain::Field("name"),
            message: message.to_owned(),
        })
    };
    if name.is_empty() {
        return Err(invalid("give the passkey a name"));
    }
    if name.chars().count() > NAME_MAX {
        return Err(invalid("a passkey's name is at most 60 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("a passkey's name cannot hold control characters"));
    }
    Ok(name.to_owned())
}

impl App {
    /// The caller's passkeys, oldest first.
    pub async fn passkeys(&self, caller: &Caller) -> Result<Vec<store::Passkey>> {
        caller.person_session()?;
        caller.admits(Reach::Enrolment)?;
        let mut conn = self.store().conn().await?;
        Ok(store::list(&mut conn, caller.user_id()).await?)
    }

    async fn new_challenge(
        &self,
        purpose: Purpose,
        user_id: Option<UserId>,
        state: &str,
        options: Value,
    ) -> Result<Ceremony> {
        let challenge_id = crypto::new_token(CHALLENGE_PREFIX);
        let now = self.now();
        let expires_at = now.plus(CHALLENGE_TTL);
        let mut conn = self.store().write_conn().await?;
        store::insert_challenge(
            &mut conn,
            &self.keys().hash_token(&challenge_id),
            purpose,
            user_id,
            state,
            now,
            expires_at,
        )
        .await?;
        Ok(Ceremony {
            challenge_id,
            options,
            expires_at,
        })
    }

    /// Takes a ceremony's state out (it works once), refusing an unknown,
    /// used, expired or other-purpose one.
    async fn take_challenge(
        &self,
        challenge_id: &str,
        purpose: Purpose,
    ) -> Result<store::Challenge> {
        let refused = AppError::Passkey(PasskeyFailure::ChallengeInvalid);
        if !challenge_id.starts_with(CHALLENGE_PREFIX) || challenge_id.len() > 100 {
            return Err(refused);
        }
        let taken = {
            let mut conn = self.store().conn().await?;
            store::take_challenge(&mut conn, &self.keys().hash_token(challenge_id), purpose).await?
        };
        match taken {
            Some(c) if c.expires_at > self.now() => Ok(c),
            _ => Err(refused),
        }
    }

    /// Starts registering a passkey for the caller: the options for
    /// `navigator.credentials.create()`. The caller's passkeys are
    /// excluded (an authenticator registers once).
    pub async fn start_passkey_registration(&self, caller: &Caller) -> Result<Ceremony> {
        caller.person_session()?;
        caller.admits(Reach::Enrolment)?;
        let webauthn = self.webauthn()?;
        let existing = {
            let mut conn = self.store().conn().await?;
            store::list(&mut conn, caller.user_id()).await?
        };
        // One user handle per account, kept with each of its passkeys.
        let handle = match existing.first() {
            Some(p) => Uuid::parse_str(&p.user_handle).map_err(|e| internal("user handle", e))?,
            None => Uuid::new_v4(),
        };
        let exclude = existing
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let (ccr, state) = webauthn
            .start_passkey_registration(
                handle,
                &caller.actor.email,
                &caller.actor.name,
                Some(exclude),
            )
            .map_err(|e| internal("start registration", e))?;
        let mut options = serde_json::to_value(&ccr).map_err(|e| internal("options", e))?;
        // A discoverable credential, so the passkey alone can sign in.
        if let Some(sel) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(Value::as_object_mut)
        {
            sel.insert("residentKey".to_owned(), json!("required"));
            sel.insert("requireResidentKey".to_owned(), json!(true));
        }
        let state = serde_json::to_string(&Registration {
            handle: handle.to_string(),
            state,
        })
        .map_err(|e| internal("registration state", e))?;
        self.new_challenge(Purpose::Register, Some(caller.user_id()), &state, options)
            .await
    }

    /// Finishes a registration with the authenticator's answer: a new
    /// passkey named `name`, audited for the person.
    pub async fn finish_passkey_registration(
        &self,
        caller: &Caller,
        challenge_id: &str,
        name: &str,
        credential: &Value,
        meta: &RequestMeta,
    ) -> Result<store::Passkey> {
        caller.person_session()?;
        caller.admits(Reach::Enrolment)?;
        let name = parse_name(name)?;
        let webauthn = self.webauthn()?;
        let reg: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|_| AppError::Passkey(PasskeyFailure::Malformed))?;
        let challenge = self.take_challenge(challenge_id, Purpose::Register).await?;
        if challenge.user_id != Some(caller.user_id()) {
            return Err(AppError::Passkey(PasskeyFailure::ChallengeInvalid));
        }
        let stored: Registration = serde_json::from_str(&challenge.state)
            .map_err(|e| internal("registration state", e))?;
        let passkey = webauthn
            .finish_passkey_registration(&reg, &stored.state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                AppError::Passkey(PasskeyFailure::Rejected)
            })?;
        let credential_id = credential_key(passkey.cred_id().as_ref());
        let json = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
        let user_id = caller.user_id();
        let mut c = self
            .change_account(Some(caller.actor.clone()), meta)
            .await?;
        if store::by_credential_id(&mut c, &credential_id)
            .await?
            .is_some()
        {
            c.nothing_changed();
            return Err(AppError::Passkey(PasskeyFailure::AlreadyRegistered));
        }
        let now = c.now();
        let id = store::insert(
            &mut c,
            store::NewPasskey {
                user_id,
                credential_id: &credential_id,
                user_handle: &stored.handle,
                name: &name,
                credential: &json,
                now,
            },
        )
        .await
        .map_err(|e| match e {
            roster_store::StoreError::Conflict(_) => {
                AppError::Passkey(PasskeyFailure::AlreadyRegistered)
            }
            other => other.into(),
        })?;
        c.audit_in(
            None,
            "user.passkey_added",
            format!("user:{user_id}"),
            json!({ "passkey": id, "name": name }),
        )
        .await?;
        c.commit().await?;
        Ok(store::Passkey {
            id,
            user_id,
            credential_id,
            user_handle: stored.handle,
            name,
            credential: json,
            created_at: now,
            last_used_at: None,
        })
    }

    /// Renames one of the caller's passkeys.
    pub async fn rename_passkey(
        &self,
        caller: &Caller,
        id: i64,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<store::Passkey> {
        caller.person_session()?;
        caller.admits(Reach::Everything)?;
        let name = parse_name(name)?;
        let user_id = caller.user_id();
        let mut c = self
            .change_account(Some(caller.actor.clone()), meta)
            .await?;
        let now = c.now();
        if !store::rename(&mut c, user_id, id, &name, now).await? {
            c.nothing_changed();
            return Err(AppError::NotFound("passkey"));
        }
        c.audit_in(
            None,
            "user.passkey_renamed",
            format!("user:{user_id}"),
            json!({ "passkey": id, "name": name }),
        )
        .await?;
        let found = store::list(&mut c, user_id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(AppError::NotFound("passkey"))?;
        c.commit().await?;
        Ok(found)
    }

    /// Removes one of the caller's passkeys, with the password and a
    /// current second factor (a code, a recovery code or a passkey), as
    /// removing the authenticator app needs. Ends every other session.
    pub async fn remove_passkey(
        &self,
        caller: &Caller,
        id: i64,
        password: &str,
        factor: Option<SecondFactor>,
        meta: &RequestMeta,
    ) -> Result<()> {
        let session = caller.person_session()?;
        caller.admits(Reach::Everything)?;
        let user_id = caller.user_id();
        let found = {
            let mut conn = self.store().conn().await?;
            store::list(&mut conn, user_id)
                .await?
                .into_iter()
                .find(|p| p.id == id)
        };
        let found = found.ok_or(AppError::NotFound("passkey"))?;
        let factor = match factor {
            Some(f) => f,
            None => {
                let mut conn = self.store().conn().await?;
                return Err(AppError::MfaRequired(
                    self.mfa_methods(&mut conn, user_id).await?,
                ));
            }
        };
        self.verify_own_password(caller, password, meta).await?;
        self.check_second_factor(&caller.actor, factor, meta)
            .await?;
        let mut c = self
            .change_account(Some(caller.actor.clone()), meta)
            .await?;
        if !store::remove(&mut c, user_id, id).await? {
            c.nothing_changed();
            return Err(AppError::NotFound("passkey"));
        }
        let ended = sessions::delete_others(&mut c, user_id, session).await?;
        c.audit_in(
            None,
            "user.passkey_removed",
            format!("user:{user_id}"),
            json!({ "passkey": id, "name": found.name, "other_sessions_ended": ended }),
        )
        .await?;
        c.commit().await
    }

    /// Starts a sign-in ceremony: the options for
    /// `navigator.credentials.get()`, naming no account (the authenticator
    /// offers its discoverable credentials for this site).
    ///
    /// Each start stores a challenge for five minutes, and anyone may ask:
    /// starts are counted per client address ([`throttle::CEREMONY_LIMIT`]
    /// per window), so one client cannot fill the table.
    pub async fn start_passkey_sign_in(&self, meta: &RequestMeta) -> Result<Ceremony> {
        let webauthn = self.webauthn()?;
        throttle::ceremony_started(self.store(), self.now(), &meta.client_addr).await?;
        let (rcr, state) = webauthn
            .start_discoverable_authentication()
            .map_err(|e| internal("start authentication", e))?;
        let mut options = serde_json::to_value(&rcr).map_err(|e| internal("options", e))?;
        // A button the person presses, not the autofill ("conditional")
        // mediation webauthn-rs asks for.
        if let Some(o) = options.as_object_mut() {
            o.remove("mediation");
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("sign-in state", e))?;
        self.new_challenge(Purpose::Authenticate, None, &state, options)
            .await
    }

    /// The account a passkey assertion names (by its credential id), with
    /// the challenge taken out: what the throttle is counted for before
    /// anything is verified.
    async fn identify(
        &self,
        a: &Assertion,
    ) -> Result<(
        PublicKeyCredential,
        store::Challenge,
        Option<store::Passkey>,
    )> {
        self.webauthn()?;
        let cred: PublicKeyCredential = serde_json::from_value(a.credential.clone())
            .map_err(|_| AppError::Passkey(PasskeyFailure::Malformed))?;
        let challenge = self
            .take_challenge(&a.challenge_id, Purpose::Authenticate)
            .await?;
        let key = credential_key(cred.get_credential_id());
        let found = {
            let mut conn = self.store().conn().await?;
            store::by_credential_id(&mut conn, &key).await?
        };
        Ok((cred, challenge, found))
    }

    /// Verifies an identified assertion against its challenge and the
    /// stored credential (`expected`: the account it must belong to).
    fn verify(
        &self,
        cred: &PublicKeyCredential,
        challenge: &store::Challenge,
        found: Option<store::Passkey>,
        expected: Option<UserId>,
    ) -> Result<Verified> {
        let webauthn = self.webauthn()?;
        let passkey = found.ok_or(AppError::Passkey(PasskeyFailure::UnknownCredential))?;
        let rejected = AppError::Passkey(PasskeyFailure::Rejected);
        if expected.is_some_and(|u| u != passkey.user_id) {
            return Err(rejected);
        }
        // A discoverable credential names its account too; it must be the
        // one that registered the credential.
        if let Some(handle) = cred.get_user_unique_id() {
            let registered = Uuid::parse_str(&passkey.user_handle).ok();
            if Uuid::from_slice(handle).ok() != registered {
                return Err(rejected);
            }
        }
        let state: DiscoverableAuthentication =
            serde_json::from_str(&challenge.state).map_err(|e| internal("sign-in state", e))?;
        let mut key: Passkey =
            serde_json::from_str(&passkey.credential).map_err(|e| internal("passkey", e))?;
        let result = webauthn
            .finish_discoverable_authentication_v2(cred, state, DiscoverableKey::from(&key))
            .map_err(|e| {
                tracing::info!(error = %e, "passkey assertion refused");
                AppError::Passkey(PasskeyFailure::Rejected)
            })?;
        let updated = match key.update_credential(&result) {
            Some(true) => Some(serde_json::to_string(&key).map_err(|e| internal("passkey", e))?),
            _ => None,
        };
        Ok(Verified { passkey, updated })
    }

    /// A passkey as the second factor of `actor`'s account: throttled and
    /// audited as codes are (see [`App::check_second_factor`]).
    pub(crate) async fn check_passkey_factor(
        &self,
        actor: &Actor,
        a: &Assertion,
        meta: &RequestMeta,
    ) -> Result<()> {
        let user_id = actor.user_id;
        let attempt = throttle::attempt(
            self.store(),
            self.now(),
            Try::SecondFactor,
            &user_id.get().to_string(),
            &meta.client_addr,
        )
        .await?;
        let outcome = match self.identify(a).await {
            Ok((cred, challenge, found)) => self.verify(&cred, &challenge, found, Some(user_id)),
            Err(e) => Err(e),
        };
        let v = match outcome {
            Ok(v) => v,
            Err(e @ (AppError::Passkey(_) | AppError::TooManyAttempts { .. })) => {
                self.passkey_failed(actor, &e, meta).await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        self.passkey_used(actor, &v, "user.second_factor", meta)
            .await?;
        attempt.succeeded(self.store()).await
    }

    /// Signs in with a passkey alone: the authenticator verified its user
    /// (a PIN or biometric), so the passkey is both factors. Throttled per
    /// account and client like passwords; failures for a known account
    /// are in its audit.
    pub async fn sign_in_with_passkey(
        &self,
        a: &Assertion,
        meta: &RequestMeta,
    ) -> Result<super::auth::Login> {
        let result = self.passkey_sign_in(a, meta).await;
        self.count_sign_in("passkey", &result);
        result
    }

    async fn passkey_sign_in(
        &self,
        a: &Assertion,
        meta: &RequestMeta,
    ) -> Result<super::auth::Login> {
        let (cred, challenge, found) = self.identify(a).await?;
        let subject = match &found {
            Some(p) => p.user_id.get().to_string(),
            None => "unknown-passkey".to_owned(),
        };
        let attempt = throttle::attempt(
            self.store(),
            self.now(),
            Try::SecondFactor,
            &subject,
            &meta.client_addr,
        )
        .await?;
        let owner = match &found {
            Some(p) => {
                let mut conn = self.store().conn().await?;
                Some(users::get(&mut conn, p.user_id).await?)
            }
            None => None,
        };
        let v = match self.verify(&cred, &challenge, found, None) {
            Ok(v) => v,
            Err(e) => {
                if let Some(u) = &owner {
                    self.passkey_failed(&Actor::new(u.id, &u.email, &u.name), &e, meta)
                        .await?;
                }
                return Err(e);
            }
        };
        let user = owner.ok_or(AppError::Passkey(PasskeyFailure::UnknownCredential))?;
        if user.disabled {
            return Err(AppError::Passkey(PasskeyFailure::Rejected));
        }
        let actor = Actor::new(user.id, &user.email, &user.name);
        self.passkey_used(&actor, &v, "user.passkey_sign_in", meta)
            .await?;
        attempt.succeeded(self.store()).await?;
        self.open_session(user, false, meta).await
    }

    /// Records a passkey's use (its counter, when) and audits `action`.
    async fn passkey_used(
        &self,
        actor: &Actor,
        v: &Verified,
        action: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let mut c = self.change_account(Some(actor.clone()), meta).await?;
        let now = c.now();
        store::used(&mut c, v.passkey.id, v.updated.as_deref(), now).await?;
        c.audit_in(
            None,
            action,
            format!("user:{}", actor.user_id),
            json!({ "method": "passkey", "passkey": v.passkey.id, "name": v.passkey.name }),
        )
        .await?;
        c.commit().await
    }

    /// Records a refused passkey in the person's audit.
    async fn passkey_failed(&self, actor: &Actor, e: &AppError, meta: &RequestMeta) -> Result<()> {
        tracing::info!(client = %meta.client_addr, "failed passkey");
        let reason = match e {
            AppError::Passkey(PasskeyFailure::ChallengeInvalid) => "challenge_invalid",
            AppError::Passkey(PasskeyFailure::UnknownCredential) => "unknown_credential",
            AppError::Passkey(PasskeyFailure::Malformed) => "malformed",
            AppError::TooManyAttempts { .. } => "throttled",
            _ => "rejected",
        };
        let mut c = self.change_account(Some(actor.clone()), meta).await?;
        c.audit_in(
            None,
            "user.second_factor_failed",
            format!("user:{}", actor.user_id),
            json!({ "method": "passkey", "reason": reason }),
        )
        .await?;
        c.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_public_url_is_served_as_localhost() {
        let w = relying_party("http://127.0.0.1:8080").unwrap();
        let origins: Vec<String> = w
            .get_allowed_origins()
            .iter()
            .map(|u| u.origin().ascii_serialization())
            .collect();
        assert_eq!(origins, ["http://localhost:8080"]);
        assert!(relying_party("https://roster.example.com").is_ok());
        assert!(relying_party("http://10.0.0.5:8080").is_err());
    }

    #[test]
    fn passkey_names_are_checked() {
        assert_eq!(parse_name("  Laptop  ").unwrap(), "Laptop");
        assert!(parse_name(" ").is_err());
        assert!(parse_name(&"x".repeat(61)).is_err());
        assert!(parse_name("a\u{7}b").is_err());
    }
}
