//! Lambda: every function's real binary runs as its own processes against a Lambda Runtime
//! API served here (`AWS_LAMBDA_RUNTIME_API`: `next`, `response`, `error`, `init/error`, with
//! the request id, deadline, function ARN and trace headers), with the template's environment.
//! Each process is one execution environment, so a function's concurrency is its number of
//! processes. A process that dies is restarted and its in-flight invocation reported failed
//! (`Runtime.ExitError`), as Lambda does; one that overruns its timeout is killed
//! (`Sandbox.Timedout`). The timeout runs from when a process takes the invocation. When every
//! process is busy, invocations queue for one: that is this machine's capacity, not Lambda's.
//! Lambda's own limits are kept: a function's reserved concurrency and the account's
//! concurrency (counting queued and running invocations, as Lambda would run them all at once)
//! refuse more with `TooManyRequestsException`; payloads over Lambda's quotas are refused with
//! `RequestTooLargeException` or fail with `Function.ResponseSizeTooLarge`; asynchronous
//! invocations keep the function's retry count and maximum event age, throttles retried
//! within that age, then go to its on-failure destination.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::app::{Function, REGION};
use crate::clock::TimeScale;
use crate::queues::Queues;

mod api;
mod async_invoke;
mod procfs;
mod runtime_api;
mod versions;

pub use async_invoke::{ASYNC_PAYLOAD_LIMIT_BYTES, ASYNC_RETRY_BUDGET_SECONDS, ASYNC_RETRY_WAITS};
pub use versions::AliasRouting;
use versions::Published;

use procfs::*;
use runtime_api::*;

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

/// What one [`Lambda::kill_recording`] hit.
#[derive(Debug, Clone, Default)]
pub struct Killed {
    /// Processes killed.
    pub processes: usize,
    /// The payloads of the invocations they were running.
    pub invocations: Vec<Value>,
}

struct Pending {
    function: String,
    payload: Value,
    /// The function's timeout; its clock starts when a process takes the invocation.
    timeout: Duration,
    /// Told when a process takes the invocation.
    taken: Option<oneshot::Sender<()>>,
    trace_id: String,
    /// The outcome, and the duration Lambda would bill for it.
    reply: oneshot::Sender<(Outcome, Duration)>,
    /// When a process took it: its billed duration runs from here to its answer.
    began: Option<Instant>,
    /// How long that process had waited for a core until then (ns, [`waited_for_cpu_ns`]).
    began_waited_ns: Option<u64>,
}

/// The largest synchronous (`RequestResponse`) request and response, bytes: 6 MB (Lambda
/// quotas, "Invocation payload (request and response)"; the Invoke API reference).
pub const SYNC_PAYLOAD_LIMIT_BYTES: usize = 6 * 1024 * 1024;

/// The function name of `function`, a name that may be qualified by a version or an alias
/// (`orders-dev-pos:live` → `orders-dev-pos`): what its role, pool and logs are known by.
pub fn unqualified(function: &str) -> &str {
    function.split_once(':').map_or(function, |(name, _)| name)
}

/// An account's concurrent executions in a Region by default (Lambda quotas: 1,000).
pub const DEFAULT_ACCOUNT_CONCURRENCY: usize = 1000;

pub use crate::app::DEFAULT_MAX_EVENT_AGE_SECONDS;

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
    /// Invocations a process took and ended: answered, failed, crashed or timed out (what
    /// CloudWatch counts as `Invocations`).
    pub invocations: u64,
    /// Processes restarted after dying.
    pub restarts: u64,
    /// Billed duration of the answered invocations, ms (each rounded up to 1 ms), without the
    /// time its process waited for one of this machine's cores (`run_delay`).
    pub billed_ms: u64,
    /// CPU time (user and system) of its processes, init included, ms: from `/proc/<pid>/stat`
    /// in 10 ms ticks, sampled every 250 ms (a process that died counts as last sampled).
    pub cpu_ms: u64,
    /// Invocations that ended in a function error (what CloudWatch counts as `Errors`: an
    /// error the function returned, its runtime exiting, its timeout).
    pub function_errors: u64,
}

struct Worker {
    index: usize,
    port: u16,
    pid: Mutex<Option<u32>>,
    /// CPU time of its current process when last sampled, ms.
    cpu_ms: Mutex<u64>,
    in_flight: Mutex<Option<String>>,
    started: Mutex<Option<Instant>>,
    /// Its process was killed through [`Lambda::kill`] (a measurement or an injected
    /// fault), so the restart is expected, not a crash.
    killed_on_request: std::sync::atomic::AtomicBool,
}

/// One version of a function: its build's processes.
struct Pool {
    function: Function,
    /// Its number (1 for the first build).
    version: u32,
    /// The build it runs.
    binary: PathBuf,
    queue_tx: mpsc::Sender<String>,
    queue_rx: Mutex<mpsc::Receiver<String>>,
    workers: Vec<Arc<Worker>>,
    stats: Mutex<FunctionStats>,
    /// Invocations admitted and not yet answered (queued or running), across the function's
    /// versions (its concurrency is the function's).
    admitted: Arc<std::sync::atomic::AtomicUsize>,
    /// Execution environments Lambda would have made for the function so far: the most
    /// invocations it had at once (each one more draws on the function's scaling rate).
    environments: Arc<std::sync::atomic::AtomicUsize>,
    /// Set when the version is deleted: its processes stop.
    retired: tokio::sync::watch::Sender<bool>,
}

/// One admitted invocation, counted against its function's and the account's concurrency
/// until dropped.
struct Admission<'a> {
    pool: &'a Pool,
    total: &'a std::sync::atomic::AtomicUsize,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        self.pool.admitted.fetch_sub(1, Ordering::SeqCst);
        self.total.fetch_sub(1, Ordering::SeqCst);
    }
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
    /// What Lambda's asynchronous retry waits and event ages are divided by: real time (1×)
    /// in the cloud at any workflow time scale, since they race real outages (a scaled
    /// minute is spent before a DynamoDB restart ends); tests shorten them.
    pub async_wait_scale: TimeScale,
    /// The account's IAM: each function's processes get its role's access key, and its
    /// failure destination is written with its role.
    pub iam: Arc<crate::iam::Iam>,
    /// The account's concurrent executions ([`DEFAULT_ACCOUNT_CONCURRENCY`] unless a run
    /// sets it lower to see throttling).
    pub account_concurrency: usize,
    /// AWS's quotas: each function's scaling rate (new execution environments), and the
    /// scale its reserved concurrency is divided by.
    pub quotas: Arc<local_aws_core::quota::Quotas>,
}

/// The Lambda service.
pub struct Lambda {
    /// Each function's versions and alias, by function name.
    pools: std::sync::RwLock<HashMap<String, Published>>,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
    config: LambdaConfig,
    queues: Arc<Queues>,
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Invocations admitted across every function (the account's concurrency in use).
    admitted: std::sync::atomic::AtomicUsize,
    /// Asynchronous invocations accepted and not yet ended: running, waiting for a retry, or
    /// on their way to the on-failure destination.
    queued_events: local_aws_core::in_flight::InFlight,
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
        for f in functions {
            let binary = config.bin_dir.join(&f.binary);
            if !binary.is_file() {
                return Err(format!(
                    "{} is not built: run `cargo build --bins` (looked for {})",
                    f.binary,
                    binary.display()
                ));
            }
        }
        let me = Arc::new(Self {
            pools: std::sync::RwLock::default(),
            pending,
            config,
            queues,
            shutdown,
            admitted: std::sync::atomic::AtomicUsize::new(0),
            queued_events: Default::default(),
        });
        for f in functions {
            let binary = me.config.bin_dir.join(&f.binary);
            let pool = me.spawn_pool(f, binary, 1, None).await?;
            me.pools
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(f.name.clone(), Published::first(pool));
        }
        Ok(me)
    }

    /// Every version's pool of every function.
    fn all_pools(&self) -> Vec<Arc<Pool>> {
        let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
        pools
            .values()
            .flat_map(|p| p.versions.values().cloned())
            .collect()
    }

    /// Every version's pool of `function` (a name, unqualified).
    fn pools_of(&self, function: &str) -> Vec<Arc<Pool>> {
        let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
        pools
            .get(unqualified(function))
            .map(|p| p.versions.values().cloned().collect())
            .unwrap_or_default()
    }

    fn supervise(self: Arc<Self>, pool: Arc<Pool>, worker: Arc<Worker>) {
        // Stops when the service stops or the version is deleted.
        let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
        let (mut shutdown, mut retired) = (self.shutdown.subscribe(), pool.retired.subscribe());
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => {}
                _ = retired.wait_for(|r| *r) => {}
            }
            let _ = stop_tx.send(true);
        });
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
                let mut cmd = Command::new(&pool.binary);
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
                    .env(
                        "AWS_LAMBDA_FUNCTION_VERSION",
                        if f.alias.is_some() {
                            pool.version.to_string()
                        } else {
                            "$LATEST".to_owned()
                        },
                    )
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
                            if let Some(pid) = pid { sample(&pool, &worker, pid).await; }
                            let _ = child.kill().await;
                            break None;
                        }
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {
                            if let Some(pid) = pid { sample(&pool, &worker, pid).await; }
                        }
                    }
                };
                *worker.pid.lock().await = None;
                // The process is gone: its CPU time, as last sampled, is the function's.
                let cpu = std::mem::take(&mut *worker.cpu_ms.lock().await);
                pool.stats.lock().await.cpu_ms += cpu;
                let Some(status) = status else { break };
                // The process died: whatever it was doing failed.
                if let Some(id) = worker.in_flight.lock().await.take() {
                    let message = format!(
                        "RequestId: {id} Error: Runtime exited with error: {}",
                        status.map(|s| s.to_string()).unwrap_or_default()
                    );
                    if let Some(p) = self.pending.lock().await.remove(&id) {
                        // Its wait for a core can no longer be read: the wall time is billed.
                        let billed = p.began.map(|b| b.elapsed()).unwrap_or_default();
                        let _ = p
                            .reply
                            .send((Outcome::err("Runtime.ExitError", message), billed));
                        // Invoked, and failed: Lambda's `Invocations` counts function errors.
                        let mut stats = pool.stats.lock().await;
                        stats.invocations += 1;
                        stats.function_errors += 1;
                    }
                }
                if *stop.borrow() {
                    break;
                }
                pool.stats.lock().await.restarts += 1;
                if worker
                    .killed_on_request
                    .swap(false, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::info!(function = %f.name, worker = worker.index, "process killed on request; restarting");
                } else {
                    tracing::warn!(function = %f.name, worker = worker.index, "process exited; restarting");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    /// Admits one invocation of `pool`'s function, or refuses it as Lambda does when the
    /// function is at its reserved concurrency or the account at its concurrency.
    fn admit<'a>(&'a self, pool: &'a Pool) -> Result<Admission<'a>, Outcome> {
        use std::sync::atomic::Ordering;
        let mine = pool.admitted.fetch_add(1, Ordering::SeqCst);
        let all = self.admitted.fetch_add(1, Ordering::SeqCst);
        let admission = Admission {
            pool,
            total: &self.admitted,
        };
        let reserved = pool
            .function
            .reserved_concurrency
            .map(|r| self.config.quotas.scaled_concurrency(r));
        let reason = match reserved {
            Some(r) if mine >= r as usize => "ReservedFunctionConcurrentInvocationLimitExceeded",
            _ if all >= self.config.account_concurrency => "ConcurrentInvocationLimitExceeded",
            _ if mine >= pool.environments.load(Ordering::SeqCst) => {
                // One more environment than the function ever had: the scaling rate (1,000
                // new environments every 10 s per function) must allow it.
                match self
                    .config
                    .quotas
                    .keyed(local_aws_core::quota::LAMBDA_SCALING, &pool.function.name)
                {
                    Some(q) if !q.try_take() => "FunctionScalingRateExceeded",
                    _ => {
                        pool.environments.fetch_max(mine + 1, Ordering::SeqCst);
                        return Ok(admission);
                    }
                }
            }
            _ => return Ok(admission),
        };
        Err(Outcome::err(
            "TooManyRequestsException",
            format!("Rate Exceeded. (Reason: {reason})"),
        ))
    }

    /// The pool that runs `function`: a function name, or a name qualified by one of its
    /// versions or aliases (`orders-dev-pos:live`, `orders-dev-pos:1`, `…:$LATEST`), as
    /// Lambda's `Invoke` takes them. A qualifier the function has not published finds none.
    fn pool(&self, function: &str) -> Option<Arc<Pool>> {
        let (name, qualifier) = match function.split_once(':') {
            Some((name, q)) => (name, Some(q)),
            None => (function, None),
        };
        let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
        pools.get(name)?.resolve(qualifier)
    }

    /// Invokes a function synchronously (RequestResponse).
    pub async fn invoke(&self, function: &str, payload: Value) -> Outcome {
        self.invoke_billed(function, payload).await.0
    }

    /// [`Lambda::invoke`], with the duration Lambda would bill for the invocation (rounded up
    /// to 1 ms, without the time its process waited for a core; zero when no process took it).
    pub async fn invoke_billed(&self, function: &str, payload: Value) -> (Outcome, Duration) {
        let refused = |o: Outcome| (o, Duration::ZERO);
        let Some(pool) = self.pool(function) else {
            return refused(Outcome::err(
                "ResourceNotFoundException",
                format!(
                    "Function not found: arn:aws:lambda:{}:{}:function:{function}",
                    crate::app::REGION,
                    crate::app::ACCOUNT
                ),
            ));
        };
        let function = pool.function.name.as_str();
        let size = payload.to_string().len();
        if size > SYNC_PAYLOAD_LIMIT_BYTES {
            return refused(Outcome::err(
                "RequestTooLargeException",
                format!(
                    "Request must be smaller than {SYNC_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation"
                ),
            ));
        }
        let _admission = match self.admit(&pool) {
            Ok(a) => a,
            Err(o) => return refused(o),
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
                began: None,
                began_waited_ns: None,
            },
        );
        if pool.queue_tx.send(id.clone()).await.is_err() {
            self.pending.lock().await.remove(&id);
            return refused(Outcome::err(
                "ServiceException",
                "the function's queue is closed",
            ));
        }
        if tokio::time::timeout(QUEUE_LIMIT, taken_rx).await.is_err() {
            self.pending.lock().await.remove(&id);
            return refused(Outcome::err(
                "TooManyRequestsException",
                format!(
                    "Rate Exceeded: no process of {function} was free for {} s",
                    QUEUE_LIMIT.as_secs()
                ),
            ));
        }
        match tokio::time::timeout(timeout + Duration::from_millis(500), rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => refused(Outcome::err(
                "ServiceException",
                "the invocation was dropped",
            )),
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
                {
                    let mut stats = pool.stats.lock().await;
                    stats.invocations += 1;
                    stats.function_errors += 1;
                }
                let o = Outcome::err(
                    "Sandbox.Timedout",
                    format!(
                        "RequestId: {id} Error: Task timed out after {:.2} seconds",
                        timeout.as_secs_f64()
                    ),
                );
                (o, timeout)
            }
        }
    }

    /// Kills every process of a function (they restart; their invocations fail). Returns
    /// how many processes were killed.
    pub async fn kill(&self, function: &str) -> usize {
        self.kill_recording(function).await.processes
    }

    /// Kills every process of a function, as [`Lambda::kill`], and returns what the kill
    /// hit: the processes and the payloads of the invocations they were running (the
    /// killer's own record of which work a kill interrupted).
    pub async fn kill_recording(&self, function: &str) -> Killed {
        let mut out = Killed::default();
        for pool in self.pools_of(function) {
            for w in &pool.workers {
                if let Some(pid) = *w.pid.lock().await {
                    if let Some(id) = w.in_flight.lock().await.clone()
                        && let Some(p) = self.pending.lock().await.get(&id)
                    {
                        out.invocations.push(p.payload.clone());
                    }
                    w.killed_on_request
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    kill(pid);
                    out.processes += 1;
                }
            }
        }
        out
    }

    /// Whether any invocation of `function` is running now.
    pub async fn busy(&self, function: &str) -> bool {
        for pool in self.pools_of(function) {
            for w in &pool.workers {
                if w.in_flight.lock().await.is_some() {
                    return true;
                }
            }
        }
        false
    }

    /// Measurements by function name.
    pub async fn stats(&self) -> BTreeMap<String, FunctionStats> {
        let mut out: BTreeMap<String, FunctionStats> = BTreeMap::new();
        for pool in self.all_pools() {
            let mut live_cpu_ms = 0;
            for w in &pool.workers {
                if let Some(pid) = *w.pid.lock().await {
                    sample(&pool, w, pid).await;
                }
                live_cpu_ms += *w.cpu_ms.lock().await;
            }
            let mut stats = pool.stats.lock().await.clone();
            stats.cpu_ms += live_cpu_ms;
            out.entry(pool.function.name.clone())
                .or_default()
                .add(&stats);
        }
        out
    }

    /// Waits until every function's processes have polled once (are initialised). A function
    /// whose processes keep failing their init (on AWS: `INIT_REPORT … Status: error`, and
    /// every invocation `Runtime.ExitError`) ends the wait at once: the error names it and
    /// quotes the last error line of its log (a missing permission reads there as AWS's
    /// `AccessDeniedException`).
    pub async fn ready(&self, within: Duration) -> Result<(), String> {
        /// Failed inits, per process on average, that mean the init cannot succeed.
        const FAILED_INITS: u64 = 2;
        let started = Instant::now();
        loop {
            let mut waiting = Vec::new();
            for pool in self.all_pools() {
                let name = &pool.function.name;
                let stats = pool.stats.lock().await;
                if stats.init_times_ms.len() >= pool.workers.len() {
                    continue;
                }
                if stats.init_times_ms.is_empty()
                    && stats.restarts >= FAILED_INITS * pool.workers.len() as u64
                {
                    return Err(format!(
                        "function {name} fails its init: {}",
                        self.last_error(name)
                    ));
                }
                waiting.push(name.clone());
            }
            if waiting.is_empty() {
                return Ok(());
            }
            if started.elapsed() > within {
                let why: Vec<String> = waiting
                    .iter()
                    .map(|f| format!("{f}: {}", self.last_error(f)))
                    .collect();
                return Err(format!(
                    "functions not ready after {within:?}: {}",
                    why.join("; ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Where the functions' logs are (`<function name>.log` each).
    pub fn log_dir(&self) -> &std::path::Path {
        &self.config.log_dir
    }

    /// The last line of `function`'s log that reports an error, with the log's path.
    fn last_error(&self, function: &str) -> String {
        let path = self.config.log_dir.join(format!("{function}.log"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let line = text
            .lines()
            .rev()
            .find(|l| l.contains("Error") || l.contains("error"))
            .unwrap_or("(no error logged)");
        format!("{line} (log: {})", path.display())
    }

    /// Stops every process.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        for pool in self.all_pools() {
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
            let _ = p
                .reply
                .send((Outcome::err("ServiceException", message), Duration::ZERO));
        }
    }
}

#[cfg(test)]
mod tests;
