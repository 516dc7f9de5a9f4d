//! Partner and POS simulators on loopback: each partner's API (the paths and verbs the
//! `partners` crate describes) and the stores' POS gateway. Every call is recorded, and faults
//! can be injected per run: latency, an error rate, 429 with `Retry-After`, a fixed refusal,
//! timeouts (answering after the client gave up), hanging connections, and lost answers (the
//! request takes effect, then the caller gets a 502 as from a gateway that lost the answer).

pub mod auth;
pub mod partner;
pub mod pos;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Faults to inject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Added to every answer, milliseconds.
    pub latency_ms: u64,
    /// Random extra latency up to this, milliseconds.
    pub jitter_ms: u64,
    /// Fraction of requests answered 500.
    pub error_rate: f64,
    /// The next this many requests are answered 429 with `Retry-After`.
    pub throttle_next: u32,
    /// The `Retry-After` seconds of those 429s.
    pub retry_after_seconds: u32,
    /// The next this many requests are answered with `refuse_status`.
    pub refuse_next: u32,
    /// The status of refusals (for example 422).
    pub refuse_status: u16,
    /// Fraction of requests answered only after `timeout_after_ms` (after the client gives up).
    pub timeout_rate: f64,
    /// How late a timed-out answer comes, milliseconds.
    pub timeout_after_ms: u64,
    /// The next this many requests never get an answer.
    pub hang_next: u32,
    /// Fraction of requests answered 429 with `Retry-After` (`retry_after_seconds`).
    pub throttle_rate: f64,
    /// Fraction of requests that never get an answer (the client's timeout ends them).
    pub hang_rate: f64,
    /// Fraction of requests that take effect and whose answer is then lost: the caller gets
    /// `502 Bad Gateway`, as from a gateway whose upstream answered after it gave up.
    pub lost_answer_rate: f64,
    /// With a seed, each request's fault is drawn from the seed, the request (method, path and
    /// `Idempotency-Key`) and how many times that request was made before, so a run repeats its faults per
    /// request whatever order concurrent requests arrive in. Without one, from a fresh source.
    pub seed: Option<u64>,
}

/// A recorded call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// JSON body (null if none or not JSON).
    pub body: Value,
    /// `Idempotency-Key`, if sent.
    pub idempotency_key: Option<String>,
    /// HTTP status the handler answered (what took effect).
    pub status: u16,
    /// The answer never reached the caller (it got a 502 instead): the effect happened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answer_lost: bool,
}

/// A fault the simulator injected, as its own log keeps it: what a chaos run's verdict
/// justifies a failed order by (see `chaos::reconcile`), written before the request is
/// answered (a hanging request is never answered, so never reaches [`Call`]s).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    /// When it was drawn, epoch seconds.
    pub at: f64,
    /// Its kind (`500`, `429`, `refused`, `late`, `hang`, `lost answer`).
    pub kind: &'static str,
    /// The request's method.
    pub method: String,
    /// The request's path and query.
    pub path_and_query: String,
    /// Its `Idempotency-Key`, if sent.
    pub idempotency_key: Option<String>,
    /// Its JSON body (null if none or not JSON).
    pub body: Value,
}

/// State shared by a simulator's handlers.
#[derive(Debug)]
pub struct Sim {
    /// Its name (`ubereats`, …, `pos`).
    pub name: String,
    /// How callers authenticate.
    pub auth: auth::Expect,
    faults: Mutex<Faults>,
    calls: Mutex<Vec<Call>>,
    injected: Mutex<std::collections::BTreeMap<&'static str, usize>>,
    /// Every fault injected, with its request.
    injected_log: Mutex<Vec<Injected>>,
    /// Requests that drew against a fault rate above zero.
    exposed: std::sync::atomic::AtomicUsize,
    /// Calls seen per request (the draw's key with a seed).
    seen: Mutex<std::collections::HashMap<String, u64>>,
}

impl Sim {
    /// A simulator expecting bearer `token`.
    pub fn new(name: &str, token: &str) -> Arc<Self> {
        Self::with_auth(name, auth::Expect::bearer(token))
    }

    /// A simulator authenticating callers as `auth` says.
    pub fn with_auth(name: &str, auth: auth::Expect) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_owned(),
            auth,
            faults: Mutex::default(),
            calls: Mutex::default(),
            injected: Mutex::default(),
            injected_log: Mutex::default(),
            exposed: std::sync::atomic::AtomicUsize::new(0),
            seen: Mutex::default(),
        })
    }

    /// Faults injected so far, by kind (`500`, `429`, `refused`, `late`, `hang`, `lost answer`).
    pub async fn injected(&self) -> std::collections::BTreeMap<&'static str, usize> {
        self.injected.lock().await.clone()
    }

    /// Every fault injected so far, with the request it was injected into.
    pub async fn injected_log(&self) -> Vec<Injected> {
        self.injected_log.lock().await.clone()
    }

    /// Requests that drew against a fault rate above zero (what a kind's share of faults is
    /// a share of).
    pub fn exposed_requests(&self) -> usize {
        self.exposed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Replaces its faults.
    pub async fn set_faults(&self, f: Faults) {
        *self.faults.lock().await = f;
    }

    /// Every call so far.
    pub async fn calls(&self) -> Vec<Call> {
        self.calls.lock().await.clone()
    }

    /// Forgets calls and faults.
    pub async fn reset(&self) {
        self.calls.lock().await.clear();
        self.seen.lock().await.clear();
        self.injected_log.lock().await.clear();
        *self.faults.lock().await = Faults::default();
    }

    async fn record(&self, call: Call) {
        self.calls.lock().await.push(call);
    }
}

/// What a fault decides for one request.
enum Verdict {
    Pass,
    Answer(Response),
    Late(Duration),
    Hang,
    LoseAnswer,
}

fn throttled(retry_after_seconds: u32) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({ "error": "rate limited" })),
    )
        .into_response();
    if let Ok(v) = retry_after_seconds.to_string().parse() {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

async fn decide(sim: &Sim, request: &str) -> (Verdict, Duration, Option<&'static str>) {
    let (verdict, delay) = draw(sim, request).await;
    let kind = match &verdict {
        Verdict::Pass => None,
        Verdict::Answer(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => Some("429"),
        Verdict::Answer(r) if r.status().is_server_error() => Some("500"),
        Verdict::Answer(_) => Some("refused"),
        Verdict::Late(_) => Some("late"),
        Verdict::Hang => Some("hang"),
        Verdict::LoseAnswer => Some("lost answer"),
    };
    if let Some(k) = kind {
        *sim.injected.lock().await.entry(k).or_default() += 1;
    }
    (verdict, delay, kind)
}

/// The source of one request's draws: keyed by the seed and the request (see
/// [`Faults::seed`]), or fresh.
async fn source(sim: &Sim, seed: Option<u64>, request: &str) -> fastrand::Rng {
    let Some(seed) = seed else {
        return fastrand::Rng::new();
    };
    let key = request;
    let n = {
        let mut seen = sim.seen.lock().await;
        let n = seen.entry(key.to_owned()).or_default();
        *n += 1;
        *n
    };
    fastrand::Rng::with_seed(crate::seeded::keyed_seed(
        seed,
        &[sim.name.as_bytes(), key.as_bytes(), &n.to_le_bytes()],
    ))
}

async fn draw(sim: &Sim, request: &str) -> (Verdict, Duration) {
    let mut f = sim.faults.lock().await;
    let mut rng = source(sim, f.seed, request).await;
    let delay = Duration::from_millis(
        f.latency_ms
            + if f.jitter_ms > 0 {
                rng.u64(0..=f.jitter_ms)
            } else {
                0
            },
    );
    if [
        f.error_rate,
        f.timeout_rate,
        f.throttle_rate,
        f.hang_rate,
        f.lost_answer_rate,
    ]
    .iter()
    .any(|r| *r > 0.0)
    {
        sim.exposed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if f.hang_next > 0 {
        f.hang_next -= 1;
        return (Verdict::Hang, delay);
    }
    if f.throttle_next > 0 {
        f.throttle_next -= 1;
        return (Verdict::Answer(throttled(f.retry_after_seconds)), delay);
    }
    if f.refuse_next > 0 {
        f.refuse_next -= 1;
        let status =
            StatusCode::from_u16(f.refuse_status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        return (
            Verdict::Answer(
                (
                    status,
                    Json(json!({ "error": "refused by fault injection" })),
                )
                    .into_response(),
            ),
            delay,
        );
    }
    if f.error_rate > 0.0 && rng.f64() < f.error_rate {
        return (
            Verdict::Answer(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": "injected error" })),
                )
                    .into_response(),
            ),
            delay,
        );
    }
    if f.timeout_rate > 0.0 && rng.f64() < f.timeout_rate {
        return (
            Verdict::Late(Duration::from_millis(f.timeout_after_ms.max(1))),
            delay,
        );
    }
    if f.throttle_rate > 0.0 && rng.f64() < f.throttle_rate {
        return (Verdict::Answer(throttled(f.retry_after_seconds)), delay);
    }
    if f.hang_rate > 0.0 && rng.f64() < f.hang_rate {
        return (Verdict::Hang, delay);
    }
    if f.lost_answer_rate > 0.0 && rng.f64() < f.lost_answer_rate {
        return (Verdict::LoseAnswer, delay);
    }
    (Verdict::Pass, delay)
}

/// Middleware: authentication, faults and recording around every simulator handler.
pub async fn around(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    // When the request arrived, before any injected delay: what a handler records happened
    // then from the caller's side, whenever it takes effect.
    let arrived = chrono::Utc::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    if path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    let headers: HeaderMap = req.headers().clone();
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 10 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let body_json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_owned());
    // The token endpoint takes the client credentials in its body; everything else is checked.
    let authorized = if path == partners::outbound::UBER_TOKEN_PATH && sim.auth.issues_tokens() {
        Ok(())
    } else {
        sim.auth
            .check(&method, &path_and_query, &headers, &bytes)
            .await
    };
    let request = format!(
        "{method} {path} {}",
        idempotency_key.as_deref().unwrap_or_default()
    );
    let (verdict, delay, kind) = decide(&sim, &request).await;
    if let Some(kind) = kind {
        sim.injected_log.lock().await.push(Injected {
            at: chrono::Utc::now().timestamp_micros() as f64 / 1e6,
            kind,
            method: method.clone(),
            path_and_query: path_and_query.clone(),
            idempotency_key: idempotency_key.clone(),
            body: body_json.clone(),
        });
    }
    tokio::time::sleep(delay).await;
    let mut answer_lost = false;
    let response = if let Err((status, why)) = authorized {
        (status, Json(json!({ "error": why }))).into_response()
    } else {
        match verdict {
            Verdict::Hang => {
                // Never answers; the connection stays open until the client gives up.
                std::future::pending::<()>().await;
                unreachable!("pending never resolves")
            }
            Verdict::Answer(r) => r,
            Verdict::Late(_) | Verdict::Pass | Verdict::LoseAnswer => {
                if let Verdict::Late(d) = verdict {
                    tokio::time::sleep(d).await;
                }
                answer_lost = matches!(verdict, Verdict::LoseAnswer);
                REQUESTED_AT
                    .scope(
                        arrived,
                        next.run(Request::from_parts(
                            parts,
                            axum::body::Body::from(bytes.clone()),
                        )),
                    )
                    .await
            }
        }
    };
    sim.record(Call {
        method,
        path,
        body: body_json,
        idempotency_key,
        status: response.status().as_u16(),
        answer_lost,
    })
    .await;
    if answer_lost {
        return (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "error": "the upstream's answer was lost (fault injection)" })),
        )
            .into_response();
    }
    response
}

tokio::task_local! {
    /// When the request being handled arrived at the simulator ([`around`]), for the ledgers.
    pub static REQUESTED_AT: chrono::DateTime<chrono::Utc>;
}

/// When the request being handled arrived (now, outside a request).
pub fn requested_at() -> chrono::DateTime<chrono::Utc> {
    REQUESTED_AT
        .try_with(|t| *t)
        .unwrap_or_else(|_| chrono::Utc::now())
}

/// `/_sim/faults` (POST to set, GET to read), `/_sim/calls`, `/_sim/reset`.
pub fn admin_routes(router: axum::Router<Arc<Sim>>) -> axum::Router<Arc<Sim>> {
    use axum::routing::{get, post};
    router
        .route(
            "/_sim/faults",
            post(
                |State(s): State<Arc<Sim>>, Json(f): Json<Faults>| async move {
                    s.set_faults(f).await;
                    StatusCode::NO_CONTENT
                },
            )
            .get(|State(s): State<Arc<Sim>>| async move { Json(s.faults.lock().await.clone()) }),
        )
        .route(
            "/_sim/calls",
            get(|State(s): State<Arc<Sim>>| async move { Json(s.calls().await) }),
        )
        .route(
            "/_sim/reset",
            post(|State(s): State<Arc<Sim>>| async move {
                s.reset().await;
                StatusCode::NO_CONTENT
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(v: &Verdict) -> &'static str {
        match v {
            Verdict::Pass => "pass",
            Verdict::Answer(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => "429",
            Verdict::Answer(_) => "500",
            Verdict::Late(_) => "late",
            Verdict::Hang => "hang",
            Verdict::LoseAnswer => "lost answer",
        }
    }

    /// What each request drew, in `order`, as (request, its n-th time, verdict).
    async fn run(seed: Option<u64>, order: &[&str]) -> Vec<(String, usize, &'static str)> {
        let sim = Sim::new("pos", "t");
        sim.set_faults(Faults {
            seed,
            ..crate::chaos::sim_faults(0.9, 0)
        })
        .await;
        let mut seen = std::collections::HashMap::<&str, usize>::new();
        let mut out = Vec::new();
        for r in order {
            let (v, _) = draw(&sim, r).await;
            let n = seen.entry(r).or_default();
            *n += 1;
            out.push(((*r).to_owned(), *n, kind(&v)));
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn a_seeded_simulator_draws_each_requests_fault_whatever_order_requests_arrive_in() {
        let requests: Vec<String> = (0..40).map(|i| format!("POST /orders/{i} k-{i}")).collect();
        let mut order: Vec<&str> = requests
            .iter()
            .chain(&requests)
            .map(String::as_str)
            .collect();
        let first = run(Some(7), &order).await;
        order.reverse();
        assert_eq!(run(Some(7), &order).await, first);
        // The draws are faults at the configured share, not one fixed verdict.
        let kinds: std::collections::BTreeSet<_> = first.iter().map(|(_, _, k)| *k).collect();
        assert!(kinds.len() >= 3, "{kinds:?}");
        // Another seed is another run.
        assert_ne!(run(Some(8), &order).await, first);
    }
}
