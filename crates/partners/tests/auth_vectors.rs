//! Known-answer vectors for every partner's webhook authentication, computed outside this code
//! with OpenSSL (commands beside each vector), so a mistake made the same way in `sign` and
//! `verify` (the signed string, the encoding, the header format) cannot pass. Each partner has
//! a valid request, a forged one (body or signature changed) and a stale one (a valid
//! signature, signed an hour before "now"). Header names are written as the partners send
//! them, not taken from the code's constants, so a renamed header fails here too.

#![allow(clippy::unwrap_used, missing_docs)]

use chrono::{DateTime, TimeZone, Utc};
use order_domain::Partner;
use partners::auth::{AuthError, check_replay_window, verify};

const SECRET: &str = "whsec_test_0123456789";
/// 2026-11-22T18:00:00Z (`date -u -d 2026-11-22T18:00:00Z +%s`).
const NOW: i64 = 1_795_370_400;
const WINDOW: i64 = 300;

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).unwrap()
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// When the request counts as sent: the signed timestamp, else the body's own (Uber Eats).
fn sent_at(partner: Partner, headers: &[(String, String)], body: &str) -> DateTime<Utc> {
    let v = verify(partner, headers, body.as_bytes(), SECRET).unwrap();
    v.signed_at.unwrap_or_else(|| {
        let (webhook, _) = partners::parse_webhook(partner, body.as_bytes()).unwrap();
        webhook.sent_at().unwrap()
    })
}

const UBER_BODY: &str = r#"{"event_id":"evt-1","event_type":"orders.notification","event_time":1795370400,"meta":{"user_id":"6f0c1a8e-2d1b-4c3e-9a55-1c0a7e5b1001","resource_id":"5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e01","status":"pos"},"resource_href":"https://api.uber.com/v2/eats/order/5f3c9a7e-8b1d-4e2a-9c47-0a1b2c3d4e01"}"#;

#[test]
fn uber_eats_signs_the_raw_body_as_lowercase_hex() {
    // printf '%s' "$UBER_BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex
    let valid = h(&[(
        "X-Uber-Signature",
        "40ecf1dfc7ed1424678e88112f85b098fdb4578dd69d446d529ad4032b4839db",
    )]);
    assert!(verify(Partner::UberEats, &valid, UBER_BODY.as_bytes(), SECRET).is_ok());
    assert!(
        check_replay_window(sent_at(Partner::UberEats, &valid, UBER_BODY), now(), WINDOW).is_ok()
    );
    // Upper-case hex is the same bytes.
    let upper = h(&[(
        "X-Uber-Signature",
        "40ECF1DFC7ED1424678E88112F85B098FDB4578DD69D446D529AD4032B4839DB",
    )]);
    assert!(verify(Partner::UberEats, &upper, UBER_BODY.as_bytes(), SECRET).is_ok());

    // Forged: the same signature over a body with one character changed.
    let forged = UBER_BODY.replace("evt-1", "evt-2");
    assert_eq!(
        verify(Partner::UberEats, &valid, forged.as_bytes(), SECRET),
        Err(AuthError::BadSignature)
    );
    // Stale: event_time an hour earlier, correctly signed
    // (the body with 1795366800, same command).
    let stale_body = UBER_BODY.replace("1795370400", "1795366800");
    let stale = h(&[(
        "X-Uber-Signature",
        "f4a9002f32cfc98faa54d61d3ef4ecb91652ff69d5342f9742736bc23a22b975",
    )]);
    let signed = sent_at(Partner::UberEats, &stale, &stale_body);
    assert!(matches!(
        check_replay_window(signed, now(), WINDOW),
        Err(AuthError::OutsideReplayWindow {
            age_seconds: 3600,
            ..
        })
    ));
}

const GRUBHUB_BODY: &str = r#"{"order":{"id":"GH-1"}}"#;

#[test]
fn grubhub_signs_timestamp_nonce_and_body_as_base64() {
    // printf '1795370400000\nn-1\n%s' "$GRUBHUB_BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
    let valid = h(&[
        ("X-GH-Timestamp", "1795370400000"),
        ("X-GH-Nonce", "n-1"),
        (
            "X-GH-Signature",
            "PM5y/k5+bMcerT8TkqOqri59ak8eAtB189i1jsswHDE=",
        ),
    ]);
    let v = verify(Partner::Grubhub, &valid, GRUBHUB_BODY.as_bytes(), SECRET).unwrap();
    assert_eq!(v.signed_at, Some(now()));
    assert!(check_replay_window(v.signed_at.unwrap(), now(), WINDOW).is_ok());

    // Forged: another nonce under the same signature.
    let forged = h(&[
        ("X-GH-Timestamp", "1795370400000"),
        ("X-GH-Nonce", "n-2"),
        (
            "X-GH-Signature",
            "PM5y/k5+bMcerT8TkqOqri59ak8eAtB189i1jsswHDE=",
        ),
    ]);
    assert_eq!(
        verify(Partner::Grubhub, &forged, GRUBHUB_BODY.as_bytes(), SECRET),
        Err(AuthError::BadSignature)
    );
    // Stale: signed at 1795366800000, same command with that timestamp.
    let stale = h(&[
        ("X-GH-Timestamp", "1795366800000"),
        ("X-GH-Nonce", "n-1"),
        (
            "X-GH-Signature",
            "/5psftqMN0t8NzSHlPI6BqcPe9cUwEx8XbBtbr8gWLM=",
        ),
    ]);
    let v = verify(Partner::Grubhub, &stale, GRUBHUB_BODY.as_bytes(), SECRET).unwrap();
    assert!(matches!(
        check_replay_window(v.signed_at.unwrap(), now(), WINDOW),
        Err(AuthError::OutsideReplayWindow {
            age_seconds: 3600,
            ..
        })
    ));
}

const APP_BODY: &str = r#"{"type":"order.created","data":{"id":"APP-1"}}"#;

#[test]
fn the_app_signs_t_dot_body_as_hex_in_a_stripe_style_header() {
    // printf '1795370400.%s' "$APP_BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex
    let valid = h(&[(
        "X-App-Signature",
        "t=1795370400,v1=bff22d54b84d2bed9d1ad85d4dae0af080f2bbe563e0710cf66eb242860cbf83",
    )]);
    let v = verify(Partner::ChainApp, &valid, APP_BODY.as_bytes(), SECRET).unwrap();
    assert_eq!(v.signed_at, Some(now()));

    // Forged: the signature moved to another timestamp.
    let forged = h(&[(
        "X-App-Signature",
        "t=1795370401,v1=bff22d54b84d2bed9d1ad85d4dae0af080f2bbe563e0710cf66eb242860cbf83",
    )]);
    assert_eq!(
        verify(Partner::ChainApp, &forged, APP_BODY.as_bytes(), SECRET),
        Err(AuthError::BadSignature)
    );
    // Stale: t=1795366800, same command with that timestamp.
    let stale = h(&[(
        "X-App-Signature",
        "t=1795366800,v1=c0794433112f690425a441b766fa9142e6d34fb1024279bc1fa5c4ff5a1704ed",
    )]);
    let v = verify(Partner::ChainApp, &stale, APP_BODY.as_bytes(), SECRET).unwrap();
    assert!(matches!(
        check_replay_window(v.signed_at.unwrap(), now(), WINDOW),
        Err(AuthError::OutsideReplayWindow {
            age_seconds: 3600,
            ..
        })
    ));
}

#[test]
fn doordash_sends_the_token_itself_as_a_bearer() {
    let valid = h(&[("Authorization", "Bearer whsec_test_0123456789")]);
    let v = verify(Partner::DoorDash, &valid, b"{}", SECRET).unwrap();
    assert_eq!(v.signed_at, None);
    // Forged: a token that differs in its last character, and one that is the token's
    // SHA-256 (printf '%s' "$SECRET" | openssl dgst -sha256 -hex) rather than the token.
    for token in [
        "Bearer whsec_test_0123456788",
        "Bearer 480fe3db1c19a6f0c23df56a7834893647f52267ec9252828105e9983eacab85",
    ] {
        let forged = h(&[("Authorization", token)]);
        assert_eq!(
            verify(Partner::DoorDash, &forged, b"{}", SECRET),
            Err(AuthError::BadSignature),
            "{token}"
        );
    }
}

/// Grubhub's outbound MAC (what we send Grubhub), computed with OpenSSL over the IETF MAC
/// draft's normalised string, step by step:
///
/// ```sh
/// BODY='{"status":"CONFIRMED","wait_time_in_minutes":12}'
/// HASH=$(printf '%s' "$BODY" | openssl dgst -sha256 -binary | base64)
/// # nonce, method, request URI, host, port, body hash, empty extension: each ends in \n
/// printf '%s\n%s\n%s\n%s\n%s\n%s\n\n' '264:a1B2c3' PUT \
///   /pos/v1/merchant/GH-88231/orders/gh-1/status api-third-party-gtm.grubhub.com 443 "$HASH" \
///   | openssl dgst -sha256 -hmac 'gh-secret-key' -binary | base64
/// ```
///
/// and for a GET, whose body hash is empty (the draft leaves it out for a body-less request).
#[test]
fn grubhub_outbound_mac_matches_openssl() {
    use partners::outbound::{
        MacRequest, grubhub_authorization, grubhub_body_hash, grubhub_mac, grubhub_nonce,
    };
    let body = r#"{"status":"CONFIRMED","wait_time_in_minutes":12}"#;
    let hash = grubhub_body_hash(body.as_bytes());
    assert_eq!(hash, "9W+ko5dszMByGfqr6NSRgKpxEp8EM8AXTGIWa2ymwRA=");
    // Issued 264.9 s before now: whole seconds since issue, a colon, the random part.
    let nonce = grubhub_nonce(NOW * 1000 - 264_900, now(), "a1B2c3");
    assert_eq!(nonce, "264:a1B2c3");
    let put = MacRequest {
        method: "PUT",
        path_and_query: "/pos/v1/merchant/GH-88231/orders/gh-1/status",
        host: "API-Third-Party-GTM.grubhub.com",
        port: 443,
        body_hash: &hash,
    };
    let mac = grubhub_mac("gh-secret-key", &nonce, &put);
    assert_eq!(mac, "RWyaRrgU5285qFRjExTwmR5TzZ+osGyej4PuCzNIYcM=");
    assert_eq!(
        grubhub_authorization("sv:v1:gh-client", &nonce, &hash, &mac),
        r#"MAC id="sv:v1:gh-client",nonce="264:a1B2c3",bodyhash="9W+ko5dszMByGfqr6NSRgKpxEp8EM8AXTGIWa2ymwRA=",mac="RWyaRrgU5285qFRjExTwmR5TzZ+osGyej4PuCzNIYcM=""#
    );
    let get = MacRequest {
        method: "GET",
        path_and_query: "/pos/v1/merchant/GH-88231/orders",
        host: "api-third-party-gtm.grubhub.com",
        port: 443,
        body_hash: &grubhub_body_hash(b""),
    };
    assert_eq!(
        grubhub_mac("gh-secret-key", &nonce, &get),
        "pTuye0YsXG5vIfRZcsX85OAJo4eu5wOq/QR1OwYSEIk="
    );
}
