//! The Lambda Runtime API each function process polls (`next`, `response`, `error`,
//! `init/error`), as Lambda serves it to an execution environment.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

use super::*;

#[derive(Clone)]
pub(super) struct WorkerState {
    pub(super) pool: Arc<Pool>,
    pub(super) worker: Arc<Worker>,
    pub(super) pending: Arc<Mutex<HashMap<String, Pending>>>,
}

pub(super) async fn next(State(s): State<WorkerState>) -> Response {
    if let Some(started) = s.worker.started.lock().await.take() {
        s.pool
            .stats
            .lock()
            .await
            .init_times_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // Skip invocations that timed out while queued.
    let (id, pending, mut requeue) = loop {
        let id = {
            let mut rx = s.pool.queue_rx.lock().await;
            match rx.recv().await {
                Some(id) => id,
                None => return StatusCode::GONE.into_response(),
            }
        };
        // From here until the answer is returned, a process that dies mid-poll (its
        // connection closes and hyper drops this future) must not take the invocation with it.
        let mut requeue = Requeue {
            queue: &s.pool.queue_tx,
            id: Some(id.clone()),
        };
        let pending = s.pending.lock().await;
        if pending.contains_key(&id) {
            break (id, pending, requeue);
        }
        requeue.disarm();
    };
    let mut pending = pending;
    let Some(p) = pending.get_mut(&id) else {
        return StatusCode::GONE.into_response();
    };
    // The timeout runs from here, as on Lambda, not from when the invocation was queued.
    let deadline_ms = chrono::Utc::now().timestamp_millis()
        + i64::try_from(p.timeout.as_millis()).unwrap_or(i64::MAX);
    if let Some(taken) = p.taken.take() {
        let _ = taken.send(());
    }
    p.began = Some(Instant::now());
    p.began_waited_ns = match *s.worker.pid.lock().await {
        Some(pid) => waited_for_cpu_ns(pid),
        None => None,
    };
    *s.worker.in_flight.lock().await = Some(id.clone());
    let mut headers = HeaderMap::new();
    let put = |h: &mut HeaderMap, k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    put(&mut headers, "lambda-runtime-aws-request-id", id.clone());
    put(
        &mut headers,
        "lambda-runtime-deadline-ms",
        deadline_ms.to_string(),
    );
    put(
        &mut headers,
        "lambda-runtime-invoked-function-arn",
        s.pool.function.arn.clone(),
    );
    put(&mut headers, "lambda-runtime-trace-id", p.trace_id.clone());
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let answer = (StatusCode::OK, headers, p.payload.to_string()).into_response();
    requeue.disarm();
    answer
}

/// An invocation taken off a function's queue by a `next` poll that has not answered yet: if
/// the poll is abandoned first (its process died and hyper dropped the handler), the
/// invocation goes back on the queue for another process instead of waiting out
/// `QUEUE_LIMIT` for an answer no one will give.
struct Requeue<'a> {
    queue: &'a tokio::sync::mpsc::Sender<String>,
    id: Option<String>,
}

impl Requeue<'_> {
    /// The poll answered (or the invocation was not to run): nothing to put back.
    fn disarm(&mut self) {
        self.id = None;
    }
}

impl Drop for Requeue<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.queue.try_send(id);
        }
    }
}

pub(super) async fn finish(s: &WorkerState, id: &str, outcome: Outcome) {
    if let Some(p) = s.pending.lock().await.remove(id) {
        // Lambda bills duration rounded up to the next millisecond (Lambda pricing). Time the
        // process spent runnable but waiting for one of this machine's cores is not billed:
        // an execution environment has its own CPU share, so on AWS that wait would not
        // happen (the meter stretches the CPU time itself to the memory's share instead).
        // Measured before taking the pool's statistics lock: no file is read under it.
        let billed_ms = match p.began {
            Some(began) => {
                let elapsed_ns = began.elapsed().as_nanos() as u64;
                let pid = *s.worker.pid.lock().await;
                let waited_ns = match (p.began_waited_ns, pid.and_then(waited_for_cpu_ns)) {
                    (Some(before), Some(now)) => now.saturating_sub(before),
                    _ => 0,
                };
                (elapsed_ns.saturating_sub(waited_ns) as f64 / 1e6).ceil() as u64
            }
            None => 0,
        };
        let failed = matches!(outcome, Outcome::Err { .. });
        let _ = p.reply.send((outcome, Duration::from_millis(billed_ms)));
        let mut stats = s.pool.stats.lock().await;
        stats.invocations += 1;
        stats.function_errors += u64::from(failed);
        stats.billed_ms += billed_ms;
    }
    let mut f = s.worker.in_flight.lock().await;
    if f.as_deref() == Some(id) {
        *f = None;
    }
}

pub(super) async fn response(
    State(s): State<WorkerState>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let outcome = if body.len() > SYNC_PAYLOAD_LIMIT_BYTES {
        Outcome::err(
            "Function.ResponseSizeTooLarge",
            format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({SYNC_PAYLOAD_LIMIT_BYTES} bytes).",
                body.len()
            ),
        )
    } else {
        Outcome::Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    };
    finish(&s, &id, outcome).await;
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

pub(super) async fn error(
    State(s): State<WorkerState>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let outcome = Outcome::err(
        v.get("errorType")
            .and_then(Value::as_str)
            .unwrap_or("Unhandled"),
        v.get("errorMessage")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    finish(&s, &id, outcome).await;
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

pub(super) async fn init_error(State(s): State<WorkerState>, body: Bytes) -> Response {
    tracing::error!(function = %s.pool.function.name, "init error: {}", String::from_utf8_lossy(&body));
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}
