//! Extractors: JSON bodies, query strings and paths whose rejections are
//! problem+json; the caller (resolved once per request, with its sign-in
//! stage checked); the org of the path; the request's audit facts.

use super::error::ApiError;
use super::error::Code;
use super::AppState;
use crate::app::check::CheckContext;
use crate::app::{App, AppError, Caller, Channel, OrgAccess, Reach, RequestMeta};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "roster_session";

/// `Json` whose rejections are problem documents.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !plain_json(req.headers()) {
            // Other JSON types (`application/problem+json`, ...) and the
            // refusals of a missing or wrong type: as axum reads them.
            let axum::Json(v) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
            return from_value(v);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(axum::extract::rejection::JsonRejection::from)?;
        // Most bodies read straight into `T`. A body that does not (a
        // whole number written `5.0`, or a real error) is read again the
        // long way, which accepts the first and words the second.
        // (Only objects: serde would also read a struct from an array.)
        if bytes.trim_ascii_start().first() == Some(&b'{') {
            if let Ok(v) = serde_json::from_slice::<T>(&bytes) {
                return Ok(ApiJson(v));
            }
        }
        let axum::Json(v) = axum::Json::<serde_json::Value>::from_bytes(&bytes)?;
        from_value(v)
    }
}

/// Whether the request says `application/json` (with parameters or not).
fn plain_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON value as `T`, whole numbers written with a fraction read as
/// integers.
fn from_value<T: DeserializeOwned>(mut v: serde_json::Value) -> Result<ApiJson<T>, ApiError> {
    // Every body the API takes is an object. serde would also read a
    // struct from an array (`[null, null]` as its first two fields).
    if !v.is_object() {
        return Err(ApiError::request(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::InvalidBody,
            "the body is a JSON object",
        ));
    }
    integral_numbers(&mut v);
    let v = serde_json::from_value(v).map_err(|e| {
        ApiError::request(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::InvalidBody,
            e.to_string(),
        )
    })?;
    Ok(ApiJson(v))
}

/// The JSON body of an action (`.../approve`, `.../reject`): optional. A
/// request without a body and without a `Content-Type` is the action with
/// no options (`T::default()`, as `{}` would be); any body is read as
/// [`ApiJson`] reads it.
pub struct ActionJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for ActionJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.headers().contains_key(header::CONTENT_TYPE) {
            let ApiJson(v) = ApiJson::from_request(req, state).await?;
            return Ok(ActionJson(v));
        }
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|e| {
            ApiError::request(StatusCode::BAD_REQUEST, Code::InvalidBody, e.to_string())
        })?;
        if bytes.is_empty() {
            return Ok(ActionJson(T::default()));
        }
        // A body without a type: refused as `ApiJson` refuses it.
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let ApiJson(v) = ApiJson::from_request(req, state).await?;
        Ok(ActionJson(v))
    }
}

/// JSON has one number type: `5.0` is the integer 5 (JSON Schema says so
/// too), so a whole number written with a fraction is read as an integer.
fn integral_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64() {
                // Within i64's range exactly (2^63 itself is not).
                if f.fract() == 0.0
                    && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
                {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// `Query` whose rejections are problem documents.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// `Path` whose rejections are problem documents.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}

/// The token an API request carries: the bearer header only. The session
/// cookie is the console's: a browser sends it with any request to this
/// host, including one a page on another origin makes, so the API never
/// reads it (no CSRF through the API); cookie-authenticated requests go
/// through the console's CSRF and same-origin checks.
fn token(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Splits a comma-, semicolon- or newline-separated list (of emails, of
/// groups), trimmed, blanks dropped: how the API's `emails` string and the
/// console's list fields are read.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Splits a list of words separated by whitespace or commas (permissions,
/// actions).
pub fn split_words(raw: &str) -> Vec<String> {
    raw.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The value of the cookie `name`, if the request carries it.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

async fn caller(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    let token = token(parts).ok_or(AppError::Unauthenticated)?;
    let Ok(Meta(meta)) = Meta::from_request_parts(parts, state).await;
    Ok(state.app.authenticate(&token, &meta).await?)
}

/// A signed-in caller past every sign-in step. A missing, malformed,
/// expired or forged token is an error, never "anonymous"; a session with
/// a step left answers that step's problem (see [`SessionStage`]).
///
/// [`SessionStage`]: crate::app::SessionStage
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = caller(parts, state).await?;
        caller.admits(Reach::Everything)?;
        Ok(Authed(caller))
    }
}

/// An optional signed-in caller: `None` without credentials; credentials
/// that are present but bad are still an error, never anonymous.
pub struct MaybeAuthed(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if token(parts).is_none() {
            return Ok(MaybeAuthed(None));
        }
        Ok(MaybeAuthed(Some(
            Authed::from_request_parts(parts, state).await?.0,
        )))
    }
}

/// A signed-in caller at any sign-in stage: only for taking the remaining
/// steps (changing a temporary password) and signing out.
pub struct AuthedInSignIn(pub Caller);

impl FromRequestParts<AppState> for AuthedInSignIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = caller(parts, state).await?;
        caller.admits(Reach::SignInSteps)?;
        Ok(AuthedInSignIn(caller))
    }
}

/// The `{org}` of a request's path, if the route has one.
pub(crate) async fn org_slug(parts: &mut Parts) -> Option<String> {
    path_param(parts, "org").await
}

/// What an org-scoped handler works with: the app, the caller's access to
/// the org named by the path's `{org}` (resolved once per request: an org
/// the caller is not an active member of is "not found", or
/// `membership_inactive`, before the handler runs), and the request's
/// audit facts.
pub struct Org {
    pub app: App,
    pub access: OrgAccess,
    pub meta: RequestMeta,
}

impl FromRequestParts<AppState> for Org {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authed(caller) = Authed::from_request_parts(parts, state).await?;
        let slug = org_slug(parts)
            .await
            .ok_or(AppError::NotFound("organization"))?;
        let access = state.app.org_access(&caller, &slug).await?;
        let Ok(Meta(meta)) = Meta::from_request_parts(parts, state).await;
        Ok(Org {
            app: state.app.clone(),
            access,
            meta,
        })
    }
}

/// The check API's view of the org named by the path's `{org}`: its
/// in-memory index with the caller checked against it (an org the caller
/// is not an active member of is "not found"), resolved before the body is
/// read, from memory.
pub struct Checking {
    pub app: App,
    pub cx: CheckContext,
}

impl FromRequestParts<AppState> for Checking {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authed(caller) = Authed::from_request_parts(parts, state).await?;
        let slug = org_slug(parts)
            .await
            .ok_or(AppError::NotFound("organization"))?;
        let cx = state.app.check_context(&caller, &slug).await?;
        Ok(Checking {
            app: state.app.clone(),
            cx,
        })
    }
}

/// A path parameter by name, percent-decoded.
pub(crate) async fn path_param(parts: &mut Parts, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// The `{id}` of a path as a typed id (`PathId<UserId>`, ...). One that is
/// not a number names nothing: `not_found`.
pub struct PathId<T>(pub T);

impl<T: From<i64>, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "id")
            .await
            .and_then(|v| v.parse::<i64>().ok())
            .map(|id| PathId(T::from(id)))
            .ok_or_else(|| {
                ApiError::request(StatusCode::NOT_FOUND, Code::NotFound, "no such record")
            })
    }
}

/// The `{name}` of a path (a group's or a role's).
pub struct PathName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "name")
            .await
            .map(PathName)
            .ok_or_else(|| {
                ApiError::request(StatusCode::NOT_FOUND, Code::NotFound, "no such record")
            })
    }
}

/// The request's facts for the audit log: channel, client address, request
/// id and user agent. The CLI identifies itself by its user agent.
pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header_str = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let user_agent = header_str("user-agent");
        let channel = if user_agent.starts_with("roster-cli/") {
            Channel::Cli
        } else {
            Channel::Api
        };
        let client_addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| {
                client_address(
                    c.0.ip(),
                    &parts.headers,
                    &state.app.settings().trusted_proxies,
                )
                .to_string()
            })
            .unwrap_or_default();
        Ok(Meta(RequestMeta {
            channel,
            client_addr,
            request_id: header_str("x-request-id"),
            user_agent,
        }))
    }
}

/// The client's address: the connection's peer, unless the peer is a
/// proxy the operator trusts (`ROSTER_TRUSTED_PROXIES`). Then the hops its
/// `Forwarded` (or, without one, `X-Forwarded-For`) header lists are read
/// from the right, the nearest first, and the first that is not itself a
/// trusted proxy is the client. Entries further left were written by the
/// client and are never believed.
pub fn client_address(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let values = |name: header::HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_owned())
            .collect()
    };
    let forwarded = values(header::FORWARDED);
    let hops: Vec<Option<IpAddr>> = if !forwarded.is_empty() {
        forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| forwarded_node(v.trim()))
            })
            .collect()
    } else {
        values(header::HeaderName::from_static("x-forwarded-for"))
            .iter()
            .map(|v| forwarded_node(v))
            .collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(ip) = hop else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// An address as a forwarding header writes it: `192.0.2.1`,
/// `192.0.2.1:4711`, `"[2001:db8::1]:4711"` or `2001:db8::1`.
fn forwarded_node(v: &str) -> Option<IpAddr> {
    let v = v.trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    v.parse::<SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(peer: &str, headers: &[(&str, &str)], trusted: &str) -> String {
        let mut h = axum::http::HeaderMap::new();
        for (k, v) in headers {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let trusted = crate::config::parse_proxies(trusted).unwrap();
        client_address(peer.parse().unwrap(), &h, &trusted).to_string()
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let xff = [("x-forwarded-for", "6.6.6.6, 203.0.113.9")];
        // No trusted proxy: the header is the client's word.
        assert_eq!(addr("10.0.0.2", &xff, ""), "10.0.0.2");
        // From a proxy that is not listed: the same.
        assert_eq!(addr("10.0.0.2", &xff, "10.0.1.0/24"), "10.0.0.2");
        // From a listed proxy: the nearest hop it names; what the client
        // wrote further left is ignored.
        assert_eq!(addr("10.0.0.2", &xff, "10.0.0.0/24"), "203.0.113.9");
        // A chain of trusted proxies is walked through.
        let chain = [("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.7")];
        assert_eq!(addr("10.0.0.2", &chain, "10.0.0.0/24"), "203.0.113.9");
        // Forwarded (RFC 7239) wins over X-Forwarded-For, with ports and IPv6.
        let fwd = [
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8::1]:4711\";proto=https",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ];
        assert_eq!(addr("::1", &fwd, "::1"), "2001:db8::1");
        assert_eq!(
            addr(
                "10.0.0.2",
                &[("forwarded", "for=192.0.2.60:80")],
                "10.0.0.2"
            ),
            "192.0.2.60"
        );
        // Garbage or an obfuscated node stops the walk at the last good hop.
        assert_eq!(
            addr("10.0.0.2", &[("x-forwarded-for", "nonsense")], "10.0.0.2"),
            "10.0.0.2"
        );
        assert_eq!(
            addr("10.0.0.2", &[("forwarded", "for=unknown")], "10.0.0.2"),
            "10.0.0.2"
        );
    }
}
