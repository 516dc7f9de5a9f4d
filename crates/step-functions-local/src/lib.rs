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
mod definition;
mod execution;
pub mod history;
pub mod run;
mod versions;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use asl::AslError;
use asl::model::Definition;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock, broadcast, oneshot, watch};

pub use local_aws_core::clock::TimeScale;
use local_aws_core::quota::{self, Quotas};
use local_aws_core::{ACCOUNT, REGION};

pub use definition::{EXPRESS_MAX_DURATION, WorkflowType, supported_resource};
use definition::{check_express, check_resources};
pub use execution::{Execution, ExecutionState, Status, not_billed};
use execution::{NOT_BILLED_NS, Waiter};
pub use versions::{AliasRouting, MachineVersion};

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

/// A registered state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// The checked definition.
    pub definition: Arc<Definition>,
    /// Its JSON (shared: every execution keeps the machine it started on, and a start
    /// must not copy the whole definition).
    pub json: Arc<Value>,
    /// Created.
    pub created: DateTime<Utc>,
    /// Standard or Express.
    pub workflow_type: WorkflowType,
    /// Its published versions, by number ([`Sfn::publish`], [`Sfn::publish_version`]): a
    /// `StartExecution` may name one after its ARN, and an execution started on one keeps
    /// its definition whatever is published after.
    pub versions: BTreeMap<u32, MachineVersion>,
    /// Its aliases and where each routes ([`Sfn::route_alias`]).
    pub aliases: BTreeMap<String, AliasRouting>,
    /// For an execution's copy: the version it runs, if it was started through one.
    pub version: Option<u32>,
    /// For an execution's copy: the alias it was started through, if any.
    pub alias: Option<String>,
}

/// A state machine ARN's unqualified part and its qualifier (a version or an alias), if any:
/// `arn:aws:states:<region>:<account>:stateMachine:<name>[:<qualifier>]`.
pub fn split_qualifier(arn: &str) -> (&str, Option<&str>) {
    match arn.match_indices(':').nth(6) {
        Some((i, _)) => (&arn[..i], Some(&arn[i + 1..])),
        None => (arn, None),
    }
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
    /// Every execution in start order (append-only).
    order: Mutex<Vec<Arc<Execution>>>,
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

/// `StateMachineDoesNotExist` for `arn` (a machine, or a version or alias it has not published).
fn no_machine(arn: &str) -> ApiError {
    api_err(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
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
                json: Arc::new(definition.clone()),
                created: Utc::now(),
                workflow_type,
                versions: BTreeMap::new(),
                aliases: BTreeMap::new(),
                version: None,
                alias: None,
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
        // A version's or an alias's ARN starts an execution of the machine it qualifies, if
        // the machine has published it.
        let (unqualified, qualifier) = split_qualifier(machine_arn);
        let machine = self
            .state_machine(unqualified)
            .await
            .and_then(|m| {
                let version = m.resolve(qualifier)?;
                Some(
                    match version.and_then(|v| m.versions.get(&v).map(|d| (v, d))) {
                        Some((v, published)) => StateMachine {
                            definition: published.definition.clone(),
                            json: published.json.clone(),
                            version: Some(v),
                            alias: qualifier
                                .filter(|q| q.parse::<u32>().is_err())
                                .map(str::to_owned),
                            ..m.clone()
                        },
                        None => m,
                    },
                )
            })
            .ok_or_else(|| no_machine(machine_arn))?;
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
            let running = existing.status().await == Status::Running;
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
        executions.insert(arn, exec.clone());
        order.push(exec.clone());
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
        self.order.lock().await.clone()
    }

    /// The executions started after the first `seen`, oldest first: what a caller that keeps
    /// its own index of [`Sfn::executions`] reads to bring it up to date, without copying the
    /// whole list each time.
    pub async fn executions_since(&self, seen: usize) -> Vec<Arc<Execution>> {
        self.order
            .lock()
            .await
            .get(seen..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
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
mod tests;
