//! The client's error type: what went wrong, in one line a person can read.

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::StatusCode;
use roster_proto::Problem;

/// The media type of RFC 9457 problem documents.
const PROBLEM_JSON: &str = "application/problem+json";

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-2xx status. `problem` is the server's
    /// problem document, or one synthesized from the status when the
    /// response carried none (a proxy's error page, say).
    #[error("{}", api_message(.problem))]
    Api { status: u16, problem: Problem },

    /// The request did not get an answer: connection refused, DNS, TLS,
    /// timeout.
    #[error("{}", http_message(.0))]
    Http(#[source] reqwest::Error),

    /// The server URL is not usable.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// A 2xx response whose body is not what the endpoint returns (an older
    /// or newer server, or not a Roster server at all).
    #[error("unexpected response from {url} (status {status}): {reason}")]
    InvalidResponse {
        url: String,
        status: u16,
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status, for [`ClientError::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem document, for [`ClientError::Api`].
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The problem's stable `code`, for [`ClientError::Api`].
    pub fn code(&self) -> Option<&str> {
        self.problem().map(|p| p.code.as_str())
    }
}

fn api_message(problem: &Problem) -> String {
    match &problem.detail {
        Some(detail) if !detail.is_empty() => format!("{}: {}", problem.title, detail),
        _ => problem.title.clone(),
    }
}

fn http_message(err: &reqwest::Error) -> String {
    let server = err
        .url()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| "the configured URL".to_string());
    // reqwest's own message is generic ("error sending request for url");
    // the innermost cause says what actually happened.
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let cause = cause.to_string();
    if err.is_timeout() {
        format!("the Roster server at {server} did not answer in time")
    } else if err.is_builder() {
        format!("cannot build a request to {server}: {cause}")
    } else {
        format!("cannot reach the Roster server at {server}: {cause}")
    }
}

/// Turns a non-2xx response into [`ClientError::Api`], synthesizing a
/// problem document when the server did not send one.
pub(crate) async fn api_error(resp: reqwest::Response) -> ClientError {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap_or_default();
    let problem = problem_from_body(status, &headers, &body);
    ClientError::Api {
        status: status.as_u16(),
        problem,
    }
}

fn problem_from_body(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Problem {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_json =
        content_type.starts_with(PROBLEM_JSON) || content_type.starts_with("application/json");
    if is_json {
        if let Ok(problem) = serde_json::from_slice::<Problem>(body) {
            return problem;
        }
    }
    synthesize_problem(status, &content_type, body)
}

/// A problem document for a response that did not carry one (a proxy's
/// error page, an empty 404...).
fn synthesize_problem(status: StatusCode, content_type: &str, body: &[u8]) -> Problem {
    let title = status
        .canonical_reason()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP status {}", status.as_u16()));
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let detail = if text.is_empty() || content_type.starts_with("text/html") {
        None
    } else {
        Some(truncate(&text, 200))
    };
    Problem {
        type_: "about:blank".to_string(),
        title,
        status: status.as_u16(),
        code: format!("http_{}", status.as_u16()),
        detail,
        errors: Vec::new(),
        methods: Vec::new(),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn problem_bodies_are_read_and_others_synthesized() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, PROBLEM_JSON.parse().unwrap());
        let body = br#"{"type":"about:blank","title":"Not found","status":404,"code":"not_found","detail":"no user 7"}"#;
        let p = problem_from_body(StatusCode::NOT_FOUND, &headers, body);
        assert_eq!(p.code, "not_found");
        assert_eq!(p.detail.as_deref(), Some("no user 7"));

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        let p = problem_from_body(StatusCode::BAD_GATEWAY, &headers, b"upstream\n down");
        assert_eq!(p.status, 502);
        assert_eq!(p.title, "Bad Gateway");
        assert_eq!(p.detail.as_deref(), Some("upstream down"));
        let err = ClientError::Api {
            status: 502,
            problem: p,
        };
        assert_eq!(err.to_string(), "Bad Gateway: upstream down");
    }
}
