//! OpenID Connect (SPEC §3a "Single sign-on"): discovery, the
//! authorization code flow with PKCE, and the validation of the ID token,
//! all through the `openidconnect` crate (no JWT or JWKS handling of our
//! own). What comes out is a [`VerifiedIdentity`] that the sign-in use case
//! (`App::sso_sign_in`) acts on.
//!
//! Every request to a provider goes through the outbound guard
//! ([`crate::outbound::Guard`]): the issuer, and each endpoint its
//! discovery document names (authorization, token, JWKS), is refused when
//! it is internal and the operator has not allowed it, and no redirect is
//! followed. Each provider's discovery document and JWKS are cached for an
//! hour; an ID token signed with a key the cached JWKS lacks makes the JWKS
//! be fetched again once before the token is refused (key rotation).

use crate::app::{AppError, SsoFailure};
use crate::outbound::Guard;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, HttpRequest, HttpResponse, IdToken, IssuerUrl, JsonWebKeySet, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a provider's discovery document and JWKS are used before they
/// are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The largest answer read from a provider.
const MAX_BODY: usize = 1024 * 1024;

/// What the flow needs of a connection (the secret decrypted).
#[derive(Clone)]
pub struct ClientConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub groups_claim: String,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<hidden>")
            .finish()
    }
}

/// A sign-in begun: where to send the browser, and what to keep for the
/// callback.
pub struct Begun {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What a provider asserted about a person, after the ID token checked out.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// The values of the connection's groups claim (strings only).
    pub groups: Vec<String>,
    /// Every claim of the ID token, for the console's test button.
    pub claims: serde_json::Value,
}

/// The claims beyond the standard ones: kept whole, so the connection's
/// groups claim (whatever its name) can be read.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OtherClaims {
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type FullIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

struct Cached {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// The OpenID Connect client of this server: shared by the API and the
/// console, it keeps each provider's metadata and keys.
#[derive(Clone)]
pub struct Oidc {
    guard: Guard,
    http: reqwest::Client,
    cache: Arc<Mutex<HashMap<String, Arc<Cached>>>>,
}

/// Why a request to a provider was not made or failed.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("{0}")]
    Refused(crate::outbound::Refused),
    #[error("the provider could not be reached")]
    Unreachable,
    #[error("the provider's answer is too large")]
    TooLarge,
}

fn unavailable(issuer: &str) -> AppError {
    AppError::sso(
        SsoFailure::ProviderUnavailable,
        format!("the identity provider {issuer} could not be reached; nothing was changed, try again later"),
    )
}

fn token_invalid(why: impl std::fmt::Display) -> AppError {
    AppError::sso(
        SsoFailure::TokenInvalid,
        format!("the identity provider's ID token was refused: {why}"),
    )
}

impl Oidc {
    pub fn new(guard: Guard) -> Oidc {
        Oidc {
            guard,
            http: guard.client(Duration::from_secs(10)),
            cache: Arc::default(),
        }
    }

    /// Makes one request for `openidconnect`, through the guard.
    fn http_client(
        &self,
    ) -> impl Fn(
        HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, CallError>> + Send>,
    > + '_ {
        move |req: HttpRequest| {
            let guard = self.guard;
            let http = self.http.clone();
            Box::pin(async move {
                guard
                    .check_url(&req.uri().to_string())
                    .map_err(CallError::Refused)?;
                let req = reqwest::Request::try_from(req).map_err(|_| CallError::Unreachable)?;
                let res =
                    http.execute(req)
                        .await
                        .map_err(|e| match crate::outbound::refusal(&e) {
                            Some(r) => CallError::Refused(r),
                            None => CallError::Unreachable,
                        })?;
                let status = res.status();
                let headers = res.headers().clone();
                if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
                    return Err(CallError::TooLarge);
                }
                let body = res.bytes().await.map_err(|_| CallError::Unreachable)?;
                if body.len() > MAX_BODY {
                    return Err(CallError::TooLarge);
                }
                let mut out = openidconnect::http::Response::new(body.to_vec());
                *out.status_mut() = status;
                *out.headers_mut() = headers;
                Ok(out)
            })
        }
    }

    /// The provider's metadata with its JWKS, from the cache unless it is
    /// old or `fresh` is asked.
    async fn metadata(&self, issuer: &str, fresh: bool) -> Result<Arc<Cached>, AppError> {
        if !fresh {
            let cached = self
                .cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(issuer)
                .cloned();
            if let Some(c) = cached.filter(|c| c.fetched.elapsed() < METADATA_TTL) {
                return Ok(c);
            }
        }
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|_| unavailable(issuer))?;
        let client = self.http_client();
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &client)
            .await
            .map_err(|e| {
                tracing::warn!(issuer, error = %e, "OpenID Connect discovery failed");
                match e {
                    openidconnect::DiscoveryError::Request(_) => unavailable(issuer),
                    other => AppError::sso(
                        SsoFailure::ProviderError,
                        format!(
                            "the identity provider {issuer} has no usable discovery document ({})",
                            short(&other.to_string())
                        ),
                    ),
                }
            })?;
        let cached = Arc::new(Cached {
            metadata,
            fetched: Instant::now(),
        });
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issuer.to_owned(), cached.clone());
        Ok(cached)
    }

    /// Fetches the provider's JWKS again (a token named a key the cached
    /// set lacks) and keeps the new set.
    async fn refresh_keys(&self, issuer: &str, old: &Cached) -> Result<Arc<Cached>, AppError> {
        let client = self.http_client();
        let jwks = JsonWebKeySet::fetch_async(old.metadata.jwks_uri(), &client)
            .await
            .map_err(|_| unavailable(issuer))?;
        let cached = Arc::new(Cached {
            metadata: old.metadata.clone().set_jwks(jwks),
            fetched: old.fetched,
        });
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issuer.to_owned(), cached.clone());
        Ok(cached)
    }

    /// Checks that the provider's discovery document can be read (saving a
    /// connection).
    pub async fn check(&self, issuer: &str) -> Result<(), AppError> {
        self.metadata(issuer, true).await.map(|_| ())
    }

    /// Begins a sign-in: the provider's authorization URL with a new state,
    /// nonce and PKCE (S256) challenge, asking for `openid email profile`.
    pub async fn begin(&self, cfg: &ClientConfig, redirect: &str) -> Result<Begun, AppError> {
        let cached = self.metadata(&cfg.issuer, false).await?;
        self.guard
            .check_url(cached.metadata.authorization_endpoint().as_str())
            .map_err(|e| AppError::sso(SsoFailure::ProviderError, e.to_string()))?;
        let client = client(&cached.metadata, cfg, redirect)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Begun {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier) and
    /// validates the ID token: signature from the provider's JWKS, issuer,
    /// audience, expiry and nonce.
    pub async fn finish(
        &self,
        cfg: &ClientConfig,
        redirect: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<VerifiedIdentity, AppError> {
        let cached = self.metadata(&cfg.issuer, false).await?;
        let client = client(&cached.metadata, cfg, redirect)?;
        let http = self.http_client();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| {
                AppError::sso(
                    SsoFailure::ProviderError,
                    "the identity provider has no token endpoint",
                )
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => AppError::sso(
                    SsoFailure::ProviderError,
                    format!(
                        "the identity provider refused the sign-in ({})",
                        r.error().as_ref()
                    ),
                ),
                RequestTokenError::Request(_) => unavailable(&cfg.issuer),
                other => {
                    tracing::warn!(issuer = %cfg.issuer, error = %other, "token request failed");
                    AppError::sso(
                        SsoFailure::ProviderError,
                        "the identity provider's token answer could not be read",
                    )
                }
            })?;
        let raw = response
            .id_token()
            .ok_or_else(|| token_invalid("the provider sent no ID token"))?
            .to_string();
        let token: FullIdToken = raw
            .parse()
            .map_err(|_| token_invalid("it is not a signed JWT"))?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match verify(&token, &client, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // A key the cached JWKS lacks: the provider may have
                // rotated its keys. Fetch them once more.
                let cached = self.refresh_keys(&cfg.issuer, &cached).await?;
                let client = client_of(&cached.metadata, cfg, redirect)?;
                verify(&token, &client, &nonce)
            }
            other => other,
        }
        .map_err(|e| token_invalid(describe(&e)))?;
        let other = &claims.additional_claims().rest;
        let groups = match other.get(&cfg.groups_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let all = serde_json::to_value(&claims).unwrap_or_default();
        Ok(VerifiedIdentity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            groups,
            claims: all,
        })
    }
}

type Verified = openidconnect::IdTokenClaims<OtherClaims, CoreGenderClaim>;

fn verify(
    token: &FullIdToken,
    client: &ReadyClient,
    nonce: &Nonce,
) -> Result<Verified, ClaimsVerificationError> {
    token.claims(&client.id_token_verifier(), nonce).cloned()
}

type ReadyClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client(
    metadata: &CoreProviderMetadata,
    cfg: &ClientConfig,
    redirect: &str,
) -> Result<ReadyClient, AppError> {
    client_of(metadata, cfg, redirect)
}

fn client_of(
    metadata: &CoreProviderMetadata,
    cfg: &ClientConfig,
    redirect: &str,
) -> Result<ReadyClient, AppError> {
    let redirect = RedirectUrl::new(redirect.to_owned())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("bad redirect URL: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(cfg.client_id.clone()),
        Some(ClientSecret::new(cfg.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// A validation failure in words (the crate's, which name no secret).
fn describe(e: &ClaimsVerificationError) -> String {
    match e {
        ClaimsVerificationError::Expired(_) => "it has expired".to_owned(),
        ClaimsVerificationError::InvalidAudience(_) => {
            "it was issued for another client (audience)".to_owned()
        }
        ClaimsVerificationError::InvalidIssuer(_) => "it was issued by another issuer".to_owned(),
        ClaimsVerificationError::InvalidNonce(_) => {
            "its nonce does not match this sign-in".to_owned()
        }
        ClaimsVerificationError::SignatureVerification(s) => match s {
            SignatureVerificationError::NoMatchingKey => {
                "it is signed with a key the provider does not publish".to_owned()
            }
            SignatureVerificationError::NoSignature => "it is not signed".to_owned(),
            SignatureVerificationError::DisallowedAlg(_)
            | SignatureVerificationError::UnsupportedAlg(_) => {
                "it is signed with an algorithm that is not allowed".to_owned()
            }
            _ => "its signature does not verify".to_owned(),
        },
        other => short(&other.to_string()),
    }
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}
