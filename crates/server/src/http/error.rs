//! One table from errors to RFC 9457 problem documents.
//!
//! Every failure the API returns goes through [`ApiError`]: domain and
//! application errors, bad JSON, bad query strings and paths, unknown
//! routes. Internal details are never sent; they are put in a response
//! extension that the logging middleware writes out with the request id.

use crate::app::AppError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_domain::{Conflict, DomainError};
use roster_proto::{FieldError, Problem};

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// Every problem code the API answers with: the one list. Codes are
        /// written nowhere else; `docs/errors.md` documents each one (a test
        /// checks that it does).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    ValidationFailed = "validation_failed",
    InvalidJson = "invalid_json",
    InvalidBody = "invalid_body",
    InvalidInput = "invalid_input",
    InvalidQuery = "invalid_query",
    InvalidCursor = "invalid_cursor",
    UnsupportedMediaType = "unsupported_media_type",
    BodyTooLarge = "body_too_large",
    Unauthenticated = "unauthenticated",
    InvalidCredentials = "invalid_credentials",
    TooManyAttempts = "too_many_attempts",
    PasswordChangeRequired = "password_change_required",
    MfaRequired = "mfa_required",
    InvalidSecondFactor = "invalid_second_factor",
    MfaEnrolmentRequired = "mfa_enrolment_required",
    MfaAlreadyEnrolled = "mfa_already_enrolled",
    MfaNotEnrolled = "mfa_not_enrolled",
    SharedAccount = "shared_account",
    PasskeyChallengeInvalid = "passkey_challenge_invalid",
    PasskeyUnknown = "passkey_unknown",
    PasskeyRejected = "passkey_rejected",
    PasskeyMalformed = "passkey_malformed",
    PasskeyAlreadyRegistered = "passkey_already_registered",
    PasskeysUnavailable = "passkeys_unavailable",
    SessionRequired = "session_required",
    MembershipInactive = "membership_inactive",
    Forbidden = "forbidden",
    OwnerRoleRequiresOwner = "owner_role_requires_owner",
    PrivilegeEscalation = "privilege_escalation",
    LastOwner = "last_owner",
    PersonalOrg = "personal_org",
    NotFound = "not_found",
    MethodNotAllowed = "method_not_allowed",
    InvalidLink = "invalid_link",
    InvitationExpired = "invitation_expired",
    SignupNotAllowed = "signup_not_allowed",
    EmailTaken = "email_taken",
    SlugTaken = "slug_taken",
    AlreadyMember = "already_member",
    AlreadyInvited = "already_invited",
    InvitationNotPending = "invitation_not_pending",
    NotReviewing = "not_reviewing",
    GroupExists = "group_exists",
    GroupInUse = "group_in_use",
    RoleExists = "role_exists",
    RoleInUse = "role_in_use",
    ResourceExists = "resource_exists",
    ResourceHasChildren = "resource_has_children",
    ReviewNotRequired = "review_not_required",
    RequestDecided = "request_decided",
    AlreadyReviewed = "already_reviewed",
    SlackWorkspaceTaken = "slack_workspace_taken",
    AlreadySetUp = "already_set_up",
    ServiceAccountExists = "service_account_exists",
    SsoConnectionExists = "sso_connection_exists",
    SsoDomainTaken = "sso_domain_taken",
    SsoNotConfigured = "sso_not_configured",
    SsoStateInvalid = "sso_state_invalid",
    SsoTokenInvalid = "sso_token_invalid",
    SsoProviderError = "sso_provider_error",
    SsoProviderUnavailable = "sso_provider_unavailable",
    SsoEmailDomainNotServed = "sso_email_domain_not_served",
    SsoAccountNotLinked = "sso_account_not_linked",
    SsoNotAMember = "sso_not_a_member",
    SsoRequired = "sso_required",
    UserNameTaken = "user_name_taken",
    Conflict = "conflict",
    BatchTooLarge = "batch_too_large",
    Unavailable = "unavailable",
    Internal = "internal",
}

/// The code of each kind of conflict.
fn conflict_code(c: Conflict) -> Code {
    match c {
        Conflict::EmailTaken => Code::EmailTaken,
        Conflict::SlugTaken => Code::SlugTaken,
        Conflict::AlreadyMember => Code::AlreadyMember,
        Conflict::AlreadyInvited => Code::AlreadyInvited,
        Conflict::InvitationNotPending => Code::InvitationNotPending,
        Conflict::NotReviewing => Code::NotReviewing,
        Conflict::GroupExists => Code::GroupExists,
        Conflict::GroupInUse => Code::GroupInUse,
        Conflict::RoleExists => Code::RoleExists,
        Conflict::RoleInUse => Code::RoleInUse,
        Conflict::ResourceExists => Code::ResourceExists,
        Conflict::ResourceHasChildren => Code::ResourceHasChildren,
        Conflict::ReviewNotRequired => Code::ReviewNotRequired,
        Conflict::RequestDecided => Code::RequestDecided,
        Conflict::AlreadyReviewed => Code::AlreadyReviewed,
        Conflict::SlackWorkspaceTaken => Code::SlackWorkspaceTaken,
        Conflict::AlreadySetUp => Code::AlreadySetUp,
        Conflict::ServiceAccountExists => Code::ServiceAccountExists,
        Conflict::MfaAlreadyEnrolled => Code::MfaAlreadyEnrolled,
        Conflict::MfaNotEnrolled => Code::MfaNotEnrolled,
        Conflict::UserNameTaken => Code::UserNameTaken,
        Conflict::SharedAccount => Code::SharedAccount,
        Conflict::SsoConnectionExists => Code::SsoConnectionExists,
        Conflict::SsoDomainTaken => Code::SsoDomainTaken,
        Conflict::Other => Code::Conflict,
    }
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// A request-shape error found by the HTTP layer itself.
    Request {
        status: StatusCode,
        code: Code,
        detail: String,
    },
}

impl ApiError {
    pub fn request(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        ApiError::Request {
            status,
            code,
            detail: detail.into(),
        }
    }
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::App(e.into())
    }
}

/// The internal error behind a 500, for the logging middleware.
#[derive(Clone, Debug)]
pub struct InternalDetail(pub String);

fn title(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_owned()
}

fn problem(
    status: StatusCode,
    code: Code,
    detail: Option<String>,
    errors: Vec<FieldError>,
) -> Problem {
    Problem {
        type_: format!("https://roster.dev/problems/{}", code.as_str()),
        title: title(status),
        status: status.as_u16(),
        code: code.as_str().to_owned(),
        detail,
        errors,
        methods: vec![],
    }
}

/// Renders a problem document with its content type.
pub fn problem_response(status: StatusCode, p: &Problem) -> Response {
    let body = serde_json::to_vec(p).unwrap_or_default();
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

/// How an application error shows on the wire: status, stable code and
/// field errors. The one table from meanings to HTTP.
fn describe(e: &AppError) -> (StatusCode, Code, Vec<FieldError>) {
    use StatusCode as S;
    match e {
        AppError::Domain(d) => match d {
            DomainError::Invalid { field, message } => (
                S::UNPROCESSABLE_ENTITY,
                Code::ValidationFailed,
                vec![FieldError {
                    field: field.0.to_owned(),
                    message: message.clone(),
                }],
            ),
            DomainError::MissingPermission(_) => (S::FORBIDDEN, Code::Forbidden, vec![]),
            DomainError::OwnerRoleRequiresOwner => {
                (S::FORBIDDEN, Code::OwnerRoleRequiresOwner, vec![])
            }
            DomainError::Escalation { .. } => (S::FORBIDDEN, Code::PrivilegeEscalation, vec![]),
            DomainError::LastOwner => (S::CONFLICT, Code::LastOwner, vec![]),
            DomainError::PersonalOrg => (S::CONFLICT, Code::PersonalOrg, vec![]),
        },
        AppError::Unauthenticated => (S::UNAUTHORIZED, Code::Unauthenticated, vec![]),
        AppError::InvalidCredentials => (S::UNAUTHORIZED, Code::InvalidCredentials, vec![]),
        AppError::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, Code::TooManyAttempts, vec![]),
        AppError::PasswordChangeRequired => (S::FORBIDDEN, Code::PasswordChangeRequired, vec![]),
        AppError::SessionRequired => (S::FORBIDDEN, Code::SessionRequired, vec![]),
        AppError::MfaRequired(_) => (S::UNAUTHORIZED, Code::MfaRequired, vec![]),
        AppError::Passkey(kind) => {
            use crate::app::PasskeyFailure as F;
            match kind {
                F::ChallengeInvalid => (S::BAD_REQUEST, Code::PasskeyChallengeInvalid, vec![]),
                F::UnknownCredential => (S::UNAUTHORIZED, Code::PasskeyUnknown, vec![]),
                F::Rejected => (S::UNAUTHORIZED, Code::PasskeyRejected, vec![]),
                F::Malformed => (S::UNPROCESSABLE_ENTITY, Code::PasskeyMalformed, vec![]),
                F::AlreadyRegistered => (S::CONFLICT, Code::PasskeyAlreadyRegistered, vec![]),
                F::Unavailable => (S::NOT_IMPLEMENTED, Code::PasskeysUnavailable, vec![]),
            }
        }
        AppError::InvalidSecondFactor => (S::UNAUTHORIZED, Code::InvalidSecondFactor, vec![]),
        AppError::MfaEnrolmentRequired => (S::FORBIDDEN, Code::MfaEnrolmentRequired, vec![]),
        AppError::MembershipInactive { .. } => (S::FORBIDDEN, Code::MembershipInactive, vec![]),
        AppError::Forbidden(_) => (S::FORBIDDEN, Code::Forbidden, vec![]),
        AppError::NotFound(_) => (S::NOT_FOUND, Code::NotFound, vec![]),
        AppError::Conflict { conflict, .. } => (S::CONFLICT, conflict_code(*conflict), vec![]),
        AppError::InvalidLink => (S::NOT_FOUND, Code::InvalidLink, vec![]),
        AppError::InvitationExpired => (S::GONE, Code::InvitationExpired, vec![]),
        AppError::SignupNotAllowed => (S::FORBIDDEN, Code::SignupNotAllowed, vec![]),
        AppError::Sso { kind, .. } => {
            use crate::app::SsoFailure as F;
            match kind {
                F::NotConfigured => (S::NOT_FOUND, Code::SsoNotConfigured, vec![]),
                F::StateInvalid => (S::BAD_REQUEST, Code::SsoStateInvalid, vec![]),
                F::TokenInvalid => (S::UNAUTHORIZED, Code::SsoTokenInvalid, vec![]),
                F::ProviderError => (S::BAD_GATEWAY, Code::SsoProviderError, vec![]),
                F::ProviderUnavailable => (S::BAD_GATEWAY, Code::SsoProviderUnavailable, vec![]),
                F::EmailDomainNotServed => (S::FORBIDDEN, Code::SsoEmailDomainNotServed, vec![]),
                F::AccountNotLinked => (S::FORBIDDEN, Code::SsoAccountNotLinked, vec![]),
                F::NotAMember => (S::FORBIDDEN, Code::SsoNotAMember, vec![]),
                F::Required => (S::FORBIDDEN, Code::SsoRequired, vec![]),
            }
        }
        AppError::Unavailable => (S::SERVICE_UNAVAILABLE, Code::Unavailable, vec![]),
        AppError::Internal(_) => (S::INTERNAL_SERVER_ERROR, Code::Internal, vec![]),
    }
}

/// The problem document for an application error (also used inside
/// per-item results, such as one address of a bulk invitation).
pub fn app_problem(e: &AppError) -> (StatusCode, Problem) {
    let (status, code, errors) = describe(e);
    let methods = match e {
        // The second factors the account has (an authenticator app comes
        // with its recovery codes).
        AppError::MfaRequired(methods) => methods.names(),
        _ => vec![],
    };
    let detail = match e {
        AppError::Internal(_) => {
            "something went wrong on our side; the request id is in the x-request-id header"
                .to_owned()
        }
        AppError::Domain(DomainError::Invalid { message, .. }) => message.clone(),
        other => other.to_string(),
    };
    let mut p = problem(status, code, Some(detail), errors);
    p.methods = methods;
    (status, p)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, p, internal, retry_after) = match self {
            ApiError::Request {
                status,
                code,
                detail,
            } => (
                status,
                problem(status, code, Some(detail), vec![]),
                None,
                None,
            ),
            ApiError::App(e) => {
                let (status, p) = app_problem(&e);
                let internal = match &e {
                    AppError::Internal(inner) => Some(format!("{inner:#}")),
                    _ => None,
                };
                let retry_after = match &e {
                    AppError::TooManyAttempts { retry_after_secs } => Some(*retry_after_secs),
                    _ => None,
                };
                (status, p, internal, retry_after)
            }
        };
        let mut res = problem_response(status, &p);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(detail) = internal {
            res.extensions_mut().insert(InternalDetail(detail));
        }
        res
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        use StatusCode as S;
        match r {
            JsonRejection::JsonSyntaxError(e) => ApiError::request(
                S::BAD_REQUEST,
                Code::InvalidJson,
                format!("the body is not valid JSON: {}", source_text(&e)),
            ),
            JsonRejection::JsonDataError(e) => {
                ApiError::request(S::UNPROCESSABLE_ENTITY, Code::InvalidBody, source_text(&e))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::request(
                S::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(_) => ApiError::request(
                S::PAYLOAD_TOO_LARGE,
                Code::BodyTooLarge,
                "the body is too large or could not be read",
            ),
            other => ApiError::request(S::BAD_REQUEST, Code::InvalidBody, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::request(StatusCode::BAD_REQUEST, Code::InvalidQuery, r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::request(StatusCode::NOT_FOUND, Code::NotFound, r.body_text())
    }
}

/// The innermost message of a serde error, without axum's prefix.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the API can answer with is documented for the people who
    /// handle them.
    #[test]
    fn every_problem_code_is_in_the_docs() {
        let docs = include_str!("../../../../docs/errors.md");
        for code in Code::ALL {
            assert!(
                docs.contains(&format!("`{}`", code.as_str())),
                "docs/errors.md does not document `{}`",
                code.as_str()
            );
        }
    }

    #[test]
    fn every_conflict_has_its_own_code_and_status() {
        use roster_domain::Conflict as C;
        let all = [
            C::EmailTaken,
            C::SlugTaken,
            C::AlreadyMember,
            C::AlreadyInvited,
            C::InvitationNotPending,
            C::NotReviewing,
            C::GroupExists,
            C::GroupInUse,
            C::RoleExists,
            C::RoleInUse,
            C::ResourceExists,
            C::ResourceHasChildren,
            C::ReviewNotRequired,
            C::RequestDecided,
            C::AlreadyReviewed,
            C::SlackWorkspaceTaken,
            C::AlreadySetUp,
            C::ServiceAccountExists,
            C::SsoConnectionExists,
            C::SsoDomainTaken,
            C::Other,
        ];
        let mut seen = std::collections::HashSet::new();
        for c in all {
            let (status, code, _) = describe(&AppError::conflict(c, "x"));
            assert_eq!(status, StatusCode::CONFLICT);
            assert!(seen.insert(code.as_str()), "{c:?} shares a code");
        }
    }

    /// A database's own words never reach a client: a conflict's detail
    /// is the application's message.
    #[test]
    fn a_store_conflict_is_described_in_the_products_words() {
        let e = AppError::from(roster_store::StoreError::Conflict(Conflict::EmailTaken));
        let (status, p) = app_problem(&e);
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(p.code, "email_taken");
        assert_eq!(
            p.detail.as_deref(),
            Some("an account with this email already exists")
        );
    }
}
