//! The application's error type. Variants carry meanings; the HTTP layer
//! maps each to a status and a stable problem code in one table
//! (`http/error.rs`), and no code is written anywhere else.

use roster_domain::{Conflict, DomainError, MemberStatus};
use roster_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// No credentials, or credentials that are not (or no longer) valid.
    #[error("sign-in required")]
    Unauthenticated,
    /// Wrong email or password; the same answer whether the email exists.
    #[error("the email or password is not correct")]
    InvalidCredentials,
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The session's password is temporary and must be changed first.
    #[error("change your temporary password before doing anything else")]
    PasswordChangeRequired,
    /// The session was opened with one factor of two; give the second
    /// (`methods`: what the account has) before anything else.
    #[error("{}", .0.ask())]
    MfaRequired(MfaMethods),
    /// A second factor that is wrong, already used or not enrolled.
    #[error("the code is not correct, or was already used")]
    InvalidSecondFactor,
    /// An org the account belongs to requires a second factor: enrol one
    /// before anything else.
    #[error("an organization you belong to requires a second factor: set one up before doing anything else")]
    MfaEnrolmentRequired,
    /// The request needs a person's own sign-in session; an API token
    /// cannot change its owner's credentials, sessions or orgs.
    #[error("this needs a signed-in session; API tokens cannot change their owner's credentials, sessions or organizations")]
    SessionRequired,
    /// The membership exists but is not active.
    #[error("your membership in this organization is {status}")]
    MembershipInactive { status: MemberStatus },
    /// The caller may see the thing but not do this; carries the reason.
    #[error("{0}")]
    Forbidden(String),
    /// Not found, or not visible to the caller (never says which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change collides with existing data or with a state that forbids
    /// it; the message says with what, in the caller's terms.
    #[error("{message}")]
    Conflict { conflict: Conflict, message: String },
    /// A one-time link that was already used, or has expired.
    #[error("this link is invalid or has already been used")]
    InvalidLink,
    /// Self-registration refused: the org does not take sign-ups from
    /// this address (or does not exist; the answer does not say which).
    #[error("this organization does not accept sign-ups from this address; ask an administrator for an invitation")]
    SignupNotAllowed,
    /// An invitation link past its expiry.
    #[error("this invitation has expired; ask for a new one")]
    InvitationExpired,
    /// Single sign-on refused or failed; the kind says why, the message
    /// says it in words (never the provider's own).
    #[error("{message}")]
    Sso { kind: SsoFailure, message: String },
    /// A passkey ceremony refused; the kind says why.
    #[error("{}", .0.describe())]
    Passkey(PasskeyFailure),
    #[error("the database is unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The second factors an account has, for the `methods` of an
/// `mfa_required` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaMethods {
    /// An authenticator app (and so its recovery codes).
    pub totp: bool,
    pub passkey: bool,
}

impl MfaMethods {
    /// What is said when the account is not at hand (a session's stage):
    /// every kind there is.
    pub const ANY: MfaMethods = MfaMethods {
        totp: true,
        passkey: true,
    };

    pub fn any(self) -> bool {
        self.totp || self.passkey
    }

    /// The methods' names, as the API lists them.
    pub fn names(self) -> Vec<String> {
        let mut v = Vec::new();
        if self.totp {
            v.extend(["totp".to_owned(), "recovery_code".to_owned()]);
        }
        if self.passkey {
            v.push("passkey".to_owned());
        }
        v
    }

    fn ask(self) -> &'static str {
        match (self.totp, self.passkey) {
            (true, false) => "this account has a second factor: give a code from your authenticator app or a recovery code",
            (false, true) => "this account has a second factor: confirm with one of your passkeys",
            _ => "this account has a second factor: give a code from your authenticator app, a recovery code, or use a passkey",
        }
    }
}

/// Why a passkey ceremony was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyFailure {
    /// The challenge is unknown, used, expired, of another kind of
    /// ceremony or bound to another account.
    ChallengeInvalid,
    /// No account has this credential.
    UnknownCredential,
    /// The authenticator's answer does not verify: wrong challenge,
    /// origin or signature, no user verification, another account's
    /// passkey, or a cloned authenticator's counter.
    Rejected,
    /// The credential sent is not a WebAuthn credential's JSON.
    Malformed,
    /// The authenticator's credential is registered already.
    AlreadyRegistered,
    /// The server's public URL names no domain, which WebAuthn needs.
    Unavailable,
}

impl PasskeyFailure {
    fn describe(self) -> &'static str {
        match self {
            PasskeyFailure::ChallengeInvalid => "this passkey challenge is unknown, expired or already used; start again",
            PasskeyFailure::UnknownCredential => "this passkey is not registered with any account here",
            PasskeyFailure::Rejected => "the passkey's answer could not be verified for this account and challenge",
            PasskeyFailure::Malformed => "the credential is not a WebAuthn credential (send what navigator.credentials returned, as JSON)",
            PasskeyFailure::AlreadyRegistered => "this passkey is registered already",
            PasskeyFailure::Unavailable => "passkeys need the server's public URL to name a domain (or localhost); set ROSTER_PUBLIC_URL",
        }
    }
}

/// Why a single sign-on did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// No connection serves this email's domain (or the org has none).
    NotConfigured,
    /// The sign-in's state is unknown, used, expired or from another
    /// browser.
    StateInvalid,
    /// The provider's ID token failed validation (signature, issuer,
    /// audience, expiry, nonce) or lacks what Roster needs.
    TokenInvalid,
    /// The provider answered with an error (refused the code, the user
    /// declined).
    ProviderError,
    /// The provider could not be reached.
    ProviderUnavailable,
    /// The provider asserted an email outside the connection's domains.
    EmailDomainNotServed,
    /// An existing account cannot be linked: the email is not verified by
    /// the provider (SPEC §2).
    AccountNotLinked,
    /// Not a member of the org and just-in-time membership is off.
    NotAMember,
    /// The org's connection enforces SSO for this account's domain: a
    /// password session does not open the org.
    Required,
}

impl AppError {
    /// A single sign-on failure with its words.
    pub fn sso(kind: SsoFailure, message: impl Into<String>) -> AppError {
        AppError::Sso {
            kind,
            message: message.into(),
        }
    }

    /// A conflict with a message naming what collided.
    pub fn conflict(conflict: Conflict, message: impl Into<String>) -> AppError {
        AppError::Conflict {
            conflict,
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("record"),
            StoreError::Conflict(c) => AppError::conflict(c, c.describe()),
            StoreError::Unavailable(_) => AppError::Unavailable,
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// Turning store errors into application errors with the caller's words.
pub(crate) trait StoreResultExt<T> {
    /// A conflict that means `expected` gets `message`; other errors map
    /// as usual.
    fn on_conflict(self, expected: Conflict, message: impl FnOnce() -> String) -> Result<T>;

    /// `NotFound` becomes "`what` not found".
    fn or_not_found(self, what: &'static str) -> Result<T>;
}

impl<T> StoreResultExt<T> for Result<T, StoreError> {
    fn on_conflict(self, expected: Conflict, message: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| match e {
            StoreError::Conflict(c) if c == expected => AppError::conflict(c, message()),
            other => other.into(),
        })
    }

    fn or_not_found(self, what: &'static str) -> Result<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => AppError::NotFound(what),
            other => other.into(),
        })
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
