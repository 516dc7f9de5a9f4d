//! One JSON-over-HTTP call with timeouts, retries and error classification.

use std::time::Duration;

use chrono::Utc;
use partners::HttpMethod;
use pipeline::ports::{ApiError, ErrorKind};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

pub use crate::answer::parse_retry_after;
use crate::answer::{answered, retry_after_of};
use crate::auth::Authorizer;
use serde_json::Value;
use tracing::warn;

/// How persistently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// Backoff ceiling of the first retry.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
    /// A `Retry-After` longer than this is not waited out here: the error goes back to the
    /// workflow, whose retry waits longer without holding a Lambda.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The longest wait before retry number `retry` (0 for the first retry):
    /// `min(cap, base × 2^retry)`, saturating rather than overflowing for large `retry`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.cap)
    }

    /// Full jitter: a uniform delay between 0 and [`Self::ceiling`], in whole milliseconds.
    pub fn backoff(&self, retry: u32) -> Duration {
        let millis = u64::try_from(self.ceiling(retry).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// Timeouts.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// The wall clock access tokens are timed by: `Utc::now`, or a test's.
    pub clock: crate::auth::Clock,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            clock: Utc::now,
        }
    }
}

/// The position (from 1) of the first segment of `path`'s path part that a URL resolves as
/// a dot segment (`.` or `..`, any of their dots percent-encoded as `%2e`: the WHATWG URL
/// Standard's single- and double-dot segments), if any.
pub(crate) fn dot_segment_at(path: &str) -> Option<usize> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .enumerate()
        .skip(1)
        .find_map(|(i, segment)| {
            let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
            matches!(decoded.as_str(), "." | "..").then_some(i)
        })
}

/// A JSON API at a base URL.
#[derive(Debug, Clone)]
pub struct JsonHttp {
    client: reqwest::Client,
    service: String,
    base_url: String,
    auth: Authorizer,
    retry: RetryPolicy,
}

fn method(m: HttpMethod) -> reqwest::Method {
    match m {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
    }
}

/// Checks a base URL the clients will send credentials and orders to: `https://` only, plain
/// `http://` for a loopback host alone (`127.0.0.0/8`, `::1`, `localhost`: the local cloud's
/// simulators), and no credentials in the URL. The error says what is wrong, never the URL.
pub fn check_api_url(url: &str) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(url).map_err(|_| "not an absolute URL")?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("must be https:// (http:// only for a loopback host)"),
        _ => return Err("must be an https:// URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    Ok(())
}

/// Builds the shared reqwest client (rustls on ring, the provider the AWS clients use too; no
/// proxies read from the environment; redirects never followed).
///
/// Servers are verified against Mozilla's root certificates as compiled in by `webpki-roots`,
/// not the platform's store: reading the store is the largest part of a cold start where it is
/// a directory of a few hundred files (Debian's `/etc/ssl/certs`: about 6 ms of 13 ms), and the
/// partners' and POS APIs are served under public CAs, which that set holds.
pub fn build_client(settings: HttpSettings) -> Result<reqwest::Client, reqwest::Error> {
    // Installing fails only if a provider is already installed, which is the one we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .no_proxy()
        // A redirect would resend the request (its credentials, the order) wherever the
        // server points; the partners' and POS APIs answer where they are asked, so a 3xx is
        // an error the caller sees, never followed.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("order-pipeline/", env!("CARGO_PKG_VERSION")))
        .build()
}

impl JsonHttp {
    /// A client for `service` at `base_url`, authenticating with `auth`.
    pub fn new(
        client: reqwest::Client,
        service: impl Into<String>,
        base_url: impl Into<String>,
        auth: Authorizer,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            client,
            service: service.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            auth,
            retry,
        }
    }

    fn error(&self, kind: ErrorKind, operation: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(kind, self.service.clone(), operation, message)
    }

    /// Sends the request, retrying transient failures; returns the status and JSON body
    /// (`null` for an empty body).
    pub async fn call(
        &self,
        operation: &str,
        m: HttpMethod,
        path: &str,
        body: Option<&Value>,
        headers: &[(&'static str, String)],
    ) -> Result<(u16, Value), ApiError> {
        let mut attempt = 0;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let (err, used_token) = match self.once(operation, m, path, body, headers).await {
                Ok(ok) => return Ok(ok),
                Err(e) => e,
            };
            // A 401 to a cached access token: the partner revoked or expired it early. Drop
            // it and try once more with a fresh one (Uber: "refresh ... on a 401").
            if err.status == Some(401)
                && !reauthenticated
                && self.auth.rejected(used_token.as_deref()).await
            {
                reauthenticated = true;
                warn!(service = %self.service, operation, "access token refused; fetching another");
                continue;
            }
            if !err.is_transient() || attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let delay = match err.retry_after {
                Some(d) if d > self.retry.max_retry_after => return Err(err),
                Some(d) => d,
                None => self.retry.backoff(attempt - 1),
            };
            warn!(service = %self.service, operation, attempt, delay_ms = delay.as_millis() as u64, error = %err, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn once(
        &self,
        operation: &str,
        m: HttpMethod,
        path: &str,
        body: Option<&Value>,
        headers: &[(&'static str, String)],
    ) -> Result<(u16, Value), (ApiError, Option<String>)> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let v = HeaderValue::from_str(value).map_err(|_| {
                let e = self.error(
                    ErrorKind::Permanent,
                    operation,
                    format!("header {name} has an invalid value"),
                );
                (e, None)
            })?;
            map.insert(HeaderName::from_static(name), v);
        }
        // An id that is a dot segment (`.`, `..`, also percent-encoded) would move the request
        // to another path once the URL is resolved: refused, for every client, whatever id
        // type built the path.
        if let Some(i) = dot_segment_at(path) {
            let e = self.error(
                ErrorKind::Permanent,
                operation,
                format!(
                    "segment {i} of the request's path is a dot segment ('.' or '..', perhaps percent-encoded), which would change the path: an id in it is refused"
                ),
            );
            return Err((e, None));
        }
        let url = reqwest::Url::parse(&format!("{}{path}", self.base_url)).map_err(|e| {
            let e = self.error(
                ErrorKind::Permanent,
                operation,
                format!("{}{path} is not a URL: {e}", self.base_url),
            );
            (e, None)
        })?;
        // The exact bytes sent: a Grubhub MAC covers their hash.
        let bytes = match body {
            Some(b) => {
                map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                serde_json::to_vec(b).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let (auth, used_token) = self
            .auth
            .headers(m.as_str(), &url, &bytes)
            .await
            .map_err(|e| (e, None))?;
        map.extend(auth);
        let mut req = self.client.request(method(m), url).headers(map);
        if body.is_some() {
            req = req.body(bytes);
        }
        let fail = |e: ApiError| (e, used_token.clone());
        let response = req.send().await.map_err(|e| {
            let kind = if e.is_builder() {
                ErrorKind::Permanent
            } else {
                ErrorKind::Transient
            };
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            fail(ApiError {
                source: Some(Box::new(e)),
                ..self.error(kind, operation, format!("{m} {path}: {what}"))
            })
        })?;
        let status = response.status().as_u16();
        let retry_after = retry_after_of(response.headers());
        let bytes = response.bytes().await.map_err(|e| {
            fail(ApiError {
                source: Some(Box::new(e)),
                ..self.error(
                    ErrorKind::Transient,
                    operation,
                    format!("{m} {path}: reading the answer failed"),
                )
            })
        })?;
        if (200..300).contains(&status) {
            if bytes.is_empty() {
                return Ok((status, Value::Null));
            }
            return serde_json::from_slice(&bytes)
                .map(|v| (status, v))
                .map_err(|e| {
                    fail(ApiError {
                        status: Some(status),
                        source: Some(Box::new(e)),
                        ..self.error(
                            ErrorKind::Permanent,
                            operation,
                            format!("{m} {path}: the answer is not JSON"),
                        )
                    })
                });
        }
        Err(fail(answered(
            &self.service,
            operation,
            &format!("{m} {path}"),
            status,
            retry_after,
            &bytes,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_ceiling_doubles_from_the_base_up_to_the_cap() {
        let p = RetryPolicy::default();
        let ceilings: Vec<u128> = (0..7).map(|r| p.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1_600, 2_000, 2_000]);
        assert_eq!(p.ceiling(40), Duration::from_secs(2), "no overflow far out");
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn the_backoff_spreads_over_its_whole_range_and_never_past_the_ceiling() {
        // Seeded, so the draws (and this test) are the same on every run.
        fastrand::seed(7);
        let p = RetryPolicy::default();
        for (retry, ceiling_ms) in [(0, 100), (3, 800), (9, 2_000)] {
            let draws: Vec<u128> = (0..1_000).map(|_| p.backoff(retry).as_millis()).collect();
            let (min, max) = (draws.iter().min().unwrap(), draws.iter().max().unwrap());
            let mean = draws.iter().sum::<u128>() / 1_000;
            assert!(
                *max <= ceiling_ms,
                "retry {retry}: {max} ms > {ceiling_ms} ms"
            );
            assert!(
                *max >= ceiling_ms * 9 / 10,
                "retry {retry}: never near the ceiling"
            );
            assert!(*min <= ceiling_ms / 10, "retry {retry}: never near zero");
            assert!(
                (ceiling_ms * 4 / 10..=ceiling_ms * 6 / 10).contains(&mean),
                "retry {retry}: mean {mean} ms is not about half of {ceiling_ms} ms"
            );
        }
    }

    #[test]
    fn api_urls_are_https_but_for_loopback_and_carry_no_credentials() {
        for ok in [
            "https://api.uber.com",
            "https://openapi.doordash.com/marketplace",
            "http://127.0.0.1:4010",
            "http://127.1.2.3/pos",
            "http://localhost:9000",
            "http://[::1]:8080",
        ] {
            assert_eq!(check_api_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            (
                "http://api.uber.com",
                "must be https:// (http:// only for a loopback host)",
            ),
            (
                "http://10.0.0.5:80",
                "must be https:// (http:// only for a loopback host)",
            ),
            (
                "http://127.0.0.1.evil.example",
                "must be https:// (http:// only for a loopback host)",
            ),
            (
                "http://localhost.evil.example",
                "must be https:// (http:// only for a loopback host)",
            ),
            ("ftp://pos.example", "must be an https:// URL"),
            ("https://user:pw@pos.example", "must not carry credentials"),
            ("pos.example/api", "not an absolute URL"),
            ("", "not an absolute URL"),
        ] {
            assert_eq!(check_api_url(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn a_dot_segment_is_found_however_it_is_written() {
        for (path, at) in [
            ("/v1/eats/orders/../accept", Some(4)),
            ("/pos/v1/merchant/./orders", Some(4)),
            ("/api/orders/%2e%2e/accept", Some(3)),
            ("/api/orders/.%2E/accept", Some(3)),
            ("/api/orders/%2E/accept", Some(3)),
            ("/api/orders/a.b/accept", None),
            ("/api/orders/...x/accept", None),
            ("/api/orders/%2F..%3F/accept", None),
            ("/api/orders/x/accept?next=..", None),
            ("/..", Some(1)),
        ] {
            assert_eq!(dot_segment_at(path), at, "{path}");
        }
    }

    /// No id can move a request to another path: every client's calls go through
    /// [`JsonHttp`], which refuses a dot segment before anything is sent, and encodes the
    /// rest (`/` and `?` inside an id stay inside its segment).
    #[tokio::test]
    async fn no_id_sends_a_request_to_another_path() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let record = seen.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            record.lock().unwrap().push(uri.to_string());
            async { "{}" }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = JsonHttp::new(
            build_client(HttpSettings::default()).unwrap(),
            "test",
            format!("http://{addr}"),
            Authorizer::bearer("test-token".to_owned()),
            RetryPolicy::default(),
        );
        for hostile in [".", "..", "%2e%2e", ".%2E", "a/b", "a?b=c", "../accept"] {
            let path = format!(
                "/api/orders/{}/accept",
                partners::api::encode_segment(hostile)
            );
            let got = http
                .call("accept", HttpMethod::Post, &path, None, &[])
                .await;
            let sent = seen.lock().unwrap().clone();
            match got {
                // Sent: to this very path, the id inside its segment.
                Ok(_) => assert_eq!(
                    sent.last().map(String::as_str),
                    Some(path.as_str()),
                    "{hostile}"
                ),
                Err(e) => {
                    assert!(e.message.contains("dot segment"), "{hostile}: {e}");
                    assert!(
                        !e.message.contains("/api/orders"),
                        "{hostile}: the message quotes the path"
                    );
                }
            }
        }
        let sent = seen.lock().unwrap().clone();
        assert!(
            sent.iter()
                .all(|p| p.starts_with("/api/orders/") && p.ends_with("/accept")),
            "{sent:?}"
        );
        // `.` and `..` were refused; every other id, its `%`, `/` and `?` encoded, was sent
        // to its own path (an id `%2e%2e` is those six characters, `%252e%252e` on the wire).
        assert_eq!(sent.len(), 5, "{sent:?}");
    }

    /// A 3xx is answered to the caller, never followed (its credentials would go along).
    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let followed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = followed.clone();
        let app = axum::Router::new()
            .route(
                "/start",
                axum::routing::get(|| async {
                    (axum::http::StatusCode::FOUND, [("location", "/elsewhere")])
                }),
            )
            .route(
                "/elsewhere",
                axum::routing::get(move || {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async { "followed" }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = build_client(HttpSettings::default()).unwrap();
        let r = client
            .get(format!("http://{addr}/start"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 302);
        assert_eq!(followed.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
