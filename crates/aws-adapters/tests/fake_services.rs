//! The EventBridge and Step Functions adapters against scripted fakes of the AWS JSON
//! protocols on loopback: partial PutEvents failures, and task callbacks on closed tasks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_adapters::{AwsConfig, EventBridgePublisher, SfnCallbacks, SfnStarter};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use order_events::OutboundEvent;
use pipeline::ports::{CallbackOutcome, EventPublisher, Started, TaskCallbacks, WorkflowStarter};
use serde_json::{Value, json};

#[derive(Default)]
struct Fake {
    replies: Mutex<VecDeque<(u16, Value)>>,
    seen: Mutex<Vec<(String, Value)>>,
}

async fn handle(State(f): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    f.seen
        .lock()
        .unwrap()
        .push((target, serde_json::from_slice(&body).unwrap_or(Value::Null)));
    let (status, reply) = f
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((500, json!({})));
    let mut r = (StatusCode::from_u16(status).unwrap(), reply.to_string()).into_response();
    r.headers_mut().insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    r
}

async fn serve(replies: Vec<(u16, Value)>) -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake {
        replies: Mutex::new(replies.into()),
        seen: Mutex::default(),
    });
    let app = Router::new().fallback(handle).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

fn aws(endpoint: &str) -> AwsConfig {
    AwsConfig::loopback(endpoint)
}

fn event(n: usize) -> OutboundEvent {
    OutboundEvent {
        source: "chain.orders.pipeline".into(),
        detail_type: "Order Held".into(),
        detail: json!({ "n": n }),
    }
}

#[tokio::test]
async fn only_the_entries_that_failed_are_sent_again() {
    let partial = json!({
        "FailedEntryCount": 2,
        "Entries": [
            { "EventId": "e0" },
            { "ErrorCode": "ThrottlingException", "ErrorMessage": "slow down" },
            { "EventId": "e2" },
            { "ErrorCode": "InternalFailure", "ErrorMessage": "oops" },
        ]
    });
    let ok =
        json!({ "FailedEntryCount": 0, "Entries": [{ "EventId": "e1" }, { "EventId": "e3" }] });
    let (endpoint, fake) = serve(vec![(200, partial), (200, ok)]).await;
    let publisher = EventBridgePublisher::new(aws(&endpoint).eventbridge(), "orders-bus");
    publisher
        .publish(&[event(0), event(1), event(2), event(3)])
        .await
        .unwrap();
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "AWSEvents.PutEvents");
    let details = |i: usize| -> Vec<String> {
        seen[i].1["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Detail"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(details(0).len(), 4);
    assert_eq!(details(1), vec![r#"{"n":1}"#, r#"{"n":3}"#]);
    assert_eq!(seen[1].1["Entries"][0]["EventBusName"], "orders-bus");
}

#[tokio::test]
async fn entries_that_keep_failing_are_reported_with_their_error_codes() {
    let failing = json!({ "FailedEntryCount": 1, "Entries": [{ "ErrorCode": "ThrottlingException", "ErrorMessage": "slow down" }] });
    let (endpoint, fake) = serve(vec![
        (200, failing.clone()),
        (200, failing.clone()),
        (200, failing.clone()),
        (200, failing),
    ])
    .await;
    let publisher = EventBridgePublisher::new(aws(&endpoint).eventbridge(), "orders-bus");
    let err = publisher.publish(&[event(0)]).await.unwrap_err();
    assert_eq!((err.failed, err.total), (1, 1));
    assert!(err.message.contains("ThrottlingException"), "{err}");
    assert_eq!(fake.seen.lock().unwrap().len(), 4, "four attempts");
}

#[tokio::test]
async fn more_than_ten_events_go_in_batches_of_ten() {
    let ok = |n: usize| {
        (
            200,
            json!({ "FailedEntryCount": 0, "Entries": (0..n).map(|i| json!({ "EventId": format!("e{i}") })).collect::<Vec<_>>() }),
        )
    };
    let (endpoint, fake) = serve(vec![ok(10), ok(10), ok(5)]).await;
    let publisher = EventBridgePublisher::new(aws(&endpoint).eventbridge(), "orders-bus");
    publisher
        .publish(&(0..25).map(event).collect::<Vec<_>>())
        .await
        .unwrap();
    let sizes: Vec<usize> = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b["Entries"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![10, 10, 5]);
}

#[tokio::test]
async fn a_callback_to_a_closed_task_means_already_released() {
    let timed_out = (
        400,
        json!({ "__type": "com.amazonaws.swf.service.v2.model#TaskTimedOut", "message": "Task Timed Out" }),
    );
    let invalid = (
        400,
        json!({ "__type": "InvalidToken", "message": "Invalid token" }),
    );
    let (endpoint, fake) = serve(vec![(200, json!({})), timed_out, invalid]).await;
    let callbacks = SfnCallbacks::new(aws(&endpoint).sfn());
    let output = json!({ "releasedBy": "courier" });
    assert_eq!(
        callbacks.succeed("t-1", &output).await.unwrap(),
        CallbackOutcome::Delivered
    );
    assert_eq!(
        callbacks.succeed("t-1", &output).await.unwrap(),
        CallbackOutcome::AlreadyClosed
    );
    assert_eq!(
        callbacks
            .fail("t-2", "OrderCancelled", "customer")
            .await
            .unwrap(),
        CallbackOutcome::AlreadyClosed
    );
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "AWSStepFunctions.SendTaskSuccess");
    assert_eq!(seen[0].1["output"], r#"{"releasedBy":"courier"}"#);
    assert_eq!(seen[2].0, "AWSStepFunctions.SendTaskFailure");
    assert_eq!(seen[2].1["error"], "OrderCancelled");
}

#[tokio::test]
async fn any_other_callback_failure_is_an_error() {
    let (endpoint, _) = serve(vec![
        (
            400,
            json!({ "__type": "TaskDoesNotExistButSomethingElse", "message": "?" }),
        ),
        (500, json!({ "__type": "InternalFailure" })),
    ])
    .await;
    let callbacks = SfnCallbacks::new(aws(&endpoint).sfn());
    assert!(callbacks.heartbeat("t").await.is_err());
    let err = callbacks.succeed("t", &json!({})).await.unwrap_err();
    assert_eq!(err.operation, "SendTaskSuccess");
}

#[tokio::test]
async fn a_throttled_start_is_asked_once_and_reported_throttled() {
    // The handover's queue is the retry: the SDK's own three attempts with backoff, ten to a
    // batch, outlasted the handover's timeout.
    let throttled = json!({ "__type": "ThrottlingException", "message": "Rate exceeded" });
    let (endpoint, fake) = serve(vec![(400, throttled.clone()), (400, throttled)]).await;
    let starter = SfnStarter::new(
        aws(&endpoint).sfn(),
        "arn:aws:states:us-east-1:000000000000:stateMachine:hold:live".to_owned(),
    );
    let err = starter.start("hold-1", &json!({})).await.unwrap_err();
    assert!(err.throttled && err.transient, "{err}");
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "asked once");
    assert_eq!(seen[0].0, "AWSStepFunctions.StartExecution");
    assert_eq!(
        seen[0].1["stateMachineArn"],
        "arn:aws:states:us-east-1:000000000000:stateMachine:hold:live"
    );
    // A start that passes is new; one already started is a repeat, not an error.
    let already = json!({ "__type": "ExecutionAlreadyExists", "message": "exists" });
    let started = json!({ "executionArn": "arn:aws:states:us-east-1:000000000000:execution:hold:hold-1", "startDate": 1.0 });
    let (endpoint, _) = serve(vec![(200, started), (400, already)]).await;
    let starter = SfnStarter::new(
        aws(&endpoint).sfn(),
        "arn:aws:states:us-east-1:000000000000:stateMachine:hold:live".to_owned(),
    );
    assert_eq!(
        starter.start("hold-1", &json!({})).await.unwrap(),
        Started::New
    );
    assert_eq!(
        starter.start("hold-1", &json!({})).await.unwrap(),
        Started::AlreadyExists
    );
}
