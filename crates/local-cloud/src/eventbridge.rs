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

use crate::app::{ACCOUNT, REGION, Rule, RuleInput, Target};
use std::collections::BTreeMap;

use crate::aws_json;
use crate::clock::TimeScale;
use crate::iam::{AccessDenied, Caller, Iam, Identity};
use crate::lambda::Lambda;
use crate::queues::Queues;

/// EventBridge's service principal.
const EVENTS: &str = "events.amazonaws.com";

/// Starts executions (the Step Functions service, set after both are built).
#[async_trait]
pub trait ExecutionStarter: Send + Sync {
    /// Starts an execution of `state_machine_arn` with `input`.
    async fn start(&self, state_machine_arn: &str, input: Value) -> Result<String, String>;
}

fn pick(path: &str, event: &Value) -> Value {
    asl::path::JsonPath::parse(path)
        .and_then(|p| p.value(event, &Value::Null))
        .unwrap_or(Value::Null)
}

/// What a rule's target receives for `event`.
pub fn target_input(rule: &Rule, event: &Value) -> Result<Value, String> {
    match &rule.input {
        RuleInput::Event => Ok(event.clone()),
        RuleInput::Path(p) => Ok(pick(p, event)),
        RuleInput::Constant(text) => {
            serde_json::from_str(text).map_err(|e| format!("Input is not JSON: {e}"))
        }
        RuleInput::Transformer { paths, template } => {
            let mut values: std::collections::BTreeMap<String, Value> = paths
                .iter()
                .map(|(k, p)| (k.clone(), pick(p, event)))
                .collect();
            values.insert(
                "aws.events.rule-name".to_owned(),
                Value::String(rule.name.clone()),
            );
            values.insert(
                "aws.events.rule-arn".to_owned(),
                Value::String(rule.arn.clone()),
            );
            values.insert("aws.events.event".to_owned(), event.clone());
            values.insert("aws.events.event.json".to_owned(), event.clone());
            values.insert(
                "aws.events.event.ingestion-time".to_owned(),
                event.get("time").cloned().unwrap_or(Value::Null),
            );
            Ok(transform(template, &values))
        }
    }
}

/// Fills an `InputTemplate`: a placeholder inside a JSON string takes the value's text
/// (escaped), one outside takes the value as JSON; the result is JSON if it parses, else text.
pub fn transform(template: &str, values: &std::collections::BTreeMap<String, Value>) -> Value {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let name = &rest[1..end];
            if let Some(v) = values.get(name) {
                if in_string {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let quoted = Value::String(text).to_string();
                    out.push_str(&quoted[1..quoted.len() - 1]);
                } else {
                    out.push_str(&v.to_string());
                }
                rest = &rest[end + 1..];
                continue;
            }
        }
        if c == '"' && !escaped {
            in_string = !in_string;
        }
        escaped = c == '\\' && !escaped;
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out).unwrap_or(Value::String(out))
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
    fail_deliveries: Mutex<u32>,
    /// Archives: `(name, bus)`, for `StartReplay`.
    archives: std::sync::Mutex<Vec<(String, String)>>,
    iam: Arc<Iam>,
    /// Share of deliveries made twice (EventBridge delivers at least once), in millionths.
    duplicate_ppm: std::sync::atomic::AtomicU32,
    /// Keys the duplicate draws (see [`Bus::set_duplicate_seed`]).
    duplicate_seed: std::sync::Mutex<Option<u64>>,
    duplicated: std::sync::atomic::AtomicUsize,
}

/// The ARN of the bus a `PutEvents` entry names (by name or ARN; `default` if none).
pub fn entry_bus_arn(entry: &Value) -> String {
    let bus = entry
        .get("EventBusName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    if bus.starts_with("arn:") {
        bus.to_owned()
    } else {
        format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}")
    }
}

/// `events:PutEvents` on every bus the entries name (AWS refuses the whole call).
pub fn authorize_put(
    iam: &Iam,
    identity: &Identity,
    entries: &[Value],
) -> Result<(), AccessDenied> {
    entries
        .iter()
        .try_for_each(|e| iam.authorize_identity(identity, "events:PutEvents", &entry_bus_arn(e)))
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
        iam: Arc<Iam>,
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
            fail_deliveries: Mutex::new(0),
            archives: std::sync::Mutex::default(),
            iam,
            duplicate_ppm: std::sync::atomic::AtomicU32::new(0),
            duplicate_seed: std::sync::Mutex::new(None),
            duplicated: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Delivers this share (0 to 1) of events twice to each target they match, as
    /// EventBridge's at-least-once delivery may (fault injection; 0 by default).
    pub fn set_duplicate_rate(&self, rate: f64) {
        let ppm = (rate.clamp(0.0, 1.0) * 1_000_000.0).round() as u32;
        self.duplicate_ppm
            .store(ppm, std::sync::atomic::Ordering::Relaxed);
    }

    /// With a seed, whether an event goes twice to a rule's targets is drawn from the seed, the
    /// rule, and the event's detail-type and `detail.metadata.idempotencyKey` (its id when it
    /// has none), so a repeated run duplicates the same events; without one, at random.
    pub fn set_duplicate_seed(&self, seed: Option<u64>) {
        *self
            .duplicate_seed
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = seed;
    }

    /// How many deliveries were made twice so far.
    pub fn duplicated(&self) -> usize {
        self.duplicated.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The template's archives, `(name, bus)`.
    pub fn set_archives(&self, archives: Vec<(String, String)>) {
        *self.archives.lock().unwrap_or_else(|e| e.into_inner()) = archives;
    }

    /// Connects the Step Functions service.
    pub fn connect(&self, sfn: Arc<dyn ExecutionStarter>) {
        let _ = self.sfn.set(sfn);
    }

    /// Makes the next `n` entries fail with `InternalFailure` (fault injection).
    pub async fn fail_next_entries(&self, n: u32) {
        *self.fail_next.lock().await = n;
    }

    /// Every event put so far (`{bus, event, archivedAt}`, milliseconds).
    pub async fn archive(&self) -> Vec<Value> {
        self.archive.lock().await.clone()
    }

    /// Replays what was archived from `bus` in `[from, to)` (epoch milliseconds), as
    /// EventBridge's `StartReplay` does: each event again, with `replay-name` set to `name`, to
    /// the bus's rules (only those in `rules` when it names some) whose pattern matches it.
    /// Replayed events are not archived again. Returns how many events were replayed.
    pub async fn replay(
        self: &Arc<Self>,
        name: &str,
        bus: &str,
        from_ms: i64,
        to_ms: i64,
        rules: &[String],
    ) -> usize {
        let archived = self.archive.lock().await.clone();
        let mut replayed = 0;
        for a in archived {
            let at = a["archivedAt"].as_i64().unwrap_or_default();
            if a["bus"] != bus || at < from_ms || at >= to_ms {
                continue;
            }
            let mut event = a["event"].clone();
            event["replay-name"] = Value::from(name);
            for rule in self.rules.iter().filter(|r| {
                r.bus == bus
                    && (rules.is_empty() || rules.contains(&r.arn))
                    && r.pattern.matches(&event)
            }) {
                let me = self.clone();
                let rule = rule.clone();
                let event = event.clone();
                tokio::spawn(async move { me.deliver(&rule, event).await });
            }
            replayed += 1;
        }
        replayed
    }

    /// Delivers `event` to the rule named `rule` again (a redrive of its dead letter); false
    /// if there is no such rule.
    pub async fn redeliver(self: &Arc<Self>, rule: &str, event: Value) -> bool {
        let Some(rule) = self.rules.iter().find(|r| r.name == rule).cloned() else {
            return false;
        };
        let me = self.clone();
        tokio::spawn(async move { me.deliver(&rule, event).await });
        true
    }

    /// Makes the next `n` deliveries to targets fail as an unavailable target would (fault
    /// injection: an outage the rule's retries and dead-letter queue must ride out).
    pub async fn fail_next_deliveries(&self, n: u32) {
        *self.fail_deliveries.lock().await = n;
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
        // The entry's size as EventBridge counts it ("Calculating PutEvents event entry
        // size"): Source, DetailType, Detail and each Resource in UTF-8 bytes, 14 for a Time.
        let resources: usize = e.get("Resources").and_then(Value::as_array).map_or(0, |r| {
            r.iter().filter_map(Value::as_str).map(str::len).sum()
        });
        let time = if e.get("Time").is_some() { 14 } else { 0 };
        if detail_text.len() + source.len() + detail_type.len() + resources + time > 256 * 1024 {
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
        self.archive.lock().await.push(json!({
            "bus": bus,
            "event": event,
            "archivedAt": chrono::Utc::now().timestamp_millis(),
        }));
        for rule in self
            .rules
            .iter()
            .filter(|r| r.bus == bus && r.pattern.matches(&event))
        {
            let ppm = self
                .duplicate_ppm
                .load(std::sync::atomic::Ordering::Relaxed);
            let seed = *self
                .duplicate_seed
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let twice = delivered_twice(seed, ppm, &rule.name, &event);
            if twice {
                self.duplicated
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            for _ in 0..if twice { 2 } else { 1 } {
                let me = self.clone();
                let rule = rule.clone();
                let event = event.clone();
                tokio::spawn(async move { me.deliver(&rule, event).await });
            }
        }
        Ok(id)
    }

    /// Gives up on delivering `event` for `rule`: it goes to the rule's dead-letter queue, with
    /// why and after how many attempts.
    async fn dead_letter(&self, rule: &Rule, error: &str, attempts: u32, event: Value) {
        let letter =
            json!({ "rule": rule.name, "error": error, "attempts": attempts, "event": event });
        self.queues
            .send(
                &Caller::Service(EVENTS.to_owned()),
                Some(&rule.arn),
                rule.dead_letter
                    .as_deref()
                    .unwrap_or("(no dead-letter queue)"),
                letter,
            )
            .await;
    }

    /// Whether the rule may reach its target: a state machine with the role SAM gives the
    /// target, a function through the function's resource policy for EventBridge.
    fn authorize_target(&self, rule: &Rule) -> Result<(), AccessDenied> {
        match &rule.target {
            Target::StateMachine { arn } => {
                let caller = self.iam.rule_caller(&rule.arn).unwrap_or_else(|| {
                    // No role: nothing can allow it (AWS requires one for this target).
                    Caller::Service(EVENTS.to_owned())
                });
                self.iam
                    .authorize(&caller, "states:StartExecution", arn, BTreeMap::new())
            }
            Target::Function { name } => self.iam.authorize(
                &Caller::Service(EVENTS.to_owned()),
                "lambda:InvokeFunction",
                &format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
                BTreeMap::from([
                    ("aws:SourceArn", rule.arn.clone()),
                    ("aws:SourceAccount", ACCOUNT.to_owned()),
                ]),
            ),
        }
    }

    async fn deliver(&self, rule: &Rule, event: Value) {
        let input = match target_input(rule, &event) {
            Ok(v) => v,
            Err(why) => return self.dead_letter(rule, &why, 0, event).await,
        };
        // A permissions failure is not retried: EventBridge sends the event to the dead-letter
        // queue at once (error code NO_PERMISSIONS).
        if let Err(denied) = self.authorize_target(rule) {
            tracing::error!(rule = %rule.name, error = %denied, "AccessDeniedException: the rule cannot reach its target");
            let why = format!("NO_PERMISSIONS: AccessDeniedException: {denied}");
            return self.dead_letter(rule, &why, 1, event).await;
        }
        let started = Instant::now();
        let mut attempt = 0_u32;
        loop {
            let outage = {
                let mut f = self.fail_deliveries.lock().await;
                let failing = *f > 0;
                *f = f.saturating_sub(1);
                failing
            };
            let result = match &rule.target {
                _ if outage => Err(
                    "ServiceUnavailable: the target is unavailable (fault injection)".to_owned(),
                ),
                Target::StateMachine { arn } => match self.sfn.get() {
                    Some(sfn) => sfn.start(arn, input.clone()).await.map(|_| ()),
                    None => Err("Step Functions is not connected".to_owned()),
                },
                Target::Function { name } => self
                    .lambda
                    .invoke_async(name, input.clone())
                    .map_err(|(kind, message)| format!("{kind}: {message}")),
            };
            let error = match result {
                Ok(()) => return,
                Err(e) => e,
            };
            attempt += 1;
            let too_old = self.time_scale.scale(started.elapsed())
                > Duration::from_secs(rule.max_age_seconds);
            if attempt > rule.max_attempts || too_old {
                return self.dead_letter(rule, &error, attempt, event).await;
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
            // Ten entries of 256 KB and then some: the entries' own limit is checked per entry.
            .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024))
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
            if let Err(denied) = authorize_put(&bus.iam, &bus.iam.identify(&headers), &entries) {
                return access_denied(denied);
            }
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
        "StartReplay" => {
            let identity = bus.iam.identify(&headers);
            let archive = req["EventSourceArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Err(denied) =
                bus.iam
                    .authorize_identity(&identity, "events:StartReplay", &archive)
            {
                return access_denied(denied);
            }
            api_answer(start_replay(&bus, &req).await)
        }
        "TestEventPattern" | "PutRule" => {
            let action = format!("events:{op}");
            let identity = bus.iam.identify(&headers);
            if let Err(denied) = bus.iam.authorize_identity(&identity, &action, "*") {
                return access_denied(denied);
            }
            let answer = if op == "TestEventPattern" {
                test_event_pattern(&req)
            } else {
                put_rule(&req)
            };
            api_answer(answer)
        }
        other => aws_json::error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("{other} is not supported locally"),
            aws_json::JSON_1_1,
        ),
    }
}

/// `StartReplay`: the archive's events in `[EventStartTime, EventEndTime)` (epoch seconds, as
/// the SDKs send timestamps) replayed to the destination bus's rules (`FilterArns`: only
/// those), each with `replay-name`. Done before it answers, so the answer's state is
/// `COMPLETED` (AWS answers `STARTING` and completes in the background).
async fn start_replay(bus: &Arc<EventBridge>, req: &Value) -> Result<Value, ApiError> {
    let name = req["ReplayName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or(("ValidationException", "ReplayName is required".to_owned()))?;
    let source = req["EventSourceArn"].as_str().unwrap_or_default();
    let archive_name = source.rsplit_once(":archive/").map(|(_, n)| n);
    let archive_bus = {
        let archives = bus.archives.lock().unwrap_or_else(|e| e.into_inner());
        archives
            .iter()
            .find(|(n, _)| Some(n.as_str()) == archive_name)
            .map(|(_, b)| b.clone())
    };
    let Some(archive_bus) = archive_bus else {
        return Err((
            "ResourceNotFoundException",
            format!("Archive {source} does not exist."),
        ));
    };
    let destination = req["Destination"]["Arn"].as_str().unwrap_or_default();
    let dest_bus = destination.rsplit_once(":event-bus/").map(|(_, b)| b);
    if dest_bus != Some(archive_bus.as_str()) {
        return Err((
            "ValidationException",
            format!(
                "Parameter Destination.Arn is not valid. Reason: the archive's events can only be replayed to its own bus ({archive_bus})."
            ),
        ));
    }
    let seconds = |k: &str| {
        req[k]
            .as_f64()
            .map(|t| (t * 1000.0) as i64)
            .ok_or(("ValidationException", format!("{k} is required")))
    };
    let (from, to) = (seconds("EventStartTime")?, seconds("EventEndTime")?);
    if to <= from {
        return Err((
            "ValidationException",
            "EventEndTime must be after EventStartTime".to_owned(),
        ));
    }
    let rules: Vec<String> = req["Destination"]["FilterArns"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let replayed = bus.replay(name, &archive_bus, from, to, &rules).await;
    tracing::info!(replay = name, replayed, "replay done");
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    Ok(json!({
        "ReplayArn": format!("arn:aws:events:{REGION}:{ACCOUNT}:replay/{name}"),
        "State": "COMPLETED",
        "StateReason": format!("{replayed} events replayed"),
        "ReplayStartTime": now,
    }))
}

/// `AccessDeniedException`, as the API answers a call IAM refuses.
fn access_denied(denied: AccessDenied) -> Response {
    aws_json::error(
        StatusCode::BAD_REQUEST,
        "AccessDeniedException",
        denied.message,
        aws_json::JSON_1_1,
    )
}

/// An operation's answer: its body, or its error with HTTP 400.
fn api_answer(answer: Result<Value, ApiError>) -> Response {
    match answer {
        Ok(body) => aws_json::ok(body, aws_json::JSON_1_1),
        Err((error_type, message)) => aws_json::error(
            StatusCode::BAD_REQUEST,
            error_type,
            message,
            aws_json::JSON_1_1,
        ),
    }
}

/// An `EventPattern` parameter's longest, in characters (the `TestEventPattern` and `PutRule`
/// API references: "Length Constraints: Maximum length of 4096").
pub const EVENT_PATTERN_MAX_CHARS: usize = 4096;

/// The fields `TestEventPattern` requires of its event (its API reference).
pub const TEST_EVENT_REQUIRED_FIELDS: [&str; 7] = [
    "id",
    "account",
    "source",
    "time",
    "region",
    "resources",
    "detail-type",
];

type ApiError = (&'static str, String);

/// The request's `EventPattern`, compiled as a rule's would be: `ValidationException` when
/// missing or over [`EVENT_PATTERN_MAX_CHARS`], `InvalidEventPatternException` naming the
/// problem when EventBridge would refuse it.
fn event_pattern(req: &Value) -> Result<event_pattern::Pattern, ApiError> {
    let Some(text) = req.get("EventPattern").and_then(Value::as_str) else {
        return Err((
            "ValidationException",
            "1 validation error detected: Value null at 'eventPattern' failed to satisfy constraint: Member must not be null".to_owned(),
        ));
    };
    if text.chars().count() > EVENT_PATTERN_MAX_CHARS {
        return Err((
            "ValidationException",
            format!(
                "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to {EVENT_PATTERN_MAX_CHARS}"
            ),
        ));
    }
    event_pattern::Pattern::parse_str(text).map_err(|e| {
        (
            "InvalidEventPatternException",
            format!("Event pattern is not valid. Reason: {e}"),
        )
    })
}

/// `TestEventPattern`: whether the event matches the pattern, as a rule would decide.
fn test_event_pattern(req: &Value) -> Result<Value, ApiError> {
    let pattern = event_pattern(req)?;
    let event: Value = req
        .get("Event")
        .and_then(Value::as_str)
        .and_then(|t| serde_json::from_str(t).ok())
        .filter(Value::is_object)
        .ok_or_else(|| {
            (
                "ValidationException",
                "Parameter Event is not valid: it must be a JSON object".to_owned(),
            )
        })?;
    let missing: Vec<&str> = TEST_EVENT_REQUIRED_FIELDS
        .into_iter()
        .filter(|f| event.get(*f).is_none())
        .collect();
    if !missing.is_empty() {
        return Err((
            "ValidationException",
            format!(
                "Parameter Event is not valid: it lacks the required field(s) {}",
                missing.join(", ")
            ),
        ));
    }
    Ok(json!({ "Result": pattern.matches(&event) }))
}

/// `PutRule`: the pattern is checked as EventBridge checks it, so a rule AWS would refuse is
/// refused here with the same error. The local cloud's rules come from the template, so a
/// valid rule is not added: the answer says so.
fn put_rule(req: &Value) -> Result<Value, ApiError> {
    if req.get("EventPattern").is_some() {
        event_pattern(req)?;
    }
    Err((
        "ValidationException",
        "the pattern is valid, but the local cloud's rules come from infra/template.yaml: PutRule only validates here".to_owned(),
    ))
}

/// Whether `event` goes twice to `rule`'s targets, for a duplicate share of `ppm` millionths:
/// keyed by `seed`, the rule, the detail-type and `detail.metadata.idempotencyKey` (the
/// event's id without one) when there is a seed, at random otherwise.
fn delivered_twice(seed: Option<u64>, ppm: u32, rule: &str, event: &Value) -> bool {
    if ppm == 0 {
        return false;
    }
    let key = event
        .pointer("/detail/metadata/idempotencyKey")
        .or_else(|| event.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let detail_type = event["detail-type"].as_str().unwrap_or_default();
    crate::seeded::source(
        seed,
        &[rule.as_bytes(), detail_type.as_bytes(), key.as_bytes()],
    )
    .u32(0..1_000_000)
        < ppm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::LambdaConfig;

    fn values() -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("instance".to_owned(), json!("i-0123")),
            ("state".to_owned(), json!("RUNNING")),
            ("n".to_owned(), json!(3)),
        ])
    }

    #[test]
    fn templates_fill_placeholders_as_json_outside_strings_and_as_text_inside() {
        // The documentation's examples.
        assert_eq!(
            transform(r#""<instance> is in state <state>""#, &values()),
            json!("i-0123 is in state RUNNING")
        );
        assert_eq!(
            transform(
                r#"{"instance": <instance>, "state": [9, <state>, true]}"#,
                &values()
            ),
            json!({"instance": "i-0123", "state": [9, "RUNNING", true]})
        );
        assert_eq!(
            transform(
                r#"{"instance": "<instance>", "count": <n>, "text": "n=<n>"}"#,
                &values()
            ),
            json!({"instance": "i-0123", "count": 3, "text": "n=3"})
        );
        // Unknown placeholders and escaped quotes are left alone.
        assert_eq!(
            transform(r#"{"a": "<unknown> \"<state>\""}"#, &values()),
            json!({"a": "<unknown> \"RUNNING\""})
        );
    }

    struct Recorder(Mutex<Vec<(String, Value)>>, Mutex<u32>);

    #[async_trait]
    impl ExecutionStarter for Recorder {
        async fn start(&self, arn: &str, input: Value) -> Result<String, String> {
            let mut failures = self.1.lock().await;
            if *failures > 0 {
                *failures -= 1;
                return Err("ThrottlingException".to_owned());
            }
            self.0.lock().await.push((arn.to_owned(), input));
            Ok("started".to_owned())
        }
    }

    async fn make_bus(
        input: RuleInput,
        max_attempts: u32,
        failures: u32,
    ) -> (Arc<EventBridge>, Arc<Recorder>, Arc<Queues>) {
        let queues = Arc::new(Queues::default());
        let config = LambdaConfig {
            bin_dir: std::env::temp_dir(),
            concurrency: 1,
            concurrency_of: BTreeMap::new(),
            shared_env: BTreeMap::new(),
            log_dir: std::env::temp_dir().join("local-cloud-eventbridge-tests"),
            time_scale: TimeScale::new(1000.0),
            iam: Arc::default(),
            account_concurrency: crate::lambda::DEFAULT_ACCOUNT_CONCURRENCY,
        };
        let lambda = Lambda::start(&[], config, queues.clone()).await.unwrap();
        let rule = Rule {
            name: "OrderReceived".to_owned(),
            arn: crate::app::rule_arn("orders", "OrderReceived"),
            bus: "orders".to_owned(),
            pattern: event_pattern::Pattern::parse(&json!({"detail-type": ["Order Received"]}))
                .unwrap(),
            target: Target::StateMachine {
                arn: "arn:sm".to_owned(),
            },
            input,
            max_attempts,
            max_age_seconds: 3600,
            dead_letter: Some("dlq".to_owned()),
        };
        let bus = EventBridge::new(
            vec![rule],
            vec!["orders".to_owned()],
            lambda,
            queues.clone(),
            TimeScale::new(1000.0),
            Arc::default(),
        );
        let rec = Arc::new(Recorder(Mutex::default(), Mutex::new(failures)));
        bus.connect(rec.clone());
        (bus, rec, queues)
    }

    fn entry(detail_type: &str) -> Value {
        json!({"Source": "test", "DetailType": detail_type, "Detail": "{\"n\":1}", "EventBusName": "orders"})
    }

    async fn settle() {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    #[tokio::test]
    async fn matching_events_reach_the_target_with_the_rules_input() {
        let (bus, rec, _) = make_bus(RuleInput::Path("$.detail".to_owned()), 3, 0).await;
        let out = bus
            .put_events(&[entry("Order Received"), entry("Something Else")])
            .await;
        assert_eq!(out["FailedEntryCount"], 0);
        settle().await;
        assert_eq!(
            *rec.0.lock().await,
            [("arn:sm".to_owned(), json!({"n": 1}))]
        );
        assert_eq!(bus.archive().await.len(), 2);
    }

    #[tokio::test]
    async fn bad_entries_fail_alone_and_unknown_buses_are_refused() {
        let (bus, _, _) = make_bus(RuleInput::Event, 3, 0).await;
        let mut no_detail = entry("Order Received");
        no_detail["Detail"] = json!("not json");
        let mut elsewhere = entry("Order Received");
        elsewhere["EventBusName"] = json!("nope");
        let out = bus
            .put_events(&[no_detail, entry("Order Received"), elsewhere])
            .await;
        assert_eq!(out["FailedEntryCount"], 2);
        assert_eq!(out["Entries"][0]["ErrorCode"], "MalformedDetail");
        assert!(out["Entries"][1]["EventId"].is_string());
        assert_eq!(out["Entries"][2]["ErrorCode"], "NotFoundException");
    }

    #[tokio::test]
    async fn failed_deliveries_are_retried_then_dead_lettered() {
        let (bus, rec, _) = make_bus(RuleInput::Event, 3, 2).await;
        bus.put_events(&[entry("Order Received")]).await;
        settle().await;
        assert_eq!(
            rec.0.lock().await.len(),
            1,
            "delivered on the third attempt"
        );

        let (bus, rec, queues) = make_bus(RuleInput::Event, 2, 10).await;
        bus.put_events(&[entry("Order Received")]).await;
        settle().await;
        assert!(rec.0.lock().await.is_empty());
        let dlq = &queues.all().await["dlq"];
        assert_eq!(dlq.len(), 1);
        assert_eq!(dlq[0]["attempts"], 3);
        assert_eq!(dlq[0]["error"], "ThrottlingException");
        assert_eq!(dlq[0]["event"]["detail-type"], "Order Received");
    }

    #[test]
    fn a_seeded_bus_duplicates_the_same_events_in_every_run() {
        let event = |i: usize| {
            json!({ "id": format!("random-{i}-{}", fastrand::u64(..)), "detail-type": "Order Received",
                    "detail": { "metadata": { "idempotencyKey": format!("app.{i}/order-received") } } })
        };
        let twice = |seed| {
            (0..400)
                .filter(|i| delivered_twice(seed, 250_000, "start-workflow", &event(*i)))
                .collect::<Vec<_>>()
        };
        let run = twice(Some(7));
        // The same events each run (the ids differ: the key is what the event is about).
        assert_eq!(twice(Some(7)), run);
        // About the share asked for: 100 of 400 expected; 60..140 is over six sigma.
        assert!((60..140).contains(&run.len()), "{}", run.len());
        assert_ne!(twice(Some(8)), run);
        assert!(!delivered_twice(Some(7), 0, "r", &event(1)));
        assert!(delivered_twice(Some(7), 1_000_000, "r", &event(1)));
    }

    fn test_event(pattern: Value, event: Value) -> Result<Value, ApiError> {
        test_event_pattern(
            &json!({ "EventPattern": pattern.to_string(), "Event": event.to_string() }),
        )
    }

    fn full(detail: Value) -> Value {
        json!({ "id": "1", "account": "123456789012", "source": "chain.orders", "time": "2026-12-01T00:00:00Z",
                "region": "us-east-1", "resources": [], "detail-type": "Order Received", "detail": detail })
    }

    #[test]
    fn test_event_pattern_answers_as_the_api_does() {
        let p = json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}});
        assert_eq!(
            test_event(p.clone(), full(json!({"state": null}))).unwrap(),
            json!({"Result": true})
        );
        assert_eq!(
            test_event(p.clone(), full(json!({"state": "initializing"}))).unwrap(),
            json!({"Result": false})
        );
        let (kind, message) = test_event(
            json!({"detail": {"FileName": [{"anything-but": {"prefix": ""}}]}}),
            full(json!({})),
        )
        .unwrap_err();
        assert_eq!(kind, "InvalidEventPatternException");
        assert!(message.contains("detail.FileName[0]"), "{message}");
        let (kind, message) = test_event(p.clone(), json!({"detail": {}})).unwrap_err();
        assert_eq!(kind, "ValidationException");
        assert!(
            message.contains("id, account, source, time, region, resources, detail-type"),
            "{message}"
        );
        let long = json!({ "source": ["x".repeat(EVENT_PATTERN_MAX_CHARS)] });
        assert_eq!(
            test_event(long, full(json!({}))).unwrap_err().0,
            "ValidationException"
        );
    }

    #[test]
    fn put_rule_refuses_what_eventbridge_refuses() {
        let (kind, message) = put_rule(&json!({
            "Name": "r",
            "EventPattern": json!({"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}).to_string()
        }))
        .unwrap_err();
        assert_eq!(kind, "InvalidEventPatternException");
        assert!(message.contains("Rule is too complex"), "{message}");
        let (kind, message) = put_rule(&json!({
            "Name": "r", "EventPattern": json!({"source": ["a"]}).to_string()
        }))
        .unwrap_err();
        assert_eq!(kind, "ValidationException");
        assert!(message.contains("only validates"), "{message}");
    }
}
