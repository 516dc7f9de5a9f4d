//! Execution history events, in the shape `GetExecutionHistory` returns.

use serde::Serialize;
use serde_json::{Map, Value};

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// Sequence number from 1.
    pub id: u64,
    /// Epoch seconds.
    pub timestamp: f64,
    /// `ExecutionStarted`, `TaskStateEntered`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The details object, under its type-specific key.
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl HistoryEvent {
    pub(crate) fn new(id: u64, kind: &str, details_key: Option<&str>, details: Value) -> Self {
        let mut map = Map::new();
        if let Some(k) = details_key {
            map.insert(k.to_owned(), details);
        }
        map.insert(
            "previousEventId".to_owned(),
            Value::from(id.saturating_sub(1)),
        );
        Self {
            id,
            timestamp: chrono::Utc::now().timestamp_micros() as f64 / 1e6,
            kind: kind.to_owned(),
            details: map,
        }
    }

    /// The state name, for `*StateEntered` events.
    pub fn entered_state(&self) -> Option<&str> {
        if !self.kind.ends_with("StateEntered") {
            return None;
        }
        self.details
            .get("stateEnteredEventDetails")?
            .get("name")?
            .as_str()
    }
}
