//! Webhook authentication, checked on the raw body before anything parses it.
//!
//! | partner  | scheme                                                                      |
//! |----------|-----------------------------------------------------------------------------|
//! | ubereats | `X-Uber-Signature`: hex HMAC-SHA256 of the body (time: `event_time` in body) |
//! | doordash | `Authorization: Bearer <token>` (no timestamp; dedup absorbs replays)       |
//! | grubhub  | `X-GH-Signature`: base64 HMAC-SHA256 of `timestamp\nnonce\nbody`, with      |
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
            // Compare digests so neither the length nor the content leaks through timing.
            let got = Sha256::digest(token.trim().as_bytes());
            let want = Sha256::digest(secret);
            if bool::from(got.ct_eq(&want)) {
                Ok(Verified { signed_at: None })
            } else {
                Err(AuthError::BadSignature)
            }
        }
        Partner::Grubhub => {
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
        Partner::Grubhub => {
            let ts = now.timestamp_millis().to_string();
            let mac = hmac(
                secret,
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

    proptest! {
        #[test]
        fn arbitrary_headers_never_verify_nor_panic(
            partner in 0usize..4,
            name in "[a-zA-Z-]{1,20}",
            value in ".{0,200}",
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let p = Partner::ALL[partner];
            let headers = vec![(name, value)];
            // Random input may only verify if it happens to be the DoorDash token itself.
            if let Ok(v) = verify(p, &headers, &body, SECRET) {
                prop_assert_eq!(p, Partner::DoorDash);
                prop_assert_eq!(v.signed_at, None);
            }
        }
    }
}
