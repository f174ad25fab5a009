//! Second factors (TOTP and recovery codes), one-time sign-in and
//! password-reset links, and what an org's admins may do about a member's
//! credentials (SPEC §2, §3a "MFA", "Magic link", "Password recovery").
//!
//! Every event here belongs to the person, not to an org (audit events
//! with no org), except an admin's reset, which is also in the org's log.

use super::caller::{Actor, Caller, Reach};
use super::error::Result;
use super::notice::{MagicLinkNotice, MfaResetNotice, Notice, PasswordResetNotice};
use super::orgs::{resolve_role, OrgAccess};
use super::throttle::{self, Try};
use super::{App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::{policy, Conflict, Email, ManagementPermission, Timestamp, UserId};
use roster_store::users::LinkPurpose;
use roster_store::{members, mfa, sessions, users};
use serde_json::json;
use std::time::Duration;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// The time step of TOTP codes (RFC 6238's default, what every app uses).
pub const TOTP_STEP_SECS: i64 = 30;
/// Magic-link tokens start with this.
pub const MAGIC_LINK_PREFIX: &str = "rsm_";
const MAGIC_LINK_TTL: Duration = Duration::from_secs(15 * 60);
const RESET_LINK_TTL: Duration = Duration::from_secs(30 * 60);

/// A second factor as given at sign-in.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    /// A six-digit code from the authenticator app.
    Totp(String),
    /// One of the ten recovery codes.
    RecoveryCode(String),
    /// A passkey's answer to a sign-in challenge.
    Passkey(super::passkeys::Assertion),
}

impl SecondFactor {
    /// The factor a request carries: a TOTP code, else a recovery code.
    pub fn from_fields(totp: Option<&str>, recovery: Option<&str>) -> Option<SecondFactor> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        match (given(totp), given(recovery)) {
            (Some(code), _) => Some(SecondFactor::Totp(code.to_owned())),
            (None, Some(code)) => Some(SecondFactor::RecoveryCode(code.to_owned())),
            (None, None) => None,
        }
    }
}

/// A TOTP enrolment that waits for its first code. The secret is shown
/// here, once.
pub struct TotpEnrolment {
    /// The seed, base32 (what apps take when typed in).
    pub secret: String,
    pub otpauth_uri: String,
    /// The `otpauth://` URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// What a person's second factors are.
pub struct MfaStatus {
    pub totp: bool,
    pub recovery_codes_left: i64,
    pub passkeys: i64,
}

fn totp_for(secret: Vec<u8>, account: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        TOTP_STEP_SECS as u64,
        secret,
        Some("Roster".to_owned()),
        account.replace(':', ""),
    )
}

/// The QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The second factors `factors` offer, for an `mfa_required` answer.
pub(crate) fn methods_of(factors: &mfa::Factors) -> super::MfaMethods {
    super::MfaMethods {
        totp: factors.totp_enrolled(),
        passkey: factors.passkeys > 0,
    }
}

/// Whether `code` is what `totp` gives at time step `step`, compared in
/// constant time.
fn code_at(totp: &TOTP, step: i64, code: &str) -> bool {
    let expected = totp.generate((step * TOTP_STEP_SECS) as u64);
    expected.as_bytes().ct_eq(code.as_bytes()).into()
}

impl App {
    /// Opens a change that concerns one person's own account.
    async fn person_change<'a>(
        &'a self,
        actor: Actor,
        meta: &'a RequestMeta,
    ) -> Result<super::change::Change<'a>> {
        self.change_account(Some(actor), meta).await
    }

    /// The caller's second factors.
    pub async fn mfa_status(&self, caller: &Caller) -> Result<MfaStatus> {
        caller.person_session()?;
        caller.admits(Reach::Enrolment)?;
        let mut conn = self.store().conn().await?;
        Ok(MfaStatus {
            totp: mfa::totp_enrolled(&mut conn, caller.user_id()).await?,
            recovery_codes_left: mfa::recovery_codes_left(&mut conn, caller.user_id()).await?,
            passkeys: roster_store::passkeys::count(&mut conn, caller.user_id()).await?,
        })
    }

    /// The second factors of the caller's own account (what the
    /// second-factor page offers).
    pub async fn own_mfa_methods(&self, caller: &Caller) -> Result<super::MfaMethods> {
        caller.person_session()?;
        let mut conn = self.store().conn().await?;
        self.mfa_methods(&mut conn, caller.user_id()).await
    }

    /// The second factors an account has.
    pub(crate) async fn mfa_methods(
        &self,
        conn: &mut roster_store::Conn,
        user_id: UserId,
    ) -> Result<super::MfaMethods> {
        Ok(methods_of(&mfa::factors(conn, user_id).await?))
    }

    /// Starts a TOTP enrolment: a new seed (replacing an unconfirmed
    /// one), stored encrypted with the server key.
    pub async fn start_totp(&self, caller: &Caller, meta: &RequestMeta) -> Result<TotpEnrolment> {
        caller.person_session()?;
        caller.admits(Reach::Enrolment)?;
        let mut seed = vec![0u8; 20];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        let totp = totp_for(seed, &caller.actor.email);
        let secret = totp.get_secret_base32();
        let sealed = self.keys().encrypt(&secret).map_err(AppError::Internal)?;
        let mut c = self.person_change(caller.actor.clone(), meta).await?;
        let now = c.now();
        if mfa::start_totp(&mut c, caller.user_id(), &sealed, now).await? == 0 {
            return Err(AppError::conflict(
                Conflict::MfaAlreadyEnrolled,
                "you have an authenticator app already; remove it first to enrol another",
            ));
        }
        c.audit_in(
            None,
            "user.mfa_enrolment_started",
            format!("user:{}", caller.user_id()),
            json!({ "method": "totp" }),
        )
        .await?;
        c.commit().await?;
        let otpauth_uri = totp.get_url();
        Ok(TotpEnrolment {
            qr_svg: qr_svg(&otpauth_uri)?,
            otpauth_uri,
            secret,
        })
    }

    /// Confirms a TOTP enrolment with a code from the app; answers the ten
    /// recovery codes, shown once.
    pub async fn confirm_totp(
        &self,
        caller: &Caller,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        caller.person_session()?;
        caller.admits(Reach::Enrolment)?;
        let user_id = caller.user_id();
        let pending = {
            let mut conn = self.store().conn().await?;
            mfa::totp(&mut conn, user_id).await?
        };
        match pending {
            None => {
                return Err(AppError::conflict(
                    Conflict::MfaNotEnrolled,
                    "start the enrolment first (POST /me/mfa/totp)",
                ))
            }
            Some(t) if t.confirmed_at.is_some() => {
                return Err(AppError::conflict(
                    Conflict::MfaAlreadyEnrolled,
                    "this authenticator app is confirmed already",
                ))
            }
            Some(_) => {}
        }
        self.with_new_recovery_codes(
            caller,
            code,
            true,
            "user.mfa_enrolled",
            json!({ "method": "totp" }),
            meta,
        )
        .await
    }

    /// Replaces the recovery codes (the old ones stop working); needs a
    /// current code from the app.
    pub async fn regenerate_recovery_codes(
        &self,
        caller: &Caller,
        code: &str,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        caller.person_session()?;
        caller.admits(Reach::Everything)?;
        let user_id = caller.user_id();
        self.require_enrolled(user_id).await?;
        self.with_new_recovery_codes(
            caller,
            code,
            false,
            "user.recovery_codes_regenerated",
            json!({}),
            meta,
        )
        .await
    }

    /// Checks `code` against the caller's app (`confirming`: the
    /// enrolment not yet confirmed) and, in one change, replaces the
    /// recovery codes with ten new ones and records `action` (with
    /// `details` and how many codes). A wrong code changes nothing and
    /// counts as a failed second factor. Returns the codes, shown once.
    async fn with_new_recovery_codes(
        &self,
        caller: &Caller,
        code: &str,
        confirming: bool,
        action: &str,
        mut details: serde_json::Value,
        meta: &RequestMeta,
    ) -> Result<Vec<String>> {
        let user_id = caller.user_id();
        let attempt = self.second_factor_attempt(user_id, meta).await?;
        let codes = crypto::recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| self.keys().hash_token(&crypto::normalize_recovery_code(c)))
            .collect();
        let now = self.now();
        let step = self.match_totp(user_id, code, confirming, now).await?;
        let mut c = self.person_change(caller.actor.clone(), meta).await?;
        let accepted = match step {
            Some(step) => mfa::accept_step(&mut c, user_id, step, confirming, now).await?,
            None => false,
        };
        if !accepted {
            c.nothing_changed();
            self.second_factor_failed(&caller.actor, "totp", meta)
                .await?;
            return Err(AppError::InvalidSecondFactor);
        }
        mfa::replace_recovery_codes(&mut c, user_id, &hashes, now).await?;
        details["recovery_codes"] = json!(codes.len());
        c.audit_in(None, action, format!("user:{user_id}"), details)
            .await?;
        c.commit().await?;
        attempt.succeeded(self.store()).await?;
        Ok(codes)
    }

    /// Removes the caller's authenticator app and recovery codes (passkeys
    /// are removed one by one), with the password and a current second
    /// factor. Ends every other session.
    pub async fn remove_mfa(
        &self,
        caller: &Caller,
        password: &str,
        factor: Option<SecondFactor>,
        meta: &RequestMeta,
    ) -> Result<()> {
        let session = caller.person_session()?;
        caller.admits(Reach::Everything)?;
        let user_id = caller.user_id();
        let methods = {
            let mut conn = self.store().conn().await?;
            self.mfa_methods(&mut conn, user_id).await?
        };
        if !methods.totp {
            return Err(AppError::conflict(
                Conflict::MfaNotEnrolled,
                "you have no authenticator app",
            ));
        }
        let factor = factor.ok_or(AppError::MfaRequired(methods))?;
        self.verify_own_password(caller, password, meta).await?;
        self.check_second_factor(&caller.actor, factor, meta)
            .await?;
        let mut c = self.person_change(caller.actor.clone(), meta).await?;
        mfa::remove_totp(&mut c, user_id).await?;
        let ended = sessions::delete_others(&mut c, user_id, session).await?;
        c.audit_in(
            None,
            "user.mfa_removed",
            format!("user:{user_id}"),
            json!({ "other_sessions_ended": ended }),
        )
        .await?;
        c.commit().await
    }

    /// Gives the second factor a session owes (opened by a magic link, or
    /// by a password in the console).
    pub async fn give_second_factor(
        &self,
        caller: &Caller,
        factor: SecondFactor,
        meta: &RequestMeta,
    ) -> Result<()> {
        let session = caller.person_session()?;
        caller.admits(Reach::SecondFactor)?;
        if caller.stage() != super::SessionStage::MfaRequired {
            return Err(AppError::conflict(
                Conflict::Other,
                "this session owes no second factor",
            ));
        }
        self.check_second_factor(&caller.actor, factor, meta)
            .await?;
        let mut conn = self.store().write_conn().await?;
        sessions::second_factor_given(&mut conn, session).await?;
        self.invalidate_caches();
        Ok(())
    }

    /// Checks a second factor of `actor`'s account, throttled per account
    /// and client like passwords. A TOTP code is accepted once (its time
    /// step is recorded atomically); a recovery code is used up. Failures
    /// and used recovery codes are audited (events of the person).
    pub(crate) async fn check_second_factor(
        &self,
        actor: &Actor,
        factor: SecondFactor,
        meta: &RequestMeta,
    ) -> Result<()> {
        if let SecondFactor::Passkey(a) = &factor {
            return self.check_passkey_factor(actor, a, meta).await;
        }
        let attempt = self.second_factor_attempt(actor.user_id, meta).await?;
        let factors = {
            let mut conn = self.store().conn().await?;
            mfa::factors(&mut conn, actor.user_id).await?
        };
        self.accept_second_factor(actor, factor, &factors, attempt, None, meta)
            .await?
            .commit()
            .await
    }

    /// Checks a code (TOTP or recovery code) counted by `attempt`, as
    /// [`App::check_second_factor`] does, against the account's `factors`
    /// as the caller read them outside any transaction (the TOTP step is
    /// claimed by a conditional UPDATE in the change, so a read gone stale
    /// accepts no code twice), and when it is right returns the
    /// change that records its use, its audit event and the attempt's
    /// success, uncommitted: the caller adds what the code was for (a
    /// sign-in's session) and commits, so a code is used up exactly when
    /// what it was for is done. A passkey is refused here as a wrong
    /// factor: it has its own check ([`App::check_passkey_factor`]).
    ///
    /// `with`: the attempt of a credential that came with the code and was
    /// right (a sign-in's password). Its success is recorded with the
    /// code's, in the change when the code is right and on its own when it
    /// is wrong.
    pub(crate) async fn accept_second_factor<'a>(
        &'a self,
        actor: &Actor,
        factor: SecondFactor,
        factors: &mfa::Factors,
        attempt: throttle::Attempt,
        with: Option<throttle::Attempt>,
        meta: &'a RequestMeta,
    ) -> Result<super::change::Change<'a>> {
        let user_id = actor.user_id;
        let now = self.now();
        let step = match &factor {
            SecondFactor::Totp(code) => self.totp_step(factors.totp.as_ref(), code, false, now)?,
            SecondFactor::RecoveryCode(_) | SecondFactor::Passkey(_) => None,
        };
        let mut c = self.person_change(actor.clone(), meta).await?;
        let (ok, method) = match &factor {
            SecondFactor::Totp(_) => (
                match step {
                    Some(step) => mfa::accept_step(&mut c, user_id, step, false, now).await?,
                    None => false,
                },
                "totp",
            ),
            SecondFactor::RecoveryCode(code) => {
                let normalized = crypto::normalize_recovery_code(code);
                let ok = normalized.len() <= 64
                    && mfa::use_recovery_code(
                        &mut c,
                        user_id,
                        &self.keys().hash_token(&normalized),
                        now,
                    )
                    .await?;
                (ok, "recovery_code")
            }
            SecondFactor::Passkey(_) => (false, "passkey"),
        };
        if !ok {
            c.nothing_changed();
            self.second_factor_failed(actor, method, meta).await?;
            if let Some(with) = with {
                with.succeeded(self.store()).await?;
            }
            return Err(AppError::InvalidSecondFactor);
        }
        match factor {
            SecondFactor::RecoveryCode(_) => {
                let left = mfa::recovery_codes_left(&mut c, user_id).await?;
                c.audit_in(
                    None,
                    "user.recovery_code_used",
                    format!("user:{user_id}"),
                    json!({ "recovery_codes_left": left }),
                )
                .await?;
            }
            // The accepted step is written with the change.
            SecondFactor::Totp(_) | SecondFactor::Passkey(_) => {
                c.audit_in(
                    None,
                    "user.second_factor",
                    format!("user:{user_id}"),
                    json!({ "method": "totp" }),
                )
                .await?;
            }
        }
        match with {
            Some(with) => with.both_succeeded_in(attempt, &mut c).await?,
            None => attempt.succeeded_in(&mut c).await?,
        }
        Ok(c)
    }

    async fn second_factor_attempt(
        &self,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<throttle::Attempt> {
        throttle::attempt(
            self.store(),
            self.now(),
            Try::SecondFactor,
            &user_id.get().to_string(),
            &meta.client_addr,
        )
        .await
    }

    /// Records a wrong second factor in the person's audit.
    async fn second_factor_failed(
        &self,
        actor: &Actor,
        method: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        tracing::info!(client = %meta.client_addr, "failed second factor");
        let mut c = self.person_change(actor.clone(), meta).await?;
        c.audit_in(
            None,
            "user.second_factor_failed",
            format!("user:{}", actor.user_id),
            json!({ "method": method }),
        )
        .await?;
        c.commit().await
    }

    /// The time step `code` belongs to for the account's TOTP factor
    /// (`confirm`: the unconfirmed one), if it is the code of the
    /// previous, current or next step and no code of that step or a later
    /// one was accepted before. Read outside any transaction; the caller
    /// then claims the step with one conditional UPDATE
    /// ([`mfa::accept_step`]) as the first statement of its change, so a
    /// code works once, also when sent twice at once.
    async fn match_totp(
        &self,
        user_id: UserId,
        code: &str,
        confirm: bool,
        now: Timestamp,
    ) -> Result<Option<i64>> {
        let found = {
            let mut conn = self.store().conn().await?;
            mfa::totp(&mut conn, user_id).await?
        };
        self.totp_step(found.as_ref(), code, confirm, now)
    }

    /// [`App::match_totp`] against a factor already read.
    fn totp_step(
        &self,
        found: Option<&mfa::Totp>,
        code: &str,
        confirm: bool,
        now: Timestamp,
    ) -> Result<Option<i64>> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let Some(t) = found else {
            return Ok(None);
        };
        if t.confirmed_at.is_some() == confirm {
            return Ok(None);
        }
        let secret = self.keys().decrypt(&t.secret).map_err(AppError::Internal)?;
        let seed = totp_rs::Secret::Encoded(secret)
            .to_bytes()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored TOTP seed: {e:?}")))?;
        let totp = totp_for(seed, "");
        let current = now.unix_ms().div_euclid(1000) / TOTP_STEP_SECS;
        let mut matched = None;
        for step in [current - 1, current, current + 1] {
            // Every step is computed, so the time taken does not say which.
            if code_at(&totp, step, &code) && step > t.last_step {
                matched = Some(step);
            }
        }
        Ok(matched)
    }

    async fn require_enrolled(&self, user_id: UserId) -> Result<()> {
        let mut conn = self.store().conn().await?;
        if mfa::totp_enrolled(&mut conn, user_id).await? {
            Ok(())
        } else {
            Err(AppError::conflict(
                Conflict::MfaNotEnrolled,
                "you have no authenticator app",
            ))
        }
    }

    /// An org's admin resets a member's second factors, only when the
    /// account belongs to no other org (its personal org aside): an org
    /// never weakens an account another org relies on (SPEC §2). Audited in
    /// the org and for the person, who is emailed; their sessions end.
    pub async fn admin_reset_mfa(
        &self,
        access: &OrgAccess,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        let org = &access.org;
        let mut c = self
            .change(access, Some(ManagementPermission::UsersManage), meta)
            .await?;
        let actor = c.held()?.clone();
        let target = members::find(&mut c, org.id, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        policy::may_manage_member(&actor, &resolve_role(&target.role))?;
        if members::other_org_count(&mut c, user_id, org.id).await? > 0 {
            return Err(AppError::conflict(
                Conflict::SharedAccount,
                "this account belongs to other organizations too, so only its owner can change its second factors; ask them to use a recovery code",
            ));
        }
        if mfa::remove_all(&mut c, user_id).await? == 0 {
            return Err(AppError::conflict(
                Conflict::MfaNotEnrolled,
                "this member has no second factor",
            ));
        }
        let ended = sessions::delete_all(&mut c, user_id).await?;
        let user = users::get(&mut c, user_id).await?;
        let target_ref = format!("user:{user_id}");
        let details = json!({ "email": user.email, "sessions_ended": ended });
        c.audit("user.mfa_reset", target_ref.clone(), details.clone())
            .await?;
        c.audit_in(None, "user.mfa_reset", target_ref, details)
            .await?;
        let by = access.caller.actor.email.to_string();
        c.notify(
            &user.email,
            Notice::MfaReset(MfaResetNotice {
                name: user.name.clone(),
                org_name: org.name.clone(),
                by,
            }),
        )
        .await?;
        c.commit().await
    }

    /// `POST /auth/password-reset`: mails a single-use link (30 minutes)
    /// to set a new password, when the address has a password account.
    /// The answer is the same whatever the address; throttled per address
    /// and client.
    pub async fn request_password_reset(&self, email: &str, meta: &RequestMeta) -> Result<()> {
        self.mail_link(email, LinkPurpose::Password, meta).await
    }

    /// `POST /auth/magic-link`: mails a single-use sign-in link (15
    /// minutes). The same answer whatever the address; throttled.
    pub async fn request_magic_link(&self, email: &str, meta: &RequestMeta) -> Result<()> {
        self.mail_link(email, LinkPurpose::SignIn, meta).await
    }

    async fn mail_link(&self, email: &str, purpose: LinkPurpose, meta: &RequestMeta) -> Result<()> {
        let key = Email::parse(email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|_| email.trim().to_lowercase());
        throttle::attempt(
            self.store(),
            self.now(),
            Try::MailedLink,
            &key,
            &meta.client_addr,
        )
        .await?;
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let user = {
            let mut conn = self.store().conn().await?;
            users::find_by_email(&mut conn, email.as_str()).await?
        };
        // Only people who sign in with a password (not service accounts,
        // not disabled accounts).
        let Some(user) = user.filter(|u| !u.disabled && u.password_hash.is_some()) else {
            return Ok(());
        };
        self.send_link(&user, purpose, None, meta).await
    }

    /// Queues a one-time link for `user` with the change that records it.
    async fn send_link(
        &self,
        user: &users::User,
        purpose: LinkPurpose,
        by: Option<(&OrgAccess, Actor)>,
        meta: &RequestMeta,
    ) -> Result<()> {
        let (prefix, ttl, path) = match purpose {
            LinkPurpose::Password => (
                super::members::PASSWORD_LINK_PREFIX,
                RESET_LINK_TTL,
                "set-password",
            ),
            LinkPurpose::SignIn => (MAGIC_LINK_PREFIX, MAGIC_LINK_TTL, "login/link"),
        };
        let token = crypto::new_token(prefix);
        let actor = Actor::new(user.id, &user.email, &user.name);
        let mut c = match &by {
            Some((access, _)) => {
                self.change(access, Some(ManagementPermission::UsersManage), meta)
                    .await?
            }
            None => self.person_change(actor, meta).await?,
        };
        let now = c.now();
        users::insert_link(
            &mut c,
            purpose,
            &self.keys().hash_token(&token),
            user.id,
            now,
            now.plus(ttl),
        )
        .await?;
        let link = format!("{}/{path}/{token}", self.settings().public_url);
        let minutes = (ttl.as_secs() / 60) as i64;
        let notice = match purpose {
            LinkPurpose::Password => Notice::PasswordReset(PasswordResetNotice {
                name: user.name.clone(),
                link,
                minutes,
                by: by.as_ref().map(|(_, a)| a.email.to_string()),
            }),
            LinkPurpose::SignIn => Notice::MagicLink(MagicLinkNotice {
                name: user.name.clone(),
                link,
                minutes,
            }),
        };
        let action = match purpose {
            LinkPurpose::Password => "user.password_reset_requested",
            LinkPurpose::SignIn => "user.magic_link_requested",
        };
        let target = format!("user:{}", user.id);
        if by.is_some() {
            c.audit(action, target.clone(), json!({ "email": user.email }))
                .await?;
        }
        c.audit_in(None, action, target, json!({ "by_admin": by.is_some() }))
            .await?;
        c.notify(&user.email, notice).await?;
        c.commit().await
    }

    /// An org's admin mails a member the password-reset link (they never
    /// see or set the password), only when the account belongs to no
    /// other org.
    pub async fn admin_send_password_reset(
        &self,
        access: &OrgAccess,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<()> {
        access.require(ManagementPermission::UsersManage)?;
        let (target, others, user) = {
            let mut conn = self.store().conn().await?;
            let target = members::find(&mut conn, access.org.id, user_id)
                .await?
                .ok_or(AppError::NotFound("member"))?;
            let others = members::other_org_count(&mut conn, user_id, access.org.id).await?;
            (target, others, users::get(&mut conn, user_id).await?)
        };
        policy::may_manage_member(&access.role, &resolve_role(&target.role))?;
        if others > 0 {
            return Err(AppError::conflict(
                Conflict::SharedAccount,
                "this account belongs to other organizations too, so only its owner can reset its password (from the sign-in page)",
            ));
        }
        if user.service_account {
            return Err(AppError::NotFound("member"));
        }
        let by = access.caller.actor.clone();
        self.send_link(&user, LinkPurpose::Password, Some((access, by)), meta)
            .await
    }

    /// Signs in with a magic link: opens a session (owing the second
    /// factor when the account has one). The link works once.
    pub async fn sign_in_with_link(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<super::auth::Login> {
        let result = self.link_sign_in(token, meta).await;
        self.count_sign_in("magic_link", &result);
        result
    }

    async fn link_sign_in(&self, token: &str, meta: &RequestMeta) -> Result<super::auth::Login> {
        if !token.starts_with(MAGIC_LINK_PREFIX) || token.len() > 100 {
            return Err(AppError::InvalidLink);
        }
        let user_id = {
            let mut conn = self.store().conn().await?;
            users::use_link(
                &mut conn,
                LinkPurpose::SignIn,
                &self.keys().hash_token(token),
                self.now(),
            )
            .await?
            .ok_or(AppError::InvalidLink)?
        };
        let user = {
            let mut conn = self.store().conn().await?;
            users::get(&mut conn, user_id).await?
        };
        if user.disabled {
            return Err(AppError::InvalidLink);
        }
        let login = self.open_session(user, true, meta).await?;
        let mut c = self
            .person_change(
                Actor::new(login.user.id, &login.user.email, &login.user.name),
                meta,
            )
            .await?;
        c.audit_in(
            None,
            "user.magic_link_used",
            format!("user:{}", login.user.id),
            json!({ "second_factor_owed": login.stage == super::SessionStage::MfaRequired }),
        )
        .await?;
        c.commit().await?;
        Ok(login)
    }
}
