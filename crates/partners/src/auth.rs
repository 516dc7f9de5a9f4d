//! Webhook authentication, checked on the raw body before anything parses it.
//!
//! | partner  | scheme                                                                      |
//! |----------|-----------------------------------------------------------------------------|
//! | ubereats | `X-Uber-Signature`: hex HMAC-SHA256 of the body (time: `event_time` in body) |
//! | doordash | `Authorization: Bearer <token>` (no timestamp; dedup absorbs replays)       |
//! | grubhub  | the scheme chosen at onboarding, by the credential's form ([`GrubhubScheme`]): |
//! |          | `basic:<user>:<password>`: `Authorization: Basic`; otherwise HMAC:          |
//! |          | `X-GH-Signature`: base64 HMAC-SHA256 of `timestamp\nnonce\nbody`, with      |
//! |          | `X-GH-Timestamp` (epoch ms) and `X-GH-Nonce`                                |
//! | app      | `X-App-Signature: t=<epoch s>,v1=<hex HMAC-SHA256 of "t.body">`             |
//!
//! All comparisons are constant-time. The replay window is applied by the caller to
//! [`Verified::signed_at`] (or to the body's own timestamp for partners that sign it there).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use order_domain::Partner;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Header names, lower-case as API Gateway delivers them.
pub mod header {
    /// Uber-style signature.
    pub const UBER_SIGNATURE: &str = "x-uber-signature";
    /// Bearer token.
    pub const AUTHORIZATION: &str = "authorization";
    /// Grubhub-style signature.
    pub const GH_SIGNATURE: &str = "x-gh-signature";
    /// Grubhub-style timestamp, epoch milliseconds.
    pub const GH_TIMESTAMP: &str = "x-gh-timestamp";
    /// Grubhub-style nonce.
    pub const GH_NONCE: &str = "x-gh-nonce";
    /// App signature.
    pub const APP_SIGNATURE: &str = "x-app-signature";
}

/// Case-insensitive header lookup, implemented by whatever carries the request.
pub trait Headers {
    /// The first value of header `name` (given in lower case), if present.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Headers for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Headers for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }
}

/// How Grubhub authenticates its webhooks to this integration: one of the schemes Grubhub
/// offers at onboarding ("basic authorization, HMAC, JWT", grubhub-developers, "Using
/// Webhooks"; confirmed), chosen by the form of the credential in the webhook secrets:
/// `basic:<user>:<password>` for basic authorization (confirmed: a user and password you
/// choose, in a header over TLS), anything else (optionally `hmac:<secret>`) for HMAC. The
/// HMAC header layout is an assumption: Grubhub's page stops before it (docs/partner-contracts.md,
/// G2), so the pipeline's own layout stands in until Grubhub's reference is in hand. JWT is not
/// supported: its header format is not public either, so a `jwt:` credential refuses every
/// webhook with [`AuthError::UnsupportedScheme`] rather than being taken for an HMAC secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrubhubScheme<'a> {
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// `user:password`, as encoded.
        user_password: &'a str,
    },
    /// The HMAC of timestamp, nonce and body, with this secret.
    Hmac(&'a str),
    /// Grubhub's JWT scheme (`jwt:`…), whose format is not public: not supported.
    Jwt,
}

impl<'a> GrubhubScheme<'a> {
    /// The scheme a credential names.
    pub fn of(credential: &'a str) -> Self {
        if credential.starts_with("jwt:") {
            return GrubhubScheme::Jwt;
        }
        match credential.strip_prefix("basic:") {
            Some(user_password) => GrubhubScheme::Basic { user_password },
            None => GrubhubScheme::Hmac(credential.strip_prefix("hmac:").unwrap_or(credential)),
        }
    }
}

/// The least key material a webhook credential may hold, bytes (after its scheme's prefix;
/// a Grubhub basic credential's password). RFC 2104 (HMAC, section 3) advises keys no shorter
/// than the hash's output (32 bytes for SHA-256) and calls shorter ones "strongly
/// discouraged"; 16 bytes (128 bits if random) is the floor below which a credential is
/// refused outright rather than trusted.
pub const MIN_WEBHOOK_KEY_BYTES: usize = 16;

/// Why a webhook credential is refused when it is loaded. Messages never quote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakCredential {
    /// Nothing, or only whitespace.
    #[error("it is empty")]
    Empty,
    /// Whitespace around it: a copy-and-paste slip that would make every signature differ,
    /// or hide a shorter key than it seems.
    #[error("it has whitespace around it")]
    Whitespace,
    /// Too little key material (a bare `hmac:` gives none, so anyone could sign).
    #[error(
        "its key material is {bytes} bytes (Grubhub's hmac: or basic:<user>: prefix not counted); at least {MIN_WEBHOOK_KEY_BYTES} are required"
    )]
    Short {
        /// The key's length, bytes.
        bytes: usize,
    },
}

/// Checks a partner's webhook credential before it is used: refused when empty, padded with
/// whitespace, or holding less than [`MIN_WEBHOOK_KEY_BYTES`] of key material (Grubhub's
/// `hmac:` and `basic:<user>:` prefixes are not key material). A `jwt:` Grubhub credential
/// passes here and refuses each webhook as unsupported ([`GrubhubScheme::Jwt`]).
pub fn check_webhook_credential(partner: Partner, credential: &str) -> Result<(), WeakCredential> {
    if credential.trim().is_empty() {
        return Err(WeakCredential::Empty);
    }
    if credential.trim() != credential {
        return Err(WeakCredential::Whitespace);
    }
    let key = match (partner, GrubhubScheme::of(credential)) {
        (Partner::Grubhub, GrubhubScheme::Jwt) => return Ok(()),
        (Partner::Grubhub, GrubhubScheme::Basic { user_password }) => user_password
            .split_once(':')
            .map_or("", |(_, password)| password),
        (Partner::Grubhub, GrubhubScheme::Hmac(key)) => key,
        _ => credential,
    };
    let bytes = key.trim().len();
    if bytes < MIN_WEBHOOK_KEY_BYTES {
        return Err(WeakCredential::Short { bytes });
    }
    Ok(())
}

/// Compares two secrets by their digests, so neither length nor content leaks through timing.
fn same_secret(got: &[u8], want: &[u8]) -> bool {
    bool::from(Sha256::digest(got).ct_eq(&Sha256::digest(want)))
}

/// Why a webhook was not authenticated. Messages name the problem but never echo secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A required header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header is present but not in the expected form.
    #[error("malformed {header} header: {why}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The signature or token does not match.
    #[error("signature does not match")]
    BadSignature,
    /// The configured scheme cannot be checked (the credential names a scheme whose format
    /// the partner does not publish).
    #[error("the configured {0} webhook scheme is not supported")]
    UnsupportedScheme(&'static str),
    /// The request was signed outside the replay window.
    #[error(
        "request timestamp {signed_at} is {age_seconds} s from now, outside the {window_seconds} s replay window"
    )]
    OutsideReplayWindow {
        /// When the partner says it signed.
        signed_at: DateTime<Utc>,
        /// Absolute distance from now, seconds.
        age_seconds: i64,
        /// The allowed window, seconds.
        window_seconds: i64,
    },
}

/// A request whose signature or token checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp from the headers, for partners that send one there.
    pub signed_at: Option<DateTime<Utc>>,
}

fn hmac(secret: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    mac
}

fn verify_mac(secret: &[u8], parts: &[&[u8]], expected: &[u8]) -> Result<(), AuthError> {
    // verify_slice compares in constant time and refuses a truncated tag.
    hmac(secret, parts)
        .verify_slice(expected)
        .map_err(|_| AuthError::BadSignature)
}

fn required<'h>(
    headers: &'h (impl Headers + ?Sized),
    name: &'static str,
) -> Result<&'h str, AuthError> {
    headers
        .get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(AuthError::MissingHeader(name))
}

/// Checks the webhook's signature or token with the partner's scheme and credential.
pub fn verify(
    partner: Partner,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
    credential: &str,
) -> Result<Verified, AuthError> {
    let secret = credential.as_bytes();
    match partner {
        Partner::UberEats => {
            let sig = required(headers, header::UBER_SIGNATURE)?;
            let sig = hex::decode(sig).map_err(|_| AuthError::Malformed {
                header: header::UBER_SIGNATURE,
                why: "not hex",
            })?;
            verify_mac(secret, &[body], &sig)?;
            Ok(Verified { signed_at: None })
        }
        Partner::DoorDash => {
            let value = required(headers, header::AUTHORIZATION)?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(AuthError::Malformed {
                    header: header::AUTHORIZATION,
                    why: "expected `Bearer <token>`",
                })?;
            if same_secret(token.trim().as_bytes(), secret) {
                Ok(Verified { signed_at: None })
            } else {
                Err(AuthError::BadSignature)
            }
        }
        Partner::Grubhub => match GrubhubScheme::of(credential) {
            GrubhubScheme::Jwt => Err(AuthError::UnsupportedScheme(
                "Grubhub JWT (its format is not public; choose basic or HMAC at onboarding)",
            )),
            GrubhubScheme::Basic { user_password } => {
                let value = required(headers, header::AUTHORIZATION)?;
                let malformed = |why| AuthError::Malformed {
                    header: header::AUTHORIZATION,
                    why,
                };
                let encoded = value
                    .strip_prefix("Basic ")
                    .or_else(|| value.strip_prefix("basic "))
                    .ok_or(malformed("expected `Basic <base64 user:password>`"))?;
                let given = B64
                    .decode(encoded.trim())
                    .map_err(|_| malformed("not base64"))?;
                if same_secret(&given, user_password.as_bytes()) {
                    // No timestamp in this scheme: dedup absorbs replays.
                    Ok(Verified { signed_at: None })
                } else {
                    Err(AuthError::BadSignature)
                }
            }
            GrubhubScheme::Hmac(secret) => {
                let secret = secret.as_bytes();
                let ts = required(headers, header::GH_TIMESTAMP)?;
                let nonce = required(headers, header::GH_NONCE)?;
                let sig = required(headers, header::GH_SIGNATURE)?;
                let millis: i64 = ts.parse().map_err(|_| AuthError::Malformed {
                    header: header::GH_TIMESTAMP,
                    why: "not epoch milliseconds",
                })?;
                let sig = B64.decode(sig).map_err(|_| AuthError::Malformed {
                    header: header::GH_SIGNATURE,
                    why: "not base64",
                })?;
                verify_mac(
                    secret,
                    &[ts.as_bytes(), b"\n", nonce.as_bytes(), b"\n", body],
                    &sig,
                )?;
                let signed_at =
                    Utc.timestamp_millis_opt(millis)
                        .single()
                        .ok_or(AuthError::Malformed {
                            header: header::GH_TIMESTAMP,
                            why: "out of range",
                        })?;
                Ok(Verified {
                    signed_at: Some(signed_at),
                })
            }
        },
        Partner::ChainApp => {
            let value = required(headers, header::APP_SIGNATURE)?;
            let mut t = None;
            let mut v1 = None;
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", x)) => t = Some(x),
                    Some(("v1", x)) => v1 = Some(x),
                    _ => {}
                }
            }
            let malformed = |why| AuthError::Malformed {
                header: header::APP_SIGNATURE,
                why,
            };
            let t = t.ok_or(malformed("missing t="))?;
            let v1 = v1.ok_or(malformed("missing v1="))?;
            let secs: i64 = t.parse().map_err(|_| malformed("t is not epoch seconds"))?;
            let sig = hex::decode(v1).map_err(|_| malformed("v1 is not hex"))?;
            verify_mac(secret, &[t.as_bytes(), b".", body], &sig)?;
            let signed_at = Utc
                .timestamp_opt(secs, 0)
                .single()
                .ok_or(malformed("t is out of range"))?;
            Ok(Verified {
                signed_at: Some(signed_at),
            })
        }
    }
}

/// Refuses a timestamp further than `window_seconds` from `now` in either direction.
pub fn check_replay_window(
    signed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> Result<(), AuthError> {
    let age_seconds = (now - signed_at).num_seconds().abs();
    if age_seconds > window_seconds {
        Err(AuthError::OutsideReplayWindow {
            signed_at,
            age_seconds,
            window_seconds,
        })
    } else {
        Ok(())
    }
}

/// The headers a partner would send with `body`: used by the simulators, the demo and tests.
/// `nonce` is only used by the Grubhub-style scheme.
pub fn sign(
    partner: Partner,
    body: &[u8],
    credential: &str,
    now: DateTime<Utc>,
    nonce: &str,
) -> Vec<(String, String)> {
    let secret = credential.as_bytes();
    match partner {
        Partner::UberEats => vec![(
            header::UBER_SIGNATURE.to_owned(),
            hex::encode(hmac(secret, &[body]).finalize().into_bytes()),
        )],
        Partner::DoorDash => vec![(
            header::AUTHORIZATION.to_owned(),
            format!("Bearer {credential}"),
        )],
        Partner::Grubhub => match GrubhubScheme::of(credential) {
            // Nothing can sign for a scheme nothing can check.
            GrubhubScheme::Jwt => vec![],
            GrubhubScheme::Basic { user_password } => vec![(
                header::AUTHORIZATION.to_owned(),
                format!("Basic {}", B64.encode(user_password)),
            )],
            GrubhubScheme::Hmac(secret) => {
                let ts = now.timestamp_millis().to_string();
                let mac = hmac(
                    secret.as_bytes(),
                    &[ts.as_bytes(), b"\n", nonce.as_bytes(), b"\n", body],
                );
                vec![
                    (header::GH_TIMESTAMP.to_owned(), ts),
                    (header::GH_NONCE.to_owned(), nonce.to_owned()),
                    (
                        header::GH_SIGNATURE.to_owned(),
                        B64.encode(mac.finalize().into_bytes()),
                    ),
                ]
            }
        },
        Partner::ChainApp => {
            let t = now.timestamp().to_string();
            let mac = hmac(secret, &[t.as_bytes(), b".", body]);
            vec![(
                header::APP_SIGNATURE.to_owned(),
                format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes())),
            )]
        }
    }
}

#[cfg(test)]
mod tests;
