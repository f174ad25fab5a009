//! Who is calling: the account behind a request, the credential it came
//! with, and how far along sign-in that credential is. Resolved once per
//! request by the HTTP layer (`App::authenticate`) and handed to the use
//! cases, which never look at tokens themselves.

use super::AppError;
use roster_domain::{OrgId, SessionId, TokenId, UserId};
use std::sync::Arc;

/// The account a change is made by, as the audit log records it: its id
/// and its email and name at that moment. Shared strings: a caller is
/// cloned out of the credential cache on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub email: Arc<str>,
    pub name: Arc<str>,
}

impl Actor {
    pub fn new(user_id: UserId, email: &str, name: &str) -> Actor {
        Actor {
            user_id,
            email: email.into(),
            name: name.into(),
        }
    }
}

/// How far a session is through signing in. A session that still has a
/// step to take reaches only what that step needs (see [`Reach`]); the
/// API answers with the step's problem and the console sends the browser
/// to the step's page, both from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Signed in; nothing left to do.
    Ready,
    /// Signed in with a temporary password that must be changed first.
    PasswordChangeRequired,
    /// Opened with one factor (a password, a magic link) of an account
    /// that has two: the second factor is owed.
    MfaRequired,
    /// An org the account is an active member of requires a second factor
    /// (its `mfa_policy`, or the membership's `mfa_required`), and the
    /// account has none: enrol first.
    MfaEnrolmentRequired,
}

/// What a request needs of a session's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anything: a session that still has a step to take is refused.
    Everything,
    /// Signing out and reading what the sign-in pages show: open to a
    /// session at any stage. Use cases narrow it with the reaches below.
    SignInSteps,
    /// Changing one's password: not while a second factor is owed.
    PasswordChange,
    /// Giving the second factor a session owes.
    SecondFactor,
    /// Enrolling a second factor: not while one is owed.
    Enrolment,
}

/// What [`SessionStage::of_session`] reads about a session and its account.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageFacts {
    pub must_change_password: bool,
    pub second_factor_pending: bool,
    pub has_second_factor: bool,
    pub second_factor_required: bool,
}

impl SessionStage {
    /// The stage of a new session for an account.
    pub fn of_account(must_change_password: bool) -> SessionStage {
        SessionStage::of_session(StageFacts {
            must_change_password,
            ..StageFacts::default()
        })
    }

    /// The stage of a session: a second factor owed comes first (nothing,
    /// not even a password change, before it), then a temporary password,
    /// then an enrolment an org requires.
    pub fn of_session(f: StageFacts) -> SessionStage {
        if f.second_factor_pending {
            SessionStage::MfaRequired
        } else if f.must_change_password {
            SessionStage::PasswordChangeRequired
        } else if f.second_factor_required && !f.has_second_factor {
            SessionStage::MfaEnrolmentRequired
        } else {
            SessionStage::Ready
        }
    }

    /// Whether a request that needs `reach` may go ahead; the error names
    /// the step to take first.
    pub fn admits(self, reach: Reach) -> Result<(), AppError> {
        use Reach as R;
        use SessionStage as S;
        match (self, reach) {
            (S::Ready, _) | (_, R::SignInSteps) => Ok(()),
            (S::MfaRequired, R::SecondFactor) => Ok(()),
            (S::MfaRequired, _) => Err(AppError::MfaRequired(super::MfaMethods::ANY)),
            (S::PasswordChangeRequired, R::PasswordChange) => Ok(()),
            (S::PasswordChangeRequired, _) => Err(AppError::PasswordChangeRequired),
            (S::MfaEnrolmentRequired, R::PasswordChange | R::Enrolment) => Ok(()),
            (S::MfaEnrolmentRequired, _) => Err(AppError::MfaEnrolmentRequired),
        }
    }

    /// The console page where the remaining step is taken, if any.
    pub fn console_page(self) -> Option<&'static str> {
        match self {
            SessionStage::Ready => None,
            SessionStage::PasswordChangeRequired => Some("/password"),
            SessionStage::MfaRequired => Some("/login/mfa"),
            SessionStage::MfaEnrolmentRequired => Some("/profile/mfa"),
        }
    }
}

/// The credential a request came with, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A person's sign-in session (API bearer token, CLI, console cookie).
    /// It covers every org of its account.
    /// `sso`: the SSO connection it was opened through, if any (an org
    /// that enforces SSO opens only to those).
    Session {
        id: SessionId,
        stage: SessionStage,
        sso: Option<i64>,
        /// The account's second factors, for an `mfa_required` answer.
        methods: super::MfaMethods,
    },
    /// A member acting from Slack through the Slack account they linked
    /// (a click on a review card). Slack verified the request; it covers
    /// the one org whose workspace it came from.
    LinkedSlack { slack_user: String },
    /// An API token of a person or a service account. It acts in `org`
    /// only, with at most `permissions` (a stored permission list; `None`:
    /// everything its owner holds there), and never on its owner's
    /// credentials or sessions.
    Token {
        id: TokenId,
        org: OrgId,
        permissions: Option<Arc<str>>,
    },
    /// An org's SCIM token: the org's directory provisioning its people
    /// and groups under `/scim/v2`, acting as the org's directory account.
    /// It reaches nothing else (the API refuses it: its prefix is not an
    /// API token's), and its use cases check the rules themselves (SPEC §2:
    /// never the last owner), not a member's permissions.
    Scim { id: TokenId, org: OrgId },
}

/// A caller: the account acting and the credential it presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub actor: Actor,
    pub credential: Credential,
}

impl Caller {
    pub fn user_id(&self) -> UserId {
        self.actor.user_id
    }

    /// The session the caller signed in with, if it is one.
    pub fn session_id(&self) -> Option<SessionId> {
        match &self.credential {
            Credential::Session { id, .. } => Some(*id),
            Credential::LinkedSlack { .. } | Credential::Token { .. } | Credential::Scim { .. } => {
                None
            }
        }
    }

    /// The person's own sign-in session: what changing one's credentials,
    /// sessions or orgs needs. An API token cannot do those things for its
    /// owner.
    pub fn person_session(&self) -> Result<SessionId, AppError> {
        self.session_id().ok_or(AppError::SessionRequired)
    }

    /// The one org this caller may act in, when it is bound to one.
    pub fn bound_org(&self) -> Option<OrgId> {
        match &self.credential {
            Credential::Token { org, .. } | Credential::Scim { org, .. } => Some(*org),
            Credential::Session { .. } | Credential::LinkedSlack { .. } => None,
        }
    }

    /// The permission list that narrows what the caller's account holds,
    /// if any (an API token's).
    pub fn limit(&self) -> Option<&str> {
        self.token_permissions().map(|p| &**p)
    }

    /// [`Caller::limit`], shared (the check context keeps it).
    pub fn shared_limit(&self) -> Option<Arc<str>> {
        self.token_permissions().cloned()
    }

    fn token_permissions(&self) -> Option<&Arc<str>> {
        match &self.credential {
            Credential::Token { permissions, .. } => permissions.as_ref(),
            Credential::Session { .. }
            | Credential::LinkedSlack { .. }
            | Credential::Scim { .. } => None,
        }
    }

    /// Whether the caller may go ahead with a request that needs `reach`.
    pub fn admits(&self, reach: Reach) -> Result<(), AppError> {
        match &self.credential {
            Credential::Session { stage, methods, .. } => {
                stage.admits(reach).map_err(|e| match e {
                    AppError::MfaRequired(_) => AppError::MfaRequired(*methods),
                    other => other,
                })
            }
            Credential::LinkedSlack { .. } | Credential::Token { .. } | Credential::Scim { .. } => {
                Ok(())
            }
        }
    }

    /// The sign-in step this caller still has to take, if any.
    pub fn stage(&self) -> SessionStage {
        match &self.credential {
            Credential::Session { stage, .. } => *stage,
            Credential::LinkedSlack { .. } | Credential::Token { .. } | Credential::Scim { .. } => {
                SessionStage::Ready
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_with_a_step_left_reaches_only_the_sign_in_steps() {
        let s = SessionStage::of_account(true);
        assert!(matches!(
            s.admits(Reach::Everything),
            Err(AppError::PasswordChangeRequired)
        ));
        assert!(s.admits(Reach::SignInSteps).is_ok());
        assert_eq!(s.console_page(), Some("/password"));
        let ready = SessionStage::of_account(false);
        assert!(ready.admits(Reach::Everything).is_ok());
        assert_eq!(ready.console_page(), None);
    }

    #[test]
    fn a_second_factor_owed_comes_before_everything_even_a_password_change() {
        let owed = SessionStage::of_session(StageFacts {
            must_change_password: true,
            second_factor_pending: true,
            has_second_factor: true,
            second_factor_required: true,
        });
        assert_eq!(owed, SessionStage::MfaRequired);
        for reach in [Reach::Everything, Reach::PasswordChange, Reach::Enrolment] {
            assert!(matches!(owed.admits(reach), Err(AppError::MfaRequired(_))));
        }
        assert!(owed.admits(Reach::SecondFactor).is_ok());
        assert!(owed.admits(Reach::SignInSteps).is_ok());
        assert_eq!(owed.console_page(), Some("/login/mfa"));
    }

    #[test]
    fn an_org_that_requires_a_second_factor_sends_its_members_to_enrolment() {
        let facts = StageFacts {
            second_factor_required: true,
            ..StageFacts::default()
        };
        let s = SessionStage::of_session(facts);
        assert_eq!(s, SessionStage::MfaEnrolmentRequired);
        assert!(matches!(
            s.admits(Reach::Everything),
            Err(AppError::MfaEnrolmentRequired)
        ));
        assert!(s.admits(Reach::Enrolment).is_ok());
        assert!(s.admits(Reach::PasswordChange).is_ok());
        assert!(s.admits(Reach::SecondFactor).is_err());
        let enrolled = SessionStage::of_session(StageFacts {
            has_second_factor: true,
            ..facts
        });
        assert_eq!(enrolled, SessionStage::Ready);
    }
}
