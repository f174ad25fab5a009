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
use roster_domain::DomainError;
use roster_proto::{FieldError, Problem};

/// An error on its way to becoming a problem+json response.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// A request-shape error found by the HTTP layer itself.
    Request {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
}

impl ApiError {
    pub fn request(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
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
    code: &str,
    detail: Option<String>,
    errors: Vec<FieldError>,
) -> Problem {
    Problem {
        type_: format!("https://roster.dev/problems/{code}"),
        title: title(status),
        status: status.as_u16(),
        code: code.to_owned(),
        detail,
        errors,
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
fn describe(e: &AppError) -> (StatusCode, &'static str, Vec<FieldError>) {
    use StatusCode as S;
    match e {
        AppError::Domain(d) => match d {
            DomainError::Invalid { field, message } => (
                S::UNPROCESSABLE_ENTITY,
                "validation_failed",
                vec![FieldError {
                    field: field.0.to_owned(),
                    message: message.clone(),
                }],
            ),
            DomainError::MissingPermission(_) => (S::FORBIDDEN, "forbidden", vec![]),
            DomainError::OwnerRoleRequiresOwner => {
                (S::FORBIDDEN, "owner_role_requires_owner", vec![])
            }
            DomainError::Escalation { .. } => (S::FORBIDDEN, "privilege_escalation", vec![]),
            DomainError::LastOwner => (S::CONFLICT, "last_owner", vec![]),
            DomainError::PersonalOrg => (S::CONFLICT, "personal_org", vec![]),
        },
        AppError::Unauthenticated => (S::UNAUTHORIZED, "unauthenticated", vec![]),
        AppError::InvalidCredentials => (S::UNAUTHORIZED, "invalid_credentials", vec![]),
        AppError::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, "too_many_attempts", vec![]),
        AppError::PasswordChangeRequired => (S::FORBIDDEN, "password_change_required", vec![]),
        AppError::MembershipInactive { .. } => (S::FORBIDDEN, "membership_inactive", vec![]),
        AppError::Forbidden(_) => (S::FORBIDDEN, "forbidden", vec![]),
        AppError::NotFound(_) => (S::NOT_FOUND, "not_found", vec![]),
        AppError::Conflict { code, .. } => (S::CONFLICT, code, vec![]),
        AppError::InvalidLink => (S::NOT_FOUND, "invalid_link", vec![]),
        AppError::InvitationExpired => (S::GONE, "invitation_expired", vec![]),
        AppError::SignupNotAllowed => (S::FORBIDDEN, "signup_not_allowed", vec![]),
        AppError::Unavailable => (S::SERVICE_UNAVAILABLE, "unavailable", vec![]),
        AppError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", vec![]),
    }
}

/// The problem document for an application error (also used inside
/// per-item results, such as one address of a bulk invitation).
pub fn app_problem(e: &AppError) -> (StatusCode, Problem) {
    let (status, code, errors) = describe(e);
    let detail = match e {
        AppError::Internal(_) => {
            "something went wrong on our side; the request id is in the x-request-id header"
                .to_owned()
        }
        AppError::Domain(DomainError::Invalid { message, .. }) => message.clone(),
        other => other.to_string(),
    };
    (status, problem(status, code, Some(detail), errors))
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
                "invalid_json",
                format!("the body is not valid JSON: {}", source_text(&e)),
            ),
            JsonRejection::JsonDataError(e) => {
                ApiError::request(S::UNPROCESSABLE_ENTITY, "invalid_body", source_text(&e))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::request(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(_) => ApiError::request(
                S::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the body is too large or could not be read",
            ),
            other => ApiError::request(S::BAD_REQUEST, "invalid_body", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::request(StatusCode::BAD_REQUEST, "invalid_query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::request(StatusCode::NOT_FOUND, "not_found", r.body_text())
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
