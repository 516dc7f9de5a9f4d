//! How the pipeline authenticates its calls to each partner's API: the credentials' forms and
//! the pure parts of each scheme (a DoorDash JWT, a Grubhub MAC header, Uber's token request).
//! The HTTP client adds the I/O: the Uber token cache, nonces and clocks.
//!
//! | partner  | scheme | credential in the API credentials secret | source |
//! |----------|--------|------------------------------------------|--------|
//! | ubereats | OAuth 2.0 client credentials: `POST {auth}/oauth/v2/token`, then `Authorization: Bearer <access_token>` until near `expires_in` | `client_credentials:<client_id>:<client_secret>` | developer.uber.com, Eats "Authentication" guide (confirmed) |
//! | doordash | `Authorization: Bearer <JWT>` and `auth-version: v2`; the JWT is HS256 with `dd-ver: DD-JWT-V1` and `aud`, `iss`, `kid`, `iat`, `exp` ≤ `iat` + 1800 s | `jwt:<developer_id>:<key_id>:<signing_secret>` | developer.doordash.com, Marketplace "Create a JWT" (confirmed); the secret is base64url-decoded before signing as DoorDash's Drive examples do (assumed for Marketplace) |
//! | grubhub  | `X-GH-PARTNER-KEY` and `Authorization: MAC id=…,nonce=…,bodyhash=…,mac=…` | `mac:<partner_key>:<client_id>:<secret_key>:<issue_date>` (issue date in epoch ms, as Grubhub issues it) | grubhub-developers, "Authentication" and "Preproduction Credentials and API Authorization" (headers, id, nonce and body hash confirmed; the MAC's normalised string is the IETF draft's, assumed) |
//! | app      | `Authorization: Bearer <token>` | the token | the chain's own API |

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use order_domain::Partner;
use serde_json::json;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Uber's token path under its auth host (`https://auth.uber.com`; developer.uber.com, Eats
/// "Authentication" guide).
pub const UBER_TOKEN_PATH: &str = "/oauth/v2/token";

/// The scope of the order calls (fetch, accept, deny, cancel), per those endpoints' reference
/// pages.
pub const UBER_ORDER_SCOPE: &str = "eats.order";

/// The scope of Set Store Status (its reference page).
pub const UBER_STORE_STATUS_SCOPE: &str = "eats.store.status.write";

/// The scope of the v2 menu calls, Update Item among them (its reference page).
pub const UBER_STORE_SCOPE: &str = "eats.store";

/// The scope an Uber Eats call to `path` needs, per its reference page: Set Store Status
/// (`…/eats/store/{id}/status`) [`UBER_STORE_STATUS_SCOPE`], the v2 menu calls
/// (`…/eats/stores/…`) [`UBER_STORE_SCOPE`], the rest (the order calls)
/// [`UBER_ORDER_SCOPE`]. A client asks for one token per scope, on its first call that needs
/// it, so each function holds only the scopes of the calls it makes, and an app not granted
/// one scope loses only the calls that need it.
pub fn uber_scope_for(path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or_default();
    if path.contains("/eats/store/") && path.ends_with("/status") {
        UBER_STORE_STATUS_SCOPE
    } else if path.contains("/eats/stores/") {
        UBER_STORE_SCOPE
    } else {
        UBER_ORDER_SCOPE
    }
}

/// The longest a DoorDash JWT may live past its `iat`, seconds ("exp has a maximum value of
/// 30 minutes (1800 seconds) beyond the issued at time", developer.doordash.com, "Create a
/// JWT").
pub const DOORDASH_JWT_MAX_SECONDS: i64 = 1800;

/// How long the pipeline's DoorDash JWTs live, seconds: well inside the maximum, so a clock
/// a little ahead of DoorDash's still passes.
pub const DOORDASH_JWT_SECONDS: i64 = 300;

/// The header DoorDash's Marketplace API requires beside the JWT.
pub const DOORDASH_AUTH_VERSION: (&str, &str) = ("auth-version", "v2");

/// Grubhub's partner key header.
pub const GRUBHUB_PARTNER_KEY: &str = "x-gh-partner-key";

/// One partner's API credentials, by the partner's scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiCredentials {
    /// A fixed bearer token (the chain's app).
    Bearer(String),
    /// OAuth 2.0 client credentials (Uber Eats).
    ClientCredentials {
        /// The app's client id.
        client_id: String,
        /// The app's client secret.
        client_secret: String,
    },
    /// An access key DoorDash JWTs are signed with.
    DoorDashJwt {
        /// The developer id (the JWT's `iss`).
        developer_id: String,
        /// The key id (the JWT's `kid`).
        key_id: String,
        /// The decoded signing secret.
        signing_secret: Vec<u8>,
    },
    /// Grubhub's MAC credentials.
    GrubhubMac {
        /// `X-GH-PARTNER-KEY`.
        partner_key: String,
        /// The client id, `sv:v1:<uuid>` (the MAC header's `id`).
        client_id: String,
        /// The secret key the MAC is computed with.
        secret_key: String,
        /// When the credentials were issued, epoch milliseconds (the nonce counts from it).
        issued_at_ms: i64,
    },
}

impl std::fmt::Debug for ApiCredentials {
    /// Names the scheme and the public ids, never a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiCredentials::Bearer(_) => f.write_str("Bearer(..)"),
            ApiCredentials::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            ApiCredentials::DoorDashJwt {
                developer_id,
                key_id,
                ..
            } => f
                .debug_struct("DoorDashJwt")
                .field("developer_id", developer_id)
                .field("key_id", key_id)
                .finish_non_exhaustive(),
            ApiCredentials::GrubhubMac { client_id, .. } => f
                .debug_struct("GrubhubMac")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// Why a credential could not be read. Never echoes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{partner} API credentials: {why}; expected {expected}")]
pub struct CredentialsError {
    /// Whose.
    pub partner: Partner,
    /// What is wrong.
    pub why: &'static str,
    /// The form the partner's scheme takes.
    pub expected: &'static str,
}

/// The credential form each partner's scheme takes.
pub const fn credential_form(partner: Partner) -> &'static str {
    match partner {
        Partner::UberEats => "client_credentials:<client_id>:<client_secret>",
        Partner::DoorDash => "jwt:<developer_id>:<key_id>:<base64url signing_secret>",
        Partner::Grubhub => "mac:<partner_key>:<client_id>:<secret_key>:<issue_date epoch ms>",
        Partner::ChainApp => "a bearer token",
    }
}

impl ApiCredentials {
    /// Reads `partner`'s credential from its form ([`credential_form`]).
    ///
    /// # Errors
    /// [`CredentialsError`] naming the partner, what is wrong and the form expected.
    pub fn parse(partner: Partner, value: &str) -> Result<Self, CredentialsError> {
        let err = |why| CredentialsError {
            partner,
            why,
            expected: credential_form(partner),
        };
        let nonempty = |s: &str| !s.trim().is_empty();
        match partner {
            Partner::ChainApp if nonempty(value) => Ok(ApiCredentials::Bearer(value.to_owned())),
            Partner::ChainApp => Err(err("the token is empty")),
            Partner::UberEats => {
                let rest = value.strip_prefix("client_credentials:").ok_or(err(
                    "not client credentials (a fixed token is not accepted)",
                ))?;
                let (id, secret) = rest
                    .split_once(':')
                    .ok_or(err("no client secret after the client id"))?;
                if !nonempty(id) || !nonempty(secret) {
                    return Err(err("the client id or secret is empty"));
                }
                Ok(ApiCredentials::ClientCredentials {
                    client_id: id.to_owned(),
                    client_secret: secret.to_owned(),
                })
            }
            Partner::DoorDash => {
                let rest = value
                    .strip_prefix("jwt:")
                    .ok_or(err("not a JWT access key"))?;
                let mut parts = rest.splitn(3, ':');
                let (Some(developer), Some(key), Some(secret)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(err("fewer than three parts"));
                };
                if !nonempty(developer) || !nonempty(key) {
                    return Err(err("the developer id or key id is empty"));
                }
                let signing_secret = B64URL
                    .decode(secret.trim_end_matches('='))
                    .map_err(|_| err("the signing secret is not base64url"))?;
                if signing_secret.is_empty() {
                    return Err(err("the signing secret is empty"));
                }
                Ok(ApiCredentials::DoorDashJwt {
                    developer_id: developer.to_owned(),
                    key_id: key.to_owned(),
                    signing_secret,
                })
            }
            Partner::Grubhub => {
                // The client id itself holds colons (`sv:v1:<uuid>`): the key comes first, the
                // secret and issue date last, and the id is what lies between.
                let rest = value
                    .strip_prefix("mac:")
                    .ok_or(err("not MAC credentials"))?;
                let (partner_key, rest) = rest.split_once(':').ok_or(err("too few parts"))?;
                let (rest, issued) = rest.rsplit_once(':').ok_or(err("too few parts"))?;
                let (client_id, secret_key) = rest.rsplit_once(':').ok_or(err("too few parts"))?;
                let issued_at_ms = issued
                    .parse::<i64>()
                    .map_err(|_| err("the issue date is not epoch milliseconds"))?;
                if !nonempty(partner_key) || !nonempty(client_id) || !nonempty(secret_key) {
                    return Err(err("the partner key, client id or secret key is empty"));
                }
                let client_id = if client_id.starts_with("sv:v1:") {
                    client_id.to_owned()
                } else {
                    format!("sv:v1:{client_id}")
                };
                Ok(ApiCredentials::GrubhubMac {
                    partner_key: partner_key.to_owned(),
                    client_id,
                    secret_key: secret_key.to_owned(),
                    issued_at_ms,
                })
            }
        }
    }
}

/// The form body of Uber's client-credentials token request (`application/x-www-form-urlencoded`
/// fields, to be encoded by the sender).
pub fn uber_token_request<'a>(
    client_id: &'a str,
    client_secret: &'a str,
    scope: &'a str,
) -> [(&'a str, &'a str); 4] {
    [
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("grant_type", "client_credentials"),
        ("scope", scope),
    ]
}

/// A DoorDash JWT issued at `now`, living [`DOORDASH_JWT_SECONDS`].
///
/// The header carries DoorDash's `dd-ver`, which general JWT libraries' fixed header types
/// cannot hold, so the three parts are put together here (HS256 over
/// `base64url(header).base64url(claims)`, RFC 7519/7515).
pub fn doordash_jwt(
    developer_id: &str,
    key_id: &str,
    signing_secret: &[u8],
    now: DateTime<Utc>,
) -> String {
    let header = json!({ "alg": "HS256", "typ": "JWT", "dd-ver": "DD-JWT-V1" });
    let iat = now.timestamp();
    let claims = json!({
        "aud": "doordash",
        "iss": developer_id,
        "kid": key_id,
        "iat": iat,
        "exp": iat + DOORDASH_JWT_SECONDS,
    });
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(signing_secret).unwrap_or_else(|_| unreachable!());
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        B64URL.encode(mac.finalize().into_bytes())
    )
}

/// Grubhub's body hash: standard, padded base64 of the body's SHA-256, or empty without a
/// body (confirmed: "a Basic Base64 encoder that does NOT generate URL-safe characters, but
/// DOES add padding").
pub fn grubhub_body_hash(body: &[u8]) -> String {
    if body.is_empty() {
        String::new()
    } else {
        B64.encode(Sha256::digest(body))
    }
}

/// Grubhub's nonce: seconds from the credentials' issue date to `now`, a colon, and a random
/// alphanumeric string (the form Grubhub's pages recommend).
pub fn grubhub_nonce(issued_at_ms: i64, now: DateTime<Utc>, random: &str) -> String {
    let seconds = (now.timestamp_millis() - issued_at_ms).max(0) / 1000;
    format!("{seconds}:{random}")
}

/// The request a Grubhub MAC covers.
#[derive(Debug, Clone, Copy)]
pub struct MacRequest<'a> {
    /// `GET`, `PUT`, …
    pub method: &'a str,
    /// Path and query, as sent.
    pub path_and_query: &'a str,
    /// Host, lower case, without the port.
    pub host: &'a str,
    /// Port (443 for `https` without one).
    pub port: u16,
    /// The body hash ([`grubhub_body_hash`]).
    pub body_hash: &'a str,
}

/// The MAC over `request` with `nonce`: base64 HMAC-SHA256, keyed with the secret key, of the
/// IETF MAC draft's normalised request string (nonce, method, request URI, host, port, body
/// hash and an empty extension, each ending in a newline; draft-ietf-oauth-v2-http-mac,
/// section 3.2.1). Grubhub says its scheme "follows the IETF standard"; its pages stop before
/// the string itself, so this layout is an assumption (docs/partner-contracts.md, G1b).
pub fn grubhub_mac(secret_key: &str, nonce: &str, request: &MacRequest<'_>) -> String {
    let normalised = format!(
        "{nonce}\n{}\n{}\n{}\n{}\n{}\n\n",
        request.method,
        request.path_and_query,
        request.host.to_ascii_lowercase(),
        request.port,
        request.body_hash
    );
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!());
    mac.update(normalised.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// The `Authorization` value for a Grubhub request.
pub fn grubhub_authorization(client_id: &str, nonce: &str, body_hash: &str, mac: &str) -> String {
    format!(r#"MAC id="{client_id}",nonce="{nonce}",bodyhash="{body_hash}",mac="{mac}""#)
}

/// The fields of a Grubhub `Authorization: MAC …` value, for whoever checks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacAuthorization {
    /// `id`.
    pub id: String,
    /// `nonce`.
    pub nonce: String,
    /// `bodyhash`.
    pub body_hash: String,
    /// `mac`.
    pub mac: String,
}

impl MacAuthorization {
    /// Reads `MAC id="…",nonce="…",bodyhash="…",mac="…"`; `None` if it is not of that form.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.strip_prefix("MAC ")?;
        let mut fields = std::collections::HashMap::new();
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            let v = v.strip_prefix('"')?.strip_suffix('"')?;
            fields.insert(k, v.to_owned());
        }
        Some(Self {
            id: fields.remove("id")?,
            nonce: fields.remove("nonce")?,
            body_hash: fields.remove("bodyhash")?,
            mac: fields.remove("mac")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_uber_call_asks_for_the_scope_its_reference_page_names() {
        assert_eq!(uber_scope_for("/v2/eats/order/o-1"), "eats.order");
        assert_eq!(
            uber_scope_for("/v1/eats/orders/o-1/accept_pos_order"),
            "eats.order"
        );
        assert_eq!(
            uber_scope_for("/v1/eats/store/s-1/status"),
            "eats.store.status.write"
        );
        assert_eq!(
            uber_scope_for("/v2/eats/stores/s-1/menus/items/i-1"),
            "eats.store"
        );
    }

    #[test]
    fn each_partner_takes_its_own_credential_form_and_says_which_when_wrong() {
        let uber =
            ApiCredentials::parse(Partner::UberEats, "client_credentials:id-1:s3cret").unwrap();
        assert!(
            matches!(uber, ApiCredentials::ClientCredentials { ref client_id, .. } if client_id == "id-1")
        );
        let fixed = ApiCredentials::parse(Partner::UberEats, "a-fixed-token").unwrap_err();
        assert!(
            fixed.to_string().contains("client_credentials:<client_id>"),
            "{fixed}"
        );

        let dd = ApiCredentials::parse(Partner::DoorDash, "jwt:dev-1:key-1:c2VjcmV0").unwrap();
        assert!(
            matches!(dd, ApiCredentials::DoorDashJwt { ref signing_secret, .. } if signing_secret == b"secret")
        );
        let bad = ApiCredentials::parse(Partner::DoorDash, "jwt:dev-1:key-1:!!").unwrap_err();
        assert_eq!(bad.why, "the signing secret is not base64url");

        // Grubhub's client id holds colons of its own.
        let gh = ApiCredentials::parse(
            Partner::Grubhub,
            "mac:GbxKey:sv:v1:76529290-50af-11e5:PPF9Z/5tA=:1441115023929",
        )
        .unwrap();
        assert_eq!(
            gh,
            ApiCredentials::GrubhubMac {
                partner_key: "GbxKey".into(),
                client_id: "sv:v1:76529290-50af-11e5".into(),
                secret_key: "PPF9Z/5tA=".into(),
                issued_at_ms: 1_441_115_023_929,
            }
        );
        let gh = ApiCredentials::parse(Partner::Grubhub, "mac:k:abc:s:1").unwrap();
        assert!(
            matches!(gh, ApiCredentials::GrubhubMac { ref client_id, .. } if client_id == "sv:v1:abc")
        );
        let bad = ApiCredentials::parse(Partner::Grubhub, "mac:k:abc:s:yesterday").unwrap_err();
        assert!(bad.to_string().contains("epoch milliseconds"), "{bad}");
        // Secrets never reach Debug output.
        assert!(!format!("{gh:?}").contains("SECRET-9f3"), "{gh:?}");
        let dd = ApiCredentials::parse(Partner::DoorDash, "jwt:d:k:U0VDUkVULTlmMw").unwrap();
        assert!(!format!("{dd:?}").contains("83, 69, 67"), "{dd:?}");
        let ue =
            ApiCredentials::parse(Partner::UberEats, "client_credentials:id:SECRET-9f3").unwrap();
        assert!(!format!("{ue:?}").contains("SECRET-9f3"), "{ue:?}");
        assert!(ApiCredentials::parse(Partner::ChainApp, " ").is_err());
    }

    #[test]
    fn a_doordash_jwt_has_doordashs_header_and_claims_and_verifies() {
        let now: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        let jwt = doordash_jwt("dev-1", "key-1", b"secret", now);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({ "alg": "HS256", "typ": "JWT", "dd-ver": "DD-JWT-V1" })
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "doordash");
        assert_eq!(claims["iss"], "dev-1");
        assert_eq!(claims["kid"], "key-1");
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert_eq!(iat, now.timestamp());
        assert!(exp > iat && exp - iat <= DOORDASH_JWT_MAX_SECONDS);
        let mut mac = HmacSha256::new_from_slice(b"secret").unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&B64URL.decode(parts[2]).unwrap()).unwrap();
    }

    #[test]
    fn a_grubhub_header_has_the_documented_parts_and_its_mac_covers_the_request() {
        assert_eq!(grubhub_body_hash(b""), "");
        // Standard alphabet with padding: SHA-256 of "{}" in base64.
        assert_eq!(
            grubhub_body_hash(b"{}"),
            "RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
        let now: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        let nonce = grubhub_nonce(now.timestamp_millis() - 90_500, now, "a1B2");
        assert_eq!(nonce, "90:a1B2");
        let request = MacRequest {
            method: "PUT",
            path_and_query: "/pos/v1/merchant/1/orders/x/status",
            host: "API.example",
            port: 443,
            body_hash: "h",
        };
        let mac = grubhub_mac("key", &nonce, &request);
        let header = grubhub_authorization("sv:v1:c", &nonce, "h", &mac);
        let parsed = MacAuthorization::parse(&header).unwrap();
        assert_eq!(
            (
                parsed.id.as_str(),
                parsed.nonce.as_str(),
                parsed.body_hash.as_str()
            ),
            ("sv:v1:c", "90:a1B2", "h")
        );
        assert_eq!(parsed.mac, mac);
        // Any part of the request changes the MAC; the host's case does not.
        for other in [
            MacRequest {
                method: "POST",
                ..request
            },
            MacRequest {
                path_and_query: "/pos/v1/merchant/2/orders/x/status",
                ..request
            },
            MacRequest {
                port: 8443,
                ..request
            },
            MacRequest {
                body_hash: "g",
                ..request
            },
        ] {
            assert_ne!(grubhub_mac("key", &nonce, &other), mac, "{other:?}");
        }
        assert_eq!(
            grubhub_mac(
                "key",
                &nonce,
                &MacRequest {
                    host: "api.example",
                    ..request
                }
            ),
            mac
        );
        assert_ne!(grubhub_mac("key", "91:a1B2", &request), mac);
        assert_ne!(grubhub_mac("other", &nonce, &request), mac);
        assert!(MacAuthorization::parse("Bearer x").is_none());
        assert!(MacAuthorization::parse(r#"MAC id="a",nonce="b""#).is_none());
    }
}
