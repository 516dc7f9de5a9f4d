//! The EventBridge API over HTTP (awsJson1_1), for the AWS SDKs and CLI.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use local_aws_core::{ACCOUNT, REGION, aws_json};
use serde_json::{Value, json};

use crate::{EventBridge, entry_bus_arn};

impl EventBridge {
    /// The HTTP endpoint (awsJson1_1): `PutEvents`, `StartReplay`, `TestEventPattern`,
    /// `PutRule` (which validates only) and the discovery calls (`List…`, `Describe…`), each
    /// authorised by the bus's [`Authorizer`](local_aws_core::Authorizer).
    /// Each request is carried out whoever hangs up, as EventBridge does
    /// ([`local_aws_core::detached`]).
    pub fn router(self: &Arc<Self>) -> Router {
        local_aws_core::detached::run_to_completion(
            Router::new()
                .fallback(post(handle))
                // Ten entries of 256 KB and then some: the entries' own limit is checked per
                // entry.
                .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024))
                .with_state(self.clone()),
        )
    }
}

/// The condition keys EventBridge evaluates a `PutEvents` entry with: its source and
/// detail-type (the EventBridge User Guide, "Using IAM policy conditions": `events:source`,
/// `events:detail-type`).
pub fn put_events_context(entry: &Value) -> Vec<(&'static str, String)> {
    let text = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    vec![
        ("events:source", text("Source")),
        ("events:detail-type", text("DetailType")),
    ]
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
            if let Err(denied) = entries.iter().try_for_each(|e| {
                bus.auth.authorize_in(
                    &headers,
                    "events:PutEvents",
                    &entry_bus_arn(e),
                    &put_events_context(e),
                )
            }) {
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
            if !bus.admit_put_events() {
                return aws_json::error(
                    StatusCode::BAD_REQUEST,
                    "ThrottlingException",
                    "Rate exceeded",
                    aws_json::JSON_1_1,
                );
            }
            aws_json::ok(bus.put_events(&entries).await, aws_json::JSON_1_1)
        }
        "StartReplay" => {
            let archive = req["EventSourceArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Err(denied) = bus.auth.authorize(&headers, "events:StartReplay", &archive) {
                return access_denied(denied);
            }
            api_answer(start_replay(&bus, &req).await)
        }
        "TestEventPattern" | "PutRule" => {
            let action = format!("events:{op}");
            if let Err(denied) = bus.auth.authorize(&headers, &action, "*") {
                return access_denied(denied);
            }
            let answer = if op == "TestEventPattern" {
                test_event_pattern(&req)
            } else {
                put_rule(&req)
            };
            api_answer(answer)
        }
        other => {
            if let Some(resource) = crate::discovery::resource(other, &req) {
                if let Err(denied) =
                    bus.auth
                        .authorize(&headers, &format!("events:{other}"), &resource)
                {
                    return access_denied(denied);
                }
                if let Some(answer) = bus.discover(other, &req).await {
                    return api_answer(answer);
                }
            }
            aws_json::error(
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                format!("{other} is not supported locally"),
                aws_json::JSON_1_1,
            )
        }
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
    let arn = format!("arn:aws:events:{REGION}:{ACCOUNT}:replay/{name}");
    bus.record_replay(json!({
        "ReplayName": name,
        "ReplayArn": arn,
        "EventSourceArn": source,
        "Destination": req["Destination"],
        "State": "COMPLETED",
        "StateReason": format!("{replayed} events replayed"),
        "EventStartTime": from as f64 / 1000.0,
        "EventEndTime": to as f64 / 1000.0,
        "ReplayStartTime": now,
        "ReplayEndTime": now,
    }));
    Ok(json!({
        "ReplayArn": arn,
        "State": "COMPLETED",
        "StateReason": format!("{replayed} events replayed"),
        "ReplayStartTime": now,
    }))
}

/// `AccessDeniedException`, as the API answers a call IAM refuses.
fn access_denied(message: String) -> Response {
    aws_json::error(
        StatusCode::BAD_REQUEST,
        "AccessDeniedException",
        message,
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
        "the pattern is valid, but this bus's rules are fixed when it is built (the local cloud's come from infra/template.yaml): PutRule only validates here".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
