//! A typed client for Roster's HTTP API (`/api/v1`).
//!
//! The CLI and the integration tests both talk to the server through this
//! crate, so what the tests prove is what the CLI does. One async method per
//! endpoint, taking and returning the wire types of [`roster_proto`];
//! [`Client::request_json`] is the escape hatch for sending arbitrary (even
//! malformed) bodies.
//!
//! The endpoints live in one module per resource, each an `impl Client`
//! block whose methods are one call of the request core below: a `Call`
//! names the method and the path segments (each percent-encoded), takes a
//! query or a JSON body, and is sent to read a JSON answer, no answer, or
//! text.
//!
//! Architecture invariant: this crate knows HTTP and JSON but nothing of the
//! server's internals, and it never prints anything. Errors are values:
//! a problem document from the server becomes [`ClientError::Api`], a
//! transport failure [`ClientError::Http`].
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
// `ClientError::Api` carries the problem document unboxed so callers can
// match on `problem.code` directly; an error costs a network round trip
// anyway, so its size does not matter.
#![allow(clippy::result_large_err)]

mod access;
mod audit;
mod auth;
mod error;
mod groups;
mod invitations;
mod members;
mod mfa;
mod orgs;
mod passkeys;
mod query;
mod requests;
mod slack;
mod sso;
#[cfg(test)]
mod tests;
mod tokens;
mod webhooks;

pub use access::{resource_key_segments, AccessGrant};
pub use error::ClientError;
pub use query::{
    AccessRuleQuery, AuditQuery, InvitationQuery, MemberQuery, ResourceQuery, ReviewRequestQuery,
};

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The `User-Agent` every request carries unless the client was built with
/// another ([`ClientBuilder::user_agent`]). The server records requests
/// whose agent starts with `roster-cli/` under the audit channel `cli`, and
/// all others under `api`.
pub const USER_AGENT: &str = concat!("roster-cli/", env!("CARGO_PKG_VERSION"));

/// The result of a call: the answer, or why there is none.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// How long to wait for a connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What every response is shown to before it is read.
type Inspector = Arc<dyn Fn(&Response) + Send + Sync>;

/// A connection to one Roster server, optionally authenticated with a
/// session or API token. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    inspector: Option<Inspector>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// How to build a [`Client`] that differs from [`Client::new`]'s.
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    user_agent: String,
    inspector: Option<Inspector>,
}

impl ClientBuilder {
    /// Sends `agent` as the `User-Agent` instead of [`USER_AGENT`]. An agent
    /// that does not start with `roster-cli/` puts the client's changes
    /// under the audit channel `api`.
    pub fn user_agent(mut self, agent: impl Into<String>) -> ClientBuilder {
        self.user_agent = agent.into();
        self
    }

    /// Shows every response to `inspect` (status, headers, URL) before its
    /// body is read, for logging or for checking what the server sends.
    pub fn inspect_responses(
        mut self,
        inspect: impl Fn(&Response) + Send + Sync + 'static,
    ) -> ClientBuilder {
        self.inspector = Some(Arc::new(inspect));
        self
    }

    /// The client. Fails on a base URL that is not http(s) with a host, or
    /// a user agent that is not a valid header value.
    pub fn build(self) -> Result<Client> {
        let base = parse_base_url(&self.base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(self.user_agent)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(ClientError::Http)?;
        Ok(Client {
            http,
            base,
            token: None,
            inspector: self.inspector,
        })
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`;
    /// a path prefix such as `https://example.com/roster` is kept).
    pub fn new(base_url: &str) -> Result<Client> {
        Client::builder(base_url).build()
    }

    /// A builder for a client of the server at `base_url` with another user
    /// agent or a response inspector.
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_string(),
            user_agent: USER_AGENT.to_string(),
            inspector: None,
        }
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// The server's base URL, as parsed.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Sends `body` (if any) to `path` (e.g. `/api/v1/orgs/acme/users`,
    /// which may carry a query string) and returns the status and the JSON
    /// body, whatever the status. An empty body reads as `null` and a body
    /// that is not JSON as a JSON string. Only transport failures are errors.
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value)> {
        let url = join_raw(&self.base, path)?;
        let mut req = self.authorize(self.http.request(method, url));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = self.exchange(req).await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(ClientError::Http)?;
        let value = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        Ok((status, value))
    }

    // --- the request core ----------------------------------------------------

    /// A request to `/api/v1/<path...>`, each segment percent-encoded as one
    /// path segment (so a slug can never walk to another path).
    fn call(&self, method: Method, path: &[&str]) -> Call<'_> {
        let req =
            api_url(&self.base, path).map(|url| self.authorize(self.http.request(method, url)));
        Call { client: self, req }
    }

    /// `GET`, reading a JSON answer.
    async fn get<T: DeserializeOwned>(&self, path: &[&str]) -> Result<T> {
        self.call(Method::GET, path).send().await
    }

    /// `GET` with a query (a query struct), reading a JSON answer.
    async fn get_with<Q, T>(&self, path: &[&str], query: &Q) -> Result<T>
    where
        Q: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.call(Method::GET, path).query(query).send().await
    }

    /// `POST` with a JSON body, reading a JSON answer.
    async fn post<B, T>(&self, path: &[&str], body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.call(Method::POST, path).json(body).send().await
    }

    /// `PUT` with a JSON body, reading a JSON answer.
    async fn put<B, T>(&self, path: &[&str], body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.call(Method::PUT, path).json(body).send().await
    }

    /// `PATCH` with a JSON body, reading a JSON answer.
    async fn patch<B, T>(&self, path: &[&str], body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.call(Method::PATCH, path).json(body).send().await
    }

    /// `DELETE`, ignoring the answer's body.
    async fn delete(&self, path: &[&str]) -> Result<()> {
        self.call(Method::DELETE, path).send_empty().await
    }

    fn authorize(&self, req: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends a request and shows the response to the inspector, if any.
    async fn exchange(&self, req: RequestBuilder) -> Result<Response> {
        let resp = req.send().await.map_err(ClientError::Http)?;
        if let Some(inspect) = &self.inspector {
            inspect(&resp);
        }
        Ok(resp)
    }
}

/// One API request on its way: a method and a path, then a query or a JSON
/// body, then sent to read the answer. A URL that could not be built is
/// reported when the call is sent.
#[must_use]
struct Call<'c> {
    client: &'c Client,
    req: Result<RequestBuilder>,
}

impl Call<'_> {
    /// Adds the query pairs of `query` (a query struct or `[(name, value)]`).
    fn query<Q: Serialize + ?Sized>(self, query: &Q) -> Self {
        self.map(|req| req.query(query))
    }

    /// Adds `name=value` to the query when `value` is set.
    fn param(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.query(&[(name, value)]),
            None => self,
        }
    }

    /// Sends `body` as JSON.
    fn json<B: Serialize + ?Sized>(self, body: &B) -> Self {
        self.map(|req| req.json(body))
    }

    fn map(self, f: impl FnOnce(RequestBuilder) -> RequestBuilder) -> Self {
        Call {
            client: self.client,
            req: self.req.map(f),
        }
    }

    /// Sends and decodes a JSON body of type `T` from a 2xx response.
    async fn send<T: DeserializeOwned>(self) -> Result<T> {
        Ok(self.send_with_status().await?.1)
    }

    /// [`Call::send`], also returning which 2xx status the server chose.
    async fn send_with_status<T: DeserializeOwned>(self) -> Result<(StatusCode, T)> {
        let resp = self.answer().await?;
        let status = resp.status();
        let url = resp.url().to_string();
        let bytes = resp.bytes().await.map_err(ClientError::Http)?;
        let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::InvalidResponse {
            url,
            status: status.as_u16(),
            reason: e.to_string(),
        })?;
        Ok((status, body))
    }

    /// Sends and expects a 2xx response whose body (if any) is ignored.
    async fn send_empty(self) -> Result<()> {
        self.answer().await.map(drop)
    }

    /// Sends and reads the body of a 2xx response as text.
    async fn text(self) -> Result<String> {
        self.answer().await?.text().await.map_err(ClientError::Http)
    }

    /// Sends; a non-2xx response becomes [`ClientError::Api`].
    async fn answer(self) -> Result<Response> {
        let resp = self.client.exchange(self.req?).await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error::api_error(resp).await)
        }
    }
}

/// Parses and checks a server base URL.
fn parse_base_url(raw: &str) -> Result<Url> {
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(invalid("it must name a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment"));
    }
    Ok(url)
}

/// `base` + `/api/v1/` + the segments, each percent-encoded as one path
/// segment.
fn api_url(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| ClientError::InvalidUrl {
                url: base.to_string(),
                reason: "it cannot be a base URL".to_string(),
            })?;
        path.pop_if_empty().extend(["api", "v1"]).extend(segments);
    }
    Ok(url)
}

/// `base` + a raw path (which should start with `/`), keeping any path
/// prefix of `base`.
fn join_raw(base: &Url, path: &str) -> Result<Url> {
    let prefix = base.as_str().trim_end_matches('/');
    let sep = if path.starts_with('/') { "" } else { "/" };
    let joined = format!("{prefix}{sep}{path}");
    Url::parse(&joined).map_err(|e| ClientError::InvalidUrl {
        url: joined.clone(),
        reason: e.to_string(),
    })
}
