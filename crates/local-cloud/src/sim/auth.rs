//! How each partner simulator authenticates the pipeline's calls, as the partner does: Uber's
//! OAuth client-credentials tokens (issued here, with Uber's token-endpoint rate limit),
//! DoorDash's JWTs (verified with the `jsonwebtoken` crate, independently of the pipeline's
//! signer, plus DoorDash's own header and lifetime rules), Grubhub's partner key and MAC (body
//! hash, unused nonce and MAC), or a fixed bearer token.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use order_domain::Partner;
use partners::outbound::{self, ApiCredentials};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

/// Uber's token endpoint allows 100 requests an hour per app (developer.uber.com, "Client
/// Credentials Flow": "rate limited to 100 requests/hour"; docs/partner-contracts.md, U7c).
pub const UBER_TOKEN_REQUESTS_PER_HOUR: usize = 100;

/// Uber's example token lifetime, seconds (30 days).
pub const UBER_TOKEN_SECONDS: u64 = 2_592_000;

/// What a simulator accepts: the credentials the pipeline is given, and what checking them
/// needs to remember (Uber's issued tokens and its token requests of the last hour; Grubhub's
/// nonces seen, each single-use).
#[derive(Debug)]
pub struct Expect {
    credentials: ApiCredentials,
    /// Client credentials: issued tokens, when each expires and the scopes it carries.
    issued: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    /// Client credentials: when recent token requests came (the rate limit's window).
    token_requests: Mutex<VecDeque<Instant>>,
    /// Grubhub MAC: nonces seen.
    nonces: Mutex<HashSet<String>>,
}

/// A refusal: status and Uber-, DoorDash- or Grubhub-style message.
pub type Refusal = (StatusCode, String);

impl Expect {
    fn of(credentials: ApiCredentials) -> Self {
        Self {
            credentials,
            issued: Mutex::default(),
            token_requests: Mutex::default(),
            nonces: Mutex::default(),
        }
    }

    /// A fixed bearer token.
    pub fn bearer(token: &str) -> Self {
        Self::of(ApiCredentials::Bearer(token.to_owned()))
    }

    /// What `partner`'s simulator accepts, from the credential the pipeline is given.
    ///
    /// # Errors
    /// The credential is not in the partner's form.
    pub fn for_partner(partner: Partner, credential: &str) -> Result<Self, String> {
        ApiCredentials::parse(partner, credential)
            .map(Self::of)
            .map_err(|e| e.to_string())
    }

    /// Whether this simulator issues access tokens (Uber's client credentials).
    pub fn issues_tokens(&self) -> bool {
        matches!(self.credentials, ApiCredentials::ClientCredentials { .. })
    }

    /// Checks one API call; `host` is its `Host` header.
    pub async fn check(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Refusal> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let unauthorized = |why: &str| (StatusCode::UNAUTHORIZED, why.to_owned());
        let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        match &self.credentials {
            ApiCredentials::Bearer(token) => match bearer {
                Some(t) if bool::from(t.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
                _ => Err(unauthorized("missing or wrong bearer token")),
            },
            ApiCredentials::ClientCredentials { .. } => {
                let token = bearer.ok_or_else(|| unauthorized("no bearer access token"))?;
                match self.issued.lock().await.get(token) {
                    Some((expires, _)) if Instant::now() >= *expires => {
                        Err(unauthorized("the access token has expired"))
                    }
                    Some((_, scopes)) => match uber_scope_needed(path_and_query) {
                        Some(need) if !scopes.iter().any(|s| s == need) => Err((
                            StatusCode::FORBIDDEN,
                            format!("insufficient_scope: this call needs {need}"),
                        )),
                        _ => Ok(()),
                    },
                    None => Err(unauthorized("the access token was not issued here")),
                }
            }
            ApiCredentials::DoorDashJwt {
                developer_id,
                key_id,
                signing_secret,
            } => {
                let (name, version) = outbound::DOORDASH_AUTH_VERSION;
                if header(name) != Some(version) {
                    return Err(unauthorized("auth-version: v2 is required with a JWT"));
                }
                let jwt = bearer.ok_or_else(|| unauthorized("no bearer JWT"))?;
                check_doordash_jwt(jwt, developer_id, key_id, signing_secret)
                    .map_err(|why| unauthorized(&why))
            }
            ApiCredentials::GrubhubMac {
                partner_key,
                client_id,
                secret_key,
                ..
            } => {
                if header(outbound::GRUBHUB_PARTNER_KEY) != Some(partner_key.as_str()) {
                    return Err(unauthorized("missing or wrong X-GH-PARTNER-KEY"));
                }
                // Checked with the simulator's own reading of the scheme, not the pipeline's
                // signer: a mistake made the same way on both sides must not pass.
                let mac = header("authorization")
                    .and_then(grubhub::parse)
                    .ok_or_else(|| unauthorized("no MAC authorization"))?;
                if mac["id"] != *client_id {
                    return Err(unauthorized("unknown MAC id"));
                }
                if mac["bodyhash"] != grubhub::body_hash(body) {
                    return Err(unauthorized("bodyhash does not match the body"));
                }
                let host = header("host").unwrap_or_default();
                let (host, port) = match host.rsplit_once(':') {
                    Some((h, p)) => (h, p),
                    None => (host, "80"),
                };
                let normalised = format!(
                    "{}\n{method}\n{path_and_query}\n{}\n{port}\n{}\n\n",
                    mac["nonce"],
                    host.to_ascii_lowercase(),
                    mac["bodyhash"]
                );
                let want = grubhub::hmac_base64(secret_key, &normalised);
                if !bool::from(want.as_bytes().ct_eq(mac["mac"].as_bytes())) {
                    return Err(unauthorized("the MAC does not match the request"));
                }
                if !self.nonces.lock().await.insert(mac["nonce"].clone()) {
                    return Err(unauthorized("the nonce was used before"));
                }
                Ok(())
            }
        }
    }
}

/// Grubhub's `Authorization: MAC …` as the simulator reads it (the IETF MAC draft's fields
/// and normalised string), written apart from `partners::outbound`.
mod grubhub {
    use base64::Engine as _;
    use hmac::Mac as _;
    use sha2::Digest as _;
    use std::collections::HashMap;

    /// `MAC id="…",nonce="…",bodyhash="…",mac="…"` → its four fields, or `None`.
    pub(super) fn parse(value: &str) -> Option<HashMap<&'static str, String>> {
        let rest = value.strip_prefix("MAC ")?;
        let mut out = HashMap::new();
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            let key = ["id", "nonce", "bodyhash", "mac"]
                .into_iter()
                .find(|x| *x == k)?;
            out.insert(key, v.trim_matches('"').to_owned());
        }
        (out.len() == 4).then_some(out)
    }

    /// Base64 of the body's SHA-256; empty for no body.
    pub(super) fn body_hash(body: &[u8]) -> String {
        if body.is_empty() {
            return String::new();
        }
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
    }

    /// Base64 HMAC-SHA256 of `text` keyed with `key`.
    pub(super) fn hmac_base64(key: &str, text: &str) -> String {
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) else {
            return String::new();
        };
        mac.update(text.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }
}

#[derive(Deserialize)]
struct DoorDashClaims {
    kid: String,
    iat: i64,
    exp: i64,
}

/// DoorDash's rules for a JWT ("Create a JWT"): HS256 with `dd-ver: DD-JWT-V1`, `aud`
/// `doordash`, `iss` the developer id, `kid` the key id, `iat` not in the future, `exp` at
/// most 1800 s after `iat` and not passed.
fn check_doordash_jwt(
    jwt: &str,
    developer_id: &str,
    key_id: &str,
    secret: &[u8],
) -> Result<(), String> {
    let header_part = jwt.split('.').next().unwrap_or_default();
    let header: Value = B64URL
        .decode(header_part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the JWT header is not base64url JSON")?;
    if header["dd-ver"] != "DD-JWT-V1" {
        return Err("the JWT header has no dd-ver DD-JWT-V1".to_owned());
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["doordash"]);
    validation.set_issuer(&[developer_id]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<DoorDashClaims>(
        jwt,
        &jsonwebtoken::DecodingKey::from_secret(secret),
        &validation,
    )
    .map_err(|e| format!("the JWT is refused: {e}"))?
    .claims;
    if claims.kid != key_id {
        return Err("the JWT's kid is not this access key".to_owned());
    }
    let now = chrono::Utc::now().timestamp();
    if claims.iat > now + 5 {
        return Err("the JWT's iat is in the future".to_owned());
    }
    if claims.exp - claims.iat > outbound::DOORDASH_JWT_MAX_SECONDS {
        return Err("the JWT lives longer than 1800 s".to_owned());
    }
    Ok(())
}

#[derive(Deserialize)]
struct TokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    scope: Option<String>,
}

/// The scopes a client-credentials token may carry for these calls.
const UBER_KNOWN_SCOPES: [&str; 4] = [
    "eats.order",
    "eats.store",
    "eats.store.status.write",
    "eats.store.orders.read",
];

/// The scope an Uber Eats call needs, per its reference page: the order calls `eats.order`,
/// Set Store Status `eats.store.status.write`, the v2 menu calls (Update Item) `eats.store`;
/// `None` for paths the simulator does not serve.
fn uber_scope_needed(path_and_query: &str) -> Option<&'static str> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    if path.starts_with("/v1/eats/orders/") || path.starts_with("/v2/eats/order/") {
        Some("eats.order")
    } else if path.starts_with("/v1/eats/store/") && path.ends_with("/status") {
        Some("eats.store.status.write")
    } else if path.starts_with("/v2/eats/stores/") {
        Some("eats.store")
    } else {
        None
    }
}

impl Expect {
    /// Ends every token issued so far (as a revoked credential would).
    pub async fn revoke_all(&self) {
        self.issued.lock().await.clear();
    }

    /// `POST /oauth/v2/token` with a form body: an access token, or Uber's OAuth errors
    /// (`invalid_client`, `unsupported_grant_type`, `invalid_scope`, and 429 past the rate
    /// limit); 404 where the simulator issues no tokens.
    pub async fn token(&self, body: &[u8]) -> (StatusCode, Value) {
        let ApiCredentials::ClientCredentials {
            client_id,
            client_secret,
        } = &self.credentials
        else {
            return (StatusCode::NOT_FOUND, json!({ "error": "not_found" }));
        };
        {
            let mut requests = self.token_requests.lock().await;
            let hour_ago = Instant::now().checked_sub(Duration::from_secs(3600));
            while requests
                .front()
                .is_some_and(|t| hour_ago.is_some_and(|h| *t < h))
            {
                requests.pop_front();
            }
            if requests.len() >= UBER_TOKEN_REQUESTS_PER_HOUR {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({ "error": "rate_limited", "error_description": "100 token requests an hour" }),
                );
            }
            requests.push_back(Instant::now());
        }
        let Ok(req) = serde_urlencoded::from_bytes::<TokenRequest>(body) else {
            return (
                StatusCode::BAD_REQUEST,
                json!({ "error": "invalid_request" }),
            );
        };
        let same = |got: &Option<String>, want: &str| {
            got.as_deref()
                .is_some_and(|g| bool::from(g.as_bytes().ct_eq(want.as_bytes())))
        };
        if !same(&req.client_id, client_id) || !same(&req.client_secret, client_secret) {
            return (
                StatusCode::UNAUTHORIZED,
                json!({ "error": "invalid_client" }),
            );
        }
        if req.grant_type.as_deref() != Some("client_credentials") {
            return (
                StatusCode::BAD_REQUEST,
                json!({ "error": "unsupported_grant_type" }),
            );
        }
        let scope = req.scope.unwrap_or_default();
        if scope.is_empty() || !scope.split(' ').all(|s| UBER_KNOWN_SCOPES.contains(&s)) {
            return (StatusCode::BAD_REQUEST, json!({ "error": "invalid_scope" }));
        }
        let lifetime = Duration::from_secs(UBER_TOKEN_SECONDS);
        let token: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(32)
            .collect();
        self.issued.lock().await.insert(
            token.clone(),
            (
                Instant::now() + lifetime,
                scope.split(' ').map(str::to_owned).collect(),
            ),
        );
        (
            StatusCode::OK,
            json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": lifetime.as_secs(),
                "scope": scope,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use http_clients::partner::PartnerEndpoint;
    use http_clients::{HttpSettings, PartnerHttpClient, RetryPolicy};
    use order_domain::PartnerOrderId;
    use partners::{OrderRef, PartnerAction};
    use pipeline::ports::PartnerApi;

    use super::*;
    use crate::sim::Sim;
    use crate::sim::partner::{PartnerLedger, router};

    const UBER: &str = "client_credentials:uber-client:uber-secret";
    const DOORDASH: &str = "jwt:dev-1:key-1:c2VjcmV0";
    const GRUBHUB: &str = "mac:gh-key:sv:v1:gh-client:gh-secret:1441115023929";

    /// `partner`'s simulator expecting `credential`: its base URL, simulator and ledger.
    async fn serve(partner: Partner, credential: &str) -> (String, Arc<Sim>, Arc<PartnerLedger>) {
        let sim = Sim::with_auth(
            partner.as_str(),
            Expect::for_partner(partner, credential).unwrap(),
        );
        let ledger = Arc::new(PartnerLedger::default());
        let app = router(partner, sim.clone(), Arc::default(), ledger.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, sim, ledger)
    }

    /// The pipeline's client for `partner` at `base` with `credential`.
    fn client(partner: Partner, base: &str, credential: &str) -> PartnerHttpClient {
        let endpoint = PartnerEndpoint {
            base_url: base.to_owned(),
            credentials: ApiCredentials::parse(partner, credential).unwrap(),
            token_url: Some(format!("{base}{}", outbound::UBER_TOKEN_PATH)),
            token_store: None,
        };
        let retry = RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        };
        PartnerHttpClient::new(
            HashMap::from([(partner, endpoint)]),
            HttpSettings::default(),
            retry,
        )
        .unwrap()
    }

    fn order(partner: Partner, id: &str) -> OrderRef {
        OrderRef {
            partner,
            partner_order_id: PartnerOrderId::parse(id).unwrap(),
            partner_store_id: Some("88231".to_owned()),
        }
    }

    async fn accept(client: &PartnerHttpClient, order: &OrderRef) -> Result<(), String> {
        let now = chrono::Utc::now();
        client
            .notify(order, &order.order_id(), &PartnerAction::accept(now, now))
            .await
            .map_err(|e| e.to_string())
    }

    /// Told, per the partner's own ledger.
    async fn told(ledger: &PartnerLedger) -> Vec<String> {
        ledger
            .entries()
            .await
            .into_iter()
            .map(|s| s.order)
            .collect()
    }

    #[tokio::test]
    async fn uber_takes_a_token_only_for_the_calls_its_scopes_cover() {
        let (base, sim, ledger) = serve(Partner::UberEats, UBER).await;
        let store = "6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001";
        // A token for the order calls only, fetched by hand: neither store call takes it.
        let http = crate::loopback_client();
        let token = http
            .post(format!("{base}{}", outbound::UBER_TOKEN_PATH))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("client_id=uber-client&client_secret=uber-secret&grant_type=client_credentials&scope=eats.order")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        for (path, need) in [
            (
                format!("/v1/eats/store/{store}/status"),
                "eats.store.status.write",
            ),
            (
                format!("/v2/eats/stores/{store}/menus/items/i-1"),
                "eats.store",
            ),
        ] {
            let r = http
                .post(format!("{base}{path}"))
                .bearer_auth(&token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{path}");
            assert!(r.text().await.unwrap().contains(need), "{path}");
        }
        assert!(ledger.item_statuses().await.is_empty());
        assert!(ledger.store_statuses().await.is_empty());
        // The pipeline's client asks for each scope when a call first needs it: one token per
        // scope, and every call goes through, by Uber's own records.
        let c = client(Partner::UberEats, &base, UBER);
        let sold_out = partners::ItemAvailability::sold_out(chrono::Utc::now());
        for _ in 0..2 {
            assert!(
                c.set_item_availability(Partner::UberEats, store, "item-1", sold_out)
                    .await
                    .unwrap()
            );
            assert!(
                c.set_store_status(
                    Partner::UberEats,
                    store,
                    &partners::StoreAvailability::Online
                )
                .await
                .unwrap()
            );
        }
        accept(&c, &order(Partner::UberEats, "u-1")).await.unwrap();
        let items = ledger.item_statuses().await;
        assert_eq!(
            items
                .iter()
                .map(|i| (i.item.as_str(), i.available))
                .collect::<Vec<_>>(),
            [("item-1", false), ("item-1", false)]
        );
        assert!(items[0].until.is_some());
        assert_eq!(ledger.store_statuses().await.len(), 2);
        assert_eq!(told(&ledger).await, ["u-1"]);
        let token_requests = sim
            .calls()
            .await
            .iter()
            .filter(|c| c.path == outbound::UBER_TOKEN_PATH)
            .count();
        assert_eq!(
            token_requests,
            1 + 3,
            "the hand-fetched one, then one per scope"
        );
    }

    #[tokio::test]
    async fn uber_issues_tokens_for_its_client_credentials_only_and_takes_only_its_tokens() {
        let (base, sim, ledger) = serve(Partner::UberEats, UBER).await;
        let good = client(Partner::UberEats, &base, UBER);
        accept(&good, &order(Partner::UberEats, "u-1"))
            .await
            .unwrap();
        accept(&good, &order(Partner::UberEats, "u-2"))
            .await
            .unwrap();
        let token_calls = || async {
            sim.calls()
                .await
                .iter()
                .filter(|c| c.path == outbound::UBER_TOKEN_PATH)
                .count()
        };
        assert_eq!(token_calls().await, 1, "the token is cached");
        // A wrong secret gets no token, so nothing is told.
        let wrong = client(
            Partner::UberEats,
            &base,
            "client_credentials:uber-client:guess",
        );
        let e = accept(&wrong, &order(Partner::UberEats, "u-3"))
            .await
            .unwrap_err();
        assert!(e.contains("401") && e.contains("invalid_client"), "{e}");
        // A token from elsewhere, as a fixed bearer, is refused.
        let http = crate::loopback_client();
        let forged = http
            .post(format!("{base}/v1/eats/orders/u-4/accept_pos_order"))
            .bearer_auth("made-up")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401);
        // Every token is revoked: the client's next call is refused once, and it fetches
        // another token and goes through.
        sim.auth.revoke_all().await;
        accept(&good, &order(Partner::UberEats, "u-5"))
            .await
            .unwrap();
        assert_eq!(told(&ledger).await, ["u-1", "u-2", "u-5"]);
        // Uber's rate limit: 100 token requests an hour (the three above count).
        let form = b"client_id=uber-client&client_secret=uber-secret&grant_type=client_credentials&scope=eats.order";
        let mut statuses = Vec::new();
        for _ in 0..100 {
            statuses.push(sim.auth.token(form).await.0.as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 97);
        assert_eq!(statuses.last(), Some(&429));
        let (status, body) = sim.auth.token(b"client_id=uber-client").await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (429, Some("rate_limited"))
        );
    }

    #[tokio::test]
    async fn doordash_takes_a_fresh_jwt_with_auth_version_and_refuses_every_other_token() {
        let (base, _sim, ledger) = serve(Partner::DoorDash, DOORDASH).await;
        accept(
            &client(Partner::DoorDash, &base, DOORDASH),
            &order(Partner::DoorDash, "d-1"),
        )
        .await
        .unwrap();
        let other_key = "jwt:dev-1:key-1:b3RoZXI";
        let e = accept(
            &client(Partner::DoorDash, &base, other_key),
            &order(Partner::DoorDash, "d-2"),
        )
        .await
        .unwrap_err();
        assert!(e.contains("401") && e.contains("InvalidSignature"), "{e}");
        let other_kid = "jwt:dev-1:key-2:c2VjcmV0";
        let e = accept(
            &client(Partner::DoorDash, &base, other_kid),
            &order(Partner::DoorDash, "d-3"),
        )
        .await
        .unwrap_err();
        assert!(e.contains("kid"), "{e}");
        let http = crate::loopback_client();
        let send = |jwt: String, version: Option<&'static str>| {
            let mut req = http
                .patch(format!("{base}/api/v1/orders/d-4"))
                .bearer_auth(jwt)
                .json(&json!({ "order_status": "success" }));
            if let Some(v) = version {
                req = req.header("auth-version", v);
            }
            async move {
                let r = req.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let now = chrono::Utc::now();
        let good = outbound::doordash_jwt("dev-1", "key-1", b"secret", now);
        assert_eq!(
            send(good.clone(), None).await.0,
            401,
            "auth-version is required"
        );
        // Signed right but living an hour: over DoorDash's 1800 s.
        let long = sign(
            &json!({ "alg": "HS256", "typ": "JWT", "dd-ver": "DD-JWT-V1" }),
            &json!({
                "aud": "doordash", "iss": "dev-1", "kid": "key-1",
                "iat": now.timestamp(), "exp": now.timestamp() + 3600,
            }),
        );
        let (status, why) = send(long, Some("v2")).await;
        assert_eq!(status, 401);
        assert!(why.contains("1800"), "{why}");
        // No dd-ver in the header.
        let plain = sign(
            &json!({ "alg": "HS256", "typ": "JWT" }),
            &json!({
                "aud": "doordash", "iss": "dev-1", "kid": "key-1",
                "iat": now.timestamp(), "exp": now.timestamp() + 60,
            }),
        );
        let (status, why) = send(plain, Some("v2")).await;
        assert_eq!(status, 401);
        assert!(why.contains("dd-ver"), "{why}");
        // Expired.
        let old = outbound::doordash_jwt(
            "dev-1",
            "key-1",
            b"secret",
            now - chrono::TimeDelta::hours(1),
        );
        let (status, why) = send(old, Some("v2")).await;
        assert_eq!(status, 401);
        assert!(why.contains("Expired"), "{why}");
        assert_eq!(told(&ledger).await, ["d-1"]);
    }

    /// HS256 over `header` and `claims` with the test key, as any JWT library would.
    fn sign(header: &Value, claims: &Value) -> String {
        use hmac::Mac as _;
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", B64URL.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn the_grubhub_simulators_own_mac_matches_openssl() {
        // The vector of partners/tests/auth_vectors.rs (OpenSSL's, the commands there).
        let body = br#"{"status":"CONFIRMED","wait_time_in_minutes":12}"#;
        assert_eq!(
            grubhub::body_hash(body),
            "9W+ko5dszMByGfqr6NSRgKpxEp8EM8AXTGIWa2ymwRA="
        );
        let normalised = "264:a1B2c3\nPUT\n/pos/v1/merchant/GH-88231/orders/gh-1/status\napi-third-party-gtm.grubhub.com\n443\n9W+ko5dszMByGfqr6NSRgKpxEp8EM8AXTGIWa2ymwRA=\n\n";
        assert_eq!(
            grubhub::hmac_base64("gh-secret-key", normalised),
            "RWyaRrgU5285qFRjExTwmR5TzZ+osGyej4PuCzNIYcM="
        );
        let fields =
            grubhub::parse(r#"MAC id="sv:v1:c",nonce="1:a",bodyhash="",mac="m=""#).unwrap();
        assert_eq!(
            (
                fields["id"].as_str(),
                fields["nonce"].as_str(),
                fields["bodyhash"].as_str(),
                fields["mac"].as_str()
            ),
            ("sv:v1:c", "1:a", "", "m=")
        );
        assert!(grubhub::parse(r#"MAC id="x",nonce="1:a""#).is_none());
    }

    #[tokio::test]
    async fn grubhub_takes_its_partner_key_and_a_fresh_mac_over_the_exact_request() {
        let (base, _sim, ledger) = serve(Partner::Grubhub, GRUBHUB).await;
        accept(
            &client(Partner::Grubhub, &base, GRUBHUB),
            &order(Partner::Grubhub, "g-1"),
        )
        .await
        .unwrap();
        let other_secret = "mac:gh-key:sv:v1:gh-client:guess:1441115023929";
        let e = accept(
            &client(Partner::Grubhub, &base, other_secret),
            &order(Partner::Grubhub, "g-2"),
        )
        .await
        .unwrap_err();
        assert!(e.contains("MAC does not match"), "{e}");
        let other_key = "mac:other-key:sv:v1:gh-client:gh-secret:1441115023929";
        let e = accept(
            &client(Partner::Grubhub, &base, other_key),
            &order(Partner::Grubhub, "g-3"),
        )
        .await
        .unwrap_err();
        assert!(e.contains("X-GH-PARTNER-KEY"), "{e}");
        // A request signed right, sent twice (its nonce reused), then with its body changed.
        let path = "/pos/v1/merchant/88231/orders/g-4/status";
        let body = br#"{"status":"CONFIRMED"}"#;
        let host = base.trim_start_matches("http://");
        let (h, port) = host.split_once(':').unwrap();
        let nonce = "12:abcDEF123";
        let hash = outbound::grubhub_body_hash(body);
        let mac = outbound::grubhub_mac(
            "gh-secret",
            nonce,
            &outbound::MacRequest {
                method: "PUT",
                path_and_query: path,
                host: h,
                port: port.parse().unwrap(),
                body_hash: &hash,
            },
        );
        let header = outbound::grubhub_authorization("sv:v1:gh-client", nonce, &hash, &mac);
        let http = crate::loopback_client();
        let send = |body: &'static [u8]| {
            let req = http
                .put(format!("{base}{path}"))
                .header("x-gh-partner-key", "gh-key")
                .header("authorization", header.clone())
                .header("content-type", "application/json")
                .body(body);
            async move {
                let r = req.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let tampered: &'static [u8] = br#"{"status":"REJECTED"}"#;
        let (status, why) = send(tampered).await;
        assert_eq!(status, 401);
        assert!(why.contains("bodyhash"), "{why}");
        assert_eq!(send(body).await.0, 200);
        let (status, why) = send(body).await;
        assert_eq!(status, 401);
        assert!(why.contains("nonce"), "{why}");
        assert_eq!(told(&ledger).await, ["g-1", "g-4"]);
    }
}
