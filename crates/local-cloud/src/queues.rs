//! Dead letters: what the failure destinations and rules' dead-letter queues keep (for
//! inspection: `local-cloud status`, the admin API, the tests, the chaos verdict; and for a
//! redrive), and what the SQS service's own dead-letter queues hold (the handover's, from
//! `sqs-local`). Every send here is authorised as SQS would authorise it: a function's
//! destination with the function's role, a rule's dead letter with the queue's policy for
//! `events.amazonaws.com` and the rule's ARN.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::app::{ACCOUNT, REGION};
use crate::iam::{Caller, Iam};

/// The pseudo-queue that keeps messages SQS would have refused (so none vanishes unseen).
pub const DENIED: &str = "(denied by IAM)";

/// Every queue's messages.
#[derive(Default)]
pub struct Queues {
    messages: Mutex<BTreeMap<String, Vec<Value>>>,
    iam: Arc<Iam>,
    /// The SQS service and its dead-letter queues' names, whose messages count as dead
    /// letters too.
    sqs: Option<(Arc<sqs_local::Sqs>, Vec<String>)>,
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queues").finish_non_exhaustive()
    }
}

impl Queues {
    /// Queues whose sends `iam` authorises.
    pub fn new(iam: Arc<Iam>) -> Self {
        Self {
            messages: Mutex::default(),
            iam,
            sqs: None,
        }
    }

    /// The same, with `sqs`'s dead-letter queues (`dead_letter_queues`) among the dead letters.
    pub fn with_sqs(mut self, sqs: Arc<sqs_local::Sqs>, dead_letter_queues: Vec<String>) -> Self {
        self.sqs = Some((sqs, dead_letter_queues));
        self
    }

    /// Sends a message to a queue as `caller` (`sqs:SendMessage` on the queue's ARN, with
    /// `source_arn` as `aws:SourceArn`). A refused send is logged and kept under [`DENIED`]
    /// with the refusal.
    pub async fn send(
        &self,
        caller: &Caller,
        source_arn: Option<&str>,
        queue: &str,
        message: Value,
    ) {
        let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}");
        let mut context = BTreeMap::new();
        if let Some(s) = source_arn {
            context.insert("aws:SourceArn", s.to_owned());
            context.insert("aws:SourceAccount", ACCOUNT.to_owned());
        }
        match self
            .iam
            .authorize(caller, "sqs:SendMessage", &queue_arn, context)
        {
            Ok(()) => {
                tracing::warn!(queue, "message dead-lettered");
                self.messages
                    .lock()
                    .await
                    .entry(queue.to_owned())
                    .or_default()
                    .push(message);
            }
            Err(denied) => {
                tracing::error!(queue, error = %denied, "AccessDeniedException: the message could not be sent to its queue");
                self.messages
                    .lock()
                    .await
                    .entry(DENIED.to_owned())
                    .or_default()
                    .push(json!({ "queue": queue, "error": "AccessDeniedException", "message": denied.message, "body": message }));
            }
        }
    }

    /// Takes every message out of every queue but [`DENIED`] (a redrive reads them off).
    pub async fn drain(&self) -> BTreeMap<String, Vec<Value>> {
        let mut m = self.messages.lock().await;
        let denied = m.remove(DENIED);
        let out = std::mem::take(&mut *m);
        if let Some(d) = denied {
            m.insert(DENIED.to_owned(), d);
        }
        out
    }

    /// Puts messages back (the ones a redrive could not send on).
    pub async fn put_back(&self, queue: &str, messages: Vec<Value>) {
        if !messages.is_empty() {
            self.messages
                .lock()
                .await
                .entry(queue.to_owned())
                .or_default()
                .extend(messages);
        }
    }

    /// Every queue and its messages (an SQS dead-letter queue's bodies as JSON where they are).
    pub async fn all(&self) -> BTreeMap<String, Vec<Value>> {
        let mut all = self.messages.lock().await.clone();
        if let Some((sqs, dlqs)) = &self.sqs {
            for q in dlqs {
                let messages: Vec<Value> = sqs
                    .messages(q)
                    .await
                    .into_iter()
                    .map(|m| serde_json::from_str(&m.body).unwrap_or(Value::String(m.body)))
                    .collect();
                if !messages.is_empty() {
                    all.entry(q.clone()).or_default().extend(messages);
                }
            }
        }
        all
    }
}
