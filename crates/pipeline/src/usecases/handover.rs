//! The handover: what the Express workflow cannot finish in its five minutes (an outage, a
//! hold, compensation after the POS) reaches the Standard workflow through a queue, not a
//! direct `StartExecution`. Standard `StartExecution` is a token bucket (1,300 refilled at
//! 300/s in the three large regions, 800 and 150/s elsewhere): an outage at the peak asks for
//! hundreds of handovers a second, and a direct start retried for seconds would strand most of
//! them. The queue keeps each one until its start passes (the visibility timeout is the retry
//! interval, the bucket's refill its pace) and, past its `maxReceiveCount`, in a dead-letter
//! queue that alarms and is redriven.
//!
//! Each message is `{"name": "<execution name>", "input": <the Express state>}`: the name is
//! the step's and a hash of the order and its owning execution, so a repeat (SQS delivers at
//! least once, a redrive sends again) finds the execution already started.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tracing::{info, warn};

use crate::ports::{Metric, Metrics, Started, WorkflowStarter};

/// A handover message's body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HandoverMessage {
    /// The Standard execution's name.
    pub name: String,
    /// Its input: the Express workflow's state at the handover.
    pub input: Value,
}

/// One message of a batch: its id and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered<'a> {
    /// `messageId`.
    pub id: &'a str,
    /// The body.
    pub body: &'a str,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handed {
    /// Started, or found started: the message is done.
    Done,
    /// To try again (the queue brings it back after its visibility timeout; past its
    /// `maxReceiveCount` it goes to the dead letters), with the reason.
    Again(String),
}

/// The handover use case.
pub struct Handover {
    /// Starts the Standard workflow.
    pub starter: Arc<dyn WorkflowStarter>,
    /// Metrics.
    pub metrics: Arc<dyn Metrics>,
}

impl Handover {
    /// Starts each message's execution, all of the batch at once (a batch takes one start's
    /// time, not ten: ten starts one after another, each up to its attempt timeout, could
    /// outlast the function's timeout and bring the whole batch back); returns the ids of
    /// those to try again, in the batch's order. A body that does not parse can never start:
    /// it is tried again all the same, so that it reaches the dead-letter queue and its alarm
    /// rather than vanishing.
    pub async fn handle(&self, batch: &[Delivered<'_>]) -> Vec<String> {
        let handed = futures::future::join_all(batch.iter().map(|m| self.one(m))).await;
        batch
            .iter()
            .zip(handed)
            .filter_map(|(m, h)| match h {
                Handed::Done => None,
                Handed::Again(why) => {
                    warn!(message_id = m.id, reason = %why, "handover not started; the queue will bring it back");
                    Some(m.id.to_owned())
                }
            })
            .collect()
    }

    async fn one(&self, m: &Delivered<'_>) -> Handed {
        let message: HandoverMessage = match serde_json::from_str(m.body) {
            Ok(x) => x,
            Err(e) => {
                self.metrics.record(Metric::HandoverRetried {
                    reason: "unreadable",
                });
                // The error's category and position only: the body is the order's state.
                return Handed::Again(format!(
                    "the message is not a handover ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ));
            }
        };
        match self.starter.start(&message.name, &message.input).await {
            Ok(Started::New) => {
                self.metrics.record(Metric::HandoverStarted);
                info!(execution = %message.name, "handed over to the Standard workflow");
                Handed::Done
            }
            Ok(Started::AlreadyExists) => {
                info!(execution = %message.name, "handover already started");
                Handed::Done
            }
            Err(e) => {
                self.metrics.record(Metric::HandoverRetried {
                    reason: if e.throttled {
                        "throttled"
                    } else if e.transient {
                        "transient"
                    } else {
                        "refused"
                    },
                });
                Handed::Again(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::RecordingMetrics;
    use crate::ports::RecordingStarter;
    use serde_json::json;

    fn handover() -> (Handover, Arc<RecordingStarter>, Arc<RecordingMetrics>) {
        let starter = Arc::new(RecordingStarter::default());
        let metrics = Arc::new(RecordingMetrics::default());
        (
            Handover {
                starter: starter.clone(),
                metrics: metrics.clone(),
            },
            starter,
            metrics,
        )
    }

    #[tokio::test]
    async fn each_message_starts_its_execution_once_and_a_throttled_one_comes_back() {
        let (h, starter, metrics) = handover();
        let a = json!({ "name": "send-to-pos-1", "input": { "orderId": "app.A-1" } }).to_string();
        let b = json!({ "name": "hold-2", "input": { "orderId": "app.A-2" } }).to_string();
        starter.throttle_next(1);
        let again = h
            .handle(&[
                Delivered {
                    id: "m-a",
                    body: &a,
                },
                Delivered {
                    id: "m-b",
                    body: &b,
                },
            ])
            .await;
        assert_eq!(again, ["m-a"], "the throttled one is tried again");
        assert_eq!(starter.started().len(), 1);
        // Again, and a repeat of the one already started: one execution each.
        let again = h
            .handle(&[
                Delivered {
                    id: "m-a",
                    body: &a,
                },
                Delivered {
                    id: "m-b2",
                    body: &b,
                },
            ])
            .await;
        assert!(again.is_empty());
        let names: Vec<String> = starter.started().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["hold-2", "send-to-pos-1"]);
        assert_eq!(
            metrics.all(),
            [
                Metric::HandoverRetried {
                    reason: "throttled"
                },
                Metric::HandoverStarted,
                Metric::HandoverStarted
            ]
        );
    }

    /// A starter whose starts finish only when `n` of them are in flight together.
    struct TogetherStarter(tokio::sync::Barrier);

    #[async_trait::async_trait]
    impl WorkflowStarter for TogetherStarter {
        async fn start(&self, _: &str, _: &Value) -> Result<Started, crate::ports::StartError> {
            self.0.wait().await;
            Ok(Started::New)
        }
    }

    #[tokio::test]
    async fn a_batch_starts_all_its_executions_at_once() {
        // One after another, the first start would wait for the other nine forever (on AWS:
        // ten starts each up to its timeout, past the function's own).
        let h = Handover {
            starter: Arc::new(TogetherStarter(tokio::sync::Barrier::new(10))),
            metrics: Arc::new(RecordingMetrics::default()),
        };
        let bodies: Vec<String> = (0..10)
            .map(|i| json!({ "name": format!("hold-{i}"), "input": {} }).to_string())
            .collect();
        let ids: Vec<String> = (0..10).map(|i| format!("m-{i}")).collect();
        let batch: Vec<Delivered<'_>> = ids
            .iter()
            .zip(&bodies)
            .map(|(id, body)| Delivered { id, body })
            .collect();
        let again = tokio::time::timeout(std::time::Duration::from_secs(30), h.handle(&batch))
            .await
            .expect("the batch's starts ran together");
        assert!(again.is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_message_is_kept_for_the_dead_letters_without_quoting_it() {
        let (h, starter, _) = handover();
        let again = h
            .handle(&[Delivered {
                id: "m-x",
                body: "{\"name\": \"Ada Lovelace, 12 Crescent\"",
            }])
            .await;
        assert_eq!(again, ["m-x"]);
        assert!(starter.started().is_empty());
    }
}
