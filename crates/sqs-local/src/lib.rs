//! Amazon SQS standard queues on one machine, for a local cloud: what the order pipeline's
//! durable paths need of SQS, with SQS's semantics, and nothing of the pipeline.
//!
//! * A message received is hidden for the queue's visibility timeout and comes back unless it
//!   is deleted; each receive counts ([`Received::receive_count`]).
//! * A queue with a redrive policy moves a message to its dead-letter queue when a receive
//!   would count it past `maxReceiveCount` (SQS developer guide, "Using dead-letter queues").
//! * Messages older than the retention period are dropped.
//! * [`Sqs::move_messages`] sends a dead-letter queue's messages back to their source, as the
//!   console's "Start DLQ redrive" (`StartMessageMoveTask`) does.
//! * [`start_mapping`] runs a Lambda event source mapping: batches of up to `BatchSize`
//!   messages, at most `MaximumConcurrency` invocations at once, the `Records` event Lambda
//!   sends, and with `ReportBatchItemFailures` only the messages the function names come back
//!   (an empty or absent list: every one succeeded; an unreadable answer or a function error:
//!   the whole batch comes back).
//!
//! ```
//! use std::time::Duration;
//! use sqs_local::{QueueSpec, Sqs};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sqs = Sqs::new();
//! sqs.create_queue(QueueSpec::new("dlq")).await;
//! sqs.create_queue(QueueSpec {
//!     visibility_timeout: Duration::ZERO,
//!     dead_letter: Some(("dlq".to_owned(), 2)),
//!     ..QueueSpec::new("work")
//! })
//! .await;
//! sqs.send("work", "{\"n\":1}".to_owned()).await.unwrap();
//! // Received twice and never deleted: the third receive moves it to the dead letters.
//! assert_eq!(sqs.receive("work", 10).await.len(), 1);
//! assert_eq!(sqs.receive("work", 10).await[0].receive_count, 2);
//! assert!(sqs.receive("work", 10).await.is_empty());
//! assert_eq!(sqs.messages("dlq").await.len(), 1);
//! assert_eq!(sqs.move_messages("dlq", "work").await, 1);
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// The longest a message is kept (SQS: 14 days; the default is 4 days).
pub const MAX_RETENTION: Duration = Duration::from_secs(1_209_600);

/// A queue's settings (`AWS::SQS::Queue`'s properties that change behaviour).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    /// `QueueName`.
    pub name: String,
    /// `VisibilityTimeout` (SQS's default: 30 s).
    pub visibility_timeout: Duration,
    /// `MessageRetentionPeriod` (default 4 days, at most [`MAX_RETENTION`]).
    pub retention: Duration,
    /// `RedrivePolicy`: the dead-letter queue's name and `maxReceiveCount`.
    pub dead_letter: Option<(String, u32)>,
}

impl QueueSpec {
    /// A queue with SQS's defaults.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            visibility_timeout: Duration::from_secs(30),
            retention: Duration::from_secs(4 * 24 * 3600),
            dead_letter: None,
        }
    }
}

/// A message as a queue holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// `MessageId`.
    pub message_id: String,
    /// The body.
    pub body: String,
    /// Receives so far.
    pub receive_count: u32,
    /// When it was first sent (to this queue or the one it was moved from).
    pub sent_at: DateTime<Utc>,
}

struct Message {
    stored: StoredMessage,
    sent: Instant,
    visible_at: Instant,
    receipt: Option<String>,
}

struct Queue {
    spec: QueueSpec,
    messages: Vec<Message>,
}

/// A message received, for the receiver to delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// `MessageId`.
    pub message_id: String,
    /// `ReceiptHandle`: deletes this receive of it.
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// `ApproximateReceiveCount`, this receive included.
    pub receive_count: u32,
    /// `SentTimestamp`.
    pub sent_at: DateTime<Utc>,
}

/// What a send can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsError {
    /// The error code (`AWS.SimpleQueueService.NonExistentQueue`, …).
    pub code: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for SqsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SqsError {}

/// The queues of one account and region.
#[derive(Default)]
pub struct Sqs {
    queues: Mutex<BTreeMap<String, Queue>>,
}

/// A queue's ARN in the local account and region.
pub fn queue_arn(name: &str) -> String {
    local_aws_core::arn("sqs", name)
}

impl Sqs {
    /// No queues yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Creates (or reconfigures) a queue.
    pub async fn create_queue(&self, spec: QueueSpec) {
        let mut q = self.queues.lock().await;
        match q.get_mut(&spec.name) {
            Some(existing) => existing.spec = spec,
            None => {
                q.insert(
                    spec.name.clone(),
                    Queue {
                        spec,
                        messages: Vec::new(),
                    },
                );
            }
        }
    }

    /// The queues' names.
    pub async fn queue_names(&self) -> Vec<String> {
        self.queues.lock().await.keys().cloned().collect()
    }

    /// `SendMessage`: the new message's id.
    ///
    /// # Errors
    /// `AWS.SimpleQueueService.NonExistentQueue` for a queue that does not exist.
    pub async fn send(&self, queue: &str, body: String) -> Result<String, SqsError> {
        let mut q = self.queues.lock().await;
        let Some(q) = q.get_mut(queue) else {
            return Err(SqsError {
                code: "AWS.SimpleQueueService.NonExistentQueue".to_owned(),
                message: format!("The specified queue does not exist: {queue}"),
            });
        };
        let id = uuid::Uuid::new_v4().to_string();
        let now = Instant::now();
        q.messages.push(Message {
            stored: StoredMessage {
                message_id: id.clone(),
                body,
                receive_count: 0,
                sent_at: Utc::now(),
            },
            sent: now,
            visible_at: now,
            receipt: None,
        });
        Ok(id)
    }

    /// `ReceiveMessage` (short polling): up to `max` visible messages, each hidden for the
    /// queue's visibility timeout; a message past its `maxReceiveCount` goes to the
    /// dead-letter queue instead, and one past its retention is dropped.
    pub async fn receive(&self, queue: &str, max: usize) -> Vec<Received> {
        let now = Instant::now();
        let mut all = self.queues.lock().await;
        let Some(q) = all.get_mut(queue) else {
            return Vec::new();
        };
        let retention = q.spec.retention.min(MAX_RETENTION);
        q.messages
            .retain(|m| now.duration_since(m.sent) < retention);
        let mut out = Vec::new();
        let mut dead = Vec::new();
        let visibility = q.spec.visibility_timeout;
        let redrive = q.spec.dead_letter.clone();
        let mut i = 0;
        while i < q.messages.len() && out.len() < max {
            if q.messages[i].visible_at > now {
                i += 1;
                continue;
            }
            if let Some((_, max_receives)) = &redrive
                && q.messages[i].stored.receive_count >= *max_receives
            {
                dead.push(q.messages.remove(i));
                continue;
            }
            let m = &mut q.messages[i];
            m.stored.receive_count += 1;
            m.visible_at = now + visibility;
            let receipt = uuid::Uuid::new_v4().to_string();
            m.receipt = Some(receipt.clone());
            out.push(Received {
                message_id: m.stored.message_id.clone(),
                receipt_handle: receipt,
                body: m.stored.body.clone(),
                receive_count: m.stored.receive_count,
                sent_at: m.stored.sent_at,
            });
            i += 1;
        }
        if let Some((dlq, _)) = redrive
            && let Some(d) = all.get_mut(&dlq)
        {
            for mut m in dead {
                tracing::warn!(queue, dead_letter = dlq, message = %m.stored.message_id, "message moved to the dead-letter queue after its receives");
                m.visible_at = now;
                m.receipt = None;
                d.messages.push(m);
            }
        }
        out
    }

    /// `DeleteMessage`: true if the receipt was the message's latest.
    pub async fn delete(&self, queue: &str, receipt_handle: &str) -> bool {
        let mut all = self.queues.lock().await;
        let Some(q) = all.get_mut(queue) else {
            return false;
        };
        let before = q.messages.len();
        q.messages
            .retain(|m| m.receipt.as_deref() != Some(receipt_handle));
        q.messages.len() < before
    }

    /// Calls `f` with the body of every message a queue holds, visible or not, without
    /// copying them (for inspection of a queue that holds thousands).
    pub async fn for_each_body(&self, queue: &str, mut f: impl FnMut(&str)) {
        if let Some(q) = self.queues.lock().await.get(queue) {
            for m in &q.messages {
                f(&m.stored.body);
            }
        }
    }

    /// Every message a queue holds, visible or not (for inspection).
    pub async fn messages(&self, queue: &str) -> Vec<StoredMessage> {
        self.queues
            .lock()
            .await
            .get(queue)
            .map(|q| q.messages.iter().map(|m| m.stored.clone()).collect())
            .unwrap_or_default()
    }

    /// Moves every message of `from` (a dead-letter queue) back to `to`, with its receive
    /// count reset, as a DLQ redrive does: the number moved.
    pub async fn move_messages(&self, from: &str, to: &str) -> usize {
        let mut all = self.queues.lock().await;
        if !all.contains_key(to) {
            return 0;
        }
        let moved: Vec<Message> = all
            .get_mut(from)
            .map(|q| std::mem::take(&mut q.messages))
            .unwrap_or_default();
        let n = moved.len();
        let now = Instant::now();
        if let Some(t) = all.get_mut(to) {
            for mut m in moved {
                m.stored.receive_count = 0;
                m.visible_at = now;
                m.receipt = None;
                t.messages.push(m);
            }
        }
        n
    }
}

/// A Lambda event source mapping on a queue (`Events: Type: SQS` in SAM).
#[derive(Debug, Clone, PartialEq)]
pub struct EventSourceMapping {
    /// The queue.
    pub queue: String,
    /// `BatchSize` (default 10).
    pub batch_size: usize,
    /// `ScalingConfig.MaximumConcurrency` (2 to 1,000; default: as many as Lambda allows,
    /// taken here as 5).
    pub maximum_concurrency: usize,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_batch_item_failures: bool,
    /// How long a poller waits when the queue was empty.
    pub idle_wait: Duration,
}

/// Invokes the mapping's function synchronously with an event; its answer or its error.
#[async_trait]
pub trait Invoker: Send + Sync {
    /// The function's answer, or why it failed (a function error, a throttle).
    async fn invoke(&self, event: Value) -> Result<Value, String>;
}

/// The `Records` event Lambda sends for `batch`.
pub fn records_event(queue: &str, batch: &[Received]) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": m.receive_count.to_string(),
                    "SentTimestamp": m.sent_at.timestamp_millis().to_string(),
                },
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn(queue),
                "awsRegion": local_aws_core::REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The messages of `batch` the function's `answer` names as failed (`batchItemFailures`);
/// every one when the answer is not a readable partial batch response.
pub fn failed_items(batch: &[Received], answer: &Value) -> Vec<String> {
    let all = || batch.iter().map(|m| m.message_id.clone()).collect();
    match answer.get("batchItemFailures") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut failed = Vec::new();
            for item in items {
                match item.get("itemIdentifier").and_then(Value::as_str) {
                    Some(id) if !id.is_empty() && batch.iter().any(|m| m.message_id == id) => {
                        failed.push(id.to_owned());
                    }
                    // An empty, absent or unknown id fails the whole batch (the Lambda
                    // developer guide, "Reporting batch item failures").
                    _ => return all(),
                }
            }
            failed
        }
        Some(_) => all(),
    }
}

/// Runs `mapping` until `stop` says so: pollers receive batches and invoke the function;
/// what succeeded is deleted, what failed comes back after the visibility timeout.
pub fn start_mapping(
    sqs: Arc<Sqs>,
    mapping: EventSourceMapping,
    invoker: Arc<dyn Invoker>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(mapping.maximum_concurrency.max(1)));
        loop {
            if *stop.borrow() {
                return;
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let batch = sqs.receive(&mapping.queue, mapping.batch_size.max(1)).await;
            if batch.is_empty() {
                drop(permit);
                tokio::select! {
                    _ = tokio::time::sleep(mapping.idle_wait) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            let (sqs, mapping, invoker) = (sqs.clone(), mapping.clone(), invoker.clone());
            tokio::spawn(async move {
                let event = records_event(&mapping.queue, &batch);
                let failed = match invoker.invoke(event).await {
                    Ok(answer) if mapping.report_batch_item_failures => {
                        failed_items(&batch, &answer)
                    }
                    Ok(_) => Vec::new(),
                    Err(e) => {
                        tracing::warn!(queue = mapping.queue, error = %e, "the batch's invocation failed; its messages come back after the visibility timeout");
                        batch.iter().map(|m| m.message_id.clone()).collect()
                    }
                };
                for m in &batch {
                    if !failed.contains(&m.message_id) {
                        sqs.delete(&mapping.queue, &m.receipt_handle).await;
                    }
                }
                drop(permit);
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_received_message_is_hidden_for_the_visibility_timeout_then_comes_back() {
        let sqs = Sqs::new();
        sqs.create_queue(QueueSpec {
            visibility_timeout: Duration::from_secs(30),
            ..QueueSpec::new("q")
        })
        .await;
        sqs.send("q", "a".into()).await.unwrap();
        let first = sqs.receive("q", 10).await;
        assert_eq!(first.len(), 1);
        assert!(sqs.receive("q", 10).await.is_empty(), "hidden");
        tokio::time::advance(Duration::from_secs(30)).await;
        let again = sqs.receive("q", 10).await;
        assert_eq!(again[0].receive_count, 2);
        // The first receipt no longer deletes it; the latest does.
        assert!(!sqs.delete("q", &first[0].receipt_handle).await);
        assert!(sqs.delete("q", &again[0].receipt_handle).await);
        assert!(sqs.messages("q").await.is_empty());
        assert!(sqs.send("nope", "x".into()).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn messages_past_their_retention_are_dropped() {
        let sqs = Sqs::new();
        sqs.create_queue(QueueSpec {
            retention: Duration::from_secs(60),
            ..QueueSpec::new("q")
        })
        .await;
        sqs.send("q", "a".into()).await.unwrap();
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(sqs.receive("q", 10).await.is_empty());
        assert!(sqs.messages("q").await.is_empty());
    }

    fn received(ids: &[&str]) -> Vec<Received> {
        ids.iter()
            .map(|id| Received {
                message_id: (*id).to_owned(),
                receipt_handle: format!("r-{id}"),
                body: String::new(),
                receive_count: 1,
                sent_at: Utc::now(),
            })
            .collect()
    }

    #[test]
    fn a_partial_batch_response_names_the_failures_and_anything_unreadable_fails_all() {
        let batch = received(&["a", "b", "c"]);
        assert!(failed_items(&batch, &json!({})).is_empty());
        assert!(failed_items(&batch, &json!({ "batchItemFailures": [] })).is_empty());
        assert!(failed_items(&batch, &Value::Null).is_empty());
        assert_eq!(
            failed_items(
                &batch,
                &json!({ "batchItemFailures": [{ "itemIdentifier": "b" }] })
            ),
            ["b"]
        );
        for bad in [
            json!({ "batchItemFailures": [{ "itemIdentifier": "" }] }),
            json!({ "batchItemFailures": [{ "itemIdentifier": "zz" }] }),
            json!({ "batchItemFailures": [{ "id": "a" }] }),
            json!({ "batchItemFailures": "a" }),
        ] {
            assert_eq!(failed_items(&batch, &bad).len(), 3, "{bad}");
        }
    }

    struct FailFirst(std::sync::Mutex<Vec<Value>>);

    #[async_trait]
    impl Invoker for FailFirst {
        async fn invoke(&self, event: Value) -> Result<Value, String> {
            let mut seen = self.0.lock().unwrap();
            seen.push(event.clone());
            // The first batch: its first message fails; later batches succeed.
            if seen.len() == 1 {
                let id = event["Records"][0]["messageId"].clone();
                return Ok(json!({ "batchItemFailures": [{ "itemIdentifier": id }] }));
            }
            Ok(json!({}))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_mapping_deletes_what_succeeded_and_redelivers_what_failed() {
        let sqs = Sqs::new();
        sqs.create_queue(QueueSpec {
            visibility_timeout: Duration::from_secs(5),
            ..QueueSpec::new("q")
        })
        .await;
        for i in 0..3 {
            sqs.send("q", format!("m{i}")).await.unwrap();
        }
        let invoker = Arc::new(FailFirst(std::sync::Mutex::default()));
        let (tx, rx) = tokio::sync::watch::channel(false);
        let task = start_mapping(
            sqs.clone(),
            EventSourceMapping {
                queue: "q".into(),
                batch_size: 10,
                maximum_concurrency: 2,
                report_batch_item_failures: true,
                idle_wait: Duration::from_millis(100),
            },
            invoker.clone(),
            rx,
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        tx.send(true).unwrap();
        let _ = task.await;
        let seen = invoker.0.lock().unwrap().clone();
        assert_eq!(
            seen.len(),
            2,
            "one batch of three, then the failed one again"
        );
        assert_eq!(seen[0]["Records"].as_array().unwrap().len(), 3);
        assert_eq!(seen[1]["Records"][0]["body"], "m0");
        assert_eq!(
            seen[1]["Records"][0]["attributes"]["ApproximateReceiveCount"],
            "2"
        );
        assert!(sqs.messages("q").await.is_empty());
    }
}
