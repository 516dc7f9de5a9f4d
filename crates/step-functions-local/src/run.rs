//! The interpreter: runs a machine state by state, with input and output processing
//! (InputPath → Parameters → task → ResultSelector → ResultPath → OutputPath), Retry
//! (interval, backoff, max attempts, max delay, jitter) and Catch, timeouts and heartbeats,
//! task tokens, Parallel branches and inline Map iterations.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use asl::AslError;
use asl::choice::parse_choices;
use asl::model::{Catcher, Machine, NullablePath, Retrier, State, Task};
use asl::path::JsonPath;
use serde_json::{Value, json};

use crate::{Execution, Sfn};

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs one execution's machines.
pub(crate) struct Runner {
    pub(crate) sfn: Arc<Sfn>,
    pub(crate) exec: Arc<Execution>,
}

/// Where a state sends the execution.
enum Flow {
    Next(String, Value),
    End(Value),
}

fn select(p: &NullablePath, input: &Value, ctx: &Value) -> Result<Value, AslError> {
    match p {
        NullablePath::Default => Ok(input.clone()),
        NullablePath::Null => Ok(json!({})),
        NullablePath::Path(text) => JsonPath::parse(text)?.value(input, ctx),
    }
}

fn result_path(p: &NullablePath, raw_input: &Value, result: Value) -> Result<Value, AslError> {
    match p {
        NullablePath::Default => Ok(result),
        NullablePath::Null => Ok(raw_input.clone()),
        NullablePath::Path(text) => {
            let path = JsonPath::parse(text)?;
            let mut out = raw_input.clone();
            path.set(&mut out, result)
                .map_err(|e| AslError::named("States.ResultPathMatchFailure", e.cause))?;
            Ok(out)
        }
    }
}

/// A state's result made its output: ResultSelector, then ResultPath over the state's raw
/// input, then OutputPath.
fn output(
    result_selector: Option<&Value>,
    result_path_: &NullablePath,
    output_path: &NullablePath,
    raw_input: &Value,
    result: Value,
    ctx: &Value,
) -> Result<Value, AslError> {
    let result = match result_selector {
        Some(sel) => asl::template::apply(sel, &result, ctx)?,
        None => result,
    };
    let out = result_path(result_path_, raw_input, result)?;
    select(output_path, &out, ctx)
}

/// The most a state's input, output, or the parameters and result of its task may hold: 256
/// KiB as UTF-8 encoded JSON text (Step Functions service quotas, "Maximum input or output
/// size for a task, state, or execution"). Over it the state fails with
/// `States.DataLimitExceeded`.
pub const PAYLOAD_LIMIT_BYTES: usize = 256 * 1024;

/// `States.DataLimitExceeded` unless `v` fits [`PAYLOAD_LIMIT_BYTES`]; `what` says which of the
/// state's payloads it is, in AWS's words ("returned a result", "has an input", …).
pub(crate) fn within_payload_limit(v: &Value, state: &str, what: &str) -> Result<(), AslError> {
    if v.to_string().len() <= PAYLOAD_LIMIT_BYTES {
        return Ok(());
    }
    Err(AslError::named(
        "States.DataLimitExceeded",
        format!(
            "The state/task '{state}' {what} with a size exceeding the maximum number of bytes service limit."
        ),
    ))
}

fn matches(name: &str, error: &str) -> bool {
    if error == "States.Runtime" {
        return false; // never retried or caught
    }
    // A terminal error: States.ALL and States.TaskFailed do not catch it, only its own name
    // (the Step Functions developer guide, "Error names").
    if error == "States.DataLimitExceeded" {
        return name == error;
    }
    name == error
        || name == "States.ALL"
        || (name == "States.TaskFailed"
            && error != "States.Timeout"
            && error != "States.HeartbeatTimeout")
        || (name == "States.Timeout" && error == "States.HeartbeatTimeout")
}

fn retry_delay(r: &Retrier, attempt: u64) -> f64 {
    let mut delay = r.interval_seconds as f64
        * r.backoff_rate
            .powi(i32::try_from(attempt).unwrap_or(i32::MAX));
    if let Some(max) = r.max_delay_seconds {
        delay = delay.min(max as f64);
    }
    if r.jitter_strategy.as_deref() == Some("FULL") {
        delay *= fastrand::f64();
    }
    delay
}

fn lambda_cause(error_type: &str, message: &str) -> String {
    json!({ "errorMessage": message, "errorType": error_type, "trace": [] }).to_string()
}

impl Runner {
    fn context(&self, state: &str, extra: Option<(&str, Value)>, retry_count: u64) -> Value {
        let e = &self.exec;
        let mut ctx = json!({
            "Execution": {
                "Id": e.arn,
                "Input": e.input,
                "Name": e.name,
                "RoleArn": format!("arn:aws:iam::{}:role/local", local_aws_core::ACCOUNT),
                "StartTime": e.start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "Name": state,
                "RetryCount": retry_count,
            },
            "StateMachine": { "Id": e.machine.arn, "Name": e.machine.name },
        });
        if let Some((k, v)) = extra
            && let (Some(obj), Some(v)) = (ctx.as_object_mut(), v.as_object())
        {
            for (vk, vv) in v {
                obj.entry(k.to_owned())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .map(|m| m.insert(vk.clone(), vv.clone()));
            }
        }
        ctx
    }

    /// Runs a (nested) machine from its start to an end.
    pub(crate) fn machine<'a>(
        &'a self,
        m: &'a Machine,
        input: Value,
        map_item: Option<Value>,
    ) -> BoxFut<'a, Result<Value, AslError>> {
        Box::pin(async move {
            let mut current = m.start_at.clone();
            let mut input = input;
            loop {
                let state = m
                    .state(&current)
                    .ok_or_else(|| AslError::runtime(format!("no state {current:?}")))?;
                if self.sfn.times_out(&self.exec, &current) {
                    return Err(AslError::named("States.Timeout", "timed out (injected)"));
                }
                self.sfn.transition(&self.exec).await;
                self.exec
                    .record(
                        &format!("{}StateEntered", state.kind()),
                        Some("stateEnteredEventDetails"),
                        json!({ "name": current, "input": input.to_string() }),
                    )
                    .await;
                self.sfn.notify(&self.exec, &current);
                let flow = self.state(&current, state, input, map_item.clone()).await?;
                let (next, output) = match flow {
                    Flow::Next(n, o) => (Some(n), o),
                    Flow::End(o) => (None, o),
                };
                within_payload_limit(&output, &current, "has an output")?;
                if !matches!(state, State::Fail(_)) {
                    self.exec
                        .record(
                            &format!("{}StateExited", state.kind()),
                            Some("stateExitedEventDetails"),
                            json!({ "name": current, "output": output.to_string() }),
                        )
                        .await;
                }
                match next {
                    Some(n) => {
                        current = n;
                        input = output;
                    }
                    None => return Ok(output),
                }
            }
        })
    }

    async fn state(
        &self,
        name: &str,
        state: &State,
        raw: Value,
        map_item: Option<Value>,
    ) -> Result<Flow, AslError> {
        let extra = map_item.map(|item| ("Map", json!({ "Item": item })));
        let ctx = self.context(name, extra.clone(), 0);
        let next = |n: &Option<String>, out: Value| match n {
            Some(n) => Flow::Next(n.clone(), out),
            None => Flow::End(out),
        };
        match state {
            State::Pass(p) => {
                let effective = select(&p.input_path, &raw, &ctx)?;
                let effective = match &p.parameters {
                    Some(t) => asl::template::apply(t, &effective, &ctx)?,
                    None => effective,
                };
                let result = p.result.clone().unwrap_or(effective);
                let out = result_path(&p.result_path, &raw, result)?;
                Ok(next(&p.next, select(&p.output_path, &out, &ctx)?))
            }
            State::Succeed(s) => {
                let effective = select(&s.input_path, &raw, &ctx)?;
                Ok(Flow::End(select(&s.output_path, &effective, &ctx)?))
            }
            State::Fail(f) => {
                let error = match &f.error_path {
                    Some(p) => asl::template::dynamic(p, &raw, &ctx)?
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_default(),
                    None => f.error.clone().unwrap_or_else(|| "States.Fail".to_owned()),
                };
                let cause = match &f.cause_path {
                    Some(p) => asl::template::dynamic(p, &raw, &ctx)?
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_default(),
                    None => f.cause.clone().unwrap_or_default(),
                };
                Err(AslError::named(error, cause))
            }
            State::Wait(w) => {
                let effective = select(&w.input_path, &raw, &ctx)?;
                let seconds = if let Some(s) = w.seconds {
                    s as f64
                } else if let Some(p) = &w.seconds_path {
                    JsonPath::parse(p)?
                        .value(&effective, &ctx)?
                        .as_f64()
                        .filter(|s| *s >= 0.0)
                        .ok_or_else(|| {
                            AslError::runtime(format!(
                                "SecondsPath {p} is not a non-negative number"
                            ))
                        })?
                } else {
                    let ts = match (&w.timestamp, &w.timestamp_path) {
                        (Some(t), _) => t.clone(),
                        (None, Some(p)) => JsonPath::parse(p)?
                            .value(&effective, &ctx)?
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    let at = chrono::DateTime::parse_from_rfc3339(&ts).map_err(|_| {
                        AslError::runtime(format!("{ts:?} is not an RFC 3339 timestamp"))
                    })?;
                    ((at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                        .num_milliseconds()
                        .max(0) as f64)
                        / 1000.0
                };
                let scaled = self.sfn.time_scale().seconds(seconds);
                self.exec
                    .saved_waiting(std::time::Duration::from_secs_f64(seconds.max(0.0)), scaled);
                tokio::time::sleep(scaled).await;
                Ok(next(&w.next, select(&w.output_path, &effective, &ctx)?))
            }
            State::Choice(c) => {
                let effective = select(&c.input_path, &raw, &ctx)?;
                let rules = parse_choices(&c.choices)?;
                let mut target = None;
                for r in rules {
                    if r.rule.eval(&effective, &ctx)? {
                        target = Some(r.next);
                        break;
                    }
                }
                let target = target.or_else(|| c.default.clone()).ok_or_else(|| {
                    AslError::named(
                        "States.NoChoiceMatched",
                        format!("No Matches! in state {name:?}"),
                    )
                })?;
                Ok(Flow::Next(
                    target,
                    select(&c.output_path, &effective, &ctx)?,
                ))
            }
            State::Task(t) => {
                let r = self
                    .with_retries(name, &t.retry, &t.catch, &raw, extra.clone(), |retry| {
                        self.task(name, t, &raw, extra.clone(), retry)
                    })
                    .await?;
                match r {
                    Ok(out) => Ok(next(&t.next, out)),
                    Err((catch_next, out)) => Ok(Flow::Next(catch_next, out)),
                }
            }
            State::Parallel(p) => {
                let r = self
                    .with_retries(name, &p.retry, &p.catch, &raw, extra.clone(), |_| async {
                        let ctx = self.context(name, extra.clone(), 0);
                        let effective = select(&p.input_path, &raw, &ctx)?;
                        let effective = match &p.parameters {
                            Some(t) => asl::template::apply(t, &effective, &ctx)?,
                            None => effective,
                        };
                        self.exec
                            .record("ParallelStateStarted", None, Value::Null)
                            .await;
                        let branches = p
                            .branches
                            .iter()
                            .map(|b| self.machine(b, effective.clone(), None));
                        let results = futures::future::try_join_all(branches).await;
                        let result = self.gathered("Parallel", results).await?;
                        output(
                            p.result_selector.as_ref(),
                            &p.result_path,
                            &p.output_path,
                            &raw,
                            result,
                            &ctx,
                        )
                    })
                    .await?;
                match r {
                    Ok(out) => Ok(next(&p.next, out)),
                    Err((catch_next, out)) => Ok(Flow::Next(catch_next, out)),
                }
            }
            State::Map(mp) => {
                let r = self
                    .with_retries(name, &mp.retry, &mp.catch, &raw, extra.clone(), |_| async {
                        let ctx = self.context(name, extra.clone(), 0);
                        let effective = select(&mp.input_path, &raw, &ctx)?;
                        let items = match &mp.items_path {
                            Some(p) => JsonPath::parse(p)?.value(&effective, &ctx)?,
                            None => effective.clone(),
                        };
                        let Value::Array(items) = items else {
                            return Err(AslError::runtime(format!(
                                "the items of Map state {name:?} are not an array"
                            )));
                        };
                        let processor = mp
                            .processor()
                            .ok_or_else(|| AslError::runtime("Map without an item processor"))?;
                        self.exec
                            .record(
                                "MapStateStarted",
                                Some("mapStateStartedEventDetails"),
                                json!({ "length": items.len() }),
                            )
                            .await;
                        let limit = match mp.max_concurrency {
                            Some(0) | None => items.len().max(1),
                            Some(n) => usize::try_from(n).unwrap_or(1).max(1),
                        };
                        let semaphore = Arc::new(tokio::sync::Semaphore::new(limit));
                        let runs = items.iter().enumerate().map(|(index, item)| {
                            let semaphore = semaphore.clone();
                            let effective = effective.clone();
                            async move {
                                let _permit = semaphore
                                    .acquire()
                                    .await
                                    .map_err(|_| AslError::runtime("map closed"))?;
                                let item_ctx = json!({ "Index": index, "Value": item });
                                let ctx = self.context(
                                    name,
                                    Some(("Map", json!({ "Item": item_ctx.clone() }))),
                                    0,
                                );
                                let input = match mp.selector() {
                                    Some(sel) => asl::template::apply(sel, &effective, &ctx)?,
                                    None => item.clone(),
                                };
                                self.exec
                                    .record(
                                        "MapIterationStarted",
                                        Some("mapIterationStartedEventDetails"),
                                        json!({ "name": name, "index": index }),
                                    )
                                    .await;
                                let r = self.machine(processor, input, Some(item_ctx)).await;
                                let kind = if r.is_ok() {
                                    "MapIterationSucceeded"
                                } else {
                                    "MapIterationFailed"
                                };
                                self.exec
                                    .record(
                                        kind,
                                        Some("mapIterationSucceededEventDetails"),
                                        json!({ "name": name, "index": index }),
                                    )
                                    .await;
                                r
                            }
                        });
                        let results = futures::future::try_join_all(runs).await;
                        let result = self.gathered("Map", results).await?;
                        output(
                            mp.result_selector.as_ref(),
                            &mp.result_path,
                            &mp.output_path,
                            &raw,
                            result,
                            &ctx,
                        )
                    })
                    .await?;
                match r {
                    Ok(out) => Ok(next(&mp.next, out)),
                    Err((catch_next, out)) => Ok(Flow::Next(catch_next, out)),
                }
            }
        }
    }

    /// Runs `attempt` with the retriers; a final error goes to the first matching catcher
    /// (`Err((next, output))`) or fails the state.
    async fn with_retries<F, Fut>(
        &self,
        name: &str,
        retry: &[Retrier],
        catch: &[Catcher],
        raw: &Value,
        _extra: Option<(&str, Value)>,
        mut attempt: F,
    ) -> Result<Result<Value, (String, Value)>, AslError>
    where
        F: FnMut(u64) -> Fut,
        Fut: Future<Output = Result<Value, AslError>>,
    {
        let mut counts = vec![0_u64; retry.len()];
        let mut total = 0_u64;
        loop {
            let error = match attempt(total).await {
                Ok(v) => return Ok(Ok(v)),
                Err(e) => e,
            };
            let retrier = retry
                .iter()
                .position(|r| r.error_equals.iter().any(|n| matches(n, &error.error)));
            if let Some(i) = retrier
                && counts[i] < retry[i].max_attempts
            {
                let delay = retry_delay(&retry[i], counts[i]);
                counts[i] += 1;
                total += 1;
                // Real time, not scaled: what a retry waits for (a claim that expires at a
                // function's real deadline, a partner's Retry-After, a DynamoDB restart) runs
                // in real time, and scaling one side of that race would let the local cloud
                // decide it differently from AWS.
                tokio::time::sleep(std::time::Duration::from_secs_f64(delay.max(0.0))).await;
                // A retry is a state transition too (billed and throttled as one).
                self.sfn.transition(&self.exec).await;
                continue;
            }
            if let Some(c) = catch
                .iter()
                .find(|c| c.error_equals.iter().any(|n| matches(n, &error.error)))
            {
                let out = result_path(
                    &c.result_path,
                    raw,
                    json!({ "Error": error.error, "Cause": error.cause }),
                )?;
                let _ = name;
                return Ok(Err((c.next.clone(), out)));
            }
            return Err(error);
        }
    }

    async fn task(
        &self,
        name: &str,
        t: &Task,
        raw: &Value,
        extra: Option<(&str, Value)>,
        retry_count: u64,
    ) -> Result<Value, AslError> {
        let base_ctx = self.context(name, extra.clone(), retry_count);
        let effective = select(&t.input_path, raw, &base_ctx)?;
        let callback = t.resource.ends_with(".waitForTaskToken");
        let token = if callback {
            Some(self.sfn.register_token(&self.exec.machine.arn).await)
        } else {
            None
        };
        let token_id = token.as_ref().map(|(t, _, _)| t.clone());
        let mut ctx = base_ctx;
        if let Some((tok, _, _)) = &token {
            ctx["Task"] = json!({ "Token": tok });
        }
        let params = match &t.parameters {
            Some(p) => asl::template::apply(p, &effective, &ctx)?,
            None => effective.clone(),
        };
        let timeout = match (&t.timeout_seconds, &t.timeout_seconds_path) {
            (Some(s), _) => Some(*s as f64),
            (None, Some(p)) => Some(
                JsonPath::parse(p)?
                    .value(&effective, &ctx)?
                    .as_f64()
                    .filter(|s| *s > 0.0)
                    .ok_or_else(|| {
                        AslError::runtime(format!(
                            "TimeoutSecondsPath {p} is not a positive number"
                        ))
                    })?,
            ),
            _ => None,
        };
        let heartbeat = match (&t.heartbeat_seconds, &t.heartbeat_seconds_path) {
            (Some(s), _) => Some(*s as f64),
            (None, Some(p)) => JsonPath::parse(p)?.value(&effective, &ctx)?.as_f64(),
            _ => None,
        };
        within_payload_limit(&params, name, "has an input (after Parameters)")?;
        let (resource_type, resource) = t
            .resource
            .strip_prefix("arn:aws:states:::")
            .and_then(|r| r.split_once(':'))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .unwrap_or_else(|| ("lambda".to_owned(), t.resource.clone()));
        self.exec
            .record("TaskScheduled", Some("taskScheduledEventDetails"), json!({ "resourceType": resource_type, "resource": resource, "region": local_aws_core::REGION, "parameters": params.to_string() }))
            .await;
        self.exec
            .record(
                "TaskStarted",
                Some("taskStartedEventDetails"),
                json!({ "resourceType": resource_type, "resource": resource }),
            )
            .await;
        let scale = self.sfn.time_scale();
        let work = async {
            let started = self.call(&t.resource, &params).await?;
            match token {
                None => Ok(started),
                Some((tok, rx, mut hb)) => {
                    self.exec.record("TaskSubmitted", Some("taskSubmittedEventDetails"), json!({ "resourceType": resource_type, "resource": resource, "output": started.to_string() })).await;
                    let waiting = async {
                        rx.await
                            .unwrap_or_else(|_| Err(AslError::runtime("the callback was dropped")))
                    };
                    let result = match heartbeat {
                        None => waiting.await,
                        Some(hs) => {
                            tokio::pin!(waiting);
                            loop {
                                let last = *hb.borrow();
                                let until = last + scale.seconds(hs);
                                tokio::select! {
                                    r = &mut waiting => break r,
                                    _ = hb.changed() => continue,
                                    _ = tokio::time::sleep_until(until.into()) => {
                                        break Err(AslError::named("States.HeartbeatTimeout", format!("no heartbeat for {hs} seconds")));
                                    }
                                }
                            }
                        }
                    };
                    self.sfn.close_token(&tok).await;
                    result
                }
            }
        };
        let outcome = match timeout {
            Some(secs) => match tokio::time::timeout(scale.seconds(secs), work).await {
                Ok(r) => r,
                Err(_) => Err(AslError::named(
                    "States.Timeout",
                    format!("Task timed out after {secs} seconds"),
                )),
            },
            None => work.await,
        };
        if let Some(tok) = &token_id {
            // A timeout drops the wait: the token must not be usable afterwards.
            self.sfn.close_token(tok).await;
        }
        let outcome =
            outcome.and_then(|v| within_payload_limit(&v, name, "returned a result").map(|()| v));
        let result = match outcome {
            Ok(v) => {
                self.exec.record("TaskSucceeded", Some("taskSucceededEventDetails"), json!({ "resourceType": resource_type, "resource": resource, "output": v.to_string() })).await;
                v
            }
            Err(e) => {
                let kind = if e.error == "States.Timeout" || e.error == "States.HeartbeatTimeout" {
                    "TaskTimedOut"
                } else {
                    "TaskFailed"
                };
                self.exec.record(kind, Some("taskFailedEventDetails"), json!({ "resourceType": resource_type, "resource": resource, "error": e.error, "cause": e.cause })).await;
                return Err(e);
            }
        };
        let ctx = self.context(name, extra, retry_count);
        output(
            t.result_selector.as_ref(),
            &t.result_path,
            &t.output_path,
            raw,
            result,
            &ctx,
        )
    }

    /// The end of a Parallel or Map state (`state_type`): its history event, and the
    /// branches' or iterations' results as one array.
    async fn gathered(
        &self,
        state_type: &str,
        results: Result<Vec<Value>, AslError>,
    ) -> Result<Value, AslError> {
        let outcome = if results.is_ok() {
            "Succeeded"
        } else {
            "Failed"
        };
        self.exec
            .record(&format!("{state_type}State{outcome}"), None, Value::Null)
            .await;
        results.map(Value::Array)
    }

    /// Calls a Task's service.
    async fn call(&self, resource: &str, params: &Value) -> Result<Value, AslError> {
        let integrations = &self.sfn.integrations;
        let machine = self.exec.machine.arn.as_str();
        let base = resource.trim_end_matches(".waitForTaskToken");
        match base {
            "arn:aws:states:::lambda:invoke" => {
                let function = params
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| AslError::runtime("lambda:invoke needs FunctionName"))?;
                let payload = params.get("Payload").cloned().unwrap_or_else(|| json!({}));
                match integrations
                    .invoke(machine, function_name(function), payload)
                    .await
                {
                    Ok(out) => Ok(json!({
                        "ExecutedVersion": executed_version(function),
                        "Payload": out,
                        "SdkHttpMetadata": { "HttpStatusCode": 200 },
                        "SdkResponseMetadata": { "RequestId": uuid::Uuid::new_v4().to_string() },
                        "StatusCode": 200,
                    })),
                    Err((t, m)) => Err(lambda_error(&t, &m)),
                }
            }
            "arn:aws:states:::events:putEvents" => {
                let entries = params
                    .get("Entries")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| AslError::runtime("events:putEvents needs Entries"))?;
                let entries: Vec<Value> = entries
                    .into_iter()
                    .map(|mut e| {
                        if let Some(d) = e.get("Detail").filter(|d| !d.is_string()).cloned() {
                            e["Detail"] = Value::String(d.to_string());
                        }
                        e
                    })
                    .collect();
                let out = integrations
                    .put_events(machine, entries)
                    .await
                    .map_err(|(t, m)| AslError::named(format!("EventBridge.{t}"), m))?;
                if out
                    .get("FailedEntryCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
                    > 0
                {
                    return Err(AslError::named("EventBridge.FailedEntry", out.to_string()));
                }
                Ok(out)
            }
            r if r.starts_with("arn:aws:states:::dynamodb:") => {
                let op = r.trim_start_matches("arn:aws:states:::dynamodb:");
                let mut chars = op.chars();
                let op = chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default();
                integrations
                    .dynamodb(machine, &op, params.clone())
                    .await
                    .map_err(|(t, m)| AslError::named(format!("DynamoDB.{t}"), m))
            }
            "arn:aws:states:::sqs:sendMessage" => {
                // A JSON MessageBody is sent as its JSON text, as Step Functions sends it.
                let mut params = params.clone();
                if let Some(body) = params.get_mut("MessageBody")
                    && !body.is_string()
                {
                    *body = Value::String(body.to_string());
                }
                integrations
                    .send_message(machine, params)
                    .await
                    .map_err(|(t, m)| AslError::named(format!("SQS.{t}"), m))
            }
            "arn:aws:states:::states:startExecution" => integrations
                .start_execution(machine, params.clone())
                .await
                .map_err(|(t, m)| {
                    let t = t.trim_end_matches("Exception");
                    AslError::named(format!("StepFunctions.{t}Exception"), m)
                }),
            r if r.starts_with("arn:aws:lambda:") => {
                match integrations
                    .invoke(machine, function_name(r), params.clone())
                    .await
                {
                    Ok(out) => Ok(out),
                    Err((t, m)) => Err(lambda_error(&t, &m)),
                }
            }
            other => Err(AslError::runtime(format!("unsupported resource {other}"))),
        }
    }
}

/// The version `lambda:invoke` reports having run: the one a version qualifier names, `1`
/// for an alias (the local cloud publishes one version of each build), else `$LATEST`.
fn executed_version(function: &str) -> &str {
    match function_name(function).split_once(':') {
        Some((_, q)) if q.chars().all(|c| c.is_ascii_digit()) => q,
        Some((_, "$LATEST")) | None => "$LATEST",
        Some(_) => "1",
    }
}

/// The function name in an ARN (or a plain name), with its qualifier (a version or an
/// alias) if it names one: `arn:aws:lambda:<region>:<account>:function:pos:3` → `pos:3`.
fn function_name(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":function:") {
        Some((_, rest)) => rest,
        None => name_or_arn,
    }
}

/// A function's error as Step Functions reports it: its `errorType` as the error name, or
/// `Lambda.*` for errors of the service itself and for unhandled runtime failures.
fn lambda_error(error_type: &str, message: &str) -> AslError {
    let name = match error_type {
        // The Lambda service refused the call (the cause is its message, not a function's).
        "ResourceNotFoundException"
        | "ServiceException"
        | "TooManyRequestsException"
        | "AWSLambdaException" => {
            return AslError::named(format!("Lambda.{error_type}"), message);
        }
        // A function that overran its timeout: reported under the runtime's own name, as
        // executions on AWS show it (`Sandbox.Timedout`, "Task timed out after …"), though the
        // developer guide groups timeouts with the errors below. A workflow must retry both.
        "Sandbox.Timedout" => "Sandbox.Timedout".to_owned(),
        // A process that crashed or ran out of memory: `Lambda.Unknown` (the developer guide,
        // "Handle transient Lambda service exceptions"; the cause keeps the runtime's type).
        t if t.starts_with("Runtime.") || t.starts_with("Sandbox.") => "Lambda.Unknown".to_owned(),
        other => other.to_owned(),
    };
    AslError::named(name, lambda_cause(error_type, message))
}
