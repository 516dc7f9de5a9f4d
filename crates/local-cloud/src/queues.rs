//! SQS stand-ins: dead-letter queues and failure destinations keep what lands in them, for
//! inspection (`local-cloud status`, the admin API, the tests).

use std::collections::BTreeMap;

use serde_json::Value;
use tokio::sync::Mutex;

/// Every queue's messages.
#[derive(Debug, Default)]
pub struct Queues {
    messages: Mutex<BTreeMap<String, Vec<Value>>>,
}

impl Queues {
    /// Appends a message to a queue.
    pub async fn send(&self, queue: &str, message: Value) {
        tracing::warn!(queue, "message dead-lettered");
        self.messages
            .lock()
            .await
            .entry(queue.to_owned())
            .or_default()
            .push(message);
    }

    /// Every queue and its messages.
    pub async fn all(&self) -> BTreeMap<String, Vec<Value>> {
        self.messages.lock().await.clone()
    }
}
