//! EventBridge: a `PutEvents` endpoint (the functions' aws-sdk-eventbridge client reaches it
//! through `AWS_ENDPOINT_URL_EVENTBRIDGE`, and the workflow's `events:putEvents` calls it
//! in-process), rule matching with the `event-pattern` crate, and delivery to state machines
//! and functions with the rule's retry policy; what cannot be delivered goes to the rule's
//! dead-letter queue. Every event is kept in an archive for inspection.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::app::{ACCOUNT, REGION, Rule, Target};
use crate::aws_json;
use crate::clock::TimeScale;
use crate::lambda::Lambda;
use crate::queues::Queues;

/// Starts executions (the Step Functions service, set after both are built).
#[async_trait]
pub trait ExecutionStarter: Send + Sync {
    /// Starts an execution of `state_machine_arn` with `input`.
    async fn start(&self, state_machine_arn: &str, input: Value) -> Result<String, String>;
}

/// The bus service.
pub struct EventBridge {
    rules: Vec<Rule>,
    buses: Vec<String>,
    archive: Mutex<Vec<Value>>,
    lambda: Arc<Lambda>,
    sfn: OnceLock<Arc<dyn ExecutionStarter>>,
    queues: Arc<Queues>,
    time_scale: TimeScale,
    fail_next: Mutex<u32>,
}

/// One PutEvents entry's outcome.
fn entry_error(code: &str, message: &str) -> Value {
    json!({ "ErrorCode": code, "ErrorMessage": message })
}

impl EventBridge {
    /// A bus service with these rules.
    pub fn new(
        rules: Vec<Rule>,
        buses: Vec<String>,
        lambda: Arc<Lambda>,
        queues: Arc<Queues>,
        time_scale: TimeScale,
    ) -> Arc<Self> {
        Arc::new(Self {
            rules,
            buses,
            archive: Mutex::default(),
            lambda,
            sfn: OnceLock::new(),
            queues,
            time_scale,
            fail_next: Mutex::new(0),
        })
    }

    /// Connects the Step Functions service.
    pub fn connect(&self, sfn: Arc<dyn ExecutionStarter>) {
        let _ = self.sfn.set(sfn);
    }

    /// Makes the next `n` entries fail with `InternalFailure` (fault injection).
    pub async fn fail_next_entries(&self, n: u32) {
        *self.fail_next.lock().await = n;
    }

    /// Every event put so far.
    pub async fn archive(&self) -> Vec<Value> {
        self.archive.lock().await.clone()
    }

    /// `PutEvents`: validates each entry, archives it, and delivers it to matching rules.
    pub async fn put_events(self: &Arc<Self>, entries: &[Value]) -> Value {
        let mut results = Vec::with_capacity(entries.len());
        let mut failed = 0;
        for e in entries {
            match self.put_one(e).await {
                Ok(id) => results.push(json!({ "EventId": id })),
                Err(err) => {
                    failed += 1;
                    results.push(err);
                }
            }
        }
        json!({ "FailedEntryCount": failed, "Entries": results })
    }

    async fn put_one(self: &Arc<Self>, e: &Value) -> Result<String, Value> {
        {
            let mut f = self.fail_next.lock().await;
            if *f > 0 {
                *f -= 1;
                return Err(entry_error("InternalFailure", "injected failure"));
            }
        }
        let text = |k: &str| e.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let source = text("Source").ok_or_else(|| {
            entry_error(
                "InvalidArgument",
                "Parameter Source is not valid. Reason: Source is a required argument.",
            )
        })?;
        let detail_type = text("DetailType").ok_or_else(|| {
            entry_error(
                "InvalidArgument",
                "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
            )
        })?;
        let detail_text = text("Detail").ok_or_else(|| {
            entry_error(
                "InvalidArgument",
                "Parameter Detail is not valid. Reason: Detail is a required argument.",
            )
        })?;
        if detail_text.len() + source.len() + detail_type.len() > 256 * 1024 {
            return Err(entry_error(
                "InvalidArgument",
                "The event is larger than 256 KB",
            ));
        }
        let detail: Value = serde_json::from_str(detail_text)
            .map_err(|_| entry_error("MalformedDetail", "Detail is malformed."))?;
        if !detail.is_object() {
            return Err(entry_error("MalformedDetail", "Detail is malformed."));
        }
        let bus = text("EventBusName").unwrap_or("default");
        let bus = bus.rsplit('/').next().unwrap_or(bus).to_owned();
        if bus != "default" && !self.buses.contains(&bus) {
            return Err(entry_error(
                "NotFoundException",
                &format!("Event bus {bus} does not exist."),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let event = json!({
            "version": "0",
            "id": id,
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": REGION,
            "resources": e.get("Resources").cloned().unwrap_or(json!([])),
            "detail": detail,
        });
        self.archive
            .lock()
            .await
            .push(json!({ "bus": bus, "event": event }));
        for rule in self
            .rules
            .iter()
            .filter(|r| r.bus == bus && r.pattern.matches(&event))
        {
            let me = self.clone();
            let rule = rule.clone();
            let event = event.clone();
            tokio::spawn(async move { me.deliver(&rule, event).await });
        }
        Ok(id)
    }

    async fn deliver(&self, rule: &Rule, event: Value) {
        let input = match &rule.input_path {
            Some(p) => asl::path::JsonPath::parse(p)
                .and_then(|p| p.value(&event, &Value::Null))
                .unwrap_or(Value::Null),
            None => event.clone(),
        };
        let started = Instant::now();
        let mut attempt = 0_u32;
        loop {
            let result = match &rule.target {
                Target::StateMachine { arn } => match self.sfn.get() {
                    Some(sfn) => sfn.start(arn, input.clone()).await.map(|_| ()),
                    None => Err("Step Functions is not connected".to_owned()),
                },
                Target::Function { name } => {
                    self.lambda.invoke_async(name, input.clone());
                    Ok(())
                }
            };
            let error = match result {
                Ok(()) => return,
                Err(e) => e,
            };
            attempt += 1;
            let too_old = self.time_scale.scale(started.elapsed())
                > Duration::from_secs(rule.max_age_seconds);
            if attempt > rule.max_attempts || too_old {
                let letter = json!({ "rule": rule.name, "error": error, "attempts": attempt, "event": event });
                self.queues
                    .send(
                        rule.dead_letter
                            .as_deref()
                            .unwrap_or("(no dead-letter queue)"),
                        letter,
                    )
                    .await;
                return;
            }
            // EventBridge backs off exponentially with jitter between delivery attempts.
            let ceiling = 2_f64.powi(attempt.min(8) as i32);
            self.time_scale
                .sleep(Duration::from_secs_f64(fastrand::f64() * ceiling))
                .await;
        }
    }

    /// The HTTP endpoint (`AWSEvents.PutEvents`).
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .fallback(post(handle))
            .with_state(self.clone())
    }
}

async fn handle(State(bus): State<Arc<EventBridge>>, headers: HeaderMap, body: Bytes) -> Response {
    let op = aws_json::operation(&headers).unwrap_or_default();
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match op.as_str() {
        "PutEvents" => {
            let entries = req
                .get("Entries")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if entries.is_empty() || entries.len() > 10 {
                return aws_json::error(
                    StatusCode::BAD_REQUEST,
                    "ValidationException",
                    "Entries must hold 1 to 10 entries",
                    aws_json::JSON_1_1,
                );
            }
            aws_json::ok(bus.put_events(&entries).await, aws_json::JSON_1_1)
        }
        other => aws_json::error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("{other} is not supported locally"),
            aws_json::JSON_1_1,
        ),
    }
}
