//! Lambda: every function's real binary runs as its own processes against a Lambda Runtime
//! API served here (`AWS_LAMBDA_RUNTIME_API`: `next`, `response`, `error`, `init/error`, with
//! the request id, deadline, function ARN and trace headers), with the template's environment.
//! Each process is one execution environment, so a function's concurrency is its number of
//! processes. A process that dies is restarted and its in-flight invocation reported failed
//! (`Runtime.ExitError`), as Lambda does; one that overruns its timeout is killed
//! (`Sandbox.Timedout`). The timeout runs from when a process takes the invocation. When every
//! process is busy, invocations queue (Lambda would refuse them with `TooManyRequestsException`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::app::{Function, REGION};
use crate::clock::TimeScale;
use crate::queues::Queues;

/// The outcome of an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function returned this.
    Ok(Value),
    /// The function (or its runtime) failed.
    Err {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
}

impl Outcome {
    fn err(t: &str, m: impl Into<String>) -> Self {
        Outcome::Err {
            error_type: t.to_owned(),
            error_message: m.into(),
        }
    }
}

struct Pending {
    function: String,
    payload: Value,
    /// The function's timeout; its clock starts when a process takes the invocation.
    timeout: Duration,
    /// Told when a process takes the invocation.
    taken: Option<oneshot::Sender<()>>,
    trace_id: String,
    reply: oneshot::Sender<Outcome>,
}

/// How long an invocation may wait for a free process. Lambda would refuse it at once with
/// `TooManyRequestsException` when the function is at its concurrency; here it queues, up to
/// Lambda's longest timeout.
const QUEUE_LIMIT: Duration = Duration::from_secs(900);

/// Per-function measurements.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FunctionStats {
    /// Process start to its first `next` poll, per process start.
    pub init_times_ms: Vec<f64>,
    /// Largest resident set any of its processes reached, kB.
    pub peak_rss_kb: u64,
    /// Invocations answered.
    pub invocations: u64,
    /// Processes restarted after dying.
    pub restarts: u64,
}

struct Worker {
    index: usize,
    port: u16,
    pid: Mutex<Option<u32>>,
    in_flight: Mutex<Option<String>>,
    started: Mutex<Option<Instant>>,
}

struct Pool {
    function: Function,
    queue_tx: mpsc::Sender<String>,
    queue_rx: Mutex<mpsc::Receiver<String>>,
    workers: Vec<Arc<Worker>>,
    stats: Mutex<FunctionStats>,
}

/// How to run the functions.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// Where the binaries are (`target/debug`, `target/release`).
    pub bin_dir: PathBuf,
    /// Processes per function.
    pub concurrency: usize,
    /// Processes of particular functions (by binary name), instead of `concurrency`.
    pub concurrency_of: BTreeMap<String, usize>,
    /// Environment every function gets (endpoints, credentials).
    pub shared_env: BTreeMap<String, String>,
    /// Where the functions' logs go.
    pub log_dir: PathBuf,
    /// Workflow time scale (async retry delays).
    pub time_scale: TimeScale,
    /// The account's IAM: each function's processes get its role's access key, and its
    /// failure destination is written with its role.
    pub iam: Arc<crate::iam::Iam>,
}

/// The Lambda service.
pub struct Lambda {
    pools: HashMap<String, Arc<Pool>>,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
    config: LambdaConfig,
    queues: Arc<Queues>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

#[derive(Clone)]
struct WorkerState {
    pool: Arc<Pool>,
    worker: Arc<Worker>,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

async fn next(State(s): State<WorkerState>) -> Response {
    if let Some(started) = s.worker.started.lock().await.take() {
        s.pool
            .stats
            .lock()
            .await
            .init_times_ms
            .push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // Skip invocations that timed out while queued.
    let (id, pending) = loop {
        let id = {
            let mut rx = s.pool.queue_rx.lock().await;
            match rx.recv().await {
                Some(id) => id,
                None => return StatusCode::GONE.into_response(),
            }
        };
        let pending = s.pending.lock().await;
        if pending.contains_key(&id) {
            break (id, pending);
        }
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
    (StatusCode::OK, headers, p.payload.to_string()).into_response()
}

async fn finish(s: &WorkerState, id: &str, outcome: Outcome) {
    if let Some(p) = s.pending.lock().await.remove(id) {
        let _ = p.reply.send(outcome);
        s.pool.stats.lock().await.invocations += 1;
    }
    let mut f = s.worker.in_flight.lock().await;
    if f.as_deref() == Some(id) {
        *f = None;
    }
}

async fn response(
    State(s): State<WorkerState>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&s, &id, Outcome::Ok(value)).await;
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn error(
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

async fn init_error(State(s): State<WorkerState>, body: Bytes) -> Response {
    tracing::error!(function = %s.pool.function.name, "init error: {}", String::from_utf8_lossy(&body));
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Lambda {
    /// Starts every function's processes.
    pub async fn start(
        functions: &[Function],
        config: LambdaConfig,
        queues: Arc<Queues>,
    ) -> Result<Arc<Self>, String> {
        std::fs::create_dir_all(&config.log_dir).map_err(|e| e.to_string())?;
        for name in config.concurrency_of.keys() {
            if !functions.iter().any(|f| &f.binary == name) {
                let known: Vec<&str> = functions.iter().map(|f| f.binary.as_str()).collect();
                return Err(format!(
                    "no function binary {name:?} to set the concurrency of (there are {known:?})"
                ));
            }
        }
        let pending: Arc<Mutex<HashMap<String, Pending>>> = Arc::default();
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let mut pools = HashMap::new();
        for f in functions {
            let binary = config.bin_dir.join(&f.binary);
            if !binary.is_file() {
                return Err(format!(
                    "{} is not built: run `cargo build --bins` (looked for {})",
                    f.binary,
                    binary.display()
                ));
            }
            let (tx, rx) = mpsc::channel(10_000);
            let mut workers = Vec::new();
            let processes = config
                .concurrency_of
                .get(&f.binary)
                .copied()
                .unwrap_or(config.concurrency);
            for index in 0..processes.max(1) {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| e.to_string())?;
                let port = listener.local_addr().map_err(|e| e.to_string())?.port();
                let worker = Arc::new(Worker {
                    index,
                    port,
                    pid: Mutex::new(None),
                    in_flight: Mutex::new(None),
                    started: Mutex::new(None),
                });
                workers.push((worker, listener));
            }
            let pool = Arc::new(Pool {
                function: f.clone(),
                queue_tx: tx,
                queue_rx: Mutex::new(rx),
                workers: workers.iter().map(|(w, _)| w.clone()).collect(),
                stats: Mutex::default(),
            });
            for (worker, listener) in workers {
                let state = WorkerState {
                    pool: pool.clone(),
                    worker: worker.clone(),
                    pending: pending.clone(),
                };
                let app = Router::new()
                    .route("/2018-06-01/runtime/invocation/next", get(next))
                    .route(
                        "/2018-06-01/runtime/invocation/{id}/response",
                        post(response),
                    )
                    .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
                    .route("/2018-06-01/runtime/init/error", post(init_error))
                    .with_state(state);
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
            }
            pools.insert(f.name.clone(), pool);
        }
        let me = Arc::new(Self {
            pools,
            pending,
            config,
            queues,
            shutdown,
        });
        for pool in me.pools.values() {
            for w in &pool.workers {
                me.clone().supervise(pool.clone(), w.clone());
            }
        }
        Ok(me)
    }

    fn supervise(self: Arc<Self>, pool: Arc<Pool>, worker: Arc<Worker>) {
        let mut stop = self.shutdown.subscribe();
        tokio::spawn(async move {
            let f = &pool.function;
            let log_path = self.config.log_dir.join(format!("{}.log", f.name));
            loop {
                if *stop.borrow() {
                    break;
                }
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path);
                let (out, err) = match log.and_then(|l| Ok((l.try_clone()?, l))) {
                    Ok((a, b)) => (Stdio::from(a), Stdio::from(b)),
                    Err(_) => (Stdio::null(), Stdio::null()),
                };
                let mut cmd = Command::new(self.config.bin_dir.join(&f.binary));
                cmd.env_clear()
                    .env("PATH", std::env::var("PATH").unwrap_or_default())
                    .envs(&self.config.shared_env)
                    .envs(&f.env)
                    .env(
                        "AWS_LAMBDA_RUNTIME_API",
                        format!("127.0.0.1:{}", worker.port),
                    )
                    .envs(
                        self.config
                            .iam
                            .function_key(&f.name)
                            .map(|key| ("AWS_ACCESS_KEY_ID", key)),
                    )
                    .env("AWS_LAMBDA_FUNCTION_NAME", &f.name)
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_mb.to_string())
                    .env(
                        "AWS_LAMBDA_LOG_GROUP_NAME",
                        format!("/aws/lambda/{}", f.name),
                    )
                    .env(
                        "AWS_LAMBDA_LOG_STREAM_NAME",
                        format!("local/{}", worker.index),
                    )
                    .env("AWS_REGION", REGION)
                    .env("AWS_DEFAULT_REGION", REGION)
                    .env(
                        "AWS_LAMBDA_LOG_FORMAT",
                        f.log_format.as_deref().unwrap_or("Text"),
                    )
                    .env(
                        "AWS_LAMBDA_LOG_LEVEL",
                        f.log_level.as_deref().unwrap_or("INFO"),
                    )
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .kill_on_drop(true);
                *worker.started.lock().await = Some(Instant::now());
                let mut child = match cmd.spawn() {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(function = %f.name, "cannot start: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let pid = child.id();
                *worker.pid.lock().await = pid;
                let status = loop {
                    tokio::select! {
                        s = child.wait() => break Some(s),
                        _ = stop.changed() => {
                            if let Some(pid) = pid { record_rss(&pool, pid).await; }
                            let _ = child.kill().await;
                            break None;
                        }
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {
                            if let Some(pid) = pid { record_rss(&pool, pid).await; }
                        }
                    }
                };
                *worker.pid.lock().await = None;
                let Some(status) = status else { break };
                // The process died: whatever it was doing failed.
                if let Some(id) = worker.in_flight.lock().await.take() {
                    let message = format!(
                        "RequestId: {id} Error: Runtime exited with error: {}",
                        status.map(|s| s.to_string()).unwrap_or_default()
                    );
                    if let Some(p) = self.pending.lock().await.remove(&id) {
                        let _ = p.reply.send(Outcome::err("Runtime.ExitError", message));
                    }
                }
                if *stop.borrow() {
                    break;
                }
                pool.stats.lock().await.restarts += 1;
                tracing::warn!(function = %f.name, worker = worker.index, "process exited; restarting");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    /// Invokes a function synchronously (RequestResponse).
    pub async fn invoke(&self, function: &str, payload: Value) -> Outcome {
        let Some(pool) = self.pools.get(function) else {
            return Outcome::err(
                "ResourceNotFoundException",
                format!("Function not found: {function}"),
            );
        };
        let id = uuid::Uuid::new_v4().to_string();
        let timeout = Duration::from_secs(pool.function.timeout_seconds);
        let (tx, rx) = oneshot::channel();
        let (taken_tx, taken_rx) = oneshot::channel();
        let trace_id = format!(
            "Root=1-{:08x}-{}",
            chrono::Utc::now().timestamp(),
            &uuid::Uuid::new_v4().simple().to_string()[..24]
        );
        self.pending.lock().await.insert(
            id.clone(),
            Pending {
                function: function.to_owned(),
                payload,
                timeout,
                taken: Some(taken_tx),
                trace_id,
                reply: tx,
            },
        );
        if pool.queue_tx.send(id.clone()).await.is_err() {
            self.pending.lock().await.remove(&id);
            return Outcome::err("ServiceException", "the function's queue is closed");
        }
        if tokio::time::timeout(QUEUE_LIMIT, taken_rx).await.is_err() {
            self.pending.lock().await.remove(&id);
            return Outcome::err(
                "TooManyRequestsException",
                format!(
                    "Rate Exceeded: no process of {function} was free for {} s",
                    QUEUE_LIMIT.as_secs()
                ),
            );
        }
        match tokio::time::timeout(timeout + Duration::from_millis(500), rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Outcome::err("ServiceException", "the invocation was dropped"),
            Err(_) => {
                // Overran its timeout: the environment is recycled, as Lambda does.
                self.pending.lock().await.remove(&id);
                for w in &pool.workers {
                    if w.in_flight.lock().await.as_deref() == Some(id.as_str())
                        && let Some(pid) = *w.pid.lock().await
                    {
                        kill(pid);
                    }
                }
                Outcome::err(
                    "Sandbox.Timedout",
                    format!(
                        "RequestId: {id} Error: Task timed out after {:.2} seconds",
                        timeout.as_secs_f64()
                    ),
                )
            }
        }
    }

    /// Invokes a function asynchronously (Event): retries a failure `async_retries` times
    /// (after 1 and 2 minutes, scaled), then sends it to the function's failure destination.
    pub fn invoke_async(self: &Arc<Self>, function: &str, payload: Value) {
        let me = self.clone();
        let function = function.to_owned();
        tokio::spawn(async move {
            let retries = me
                .pools
                .get(&function)
                .map_or(0, |p| p.function.async_retries);
            let mut last = Outcome::Ok(Value::Null);
            for attempt in 0..=retries {
                if attempt > 0 {
                    me.config
                        .time_scale
                        .sleep(Duration::from_secs(60 * u64::from(attempt)))
                        .await;
                }
                last = me.invoke(&function, payload.clone()).await;
                if matches!(last, Outcome::Ok(_)) {
                    return;
                }
            }
            let destination = me
                .pools
                .get(&function)
                .and_then(|p| p.function.on_failure.clone());
            let Outcome::Err {
                error_type,
                error_message,
            } = last
            else {
                return;
            };
            tracing::warn!(%function, %error_type, "async invocation failed after its retries");
            let record = json!({
                "requestContext": { "functionArn": me.pools.get(&function).map(|p| p.function.arn.clone()), "condition": "RetriesExhausted", "approximateInvokeCount": retries + 1 },
                "requestPayload": payload,
                "responsePayload": { "errorType": error_type, "errorMessage": error_message },
            });
            // Lambda writes to the destination with the function's execution role.
            let caller = me
                .config
                .iam
                .function_caller(&function)
                .unwrap_or_else(|| crate::iam::Caller::Service("lambda.amazonaws.com".into()));
            me.queues
                .send(
                    &caller,
                    None,
                    destination.as_deref().unwrap_or("(no destination)"),
                    record,
                )
                .await;
        });
    }

    /// Kills every process of a function (they restart; their invocations fail).
    pub async fn kill(&self, function: &str) -> usize {
        let mut n = 0;
        if let Some(pool) = self.pools.get(function) {
            for w in &pool.workers {
                if let Some(pid) = *w.pid.lock().await {
                    kill(pid);
                    n += 1;
                }
            }
        }
        n
    }

    /// Whether any invocation of `function` is running now.
    pub async fn busy(&self, function: &str) -> bool {
        let Some(pool) = self.pools.get(function) else {
            return false;
        };
        for w in &pool.workers {
            if w.in_flight.lock().await.is_some() {
                return true;
            }
        }
        false
    }

    /// Measurements by function name.
    pub async fn stats(&self) -> BTreeMap<String, FunctionStats> {
        let mut out = BTreeMap::new();
        for (name, pool) in &self.pools {
            for w in &pool.workers {
                if let Some(pid) = *w.pid.lock().await {
                    record_rss(pool, pid).await;
                }
            }
            out.insert(name.clone(), pool.stats.lock().await.clone());
        }
        out
    }

    /// Waits until every function's processes have polled once (are initialised).
    pub async fn ready(&self, within: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let mut waiting = Vec::new();
            for (name, pool) in &self.pools {
                if pool.stats.lock().await.init_times_ms.len() < pool.workers.len() {
                    waiting.push(name.clone());
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            if started.elapsed() > within {
                return Err(format!(
                    "functions not ready after {within:?}: {waiting:?} (see .local/logs)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every process.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        for pool in self.pools.values() {
            for w in &pool.workers {
                for _ in 0..50 {
                    if w.pid.lock().await.is_none() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        // Whatever was still queued or running fails, as it would if the service went away.
        for (_, p) in self.pending.lock().await.drain() {
            let message = format!("the local cloud stopped before {} answered", p.function);
            let _ = p.reply.send(Outcome::err("ServiceException", message));
        }
    }
}

async fn record_rss(pool: &Pool, pid: u32) {
    if let Some(kb) = peak_rss_kb(pid) {
        let mut s = pool.stats.lock().await;
        s.peak_rss_kb = s.peak_rss_kb.max(kb);
    }
}

fn kill(pid: u32) {
    // SIGKILL via the `kill` utility: no unsafe code, no extra crate.
    let _ = std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrency_of_an_unknown_function_is_refused_by_name() {
        let config = LambdaConfig {
            bin_dir: std::env::temp_dir(),
            concurrency: 1,
            concurrency_of: BTreeMap::from([("pso".to_owned(), 4)]),
            shared_env: BTreeMap::new(),
            log_dir: std::env::temp_dir().join("local-cloud-lambda-tests"),
            time_scale: TimeScale::new(1000.0),
            iam: Arc::default(),
        };
        let err = match Lambda::start(&[], config, Arc::new(Queues::default())).await {
            Ok(_) => panic!("an unknown binary name was accepted"),
            Err(e) => e,
        };
        assert!(err.contains("\"pso\""), "{err}");
    }

    /// A function whose runtime, in Python, answers every invocation after `seconds`, echoing
    /// the deadline it was given.
    fn slow_function(dir: &std::path::Path, seconds: f64, timeout_seconds: u64) -> Function {
        let script = format!(
            r#"#!/usr/bin/env python3
import os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["lambda-runtime-aws-request-id"]
        deadline = r.headers["lambda-runtime-deadline-ms"]
    time.sleep({seconds})
    body = ('{{"deadline": %s}}' % deadline).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#
        );
        let path = dir.join("slow");
        std::fs::write(&path, script).unwrap();
        let status = std::process::Command::new("chmod")
            .args(["+x", &path.to_string_lossy()])
            .status()
            .unwrap();
        assert!(status.success());
        Function {
            logical_id: "SlowFunction".to_owned(),
            name: "slow".to_owned(),
            arn: "arn:aws:lambda:us-east-1:000000000000:function:slow".to_owned(),
            binary: "slow".to_owned(),
            env: BTreeMap::new(),
            timeout_seconds,
            memory_mb: 128,
            log_level: None,
            log_format: None,
            async_retries: 2,
            on_failure: None,
        }
    }

    #[tokio::test]
    async fn the_timeout_runs_from_when_a_process_takes_the_invocation_not_from_the_queue() {
        let dir = std::env::temp_dir().join(format!("local-cloud-lambda-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        // One process, 1 s timeout, 0.6 s per invocation: three at once take 1.8 s in all,
        // yet each runs well within its own second.
        let function = slow_function(&dir, 0.6, 1);
        let config = LambdaConfig {
            bin_dir: dir.clone(),
            concurrency: 1,
            concurrency_of: BTreeMap::new(),
            shared_env: BTreeMap::new(),
            log_dir: dir.join("logs"),
            time_scale: TimeScale::new(1.0),
            iam: Arc::default(),
        };
        let lambda = Lambda::start(&[function], config, Arc::new(Queues::default()))
            .await
            .unwrap();
        let before = chrono::Utc::now().timestamp_millis();
        let outcomes =
            futures::future::join_all((0..3).map(|i| lambda.invoke("slow", json!({ "n": i }))))
                .await;
        lambda.stop().await;
        let mut deadlines = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Ok(v) => deadlines.push(v["deadline"].as_i64().unwrap()),
                Outcome::Err {
                    error_type,
                    error_message,
                } => {
                    panic!("an invocation failed: {error_type}: {error_message}")
                }
            }
        }
        deadlines.sort_unstable();
        // Each deadline is a second after its own start, so the last is over a second after the first.
        assert!(deadlines[0] >= before + 1000, "{deadlines:?}");
        assert!(deadlines[2] - deadlines[0] >= 1000, "{deadlines:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
