//! Each partner's outbound authentication at send time ([`partners::outbound`] has the forms
//! and the pure signing): Uber's OAuth access token from a cache shared by every call in the
//! process, a fresh DoorDash JWT per request, a Grubhub MAC over each request, or a fixed
//! bearer token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use partners::outbound::{self, ApiCredentials, MacRequest};
use pipeline::ports::{ApiError, ErrorKind, FetchFailure, RepoError, SharedToken, TokenStore};
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
    /// OAuth 2.0 client-credentials access tokens, one per scope (Uber Eats).
    ClientCredentials(Arc<ScopedTokens>),
}

/// One [`TokenCache`] per scope, each made on the first call that needs its scope
/// ([`outbound::uber_scope_for`]).
pub struct ScopedTokens {
    clock: Clock,
    client: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
    store: Option<Arc<dyn TokenStore>>,
    caches: std::sync::Mutex<std::collections::HashMap<&'static str, Arc<TokenCache>>>,
}

impl std::fmt::Debug for ScopedTokens {
    /// The endpoint, client id and scopes in use; never the secret or a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scopes: Vec<&str> = self.lock().keys().copied().collect();
        f.debug_struct("ScopedTokens")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scopes", &scopes)
            .field("shared", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl ScopedTokens {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<&'static str, Arc<TokenCache>>> {
        self.caches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cache for `scope`, made on first use.
    fn cache(&self, scope: &'static str) -> Arc<TokenCache> {
        self.lock()
            .entry(scope)
            .or_insert_with(|| {
                let cache = TokenCache::new(
                    self.client.clone(),
                    self.token_url.clone(),
                    self.client_id.clone(),
                    self.client_secret.clone(),
                    scope.to_owned(),
                )
                .with_clock(self.clock);
                Arc::new(match &self.store {
                    Some(store) => cache.shared(store.clone()),
                    None => cache,
                })
            })
            .clone()
    }

    /// Drops `token` (refused with a 401) from the cache that gave it.
    async fn invalidate(&self, token: &str) -> bool {
        let caches: Vec<Arc<TokenCache>> = self.lock().values().cloned().collect();
        for cache in caches {
            if cache.invalidate(token).await {
                return true;
            }
        }
        false
    }
}

impl Authorizer {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: String) -> Self {
        Authorizer(Scheme::PerRequest(ApiCredentials::Bearer(token)))
    }

    /// The authorizer for `credentials`; client credentials are exchanged at `token_url`
    /// (Uber: `https://auth.uber.com/oauth/v2/token`) through `client` for one token per scope
    /// the calls need ([`outbound::uber_scope_for`]), each shared through `store` if given
    /// ([`TokenCache::shared`]).
    ///
    /// # Errors
    /// Client credentials without a token URL.
    pub fn new(
        credentials: ApiCredentials,
        client: &reqwest::Client,
        token_url: Option<&str>,
        store: Option<Arc<dyn TokenStore>>,
    ) -> Result<Self, String> {
        Ok(match credentials {
            ApiCredentials::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let url = token_url
                    .ok_or("client credentials need the partner's token URL")?
                    .to_owned();
                Authorizer(Scheme::ClientCredentials(Arc::new(ScopedTokens {
                    clock: Utc::now,
                    client: client.clone(),
                    token_url: url,
                    client_id,
                    client_secret,
                    store,
                    caches: std::sync::Mutex::default(),
                })))
            }
            other => Authorizer(Scheme::PerRequest(other)),
        })
    }

    /// The same authorizer timing its tokens by `clock` (`Utc::now` unless a test sets one).
    pub fn with_clock(self, clock: Clock) -> Self {
        match self.0 {
            Scheme::ClientCredentials(tokens) => {
                let tokens = Arc::try_unwrap(tokens).map_or_else(
                    |shared| ScopedTokens {
                        clock,
                        client: shared.client.clone(),
                        token_url: shared.token_url.clone(),
                        client_id: shared.client_id.clone(),
                        client_secret: shared.client_secret.clone(),
                        store: shared.store.clone(),
                        caches: std::sync::Mutex::default(),
                    },
                    |mut own| {
                        own.clock = clock;
                        own
                    },
                );
                Authorizer(Scheme::ClientCredentials(Arc::new(tokens)))
            }
            other => Authorizer(other),
        }
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
            Scheme::ClientCredentials(tokens) => {
                let token = tokens
                    .cache(outbound::uber_scope_for(url.path()))
                    .token()
                    .await?;
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
            (Scheme::ClientCredentials(tokens), Some(token)) => tokens.invalidate(token).await,
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
///
/// With a [`TokenStore`] ([`TokenCache::shared`]) the token is the fleet's: a process without
/// a usable one reads the store, and only the process that takes the store's lease fetches
/// (the others wait for it, up to [`SHARED_WAIT`]); the 401 rule above then holds across the
/// fleet, as the store keeps when and why each token was fetched. Without one it is this
/// process's alone (the memory backend and tests).
pub struct TokenCache {
    clock: Clock,
    client: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: String,
    shared: Option<Shared>,
    current: tokio::sync::Mutex<State>,
}

/// The fleet's store, this cache's key in it, this process's lease holder id, and the seal
/// the tokens are kept under (the table holds ciphertext only: [`crate::sealed`]).
struct Shared {
    store: Arc<dyn TokenStore>,
    key: String,
    holder: String,
    seal: crate::sealed::TokenSeal,
}

#[derive(Default)]
struct State {
    cached: Option<SharedToken>,
    /// The token last refused (401) and dropped: not to be taken from the store again.
    refused: Option<String>,
    /// The next token this process fetches is fetched because one was refused.
    after_401: bool,
}

impl State {
    /// The cached token while it has not expired at `now` and was not refused: what a call
    /// may still use when a new one cannot be had.
    fn still_valid(&self, now: DateTime<Utc>) -> Option<SharedToken> {
        self.cached
            .clone()
            .filter(|c| now < c.expires_at && self.refused.as_deref() != Some(&c.token))
    }
}

/// The wall clock tokens are timed by.
pub type Clock = fn() -> DateTime<Utc>;

impl std::fmt::Debug for TokenCache {
    /// The endpoint, client id, scope and whether the token is shared; never the secret or
    /// the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("shared", &self.shared.as_ref().map(|s| s.key.as_str()))
            .finish_non_exhaustive()
    }
}

/// How long a token fetched after a 401 is kept through further 401s.
pub const REFETCH_AFTER_401_EVERY: Duration = Duration::from_secs(300);

/// The longest a token is kept, whatever `expires_in` says (Uber's example: 30 days).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// How long a process holds the fleet's lease to fetch a token: past it, another may fetch.
/// Several times what a fetch takes at worst (a 5 s request timeout, plus the two DynamoDB
/// calls around it), so a slow holder is not raced; a holder that dies mid-fetch delays the
/// fleet's token by at most this.
pub const SHARED_LEASE: Duration = Duration::from_secs(30);

/// How long one call waits for another process's fetch before it gives up (a transient
/// error; the client's own retries make at most three such waits, well inside a function's
/// timeout).
pub const SHARED_WAIT: Duration = Duration::from_secs(3);

/// How often a waiting process reads the store again (jittered by up to half): reads only, so
/// a cold-start storm does not write to the one item.
const SHARED_POLL: Duration = Duration::from_millis(200);

/// How long the fleet holds off fetching after a failed fetch (or the partner's Retry-After,
/// if longer): 36 s, so a token endpoint that keeps failing is asked at most 100 times an hour,
/// Uber's limit (U7c).
pub const FAILED_FETCH_BACKOFF: Duration = Duration::from_secs(36);

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

fn since(now: DateTime<Utc>, t: DateTime<Utc>) -> Duration {
    (now - t).to_std().unwrap_or_default()
}

impl TokenCache {
    /// A cache exchanging `client_id` and `client_secret` at `token_url` for `scope`, this
    /// process's own.
    pub fn new(
        client: reqwest::Client,
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: String,
    ) -> Self {
        Self {
            clock: Utc::now,
            client,
            token_url,
            client_id,
            client_secret,
            scope,
            shared: None,
            current: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// The same cache timing its tokens by `clock` (`Utc::now` unless a test sets one).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same cache sharing its token with every process through `store`, under a key of
    /// the token URL, client id and scope.
    pub fn shared(mut self, store: Arc<dyn TokenStore>) -> Self {
        let key = format!("{}|{}|{}", self.token_url, self.client_id, self.scope);
        let holder: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(16)
            .collect();
        let seal = crate::sealed::TokenSeal::new(&self.client_secret, &key);
        self.shared = Some(Shared {
            store,
            key,
            holder,
            seal,
        });
        self
    }

    /// A valid access token: the cached one, the fleet's, or a new one.
    ///
    /// # Errors
    /// The token endpoint's refusal (permanent for 400/401, transient for 429/5xx and
    /// network failures); with a store, the fleet's last failure while fetches are held off
    /// (of the same class), and the store's failures or a wait past [`SHARED_WAIT`] for another
    /// process's fetch (transient), unless the cached token has not yet expired, which is then
    /// used.
    pub async fn token(&self) -> Result<String, ApiError> {
        let mut state = self.current.lock().await;
        let now = (self.clock)();
        if let Some(c) = state.cached.as_ref().filter(|c| now < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let fresh = match &self.shared {
            None => self.fetch(state.after_401).await?,
            Some(shared) => match self.fleet_token(shared, &state).await {
                Ok(t) => t,
                Err(e) => match state.still_valid((self.clock)()) {
                    Some(c) => {
                        tracing::warn!(error = %e, "no new token; the cached one has not expired and is used");
                        return Ok(c.token);
                    }
                    None => return Err(e),
                },
            },
        };
        let token = fresh.token.clone();
        state.cached = Some(fresh);
        state.after_401 = false;
        Ok(token)
    }

    /// The fleet's token if it is usable; else, when no other process is fetching, one this
    /// process fetches under the lease; else the one another process fetches meanwhile.
    async fn fleet_token(&self, shared: &Shared, state: &State) -> Result<SharedToken, ApiError> {
        let store_error = |e: RepoError| {
            ApiError::new(
                ErrorKind::Transient,
                "oauth",
                "share token",
                format!("the token store failed: {e}"),
            )
        };
        let waited = Instant::now();
        loop {
            let now = (self.clock)();
            let mut kept = shared.store.get(&shared.key).await.map_err(store_error)?;
            // The lease is taken against the token the store holds, readable or not.
            let seen = kept.token.as_ref().map(|t| t.fetched_at);
            // Kept sealed; one this process cannot open (a rotated client secret, a plaintext
            // token an earlier release kept) counts as none: a new one is fetched.
            kept.token = kept.token.and_then(|mut t| {
                t.token = shared.seal.open(&t.token)?;
                Some(t)
            });
            if let Some(t) = kept.token.as_ref().filter(|t| {
                now < t.refresh_at && state.refused.as_deref() != Some(t.token.as_str())
            }) {
                return Ok(t.clone());
            }
            match (kept.lease_until.filter(|end| now < *end), kept.failure) {
                (Some(end), Some(failure)) => {
                    let kind = if failure.permanent {
                        ErrorKind::Permanent
                    } else {
                        ErrorKind::Transient
                    };
                    return Err(ApiError {
                        retry_after: (end - now).to_std().ok(),
                        ..ApiError::new(
                            kind,
                            "oauth",
                            "fetch token",
                            format!(
                                "the fleet's last token fetch failed ({}); none is fetched before {end}",
                                failure.message
                            ),
                        )
                    });
                }
                (Some(_), None) => {}
                (None, _) => {
                    let until = now + chrono::TimeDelta::from_std(SHARED_LEASE).unwrap_or_default();
                    if shared
                        .store
                        .lease(&shared.key, &shared.holder, now, until, seen)
                        .await
                        .map_err(store_error)?
                    {
                        return self.fetch_for_fleet(shared, state.after_401).await;
                    }
                    // Another process took the lease, or kept a token, since the read: read
                    // again after the pause below.
                }
            }
            if waited.elapsed() >= SHARED_WAIT {
                return Err(ApiError::new(
                    ErrorKind::Transient,
                    "oauth",
                    "share token",
                    format!(
                        "another process has been fetching the token for over {} s",
                        SHARED_WAIT.as_secs()
                    ),
                ));
            }
            let jitter = SHARED_POLL.mul_f64(fastrand::f64() / 2.0);
            tokio::time::sleep(SHARED_POLL + jitter).await;
        }
    }

    /// Fetches under the lease and keeps the token for the fleet; a failed fetch holds the
    /// fleet off for [`FAILED_FETCH_BACKOFF`] (or the partner's Retry-After) with its error. A
    /// store failure after a good fetch loses nothing: the token is used here, and the lease
    /// lapses.
    async fn fetch_for_fleet(
        &self,
        shared: &Shared,
        after_401: bool,
    ) -> Result<SharedToken, ApiError> {
        match self.fetch(after_401).await {
            Ok(fresh) => {
                let Some(sealed) = shared.seal.seal(&fresh.token).map(|token| SharedToken {
                    token,
                    ..fresh.clone()
                }) else {
                    tracing::warn!(key = %shared.key, "the token could not be sealed; this process uses it alone");
                    return Ok(fresh);
                };
                match shared.store.put(&shared.key, &shared.holder, &sealed).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(key = %shared.key, "the token lease lapsed during the fetch; this token is kept by this process only")
                    }
                    Err(e) => {
                        tracing::warn!(key = %shared.key, error = %e, "the token could not be kept for the fleet; this process uses it")
                    }
                }
                Ok(fresh)
            }
            Err(e) => {
                let hold = e.retry_after.unwrap_or_default().max(FAILED_FETCH_BACKOFF);
                let until = (self.clock)() + chrono::TimeDelta::from_std(hold).unwrap_or_default();
                let failure = FetchFailure {
                    message: e.to_string(),
                    permanent: !e.is_transient(),
                };
                if let Err(store) = shared
                    .store
                    .fail(&shared.key, &shared.holder, until, &failure)
                    .await
                {
                    tracing::warn!(key = %shared.key, error = %store, "a failed token fetch could not be recorded; the lease lapses by itself");
                }
                Err(e)
            }
        }
    }

    /// The API refused `token` (401): drops it if it is still the cached one, unless it was
    /// itself fetched after a 401 less than [`REFETCH_AFTER_401_EVERY`] ago. True if it was
    /// dropped (the caller may try once more with a new one).
    pub async fn invalidate(&self, token: &str) -> bool {
        let mut state = self.current.lock().await;
        let drop = state.cached.as_ref().is_some_and(|c| {
            c.token == token
                && (!c.after_401 || since((self.clock)(), c.fetched_at) >= REFETCH_AFTER_401_EVERY)
        });
        if drop {
            state.cached = None;
            state.refused = Some(token.to_owned());
            state.after_401 = true;
        }
        drop
    }

    async fn fetch(&self, after_401: bool) -> Result<SharedToken, ApiError> {
        let error = |kind, message: String| ApiError::new(kind, "oauth", "fetch token", message);
        let form = outbound::uber_token_request(&self.client_id, &self.client_secret, &self.scope);
        let started = (self.clock)();
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
        let retry_after = crate::answer::retry_after_of(response.headers());
        let bytes = response.bytes().await.map_err(|e| ApiError {
            source: Some(Box::new(e)),
            ..error(
                ErrorKind::Transient,
                "reading the token answer failed".into(),
            )
        })?;
        if !(200..300).contains(&status) {
            return Err(crate::answer::answered(
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
            shared = self.shared.is_some(),
            "fetched an access token"
        );
        let keep =
            chrono::TimeDelta::from_std(lifetime - refresh_margin(lifetime)).unwrap_or_default();
        Ok(SharedToken {
            token: answer.access_token,
            fetched_at: started,
            refresh_at: started + keep,
            expires_at: started + chrono::TimeDelta::from_std(lifetime).unwrap_or_default(),
            after_401,
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
