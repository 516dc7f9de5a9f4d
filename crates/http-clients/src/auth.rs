//! Each partner's outbound authentication at send time ([`partners::outbound`] has the forms
//! and the pure signing): Uber's OAuth access token from a cache shared by every call in the
//! process, a fresh DoorDash JWT per request, a Grubhub MAC over each request, or a fixed
//! bearer token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use partners::outbound::{self, ApiCredentials, MacRequest};
use pipeline::ports::{ApiError, ErrorKind};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::Deserialize;

/// How a client authenticates its calls: from the credentials on each request (a fixed
/// bearer token, a DoorDash JWT, a Grubhub MAC), or with an OAuth access token from a cache
/// (Uber Eats). Its `Debug` names the scheme and public ids only.
#[derive(Debug, Clone)]
pub struct Authorizer(Scheme);

#[derive(Debug, Clone)]
enum Scheme {
    /// Credentials that authenticate each request themselves (never client credentials:
    /// [`Authorizer::new`] gives those a token cache).
    PerRequest(ApiCredentials),
    /// An OAuth 2.0 client-credentials access token (Uber Eats).
    ClientCredentials(Arc<TokenCache>),
}

impl Authorizer {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: String) -> Self {
        Authorizer(Scheme::PerRequest(ApiCredentials::Bearer(token)))
    }

    /// The authorizer for `credentials`; client credentials are exchanged at `token_url`
    /// (Uber: `https://auth.uber.com/oauth/v2/token`) for a token with `scope` (Uber:
    /// [`outbound::UBER_ORDER_SCOPE`] for order calls) through `client`.
    ///
    /// # Errors
    /// Client credentials without a token URL.
    pub fn new(
        credentials: ApiCredentials,
        client: &reqwest::Client,
        token_url: Option<&str>,
        scope: &str,
    ) -> Result<Self, String> {
        Ok(match credentials {
            ApiCredentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let url = token_url
                    .ok_or("client credentials need the partner's token URL")?
                    .to_owned();
                Authorizer(Scheme::ClientCredentials(Arc::new(TokenCache::new(
                    client.clone(),
                    url,
                    client_id,
                    client_secret,
                    scope.to_owned(),
                ))))
            }
            other => Authorizer(Scheme::PerRequest(other)),
        })
    }

    /// The headers that authenticate `method url` with `body` (the exact bytes sent), and the
    /// access token used, if it came from the cache (to drop it if the API answers 401).
    pub(crate) async fn headers(
        &self,
        method: &str,
        url: &reqwest::Url,
        body: &[u8],
    ) -> Result<(Vec<(HeaderName, HeaderValue)>, Option<String>), ApiError> {
        let value = |v: String| {
            HeaderValue::from_str(&v).map_err(|_| {
                ApiError::new(
                    ErrorKind::Permanent,
                    "auth",
                    "authenticate",
                    "a credential makes an invalid header value",
                )
            })
        };
        Ok(match &self.0 {
            Scheme::PerRequest(ApiCredentials::ClientCredentials { .. }) => {
                return Err(ApiError::new(
                    ErrorKind::Permanent,
                    "auth",
                    "authenticate",
                    "client credentials were given no token cache",
                ));
            }
            Scheme::PerRequest(ApiCredentials::Bearer(t)) => {
                (vec![(AUTHORIZATION, value(format!("Bearer {t}"))?)], None)
            }
            Scheme::ClientCredentials(cache) => {
                let token = cache.token().await?;
                (
                    vec![(AUTHORIZATION, value(format!("Bearer {token}"))?)],
                    Some(token),
                )
            }
            Scheme::PerRequest(ApiCredentials::DoorDashJwt {
                developer_id,
                key_id,
                signing_secret,
            }) => {
                let jwt = outbound::doordash_jwt(developer_id, key_id, signing_secret, Utc::now());
                let (name, v) = outbound::DOORDASH_AUTH_VERSION;
                (
                    vec![
                        (AUTHORIZATION, value(format!("Bearer {jwt}"))?),
                        (HeaderName::from_static(name), HeaderValue::from_static(v)),
                    ],
                    None,
                )
            }
            Scheme::PerRequest(ApiCredentials::GrubhubMac {
                partner_key,
                client_id,
                secret_key,
                issued_at_ms,
            }) => {
                let random: String = std::iter::repeat_with(fastrand::alphanumeric)
                    .take(16)
                    .collect();
                let nonce = outbound::grubhub_nonce(*issued_at_ms, Utc::now(), &random);
                let body_hash = outbound::grubhub_body_hash(body);
                let path_and_query = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_owned(),
                };
                let mac = outbound::grubhub_mac(
                    secret_key,
                    &nonce,
                    &MacRequest {
                        method,
                        path_and_query: &path_and_query,
                        host: url.host_str().unwrap_or_default(),
                        port: url.port_or_known_default().unwrap_or(443),
                        body_hash: &body_hash,
                    },
                );
                (
                    vec![
                        (
                            HeaderName::from_static(outbound::GRUBHUB_PARTNER_KEY),
                            value(partner_key.clone())?,
                        ),
                        (
                            AUTHORIZATION,
                            value(outbound::grubhub_authorization(
                                client_id, &nonce, &body_hash, &mac,
                            ))?,
                        ),
                    ],
                    None,
                )
            }
        })
    }

    /// The API answered 401 to a call made with `used`: a cached access token is dropped, so
    /// the next call fetches another. True when there is a fresh one to try.
    pub(crate) async fn rejected(&self, used: Option<&str>) -> bool {
        match (&self.0, used) {
            (Scheme::ClientCredentials(cache), Some(token)) => cache.invalidate(token).await,
            _ => false,
        }
    }
}

/// An OAuth 2.0 client-credentials access token, cached until near its expiry and fetched
/// once however many calls want it at the same moment: the first waits for the token
/// endpoint, the others wait for the first.
///
/// Uber rate-limits its token endpoint to 100 requests an hour and advises caching the token
/// until it expires (`expires_in`, 30 days in its example) and refreshing on a 401
/// (developer.uber.com, "Client Credentials Flow"; docs/partner-contracts.md, U7c). A 401
/// drops the token and the next call fetches another, but a token fetched after a 401 is
/// not dropped for another 401 within [`REFETCH_AFTER_401_EVERY`]: a refusal that a fresh
/// token does not cure is not about the token, and fetching on every call would spend the
/// hour's budget.
/// The cache is per process (per Lambda execution environment): see the README's note on
/// the budget at scale.
pub struct TokenCache {
    client: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
    current: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The next token is fetched because the last was refused.
    after_401: bool,
}

impl std::fmt::Debug for TokenCache {
    /// The endpoint, client id and scope; never the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// How long a token fetched after a 401 is kept through further 401s.
pub const REFETCH_AFTER_401_EVERY: Duration = Duration::from_secs(300);

/// The longest a token is kept, whatever `expires_in` says (Uber's example: 30 days).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

struct Cached {
    token: String,
    fetched_at: Instant,
    refresh_at: Instant,
    after_401: bool,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    expires_in: u64,
}

/// When to refresh a token that lives `lifetime`: a tenth of its life early, at most five
/// minutes, so calls never carry a token about to lapse.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(300))
}

impl TokenCache {
    /// A cache exchanging `client_id` and `client_secret` at `token_url` for `scope`.
    pub fn new(
        client: reqwest::Client,
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: String,
    ) -> Self {
        Self {
            client,
            token_url,
            client_id,
            client_secret,
            scope,
            current: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// A valid access token: the cached one, or a new one.
    ///
    /// # Errors
    /// The token endpoint's refusal (permanent for 400/401, transient for 429/5xx and
    /// network failures).
    pub async fn token(&self) -> Result<String, ApiError> {
        let mut state = self.current.lock().await;
        if let Some(c) = state
            .cached
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
        {
            return Ok(c.token.clone());
        }
        let mut fresh = self.fetch().await?;
        fresh.after_401 = std::mem::take(&mut state.after_401);
        let token = fresh.token.clone();
        state.cached = Some(fresh);
        Ok(token)
    }

    /// The API refused `token` (401): drops it if it is still the cached one, unless it was
    /// itself fetched after a 401 less than [`REFETCH_AFTER_401_EVERY`] ago. True if it was
    /// dropped (the caller may try once more with a new one).
    pub async fn invalidate(&self, token: &str) -> bool {
        let mut state = self.current.lock().await;
        let drop = state.cached.as_ref().is_some_and(|c| {
            c.token == token && (!c.after_401 || c.fetched_at.elapsed() >= REFETCH_AFTER_401_EVERY)
        });
        if drop {
            state.cached = None;
            state.after_401 = true;
        }
        drop
    }

    async fn fetch(&self) -> Result<Cached, ApiError> {
        let error = |kind, message: String| ApiError::new(kind, "oauth", "fetch token", message);
        let form = outbound::uber_token_request(&self.client_id, &self.client_secret, &self.scope);
        let started = Instant::now();
        let response = self
            .client
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| ApiError {
                source: Some(Box::new(e)),
                ..error(
                    ErrorKind::Transient,
                    format!("POST {}: request failed", self.token_url),
                )
            })?;
        let status = response.status().as_u16();
        let retry_after = crate::json_http::retry_after_of(response.headers());
        let bytes = response.bytes().await.map_err(|e| ApiError {
            source: Some(Box::new(e)),
            ..error(
                ErrorKind::Transient,
                "reading the token answer failed".into(),
            )
        })?;
        if !(200..300).contains(&status) {
            return Err(crate::json_http::answered(
                "oauth",
                "fetch token",
                &format!("POST {}", self.token_url),
                status,
                retry_after,
                &bytes,
            ));
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| ApiError {
            status: Some(status),
            source: Some(Box::new(e)),
            ..error(
                ErrorKind::Permanent,
                "the token answer has no access_token and expires_in".into(),
            )
        })?;
        if answer
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(error(
                ErrorKind::Permanent,
                format!("token type {:?} is not Bearer", answer.token_type),
            ));
        }
        let lifetime = Duration::from_secs(answer.expires_in).min(MAX_TOKEN_LIFETIME);
        tracing::info!(
            token_url = %self.token_url,
            expires_in = answer.expires_in,
            "fetched an access token"
        );
        Ok(Cached {
            token: answer.access_token,
            fetched_at: started,
            refresh_at: started + (lifetime - refresh_margin(lifetime)),
            after_401: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_refreshed_a_tenth_of_its_life_early_and_never_more_than_five_minutes() {
        assert_eq!(
            refresh_margin(Duration::from_secs(2_592_000)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(60)),
            Duration::from_secs(6)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }
}
