//! The clients against a scripted HTTP server on loopback: retries, Retry-After, timeouts and
//! error classification.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_clients::partner::PartnerEndpoint;
use http_clients::{HttpSettings, PartnerHttpClient, PosHttpClient, RetryPolicy};
use order_domain::{Partner, PartnerOrderId, PosOrderId, StoreId};
use partners::{OrderRef, PartnerAction};
use pipeline::ports::{ErrorKind, PartnerApi, PosApi, PosTicket};

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![],
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
}

async fn handle(
    State(s): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let r = s
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| reply(500, "script exhausted"));
    tokio::time::sleep(r.delay).await;
    let mut resp = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
    for (k, v) in r.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

async fn serve(replies: Vec<Reply>) -> (String, Arc<Script>) {
    let script = Arc::new(Script {
        replies: Mutex::new(replies.into()),
        seen: Mutex::default(),
    });
    let app = Router::new().fallback(handle).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

fn settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(400),
        ..HttpSettings::default()
    }
}

/// A wall clock that stands still until a test moves it: milliseconds since the epoch.
static FROZEN_MS: std::sync::atomic::AtomicI64 =
    std::sync::atomic::AtomicI64::new(1_795_370_400_000);

fn frozen_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(FROZEN_MS.load(std::sync::atomic::Ordering::SeqCst))
        .unwrap()
}

fn pos(base: &str) -> PosHttpClient {
    PosHttpClient::new(base, "pos-key".to_owned(), settings(), fast()).unwrap()
}

fn ticket() -> PosTicket {
    let payload: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/partners/app/order.json")).unwrap();
    let order = partners::adapt(
        Partner::ChainApp,
        &payload,
        &order_domain::Catalog::embedded().unwrap(),
    )
    .unwrap();
    PosTicket::for_order(&order)
}

fn store() -> StoreId {
    StoreId::parse("S1001").unwrap()
}

#[tokio::test]
async fn a_pos_order_is_created_with_the_idempotency_key_and_api_key() {
    let (base, script) = serve(vec![reply(
        201,
        r#"{"posOrderId":"P-77","status":"queued"}"#,
    )])
    .await;
    let id = pos(&base)
        .create(&store(), &ticket(), "app.APP-1")
        .await
        .unwrap();
    assert_eq!(id.as_str(), "P-77");
    let seen = script.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path, "/pos/v1/stores/S1001/orders");
    assert_eq!(seen.headers["idempotency-key"], "app.APP-1");
    assert_eq!(seen.headers["authorization"], "Bearer pos-key");
    let sent: PosTicket = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(sent, ticket());
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_retried() {
    let mut limited = reply(429, "slow down");
    limited.headers.push(("retry-after", "1".to_owned()));
    let (base, script) = serve(vec![limited, reply(201, r#"{"posOrderId":"P-1"}"#)]).await;
    let started = Instant::now();
    let id = pos(&base).create(&store(), &ticket(), "k").await.unwrap();
    assert_eq!(id.as_str(), "P-1");
    assert_eq!(script.seen.lock().unwrap().len(), 2);
    // The client waited for the server's Retry-After, not its own (much shorter) backoff.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_goes_back_to_the_caller_as_transient() {
    let mut limited = reply(429, "come back in a minute");
    limited.headers.push(("retry-after", "60".to_owned()));
    let (base, script) = serve(vec![limited]).await;
    let err = pos(&base)
        .create(&store(), &ticket(), "k")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.status, Some(429));
    assert_eq!(err.retry_after, Some(Duration::from_secs(60)));
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_transient() {
    let (base, script) = serve(vec![
        reply(503, "down"),
        reply(502, "down"),
        reply(500, "down"),
    ])
    .await;
    let err = pos(&base)
        .create(&store(), &ticket(), "k")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.status, Some(500));
    assert_eq!(script.seen.lock().unwrap().len(), 3);
    assert!(err.to_string().contains("answered 500"), "{err}");
}

/// A POS that keeps failing is held off: after three calls in a row fail (each after the
/// client's own three attempts), the next call fails at once without reaching it, naming the
/// open circuit; another store's POS is not held off; a refusal (the POS answered) does not
/// count against it.
#[tokio::test]
async fn a_failing_pos_is_held_off_per_store_after_three_failed_calls() {
    // The script's default answer is a 500: every call fails.
    let (base, script) = serve(vec![reply(422, "bad ticket")]).await;
    let client = pos(&base);
    let refused = client.create(&store(), &ticket(), "k0").await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Permanent);
    for i in 0..3 {
        let e = client
            .create(&store(), &ticket(), &format!("k{i}"))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(!e.message.contains("circuit open"), "{e}");
    }
    let reached = script.seen.lock().unwrap().len();
    assert_eq!(
        reached,
        1 + 3 * 3,
        "a refusal, then three calls of three attempts"
    );
    let held = client.create(&store(), &ticket(), "k4").await.unwrap_err();
    assert_eq!(held.kind, ErrorKind::Transient);
    assert!(held.message.contains("circuit open"), "{held}");
    assert_eq!(script.seen.lock().unwrap().len(), reached, "not sent");
    let other = StoreId::parse("S2002").unwrap();
    let e = client.create(&other, &ticket(), "k5").await.unwrap_err();
    assert!(!e.message.contains("circuit open"), "{e}");
    assert_eq!(script.seen.lock().unwrap().len(), reached + 3);
}

#[tokio::test]
async fn a_client_error_is_permanent_and_not_retried() {
    let (base, script) = serve(vec![reply(422, r#"{"error":"unknown item code"}"#)]).await;
    let err = pos(&base)
        .create(&store(), &ticket(), "k")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(script.seen.lock().unwrap().len(), 1);
    assert!(err.message.contains("unknown item code"), "{err}");
}

#[tokio::test]
async fn a_hanging_server_times_out_as_transient() {
    let mut slow = reply(201, r#"{"posOrderId":"P-1"}"#);
    slow.delay = Duration::from_secs(3);
    let (base, script) = serve(vec![slow.clone(), slow.clone(), slow]).await;
    let err = pos(&base)
        .create(&store(), &ticket(), "k")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(err.message.contains("timed out"), "{err}");
    assert_eq!(script.seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = pos(&base)
        .void(&store(), &PosOrderId::parse("P-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
}

#[tokio::test]
async fn a_2xx_answer_that_is_not_json_is_permanent() {
    let (base, _) = serve(vec![reply(200, "<html>")]).await;
    let err = pos(&base)
        .status(&store(), &PosOrderId::parse("P-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
}

/// Each partner's credential in its own scheme; Uber's token endpoint on the same server.
fn partner_client(base: &str) -> PartnerHttpClient {
    partner_client_with(base, settings())
}

fn partner_client_with(base: &str, settings: HttpSettings) -> PartnerHttpClient {
    let credential = |p: Partner| match p {
        Partner::UberEats => "client_credentials:uber-client:uber-secret".to_owned(),
        Partner::DoorDash => "jwt:dev-1:key-1:c2VjcmV0".to_owned(),
        Partner::Grubhub => "mac:gh-key:sv:v1:gh-client:gh-secret:1441115023929".to_owned(),
        Partner::ChainApp => format!("{p}-token"),
    };
    let endpoints = Partner::ALL
        .into_iter()
        .map(|p| {
            (
                p,
                PartnerEndpoint {
                    base_url: base.to_owned(),
                    credentials: partners::outbound::ApiCredentials::parse(p, &credential(p))
                        .unwrap(),
                    token_url: Some(format!("{base}/oauth/v2/token")),
                    token_store: None,
                },
            )
        })
        .collect::<HashMap<_, _>>();
    PartnerHttpClient::new(endpoints, settings, fast()).unwrap()
}

/// Uber's token endpoint's answer.
fn uber_token(token: &str, expires_in: u64) -> Reply {
    reply(
        200,
        &format!(
            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in},"scope":"eats.order"}}"#
        ),
    )
}

#[tokio::test]
async fn partner_calls_use_each_partners_path_and_token() {
    let (base, script) = serve(vec![
        reply(200, "{}"),
        reply(204, ""),
        uber_token("uber-access-1", 3600),
        reply(200, r#"{"id":"u-1"}"#),
    ])
    .await;
    let client = partner_client(&base);
    let dd = OrderRef {
        partner: Partner::DoorDash,
        partner_order_id: PartnerOrderId::parse("dd-1").unwrap(),
        partner_store_id: None,
    };
    client
        .notify(
            &dd,
            &dd.order_id(),
            &PartnerAction::accept(chrono::Utc::now(), chrono::Utc::now()),
        )
        .await
        .unwrap();
    let gh = OrderRef {
        partner: Partner::Grubhub,
        partner_order_id: PartnerOrderId::parse("gh-1").unwrap(),
        partner_store_id: Some("GH-88231".into()),
    };
    client
        .notify(
            &gh,
            &gh.order_id(),
            &PartnerAction::Cancel {
                reason: partners::CancelReason::PartnerRequested,
                detail: "x".into(),
            },
        )
        .await
        .unwrap();
    let fetched = client
        .fetch_order(Partner::UberEats, &PartnerOrderId::parse("u-1").unwrap())
        .await
        .unwrap();
    assert_eq!(fetched["id"], "u-1");
    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("PATCH", "/api/v1/orders/dd-1")
    );
    // DoorDash: a JWT and auth-version v2.
    let jwt = seen[0].headers["authorization"].to_str().unwrap();
    assert!(jwt.starts_with("Bearer ey"), "{jwt}");
    assert_eq!(seen[0].headers["auth-version"], "v2");
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("PUT", "/pos/v1/merchant/GH-88231/orders/gh-1/status")
    );
    // Grubhub: the partner key, and a MAC whose body hash is the body's.
    assert_eq!(seen[1].headers["x-gh-partner-key"], "gh-key");
    let mac = partners::outbound::MacAuthorization::parse(
        seen[1].headers["authorization"].to_str().unwrap(),
    )
    .unwrap();
    assert_eq!(mac.id, "sv:v1:gh-client");
    // The body hash and the MAC, recomputed here from what arrived on the wire with the hmac
    // and sha2 crates directly (the scheme's steps as partners/tests/auth_vectors.rs pins them
    // against OpenSSL), not with the signer's own functions.
    {
        use base64::Engine as _;
        use hmac::Mac as _;
        use sha2::Digest as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            mac.body_hash,
            b64.encode(sha2::Sha256::digest(&seen[1].body))
        );
        let host = seen[1].headers["host"].to_str().unwrap();
        let (host, port) = host.rsplit_once(':').unwrap();
        let normalised = format!(
            "{}\nPUT\n{}\n{host}\n{port}\n{}\n\n",
            mac.nonce, seen[1].path, mac.body_hash
        );
        let mut h = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"gh-secret").unwrap();
        h.update(normalised.as_bytes());
        assert_eq!(mac.mac, b64.encode(h.finalize().into_bytes()));
    }
    // Uber: the client credentials for a token, then the token.
    assert_eq!(
        (seen[2].method.as_str(), seen[2].path.as_str()),
        ("POST", "/oauth/v2/token")
    );
    let form = String::from_utf8(seen[2].body.to_vec()).unwrap();
    assert!(
        form.contains("grant_type=client_credentials") && form.contains("client_id=uber-client"),
        "{form}"
    );
    assert_eq!(
        (seen[3].method.as_str(), seen[3].path.as_str()),
        ("GET", "/v2/eats/order/u-1")
    );
    assert_eq!(seen[3].headers["authorization"], "Bearer uber-access-1");
}

#[tokio::test]
async fn fetching_from_a_partner_that_pushes_whole_orders_is_a_permanent_error() {
    let err = partner_client("http://127.0.0.1:9")
        .fetch_order(Partner::DoorDash, &PartnerOrderId::parse("x").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
}

/// Uber Eats answers a cancel of an order already ended (or never there) with 404: done, not
/// failed. The same 404 to an Uber accept, or to a DoorDash cancel, is still a failure.
#[tokio::test]
async fn an_uber_cancel_answered_404_is_already_done_and_other_404s_are_failures() {
    let (base, script) = serve(vec![
        uber_token("uber-access-1", 3600),
        reply(404, r#"{"code":"not_found"}"#),
        reply(404, r#"{"code":"not_found"}"#),
        reply(404, r#"{"message":"no such order"}"#),
    ])
    .await;
    let client = partner_client(&base);
    let cancel = PartnerAction::Cancel {
        reason: partners::CancelReason::StoreUnavailable,
        detail: "fryer down".into(),
    };
    let ue = OrderRef {
        partner: Partner::UberEats,
        partner_order_id: PartnerOrderId::parse("u-9").unwrap(),
        partner_store_id: None,
    };
    client.notify(&ue, &ue.order_id(), &cancel).await.unwrap();
    let accept = client
        .notify(
            &ue,
            &ue.order_id(),
            &PartnerAction::accept(chrono::Utc::now(), chrono::Utc::now()),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (accept.kind, accept.status),
        (ErrorKind::Permanent, Some(404))
    );
    let dd = OrderRef {
        partner: Partner::DoorDash,
        partner_order_id: PartnerOrderId::parse("dd-9").unwrap(),
        partner_store_id: None,
    };
    let e = client
        .notify(&dd, &dd.order_id(), &cancel)
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(404));
    // One call each: a 404 is not retried.
    let seen = script.seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/oauth/v2/token",
            "/v1/eats/orders/u-9/cancel",
            "/v1/eats/orders/u-9/accept_pos_order",
            "/api/v1/orders/dd-9/cancellation"
        ]
    );
}

/// Fifty concurrent Uber calls share one access token, fetched once; a 401 drops it and
/// fetches another once, and the call goes through; a token near its expiry is replaced
/// before it lapses.
#[tokio::test]
async fn uber_calls_share_one_cached_token_and_fetch_another_on_401_or_near_expiry() {
    let mut replies = vec![uber_token("first", 3600)];
    replies.extend((0..50).map(|_| reply(200, "{}")));
    // A 401 to the next call: the token is revoked; a new one, and the call again.
    replies.extend([
        reply(401, r#"{"code":"unauthorized"}"#),
        uber_token("second", 1),
        reply(200, "{}"),
        // A 401 to the token fetched after a 401: not cured by a token, so none is fetched.
        reply(401, r#"{"code":"unauthorized"}"#),
    ]);
    // "second" lives one second and is refreshed a tenth early: at 0.95 s on the client's
    // clock (which stands still but when moved), still valid but inside its margin, a third
    // token is fetched.
    replies.extend([uber_token("third", 3600), reply(200, "{}")]);
    let (base, script) = serve(replies).await;
    let client = Arc::new(partner_client_with(
        &base,
        HttpSettings {
            clock: frozen_now,
            ..settings()
        },
    ));
    let accept = PartnerAction::accept(chrono::Utc::now(), chrono::Utc::now());
    let calls = (0..50).map(|i| {
        let (client, accept) = (client.clone(), accept.clone());
        tokio::spawn(async move {
            let order = OrderRef {
                partner: Partner::UberEats,
                partner_order_id: PartnerOrderId::parse(format!("u-{i}")).unwrap(),
                partner_store_id: None,
            };
            client.notify(&order, &order.order_id(), &accept).await
        })
    });
    let calls: Vec<_> = calls.collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let order = OrderRef {
        partner: Partner::UberEats,
        partner_order_id: PartnerOrderId::parse("u-x").unwrap(),
        partner_store_id: None,
    };
    client
        .notify(&order, &order.order_id(), &accept)
        .await
        .unwrap();
    let refused = client
        .notify(&order, &order.order_id(), &accept)
        .await
        .unwrap_err();
    assert_eq!(
        (refused.kind, refused.status),
        (ErrorKind::Permanent, Some(401))
    );
    FROZEN_MS.fetch_add(950, std::sync::atomic::Ordering::SeqCst);
    client
        .notify(&order, &order.order_id(), &accept)
        .await
        .unwrap();
    let seen = script.seen.lock().unwrap().clone();
    let tokens: Vec<&str> = seen
        .iter()
        .filter(|s| s.path == "/oauth/v2/token")
        .map(|_| "token")
        .collect();
    assert_eq!(
        tokens.len(),
        3,
        "one fetch for 50 calls, one after the 401, one at expiry"
    );
    let bearer = |s: &Seen| s.headers["authorization"].to_str().unwrap().to_owned();
    let api: Vec<String> = seen
        .iter()
        .filter(|s| s.path != "/oauth/v2/token")
        .map(bearer)
        .collect();
    assert!(api[..51].iter().all(|b| b == "Bearer first"), "{api:?}");
    assert_eq!(
        api[51..],
        ["Bearer second", "Bearer second", "Bearer third"]
    );
}

/// A token endpoint that refuses the client is a permanent failure, named; it is asked once.
#[tokio::test]
async fn a_refused_client_credential_is_a_permanent_error_that_names_the_token_endpoint() {
    let (base, script) = serve(vec![reply(401, r#"{"error":"invalid_client"}"#)]).await;
    let client = partner_client(&base);
    let err = client
        .fetch_order(Partner::UberEats, &PartnerOrderId::parse("u-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert!(
        err.to_string().contains("oauth/v2/token answered 401"),
        "{err}"
    );
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}
