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
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_test_0123456789";
    const BODY: &[u8] = br#"{"event_type":"orders.notification","event_time":1795370400}"#;

    fn now() -> DateTime<Utc> {
        "2026-11-22T18:00:00Z".parse().unwrap()
    }

    fn signed(partner: Partner) -> Vec<(String, String)> {
        sign(partner, BODY, SECRET, now(), "n-1")
    }

    fn replace(headers: &mut [(String, String)], name: &str, f: impl Fn(&str) -> String) {
        let h = headers.iter_mut().find(|(k, _)| k == name).unwrap();
        h.1 = f(&h.1);
    }

    #[test]
    fn a_correctly_signed_webhook_verifies_for_every_partner() {
        for p in Partner::ALL {
            let v = verify(p, &signed(p), BODY, SECRET).unwrap_or_else(|e| panic!("{p}: {e}"));
            match p {
                Partner::Grubhub | Partner::ChainApp => assert_eq!(v.signed_at, Some(now())),
                _ => assert_eq!(v.signed_at, None),
            }
        }
    }

    #[test]
    fn a_forged_body_fails_for_every_partner_that_signs_the_body() {
        for p in [Partner::UberEats, Partner::Grubhub, Partner::ChainApp] {
            let err = verify(p, &signed(p), b"{\"forged\":true}", SECRET).unwrap_err();
            assert_eq!(err, AuthError::BadSignature, "{p}");
        }
    }

    #[test]
    fn a_wrong_secret_or_token_fails_for_every_partner() {
        for p in Partner::ALL {
            let headers = sign(p, BODY, "another-secret", now(), "n-1");
            assert_eq!(
                verify(p, &headers, BODY, SECRET).unwrap_err(),
                AuthError::BadSignature,
                "{p}"
            );
        }
    }

    #[test]
    fn a_truncated_signature_fails() {
        let mut h = signed(Partner::UberEats);
        replace(&mut h, header::UBER_SIGNATURE, |v| v[..32].to_owned());
        assert_eq!(
            verify(Partner::UberEats, &h, BODY, SECRET).unwrap_err(),
            AuthError::BadSignature
        );

        let mut h = signed(Partner::ChainApp);
        replace(&mut h, header::APP_SIGNATURE, |v| {
            v[..v.len() - 2].to_owned()
        });
        assert_eq!(
            verify(Partner::ChainApp, &h, BODY, SECRET).unwrap_err(),
            AuthError::BadSignature
        );
    }

    #[test]
    fn a_signature_for_another_partner_fails() {
        // Uber's headers, presented on the Grubhub route, lack Grubhub's headers.
        let err = verify(Partner::Grubhub, &signed(Partner::UberEats), BODY, SECRET).unwrap_err();
        assert_eq!(err, AuthError::MissingHeader(header::GH_TIMESTAMP));
        // The app's signature header copied into Uber's header is not a valid Uber signature.
        let app = signed(Partner::ChainApp);
        let v1 = app[0].1.split("v1=").nth(1).unwrap().to_owned();
        let h = vec![(header::UBER_SIGNATURE.to_owned(), v1)];
        assert_eq!(
            verify(Partner::UberEats, &h, BODY, SECRET).unwrap_err(),
            AuthError::BadSignature
        );
    }

    #[test]
    fn a_changed_timestamp_breaks_the_signature() {
        let mut h = signed(Partner::Grubhub);
        replace(&mut h, header::GH_TIMESTAMP, |v| {
            (v.parse::<i64>().unwrap() + 1000).to_string()
        });
        assert_eq!(
            verify(Partner::Grubhub, &h, BODY, SECRET).unwrap_err(),
            AuthError::BadSignature
        );
    }

    #[test]
    fn a_replayed_request_is_outside_the_window() {
        let v = verify(Partner::ChainApp, &signed(Partner::ChainApp), BODY, SECRET).unwrap();
        let later = now() + chrono::TimeDelta::seconds(301);
        let err = check_replay_window(v.signed_at.unwrap(), later, 300).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::OutsideReplayWindow {
                    age_seconds: 301,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            check_replay_window(
                v.signed_at.unwrap(),
                now() + chrono::TimeDelta::seconds(300),
                300
            )
            .is_ok()
        );
        // a timestamp from the future is refused as well
        assert!(check_replay_window(later, now(), 300).is_err());
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let err = verify(Partner::DoorDash, &Vec::new(), BODY, SECRET).unwrap_err();
        assert_eq!(err.to_string(), "missing authorization header");
        let h = vec![("Authorization".to_owned(), "Basic abc".to_owned())];
        let err = verify(Partner::DoorDash, &h, BODY, SECRET).unwrap_err();
        assert!(err.to_string().contains("Bearer"), "{err}");
        let h = vec![(header::UBER_SIGNATURE.to_owned(), "zz".to_owned())];
        assert!(matches!(
            verify(Partner::UberEats, &h, BODY, SECRET),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn header_lookup_ignores_case() {
        let h = vec![(
            "X-Uber-Signature".to_owned(),
            signed(Partner::UberEats)[0].1.clone(),
        )];
        assert!(verify(Partner::UberEats, &h, BODY, SECRET).is_ok());
    }

    /// The headers each partner signs with, for the properties below.
    fn names(p: Partner) -> &'static [&'static str] {
        match p {
            Partner::UberEats => &[header::UBER_SIGNATURE],
            Partner::DoorDash => &[header::AUTHORIZATION],
            Partner::Grubhub => &[header::GH_TIMESTAMP, header::GH_NONCE, header::GH_SIGNATURE],
            Partner::ChainApp => &[header::APP_SIGNATURE],
        }
    }

    /// The header carrying the signature or token, and the byte range of the signature in it.
    fn signature_span(p: Partner, headers: &[(String, String)]) -> (usize, std::ops::Range<usize>) {
        let name = match p {
            Partner::UberEats => header::UBER_SIGNATURE,
            Partner::DoorDash => header::AUTHORIZATION,
            Partner::Grubhub => header::GH_SIGNATURE,
            Partner::ChainApp => header::APP_SIGNATURE,
        };
        let i = headers.iter().position(|(k, _)| k == name).unwrap();
        let v = &headers[i].1;
        let from = match p {
            Partner::DoorDash => "Bearer ".len(),
            Partner::ChainApp => v.find("v1=").unwrap() + 3,
            _ => 0,
        };
        // Leave base64 padding alone: changing it is a different kind of fault.
        let to = v.trim_end_matches('=').len();
        (i, from..to)
    }

    fn partner() -> impl Strategy<Value = Partner> {
        proptest::sample::select(Partner::ALL.to_vec())
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 1..256)
    }

    proptest! {
        #[test]
        fn real_headers_renamed_in_any_case_or_padded_still_verify(
            p in partner(),
            body in body(),
            upper in proptest::collection::vec(any::<bool>(), 32),
            pad in "[ \t]{0,3}",
        ) {
            let headers: Vec<(String, String)> = sign(p, &body, SECRET, now(), "n-1")
                .into_iter()
                .map(|(k, v)| {
                    let k = k
                        .chars()
                        .zip(upper.iter().cycle())
                        .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c })
                        .collect();
                    (k, format!("{pad}{v}{pad}"))
                })
                .collect();
            prop_assert!(verify(p, &headers, &body, SECRET).is_ok());
        }

        #[test]
        fn any_changed_signature_character_is_refused(
            p in partner(),
            body in body(),
            at in any::<proptest::sample::Index>(),
            to in any::<proptest::sample::Index>(),
        ) {
            let mut headers = sign(p, &body, SECRET, now(), "n-1");
            let (i, span) = signature_span(p, &headers);
            let pos = span.start + at.index(span.len());
            let value = &mut headers[i].1;
            let old = value.as_bytes()[pos] as char;
            // A different character of the same alphabet, so the value stays well-formed.
            let alphabet: Vec<char> = match p {
                Partner::Grubhub => ('A'..='Z').chain('a'..='z').chain('0'..='9').collect(),
                Partner::DoorDash => ('a'..='z').chain('0'..='9').chain(['_']).collect(),
                _ => ('0'..='9').chain('a'..='f').collect(),
            };
            let others: Vec<char> = alphabet.into_iter().filter(|c| *c != old).collect();
            let new = others[to.index(others.len())];
            value.replace_range(pos..=pos, &new.to_string());
            let err = verify(p, &headers, &body, SECRET).unwrap_err();
            // Base64's last character carries unused bits, so changing it may also make the
            // value non-canonical; every other change is a well-formed wrong signature.
            let canonical_tail = p == Partner::Grubhub && pos + 1 == span.end;
            if !canonical_tail {
                prop_assert_eq!(err, AuthError::BadSignature);
            }
        }

        #[test]
        fn any_truncated_signature_is_refused(
            p in partner(),
            body in body(),
            cut in 1usize..16,
        ) {
            let mut headers = sign(p, &body, SECRET, now(), "n-1");
            let (i, span) = signature_span(p, &headers);
            let keep = span.end.saturating_sub(cut).max(span.start + 1);
            headers[i].1.truncate(keep);
            prop_assert!(verify(p, &headers, &body, SECRET).is_err());
        }

        #[test]
        fn a_changed_body_byte_is_refused_by_every_partner_that_signs_the_body(
            p in partner(),
            body in body(),
            at in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let headers = sign(p, &body, SECRET, now(), "n-1");
            let mut changed = body.clone();
            changed[at.index(body.len())] ^= 1 << bit;
            let got = verify(p, &headers, &changed, SECRET);
            if p == Partner::DoorDash {
                // A bearer token does not cover the body: documented, not a gap in the check.
                prop_assert!(got.is_ok());
            } else {
                prop_assert_eq!(got.unwrap_err(), AuthError::BadSignature);
            }
        }

        #[test]
        fn a_dropped_header_is_named(p in partner(), body in body(), which in any::<proptest::sample::Index>()) {
            let mut headers = sign(p, &body, SECRET, now(), "n-1");
            let name = names(p)[which.index(names(p).len())];
            headers.retain(|(k, _)| k != name);
            prop_assert_eq!(
                verify(p, &headers, &body, SECRET).unwrap_err(),
                AuthError::MissingHeader(name)
            );
        }

        #[test]
        fn a_shifted_timestamp_or_changed_nonce_is_refused(
            grubhub in any::<bool>(),
            body in body(),
            shift in prop_oneof![-100_000i64..0, 1i64..100_000],
            nonce in "[a-z0-9-]{1,12}",
            change_nonce in any::<bool>(),
        ) {
            let p = if grubhub { Partner::Grubhub } else { Partner::ChainApp };
            let mut headers = sign(p, &body, SECRET, now(), "n-1");
            if grubhub && change_nonce && nonce != "n-1" {
                replace(&mut headers, header::GH_NONCE, |_| nonce.clone());
            } else if grubhub {
                replace(&mut headers, header::GH_TIMESTAMP, |v| {
                    (v.parse::<i64>().unwrap() + shift).to_string()
                });
            } else {
                replace(&mut headers, header::APP_SIGNATURE, |v| {
                    let (t, rest) = v.strip_prefix("t=").unwrap().split_once(',').unwrap();
                    format!("t={},{rest}", t.parse::<i64>().unwrap() + shift)
                });
            }
            prop_assert_eq!(verify(p, &headers, &body, SECRET).unwrap_err(), AuthError::BadSignature);
        }

        #[test]
        fn near_valid_values_under_real_header_names_never_verify_nor_panic(
            p in partner(),
            name in proptest::sample::select(vec![
                header::UBER_SIGNATURE, header::AUTHORIZATION, header::GH_SIGNATURE,
                header::GH_TIMESTAMP, header::GH_NONCE, header::APP_SIGNATURE,
            ]),
            value in prop_oneof![
                "[0-9a-f]{0,70}",
                "Bearer [a-z0-9_]{0,30}",
                "[A-Za-z0-9+/]{40,44}={0,2}",
                "t=[0-9]{0,12},v1=[0-9a-f]{0,70}",
                "[0-9]{0,14}",
                ".{0,80}",
            ],
            body in body(),
        ) {
            let original = sign(p, &body, SECRET, now(), "n-1");
            let mut headers = original.clone();
            match headers.iter_mut().find(|(k, _)| k == name) {
                Some(h) => h.1 = value.clone(),
                None => headers.push((name.to_owned(), value.clone())),
            }
            let got = verify(p, &headers, &body, SECRET);
            if names(p).contains(&name) {
                // The only way through is to have guessed the real value exactly.
                let was = &original.iter().find(|(k, _)| k == name).unwrap().1;
                prop_assert_eq!(got.is_ok(), value.trim() == was.as_str(), "{:?}", got);
            } else {
                // Another partner's header is ignored; the real signature still stands.
                prop_assert!(got.is_ok(), "{:?}", got);
            }
        }
    }

    #[test]
    fn grubhub_takes_the_scheme_its_credential_names_basic_or_hmac() {
        let body = br#"{"type":"ORDER_CREATED"}"#;
        // Basic: user and password chosen at onboarding.
        let basic = "basic:orders-pipeline:s3cret-pass";
        let headers = sign(Partner::Grubhub, body, basic, now(), "n");
        assert_eq!(headers[0].0, header::AUTHORIZATION);
        assert!(headers[0].1.starts_with("Basic "));
        let v = verify(Partner::Grubhub, &headers, body, basic).unwrap();
        assert_eq!(v.signed_at, None);
        let wrong = sign(
            Partner::Grubhub,
            body,
            "basic:orders-pipeline:guess",
            now(),
            "n",
        );
        assert_eq!(
            verify(Partner::Grubhub, &wrong, body, basic).unwrap_err(),
            AuthError::BadSignature
        );
        // HMAC headers are not a basic credential, and the reverse.
        let hmac_headers = sign(Partner::Grubhub, body, "hmac:k", now(), "n");
        assert_eq!(
            verify(Partner::Grubhub, &hmac_headers, body, basic).unwrap_err(),
            AuthError::MissingHeader(header::AUTHORIZATION)
        );
        assert!(verify(Partner::Grubhub, &headers, body, "hmac:k").is_err());
        // `hmac:k` and a bare `k` are the same HMAC credential.
        assert_eq!(
            verify(Partner::Grubhub, &hmac_headers, body, "k")
                .unwrap()
                .signed_at,
            Some(now())
        );
        // A JWT credential is not an HMAC secret: every webhook is refused, the scheme named.
        let refused = verify(Partner::Grubhub, &hmac_headers, body, "jwt:k").unwrap_err();
        assert!(matches!(refused, AuthError::UnsupportedScheme(_)));
        assert!(refused.to_string().contains("Grubhub JWT"), "{refused}");
    }

    #[test]
    fn weak_webhook_credentials_are_refused_by_name_and_strong_ones_pass() {
        use super::WeakCredential::*;
        let strong = "k3y-of-at-least-16-bytes";
        for p in Partner::ALL {
            assert_eq!(check_webhook_credential(p, strong), Ok(()), "{p}");
            assert_eq!(check_webhook_credential(p, ""), Err(Empty), "{p}");
            assert_eq!(check_webhook_credential(p, " \t "), Err(Empty), "{p}");
            assert_eq!(
                check_webhook_credential(p, &format!(" {strong}")),
                Err(Whitespace),
                "{p}"
            );
            assert_eq!(
                check_webhook_credential(p, &format!("{strong}\n")),
                Err(Whitespace),
                "{p}"
            );
            assert_eq!(
                check_webhook_credential(p, "short-15-bytes!"),
                Err(Short { bytes: 15 }),
                "{p}"
            );
        }
        // Grubhub's prefixes are not key material: a bare prefix gives an empty key.
        let g = Partner::Grubhub;
        assert_eq!(
            check_webhook_credential(g, "hmac:"),
            Err(Short { bytes: 0 })
        );
        assert_eq!(
            check_webhook_credential(g, "hmac:0123456789abcde"),
            Err(Short { bytes: 15 })
        );
        assert_eq!(
            check_webhook_credential(g, &format!("hmac:{strong}")),
            Ok(())
        );
        assert_eq!(
            check_webhook_credential(g, "basic:user:"),
            Err(Short { bytes: 0 })
        );
        assert_eq!(
            check_webhook_credential(g, "basic:user"),
            Err(Short { bytes: 0 })
        );
        assert_eq!(
            check_webhook_credential(g, &format!("basic:user:{strong}")),
            Ok(())
        );
        // The message names the problem, never the credential.
        let told = check_webhook_credential(g, "hmac:sekrit")
            .unwrap_err()
            .to_string();
        assert!(!told.contains("sekrit"), "{told}");
    }
}
