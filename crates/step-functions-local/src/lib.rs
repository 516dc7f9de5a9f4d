//! AWS Step Functions on one machine: an interpreter for Amazon States Language (Standard and
//! Express workflows, JSONPath) with AWS's execution history, task tokens and service limits,
//! and the
//! Step Functions API over HTTP ([`api::router`]) for the AWS SDKs and CLI
//! (`StartExecution`, `DescribeExecution`, `GetExecutionHistory`, `SendTaskSuccess`,
//! `SendTaskFailure`, `SendTaskHeartbeat`, `StopExecution`, `ListExecutions`,
//! `CreateStateMachine`, `DescribeStateMachine`).
//!
//! The services Task states call are yours: implement [`Integrations`] (Lambda invoke,
//! EventBridge `PutEvents`, DynamoDB `PutItem`/`GetItem`/`UpdateItem`/`DeleteItem`, and
//! `states:startExecution` to start another workflow), and give
//! the API an [`Authorizer`](local_aws_core::Authorizer) (IAM, or
//! [`AllowAll`](local_aws_core::AllowAll)).
//!
//! A definition is checked when it is registered: a feature the interpreter does not support
//! (an unknown field, JSONata, distributed Map, an unsupported Task resource) is refused with
//! the feature named. What AWS enforces at run time is enforced here too: 256 KiB per state's
//! input, output and task parameters (`States.DataLimitExceeded`, which `States.ALL` does not
//! catch), task timeouts and heartbeats, retries with backoff, and catchers.
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use serde_json::{Value, json};
//! use step_functions_local::{Integrations, Sfn, Status, TimeScale};
//!
//! /// One function, `double`, and no other service.
//! struct Double;
//!
//! #[async_trait]
//! impl Integrations for Double {
//!     async fn invoke(&self, _machine: &str, function: &str, payload: Value)
//!         -> Result<Value, (String, String)> {
//!         match function {
//!             "double" => Ok(json!({ "n": payload["n"].as_i64().unwrap_or(0) * 2 })),
//!             other => Err(("ResourceNotFoundException".into(), format!("no function {other}"))),
//!         }
//!     }
//!     async fn put_events(&self, _: &str, _: Vec<Value>) -> Result<Value, (String, String)> {
//!         Err(("AccessDeniedException".into(), "no bus here".into()))
//!     }
//!     async fn dynamodb(&self, _: &str, op: &str, _: Value) -> Result<Value, (String, String)> {
//!         Err(("AccessDeniedException".into(), format!("no table for {op}")))
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sfn = Sfn::new(Arc::new(Double), TimeScale::REAL);
//! let definition = json!({
//!     "StartAt": "Double",
//!     "States": {
//!         "Double": {
//!             "Type": "Task",
//!             "Resource": "arn:aws:states:::lambda:invoke",
//!             "Parameters": { "FunctionName": "double", "Payload.$": "$" },
//!             "OutputPath": "$.Payload",
//!             "End": true
//!         }
//!     }
//! });
//! let machine = sfn.create_state_machine("doubler", &definition).await.unwrap();
//! let execution = sfn.start_execution(&machine, None, json!({ "n": 21 })).await.unwrap();
//! let end = execution.finished().await;
//! assert_eq!(end.status, Status::Succeeded);
//! assert_eq!(end.output, Some(json!({ "n": 42 })));
//! assert!(execution.path().await.contains(&"Double".to_owned()));
//! # });
//! ```

pub mod api;
pub mod history;
pub mod run;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use asl::AslError;
use asl::model::{Definition, Machine, State};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock, broadcast, oneshot, watch};

pub use local_aws_core::clock::TimeScale;
use local_aws_core::quota::{self, Quotas};
use local_aws_core::{ACCOUNT, REGION};

pub use history::HistoryEvent;

/// The services Task states call, on behalf of the state machine `machine` (its ARN: the
/// calls are made with its role).
#[async_trait]
pub trait Integrations: Send + Sync {
    /// Invokes a function synchronously; `Err` carries the function's error type and message.
    async fn invoke(
        &self,
        machine: &str,
        function: &str,
        payload: Value,
    ) -> Result<Value, (String, String)>;
    /// `PutEvents`: the response (`FailedEntryCount`, `Entries`), or `(errorType, message)`
    /// when the whole call is refused.
    async fn put_events(
        &self,
        machine: &str,
        entries: Vec<Value>,
    ) -> Result<Value, (String, String)>;
    /// A DynamoDB API call: the response, or `(errorType, message)`.
    async fn dynamodb(
        &self,
        machine: &str,
        operation: &str,
        params: Value,
    ) -> Result<Value, (String, String)>;
    /// `sqs:sendMessage` (request-response): `params` are the Task's parameters (`QueueUrl`,
    /// `MessageBody` as text); the answer is `{MessageId, MD5OfMessageBody}`. The default
    /// refuses, for a service without queues.
    async fn send_message(&self, machine: &str, params: Value) -> Result<Value, (String, String)> {
        let _ = params;
        Err((
            "AccessDenied".to_owned(),
            format!("{machine} cannot send messages here"),
        ))
    }
    /// `states:startExecution` (request-response): `params` are the Task's parameters
    /// (`StateMachineArn`, `Input`, `Name`); the answer is `{ExecutionArn, StartDate}`. The
    /// default refuses, for a service that starts no other workflow.
    async fn start_execution(
        &self,
        machine: &str,
        params: Value,
    ) -> Result<Value, (String, String)> {
        let _ = params;
        Err((
            "AccessDenied".to_owned(),
            format!("{machine} cannot start executions here"),
        ))
    }
}

/// A state machine's type (`CreateStateMachine`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowType {
    /// Exactly-once, up to a year, with an execution history; billed per state transition.
    #[default]
    Standard,
    /// At-least-once (asynchronous), up to five minutes, request-response integrations only;
    /// billed per request and by duration and memory.
    Express,
}

/// The longest an Express execution runs (the Step Functions developer guide, "Choosing
/// workflow type": Express workflows "can run for up to five minutes"). Real time, not
/// scaled: what fills it is retries and task durations, which the local cloud keeps real.
pub const EXPRESS_MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(300);

/// The Task resources the interpreter runs.
pub fn supported_resource(resource: &str) -> bool {
    let integration = resource
        .strip_prefix("arn:aws:states:::")
        .map(|r| r.trim_end_matches(".waitForTaskToken"));
    match integration {
        Some("lambda:invoke" | "events:putEvents") => true,
        Some("states:startExecution" | "sqs:sendMessage") => {
            !resource.ends_with(".waitForTaskToken")
        }
        Some(
            "dynamodb:putItem" | "dynamodb:getItem" | "dynamodb:updateItem" | "dynamodb:deleteItem",
        ) => !resource.ends_with(".waitForTaskToken"),
        Some(_) => false,
        None => resource.starts_with("arn:aws:lambda:") && resource.contains(":function:"),
    }
}

/// Express workflows support request-response integrations only (the developer guide,
/// "Discover service integration patterns": Express "do not support Run a Job (.sync) or
/// Wait for Callback (.waitForTaskToken)"); AWS refuses such a definition at creation.
fn check_express(m: &Machine) -> Result<(), String> {
    for (name, s) in &m.states {
        match s {
            State::Task(t) => {
                for pattern in [".waitForTaskToken", ".sync"] {
                    if t.resource.contains(pattern) {
                        return Err(format!(
                            "SCHEMA_VALIDATION_FAILED: Express state machine does not support '{pattern}' service integration pattern (state {name:?}, resource {:?})",
                            t.resource
                        ));
                    }
                }
            }
            State::Parallel(p) => p.branches.iter().try_for_each(check_express)?,
            State::Map(mp) => {
                if let Some(proc) = mp.processor() {
                    check_express(proc)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_resources(m: &Machine) -> Result<(), String> {
    for (name, s) in &m.states {
        match s {
            State::Task(t) if !supported_resource(&t.resource) => {
                return Err(format!(
                    "state {name:?} uses Task resource {:?}, which this interpreter does not support",
                    t.resource
                ));
            }
            State::Parallel(p) => p.branches.iter().try_for_each(check_resources)?,
            State::Map(mp) => {
                if let Some(proc) = mp.processor() {
                    check_resources(proc)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A registered state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// The checked definition.
    pub definition: Arc<Definition>,
    /// Its JSON.
    pub json: Value,
    /// Created.
    pub created: DateTime<Utc>,
    /// Standard or Express.
    pub workflow_type: WorkflowType,
}

/// Execution status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Running.
    Running,
    /// Succeeded.
    Succeeded,
    /// Failed.
    Failed,
    /// Timed out.
    TimedOut,
    /// Stopped.
    Aborted,
}

/// The mutable part of an execution.
#[derive(Debug, Clone)]
pub struct ExecutionState {
    /// Status.
    pub status: Status,
    /// Output, when succeeded.
    pub output: Option<Value>,
    /// Error, when failed.
    pub error: Option<String>,
    /// Cause, when failed.
    pub cause: Option<String>,
    /// When it stopped.
    pub stop: Option<DateTime<Utc>>,
}

/// An execution.
pub struct Execution {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Its state machine.
    pub machine: StateMachine,
    /// Input.
    pub input: Value,
    /// Started.
    pub start: DateTime<Utc>,
    started_at: Instant,
    state: Mutex<ExecutionState>,
    history: Mutex<Vec<HistoryEvent>>,
    done: watch::Sender<bool>,
    abort: watch::Sender<bool>,
    /// What the time scale saved in Wait states: AWS would have spent this much more.
    saved: std::sync::Mutex<std::time::Duration>,
    /// Told when `saved` grows.
    saved_grew: tokio::sync::Notify,
    /// Time its integrations spent waiting on this machine that AWS would not have spent (ns):
    /// reported through [`not_billed`] while it runs.
    not_billed_ns: Arc<std::sync::atomic::AtomicU64>,
    /// A [`Sfn::time_out_when`] fault ended it.
    timed_out_on_purpose: std::sync::atomic::AtomicBool,
}

tokio::task_local! {
    /// The running execution's [`Execution::not_billed`] counter.
    static NOT_BILLED_NS: Arc<std::sync::atomic::AtomicU64>;
}

/// Reports, from inside an integration an execution is awaiting, that `wasted` of the time it
/// took was this machine's doing and would not pass on AWS (for example a Lambda process
/// runnable but waiting for one of two shared cores, or queued for a free process where Lambda
/// would have started another environment). Outside an execution it does nothing.
pub fn not_billed(wasted: std::time::Duration) {
    let ns = u64::try_from(wasted.as_nanos()).unwrap_or(u64::MAX);
    let _ = NOT_BILLED_NS.try_with(|n| n.fetch_add(ns, std::sync::atomic::Ordering::Relaxed));
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("arn", &self.arn)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Execution {
    /// A snapshot of its status and result.
    pub async fn snapshot(&self) -> ExecutionState {
        self.state.lock().await.clone()
    }

    /// Its history so far.
    pub async fn history(&self) -> Vec<HistoryEvent> {
        self.history.lock().await.clone()
    }

    /// The states it entered, in order.
    pub async fn path(&self) -> Vec<String> {
        self.history
            .lock()
            .await
            .iter()
            .filter_map(|e| e.entered_state().map(str::to_owned))
            .collect()
    }

    /// Waits until it ends, whenever it ended: the end is kept in the channel (see
    /// [`watch::Sender::send_replace`]), so an execution that ended before this call returns
    /// at once.
    pub async fn finished(&self) -> ExecutionState {
        let mut rx = self.done.subscribe();
        // `wait_for` looks at the current value first, then at every change.
        let _ = rx.wait_for(|done| *done).await;
        self.snapshot().await
    }

    /// How long it ran (so far).
    pub fn elapsed(&self) -> std::time::Duration {
        self.started_at.elapsed()
    }

    /// How long it would have run on AWS so far: [`Execution::elapsed`] plus what the time
    /// scale saved in its Wait states. An Express execution's five minutes are counted so.
    pub fn aws_elapsed(&self) -> std::time::Duration {
        self.started_at.elapsed() + *self.saved.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What its integrations reported through [`not_billed`] so far: wall time this machine
    /// added that AWS would not have (an Express execution's billed duration leaves it out).
    pub fn not_billed(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(
            self.not_billed_ns
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Records, as a wait begins, that a wait of `unscaled` will take `scaled`.
    pub(crate) fn saved_waiting(&self, unscaled: std::time::Duration, scaled: std::time::Duration) {
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) += unscaled.saturating_sub(scaled);
        self.saved_grew.notify_one();
    }

    async fn record(&self, kind: &str, details_key: Option<&str>, details: Value) -> HistoryEvent {
        let mut h = self.history.lock().await;
        let id = h.len() as u64 + 1;
        let event = HistoryEvent::new(id, kind, details_key, details);
        h.push(event.clone());
        event
    }
}

/// A task waiting for its token.
struct Waiter {
    machine: String,
    reply: oneshot::Sender<Result<Value, AslError>>,
    heartbeat: watch::Sender<Instant>,
}

/// A progress notice: an execution entered a state or ended.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Execution name.
    pub execution: String,
    /// What happened: a state name, or `SUCCEEDED`/`FAILED`/….
    pub what: String,
    /// The string at the [`Sfn::label_progress`] JSON pointer in the execution's input, when
    /// there is one (e.g. an order id, for a live display).
    pub label: Option<String>,
}

/// The Step Functions service.
pub struct Sfn {
    machines: RwLock<BTreeMap<String, StateMachine>>,
    executions: RwLock<HashMap<String, Arc<Execution>>>,
    order: Mutex<Vec<String>>,
    tokens: Mutex<HashMap<String, Waiter>>,
    /// Tokens answered or timed out, with their state machine.
    closed_tokens: Mutex<HashMap<String, String>>,
    integrations: Arc<dyn Integrations>,
    time_scale: TimeScale,
    progress: broadcast::Sender<Progress>,
    progress_label: std::sync::OnceLock<Vec<String>>,
    quotas: std::sync::OnceLock<Arc<Quotas>>,
    time_out_when: std::sync::Mutex<Option<TimeOutFault>>,
}

/// A fault: whether the execution (its state machine's type, its input) times out as it
/// enters the state named. See [`Sfn::time_out_when`].
pub type TimeOutFault = Arc<dyn Fn(WorkflowType, &str, &Value) -> bool + Send + Sync>;

/// Why a call to the service failed: an API error type and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct ApiError {
    /// e.g. `StateMachineDoesNotExist`.
    pub error_type: String,
    /// Message.
    pub message: String,
}

fn api_err(t: &str, m: impl Into<String>) -> ApiError {
    ApiError {
        error_type: t.to_owned(),
        message: m.into(),
    }
}

impl Sfn {
    /// A service calling `integrations` from its Task states.
    pub fn new(integrations: Arc<dyn Integrations>, time_scale: TimeScale) -> Arc<Self> {
        let (progress, _) = broadcast::channel(4096);
        Arc::new(Self {
            machines: RwLock::default(),
            executions: RwLock::default(),
            order: Mutex::default(),
            tokens: Mutex::default(),
            closed_tokens: Mutex::default(),
            integrations,
            time_scale,
            progress,
            progress_label: std::sync::OnceLock::new(),
            quotas: std::sync::OnceLock::new(),
            time_out_when: std::sync::Mutex::new(None),
        })
    }

    /// Fault injection: from now on, an execution for which `fault` answers true as it is
    /// about to enter a state ends there `TIMED_OUT` (`States.Timeout`, uncatchable), as an
    /// Express execution past its five minutes or a Standard one past its `TimeoutSeconds`
    /// ends: the execution's work is lost mid-way, whatever its Catch says. `None` stops it.
    pub fn time_out_when(&self, fault: Option<TimeOutFault>) {
        *self
            .time_out_when
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fault;
    }

    /// Whether `exec` is to time out entering `state` ([`Self::time_out_when`]); marks it.
    pub(crate) fn times_out(&self, exec: &Execution, state: &str) -> bool {
        let fault = self
            .time_out_when
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let hit = fault.is_some_and(|f| f(exec.machine.workflow_type, state, &exec.input));
        if hit {
            exec.timed_out_on_purpose
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        hit
    }

    /// Enforces `quotas` from now on (set once; later calls are ignored): `StartExecution`
    /// per workflow type and `SendTask*` refused with `ThrottlingException` when their bucket
    /// is empty, Standard state transitions (each state entered, each retry) delayed until a
    /// token comes, as AWS throttles them. Without quotas, nothing is limited.
    pub fn set_quotas(&self, quotas: Arc<Quotas>) {
        let _ = self.quotas.set(quotas);
    }

    fn quota(&self, name: &str) -> Option<Arc<quota::Quota>> {
        self.quotas.get().and_then(|q| q.get(name))
    }

    /// Refuses a request when `name`'s bucket is empty, as AWS answers a throttled API call.
    fn admit(&self, name: &str) -> Result<(), ApiError> {
        match self.quota(name) {
            Some(q) if !q.try_take() => Err(api_err("ThrottlingException", "Rate exceeded")),
            _ => Ok(()),
        }
    }

    /// Waits for a state transition's token if `exec` is a Standard execution.
    pub(crate) async fn transition(&self, exec: &Execution) {
        if exec.machine.workflow_type == WorkflowType::Standard
            && let Some(q) = self.quota(quota::STATE_TRANSITION)
        {
            q.take().await;
        }
    }

    /// Labels each [`Progress`] notice with the string at the first of `pointers` (JSON
    /// pointers, e.g. `/detail/data/partnerOrderId`) found in its execution's input. Set once;
    /// later calls are ignored.
    pub fn label_progress(&self, pointers: &[&str]) {
        let _ = self
            .progress_label
            .set(pointers.iter().map(|p| (*p).to_owned()).collect());
    }

    /// Progress notices, for live displays.
    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Registers a Standard state machine, refusing what the interpreter does not support.
    pub async fn create_state_machine(
        &self,
        name: &str,
        definition: &Value,
    ) -> Result<String, ApiError> {
        self.create_typed_state_machine(name, definition, WorkflowType::Standard)
            .await
    }

    /// Registers a state machine of `workflow_type`, refusing what the interpreter does not
    /// support and, for Express, what Express does not allow (`InvalidDefinition`, as
    /// `CreateStateMachine` answers).
    pub async fn create_typed_state_machine(
        &self,
        name: &str,
        definition: &Value,
        workflow_type: WorkflowType,
    ) -> Result<String, ApiError> {
        let def = Definition::from_value(definition)
            .map_err(|e| api_err("InvalidDefinition", e.to_string()))?;
        check_resources(&def.machine).map_err(|e| api_err("InvalidDefinition", e))?;
        if workflow_type == WorkflowType::Express {
            check_express(&def.machine).map_err(|e| api_err("InvalidDefinition", e))?;
        }
        let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}");
        self.machines.write().await.insert(
            arn.clone(),
            StateMachine {
                arn: arn.clone(),
                name: name.to_owned(),
                definition: Arc::new(def),
                json: definition.clone(),
                created: Utc::now(),
                workflow_type,
            },
        );
        Ok(arn)
    }

    /// Every registered state machine, by ARN.
    pub async fn state_machines(&self) -> Vec<StateMachine> {
        self.machines.read().await.values().cloned().collect()
    }

    /// A registered state machine.
    pub async fn state_machine(&self, arn: &str) -> Option<StateMachine> {
        self.machines.read().await.get(arn).cloned()
    }

    /// Starts an execution.
    pub async fn start_execution(
        self: &Arc<Self>,
        machine_arn: &str,
        name: Option<&str>,
        input: Value,
    ) -> Result<Arc<Execution>, ApiError> {
        let machine = self.state_machine(machine_arn).await.ok_or_else(|| {
            api_err(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{machine_arn}'"),
            )
        })?;
        self.admit(match machine.workflow_type {
            WorkflowType::Standard => quota::STANDARD_START_EXECUTION,
            WorkflowType::Express => quota::EXPRESS_START_EXECUTION,
        })?;
        // An execution's input has the same 256 KiB quota as a state's (the StartExecution
        // reference: `input`, "Length Constraints: Maximum length of 262144").
        let bytes = input.to_string().len();
        if bytes > run::PAYLOAD_LIMIT_BYTES {
            return Err(api_err(
                "ValidationException",
                format!(
                    "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {} (it is {bytes})",
                    run::PAYLOAD_LIMIT_BYTES
                ),
            ));
        }
        let name = name
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        // An Express execution's ARN carries its own id after the name (names need not be
        // unique); a Standard one's name is unique for 90 days: the same name and input while
        // it runs answers the same execution (StartExecution's idempotency), else
        // ExecutionAlreadyExists.
        let arn = match machine.workflow_type {
            WorkflowType::Express => format!(
                "arn:aws:states:{REGION}:{ACCOUNT}:express:{}:{name}:{}",
                machine.name,
                uuid::Uuid::new_v4()
            ),
            WorkflowType::Standard => format!(
                "arn:aws:states:{REGION}:{ACCOUNT}:execution:{}:{name}",
                machine.name
            ),
        };
        // The name is checked and taken under one lock: two starts of the same name at once
        // get one execution (and the other its answer), not two.
        let mut executions = self.executions.write().await;
        if let Some(existing) = executions.get(&arn).cloned() {
            let running = existing.snapshot().await.status == Status::Running;
            if running && existing.input == input {
                return Ok(existing);
            }
            return Err(api_err(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        let (done, _) = watch::channel(false);
        let (abort, _) = watch::channel(false);
        let exec = Arc::new(Execution {
            arn: arn.clone(),
            name,
            machine,
            input,
            start: Utc::now(),
            started_at: Instant::now(),
            state: Mutex::new(ExecutionState {
                status: Status::Running,
                output: None,
                error: None,
                cause: None,
                stop: None,
            }),
            history: Mutex::default(),
            done,
            abort,
            saved: std::sync::Mutex::default(),
            saved_grew: tokio::sync::Notify::new(),
            not_billed_ns: Arc::default(),
            timed_out_on_purpose: std::sync::atomic::AtomicBool::new(false),
        });
        // Recorded, listed and set running with no await in between: a caller dropped at an
        // await (its client hung up) leaves either no execution or one that runs, never one
        // recorded but not run.
        let mut order = self.order.lock().await;
        executions.insert(arn.clone(), exec.clone());
        order.push(arn);
        let me = self.clone();
        let e = exec.clone();
        tokio::spawn(async move { me.execute(e).await });
        Ok(exec)
    }

    /// An execution by ARN.
    pub async fn execution(&self, arn: &str) -> Option<Arc<Execution>> {
        self.executions.read().await.get(arn).cloned()
    }

    /// Every execution, oldest first.
    pub async fn executions(&self) -> Vec<Arc<Execution>> {
        let order = self.order.lock().await.clone();
        let all = self.executions.read().await;
        order.iter().filter_map(|a| all.get(a).cloned()).collect()
    }

    /// Stops an execution.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), ApiError> {
        let exec = self.execution(arn).await.ok_or_else(|| {
            api_err(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })?;
        {
            let mut st = exec.state.lock().await;
            if st.status != Status::Running {
                return Ok(());
            }
            *st = ExecutionState {
                status: Status::Aborted,
                output: None,
                error,
                cause,
                stop: Some(Utc::now()),
            };
        }
        exec.record("ExecutionAborted", None, Value::Null).await;
        // `send_replace`, not `send`: `send` keeps nothing when no one subscribed yet, and
        // whoever subscribes later must still see the end (or the abort).
        exec.abort.send_replace(true);
        exec.done.send_replace(true);
        Ok(())
    }

    pub(crate) async fn register_token(
        &self,
        machine: &str,
    ) -> (
        String,
        oneshot::Receiver<Result<Value, AslError>>,
        watch::Receiver<Instant>,
    ) {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let (reply, rx) = oneshot::channel();
        let (heartbeat, hb_rx) = watch::channel(Instant::now());
        self.tokens.lock().await.insert(
            token.clone(),
            Waiter {
                machine: machine.to_owned(),
                reply,
                heartbeat,
            },
        );
        (token, rx, hb_rx)
    }

    pub(crate) async fn close_token(&self, token: &str) {
        if let Some(w) = self.tokens.lock().await.remove(token) {
            self.closed_tokens
                .lock()
                .await
                .insert(token.to_owned(), w.machine);
        }
    }

    /// The state machine whose execution issued a task token (open or closed).
    pub async fn token_machine(&self, token: &str) -> Option<String> {
        if let Some(w) = self.tokens.lock().await.get(token) {
            return Some(w.machine.clone());
        }
        self.closed_tokens.lock().await.get(token).cloned()
    }

    async fn callback(&self, token: &str, result: Result<Value, AslError>) -> Result<(), ApiError> {
        match self.tokens.lock().await.remove(token) {
            Some(w) => {
                self.closed_tokens
                    .lock()
                    .await
                    .insert(token.to_owned(), w.machine);
                let _ = w.reply.send(result);
                Ok(())
            }
            None if self.closed_tokens.lock().await.contains_key(token) => {
                Err(api_err("TaskTimedOut", "Task Timed Out"))
            }
            None => Err(api_err("InvalidToken", "Invalid token")),
        }
    }

    /// `SendTaskSuccess`.
    pub async fn send_task_success(&self, token: &str, output: Value) -> Result<(), ApiError> {
        self.admit(quota::SEND_TASK)?;
        self.callback(token, Ok(output)).await
    }

    /// `SendTaskFailure`.
    pub async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ApiError> {
        self.admit(quota::SEND_TASK)?;
        self.callback(token, Err(AslError::named(error, cause)))
            .await
    }

    /// `SendTaskHeartbeat`.
    pub async fn send_task_heartbeat(&self, token: &str) -> Result<(), ApiError> {
        self.admit(quota::SEND_TASK)?;
        match self.tokens.lock().await.get(token) {
            Some(w) => {
                let _ = w.heartbeat.send(Instant::now());
                Ok(())
            }
            None if self.closed_tokens.lock().await.contains_key(token) => {
                Err(api_err("TaskTimedOut", "Task Timed Out"))
            }
            None => Err(api_err("InvalidToken", "Invalid token")),
        }
    }

    fn notify(&self, exec: &Execution, what: &str) {
        let label = self
            .progress_label
            .get()
            .and_then(|pointers| pointers.iter().find_map(|p| exec.input.pointer(p)))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let _ = self.progress.send(Progress {
            execution: exec.name.clone(),
            what: what.to_owned(),
            label,
        });
    }

    async fn execute(self: Arc<Self>, exec: Arc<Execution>) {
        exec.record("ExecutionStarted", Some("executionStartedEventDetails"), json!({ "input": exec.input.to_string(), "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/local") })).await;
        let def = exec.machine.definition.clone();
        let run = run::Runner {
            sfn: self.clone(),
            exec: exec.clone(),
        };
        let mut abort = exec.abort.subscribe();
        // Stopped before it began: `changed` would wait for a second stop.
        if *abort.borrow_and_update() {
            return;
        }
        let work = NOT_BILLED_NS.scope(
            exec.not_billed_ns.clone(),
            run.machine(&def.machine, exec.input.clone(), None),
        );
        tokio::pin!(work);
        let outcome = match exec.machine.workflow_type {
            // Five minutes of AWS time: real time plus what scaled waits saved.
            WorkflowType::Express => {
                let limit = def.timeout_seconds.map_or(EXPRESS_MAX_DURATION, |t| {
                    std::time::Duration::from_secs(t).min(EXPRESS_MAX_DURATION)
                });
                loop {
                    let spent = exec.aws_elapsed();
                    if spent >= limit {
                        break Err(());
                    }
                    tokio::select! {
                        r = &mut work => break Ok(r),
                        _ = tokio::time::sleep(limit - spent) => {}
                        _ = exec.saved_grew.notified() => {}
                        _ = abort.changed() => return,
                    }
                }
            }
            WorkflowType::Standard => match def.timeout_seconds {
                Some(t) => {
                    let timeout = self.time_scale.seconds(t as f64);
                    tokio::select! {
                        r = tokio::time::timeout(timeout, &mut work) => r.map_err(|_| ()),
                        _ = abort.changed() => return,
                    }
                }
                None => tokio::select! {
                    r = &mut work => Ok(r),
                    _ = abort.changed() => return,
                },
            },
        };
        let outcome = match outcome {
            Ok(Err(_))
                if exec
                    .timed_out_on_purpose
                    .load(std::sync::atomic::Ordering::SeqCst) =>
            {
                Err(())
            }
            other => other,
        };
        let mut st = exec.state.lock().await;
        if st.status != Status::Running {
            return;
        }
        st.stop = Some(Utc::now());
        let what = match outcome {
            Ok(Ok(output)) => {
                st.status = Status::Succeeded;
                st.output = Some(output.clone());
                drop(st);
                exec.record(
                    "ExecutionSucceeded",
                    Some("executionSucceededEventDetails"),
                    json!({ "output": output.to_string() }),
                )
                .await;
                "SUCCEEDED".to_owned()
            }
            Ok(Err(e)) => {
                st.status = Status::Failed;
                st.error = Some(e.error.clone());
                st.cause = (!e.cause.is_empty()).then(|| e.cause.clone());
                drop(st);
                exec.record(
                    "ExecutionFailed",
                    Some("executionFailedEventDetails"),
                    json!({ "error": e.error, "cause": e.cause }),
                )
                .await;
                format!("FAILED {}", e.error)
            }
            Err(()) => {
                st.status = Status::TimedOut;
                st.error = Some("States.Timeout".to_owned());
                drop(st);
                exec.record(
                    "ExecutionTimedOut",
                    Some("executionTimedOutEventDetails"),
                    json!({ "error": "States.Timeout" }),
                )
                .await;
                "TIMED_OUT".to_owned()
            }
        };
        self.notify(&exec, &what);
        exec.done.send_replace(true);
    }

    /// Executions, time scale and integrations for the interpreter.
    pub(crate) fn time_scale(&self) -> TimeScale {
        self.time_scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Nothing;

    #[async_trait]
    impl Integrations for Nothing {
        async fn invoke(&self, _: &str, f: &str, _: Value) -> Result<Value, (String, String)> {
            Err(("ResourceNotFoundException".into(), f.into()))
        }
        async fn put_events(&self, _: &str, _: Vec<Value>) -> Result<Value, (String, String)> {
            Ok(json!({ "FailedEntryCount": 0, "Entries": [] }))
        }
        async fn dynamodb(&self, _: &str, op: &str, _: Value) -> Result<Value, (String, String)> {
            Err(("ResourceNotFoundException".into(), op.into()))
        }
    }

    fn sfn() -> Arc<Sfn> {
        Sfn::new(Arc::new(Nothing), TimeScale::new(1000.0))
    }

    /// Answers every invocation, reporting 150 ms of it as this machine's doing.
    struct Crowded;

    #[async_trait]
    impl Integrations for Crowded {
        async fn invoke(&self, _: &str, _: &str, _: Value) -> Result<Value, (String, String)> {
            not_billed(std::time::Duration::from_millis(150));
            Ok(json!({}))
        }
        async fn put_events(&self, _: &str, _: Vec<Value>) -> Result<Value, (String, String)> {
            Ok(json!({ "FailedEntryCount": 0, "Entries": [] }))
        }
        async fn dynamodb(&self, _: &str, op: &str, _: Value) -> Result<Value, (String, String)> {
            Err(("ResourceNotFoundException".into(), op.into()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn starts_and_callbacks_over_their_quota_are_throttled_and_standard_transitions_wait() {
        let s = sfn();
        // us-east-1 divided by 1,300: a Standard start bucket of 1 refilled at 0.23/s, an
        // Express one of 4.6 refilled at 4.6/s, 3.8 transitions a second, SendTask* 2.3.
        s.set_quotas(Arc::new(
            Quotas::aws_defaults("us-east-1", 1_300.0).unwrap(),
        ));
        let passes = |n: usize| {
            let states: serde_json::Map<String, Value> = (0..n)
                .map(|i| {
                    let next = if i + 1 < n {
                        json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
                    } else {
                        json!({"Type": "Pass", "End": true})
                    };
                    (format!("S{i}"), next)
                })
                .collect();
            json!({"StartAt": "S0", "States": states})
        };
        let standard = s.create_state_machine("std", &passes(6)).await.unwrap();
        let express = s
            .create_typed_state_machine("exp", &passes(6), WorkflowType::Express)
            .await
            .unwrap();
        s.start_execution(&standard, None, json!({})).await.unwrap();
        let refused = s
            .start_execution(&standard, None, json!({}))
            .await
            .unwrap_err();
        assert_eq!(
            (refused.error_type.as_str(), refused.message.as_str()),
            ("ThrottlingException", "Rate exceeded")
        );
        let express_started = futures_count(&s, &express, 10).await;
        assert_eq!(express_started, 4, "Express has its own, larger bucket");
        // SendTask*: two of five pass, the rest are throttled before the token is looked at.
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(
                s.send_task_heartbeat("no-such-token")
                    .await
                    .unwrap_err()
                    .error_type,
            );
        }
        assert_eq!(
            answers,
            [
                "InvalidToken",
                "InvalidToken",
                "ThrottlingException",
                "ThrottlingException",
                "ThrottlingException"
            ]
        );
        // The Standard execution's six states drew on a bucket of 3.8 transitions: three at
        // once, the other three each waited for a token; the four Express executions' 24
        // states drew on nothing.
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let use_ = s
            .quotas
            .get()
            .unwrap()
            .get(quota::STATE_TRANSITION)
            .unwrap()
            .report();
        assert_eq!((use_.taken, use_.delayed), (6, 3));
    }

    async fn futures_count(s: &Arc<Sfn>, arn: &str, n: usize) -> usize {
        let mut ok = 0;
        for _ in 0..n {
            if s.start_execution(arn, None, json!({})).await.is_ok() {
                ok += 1;
            }
        }
        ok
    }

    #[tokio::test]
    async fn time_an_integration_reports_as_not_billed_is_counted_on_its_own_execution_only() {
        let s = Sfn::new(Arc::new(Crowded), TimeScale::new(1000.0));
        let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": true});
        // Two invocations in parallel branches and one after: 450 ms.
        let def = json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "T", "Branches": [
                {"StartAt": "A", "States": {"A": task}},
                {"StartAt": "B", "States": {"B": task}}]},
            "T": task}});
        let m = s
            .create_typed_state_machine("crowded", &def, WorkflowType::Express)
            .await
            .unwrap();
        let one = s.start_execution(&m, None, json!({})).await.unwrap();
        let other = s.start_execution(&m, None, json!({})).await.unwrap();
        assert_eq!(one.finished().await.status, Status::Succeeded);
        assert_eq!(other.finished().await.status, Status::Succeeded);
        assert_eq!(one.not_billed(), std::time::Duration::from_millis(450));
        assert_eq!(other.not_billed(), std::time::Duration::from_millis(450));
        // Outside an execution there is nothing to count it on.
        not_billed(std::time::Duration::from_secs(1));
        assert_eq!(one.not_billed(), std::time::Duration::from_millis(450));
    }

    #[tokio::test]
    async fn definitions_using_unsupported_features_are_refused_with_the_feature_named() {
        let s = sfn();
        let sns = json!({"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true}}});
        let e = s.create_state_machine("q", &sns).await.unwrap_err();
        assert_eq!(e.error_type, "InvalidDefinition");
        assert!(e.message.contains("sns:publish"), "{e}");
        let nested = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem.waitForTaskToken", "End": true}}}]}}});
        assert!(
            s.create_state_machine("n", &nested)
                .await
                .unwrap_err()
                .message
                .contains("waitForTaskToken")
        );
        let jsonata = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}});
        assert!(
            s.create_state_machine("j", &jsonata)
                .await
                .unwrap_err()
                .message
                .contains("JSONata")
        );
        let ok = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": true}}});
        assert!(s.create_state_machine("ok", &ok).await.is_ok());
    }

    #[tokio::test]
    async fn a_token_answers_once_then_reads_as_timed_out_and_unknown_tokens_are_invalid() {
        let s = sfn();
        let (token, rx, _) = s
            .register_token("arn:aws:states:us-east-1:000000000000:stateMachine:m")
            .await;
        s.send_task_success(&token, json!({"a": 1})).await.unwrap();
        assert_eq!(rx.await.unwrap().unwrap(), json!({"a": 1}));
        assert_eq!(
            s.send_task_success(&token, json!({}))
                .await
                .unwrap_err()
                .error_type,
            "TaskTimedOut"
        );
        assert_eq!(
            s.send_task_heartbeat(&token).await.unwrap_err().error_type,
            "TaskTimedOut"
        );
        assert_eq!(
            s.send_task_failure("nope", "E", "c")
                .await
                .unwrap_err()
                .error_type,
            "InvalidToken"
        );
    }

    /// Issue 25: a handover function killed while its `StartExecution` was in flight left a
    /// Standard execution recorded (its name taken) but never run and never listed, because
    /// hyper dropped the handler between the two; the redelivered handover then found the
    /// name taken and the order was stranded. A start whose caller hangs up must run, listed,
    /// as on AWS.
    #[tokio::test]
    async fn a_start_whose_caller_hangs_up_runs_and_is_listed_all_the_same() {
        use tokio::io::AsyncWriteExt;
        let s = sfn();
        let def =
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}});
        let arn = s.create_state_machine("hung", &def).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = api::router(&s, Arc::new(local_aws_core::AllowAll));
        tokio::spawn(async move { axum::serve(listener, router).await });
        // Hold the executions' lock, so that each start is mid-way (waiting for it) when its
        // caller hangs up.
        let held = s.executions.write().await;
        for n in 0..5 {
            let body = json!({"stateMachineArn": arn, "name": format!("hung-{n}"), "input": "{}"})
                .to_string();
            let request = format!(
                "POST / HTTP/1.1\r\nhost: local\r\ncontent-type: application/x-amz-json-1.0\r\nx-amz-target: AWSStepFunctions.StartExecution\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            client.write_all(request.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(client);
        }
        // Long enough for hyper to see every connection closed.
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(10);
        let listed = loop {
            let listed = s.executions().await;
            if listed.len() == 5 || Instant::now() > deadline {
                break listed;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(
            listed.len(),
            5,
            "every start whose caller hung up is carried out"
        );
        for e in listed {
            assert_eq!(e.finished().await.status, Status::Succeeded, "{}", e.arn);
        }
    }

    #[tokio::test]
    async fn an_execution_runs_to_its_end_and_keeps_its_history() {
        let s = sfn();
        let def = json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 60, "Next": "L"},
            "L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "missing"}, "End": true}}});
        let arn = s.create_state_machine("m", &def).await.unwrap();
        let e = s.start_execution(&arn, Some("x"), json!({})).await.unwrap();
        assert_eq!(
            s.start_execution(&arn, Some("x"), json!({"another": "input"}))
                .await
                .unwrap_err()
                .error_type,
            "ExecutionAlreadyExists"
        );
        // 60 s at 1000× is 60 ms; the function does not exist.
        let end = e.finished().await;
        assert_eq!(end.status, Status::Failed);
        assert_eq!(
            end.error.as_deref(),
            Some("Lambda.ResourceNotFoundException")
        );
        assert_eq!(e.path().await, ["W", "L"]);
        let kinds: Vec<String> = e.history().await.into_iter().map(|h| h.kind).collect();
        assert_eq!(kinds.first().map(String::as_str), Some("ExecutionStarted"));
        assert!(kinds.contains(&"TaskFailed".to_owned()));
        assert_eq!(kinds.last().map(String::as_str), Some("ExecutionFailed"));
    }

    /// Issue 9: an execution that ended before anyone waited was never seen as ended, because
    /// `watch::Sender::send` keeps no value without a receiver. Every way of observing the end
    /// must see it whatever the timing.
    #[tokio::test]
    async fn an_execution_that_ends_at_once_is_seen_ended_by_every_later_observer() {
        let s = sfn();
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let arn = s.create_state_machine("instant", &def).await.unwrap();
        for i in 0..50 {
            let e = s
                .start_execution(&arn, Some(&format!("x-{i}")), json!({"i": i}))
                .await
                .unwrap();
            // Let it end with no one waiting, then wait (some iterations wait at once).
            if i % 2 == 0 {
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                assert_eq!(e.snapshot().await.status, Status::Succeeded);
            }
            let end = tokio::time::timeout(std::time::Duration::from_secs(5), e.finished())
                .await
                .unwrap_or_else(|_| panic!("execution {i} never seen ended"));
            assert_eq!(end.status, Status::Succeeded);
            assert_eq!(end.output, Some(json!({"i": i})));
            // A second observer, later still.
            assert_eq!(e.finished().await.status, Status::Succeeded);
        }
    }

    #[tokio::test]
    async fn an_execution_stopped_before_it_began_stays_stopped_and_runs_nothing() {
        let s = sfn();
        let def = json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}});
        let arn = s.create_state_machine("stopped", &def).await.unwrap();
        for i in 0..20 {
            let e = s
                .start_execution(&arn, Some(&format!("s-{i}")), json!({}))
                .await
                .unwrap();
            s.stop_execution(&e.arn, None, None).await.unwrap();
            let end = tokio::time::timeout(std::time::Duration::from_secs(5), e.finished())
                .await
                .unwrap_or_else(|_| panic!("stopped execution {i} never seen ended"));
            assert_eq!(end.status, Status::Aborted);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            assert_eq!(e.snapshot().await.status, Status::Aborted);
            assert!(
                !e.path().await.contains(&"P".to_owned()),
                "ran on after its stop"
            );
        }
    }

    /// Step Functions' 256 KiB per state: over it the state fails with
    /// `States.DataLimitExceeded`, naming the state, which `States.ALL` does not catch.
    #[tokio::test]
    async fn a_state_over_256_kib_fails_with_data_limit_exceeded_which_states_all_cannot_catch() {
        let s = sfn();
        // 300 KB of text in a Pass result; a byte under the limit goes through.
        let big = "x".repeat(300 * 1024);
        let at_limit = "x".repeat(run::PAYLOAD_LIMIT_BYTES - 2); // the quotes make it 256 KiB
        let caught_by = |errors: Value| {
            json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "f", "Payload": {"a.$": "$.text", "b.$": "$.text"}},
                      "Catch": [{"ErrorEquals": errors, "Next": "Caught"}], "End": true},
                "Caught": {"Type": "Pass", "Result": "caught", "End": true}}})
        };
        let run = |name: &str, def: Value, input: Value| {
            let s = s.clone();
            let name = name.to_owned();
            async move {
                let arn = s.create_state_machine(&name, &def).await.unwrap();
                s.start_execution(&arn, Some("x"), input)
                    .await
                    .unwrap()
                    .finished()
                    .await
            }
        };
        let pass = json!({"StartAt": "Grow", "States": {"Grow": {"Type": "Pass", "Result": big, "End": true}}});
        let end = run("pass", pass, json!({})).await;
        assert_eq!(end.status, Status::Failed);
        assert_eq!(end.error.as_deref(), Some("States.DataLimitExceeded"));
        assert_eq!(
            end.cause.as_deref(),
            Some(
                "The state/task 'Grow' has an output with a size exceeding the maximum number of bytes service limit."
            )
        );
        // An execution's input over the limit is refused when it is started.
        let arn = s
            .create_state_machine(
                "refused",
                &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
            )
            .await
            .unwrap();
        let Err(refused) = s.start_execution(&arn, None, json!({ "text": big })).await else {
            panic!("an input over 256 KiB was started");
        };
        assert_eq!(refused.error_type, "ValidationException");
        assert!(refused.message.contains("262144"), "{}", refused.message);
        let fits = json!({"StartAt": "Grow", "States": {"Grow": {"Type": "Pass", "Result": at_limit, "End": true}}});
        assert_eq!(run("fits", fits, json!({})).await.status, Status::Succeeded);

        // A task's parameters over the limit (an input of 150 KB, twice): States.ALL does not
        // catch it, its name does.
        let half = "x".repeat(150 * 1024);
        let end = run(
            "all",
            caught_by(json!(["States.ALL"])),
            json!({"text": half}),
        )
        .await;
        assert_eq!(end.error.as_deref(), Some("States.DataLimitExceeded"));
        assert!(
            end.cause
                .unwrap()
                .starts_with("The state/task 'T' has an input")
        );
        let end = run(
            "named",
            caught_by(json!(["States.DataLimitExceeded"])),
            json!({"text": half}),
        )
        .await;
        assert_eq!(end.status, Status::Succeeded);
        assert_eq!(end.output, Some(json!("caught")));
    }

    #[tokio::test]
    async fn express_refuses_callbacks_at_creation_and_names_each_execution_apart() {
        let s = sfn();
        let callback = json!({"StartAt": "H", "States": {"H": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}}, "End": true}}});
        let e = s
            .create_typed_state_machine("x", &callback, WorkflowType::Express)
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "InvalidDefinition");
        assert!(
            e.message
                .contains("Express state machine does not support '.waitForTaskToken'"),
            "{e}"
        );
        // Standard takes the same definition.
        assert!(s.create_state_machine("std", &callback).await.is_ok());

        let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let m = s
            .create_typed_state_machine("e", &pass, WorkflowType::Express)
            .await
            .unwrap();
        let a = s
            .start_execution(&m, Some("same"), json!({}))
            .await
            .unwrap();
        let b = s
            .start_execution(&m, Some("same"), json!({}))
            .await
            .unwrap();
        assert!(a.arn.contains(":express:e:same:"), "{}", a.arn);
        assert_ne!(a.arn, b.arn, "an Express name need not be unique");
        assert_eq!(a.finished().await.status, Status::Succeeded);
    }

    #[tokio::test]
    async fn an_express_execution_ends_timed_out_after_five_minutes_of_aws_time() {
        // 400 s of Wait is 0.4 s here (time scale 1000), but AWS would have spent 400 s.
        let s = sfn();
        let wait = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 400, "Next": "Done"}, "Done": {"Type": "Succeed"}}});
        let m = s
            .create_typed_state_machine("slow", &wait, WorkflowType::Express)
            .await
            .unwrap();
        let e = s.start_execution(&m, None, json!({})).await.unwrap();
        assert_eq!(e.finished().await.status, Status::TimedOut);
        // The same definition as Standard runs to its end.
        let m = s.create_state_machine("slow-std", &wait).await.unwrap();
        let e = s.start_execution(&m, None, json!({})).await.unwrap();
        assert_eq!(e.finished().await.status, Status::Succeeded);
    }

    #[tokio::test]
    async fn an_injected_time_out_ends_the_execution_there_whatever_its_catch_says() {
        let s = sfn();
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"}}});
        let m = s
            .create_typed_state_machine("faulty", &def, WorkflowType::Express)
            .await
            .unwrap();
        s.time_out_when(Some(Arc::new(|kind, state, input| {
            kind == WorkflowType::Express && state == "B" && input["n"] == 1
        })));
        let hit = s.start_execution(&m, None, json!({"n": 1})).await.unwrap();
        let spared = s.start_execution(&m, None, json!({"n": 2})).await.unwrap();
        let st = hit.finished().await;
        assert_eq!(
            (st.status, st.error.as_deref()),
            (Status::TimedOut, Some("States.Timeout"))
        );
        assert_eq!(hit.path().await, ["A"], "B was never entered");
        assert_eq!(spared.finished().await.status, Status::Succeeded);
        s.time_out_when(None);
        let after = s.start_execution(&m, None, json!({"n": 1})).await.unwrap();
        assert_eq!(after.finished().await.status, Status::Succeeded);
    }

    #[tokio::test]
    async fn a_standard_name_answers_its_running_execution_for_the_same_input_only() {
        let s = sfn();
        let wait =
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
        let m = s.create_state_machine("named", &wait).await.unwrap();
        let a = s
            .start_execution(&m, Some("order-1"), json!({"n": 1}))
            .await
            .unwrap();
        let again = s
            .start_execution(&m, Some("order-1"), json!({"n": 1}))
            .await
            .unwrap();
        assert!(
            Arc::ptr_eq(&a, &again),
            "the same execution, as StartExecution's idempotency"
        );
        let other = s
            .start_execution(&m, Some("order-1"), json!({"n": 2}))
            .await
            .unwrap_err();
        assert_eq!(other.error_type, "ExecutionAlreadyExists");
        a.finished().await;
        let closed = s
            .start_execution(&m, Some("order-1"), json!({"n": 1}))
            .await
            .unwrap_err();
        assert_eq!(closed.error_type, "ExecutionAlreadyExists");
    }

    #[tokio::test]
    async fn start_execution_tasks_go_to_the_integration_and_name_its_errors() {
        let s = sfn();
        let start = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:other", "Input": {}}, "End": true}}});
        let m = s.create_state_machine("starter", &start).await.unwrap();
        let e = s.start_execution(&m, None, json!({})).await.unwrap();
        let end = e.finished().await;
        assert_eq!(end.status, Status::Failed);
        assert_eq!(
            end.error.as_deref(),
            Some("StepFunctions.AccessDeniedException")
        );
    }
}
