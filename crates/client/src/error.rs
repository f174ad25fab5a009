//! The client's error type: what went wrong, in one line a person can read.

use roster_proto::Problem;

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
