//! Sign-in, sessions, and the signed-in user's own account.

use super::caller::{Actor, Caller, Credential, Reach, SessionStage, StageFacts};
use super::error::{Result, StoreResultExt};
use super::mfa::SecondFactor;
use super::{throttle, App, AppError, RequestMeta};
use crate::crypto;
use roster_domain::{
    BuiltinRole, Conflict, DisplayName, Email, MemberStatus, OrgId, OrgSlug, Password, SessionId,
    Timestamp, UserId,
};
use roster_store::{members, mfa, orgs, sessions, tokens, users, Conn};
use serde_json::json;
use std::time::Duration;

/// Session tokens start with this, so they are recognisable in a leak.
pub const SESSION_PREFIX: &str = "rss_";
/// API tokens start with this, so secret scanners can find leaked ones.
pub const TOKEN_PREFIX: &str = "rst_";

/// Which kind of credential a bearer token is, by its prefix.
#[derive(Clone, Copy)]
enum Kind {
    Session,
    Token,
}

/// How often `last_seen_at` / `last_active_at` are written at most.
pub const ACTIVITY_RESOLUTION: Duration = Duration::from_secs(60);

/// The result of a successful sign-in. `token` is shown once.
pub struct Login {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: users::User,
    /// What the new session must do before anything else.
    pub stage: SessionStage,
}

/// Runs argon2 on a blocking thread: it is the only real cost of a sign-in
/// and must not stall the async workers.
async fn verify_blocking(hash: String, password: Password) -> Result<bool> {
    hashing(move || crypto::verify_password(&hash, password.expose())).await
}

pub(crate) async fn hash_blocking(password: String) -> Result<String> {
    hashing(move || crypto::hash_password(&password))
        .await?
        .map_err(AppError::Internal)
}

/// A unit of hashing work for the pool.
type HashJob = Box<dyn FnOnce() + Send>;

/// Runs password hashing on a small pool of long-lived threads, one per
/// core. Each argon2id computation works through 19 MiB: running more at
/// once than there are cores only makes them evict each other from the
/// caches, and spreading them over the many threads of tokio's blocking
/// pool leaves a 19 MiB buffer cached in each thread's malloc arena. Waiting
/// requests queue here instead.
pub(crate) async fn hashing<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R> {
    static POOL: std::sync::LazyLock<Option<std::sync::mpsc::Sender<HashJob>>> =
        std::sync::LazyLock::new(|| {
            let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
            let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
            let threads = std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2);
            let started = (0..threads)
                .filter(|i| {
                    let rx = rx.clone();
                    std::thread::Builder::new()
                        .name(format!("roster-hash-{i}"))
                        .spawn(move || loop {
                            let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        })
                        .is_ok()
                })
                .count();
            (started > 0).then_some(tx)
        });
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = done_tx.send(work());
    });
    match POOL.as_ref() {
        Some(pool) => pool
            .send(job)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the hashing pool has stopped")))?,
        // No thread could be started: fall back to tokio's blocking pool.
        None => drop(tokio::task::spawn_blocking(job)),
    }
    done_rx
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("a hashing job was dropped")))
}

/// Creates an account: the user, their personal org, and their ownership
/// of it (SPEC §1). Part of the caller's transaction.
pub(crate) async fn create_account(
    conn: &mut Conn,
    now: Timestamp,
    email: &Email,
    name: &DisplayName,
    password_hash: Option<&str>,
    must_change_password: bool,
) -> Result<UserId> {
    let user_id = users::insert(
        conn,
        users::NewUser {
            email: email.as_str(),
            name: name.as_str(),
            name_folded: &name.folded(),
            password_hash,
            must_change_password,
            now,
        },
    )
    .await
    .on_conflict(Conflict::EmailTaken, || {
        format!("an account with email {email} already exists")
    })?;
    let slug = OrgSlug::personal(user_id.get());
    let org_id = orgs::insert(
        conn,
        slug.as_str(),
        &format!("{name} (personal)"),
        Some(user_id),
        now,
    )
    .await?;
    add_first_owner(conn, org_id, user_id, now).await?;
    Ok(user_id)
}

/// Makes `user_id` the first member of a new org, as its owner (SPEC §2).
pub(crate) async fn add_first_owner(
    conn: &mut Conn,
    org_id: OrgId,
    user_id: UserId,
    now: Timestamp,
) -> Result<()> {
    members::insert(
        conn,
        members::NewMembership {
            org_id,
            user_id,
            role: BuiltinRole::Owner.name(),
            team: "",
            status: MemberStatus::Active,
            identity_provider: "password",
            mfa_required: false,
            now,
        },
    )
    .await?;
    Ok(())
}

impl App {
    /// Signs in with email and password, and the second factor when the
    /// account has one (without it: [`AppError::MfaRequired`], and no
    /// session). Throttled per account and client address; an unknown email
    /// costs the same hash and gets the same answer as a wrong password.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        second: Option<SecondFactor>,
        meta: &RequestMeta,
    ) -> Result<Login> {
        self.password_sign_in(email, password, second, false, meta)
            .await
    }

    /// Signs in as [`App::login`], but without a second factor for an
    /// account that has one opens a session that owes it
    /// ([`SessionStage::MfaRequired`]): the console's sign-in, which asks
    /// for the code on the next page.
    pub async fn login_owing_second_factor(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<Login> {
        self.password_sign_in(email, password, None, true, meta)
            .await
    }

    /// [`App::password_sign_in_inner`], counted by outcome in the
    /// sign-in metrics.
    async fn password_sign_in(
        &self,
        email: &str,
        password: &str,
        second: Option<SecondFactor>,
        may_owe: bool,
        meta: &RequestMeta,
    ) -> Result<Login> {
        let result = self
            .password_sign_in_inner(email, password, second, may_owe, meta)
            .await;
        self.count_sign_in("password", &result);
        result
    }

    /// Counts a sign-in by `method` (`password`, `passkey`, `magic_link`)
    /// and outcome in `roster_sign_ins_total`.
    pub(crate) fn count_sign_in(&self, method: &'static str, result: &Result<Login>) {
        let outcome = match result {
            Ok(_) => "success",
            Err(AppError::InvalidCredentials | AppError::Passkey(_) | AppError::InvalidLink) => {
                "invalid_credentials"
            }
            Err(AppError::MfaRequired(_)) => "mfa_required",
            Err(AppError::TooManyAttempts { .. }) => "throttled",
            Err(_) => "error",
        };
        self.observer().record(|| {
            metrics::counter!("roster_sign_ins_total", "method" => method, "outcome" => outcome)
                .increment(1)
        });
    }

    async fn password_sign_in_inner(
        &self,
        email: &str,
        password: &str,
        second: Option<SecondFactor>,
        may_owe: bool,
        meta: &RequestMeta,
    ) -> Result<Login> {
        // Malformed emails and overlong passwords cannot match an account;
        // answer as for a wrong password.
        // The throttle's key is the address in its one spelling, so
        // look-alike spellings of it share one counter.
        let email_key = Email::parse(email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|_| email.trim().to_lowercase());
        // The account and its second factors are read first, in one
        // statement, so that a code sent with the password is counted with
        // it: one commit before either is checked. An unknown email runs
        // the same statement and finds no row. The read and the count
        // share one pooled connection (every release of one to the pool
        // costs sqlx a round trip to it), at the price of reading while
        // holding SQLite's write gate.
        let mut conn = self.store().write_conn().await?;
        let (user, factors) = match Email::parse(email) {
            Ok(e) => users::find_by_email_with_factors(&mut conn, e.as_str()).await?,
            Err(_) => None,
        }
        .map_or((None, mfa::Factors::default()), |(u, f)| (Some(u), f));
        let methods = super::mfa::methods_of(&factors);
        let code_of = match (&user, &second) {
            (Some(u), Some(SecondFactor::Totp(_) | SecondFactor::RecoveryCode(_)))
                if methods.any() =>
            {
                Some(u.id.get().to_string())
            }
            _ => None,
        };
        let (attempt, code_attempt) = throttle::attempt_with(
            &mut conn,
            self.now(),
            (throttle::Try::Password, &email_key),
            code_of
                .as_deref()
                .map(|id| (throttle::Try::SecondFactor, id)),
            &meta.client_addr,
        )
        .await?;
        // Not held while the password is hashed.
        drop(conn);
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.inner.dummy_hash.clone());
        let matches = match Password::parse_offered(password) {
            Ok(password) => verify_blocking(hash, password).await?,
            Err(_) => false,
        };
        let user = match user {
            Some(u) if matches && u.password_hash.is_some() && !u.disabled => u,
            _ => {
                tracing::info!(client = %meta.client_addr, "failed sign-in");
                if let Some(code) = code_attempt {
                    code.withdrawn(self.store()).await?;
                }
                return Err(AppError::InvalidCredentials);
            }
        };
        match (methods.any(), second, code_attempt) {
            // The password's success commits with the session.
            (false, _, _) => self.open_session_after(user, false, attempt, meta).await,
            (true, None, _) if may_owe => self.open_session_after(user, true, attempt, meta).await,
            (true, None, _) => {
                attempt.succeeded(self.store()).await?;
                Err(AppError::MfaRequired(methods))
            }
            // A code: its use, its success, the password's success and the
            // session are one commit.
            (true, Some(factor), Some(code_attempt)) => {
                let actor = Actor::new(user.id, &user.email, &user.name);
                let (attempt, code_attempt) = attempt.hands_address_to(code_attempt);
                let mut c = self
                    .accept_second_factor(
                        &actor,
                        factor,
                        &factors,
                        code_attempt,
                        Some(attempt),
                        meta,
                    )
                    .await?;
                let login = self.insert_session(&mut c, user, false, None, meta).await?;
                c.only_signs_in();
                c.commit().await?;
                Ok(login)
            }
            // A passkey: it has its own check (a code always has its
            // attempt counted with the password).
            (true, Some(factor), None) => {
                attempt.succeeded(self.store()).await?;
                let actor = Actor::new(user.id, &user.email, &user.name);
                self.check_second_factor(&actor, factor, meta).await?;
                self.open_session(user, false, meta).await
            }
        }
    }

    /// Opens a session for `user` as [`App::open_session`] does, and
    /// commits the success of the sign-in's `attempt` with it.
    async fn open_session_after(
        &self,
        user: users::User,
        owing: bool,
        attempt: throttle::Attempt,
        meta: &RequestMeta,
    ) -> Result<Login> {
        let mut tx = self.store().begin().await?;
        attempt.succeeded_in(&mut tx).await?;
        let login = self
            .insert_session(&mut tx, user, owing, None, meta)
            .await?;
        roster_store::commit(tx).await?;
        Ok(login)
    }

    /// Opens a session for `user`; `owing`: it owes the second factor
    /// (when the account has one).
    pub(crate) async fn open_session(
        &self,
        user: users::User,
        owing: bool,
        meta: &RequestMeta,
    ) -> Result<Login> {
        self.open_session_through(user, owing, None, meta).await
    }

    /// [`App::open_session`] for a sign-in through SSO connection `sso`.
    pub(crate) async fn open_session_through(
        &self,
        user: users::User,
        owing: bool,
        sso: Option<i64>,
        meta: &RequestMeta,
    ) -> Result<Login> {
        let mut tx = self.store().begin().await?;
        let login = self.insert_session(&mut tx, user, owing, sso, meta).await?;
        roster_store::commit(tx).await?;
        Ok(login)
    }

    /// Inserts a session for `user` in the caller's transaction (and
    /// records the account's activity): [`App::open_session_through`]
    /// without the commit.
    pub(crate) async fn insert_session(
        &self,
        conn: &mut Conn,
        user: users::User,
        owing: bool,
        sso: Option<i64>,
        meta: &RequestMeta,
    ) -> Result<Login> {
        let token = crypto::new_token(SESSION_PREFIX);
        let token_hash = self.keys().hash_token(&token);
        let now = self.now();
        let expires_at = now.plus(self.settings().session_ttl);
        let owing = owing && mfa::enrolled(conn, user.id).await?;
        let opened = sessions::insert(
            conn,
            sessions::NewSession {
                token_hash: &token_hash,
                user_id: user.id,
                now,
                expires_at,
                client_addr: &meta.client_addr,
                user_agent: truncate(&meta.user_agent, 200),
                second_factor_pending: owing,
                sso_connection_id: sso,
            },
        )
        .await?;
        // The account's activity only moves once per resolution: the row
        // read for this sign-in says whether it is due (it can only be
        // later in the database, never earlier).
        if user
            .last_active_at
            .is_none_or(|at| at < now.minus(ACTIVITY_RESOLUTION))
        {
            users::touch_activity(conn, user.id, now, ACTIVITY_RESOLUTION).await?;
        }
        // The stage as `find_live` would read it, from what the insert
        // returned.
        let stage = SessionStage::of_session(StageFacts {
            must_change_password: opened.must_change_password,
            second_factor_pending: owing,
            has_second_factor: opened.has_second_factor,
            second_factor_required: opened.second_factor_required,
        });
        Ok(Login {
            token,
            expires_at,
            stage,
            user,
        })
    }

    /// Checks the caller's own password (removing a second factor).
    pub(crate) async fn verify_own_password(
        &self,
        caller: &Caller,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let attempt = throttle::attempt(
            self.store(),
            self.now(),
            throttle::Try::Password,
            &caller.actor.email.to_lowercase(),
            &meta.client_addr,
        )
        .await?;
        let password =
            Password::parse_offered(password).map_err(|_| AppError::InvalidCredentials)?;
        let user = {
            let mut conn = self.store().conn().await?;
            users::get(&mut conn, caller.user_id()).await?
        };
        let hash = user
            .password_hash
            .clone()
            .unwrap_or_else(|| self.inner.dummy_hash.clone());
        if user.password_hash.is_none() || !verify_blocking(hash, password).await? {
            return Err(AppError::InvalidCredentials);
        }
        attempt.succeeded(self.store()).await
    }

    /// Resolves a bearer token or session cookie into a caller: a session
    /// (`rss_...`) or an API token (`rst_...`). Expired, unknown, revoked or
    /// forged tokens, and disabled accounts, are
    /// [`AppError::Unauthenticated`]. The caller's stage is the request
    /// handler's to check (see [`super::caller::Reach`]).
    ///
    /// A validated credential is remembered for at most a second and only
    /// until this process commits a change, so the request after a
    /// revocation is refused; the same credential from another address is
    /// validated again (a token's use from a new address is audited).
    pub async fn authenticate(&self, token: &str, meta: &RequestMeta) -> Result<Caller> {
        let kind = if token.starts_with(SESSION_PREFIX) {
            Kind::Session
        } else if token.starts_with(TOKEN_PREFIX) {
            Kind::Token
        } else {
            return Err(AppError::Unauthenticated);
        };
        if token.len() > 100 {
            return Err(AppError::Unauthenticated);
        }
        let token_hash = self.keys().hash_token(token);
        // A token's last use is recorded per client address, so a use from
        // another address is validated (and recorded) again.
        let from = match kind {
            Kind::Session => "",
            Kind::Token => meta.client_addr.as_str(),
        };
        if let Some(c) = self
            .inner
            .authz
            .cached_session(&token_hash, from, self.now())
        {
            return Ok(c);
        }
        // One request per credential revalidates; the others wait and then
        // find its answer in the cache.
        let _one = self.inner.authz.revalidating().lock(&token_hash).await;
        let now = self.now();
        if let Some(c) = self.inner.authz.cached_session(&token_hash, from, now) {
            return Ok(c);
        }
        let generation = self.inner.authz.generation();
        let (caller, expires_at) = match kind {
            Kind::Session => self.validate_session(&token_hash, now).await?,
            Kind::Token => self.validate_token(&token_hash, now, meta).await?,
        };
        self.inner.authz.cache_session(
            token_hash,
            from,
            caller.clone(),
            expires_at,
            generation,
            now,
        );
        Ok(caller)
    }

    async fn validate_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<(Caller, Timestamp)> {
        let mut conn = self.store().conn().await?;
        let found = sessions::find_live(&mut conn, token_hash, now).await?;
        let Some(s) = found.filter(|s| !s.disabled) else {
            return Err(AppError::Unauthenticated);
        };
        if now.since(s.last_seen_at) > ACTIVITY_RESOLUTION {
            drop(conn);
            let mut conn = self.store().write_conn().await?;
            sessions::touch(&mut conn, s.session_id, now).await?;
            users::touch_activity(&mut conn, s.user_id, now, ACTIVITY_RESOLUTION).await?;
        }
        let caller = Caller {
            actor: Actor::new(s.user_id, &s.email, &s.name),
            credential: Credential::Session {
                id: s.session_id,
                stage: stage_of(&s),
                sso: s.sso_connection_id,
                methods: super::MfaMethods {
                    totp: s.has_totp,
                    passkey: s.has_passkey,
                },
            },
        };
        Ok((caller, s.expires_at))
    }

    /// Validates an API token. Its last use is written at most once a
    /// minute (and when the address changes), so using a token is not a
    /// write per request; a use from an address the token was not last
    /// used from is audited in the token's org.
    async fn validate_token(
        &self,
        token_hash: &str,
        now: Timestamp,
        meta: &RequestMeta,
    ) -> Result<(Caller, Timestamp)> {
        let found = {
            let mut conn = self.store().conn().await?;
            tokens::find_live(&mut conn, tokens::TokenKind::Api, token_hash, now).await?
        };
        let Some((t, owner_disabled)) = found else {
            return Err(AppError::Unauthenticated);
        };
        if owner_disabled {
            return Err(AppError::Unauthenticated);
        }
        let actor = Actor::new(t.user_id, &t.email, &t.owner_name);
        let new_address = t.last_used_from != meta.client_addr;
        if new_address {
            let mut c = self.change_org(t.org_id, Some(actor.clone()), meta).await?;
            tokens::touch(&mut c, t.id, now, &meta.client_addr).await?;
            c.audit(
                "token.use_from_new_address",
                format!("token:{}", t.id),
                json!({ "name": t.name, "owner": t.email, "previous": t.last_used_from }),
            )
            .await?;
            c.commit().await?;
        } else if t
            .last_used_at
            .is_none_or(|at| now.since(at) > ACTIVITY_RESOLUTION)
        {
            let mut conn = self.store().write_conn().await?;
            tokens::touch(&mut conn, t.id, now, &meta.client_addr).await?;
        }
        let caller = Caller {
            actor,
            credential: Credential::Token {
                id: t.id,
                org: t.org_id,
                permissions: t.permissions.map(Into::into),
            },
        };
        Ok((caller, t.expires_at))
    }

    /// Ends the caller's session.
    pub async fn logout(&self, caller: &Caller) -> Result<()> {
        let id = caller.person_session()?;
        let mut conn = self.store().write_conn().await?;
        let done = match sessions::delete(&mut conn, id).await {
            Ok(()) | Err(roster_store::StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        };
        self.inner.authz.invalidate();
        done
    }

    /// Changes the signed-in user's password. Other sessions end; this one
    /// stays and loses the `password_change_required` mark.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let session = caller.person_session()?;
        caller.admits(Reach::PasswordChange)?;
        let new = Password::parse_new(new)?;
        let current = Password::parse_offered(current).map_err(|_| AppError::InvalidCredentials)?;
        if new.expose() == current.expose() {
            return Err(AppError::Domain(roster_domain::DomainError::Invalid {
                field: roster_domain::Field("new_password"),
                message: "the new password must differ from the current one".into(),
            }));
        }
        let user = {
            let mut conn = self.store().conn().await?;
            users::get(&mut conn, caller.user_id()).await?
        };
        let hash = user
            .password_hash
            .clone()
            .unwrap_or_else(|| self.inner.dummy_hash.clone());
        if user.password_hash.is_none() || !verify_blocking(hash, current).await? {
            return Err(AppError::InvalidCredentials);
        }
        let new_hash = hash_blocking(new.expose().to_owned()).await?;
        let mut c = self
            .change_account(Some(caller.actor.clone()), meta)
            .await?;
        let now = c.now();
        users::set_password(&mut c, caller.user_id(), &new_hash, false, now).await?;
        let ended = sessions::delete_others(&mut c, caller.user_id(), session).await?;
        c.audit(
            "user.password_change",
            format!("user:{}", caller.user_id()),
            json!({ "other_sessions_ended": ended }),
        )
        .await?;
        c.commit().await
    }

    /// Renames the signed-in person's account. Only they can: an org edits
    /// its membership of a person, never the person's name (SPEC §2).
    /// Needs a sign-in session (an API token acts in an org, not on the
    /// account).
    pub async fn rename_me(
        &self,
        caller: &Caller,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<users::User> {
        caller.person_session()?;
        let name = roster_domain::DisplayName::parse(name)?;
        let mut c = self
            .change_account(Some(caller.actor.clone()), meta)
            .await?;
        let now = c.now();
        let before = users::get(&mut c, caller.user_id()).await?;
        if before.name == name.as_str() {
            c.nothing_changed();
            return Ok(before);
        }
        users::set_name(&mut c, caller.user_id(), name.as_str(), &name.folded(), now).await?;
        c.audit(
            "user.rename",
            format!("user:{}", caller.user_id()),
            json!({ "from": before.name, "to": name.as_str() }),
        )
        .await?;
        let user = users::get(&mut c, caller.user_id()).await?;
        c.commit().await?;
        Ok(user)
    }

    /// The signed-in user and their memberships.
    pub async fn me(&self, caller: &Caller) -> Result<(users::User, Vec<members::UserMembership>)> {
        let user = users::get(&mut *self.store().conn().await?, caller.user_id()).await?;
        Ok((user, self.memberships(caller).await?))
    }

    /// The signed-in user's memberships, every status (the console's org
    /// switcher on every page).
    pub async fn memberships(&self, caller: &Caller) -> Result<Vec<members::UserMembership>> {
        let mut conn = self.store().conn().await?;
        let mut all = members::of_user(&mut conn, caller.user_id()).await?;
        if let Some(org) = caller.bound_org() {
            all.retain(|m| m.org_id == org);
        }
        Ok(all)
    }

    pub async fn sessions(&self, caller: &Caller) -> Result<Vec<sessions::SessionInfo>> {
        caller.person_session()?;
        let mut conn = self.store().conn().await?;
        Ok(sessions::list_for_user(&mut conn, caller.user_id(), self.now()).await?)
    }

    pub async fn end_session(&self, caller: &Caller, session_id: SessionId) -> Result<()> {
        caller.person_session()?;
        let mut conn = self.store().write_conn().await?;
        let done = sessions::delete_for_user(&mut conn, caller.user_id(), session_id)
            .await
            .or_not_found("session");
        self.inner.authz.invalidate();
        done
    }
}

/// A session's sign-in stage, from what the store read about it.
fn stage_of(s: &sessions::SessionUser) -> SessionStage {
    SessionStage::of_session(StageFacts {
        must_change_password: s.must_change_password,
        second_factor_pending: s.second_factor_pending,
        has_second_factor: s.has_second_factor,
        second_factor_required: s.second_factor_required,
    })
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
